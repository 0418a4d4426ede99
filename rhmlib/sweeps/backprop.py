"""Sweeps of the chapter "Backprop learns the hierarchy", and the tables the chapter shows.

Definitions (``@sweep``) say which runs are computed; the functions after them only read
cached results (:func:`rhmlib.sweeps.load_sweep`) and turn them into curves and
:class:`rhmlib.tables.Table` s.
"""

from __future__ import annotations

import functools
from pathlib import Path

from ..rhm import n_inputs, p_star
from ..stats import best_lr, p90_summary, summarize
from ..tables import Table, p90_summary_text, pm, range_text, ratio_interval_text, settings
from . import REFERENCE, RESULTS_DIR, load_sweep, sweep

__all__ = ["BP_TRAINING", "SCALING_TRAINING", "BP_LRS", "SCALING_FACTORS", "scaling_lr",
           "settings_table", "reference_curves", "reference_rows",
           "reference_table", "lr_scan_curves", "lr_scan_table", "scaling_curves",
           "scaling_rows", "scaling_table"]

# The convergence protocol of rhmlib.train; a diverged run is recorded, not retried.
BP_TRAINING = {"lr": 0.2, "width": 64, "retries": 0}
# Scaling sweeps: the rate tuned per grammar on BP_LRS.
SCALING_TRAINING = BP_TRAINING
BP_LRS = (0.05, 0.1, 0.2, 0.3)


@functools.cache  # the scan is read once, not once per config
def scaling_lr(m: int, L: int) -> float:
    """The learning rate of ``bp_lr_scan`` with the best mean test accuracy at P = P*."""
    records = [r for r in load_sweep("bp_lr_scan")
               if (r["config"]["m"], r["config"]["L"]) == (m, L)]
    if not records:
        raise ValueError(f"bp_lr_scan has no grammar with m={m}, L={L}")
    return best_lr(records)


@sweep
def bp_reference() -> list[dict]:
    """BP on the hierarchical CNN, reference setting, 10 seeds."""
    return [
        {**REFERENCE, "P": P, "rule": "bp", "seed": seed, **BP_TRAINING}
        for P in (250, 500, 750, 1000, 1250, 1500, 2000, 3000, 4000, 8000)
        for seed in range(10)
    ]


@sweep
def fcn_reference() -> list[dict]:
    """BP on the shallow fully connected network, reference setting, 5 seeds."""
    return [
        {**REFERENCE, "P": P, "rule": "bp", "seed": seed, "model": "fcn",
         **BP_TRAINING, "width": 256}
        for P in (500, 1000, 2000, 4000, 8000, 16000, 32000)
        for seed in range(5)
    ]


SCALING_FACTORS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0)


@sweep
def bp_scaling_m() -> list[dict]:
    """BP at L=3, v=n_c=16 for several m, P in units of P* = n_c m^L, 4 seeds, tuned lr."""
    return [
        {**REFERENCE, "m": m, "P": round(f * p_star(REFERENCE["n_c"], m, 3)), "rule": "bp",
         "seed": seed, "n_test": 2000, **SCALING_TRAINING, "lr": scaling_lr(m, 3)}
        for m in (3, 4, 6, 8)
        for f in SCALING_FACTORS
        for seed in range(4)
    ]


@sweep
def bp_scaling_L() -> list[dict]:
    """BP at m=4, v=n_c=16, L=3,4 (L=2 has only 1,024 inputs), P in units of P*, 4 seeds."""
    return [
        {**REFERENCE, "L": L, "P": round(f * p_star(REFERENCE["n_c"], 4, L)), "rule": "bp",
         "seed": seed, "n_test": 2000, **SCALING_TRAINING, "lr": scaling_lr(4, L)}
        for L in (3, 4)
        for f in SCALING_FACTORS
        for seed in range(4)
    ]


@sweep
def bp_lr_scan() -> list[dict]:
    """Learning-rate scan of BP at P = P* for every grammar of the scaling sweeps, 2 seeds."""
    return [
        {**REFERENCE, "m": m, "L": L, "P": p_star(REFERENCE["n_c"], m, L), "rule": "bp",
         "seed": seed, "n_test": 2000, **SCALING_TRAINING, "lr": lr}
        for m, L in ((3, 3), (4, 3), (6, 3), (8, 3), (4, 4))
        for lr in BP_LRS
        for seed in range(2)
    ]


# -- analysis: what the chapter shows (cached results only) ---------------------------------

NETWORKS = {"bp_reference": "hierarchical CNN", "fcn_reference": "shallow fully connected"}


def settings_table() -> Table:
    """The training settings of ``bp_reference`` and ``fcn_reference`` (their configs)."""
    return settings(bp_reference() + fcn_reference(), by=("model",),
                    caption="Training settings of the reference runs (bp_reference, "
                            "fcn_reference); cnn: the hierarchical CNN, fcn: the shallow one")


def reference_curves(root: Path = RESULTS_DIR) -> dict[str, list[dict]]:
    """Test accuracy against P of the CNN and the shallow network, seeds in the names."""
    out = {}
    for name, network in NETWORKS.items():
        rows = summarize(load_sweep(name, root), by=("P",))
        out[f"{network} ({max(r['n'] for r in rows)} seeds)"] = rows
    return out


def reference_rows(root: Path = RESULTS_DIR, at: int = 4000) -> list[dict]:
    """Per network: its width, P_90 with interval (``p90_summary``) and accuracy at ``at``."""
    scale = p_star(REFERENCE["n_c"], REFERENCE["m"], REFERENCE["L"])
    rows = []
    for name, network in NETWORKS.items():
        records = load_sweep(name, root)
        point = next(r for r in summarize(records, by=("P",)) if r["P"] == at)
        rows.append({"network": network, "width": records[0]["config"]["width"],
                     **p90_summary(records), "p_star": scale, "at": point})
    return rows


def reference_table(root: Path = RESULTS_DIR, at: int = 4000) -> Table:
    """P_90 of the CNN and the shallow network on the reference grammar, with intervals."""
    rows = reference_rows(root, at)
    total, cnn = n_inputs(**{k: REFERENCE[k] for k in ("n_c", "m", "s", "L")}), rows[0]["p90"]
    out = [{"network": r["network"], "width": r["width"], "seeds": range_text(r["seeds"]),
            "P_90 [68% interval]": p90_summary_text(r), "P_90 / P*": r["p90"] / r["p_star"],
            "P_90 / CNN's": r["p90"] / cnn, "P_90 / all inputs": f"{r['p90'] / total:.1%}",
            f"accuracy at P = {at:,}": pm(r["at"]["mean"], r["at"]["sem"])} for r in rows]
    return Table(out, caption=f"P_90: the smallest P with mean test accuracy >= 90% "
                              f"(P* = {rows[0]['p_star']:,}; {total:,} distinct inputs)")


def lr_scan_curves(root: Path = RESULTS_DIR) -> dict[str, list[dict]]:
    """Per grammar of ``bp_lr_scan`` (named ``m=4, L=3``): validation accuracy against the lr.

    The validation split is what chooses the learning rate (:func:`stats.best_lr`).
    """
    scan = summarize(load_sweep("bp_lr_scan", root), by=("m", "L", "lr"), metric="val_accuracy")
    return {f"m={m}, L={L}": [r for r in scan if (r["m"], r["L"]) == (m, L)]
            for m, L in sorted({(r["m"], r["L"]) for r in scan})}


def lr_scan_table(root: Path = RESULTS_DIR) -> Table:
    """The learning-rate scan at P = P*: accuracy per lr and grammar, and the lr chosen."""
    out = []
    for name, rows in lr_scan_curves(root).items():
        m, L = rows[0]["m"], rows[0]["L"]
        out.append({"grammar": name, "P = P*": f"{p_star(REFERENCE['n_c'], m, L):,}",
                    **{f"lr {r['lr']:g}": pm(r["mean"], r["sem"]) for r in rows},
                    "chosen lr": scaling_lr(m, L), "seeds": range_text(r["n"] for r in rows)})
    return Table(out, caption="Validation accuracy at P = P* against the learning rate "
                              "(mean ± sem); each grammar's scaling runs use the lr it chooses")


SCALING_M, SCALING_L = (3, 4, 6, 8), (3, 4)


def scaling_curves(root: Path = RESULTS_DIR) -> tuple[dict[str, list[dict]], dict[str, int]]:
    """Curves of the scaling sweeps (``m=3`` ... at L = 3, ``L=3, m=4`` ...) and each P*."""
    n_c = REFERENCE["n_c"]
    by_m = summarize(load_sweep("bp_scaling_m", root), by=("m", "P"))
    by_L = summarize(load_sweep("bp_scaling_L", root), by=("L", "P"))
    curves = {**{f"m={m}": [r for r in by_m if r["m"] == m] for m in SCALING_M},
              **{f"L={L}, m=4": [r for r in by_L if r["L"] == L] for L in SCALING_L}}
    p_stars = {**{f"m={m}": p_star(n_c, m, 3) for m in SCALING_M},
               **{f"L={L}, m=4": p_star(n_c, 4, L) for L in SCALING_L}}
    return curves, p_stars


def scaling_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """Per grammar of the scaling sweeps: family, P*, P_90 with interval, P_90 / P*."""
    rows = []
    for family, name, key, values in (("m", "bp_scaling_m", "m", SCALING_M),
                                      ("L", "bp_scaling_L", "L", SCALING_L)):
        records = load_sweep(name, root)
        for value in values:
            mine = [r for r in records if r["config"][key] == value]
            m, L = mine[0]["config"]["m"], mine[0]["config"]["L"]
            scale = p_star(REFERENCE["n_c"], m, L)
            summary = p90_summary(mine)
            rows.append({"family": family, "m": m, "L": L, "p_star": scale, **summary,
                         "ratio": summary["p90"] / scale, "ratio_low": summary["low"] / scale,
                         "ratio_high": summary["high"] / scale})
    return rows


def scaling_table(root: Path = RESULTS_DIR) -> Table:
    """P_90 / P* per grammar of the scaling sweeps, with intervals; the caption: each spread."""
    rows = scaling_rows(root)
    spreads = []
    for family, label in (("m", "m at L = 3"), ("L", "L at m = 4")):
        mine = [r for r in rows if r["family"] == family]
        spread_p = max(r["p_star"] for r in mine) / min(r["p_star"] for r in mine)
        spread_r = max(r["ratio"] for r in mine) / min(r["ratio"] for r in mine)
        spreads.append(f"{label}: P* varies {spread_p:.0f}-fold, P_90 / P* {spread_r:.1f}-fold")
    family = {"m": "m, at L = 3", "L": "L, at m = 4"}
    out = [{"varied": family[r["family"]], "m": r["m"], "L": r["L"], "P*": f"{r['p_star']:,}",
            "seeds": range_text(r["seeds"]),
            "P_90 [68% interval]": p90_summary_text(r),
            "P_90 / P* [interval]": ratio_interval_text(r["p90"], r["low"], r["high"],
                                                         r["p_star"], r["grid"])} for r in rows]
    return Table(out, caption="; ".join(spreads))
