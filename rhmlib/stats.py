"""Statistics of sweep records: means over seeds, P_90 and its interval, the chosen lr, ranks.

Numbers in, numbers out: text of these numbers is :mod:`rhmlib.tables`' business.

A record is what :func:`rhmlib.sweeps.load_sweep` returns: ``record["config"]`` (the
resolved config) and either ``record["result"]`` or, for a run whose training diverged,
``record["diverged"]``. Summary rows (:func:`summarize`) hold the grouping fields and
``mean``, ``sem`` and ``n``.

Missing values: a metric stored as None (or NaN: records store NaN as null) is a value
that does not exist, not a zero. It is left out of every mean, and ``n`` counts the values
present; a point of a curve without any value has a NaN mean. A P_90 that depends on
such a point is unknown: :func:`p90` raises rather than guess it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .checks import (
    check_choice,
    check_float,
    check_int,
    check_list,
    check_memory,
    check_real,
    check_records,
)

__all__ = ["METRICS", "finished", "diverged", "capped", "mean_sem", "summarize", "p90",
           "p90_interval", "p90_summary", "best_row", "best_lr", "rank_correlation"]

# The numbers of a result that a summary can average.
METRICS = ("test_accuracy", "train_accuracy", "val_accuracy", "seconds")


def finished(records: Iterable[dict]) -> list[dict]:
    """The records whose training finished (those with a result)."""
    return [r for r in check_records("records", records, allow_empty=True) if "result" in r]


def diverged(records: Iterable[dict]) -> list[dict]:
    """The records whose training diverged; ``record["diverged"]`` holds the error."""
    return [r for r in check_records("records", records, allow_empty=True) if "diverged" in r]


def _present(values: Iterable[object], name: str = "values") -> list[float]:
    """The values that exist: None and NaN (a missing value) left out."""
    out = [check_real(f"{name}[{i}]", v) for i, v in
           enumerate(check_list(name, values, allow_empty=True)) if v is not None]
    return [v for v in out if not math.isnan(v)]


def mean_sem(values: Iterable[float]) -> tuple[float, float, int]:
    """Mean, standard error of the mean and count of the values present (sem 0 for one).

    None and NaN are missing values: left out, and not counted in ``n``. An infinite
    value has no standard error: ValueError.
    """
    arr = np.asarray(_present(values), dtype=float)
    if arr.size == 0:
        return math.nan, math.nan, 0
    if not np.isfinite(arr).all():
        raise ValueError(f"values must be finite numbers (None or NaN for a missing one), "
                         f"got {float(arr[~np.isfinite(arr)][0])}")
    sem = float(arr.std(ddof=1) / np.sqrt(arr.size)) if arr.size > 1 else 0.0
    return float(arr.mean()), sem, int(arr.size)


def _sort_key(group: tuple) -> tuple:
    """Numbers in numeric order, anything else (strings, None) after them by text."""
    return tuple((0, x, "") if isinstance(x, (int, float)) else (1, 0, str(x)) for x in group)


def _fields(by: object) -> tuple[str, ...]:
    """``by`` as a tuple of config field names, or raise naming it."""
    by = tuple(check_list("by", by))
    if not all(isinstance(k, str) for k in by):
        raise TypeError(f"by must hold config field names (str), got {by!r}")
    return by


_ABSENT = object()


def _field(config: Mapping, name: str) -> object:
    """``config[name]``; a dotted name reaches into a nested dict (``rule_options.temperature``)."""
    value: object = config
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _ABSENT
        value = value[part]
    return value


def _groups(records: Iterable[dict], by: tuple[str, ...], metric: str) -> dict[tuple, list]:
    """``metric`` of the finished records, grouped by config fields ``by``, groups sorted.

    Values are those present (:func:`_present`); a group may be empty.
    """
    metric = check_choice("metric", metric, METRICS)
    groups: dict[tuple, list[float]] = {}
    for i, record in enumerate(check_records("records", records, allow_empty=True)):
        if "result" not in record:
            continue
        absent = [k for k in by if _field(record["config"], k) is _ABSENT]
        if absent:  # grouping by a field no record has would put every run in one group
            raise ValueError(f"by must name config fields; records[{i}] has no {absent}")
        group = tuple(_field(record["config"], k) for k in by)
        value = record["result"].get(metric)
        if value is not None:
            check_real(f"records[{i}]['result'][{metric!r}]", value)
        groups.setdefault(group, []).append(value)
    return {group: _present(values, metric)
            for group, values in sorted(groups.items(), key=lambda kv: _sort_key(kv[0]))}


def summarize(
    records: Iterable[dict], by: tuple[str, ...], metric: str = "test_accuracy"
) -> list[dict]:
    """Group records by config fields ``by``; mean, sem and count of ``metric`` per group.

    Diverged runs have no ``metric`` and are left out (count them with :func:`diverged`);
    so are missing values (None), and ``n`` counts the values present.
    """
    by, rows = _fields(by), []
    for group, values in _groups(records, by, metric).items():
        mean, sem, n = mean_sem(values)
        rows.append({**dict(zip(by, group)), "mean": mean, "sem": sem, "n": n})
    return rows


def p90(rows: Iterable[dict], level: float = 0.9, x: str = "P") -> float:
    """P_90: the smallest ``x`` where the mean curve reaches ``level``, interpolated in log x.

    ``rows`` are :func:`summarize` rows (any order, ``x`` > 0); the first point of the
    grid if it is already at ``level``, inf if no point reaches it. A point without a
    mean (NaN: no value) at or before the crossing makes P_90 unknown: ValueError.
    """
    level = check_float("level", level, 0.0, 1.0, low_open=True, high_open=False)
    points = []
    for i, row in enumerate(check_list("rows", rows)):
        if not (isinstance(row, Mapping) and x in row and "mean" in row):
            raise TypeError(f"rows[{i}] must be a dict with {x!r} and 'mean', got {row!r:.80}")
        where = check_float(f"rows[{i}][{x!r}]", row[x], 0.0, low_open=True)
        mean = math.nan if row["mean"] is None else check_real(f"rows[{i}]['mean']", row["mean"])
        points.append((where, mean))
    points.sort()
    for (x0, y0), (x1, y1) in zip([(math.nan, -math.inf)] + points, points):
        if math.isnan(y1):
            raise ValueError(f"rows: the mean at {x} = {x1:g} is missing (NaN), so whether "
                             f"the curve reaches {level} there, and P_90, are unknown")
        if y1 >= level:
            if math.isnan(x0) or y1 == y0:
                return float(x1)
            t = (level - y0) / (y1 - y0)
            return float(math.exp(math.log(x0) + t * (math.log(x1) - math.log(x0))))
    return math.inf


def capped(records: Iterable[dict], x: str = "P") -> list:
    """The ``x`` values where a finished run stopped at its cap, not by convergence.

    Such a run was still improving (or had not settled) when its budget ended: its mean
    there may be lower than training to convergence gives. Records without stage reports
    (computed before the convergence protocol) count as converged.
    """
    out = set()
    for record in finished(check_records("records", records)):
        stages = record["result"].get("stages") or []
        if any(stage.get("stopped") == "cap" for stage in stages):
            out.add(record["config"].get(x))
    return sorted(out)


def p90_interval(
    records: Iterable[dict], level: float = 0.9, x: str = "P", metric: str = "test_accuracy",
    n_boot: int = 1000, seed: int = 0,
) -> tuple[float, float, float]:
    """P_90 of ``records`` with a 68% bootstrap interval over seeds: ``(p90, low, high)``.

    Each resample redraws, at every ``x``, that point's runs (seeds) with replacement and
    recomputes :func:`p90`; ``low`` and ``high`` are the 16th and 84th percentiles of the
    resamples (the interval of one sem for a normal estimate; inf where resamples never
    reach ``level``). The interval always holds the estimate: it is widened to it where
    the percentiles alone would leave it out. Missing values are left out of each point
    (:func:`summarize`); a point without any value raises as in :func:`p90`.
    """
    n_boot = check_int("n_boot", n_boot, 1, 100_000)
    seed = check_int("seed", seed, 0, 2**63 - 1)
    groups = {g[0]: np.asarray(v, dtype=float)
              for g, v in _groups(records, _fields((x,)), metric).items()}
    if not groups:
        raise ValueError("records holds no finished records: p90_interval needs some")
    check_memory(f"p90_interval with n_boot={n_boot} over {sum(map(len, groups.values()))} runs",
                 8 * n_boot * max(1, sum(v.size for v in groups.values())))
    point = p90([{x: k, "mean": float(v.mean()) if v.size else math.nan}
                 for k, v in groups.items()], level, x)
    rng = np.random.default_rng(seed)
    means = {k: v[rng.integers(0, v.size, (n_boot, v.size))].mean(axis=1) if v.size
             else np.full(n_boot, math.nan) for k, v in groups.items()}
    boots = [p90([{x: k, "mean": float(m[b])} for k, m in means.items()], level, x)
             for b in range(n_boot)]
    low, high = np.quantile(boots, [0.16, 0.84], method="inverted_cdf")
    return point, min(float(low), point), max(float(high), point)


def p90_summary(records: Sequence[dict], level: float = 0.9, x: str = "P",
                metric: str = "test_accuracy") -> dict:
    """P_90 of sweep ``records`` with its 68% bootstrap interval over seeds, grid and seeds.

    Keys: ``p90``, ``low``, ``high`` (inf: not reached), ``grid`` (the ``x`` values, empty
    when every run diverged), ``seeds`` (runs per point, finished ones), ``diverged``
    (how many runs diverged), ``capped`` (the ``x`` values where a run stopped at its cap)
    and ``bound`` (True when such a point lies at or before the crossing: P_90 is then an
    upper bound). :func:`rhmlib.tables.p90_summary_text` writes it as text.
    """
    records = check_records("records", records)  # none: nothing to say, not "all diverged"
    rows = summarize(records, by=(x,), metric=metric)
    if finished(records):
        point, low, high = p90_interval(records, level, x, metric)
    else:
        point = low = high = math.inf
    at_cap = capped(records, x)
    return {"p90": point, "low": low, "high": high, "grid": [r[x] for r in rows],
            "seeds": [r["n"] for r in rows], "diverged": len(diverged(records)),
            "capped": at_cap,
            "bound": math.isfinite(point) and any(where <= point for where in at_cap)}


def best_row(records: Iterable[dict], metric: str = "test_accuracy", by: str = "lr") -> dict:
    """The :func:`summarize` row (of ``metric``) at the value of ``by`` chosen on validation.

    The one definition of a chosen setting (the learning rate by default; a width or a
    temperature likewise): the highest mean accuracy on the validation split, never on
    the test set; the row then reports ``metric`` (by default the test accuracy) at that
    value. A value at which any seed diverged is not eligible (a rate that blows up one
    run in three is no recipe), unless every value lost a seed; diverged runs never enter
    a mean. A value without any validation accuracy (its mean is NaN) is not eligible
    either. On a tie the smaller value wins.
    """
    records = check_records("records", records)
    unstable = {_field(r["config"], by) for r in diverged(records)} - {_ABSENT}
    eligible = [r for r in records if _field(r["config"], by) not in unstable] or records
    rows = [r for r in summarize(eligible, by=(by,), metric="val_accuracy")
            if not math.isnan(r["mean"])]
    if not rows:
        raise ValueError(f"records: no finished runs with a validation accuracy to choose "
                         f"{by} from")
    value = max(sorted(rows, key=lambda r: r[by]), key=lambda r: r["mean"])[by]
    return next(r for r in summarize(eligible, by=(by,), metric=metric) if r[by] == value)


def best_lr(records: Iterable[dict]) -> float:
    """The chosen learning rate of ``records`` (see :func:`best_row`)."""
    return best_row(records)["lr"]


def rank_correlation(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation of two equally long lists (ties get their mean rank)."""
    if len(xs) != len(ys) or len(xs) < 3:
        raise ValueError(f"xs and ys must have the same length >= 3, got {len(xs)}, {len(ys)}")

    def ranks(values: list[float]) -> np.ndarray:
        order = np.argsort(values, kind="stable")
        r = np.empty(len(values))
        r[order] = np.arange(len(values), dtype=float)
        for v in set(values):  # ties: the mean of their ranks
            idx = [i for i, w in enumerate(values) if w == v]
            r[idx] = r[idx].mean()
        return r

    return float(np.corrcoef(ranks(xs), ranks(ys))[0, 1])
