"""Sweeps on MNIST-1D: each family's rate, and the anchors of the public numbers (issue 24).

Runs are :func:`rhmlib.mnist1d.run_mnist1d` configs (``"dataset": "mnist1d"``), the tree
CNN at width 128, every run trained to convergence. As on the RHM, selection and
headline use disjoint seeds:

1. **Selection** (seeds 0-2, 4,000 labels): each rule's rate at a tenth, a third and
   one times its base rate (:data:`BASE_LRS`; ``mnist1d_lr``), one more step beyond a
   chosen end (``mnist1d_lr_edge``).
2. **Anchors**: the public numbers' MLP is a network of one hidden layer (256 units)
   trained by backprop, its rate scanned on seeds 0-2 (``mnist1d_mlp_lr``) and run on
   seeds 10-12 (``mnist1d_mlp``).

The self-supervised rules' positive pairs are sibling windows: neighbouring windows of one
signal under the same parent (:mod:`rhmlib.mnist1d`). Regenerate with::

    python -m rhmlib.sweeps mnist1d_lr mnist1d_lr_edge mnist1d_mlp_lr mnist1d_mlp --jobs 2
"""

from __future__ import annotations

from pathlib import Path

from ..stats import best_lr, summarize
from .registry import RESULTS_DIR, load_sweep, sweep

__all__ = ["SCAN_LABELS", "SELECTION_SEEDS", "HEADLINE_SEEDS", "TRAINING", "RULES",
           "SSL_RULES", "LR_FACTORS", "BEYOND", "config", "BASE_LRS", "mnist1d_lr",
           "mnist1d_lr_edge", "scan_records", "chosen_lrs", "MLP", "MLP_LRS", "mnist1d_mlp_lr",
           "mnist1d_mlp", "mlp_rows", "CONTROL", "name_of"]

SCAN_LABELS = 4000
SELECTION_SEEDS = range(3)
HEADLINE_SEEDS = range(10, 13)
TRAINING = {"dataset": "mnist1d", "width": 128, "n_test": 4000, "retries": 0}
RULES = ("bp", "fa", "dfa", "clapp", "infonce", "vicreg")
SSL_RULES = ("clapp", "infonce", "vicreg")
# The rates scanned, as multiples of a base rate per rule; the next one beyond a chosen end.
LR_FACTORS = (0.1, 0.3, 1.0)
# The base of each rule's grid: its RHM recipe's rate when the scan was designed, written
# out so that a later recipe leaves the scan (and what it chose) as it was run.
BASE_LRS = {"bp": 0.2, "fa": 0.3, "dfa": 0.001, "clapp": 0.02, "infonce": 0.06, "vicreg": 0.02}
BEYOND = {0.1: 0.03, 1.0: 3.0}


def config(rule: str, P: int, seed: int, lr: float | None = None, unlabelled: int = 0) -> dict:
    """The run config of ``rule`` at ``P`` labels and ``seed`` (plus unlabelled signals)."""
    options = {"rule_options": {"unlabelled": unlabelled}} if unlabelled else {}
    return {**TRAINING, "P": P, "rule": rule, "seed": seed,
            **({"lr": lr} if lr is not None else {}), **options}


def _lr(rule: str, factor: float) -> float:
    return float(f"{factor * BASE_LRS[rule]:.3g}")


@sweep
def mnist1d_lr() -> list[dict]:
    """Each rule's rate at 0.1, 0.3 and 1 times its base rate, 4,000 labels, seeds 0-2."""
    return [config(rule, SCAN_LABELS, seed, _lr(rule, f)) for rule in RULES
            for f in LR_FACTORS for seed in SELECTION_SEEDS]


def _factor(rule: str, lr: float) -> float:
    return next(f for f in (*LR_FACTORS, *BEYOND.values()) if _lr(rule, f) == lr)


@sweep
def mnist1d_lr_edge() -> list[dict]:
    """Where ``mnist1d_lr`` chose an end of its grid: the next rate beyond it."""
    scans = _by_rule(load_sweep("mnist1d_lr"))
    return [config(rule, SCAN_LABELS, seed, _lr(rule, BEYOND[f])) for rule in RULES
            if (f := _factor(rule, best_lr(scans[rule]))) in BEYOND for seed in SELECTION_SEEDS]


def _by_rule(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for record in records:
        out.setdefault(name_of(record["config"]), []).append(record)
    return out


def scan_records(root: Path = RESULTS_DIR) -> dict[str, list[dict]]:
    """Per rule: every run of its rate scan (``mnist1d_lr`` and its edge)."""
    return _by_rule(load_sweep("mnist1d_lr", root) + load_sweep("mnist1d_lr_edge", root))


def chosen_lrs(root: Path = RESULTS_DIR) -> dict[str, float]:
    """Per rule: the rate chosen on the validation split at 4,000 labels."""
    return {rule: best_lr(records) for rule, records in scan_records(root).items()}


# The control of the self-supervised rules: the readout on the untrained layers.
CONTROL = "random features"


def name_of(config: dict) -> str:
    """A run's rule, or :data:`CONTROL` for a self-supervised rule without pretraining."""
    if (config.get("rule_options") or {}).get("pretrain") is False:
        return CONTROL
    return config["rule"]


# The MLP of the public reference numbers: one hidden layer, backprop.
MLP = {"model": "fcn", "width": 256}
MLP_LRS = (0.006, 0.02, 0.06, 0.2, 0.6)


@sweep
def mnist1d_mlp_lr() -> list[dict]:
    """The MLP anchor's rate, 4,000 labels, seeds 0-2."""
    return [{**config("bp", SCAN_LABELS, seed, lr), **MLP} for lr in MLP_LRS
            for seed in SELECTION_SEEDS]


@sweep
def mnist1d_mlp() -> list[dict]:
    """The MLP anchor at its chosen rate, 4,000 labels, seeds 10-12."""
    lr = best_lr(load_sweep("mnist1d_mlp_lr"))
    return [{**config("bp", SCAN_LABELS, seed, lr), **MLP} for seed in HEADLINE_SEEDS]


def mlp_rows(root: Path = RESULTS_DIR) -> dict:
    """The MLP anchor: its chosen rate, the scanned grid and its test accuracy (mean, sem, n)."""
    scan = load_sweep("mnist1d_mlp_lr", root)
    row = summarize(load_sweep("mnist1d_mlp", root), ("lr",))[0]
    return {"lr": best_lr(scan), "grid": MLP_LRS, "mean": row["mean"], "sem": row["sem"],
            "n": row["n"]}
