"""Validation shared by every public entry point: clear errors naming the parameter.

Booleans are not numbers here; numpy scalars and 0-d tensors are. Each check returns
the value as a plain Python ``int``/``float``/``str`` so that it can be stored as JSON.
Sizes are bounded by what they would allocate (:func:`check_memory`), not by a count:
a call that would need more than :data:`MAX_BYTES` is refused before it allocates.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

__all__ = ["MAX_BYTES", "check_int", "check_float", "check_real", "check_choice", "check_bool",
           "check_list", "check_path", "check_memory", "check_records"]

# What one call may allocate: a few times more than the book's largest computation, well
# below a laptop's memory.
MAX_BYTES = 2 * 2**30


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


def check_real(name: str, value: object) -> float:
    """Return ``value`` as a float, NaN and infinities allowed (they mean something to the
    caller), or raise naming ``name``."""
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    return float(value)


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


def check_list(name: str, value: object, allow_empty: bool = False) -> list:
    """Return the items of ``value`` (any iterable but a string or mapping) as a list, or
    raise naming ``name``; empty only if ``allow_empty``."""
    if (isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable)
            or getattr(value, "ndim", None) == 0):  # a 0-d tensor or array holds one scalar
        raise TypeError(f"{name} must be a list, got {type(value).__name__}")
    items = list(value)
    if not items and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    return items


def check_path(name: str, value: object) -> Path:
    """Return ``value`` (a ``str`` or path-like) as a :class:`~pathlib.Path`, or raise naming
    ``name``."""
    if not isinstance(value, (str, os.PathLike)) or value == "":
        raise TypeError(f"{name} must be a path (str or pathlib.Path), got {value!r}")
    return Path(value)


def check_memory(what: str, n_bytes: float, limit: float = MAX_BYTES) -> None:
    """Refuse a computation that would allocate more than ``limit`` bytes.

    ``what`` names the parameters that set the size, with their values.
    """
    if n_bytes > limit:
        raise ValueError(f"{what} would need about {n_bytes / 2**30:,.1f} GiB, more than "
                         f"the {limit / 2**30:g} GiB allowed: choose smaller sizes")


def check_records(name: str, records: object, allow_empty: bool = False) -> list[dict]:
    """Return ``records`` as a list of sweep records, or raise naming ``name``.

    A record (:func:`rhmlib.sweeps.load_sweep`) is a dict with a ``config`` dict and
    either a ``result`` dict or a ``diverged`` message.
    """
    records = check_list(name, records, allow_empty)
    for i, record in enumerate(records):
        if not (isinstance(record, Mapping) and isinstance(record.get("config"), Mapping)):
            raise TypeError(f"{name}[{i}] must be a sweep record (a dict with a config), "
                            f"got {record!r:.80}")
        if not (isinstance(record.get("result"), Mapping) or "diverged" in record):
            raise ValueError(f"{name}[{i}] must hold a result dict or a diverged message")
    return records
