"""The floors of rhmlib: no module imports from a floor above its own, and no import circle.

Imports are read from the source with ``ast`` (module-level and inside functions alike),
so the test sees an import that only runs when a function is called.
"""

from __future__ import annotations

import ast
from fnmatch import fnmatch
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rhmlib"

# The floor of each module (a package's entry covers its submodules); data flow from the
# grammar (floor 0) up to the pages (floor 5). A new module must be given a floor here.
FLOORS = {
    # 0 ground: numbers, networks, randomness, input checks, the shape of a stored record
    "rhm": 0, "models": 0, "streams": 0, "checks": 0, "stats": 0, "machine": 0, "shapes": 0,
    # 1 learning: the rules and the one training loop
    "rules": 1, "train": 1, "rhmlib": 1, "mnist1d": 1,
    # 2 measurements of networks and rules (the probes, recorded or live); the fingerprint
    # reads the rules' and the recorded probes' files
    "probes": 2, "linear": 2, "correlations": 2, "fingerprint": 2,
    # 3 cached experiments
    "sweeps": 3,
    # 4 presentation
    "tables": 4, "styles": 4, "plots": 4, "diagrams": 4, "widgets": 4, "quantities": 4,
    "sphinxext": 4, "mystnb": 4,
    # 5 pages: the only code meant to import both sweeps and presentation
    "pages": 5,
}

# Imports (importer, imported; shell patterns) that break the rule and are not fixed yet.
KNOWN: dict[tuple[str, str], str] = {}


def modules() -> dict[str, Path]:
    """Every module of rhmlib by dotted name below the package ("rhmlib" for its __init__)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts) or "rhmlib"] = path
    return out


def _package(name: str, path: Path) -> list[str]:
    """The dotted parts of the package holding module ``name`` (itself for an __init__)."""
    parts = [] if name == "rhmlib" else name.split(".")
    return parts if path.name == "__init__.py" else parts[:-1]


def _known(dotted: list[str], known: dict[str, Path]) -> str | None:
    """The module named by ``dotted`` parts below rhmlib, or None if it is not one."""
    name = ".".join(dotted) or "rhmlib"
    return name if name in known else None


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The rhmlib modules that module ``name`` imports, anywhere in its source."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "rhmlib":
                    out.add(_known(parts[1:], known))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package(name, path)
                base = base[:len(base) - (node.level - 1)]
            elif (node.module or "").split(".")[0] == "rhmlib":
                base = []
            else:
                continue
            if node.module:
                base = base + [p for p in node.module.split(".") if node.level or p != "rhmlib"]
            for alias in node.names:
                out.add(_known(base + [alias.name], known) or _known(base, known))
    out.discard(None)
    out.discard(name)
    return out


def floor(name: str) -> int:
    """The floor of module ``name``: its own entry or its package's."""
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        if ".".join(parts[:k]) in FLOORS:
            return FLOORS[".".join(parts[:k])]
    raise KeyError(name)


def _excused(edge: tuple[str, str]) -> bool:
    return any(fnmatch(edge[0], a) and fnmatch(edge[1], b) for a, b in KNOWN)


def edges() -> set[tuple[str, str]]:
    """Every import between two rhmlib modules: (importer, imported)."""
    known = modules()
    return {(name, target) for name, path in known.items()
            for target in imports(name, path, known)}


def cycles(graph: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    nodes = sorted({n for edge in graph for n in edge})
    after = {n: sorted(b for a, b in graph if a == n) for n in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(n: str) -> None:
        index[n] = low[n] = len(index)
        stack.append(n)
        for m in after[n]:
            if m not in index:
                visit(m)
                low[n] = min(low[n], low[m])
            elif m in stack:
                low[n] = min(low[n], index[m])
        if low[n] == index[n]:
            component = []
            while True:
                m = stack.pop()
                component.append(m)
                if m == n:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for n in nodes:
        if n not in index:
            visit(n)
    return out


def test_every_module_has_a_floor() -> None:
    missing = []
    for name in modules():
        try:
            floor(name)
        except KeyError:
            missing.append(name)
    assert not missing, f"give these modules a floor in FLOORS: {missing}"


def test_no_upward_import() -> None:
    upward = sorted(f"{a} (floor {floor(a)}) imports {b} (floor {floor(b)})"
                    for a, b in edges() if floor(b) > floor(a) and not _excused((a, b)))
    assert not upward, "\n".join(upward)


def test_no_import_circle() -> None:
    circles = cycles({edge for edge in edges() if not _excused(edge)})
    assert not circles, circles


def test_known_exceptions_still_happen() -> None:
    """An exception that no import needs any more is taken off the list."""
    found = edges()
    unused = [pair for pair in KNOWN
              if not any(fnmatch(a, pair[0]) and fnmatch(b, pair[1]) for a, b in found)]
    assert not unused, f"no import needs these exceptions any more: {unused}"


def test_the_walk_sees_imports_in_functions_and_relative_ones() -> None:
    found = edges()
    assert ("fingerprint", "rules") in found  # inside a function
    assert ("sweeps.backprop", "sweeps.registry") in found  # from .registry import ...
    assert ("sweeps.feedback", "stats") in found  # from .. import stats as _stats
    assert ("pages.intro", "sweeps.contrast") in found  # from ..sweeps import contrast
    assert cycles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [["a", "b", "c"]]
