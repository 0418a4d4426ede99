"""Sweeps and readers of the self-supervised chapters: the oracle-views control.

Every self-supervised run trains under the same convergence protocol
(:mod:`rhmlib.train`, settings :data:`SSL_TRAINING`): the self-supervised stage and then
the labelled readout stage, each until its validation score stops improving. The
central comparison of the self-supervised rules is :mod:`rhmlib.sweeps.contrast`'s; here
is the positive control that hands a rule the generator's invariance (``ssl_oracle``),
beside backprop's reference curve (``bp_reference`` of :mod:`rhmlib.sweeps.backprop`).
Regenerate with::

    python -m rhmlib.sweeps ssl_oracle --jobs 2
"""

from __future__ import annotations

from pathlib import Path

from ..probes import live
from ..stats import summarize
from .registry import REFERENCE, RESULTS_DIR, load_sweep, sweep
from .variants import Variant, config_of, label_of, rule_label, variants

__all__ = ["SSL_TRAINING", "READOUT", "LABELS", "P_FEW", "label", "ssl_config", "curves",
           "ssl_oracle", "SSL_RULES", "bp_curve", "local_global_cosines"]

# Our choices, from a short scan (see the chapter): Adam with decoupled weight decay for
# the self-supervised stage, Adam for the readout on frozen features.
SSL_TRAINING = {"width": 64, "lr": 0.02, "optimizer": "adam", "weight_decay": 1e-2,
                "retries": 0}
READOUT = {"readout_optimizer": "adam", "readout_lr": 3e-3}
# The control's grid, 10 seeds for the better of its two rules and 3 for the other, none
# of them seeds that chose a recipe (0-2).
P_FEW = (250, 500, 1000)
SEEDS_BEST, SEEDS = range(10, 20), range(10, 13)
UNLABELLED = 8000

# The curves: rule and options beyond READOUT. Oracle views use the generator.
LABELS = variants(
    Variant("CLAPP (local)", "clapp"), Variant("InfoNCE (local)", "infonce"),
    Variant("VICReg (local)", "vicreg"), Variant("Forward-Forward (local)", "ff"),
    Variant("CLAPP (global, top)", "clapp_global"),
    Variant("InfoNCE (global, top)", "infonce_global"),
    Variant("VICReg (global, top)", "vicreg_global"),
    Variant("Forward-Forward (global, top)", "ff_global"),
    Variant("CLAPP (global, sum)", "clapp", {"locality": "sum"}),
    Variant("CLAPP, alternate +/-", "clapp", {"mode": "alternate"}),
    Variant("CLAPP, linear readout only", "clapp", {"readout": "linear"}),
    Variant("CLAPP, oracle views (uses the generator)", "clapp", {"pairs": "oracle"}),
    Variant("VICReg, oracle views (uses the generator)", "vicreg", {"pairs": "oracle"}),
    Variant(f"CLAPP, semi-supervised (+{UNLABELLED} unlabelled)", "clapp",
            {"unlabelled": UNLABELLED}),
)


def ssl_config(name: str, P: int, seed: int, **changes: object) -> dict:
    """The run config of curve ``name`` at ``P`` training points and ``seed``."""
    if name not in LABELS:
        raise ValueError(f"name must be one of {sorted(LABELS)}, got {name!r}")
    return {**REFERENCE, "P": P, **config_of(LABELS[name], READOUT), "seed": seed,
            **SSL_TRAINING, **changes}


def label(config: dict) -> Variant:
    """The variant (a str: its label) of a run config or a record's (see :func:`ssl_config`)."""
    return label_of(config, LABELS.values(), READOUT)


def curves(records: list[dict]) -> dict[str, list[dict]]:
    """Mean, sem and count per P of each curve label in ``records``, with seeds in names."""
    by_label: dict[str, list[dict]] = {}
    for record in records:
        by_label.setdefault(label(record["config"]), []).append(record)
    out = {}
    for name in LABELS:  # the book's order
        if name in by_label:
            rows = summarize(by_label[name], by=("P",))
            out[LABELS[name].relabelled(f"{name}, {max(r['n'] for r in rows)} seeds")] = rows
    return out


def _curves(names: list[str], grid: tuple[int, ...], seeds: range,
            best: str | None = None) -> list[dict]:
    """Configs of ``names`` on ``grid``; the family's ``best`` curve gets 10 seeds."""
    return [ssl_config(name, P, seed) for name in names for P in grid
            for seed in (SEEDS_BEST if name == best else seeds)]


@sweep
def ssl_oracle() -> list[dict]:
    """Oracle views (synonyms redrawn by the generator) for CLAPP and VICReg, 3 seeds.

    CLAPP with oracle views, the better of the two on 3 seeds, has 10.
    """
    return _curves([n for n in LABELS if "oracle" in n], P_FEW, SEEDS,
                   best="CLAPP, oracle views (uses the generator)")


# -- analysis: what the chapters show (cached results, or short live measurements) ----------

# The family of each sweep's curves, in the P_90 table.
SSL_RULES = ("clapp", "infonce", "vicreg", "ff")  # the self-supervised rules, in the book's order


def bp_curve(root: Path = RESULTS_DIR) -> tuple[str, list[dict]]:
    """Backprop's reference curve (``bp_reference``) and its name with the number of seeds."""
    rows = summarize(load_sweep("bp_reference", root), by=("P",))
    return Variant(f"backprop, {max(r['n'] for r in rows)} seeds", "bp"), rows


def local_global_cosines(
    rules: tuple[str, ...] = SSL_RULES, steps: int = 200, P: int = 2000,
    seed: int = 0, n_probe: int = 512, width: int = 64,
) -> list[dict]:
    """Cosine per self-supervised layer between a local rule's update and its global twins'.

    :func:`rhmlib.probes.live.local_global_cosines` on the reference grammar, each rule
    under its name in the book.
    """
    rows = live.local_global_cosines(rules, steps, P, seed, n_probe, width, REFERENCE)
    return [{**row, "rule": rule_label(row["rule"])} for row in rows]


