"""Every chapter's claims hold on the cached results: the checks its notebook runs.

A page module (``rhmlib.pages.chNN``) with ``numbers``, ``TEXTS`` and ``CLAIMS`` is checked
here as its notebook checks it: the claims on ``numbers()``, and every glued text written.
A chapter whose sweeps are missing or stale in the cache is skipped, naming them (the
notebook itself cannot run then either).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path

import pytest

import rhmlib.pages
from rhmlib.pages import Claim, check_claims, texts
from rhmlib.sweeps import MissingResults, StaleResults

BOOK = Path(__file__).resolve().parents[1] / "book"
PAGES = sorted(name for _, name, _ in pkgutil.iter_modules(rhmlib.pages.__path__)
               if hasattr(importlib.import_module(f"rhmlib.pages.{name}"), "CLAIMS"))


@pytest.fixture(scope="module", params=PAGES)
def page(request: pytest.FixtureRequest) -> tuple[object, dict]:
    """A page module and its numbers on the cached results."""
    module = importlib.import_module(f"rhmlib.pages.{request.param}")
    try:
        return module, module.numbers()
    except (MissingResults, StaleResults) as err:
        pytest.skip(f"{request.param}: the cache cannot give its numbers ({err})")


def _notebook(module: object) -> str:
    """The source of the chapter's notebook, all cells joined."""
    number = module.__name__.rsplit(".ch", 1)[1]
    path, = BOOK.glob(f"{number}_*.ipynb")
    return "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])


def test_every_claim_holds(page: tuple[object, dict]) -> None:
    module, numbers = page
    assert module.CLAIMS and all(isinstance(c, Claim) for c in module.CLAIMS)
    check_claims(module.CLAIMS, numbers)


def test_every_glued_text_is_written_and_cited(page: tuple[object, dict]) -> None:
    module, numbers = page
    written = texts(module.TEXTS, numbers)
    assert all(isinstance(v, str) and v for v in written.values()), written
    notebook = _notebook(module)
    uncited = [name for name in written if f"`{name}`" not in notebook]
    assert not uncited, f"glued but never cited by the page: {uncited}"
    name = module.__name__.rsplit(".", 1)[1]
    assert f"check_claims({name}.CLAIMS" in notebook  # the notebook runs the same checks


def test_check_claims_names_every_failure() -> None:
    claims = (Claim("a", "holds", lambda n: n["x"] > 0), Claim("b", "fails", lambda n: n["x"] < 0),
              Claim("c", "breaks", lambda n: n["missing"]))
    check_claims(claims[:1], {"x": 1})
    with pytest.raises(AssertionError) as caught:
        check_claims(claims, {"x": 1})
    message = str(caught.value)
    assert "b: fails" in message and "c: breaks (KeyError" in message and "a: holds" not in message
    with pytest.raises(TypeError):
        check_claims([lambda n: True], {})


def test_texts_use_each_format() -> None:
    formats = {"x": "{:.1%}", "y": lambda v: f"<{v}>"}
    assert texts(formats, {"x": 0.25, "y": 3, "z": 0}) == {"x": "25.0%", "y": "<3>"}
    with pytest.raises(KeyError, match="'x'"):
        texts(formats, {"y": 1})
