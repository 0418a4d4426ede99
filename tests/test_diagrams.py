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


def test_rule_colors_are_distinct_hex() -> None:
    colors = diagrams.RULE_COLORS
    assert set(colors) >= {"bp", "fa", "dfa", "drtp", "pepita", "clapp", "infonce", "vicreg",
                           "ff"}
    assert len(set(colors.values())) == len(colors)
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in colors.values())


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
