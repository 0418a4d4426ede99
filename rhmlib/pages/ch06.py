"""Chapter 06's page: data efficiency at convergence and capacity, across grammars."""

from __future__ import annotations

import math
from pathlib import Path

import plotly.graph_objects as go

from ..plots import accuracy_vs_P, interval_panels, panels
from ..probes import untrained
from ..rhm import REFERENCE
from ..stats import best_lr
from ..sweeps import RESULTS_DIR, load_sweep, local, one_reading
from ..sweeps import contrast as c
from ..tables import Table, pm

__all__ = ["AXES", "central_figures", "capacity_groups", "capacity_figure", "label_groups",
           "label_figure", "untrained_rows", "FAMILIES", "hierarchy_figures", "temperature_table",
           "KEEPS",
           "ratio_to_bp", "contrast_verdicts", "verdict_table", "label_verdicts",
           "separating_layers", "width_table", "p90_ratio_text", "scaling_table",
           "chosen_lr_table", "oracle_figure"]

AXES = ["depth L (m = 4)", "synonyms m (L = 3)"]
P90_TITLE = "P₉₀ / (n_c mᴸ)"


def central_figures(root: Path = RESULTS_DIR) -> tuple[go.Figure, go.Figure]:
    """``P_90 / P*`` against depth and synonyms at each rule's preferred width: backprop
    with the direct-feedback rules, and backprop with the self-supervised rules and their
    control (the readout on the untrained layers)."""
    groups = c.scaling_groups(c.scaling_rows(root))
    type1 = {axis: {n: rows for n, rows in curves.items() if n in c.TYPE1}
             for axis, curves in groups.items()}
    ssl = {axis: {n: rows for n, rows in curves.items() if n in ("BP", *c.SSL, c.CONTROL)}
           for axis, curves in groups.items()}
    return (interval_panels(type1, AXES, P90_TITLE), interval_panels(ssl, AXES, P90_TITLE))


def capacity_groups(root: Path = RESULTS_DIR) -> dict[str, dict[str, list[dict]]]:
    """CLAPP and InfoNCE at their headline width and at width 64, beside backprop."""
    widths = c.headline_widths(root)
    wide = c.scaling_groups(c.scaling_rows(root), ("BP", "CLAPP", "InfoNCE"))
    narrow = c.scaling_groups(c.scaling_rows(root, narrow=True), c.NARROW_RULES)
    out: dict[str, dict[str, list[dict]]] = {}
    for axis in wide:
        out[axis] = {(f"{n}, width {widths[n]}" if n != "BP" else n): rows
                     for n, rows in wide[axis].items()}
        out[axis].update({f"{n}, width 64": rows for n, rows in narrow[axis].items()})
    return out


def capacity_figure(root: Path = RESULTS_DIR) -> go.Figure:
    """:func:`capacity_groups` as the two panels of the central figure."""
    return interval_panels(capacity_groups(root), AXES, P90_TITLE)


def label_groups(root: Path = RESULTS_DIR) -> dict[str, dict[str, list[dict]]]:
    """Label-limited regime: test accuracy against labels, one panel per depth."""
    groups: dict[str, dict[str, list[dict]]] = {}
    for row in c.label_rows(root):
        name = row["name"] + ("" if row["name"] == "BP" else " + unlabelled")
        groups.setdefault(f"L = {row['L']}", {}).setdefault(name, []).append(
            {"x": row["ratio"], "mean": row["mean"], "sem": row["sem"], "n": row["n"]})
    return groups


def label_figure(root: Path = RESULTS_DIR) -> go.Figure:
    """:func:`label_groups` as panels of test accuracy against ``P / P*`` labels."""
    return panels(label_groups(root), x="x", x_titles="labels P / P*", chance=1 / 16)


def untrained_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """The hierarchy probes of the untrained networks of :func:`rhmlib.sweeps.contrast.hierarchy`.

    Per cell and width: the probes of the runs' networks at their initial weights (the
    same seeds), in the form of :func:`rhmlib.sweeps.contrast.hierarchy_rows`, named
    "untrained, width w".
    """
    configs: dict[tuple[int, int, int, int], list[dict]] = {}
    for record in load_sweep("hierarchy", root):
        cfg = record["config"]
        configs.setdefault((cfg["m"], cfg["L"], cfg["P"], cfg["width"]), []).append(cfg)
    rows = []
    for (m, L, P, width), cfgs in sorted(configs.items()):
        seeds = {cfg["seed"]: cfg for cfg in cfgs}  # one network per seed and width
        points = [untrained(cfg) for cfg in seeds.values()]
        rows.append({"name": f"untrained, width {width}", "width": width, "m": m, "L": L,
                     "P": P, **c.probe_means(points, L), "test": None, "n": len(points)})
    return rows


# The hierarchy figures show backprop with one family at a time, beside the untrained
# networks of the widths they run at: all five rules and three baselines are too many lines.
FAMILIES = {"direct feedback": ("BP", "FA", "DFA"), "self-supervised": ("BP", "CLAPP", "InfoNCE")}


def hierarchy_figures(root: Path = RESULTS_DIR) -> dict[tuple[str, str], go.Figure]:
    """Each layer's probe after training for backprop and each of :data:`FAMILIES`, one
    panel per cell, beside the untrained networks of the widths those rules run at: a
    figure per ``(measure, family)``, measures "sensitivity" and "own" (decoded own level).

    The runs are read, and the untrained networks probed, once for all four figures.
    """
    with one_reading():  # three readers of one sweep
        records = load_sweep("hierarchy", root)
        trained, untrained = c.hierarchy_rows(root), untrained_rows(root)
    figures = {}
    for family, names in FAMILIES.items():
        widths = {r["config"]["width"] for r in records if c.label(r["config"]) in names}
        rows = ([r for r in trained if r["name"] in names]
                + [r for r in untrained if r["width"] in widths])
        for measure, title in (("sensitivity", "synonymic sensitivity"),
                               ("own", "own level decoded")):
            figures[measure, family] = panels(
                c.hierarchy_groups(rows, measure), x="x", x_titles="layer", log_x=False,
                target=None, y_title=title, y_range=(0, 1.02))
    return figures


def temperature_table(root: Path = RESULTS_DIR) -> Table:
    """Validation accuracy per temperature of CLAPP and InfoNCE; ◀ the best."""
    rows = c.temperature_rows(root)
    out: dict[str, dict] = {}
    for r in rows:
        out.setdefault(r["name"], {"rule": r["name"]})[f"τ = {r['temperature']:g}"] = (
            pm(r["mean"], r["sem"]) + (" ◀" if r["chosen"] else ""))
    m, L = REFERENCE["m"], REFERENCE["L"]
    return Table(list(out.values()), ["rule", *(f"τ = {t:g}" for t in c.TEMPERATURES)],
                 caption=f"Grammar m = {m}, L = {L} at P = 2 P*, width {c.SCAN_WIDTH}: "
                 "validation accuracy (mean ± sem, seeds 0-2) per temperature of the score")


# A rule "keeps backprop's data efficiency" on a grammar when its P_90 is within this factor
# of backprop's (both at their preferred widths); beyond it, or never reaching 90 %, it
# loses it.
KEEPS = 2.0


def ratio_to_bp(row: dict, bp: dict) -> float:
    """``P_90`` of a :func:`rhmlib.sweeps.contrast.scaling_rows` row over backprop's (inf:
    never 90 %)."""
    return row["p90"] / bp["p90"]


def contrast_verdicts(rows: list[dict]) -> list[dict]:
    """Per grammar: does the best self-supervised rule keep backprop's data efficiency
    where the best direct-feedback rule loses it?

    ``rows`` are :func:`rhmlib.sweeps.contrast.scaling_rows`. Keys: ``m``, ``L``, ``bp``
    (backprop's ``P_90 / P*``), ``ssl`` and ``type1`` (the name and ratio to backprop of
    the best rule of each family), ``ssl_keeps`` and ``type1_keeps`` (ratio within
    :data:`KEEPS`) and ``verdict``: "holds" (self-supervision keeps it, direct feedback
    loses it), "both keep it", "both lose it" or "reversed".
    """
    cells = {(r["name"], r["m"], r["L"]): r for r in rows}
    out = []
    for m, L in sorted({(r["m"], r["L"]) for r in rows}, key=lambda g: (g[0] != 4, g)):
        if ("BP", m, L) not in cells:
            continue
        bp = cells[("BP", m, L)]
        best = {}
        for family, names in (("ssl", c.SSL), ("type1", ("FA", "DFA"))):
            ratios = {n: ratio_to_bp(cells[(n, m, L)], bp) for n in names if (n, m, L) in cells}
            if ratios:
                best[family] = min(ratios.items(), key=lambda kv: kv[1])
        if len(best) < 2:
            continue
        ssl_keeps, type1_keeps = best["ssl"][1] <= KEEPS, best["type1"][1] <= KEEPS
        verdict = {(True, False): "holds", (True, True): "both keep it",
                   (False, False): "both lose it", (False, True): "reversed"}[
            (ssl_keeps, type1_keeps)]
        out.append({"m": m, "L": L, "bp": bp["p90"], "ssl": best["ssl"],
                    "type1": best["type1"], "ssl_keeps": ssl_keeps,
                    "type1_keeps": type1_keeps, "verdict": verdict})
    return out


def verdict_table(rows: list[dict]) -> Table:
    """:func:`contrast_verdicts` as a table, one row per grammar."""
    def ratio(x: float) -> str:
        return "never 90 %" if x == float("inf") else f"{x:.2f}×"

    out = [{"grammar": f"m = {v['m']}, L = {v['L']}", "backprop P₉₀ / P*": f"{v['bp']:.2f}",
            "best self-supervised": f"{v['ssl'][0]}: {ratio(v['ssl'][1])}",
            "best direct feedback": f"{v['type1'][0]}: {ratio(v['type1'][1])}",
            "verdict": v["verdict"]} for v in contrast_verdicts(rows)]
    return Table(out, ["grammar", "backprop P₉₀ / P*", "best self-supervised",
                       "best direct feedback", "verdict"],
                 caption="Labels needed for 90 % test accuracy relative to backprop's, each rule "
                 f"at its preferred width, strict regime; a rule keeps backprop's data "
                 f"efficiency within a factor {KEEPS:g}")


def label_verdicts(rows: list[dict]) -> list[dict]:
    """Label-limited regime, per depth and number of labels: the best self-supervised rule
    with unlabelled inputs against backprop on the same labels.

    ``rows`` are :func:`rhmlib.sweeps.contrast.label_rows`. Keys: ``L``, ``ratio``
    (labels / P*), ``bp`` and ``ssl`` (the points; ``ssl`` the best rule's, with its
    ``name``) and ``verdict``: "ahead", "behind" (by more than twice the sem of the
    difference) or "level".
    """
    cells: dict[tuple[int, float], dict[str, dict]] = {}
    for r in rows:
        cells.setdefault((r["L"], r["ratio"]), {})[r["name"]] = r
    out = []
    for (L, ratio), named in sorted(cells.items()):
        if "BP" not in named or len(named) < 2:
            continue
        bp = named["BP"]
        ssl = max((r for n, r in named.items() if n != "BP"), key=lambda r: r["mean"])
        gap = ssl["mean"] - bp["mean"]
        noise = 2 * (ssl["sem"] ** 2 + bp["sem"] ** 2) ** 0.5
        out.append({"L": L, "ratio": ratio, "bp": bp, "ssl": ssl,
                    "verdict": "ahead" if gap > noise else "behind" if -gap > noise else "level"})
    return out


def separating_layers(rows: list[dict], measure: str = "sensitivity") -> list[dict]:
    """Per cell of the hierarchy probes and layer: does ``measure`` separate the direct-
    feedback rules (FA, DFA) from the self-supervised ones (CLAPP, InfoNCE)?

    ``rows`` are :func:`rhmlib.sweeps.contrast.hierarchy_rows`. Keys: ``m``, ``L``, ``P``,
    ``layer`` (1-based), ``type1`` and ``ssl`` (each family's mean of the rules' means),
    ``separates`` (every rule of one family beyond every rule of the other by more than
    twice the larger sem).
    """
    cells: dict[tuple[int, int, int], dict[str, dict]] = {}
    for r in rows:
        cells.setdefault((r["m"], r["L"], r["P"]), {})[r["name"]] = r
    out = []
    for (m, L, P), named in sorted(cells.items()):
        families = [[named[n][measure] for n in names if n in named]
                    for names in (("FA", "DFA"), ("CLAPP", "InfoNCE"))]
        if not all(families):
            continue
        for k in range(L):
            (a, b) = ([rule[k] for rule in fam] for fam in families)
            margin = 2 * max(sem for _, sem in a + b)
            low_a, high_a = min(m for m, _ in a), max(m for m, _ in a)
            low_b, high_b = min(m for m, _ in b), max(m for m, _ in b)
            out.append({"m": m, "L": L, "P": P, "layer": k + 1,
                        "type1": sum(m for m, _ in a) / len(a),
                        "ssl": sum(m for m, _ in b) / len(b),
                        "separates": low_a - high_b > margin or low_b - high_a > margin})
    return out


def width_table(root: Path = RESULTS_DIR) -> Table:
    """Test accuracy per rule (rows) and width (columns) at 2 P*, the preferred width marked."""
    preferred = c.preferred_widths(root)
    rows = c.width_rows(root)
    out: dict[str, dict] = {}
    for row in rows:
        mark = " ◀" if preferred[row["name"]] == row["width"] else ""
        out.setdefault(row["name"], {"rule": row["name"]})[f"width {row['width']}"] = (
            pm(row["test"], row["test_sem"]) + mark)
    m, L = c.WIDTH_GRAMMAR
    widths = sorted({r["width"] for r in rows})
    return Table(list(out.values()), ["rule", *(f"width {w}" for w in widths)],
                 caption=f"Grammar m = {m}, L = {L} at P = 2 P*: test accuracy (mean ± sem, "
                 f"seeds {c.SELECTION_SEEDS[0]}-{c.SELECTION_SEEDS[-1]}); ◀ the preferred width: "
                 "the narrowest within one standard error of the best validation accuracy. "
                 f"The curves run each rule at its preferred width up to {c.MAX_WIDTH}: a "
                 "rule that prefers more is shown narrower than it would like, and its "
                 "P₉₀ is an upper bound")


def p90_ratio_text(row: dict) -> str:
    """``P_90 / P*`` of a :func:`scaling_rows` row with its interval, or '> largest'."""
    if not math.isfinite(row["p90"]):
        return f"> {row['largest']:g}"
    if row["p90"] <= row["smallest"]:
        return f"≤ {row['smallest']:g}"
    if row["bound"]:
        return f"≤ {row['p90']:.2f}"
    high = "∞" if not math.isfinite(row["high"]) else f"{row['high']:.2f}"
    return f"{row['p90']:.2f} [{row['low']:.2f}, {high}]"


def scaling_table(rows: list[dict], names: tuple[str, ...] | None = None) -> Table:
    """``P_90 / P*`` [68% interval] per rule (rows) and grammar (columns)."""
    grammars = sorted({(r["m"], r["L"]) for r in rows}, key=lambda g: (g[0] != 4, g))
    order = names or tuple(dict.fromkeys(r["name"] for r in rows))
    cells = {(r["name"], r["m"], r["L"]): r for r in rows}
    columns = [f"m={m} L={L}" for m, L in grammars]
    out = [{"rule": name, **{col: p90_ratio_text(cells[(name, m, L)])
                             for col, (m, L) in zip(columns, grammars) if (name, m, L) in cells}}
           for name in order]
    return Table(out, ["rule", *columns], caption="P_90 / (n_c m^L) with its 68% bootstrap "
                 "interval over seeds; '> x': 90% not reached at the largest P tried; "
                 "'≤ x': an upper bound, 90% reached already at the smallest P tried, or "
                 "resting on a run stopped at its step cap while still improving; "
                 "'–': not run")


def chosen_lr_table(root: Path = RESULTS_DIR) -> Table:
    """The chosen lr of every scanned variant (rows) on every grammar (columns); '*' at a grid
    end. The type-1 rules' rates come from the direct-feedback chapter's per-grammar scan."""
    cells = c.scan_records(root)
    grammars = sorted({(m, L) for _, m, L in cells}, key=lambda g: (g[0] != 4, g))
    columns = [f"m={m} L={L}" for m, L in grammars]
    rows = []
    for name in (n for n in c.VARIANTS if any(key[0] == n for key in cells)):
        row: dict = {"rule or variant": name}
        for col, (m, L) in zip(columns, grammars):
            if (name, m, L) in cells:
                records = cells[(name, m, L)]
                lr, grid = best_lr(records), sorted({r["config"]["lr"] for r in records})
                row[col] = f"{lr:g}" + ("*" if lr in (grid[0], grid[-1]) else "")
        rows.append(row)
    return Table(rows, ["rule or variant", *columns], caption="Learning rate chosen on the "
                 "validation split at P = 2 P* (Adam); * the end of the rates scanned. Backprop's, "
                 "FA's and DFA's come from chapter 3's scan on each grammar")


def oracle_figure(root: Path = RESULTS_DIR) -> go.Figure:
    """The positive control: rules handed the generator's invariance, beside backprop."""
    bp_name, bp = local.bp_curve(root)
    oracle = local.curves(load_sweep("ssl_oracle", root))
    return accuracy_vs_P({bp_name: bp, **oracle}, chance=1 / 16)
