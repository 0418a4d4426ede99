"""Sweeps of the chapter "Backprop learns the hierarchy"."""

from __future__ import annotations

import functools

from . import REFERENCE, load_sweep, sweep
from .stats import best_lr, p_star

BP_TRAINING = {"steps": 2000, "lr": 0.2, "width": 64}
# Scaling sweeps: a cosine-decaying lr (a constant one left large-P runs noisy, and
# lr 0.4 collapsed some seeds), tuned per grammar on this grid.
SCALING_TRAINING = {**BP_TRAINING, "schedule": "cosine"}
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
