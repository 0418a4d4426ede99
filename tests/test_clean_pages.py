"""The built pages read as a finished book: no leftovers of how it was computed or made.

Reads the visible text of every built page (the HTML without scripts and styles, plus
the text the saved widgets show: labels, HTML and captured outputs) and looks for
Python warnings, local paths, numbers that are not numbers, placeholders, and words
about how the book was written rather than about its science. Each failure names the
page and quotes the text around the hit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag  # installed with pydata-sphinx-theme, which needs it
from test_browser import site_pages

# What is never visible: code the browser runs, styles, templates.
NOT_TEXT = ["script", "style", "noscript", "template"]

# Python's warnings and tracebacks as printed ("file.py:12: UserWarning: ..."). Capitals
# matter: the theme's "Warning" admonitions carry no colon and no prefix.
PYTHON_WARNING = r"Warning:|\b[A-Z][A-Za-z]*Warning\b|Traceback \(most recent call last\)"
# Paths of the machine that built the book, leaked through messages or reprs. ".venv"
# counts as part of a path (".../.venv/lib"), not as a name in setup instructions.
LOCAL_PATH = r"/work/|/?\.venv/|/\.venv\b|site-packages|/home/|/tmp/|/root/"
# A float that is not a number, as Python or pandas print it ("nan", "+nan", "NaN",
# "-inf"); a backslash before it is LaTeX (\inf) and letters around it make another word.
NOT_A_NUMBER = r"(?<![\w.\\])[+\-±]?(?:(?i:nan)|inf)(?!\w)"
# Placeholders of unfinished text; TODO/TBD/FIXME/XXX only in capitals, as written.
PLACEHOLDER = r"\b(?:TODO|TBD|FIXME|XXX)\b|(?i:\blorem\b)"
# Words about how the book was made (its brief, prototypes, reviews, team, issues,
# working sessions): the book speaks to its reader about the science only.
MAKING_WORDS = (r"(?i)\bbrief(?:s|ed|ing)?\b|\bprototyp\w*|\breview\w*|\bour team\b"
                r"|\bthe team\b|\bissue\s*#|\bwe were asked\b|\bsessions?\b")
# Uses of those words that belong to the reader: a class session of the teaching page.
ALLOWED_PHRASES = ["session plan"]

# (name, pattern, parts of the page searched). Parts (see `visible_text`): "page" is the
# prose with the cells' outputs; "code" the code shown (cells' inputs, code blocks), where
# float("inf") or a warnings filter are code, not output; "bibliography" the reference
# entries, which quote other people's titles and venues ("Physical Review X", an author
# named Nan); "widgets" what the saved widgets show.
CHECKS = [
    ("Python warning", re.compile(PYTHON_WARNING), {"page", "bibliography", "widgets"}),
    ("local path", re.compile(LOCAL_PATH), {"page", "code", "bibliography", "widgets"}),
    ("not a number shown", re.compile(NOT_A_NUMBER), {"page", "widgets"}),
    ("placeholder", re.compile(PLACEHOLDER), {"page", "code", "bibliography", "widgets"}),
    ("word about how the book was made", re.compile(MAKING_WORDS), {"page", "code", "widgets"}),
]
SNIPPET_CHARS = 50

# Widget models whose `value` is text on the screen (the others hold numbers or choices).
_TEXT_VALUE_MODELS = {"HTMLModel", "HTMLMathModel", "LabelModel", "TextModel", "TextareaModel"}


def _html_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(NOT_TEXT):
        tag.decompose()
    return " ".join(soup.get_text(" ").split())


def _output_text(output: dict) -> str:
    """What a saved notebook output shows: a stream, an error, or its richest text."""
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return "\n".join([f"{output.get('ename')}: {output.get('evalue')}",
                          *output.get("traceback", [])])
    data = output.get("data", {})
    if "text/html" in data:
        return _html_text(data["text/html"])
    return data.get("text/plain", "")


def _widget_text(state_json: str) -> str:
    """The text that saved widgets display: labels, text values, captured outputs."""
    texts = []
    for model in json.loads(state_json).get("state", {}).values():
        state = model.get("state", {})
        texts += [state.get(k) or "" for k in ("description", "tooltip", "placeholder")]
        texts += [str(label) for label in state.get("_options_labels", [])]
        if model.get("model_name") in _TEXT_VALUE_MODELS and isinstance(state.get("value"), str):
            texts.append(_html_text(state["value"]))
        texts += [_output_text(o) for o in state.get("outputs", [])]
    return " ".join(" ".join(texts).split())


def _is_code(tag: Tag) -> bool:
    """A code cell's input, or a code block of the text (not a highlighted output)."""
    classes = tag.get("class") or []
    if "cell_input" in classes:
        return True
    return (any(c.startswith("highlight-") for c in classes) and "output" not in classes
            and tag.find_parent(class_=["cell_output", "cell_input"]) is None)


def visible_text(path: Path) -> dict[str, str]:
    """A built page's visible text in parts: page, code, bibliography entries, widgets."""
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    states = soup.find_all("script", type="application/vnd.jupyter.widget-state+json")
    widgets = " ".join(_widget_text(s.string or "{}") for s in states)
    for tag in soup(NOT_TEXT):
        tag.decompose()

    def cut(tags: list[Tag]) -> str:
        return " ".join(" ".join(t.extract().get_text(" ").split()) for t in tags)

    entries = cut(soup.select('[role="doc-biblioentry"]'))
    code = cut(soup.find_all(_is_code))
    body = soup.body or soup
    return {"page": " ".join(body.get_text(" ").split()), "code": code,
            "bibliography": entries, "widgets": widgets}


def _allowed(text: str, hit: re.Match) -> bool:
    lower = text.lower()
    for phrase in ALLOWED_PHRASES:
        start = lower.find(phrase)
        while start >= 0:
            if start <= hit.start() and hit.end() <= start + len(phrase):
                return True
            start = lower.find(phrase, start + 1)
    return False


def page_problems(name: str, parts: dict[str, str]) -> list[str]:
    """One line per hit of ``CHECKS`` in a page's text parts: page, check, quoted text."""
    problems = []
    for part, text in parts.items():
        for check, pattern, searched in CHECKS:
            if part not in searched:
                continue
            for hit in pattern.finditer(text):
                if _allowed(text, hit):
                    continue
                snippet = text[max(0, hit.start() - SNIPPET_CHARS):hit.end() + SNIPPET_CHARS]
                where = "" if part == "page" else f" ({part})"
                problems.append(f"{name}{where}: {check} {hit.group()!r}: …{snippet}…")
    return problems


def test_no_page_shows_leftovers_of_how_it_was_made(built_book: tuple[Path, str]) -> None:
    html_dir = built_book[0] / "html"
    pages = site_pages(html_dir)
    texts = {name: visible_text(html_dir / name) for name in pages}
    # The checks mean something only if the pages' text was actually read (index.html
    # is a bare redirect to the first page).
    assert sum(len(t["page"]) > 1000 for t in texts.values()) > 3, pages
    problems = [line for name in pages for line in page_problems(name, texts[name])]
    assert not problems, "\n".join(problems)


# -- the notebooks as a reader meets them (static: no build, no kernel) -----------------------

BOOK = Path(__file__).resolve().parents[1] / "book"


def _notebooks() -> list:
    return [pytest.param(path, id=path.stem) for path in sorted(BOOK.glob("*.ipynb"))]


def _cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
    return cells


def _tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


# A fenced directive (``` or ````) with its options and body: {admonition}, {dropdown}, ...
_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}(?P<title>[^\n]*)\n"
                    r"(?P<body>.*?)^(?P=fence)\s*$", re.S | re.M)
# Titles of the blocks that give an answer away.
ANSWER_TITLE = re.compile(r"(?i)^\s*(solution|answer|an answer|reading the result)")


def _is_dropdown(block: re.Match) -> bool:
    return block["name"] == "dropdown" or bool(
        re.search(r"^:class:.*\bdropdown\b", block["body"], re.M))


def _outside_dropdowns(text: str) -> str:
    """Markdown text left once every dropdown block is taken out."""
    return _FENCE.sub(lambda b: "" if _is_dropdown(b) else b.group(0), text)


def solution_problems(cells: list[dict]) -> list[str]:
    """Where a notebook shows an answer before the reader opens it.

    - a code cell whose source starts with ``# Solution`` must be tagged ``hide-cell``
      (code and output behind one click), not ``hide-input`` alone (output in view);
    - a block titled Solution/Answer/Reading the result must be a dropdown;
    - after a solution cell, the text up to the next heading or exercise must sit in
      dropdowns: a written answer in plain view under "Predict first" gives it away.
    """
    problems = []
    after_solution = False
    for i, cell in enumerate(cells):
        source = cell["source"]
        if cell["cell_type"] == "code":
            if source.lstrip().startswith("# Solution"):
                if "hide-cell" not in _tags(cell) and "remove-output" not in _tags(cell):
                    problems.append(f"cell {i}: a solution's code or output is in view "
                                    f"(tags {sorted(_tags(cell))}; tag it hide-cell)")
                after_solution = True
            continue
        for block in _FENCE.finditer(source):
            if ANSWER_TITLE.match(block["title"]) and not _is_dropdown(block):
                problems.append(f"cell {i}: '{block['title'].strip()}' is not a dropdown")
        if after_solution:
            visible = _outside_dropdowns(source)
            stop = re.search(r"^(?:#|[`:]{3,}\{admonition\}\s*Exercise)", visible, re.M)
            before = visible[:stop.start()] if stop else visible
            if before.strip():
                problems.append(f"cell {i}: text in plain view after a solution: "
                                f"{before.strip()[:80]!r}")
            after_solution = stop is None
    return problems


@pytest.mark.parametrize("path", _notebooks())
def test_solutions_are_hidden_until_opened(path: Path) -> None:
    problems = solution_problems(_cells(path))
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_solution_check_catches_an_answer_in_view() -> None:
    exercise = {"cell_type": "markdown",
                "source": "```{admonition} Exercise 1\nPredict first.\n```"}
    code = {"cell_type": "code", "source": "# Solution: run it\nprint(1)",
            "metadata": {"tags": ["hide-input"]}}
    prose = {"cell_type": "markdown", "source": "Layer 1 moves most.\n\n## Summary"}
    hidden = {"cell_type": "code", "source": "# Solution\nprint(1)",
              "metadata": {"tags": ["hide-cell"]}}
    answer = {"cell_type": "markdown",
              "source": "```{admonition} Solution\n:class: dropdown\nLayer 1.\n```\n\n## Summary"}
    assert len(solution_problems([exercise, code, prose])) == 2
    assert solution_problems([exercise, hidden, answer]) == []
    plain = {"cell_type": "markdown", "source": "```{admonition} Answer\nLayer 1.\n```"}
    assert solution_problems([plain])


def _sweep_names() -> list[str]:
    from rhmlib.sweeps import SWEEPS

    # "hierarchy" is also a word of the text; the others are names only.
    return sorted(name for name in SWEEPS if "_" in name)


def sweep_name_pattern() -> re.Pattern:
    return re.compile(r"(?<![\w/])(" + "|".join(map(re.escape, _sweep_names())) + r")(?!\w)")


@pytest.mark.parametrize("path", _notebooks())
def test_no_sweep_names_in_the_text(path: Path) -> None:
    """The prose names results by what they measured, never by the cache's sweep names."""
    pattern = sweep_name_pattern()
    hits = [f"cell {i}: {m.group()!r} in …{cell['source'][max(0, m.start() - 40):m.end() + 20]}…"
            for i, cell in enumerate(_cells(path)) if cell["cell_type"] == "markdown"
            for m in pattern.finditer(cell["source"])]
    assert not hits, f"{path.name}:\n" + "\n".join(hits)


# -- one number per quantity ---------------------------------------------------------------

_GLUE_CALL = re.compile(r"""\bglue\(\s*["']([^"'{}]+)["']""")
_GLUE_REF = re.compile(r"\{glue:(?:text|figure|any|md)?\}`([^`]+)`|:::?\{glue:figure\}\s*(\S+)|"
                       r"`{3,}\{glue:figure\}\s*(\S+)")


def test_a_number_shared_by_pages_is_glued_from_one_place() -> None:
    """A name glued literally on two pages could hold two values: shared numbers come from
    ``rhmlib.quantities`` (names ``q-...``), and every ``q-`` name a page shows is glued
    there by ``quantities.glue`` and known to it."""
    from rhmlib.quantities import QUANTITIES

    glued: dict[str, set[str]] = {}
    problems = []
    for path in sorted(BOOK.glob("*.ipynb")):
        cells = _cells(path)
        code = "\n".join(c["source"] for c in cells if c["cell_type"] == "code")
        for name in _GLUE_CALL.findall(code):
            glued.setdefault(name, set()).add(path.stem)
            if name.startswith("q-"):
                problems.append(f"{path.stem}: glues {name!r} itself; use quantities.glue")
        text = "\n".join(c["source"] for c in cells if c["cell_type"] == "markdown")
        for groups in _GLUE_REF.findall(text):
            name = next(g for g in groups if g)
            if name.startswith("q-"):
                quantity = name[2:].removesuffix("-ci")
                if quantity not in QUANTITIES:
                    problems.append(f"{path.stem}: {name!r} is no quantity of rhmlib.quantities")
                elif not re.search(r"quantities\.glue\([^)]*[\"']" + re.escape(quantity) + "[\"']",
                                   code):
                    problems.append(f"{path.stem}: shows {name!r} but never glues it")
    problems += [f"{name!r} glued on {sorted(pages)}" for name, pages in glued.items()
                 if len(pages) > 1]
    assert not problems, "\n".join(problems)


def glued_texts(glue_files: list[Path]) -> dict[str, dict[str, str]]:
    """Per glued name, the text each page shows for it: {name: {page: text}}."""
    found: dict[str, dict[str, str]] = {}
    for path in glue_files:
        for name, output in json.loads(path.read_text(encoding="utf-8")).items():
            data = output.get("data", {})
            text = data.get("application/papermill.record/text/plain", data.get("text/plain"))
            if text is not None and not text.startswith("<"):
                found.setdefault(name, {})[path.name.removesuffix(".glue.json")] = text
    return found


def disagreements(found: dict[str, dict[str, str]]) -> list[str]:
    return [f"{name}: {pages}" for name, pages in sorted(found.items())
            if len(set(pages.values())) > 1]


def test_disagreement_check_catches_two_values(tmp_path: Path) -> None:
    def write(page: str, value: str) -> Path:
        path = tmp_path / f"{page}.glue.json"
        path.write_text(json.dumps({"q-bp-p90": {"data": {
            "application/papermill.record/text/plain": f"'{value}'"}}}), encoding="utf-8")
        return path
    assert disagreements(glued_texts([write("a", "1,610"), write("b", "1,751")]))
    assert not disagreements(glued_texts([write("a", "1,610"), write("c", "1,610")]))


def test_pages_state_one_value_per_quantity(built_book: tuple[Path, str]) -> None:
    """Every name glued on two or more pages shows the same text on each."""
    files = sorted((built_book[0] / "jupyter_execute").rglob("*.glue.json"))
    assert files
    found = glued_texts(files)
    assert any(name.startswith("q-") and len(pages) > 1 for name, pages in found.items())
    problems = disagreements(found)
    assert not problems, "\n".join(problems)


# -- the built pages: answers folded, no sweep names -----------------------------------------

def test_no_solution_output_in_view_before_it_is_opened(built_book: tuple[Path, str]) -> None:
    html_dir = built_book[0] / "html"
    problems, solutions = [], 0
    for name in site_pages(html_dir):
        soup = BeautifulSoup((html_dir / name).read_text(encoding="utf-8"), "html.parser")
        for cell in soup.select("div.cell"):
            source = cell.select_one(".cell_input")
            if source is None or not source.get_text().lstrip().startswith("# Solution"):
                continue
            solutions += 1
            output = cell.select_one(".cell_output")
            for part, tag in (("code", source), ("output", output)):
                if tag is not None and tag.find_parent("details") is None:
                    problems.append(f"{name}: a solution's {part} is in view")
    assert solutions >= 5
    assert not problems, "\n".join(problems)


def test_no_sweep_names_on_the_pages(built_book: tuple[Path, str]) -> None:
    """Captions made by the library included: the reader sees no sweep names."""
    html_dir = built_book[0] / "html"
    pattern = sweep_name_pattern()
    problems = []
    for name in site_pages(html_dir):
        text = visible_text(html_dir / name)["page"]
        problems += [f"{name}: {m.group()!r} in …{text[max(0, m.start() - 50):m.end() + 30]}…"
                     for m in pattern.finditer(text)]
    assert not problems, "\n".join(problems)


# -- figures: series a reader can tell apart ---------------------------------------------------

def panel_series(figure: dict) -> dict[tuple[str, str], set[str]]:
    """The series of each panel of a plotly figure (its JSON), in every view it offers.

    The rule, as a reader meets a figure:

    - a **panel** is one pair of axes: a trace's ``xaxis`` and ``yaxis`` (``x``/``y``
      when unset);
    - a **series** is what the reader must tell apart there: a trace with a name, one
      per distinct name (a curve drawn as a line and again as markers for the runs that
      failed is one series; the same curve in two panels is a series in each). A trace
      without a name (a tree's edges, a heatmap, a table, bars named by their axis) is
      none; chance and target levels are shapes, not traces;
    - only what is shown counts: a trace hidden (``visible`` false or ``"legendonly"``)
      is not, in the figure as it opens and in each view a slider step or a dropdown
      button switches to (a ``visible`` list in its args): a slider over ten training-set
      sizes with two curves each shows two series at a time.

    Returns {(view, panel): names}, the view "as it opens" or "slider step <label>".
    """
    data = figure.get("data", [])
    layout = figure.get("layout", {})
    views = [("as it opens", [t.get("visible", True) for t in data])]
    controls = [("slider step", s) for slider in layout.get("sliders", [])
                for s in slider.get("steps", [])]
    controls += [("dropdown button", b) for menu in layout.get("updatemenus", [])
                 for b in menu.get("buttons", [])]
    for kind, control in controls:
        args = control.get("args") or [{}]
        visible = args[0].get("visible") if isinstance(args[0], dict) else None
        if isinstance(visible, list) and len(visible) == len(data):
            views.append((f"{kind} {control.get('label', '?')}", visible))
    found: dict[tuple[str, str], set[str]] = {}
    for view, visible in views:
        for trace, shown in zip(data, visible):
            if shown in (False, "legendonly") or not trace.get("name"):
                continue
            panel = f"{trace.get('xaxis', 'x')}/{trace.get('yaxis', 'y')}"
            found.setdefault((view, panel), set()).add(trace["name"])
    return found


def crowded_panels(figure: dict, limit: int | None = None) -> list[str]:
    """One line per panel and view of ``figure`` showing more than ``limit`` series
    (:data:`rhmlib.plots.MAX_SERIES`, which the figures of ``rhmlib.plots`` respect:
    ``plots.facets`` splits a longer list into panels)."""
    from rhmlib.plots import MAX_SERIES

    limit = MAX_SERIES if limit is None else limit
    return [f"{len(names)} series in panel {panel} ({view}): {sorted(names)}"
            for (view, panel), names in sorted(panel_series(figure).items())
            if len(names) > limit]


def test_series_rule_counts_names_per_panel_and_view() -> None:
    line = {"type": "scatter", "x": [1, 2], "y": [1, 2]}
    many = {"data": [{**line, "name": f"rule {k}"} for k in range(7)]}
    assert crowded_panels(many) and not crowded_panels(many, limit=7)
    # The same names in two panels, a failure marker sharing its curve's name, an unnamed
    # trace: six series in each panel.
    two = {"data": [{**line, "name": f"r{k}", "xaxis": x} for k in range(6) for x in ("x", "x2")]
           + [{**line, "name": "r0", "mode": "markers"}, {**line, "showlegend": False}]}
    assert {p: len(n) for (_, p), n in panel_series(two).items()} == {"x/y": 6, "x2/y": 6}
    assert not crowded_panels(two)
    # A slider over groups: each step shows two of the twenty traces.
    slid = {"data": [{**line, "name": f"P = {k}: {s}", "visible": k == 0}
                     for k in range(10) for s in ("test", "train")],
            "layout": {"sliders": [{"steps": [
                {"label": str(k), "args": [{"visible": [j // 2 == k for j in range(20)]}]}
                for k in range(10)]}]}}
    assert len(panel_series(slid)) == 11 and not crowded_panels(slid)
    slid["layout"]["sliders"][0]["steps"][3]["args"][0]["visible"] = [True] * 20
    assert crowded_panels(slid) == [crowded_panels(slid)[0]]
    assert "slider step 3" in crowded_panels(slid)[0]


def glued_figures(glue_file: Path) -> dict[str, dict]:
    """The plotly figures a page glues ({name: figure JSON})."""
    if not glue_file.exists():
        return {}
    return {name: output["data"]["application/vnd.plotly.v1+json"]
            for name, output in json.loads(glue_file.read_text(encoding="utf-8")).items()
            if "application/vnd.plotly.v1+json" in output.get("data", {})}


@pytest.mark.parametrize("path", _notebooks())
def test_no_panel_shows_more_than_six_series(built_book: tuple[Path, str], path: Path) -> None:
    """Every numbered figure of a chapter (its glued plotly figures, as the build executed
    them) shows at most six series in a panel (``panel_series`` states the rule); more go
    into facets, or behind a slider or a dropdown."""
    glue_file = built_book[0] / "jupyter_execute" / "book" / f"{path.stem}.glue.json"
    figures = glued_figures(glue_file)
    if "{glue:figure}" in path.read_text(encoding="utf-8"):
        assert figures, f"{path.name} shows glued figures, but {glue_file} holds none"
    problems = [f"{name}: {line}" for name, figure in figures.items()
                for line in crowded_panels(figure)]
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
