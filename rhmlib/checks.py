"""Validation shared by every public entry point: clear errors naming the parameter.

Booleans are not numbers here; numpy scalars and 0-d tensors are. Each check returns
the value as a plain Python ``int``/``float``/``str`` so that it can be stored as JSON.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

__all__ = ["check_int", "check_float", "check_choice", "check_bool"]


def _scalar(value: object) -> object:
    """A 0-d tensor or array as its Python scalar; anything else unchanged."""
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return value.item()
    return value


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming ``name`` and the allowed range."""
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return value


def check_float(name: str, value: object, low: float = 0.0, high: float = math.inf,
                low_open: bool = False, high_open: bool = True) -> float:
    """Return ``value`` as a finite float in the given range, or raise naming ``name``."""
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if not math.isfinite(value) or too_low or too_high:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must be a finite number in {left}{low}, {high}{right}, "
                         f"got {value!r}")
    return value


def check_choice(name: str, value: object, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, or raise naming ``name``."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    return value


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is True or False (not 0, 1 or a string), or raise naming ``name``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value
