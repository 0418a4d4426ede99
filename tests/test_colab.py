"""Every chapter runs outside the repository: one install cell, its URL from one setting."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = re.search(r"^\s*url:\s*(\S+)", (ROOT / "_config.yml").read_text(), re.M).group(1)
INSTALL = f'%pip install --quiet "rhmlib @ git+{REPOSITORY}"'
# A chapter on another data set installs the extra that brings it (pyproject.toml).
EXTRAS = {"09_mnist1d": "mnist1d"}


def _code(notebook: Path) -> list[dict]:
    return [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]


def test_every_chapter_installs_rhmlib_from_the_configured_repository() -> None:
    chapters = sorted(ROOT.glob("book/0*.ipynb"))
    assert len(chapters) == 9
    for notebook in chapters:
        code = _code(notebook)
        installs = [c for c in code if "pip install" in "".join(c["source"])]
        assert len(installs) == 1, notebook.name
        source = "".join(installs[0]["source"])
        extra = EXTRAS.get(notebook.stem)
        install = INSTALL.replace('"rhmlib @', f'"rhmlib[{extra}] @') if extra else INSTALL
        assert install in source and "# %pip" not in source, notebook.name
        assert "remove-cell" in installs[0]["metadata"].get("tags", []), notebook.name
        # It comes before any cell that imports the library.
        first = next(c for c in code if "rhmlib" in "".join(c["source"]))
        assert first is installs[0], notebook.name


def test_the_introduction_clones_the_configured_repository() -> None:
    text = (ROOT / "book/intro.ipynb").read_text()
    assert f"git clone {REPOSITORY}" in text and "<this repository>" not in text


def test_an_installed_rhmlib_carries_every_cached_result(tmp_path: Path) -> None:
    """The wheel pip builds from the repository (as the install cell does) has the results."""
    import subprocess
    import sys
    import zipfile

    from rhmlib.sweeps import RESULTS_DIR

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", str(ROOT), "-w", str(tmp_path)],
                   check=True, timeout=300, capture_output=True)
    (wheel,) = tmp_path.glob("rhmlib-*.whl")
    packed = {Path(name).name for name in zipfile.ZipFile(wheel).namelist()
              if name.startswith("rhmlib/results/runs/")}
    cached = {path.name for path in RESULTS_DIR.glob("runs/*.json")}
    assert RESULTS_DIR == ROOT / "rhmlib" / "results" and cached and packed == cached
