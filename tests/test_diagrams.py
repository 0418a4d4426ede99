"""The explanatory SVG diagrams: well-formed, accessible, self-contained and up to date."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rhmlib import diagrams

ASSETS = Path(__file__).resolve().parents[1] / "book" / "_assets" / "diagrams"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("name", sorted(diagrams.DIAGRAMS))
def test_diagram_is_accessible_scalable_svg(name: str) -> None:
    text = diagrams.DIAGRAMS[name]()
    root = ET.fromstring(text)  # well-formed XML
    assert root.tag == f"{SVG}svg"
    assert root.get("width") == "100%" and len(root.get("viewBox", "").split()) == 4
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text and desc is not None and desc.text
    assert root.get("role") == "img"
    assert len(root.findall(f".//{SVG}text")) > 5


@pytest.mark.parametrize("name", sorted(diagrams.DIAGRAMS))
def test_diagram_references_nothing_outside(name: str) -> None:
    text = diagrams.DIAGRAMS[name]()
    assert not re.search(r"href|url\(|@import|<image|<script|<foreignObject", text)
    assert diagrams.DIAGRAMS[name]() == text  # deterministic


def test_committed_files_are_up_to_date(tmp_path: Path) -> None:
    written = diagrams.write_all(tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{n}.svg" for n in diagrams.DIAGRAMS)
    for path in written:
        committed = ASSETS / path.name
        assert committed.exists(), f"{committed} missing: python -m rhmlib.diagrams {ASSETS}"
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"{committed.name} is stale: run python -m rhmlib.diagrams book/_assets/diagrams")


def test_markup_makes_sub_and_superscripts() -> None:
    svg = diagrams._text(0, 0, "W_{l+1}^T x")
    root = ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg">{svg}</svg>')
    spans = root.findall(f".//{SVG}tspan")
    assert [s.text for s in spans] == ["W", "l+1", "T", " x"]
    assert float(spans[1].get("dy")) > 0 > float(spans[2].get("dy"))


def test_main_writes_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert diagrams.main([str(tmp_path / "out")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(diagrams.DIAGRAMS)
    assert diagrams.main([]) == 2


@pytest.mark.parametrize("name", sorted(diagrams.DIAGRAMS))
def test_labels_are_readable_on_a_phone(name: str) -> None:
    """Every label is drawn >= 11 px high on a 390 px phone.

    Assumed: the content box of a 390 px page is 358 px wide (16 px margins each side), and
    a diagram scales with its box (width="100%"), so a label of font size f in a viewBox of
    width W is drawn f * box / W px high. The box is the content width, or the diagram's
    min-width from book.css (its figure then scrolls sideways), whichever is larger.
    """
    text = diagrams.DIAGRAMS[name]()
    view_width = float(ET.fromstring(text).get("viewBox").split()[2])
    sizes = diagrams.font_sizes(text)
    assert len(sizes) >= len(re.findall(r"<text\b", text))  # every text sets its size
    css = (ASSETS.parent / "css" / "book.css").read_text(encoding="utf-8")
    rule = re.search(rf'img\[src\$="/{name}\.svg"\] \{{ min-width: (\d+)px; max-width: none; \}}',
                     css)
    assert rule and f'figure:has(img[src$="/{name}.svg"]) {{ overflow-x: auto; }}' in css, (
        "book.css lacks the diagram's phone rules: paste rhmlib.diagrams.phone_css()")
    box = max(diagrams.CONTENT_PX, int(rule.group(1)))
    assert diagrams.CONTENT_PX == 390 - 2 * 16
    smallest = min(sizes) * box / view_width
    assert smallest >= diagrams.MIN_FONT_PX == 11, (
        f"{name}: smallest label {min(sizes)} of a {view_width:g}-wide viewBox is "
        f"{smallest:.1f} px at {box} px")
    assert diagrams.phone_css() in css  # the rules are those the diagrams need now
    # Not so wide that a desktop's content column (about 700 px at 1,280 px) scrolls.
    assert box <= 700
