"""A strict build of the whole book: a notebook error or any Sphinx warning fails."""

import re
from pathlib import Path

import nbformat
import yaml

from rhmlib.mystnb import PLOTLY_JSON

ROOT = Path(__file__).resolve().parents[1]


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    stack = list(toc.get("chapters", [])) + [c for p in toc.get("parts", [])
                                             for c in p.get("chapters", [])]
    while stack:
        entry = stack.pop(0)
        files.append(entry["file"])
        stack.extend(entry.get("sections", []))
    return files


def test_every_notebook_is_in_the_toc_and_has_no_outputs() -> None:
    in_toc = {str(Path(f).with_suffix("")) for f in _toc_files()}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        assert str(path.relative_to(ROOT).with_suffix("")) in in_toc, path
        nb = nbformat.read(path, as_version=4)
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
            f"{path.name} is committed with outputs; the build executes it")


def test_strict_build_renders_every_page_with_its_figures(built_book: tuple[Path, str]) -> None:
    build, log = built_book
    assert "unknown output mime type" not in log
    html_dir = build / "html"
    notebooks = [p for p in _toc_files() if (ROOT / p).with_suffix(".ipynb").exists()]
    assert notebooks
    for page in notebooks:
        html = (html_dir / page).with_suffix(".html").read_text()
        executed = nbformat.read((build / "jupyter_execute" / page).with_suffix(
            ".ipynb"), as_version=4)
        n_figures = sum(PLOTLY_JSON in o.get("data", {}) for c in executed.cells
                        if c.cell_type == "code" for o in c.get("outputs", []))
        # Every figure the notebook produced is drawn in the page (none dropped) ...
        assert len(re.findall(r'class="plotly-graph-div"', html)) == n_figures, page
        # ... with plotly.js served by the site itself (rhmlib.sphinxext), never a CDN.
        if n_figures:
            assert "_static/vendor/plotly.min.js" in html and "cdn.plot.ly" not in html, page
