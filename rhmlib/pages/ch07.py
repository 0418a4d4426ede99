"""Chapter 07's page: is a local update that is closer to the global one a better one?"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go

from ..plots import panels, per_layer, scatter
from ..probes import live
from ..rhm import REFERENCE
from ..stats import mean_sem, rank_correlation
from ..sweeps import RESULTS_DIR, load_sweep
from ..sweeps.contrast import label, twin_points
from ..sweeps.variants import rule_label
from ..tables import Table, pm

__all__ = ["WIDE_ENOUGH", "family_of", "similarity_rows", "similarity_table", "twin_figure",
           "blend_rows", "blend_figure", "blend_table", "VARIANT_NAMES", "variant_rows",
           "variant_table", "twin_cosine_table", "twin_cosine_figure", "hebbian_check"]

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
        name = p["name"]  # a Variant: the series keeps its rule's colour
        series.setdefault(name.relabelled(family_of(p)), []).append((p["cosine"], p["test"]))
    return scatter(series, "cosine to the global twin's update", "test accuracy")


def _twin_records(root: Path) -> list[dict]:
    return [r for r in load_sweep("contrast_twins", root) if "result" in r]


def _grammar_of(config: dict) -> str:
    return f"m = {config['m']}, L = {config['L']}"


def blend_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """CLAPP and InfoNCE per grammar and blend: test accuracy (mean, sem, n) over seeds."""
    cells: dict[tuple[str, str, float], list[float]] = {}
    for record in _twin_records(root):
        c = record["config"]
        name = label(c)
        if name in ("CLAPP", "InfoNCE"):
            key = (name, _grammar_of(c), c["rule_options"].get("blend", 0.0))
            cells.setdefault(key, []).append(record["result"]["test_accuracy"])
    rows = []
    for (name, grammar, blend), values in sorted(cells.items()):
        mean, sem, n = mean_sem(values)
        rows.append({"name": name, "grammar": grammar, "blend": blend, "mean": mean,
                     "sem": sem, "n": n})
    return rows


def blend_figure(root: Path = RESULTS_DIR) -> go.Figure:
    """Test accuracy against the blend (0 local, 1 the twin), one panel per grammar."""
    groups: dict[str, dict[str, list[dict]]] = {}
    for r in blend_rows(root):
        groups.setdefault(r["grammar"], {}).setdefault(rule_label(r["name"].lower()), []).append(
            {"x": r["blend"], "mean": r["mean"], "sem": r["sem"], "n": r["n"]})
    return panels(groups, x="x", x_titles="blend: 0 local, 1 global twin", log_x=False,
                  chance=1 / 16)


def blend_table(root: Path = RESULTS_DIR) -> Table:
    """:func:`blend_rows` as a table: rule and grammar (rows) by blend (columns)."""
    out: dict[tuple[str, str], dict] = {}
    blends = sorted({r["blend"] for r in blend_rows(root)})
    for r in blend_rows(root):
        out.setdefault((r["name"], r["grammar"]), {"rule": r["name"], "grammar": r["grammar"]})[
            f"blend {r['blend']:g}"] = pm(r["mean"], r["sem"])
    return Table(list(out.values()), ["rule", "grammar", *(f"blend {b:g}" for b in blends)],
                 caption="Test accuracy at P = 2 P* (mean ± sem over 3 seeds): blend 0 is the "
                 "local rule, 1 its global twin")


VARIANT_NAMES = ("CLAPP", "CLAPP++ (position predictors)", "CLAPP++ (top context)",
                 "CLAPP++ (feedback context)")


def variant_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """CLAPP (local, no blend) and its CLAPP++ variants per grammar: test accuracy."""
    cells: dict[tuple[str, str], list[float]] = {}
    for record in _twin_records(root):
        c = record["config"]
        name = label(c)
        if name in VARIANT_NAMES and not c["rule_options"].get("blend"):
            cells.setdefault((name, _grammar_of(c)), []).append(record["result"]["test_accuracy"])
    return [{"name": name, "grammar": grammar, **dict(zip(("mean", "sem", "n"),
                                                          mean_sem(values), strict=True))}
            for (name, grammar), values in sorted(cells.items(),
                                                  key=lambda kv: VARIANT_NAMES.index(kv[0][0]))]


def variant_table(root: Path = RESULTS_DIR) -> Table:
    """:func:`variant_rows` as a table: variant (rows) by grammar (columns)."""
    rows = variant_rows(root)
    grammars = sorted({r["grammar"] for r in rows})
    out: dict[str, dict] = {}
    for r in rows:
        out.setdefault(r["name"], {"rule or variant": r["name"]})[r["grammar"]] = pm(
            r["mean"], r["sem"])
    return Table(list(out.values()), ["rule or variant", *grammars],
                 caption="Test accuracy at P = 2 P*, width 256, CLAPP's scanned rate (mean ± "
                 "sem over 3 seeds)")


def twin_cosine_table(rows: list[dict]) -> Table:
    """:func:`rhmlib.sweeps.local.local_global_cosines` rows, one column per layer."""
    n_layers = max(len(r["cosines"]) for r in rows)
    out = [{"rule": r["rule"], "global twin": f"global ({r['twin']})",
            "local steps": r["steps"],
            **{f"layer {k + 1}": f"{c:+.2f}" for k, c in enumerate(r["cosines"])}}
           for r in rows]
    return Table(out, ["rule", "global twin", "local steps",
                       *(f"layer {k + 1}" for k in range(n_layers))],
                 caption="cosine(local update, global update) per layer; 1: same direction")


def twin_cosine_figure(rows: list[dict], steps: int) -> go.Figure:
    """:func:`rhmlib.sweeps.local.local_global_cosines` rows after ``steps`` local steps as
    bars: one group per rule and layer, one bar per global twin."""
    after = {(r["rule"], r["twin"]): r["cosines"] for r in rows if r["steps"] == steps}
    if not after:
        raise ValueError(f"steps must be one of {sorted({r['steps'] for r in rows})}, "
                         f"got {steps!r}")
    rules = list(dict.fromkeys(rule for rule, _ in after))
    twins = list(dict.fromkeys(twin for _, twin in after))
    groups = [(rule, k) for rule in rules for k in range(len(after[(rule, twins[0])]))]
    return per_layer({f"global twin ({twin})": [after[(rule, twin)][k] for rule, k in groups]
                      for twin in twins},
                     y_title="cosine(local update, global update)", x_title="",
                     x_labels=[f"{rule}, layer {k + 1}" for rule, k in groups],
                     title=f"After {steps} local steps")


def hebbian_check(seed: int = 1, n_probe: int = 512) -> Table:
    """Explicit three-factor CLAPP update against autograd, every mode and score.

    ``gap`` is the largest entry of their difference over the largest entry of the
    update, over the self-supervised layers, on a fresh network of the reference setting
    (:func:`rhmlib.probes.live.hebbian_gaps`).
    """
    return Table(live.hebbian_gaps(seed, n_probe, grammar=REFERENCE),
                 caption="Explicit pre x post x third-factor update against autograd's "
                         "gradient of the local loss", digits=2)
