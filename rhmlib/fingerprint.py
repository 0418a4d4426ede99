"""Fingerprints of the code behind a run, so that a cached result goes stale with its code.

:func:`code_fingerprint` hashes the source of what a run of one rule executes: the core
modules every run shares (:data:`CORE`), the files of every class the rule inherits from,
the files of the probes the run records (their ``files`` in :data:`rhmlib.probes.PROBES`)
and, for a run on another data set than the RHM, that data set's module
(:data:`DATASET_FILES`). Each file is hashed after :func:`normalise`: comments,
docstrings, a rule's tuned ``defaults`` (whose values are in the run's resolved config,
hence in its key already) and how the book shows it (``label``, ``family``, ``color``)
never change a fingerprint; code does. Editing one rule's file thus makes exactly the
runs of that rule (and of the rules that inherit from it) stale.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
from pathlib import Path

__all__ = ["CORE", "DATASET_FILES", "PACKAGE", "normalise", "file_digest", "source_files",
           "code_fingerprint"]

PACKAGE = Path(__file__).resolve().parent
# Modules every run executes, relative to the package; a missing one is skipped.
CORE = ("rhm.py", "models.py", "train.py", "streams.py", "rules/base.py")
# The module of each data set besides the RHM (a config's "dataset"; the RHM's name none,
# so their fingerprints are what they were before other data sets existed).
DATASET_FILES = {"mnist1d": ("mnist1d.py",)}


def _is_docstring(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


# Class attributes that never change what a run computes: a rule's recipe (its values
# are in the run's config) and how the book shows it.
NOT_CODE = ("defaults", "label", "family", "color")


def _is_defaults(node: ast.stmt) -> bool:
    """``defaults = ...``, ``label: ClassVar[str] = ...``: an attribute of :data:`NOT_CODE`."""
    targets = (node.targets if isinstance(node, ast.Assign)
               else [node.target] if isinstance(node, ast.AnnAssign) else [])
    return any(isinstance(t, ast.Name) and t.id in NOT_CODE for t in targets)


class _Strip(ast.NodeTransformer):
    """Drops docstrings, and the ``defaults`` assignments in class bodies."""

    def _body(self, node: ast.AST, in_class: bool = False) -> ast.AST:
        self.generic_visit(node)
        body = node.body[1:] if node.body and _is_docstring(node.body[0]) else node.body
        if in_class:
            body = [stmt for stmt in body if not _is_defaults(stmt)]
        node.body = body or [ast.Pass()]
        return node

    def visit_Module(self, node: ast.Module) -> ast.AST:
        return self._body(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._body(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._body(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return self._body(node, in_class=True)


def _dump(node: object) -> str:
    """``ast.dump`` without empty fields, so the text is the same on Python 3.10 to 3.13.

    (3.12 added empty ``type_params`` to every function and class; 3.13's ``ast.dump``
    leaves empty fields out.)
    """
    if isinstance(node, ast.AST):
        fields = ", ".join(f"{name}={_dump(value)}" for name, value in ast.iter_fields(node)
                           if value is not None and value != [])
        return f"{type(node).__name__}({fields})"
    if isinstance(node, list):
        return "[" + ", ".join(map(_dump, node)) + "]"
    return repr(node)


def normalise(source: str) -> str:
    """The code of ``source`` without comments, docstrings or class-level ``defaults``."""
    return _dump(_Strip().visit(ast.parse(source)))


@functools.cache
def file_digest(path: Path) -> str:
    """sha256 of the normalised source of ``path`` (read once per process)."""
    return hashlib.sha256(normalise(path.read_text()).encode()).hexdigest()


def source_files(rule: str, probes: tuple[str, ...] = (),
                 dataset: str | None = None) -> list[Path]:
    """The package's files a run of ``rule`` executes (recording ``probes``, on ``dataset``)."""
    from .probes import PROBES
    from .rules import RULES

    if rule not in RULES:
        raise ValueError(f"rule must be one of {sorted(RULES)}, got {rule!r}")
    unknown = sorted(set(probes) - set(PROBES))
    if unknown:
        raise ValueError(f"probes must be among {sorted(PROBES)}, got {unknown}")
    if dataset is not None and dataset not in DATASET_FILES:
        raise ValueError(f"dataset must be one of {sorted(DATASET_FILES)} (or None: the RHM), "
                         f"got {dataset!r}")
    files = [PACKAGE / name for name in CORE]
    files += [Path(inspect.getsourcefile(cls)).resolve() for cls in RULES[rule].__mro__
              if cls.__module__.startswith(f"{__package__}.")]
    files += [PACKAGE / name for probe in probes for name in PROBES[probe].files]
    files += [PACKAGE / name for name in DATASET_FILES.get(dataset, ())]
    return sorted({f for f in files if f.exists()})


@functools.cache
def code_fingerprint(rule: str, probes: tuple[str, ...] = (), dataset: str | None = None) -> str:
    """sha256 over the normalised source of every file a run of ``rule`` executes."""
    digests = {f.relative_to(PACKAGE).as_posix(): file_digest(f)
               for f in source_files(rule, probes, dataset)}
    return hashlib.sha256(repr(sorted(digests.items())).encode()).hexdigest()
