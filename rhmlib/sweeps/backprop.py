"""Sweeps of the chapter "Backprop learns the hierarchy"."""

from __future__ import annotations

from . import REFERENCE, sweep

BP_TRAINING = {"steps": 2000, "lr": 0.2, "width": 64}


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
    """BP at L=3, v=n_c=16 for several m, P in units of P* = n_c m^L, 4 seeds."""
    return [
        {**REFERENCE, "m": m, "P": round(f * 16 * m**3), "rule": "bp", "seed": seed,
         "n_test": 2000, **BP_TRAINING}
        for m in (3, 4, 6, 8)
        for f in SCALING_FACTORS
        for seed in range(4)
    ]


@sweep
def bp_scaling_L() -> list[dict]:
    """BP at m=4, v=n_c=16 for L=2,3,4, P in units of P* = n_c m^L, 4 seeds."""
    return [
        {**REFERENCE, "L": L, "P": round(f * 16 * 4**L), "rule": "bp", "seed": seed,
         "n_test": 2000, **BP_TRAINING}
        for L in (2, 3, 4)
        for f in SCALING_FACTORS
        for seed in range(4)
    ]
