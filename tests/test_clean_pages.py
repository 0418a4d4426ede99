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
