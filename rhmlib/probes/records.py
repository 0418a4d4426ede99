"""The shape of each probe's record, checked whenever a cached record is read.

These checks are not part of a run's code (no fingerprint hashes this file): they only
decide whether a stored record can be used.
"""

from __future__ import annotations

from ..shapes import (
    LEGACY_NAN,
    InvalidRecord,
    fields,
    is_accuracy_or_none,
    is_cosine,
    is_int,
    is_number,
    items,
)

__all__ = ["check_cosines", "check_hierarchy"]


def check_cosines(value: object, where: str) -> None:
    """A record of ``steps`` and one row of cosines per step (a legacy NaN becomes None)."""
    fields(value, where, {"steps", "cosines"})
    steps = items(value["steps"], f"{where}.steps", is_int, "an integer")
    rows = items(value["cosines"], f"{where}.cosines", lambda row: isinstance(row, list),
                 "a list")
    if rows != steps:
        raise InvalidRecord(f"{where} has {rows} rows of cosines for {steps} steps")
    for i, row in enumerate(value["cosines"]):
        items(row, f"{where}.cosines[{i}]", is_cosine, "a number or null")
        row[:] = [None if x is LEGACY_NAN else x for x in row]


def _is_ratio_or_none(x: object) -> bool:
    return x is None or is_number(x) and x >= 0


def _per_step(value: object, where: str, names: tuple[str, ...]) -> None:
    """A record of ``steps`` and, for each of ``names``, one list per step."""
    fields(value, where, {"steps", *names})
    steps = items(value["steps"], f"{where}.steps", is_int, "an integer")
    for name in names:
        rows = items(value[name], f"{where}.{name}", lambda row: isinstance(row, list), "a list")
        if rows != steps:
            raise InvalidRecord(f"{where} has {rows} rows of {name} for {steps} steps")


def check_hierarchy(value: object, where: str) -> None:
    """A record of ``steps`` and, per step, ``sensitivity`` and ``decodability`` rows."""
    _per_step(value, where, ("sensitivity", "decodability"))
    for i, row in enumerate(value["sensitivity"]):
        items(row, f"{where}.sensitivity[{i}]", _is_ratio_or_none, "a ratio >= 0 or null")
    for i, layers in enumerate(value["decodability"]):
        items(layers, f"{where}.decodability[{i}]", lambda row: isinstance(row, list), "a list")
        for j, row in enumerate(layers):
            items(row, f"{where}.decodability[{i}][{j}]", is_accuracy_or_none,
                  "an accuracy in [0, 1] or null")


def check_activity(value: object, where: str) -> None:
    """A record of ``steps`` and, per step, ``silent`` and ``active`` fractions per layer."""
    _per_step(value, where, ("silent", "active"))
    for name in ("silent", "active"):
        for i, row in enumerate(value[name]):
            items(row, f"{where}.{name}[{i}]", is_accuracy_or_none, "a fraction in [0, 1]")
