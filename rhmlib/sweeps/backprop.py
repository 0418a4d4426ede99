"""Sweeps of the chapter "Backprop learns the hierarchy", and readers of their records.

Definitions (``@sweep``) say which runs are computed; the functions after them only read
cached results (:func:`rhmlib.sweeps.load_sweep`) into rows of numbers. The chapter's
tables and figures are its page's (:mod:`rhmlib.pages.ch02`).
"""

from __future__ import annotations

from pathlib import Path

from ..rhm import p_star
from ..stats import best_lr, p90_summary, summarize
from .registry import REFERENCE, RESULTS_DIR, load_sweep, sweep

__all__ = ["BP_TRAINING", "SCALING_TRAINING", "BP_LRS", "SCALING_FACTORS", "scaling_lr",
           "NETWORKS", "reference_rows", "SCALING_M", "SCALING_L", "scaling_rows"]

# The convergence protocol of rhmlib.train; a diverged run is recorded, not retried.
BP_TRAINING = {"lr": 0.2, "width": 64, "retries": 0}
# Scaling sweeps: the rate tuned per grammar on BP_LRS.
SCALING_TRAINING = BP_TRAINING
BP_LRS = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
# The scans choose on seeds 0-1 (and the recipe's rate on seeds 0-2, in the direct-feedback
# chapter); the curves the chapter reports run on other seeds.
SCAN_SEEDS = range(2)
REFERENCE_SEEDS, FCN_SEEDS, SCALING_SEEDS = range(10, 20), range(10, 15), range(10, 14)


def scaling_lr(m: int, L: int) -> float:
    """The learning rate of ``bp_lr_scan`` chosen on the validation split at P = P*."""
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
        for seed in REFERENCE_SEEDS
    ]


@sweep
def fcn_reference() -> list[dict]:
    """BP on the shallow fully connected network, reference setting, 5 seeds."""
    return [
        {**REFERENCE, "P": P, "rule": "bp", "seed": seed, "model": "fcn",
         **BP_TRAINING, "width": 256}
        for P in (500, 1000, 2000, 4000, 8000, 16000, 32000)
        for seed in FCN_SEEDS
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
        for seed in SCALING_SEEDS
    ]


@sweep
def bp_scaling_L() -> list[dict]:
    """BP at m=4, v=n_c=16, L=3,4 (L=2 has only 1,024 inputs), P in units of P*, 4 seeds."""
    return [
        {**REFERENCE, "L": L, "P": round(f * p_star(REFERENCE["n_c"], 4, L)), "rule": "bp",
         "seed": seed, "n_test": 2000, **SCALING_TRAINING, "lr": scaling_lr(4, L)}
        for L in (3, 4)
        for f in SCALING_FACTORS
        for seed in SCALING_SEEDS
    ]


@sweep
def bp_lr_scan() -> list[dict]:
    """Learning-rate scan of BP at P = P* for every grammar of the scaling sweeps, 2 seeds."""
    return [
        {**REFERENCE, "m": m, "L": L, "P": p_star(REFERENCE["n_c"], m, L), "rule": "bp",
         "seed": seed, "n_test": 2000, **SCALING_TRAINING, "lr": lr}
        for m, L in ((3, 3), (4, 3), (6, 3), (8, 3), (4, 4))
        for lr in BP_LRS
        for seed in SCAN_SEEDS
    ]


# -- readers: records into rows of numbers (cached results only) ----------------------------

NETWORKS = {"bp_reference": "hierarchical CNN", "fcn_reference": "shallow fully connected"}


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


SCALING_M, SCALING_L = (3, 4, 6, 8), (3, 4)


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
