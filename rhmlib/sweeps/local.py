"""Sweeps of the chapters "Self-supervised local rules", "Data efficiency" and
"Local versus global".

Every self-supervised run uses the same budget (:data:`SSL_TRAINING`): the
self-supervised stage and then the labelled readout stage, each with the number of
steps given there, at the same width. Backprop's reference curve is the sweep
``bp_reference`` of :mod:`rhmlib.sweeps.backprop`. Regenerate with::

    python -m rhmlib.sweeps ssl_best ssl_rules ssl_global ssl_oracle ssl_semi ssl_variants \
        ssl_width ssl_scan --jobs 1

About 250 runs, 8 to 14 s each on one core (about 45 core-minutes).
"""

from __future__ import annotations

import functools

from . import REFERENCE, sweep
from .cache import resolve
from .stats import summarize

__all__ = ["SSL_TRAINING", "READOUT", "LABELS", "P_GRID", "label", "ssl_config", "curves"]

# Our choices, from a short scan (see the chapter): Adam with decoupled weight decay for
# the self-supervised stage, Adam for the readout on frozen features.
SSL_TRAINING = {"width": 64, "steps": 1000, "optimizer": "adam", "lr": 2e-2,
                "weight_decay": 1e-2, "eval_points": 4}
READOUT = {"readout_optimizer": "adam", "readout_lr": 3e-3, "readout_steps": 1000}
# Sized to about an hour of one core: 10 seeds on the best local rule's grid, 3 seeds and
# fewer points for the others.
P_GRID = (500, 1000, 1500, 2000, 3000)
P_SHORT = (1000, 2000, 4000)
P_GLOBAL = (2000, 4000)
P_FEW = (250, 500, 1000)
SEEDS_BEST, SEEDS = range(10), range(3)
UNLABELLED = 8000

# Curve label -> (rule, rule options beyond READOUT). Oracle views use the generator.
LABELS: dict[str, tuple[str, dict]] = {
    "CLAPP (local)": ("clapp", {}),
    "InfoNCE (local)": ("infonce", {}),
    "VICReg (local)": ("vicreg", {}),
    "Forward-Forward (local)": ("ff", {}),
    "CLAPP (global, top)": ("clapp_global", {}),
    "InfoNCE (global, top)": ("infonce_global", {}),
    "VICReg (global, top)": ("vicreg_global", {}),
    "Forward-Forward (global, top)": ("ff_global", {}),
    "CLAPP (global, sum)": ("clapp", {"locality": "sum"}),
    "CLAPP, alternate +/-": ("clapp", {"mode": "alternate"}),
    "CLAPP, linear readout only": ("clapp", {"readout": "linear"}),
    "CLAPP, oracle views (uses the generator)": ("clapp", {"pairs": "oracle"}),
    "VICReg, oracle views (uses the generator)": ("vicreg", {"pairs": "oracle"}),
    f"CLAPP, semi-supervised (+{UNLABELLED} unlabelled)": ("clapp", {"unlabelled": UNLABELLED}),
}


def ssl_config(name: str, P: int, seed: int, **changes: object) -> dict:
    """The run config of curve ``name`` at ``P`` training points and ``seed``."""
    if name not in LABELS:
        raise ValueError(f"name must be one of {sorted(LABELS)}, got {name!r}")
    rule, options = LABELS[name]
    return {**REFERENCE, "P": P, "rule": rule, "seed": seed, **SSL_TRAINING,
            "rule_options": {**READOUT, **options}, **changes}


def label(config: dict) -> str:
    """The curve label of a run config or a record's (inverse of :func:`ssl_config`)."""
    full = resolve(config)
    for name in LABELS:
        if _variant(name) == (full["rule"], full["rule_options"]):
            return name
    raise ValueError(f"config is not one of the LABELS: {config['rule']!r}")


@functools.cache
def _variant(name: str) -> tuple[str, dict]:
    """The rule and resolved rule options of curve ``name``."""
    full = resolve(ssl_config(name, P_GRID[0], 0))
    return full["rule"], full["rule_options"]


def curves(records: list[dict]) -> dict[str, list[dict]]:
    """Mean, sem and count per P of each curve label in ``records``, with seeds in names."""
    by_label: dict[str, list[dict]] = {}
    for record in records:
        by_label.setdefault(label(record["config"]), []).append(record)
    out = {}
    for name in LABELS:  # the book's order
        if name in by_label:
            rows = summarize(by_label[name], by=("P",))
            out[f"{name}, {max(r['n'] for r in rows)} seeds"] = rows
    return out


def _curves(names: list[str], grid: tuple[int, ...], seeds: range,
            best: str | None = None) -> list[dict]:
    """Configs of ``names`` on ``grid``; the family's ``best`` curve gets 10 seeds."""
    return [ssl_config(name, P, seed) for name in names for P in grid
            for seed in (SEEDS_BEST if name == best else seeds)]


@sweep
def ssl_best() -> list[dict]:
    """Local CLAPP on sibling pairs, the best local rule of our scan: 10 seeds."""
    return _curves(["CLAPP (local)"], P_GRID, SEEDS_BEST)


@sweep
def ssl_rules() -> list[dict]:
    """The other local rules on sibling pairs: InfoNCE, VICReg, Forward-Forward, 3 seeds."""
    return _curves(["InfoNCE (local)", "VICReg (local)", "Forward-Forward (local)"],
                   P_SHORT, SEEDS)


@sweep
def ssl_global() -> list[dict]:
    """Global twins (top-layer loss, end to end) and CLAPP's summed global loss, 3 seeds.

    CLAPP (global, sum), the best of these on 3 seeds, has 10.
    """
    names = [n for n in LABELS if "global" in n]
    return _curves(names, P_GLOBAL, SEEDS, best="CLAPP (global, sum)")


@sweep
def ssl_oracle() -> list[dict]:
    """Oracle views (synonyms redrawn by the generator) for CLAPP and VICReg, 3 seeds.

    CLAPP with oracle views, the better of the two on 3 seeds, has 10.
    """
    return _curves([n for n in LABELS if "oracle" in n], P_FEW, SEEDS,
                   best="CLAPP, oracle views (uses the generator)")


@sweep
def ssl_semi() -> list[dict]:
    """CLAPP on sibling pairs with many unlabelled inputs, few labels, 3 seeds."""
    return _curves([n for n in LABELS if "semi" in n], P_FEW, SEEDS)


@sweep
def ssl_variants() -> list[dict]:
    """CLAPP's alternate-sign mode and the linear-only readout, 3 seeds."""
    return _curves(["CLAPP, alternate +/-", "CLAPP, linear readout only"], P_GLOBAL, SEEDS)


@sweep
def ssl_width() -> list[dict]:
    """Local CLAPP and backprop at widths 32 and 128, P = 2000, 3 seeds (width 64 is above)."""
    from .backprop import BP_TRAINING

    out = [ssl_config("CLAPP (local)", 2000, seed, width=width)
           for width in (32, 128) for seed in SEEDS]
    out += [{**REFERENCE, "P": 2000, "rule": "bp", "seed": seed, **BP_TRAINING, "width": width}
            for width in (32, 128) for seed in SEEDS]
    return out


@sweep
def ssl_scan() -> list[dict]:
    """The scan behind our budget choice, at P = 1500 (CLAPP) and 2000 (others), 2 seeds.

    CLAPP: learning rate at temperature 0.25, and temperature at learning rate 0.02.
    InfoNCE, VICReg, Forward-Forward: learning rate 0.003 against the chosen 0.02.
    """
    out = [ssl_config("CLAPP (local)", 1500, seed, lr=lr)
           for lr in (3e-3, 1e-2, 2e-2, 5e-2) for seed in range(2)]
    out += [{**ssl_config("CLAPP (local)", 1500, seed),
             "rule_options": {**READOUT, "temperature": tau}}
            for tau in (0.15, 0.5) for seed in range(2)]
    out += [ssl_config(name, 2000, seed, lr=lr)
            for name in ("InfoNCE (local)", "VICReg (local)", "Forward-Forward (local)")
            for lr in (3e-3, 2e-2) for seed in range(2)]
    return out
