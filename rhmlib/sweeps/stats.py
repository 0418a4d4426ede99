"""Statistics of sweep records: means over seeds, P_90 and its interval, the chosen lr, P*.

A record is what :func:`rhmlib.sweeps.load_sweep` returns: ``record["config"]`` (the
resolved config) and either ``record["result"]`` or, for a run whose training diverged,
``record["diverged"]``. Summary rows (:func:`summarize`) hold the grouping fields and
``mean``, ``sem`` and ``n``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..rhm import p_star

__all__ = ["finished", "diverged", "mean_sem", "summarize", "p90", "p90_interval",
           "best_row", "best_lr", "p_star"]


def finished(records: Iterable[dict]) -> list[dict]:
    """The records whose training finished (those with a result)."""
    return [r for r in records if "result" in r]


def diverged(records: Iterable[dict]) -> list[dict]:
    """The records whose training diverged; ``record["diverged"]`` holds the error."""
    return [r for r in records if "diverged" in r]


def mean_sem(values: Iterable[float]) -> tuple[float, float, int]:
    """Mean, standard error of the mean and count (sem is 0 for a single value)."""
    arr = np.asarray(list(values), dtype=float)
    if arr.size == 0:
        return math.nan, math.nan, 0
    sem = float(arr.std(ddof=1) / np.sqrt(arr.size)) if arr.size > 1 else 0.0
    return float(arr.mean()), sem, int(arr.size)


def _sort_key(group: tuple) -> tuple:
    """Numbers in numeric order, anything else (strings, None) after them by text."""
    return tuple((0, x, "") if isinstance(x, (int, float)) else (1, 0, str(x)) for x in group)


def _groups(records: Iterable[dict], by: tuple[str, ...], metric: str) -> dict[tuple, list]:
    """``metric`` of the finished records, grouped by config fields ``by``, groups sorted."""
    groups: dict[tuple, list[float]] = {}
    for record in finished(records):
        group = tuple(record["config"].get(k) for k in by)
        groups.setdefault(group, []).append(record["result"][metric])
    return dict(sorted(groups.items(), key=lambda kv: _sort_key(kv[0])))


def summarize(
    records: Iterable[dict], by: tuple[str, ...], metric: str = "test_accuracy"
) -> list[dict]:
    """Group records by config fields ``by``; mean, sem and count of ``metric`` per group.

    Diverged runs have no ``metric`` and are left out (count them with :func:`diverged`).
    """
    rows = []
    for group, values in _groups(records, by, metric).items():
        mean, sem, n = mean_sem(values)
        rows.append({**dict(zip(by, group)), "mean": mean, "sem": sem, "n": n})
    return rows


def p90(rows: Iterable[dict], level: float = 0.9, x: str = "P") -> float:
    """P_90: the smallest ``x`` where the mean curve reaches ``level``, interpolated in log x.

    ``rows`` are :func:`summarize` rows (any order); the first point of the grid if it
    is already at ``level``, inf if no point reaches it.
    """
    points = sorted((r[x], r["mean"]) for r in rows)
    for (x0, y0), (x1, y1) in zip([(math.nan, -math.inf)] + points, points):
        if y1 >= level:
            if math.isnan(x0) or y1 == y0:
                return float(x1)
            t = (level - y0) / (y1 - y0)
            return float(math.exp(math.log(x0) + t * (math.log(x1) - math.log(x0))))
    return math.inf


def p90_interval(
    records: Iterable[dict], level: float = 0.9, x: str = "P", metric: str = "test_accuracy",
    n_boot: int = 1000, seed: int = 0,
) -> tuple[float, float, float]:
    """P_90 of ``records`` with a 68% bootstrap interval over seeds: ``(p90, low, high)``.

    Each resample redraws, at every ``x``, that point's runs (seeds) with replacement and
    recomputes :func:`p90`; ``low`` and ``high`` are the 16th and 84th percentiles of the
    resamples (the interval of one sem for a normal estimate; inf where resamples never
    reach ``level``).
    """
    groups = {g[0]: np.asarray(v, dtype=float) for g, v in _groups(records, (x,), metric).items()}
    if not groups:
        raise ValueError("p90_interval needs finished records")
    point = p90([{x: k, "mean": float(v.mean())} for k, v in groups.items()], level, x)
    rng = np.random.default_rng(seed)
    means = {k: v[rng.integers(0, v.size, (n_boot, v.size))].mean(axis=1)
             for k, v in groups.items()}
    boots = [p90([{x: k, "mean": float(m[b])} for k, m in means.items()], level, x)
             for b in range(n_boot)]
    low, high = np.quantile(boots, [0.16, 0.84], method="inverted_cdf")
    return point, float(low), float(high)


def best_row(records: Iterable[dict], metric: str = "test_accuracy") -> dict:
    """The :func:`summarize` row (of ``metric``) at the lr with the best validation accuracy.

    The one definition of the chosen learning rate: the highest mean accuracy on the
    validation split, never on the test set; the row then reports ``metric`` (by
    default the test accuracy) at that rate. A learning rate at which any seed diverged
    is not eligible (a rate that blows up one run in three is no recipe), unless every
    rate lost a seed; diverged runs never enter a mean. On a tie the smaller learning
    rate wins.
    """
    records = list(records)
    unstable = {r["config"]["lr"] for r in diverged(records)}
    eligible = [r for r in records if r["config"]["lr"] not in unstable] or records
    rows = summarize(eligible, by=("lr",), metric="val_accuracy")
    if not rows:
        raise ValueError("no finished runs to choose a learning rate from")
    lr = max(rows, key=lambda r: r["mean"])["lr"]
    return next(r for r in summarize(eligible, by=("lr",), metric=metric) if r["lr"] == lr)


def best_lr(records: Iterable[dict]) -> float:
    """The chosen learning rate of ``records`` (see :func:`best_row`)."""
    return best_row(records)["lr"]


