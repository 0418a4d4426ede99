"""Chapter 07's page: is a local update that is closer to the global one a better one?"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go

from ..plots import scatter
from ..stats import rank_correlation
from ..sweeps import RESULTS_DIR
from ..sweeps.contrast import twin_points
from ..tables import Table

__all__ = ["WIDE_ENOUGH", "family_of", "similarity_rows", "similarity_table", "twin_figure"]

# The test can decide only if the cosines to the global update spread over most of [0, 1].
WIDE_ENOUGH = 0.5


def family_of(point: dict) -> str:
    """The group a twin-probe point belongs to: a blended rule, or a CLAPP++ variant."""
    if point["name"] in ("CLAPP", "InfoNCE"):
        return f"{point['name']}, blended with its twin"
    return point["name"]


def _rho(points: Sequence[dict]) -> float:
    """Spearman's rank correlation of cosine and test accuracy; NaN below 3 points."""
    if len(points) < 3:
        return math.nan
    return rank_correlation([p["cosine"] for p in points], [p["test"] for p in points])


def _grammar(point: dict) -> str:
    """Where a point was measured: its data set's name, or its grammar."""
    return point.get("data") or f"m = {point['m']}, L = {point['L']}"


def similarity_rows(points: Sequence[dict]) -> list[dict]:
    """Per grammar or data set (and all together): ρ(cosine, accuracy), over all runs and
    without each family, with the range of cosines and whether it is wide enough to decide."""
    grammars = sorted({_grammar(p) for p in points})
    families = sorted({family_of(p) for p in points})
    rows = []
    for where in [*grammars, None] if len(grammars) > 1 else grammars:
        mine = [p for p in points if where is None or _grammar(p) == where]
        cosines = [p["cosine"] for p in mine]
        rows.append({"grammar": "all" if where is None else where,
                     "n": len(mine), "low": min(cosines), "high": max(cosines),
                     "decides": max(cosines) - min(cosines) >= WIDE_ENOUGH,
                     "rho": _rho(mine),
                     "without": {f: _rho([p for p in mine if family_of(p) != f])
                                 for f in families}})
    return rows


def similarity_table(root: Path = RESULTS_DIR) -> Table:
    """:func:`similarity_rows` of the cached twin-probe runs as a table."""
    rows = similarity_rows(twin_points(root))
    families = list(rows[0]["without"])
    out = [{"grammar": r["grammar"], "runs": r["n"],
            "cosines": f"{r['low']:.2f} to {r['high']:.2f}", "ρ (all runs)": f"{r['rho']:+.2f}",
            **{f"ρ without {f}": f"{r['without'][f]:+.2f}" for f in families}}
           for r in rows]
    return Table(out, ["grammar", "runs", "cosines", "ρ (all runs)",
                       *(f"ρ without {f}" for f in families)],
                 caption="Spearman's ρ between a run's mean cosine to its global twin's update "
                 "(layers below the top self-supervised one) and its test accuracy, over all "
                 "runs and leaving out one family of runs at a time")


def twin_figure(root: Path = RESULTS_DIR) -> go.Figure:
    """Test accuracy against the cosine to the global twin's update, one series a family."""
    series: dict[str, list[tuple[float, float]]] = {}
    for p in twin_points(root):
        series.setdefault(family_of(p), []).append((p["cosine"], p["test"]))
    return scatter(series, "cosine to the global twin's update", "test accuracy")
