"""The shape of a JSON value read back from disk (a run's record and its probes' records).

An object must have exactly its fields, a list only items of the right kind; anything
else raises :class:`InvalidRecord`, naming where in the value it is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["InvalidRecord", "LEGACY_NAN", "show", "is_int", "is_number", "is_accuracy",
           "is_accuracy_or_none", "is_cosine", "fields", "items"]


class InvalidRecord(ValueError):
    """A record file that must not be used: unreadable, not strict JSON, or of wrong shape."""


class _LegacyNaN:
    """A bare ``NaN`` token as read; valid only where a cosine is undefined (see below)."""

    def __repr__(self) -> str:
        return "NaN"


# Records written before strict JSON (by sweeps started before it, too) hold a bare NaN
# where a probe's cosine is undefined: read as null there, which is how it is written now.
# Everywhere else, and any Infinity anywhere, makes the record invalid.
LEGACY_NAN = _LegacyNaN()


def show(value: object) -> str:
    """``value`` as text short enough for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def is_int(x: object) -> bool:
    """Whether ``x`` is an integer (not a boolean)."""
    return isinstance(x, int) and not isinstance(x, bool)


def is_number(x: object) -> bool:
    """Whether ``x`` is a finite number."""
    return is_int(x) or isinstance(x, float) and math.isfinite(x)


def is_accuracy(x: object) -> bool:
    """Whether ``x`` is an accuracy, a number in [0, 1]."""
    return is_number(x) and 0 <= x <= 1


def is_accuracy_or_none(x: object) -> bool:
    """Whether ``x`` is an accuracy or None."""
    return x is None or is_accuracy(x)


def is_cosine(x: object) -> bool:
    """Whether ``x`` is a cosine: a number, or None (or a legacy NaN) where undefined."""
    return x is None or x is LEGACY_NAN or is_number(x)


def fields(value: object, where: str, required: set[str],
           optional: frozenset[str] | set[str] = frozenset()) -> dict:
    """``value`` if it is an object with the ``required`` fields and no others but ``optional``."""
    if not isinstance(value, dict):
        raise InvalidRecord(f"{where} is {show(value)}, not an object")
    absent, unknown = required - value.keys(), value.keys() - required - optional
    if absent or unknown:
        raise InvalidRecord(f"{where} " + "; ".join(part for part in (
            f"lacks {sorted(absent)}" if absent else "",
            f"has unknown fields {sorted(unknown)}" if unknown else "") if part))
    return value


def items(value: object, where: str, ok: Callable[[object], bool], what: str) -> int:
    """The length of ``value`` if it is a list whose every item is ``ok`` (``what`` it must be)."""
    if not isinstance(value, list):
        raise InvalidRecord(f"{where} is {show(value)}, not a list")
    for i, item in enumerate(value):
        if not ok(item):
            raise InvalidRecord(f"{where}[{i}] is {show(item)}, not {what}")
    return len(value)
