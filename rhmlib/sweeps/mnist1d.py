"""Sweeps of the chapter "Beyond the hierarchy model": every family on MNIST-1D (issue 24).

Test accuracy against the number of labels, from 250 to 16,000, for backprop, feedback
alignment, direct feedback alignment and the self-supervised CLAPP, InfoNCE and VICReg
(sibling pairs: neighbouring windows of one signal), five seeds, in two regimes: *strict*
(the labelled signals are all the data) and *label-limited* (the self-supervised stage
also sees :data:`UNLABELLED` unlabelled signals; the other rules cannot use them, so
their strict curve serves both). Runs are :func:`rhmlib.mnist1d.run_mnist1d` configs.
"""

from __future__ import annotations

from . import sweep

__all__ = ["LABELS", "SEEDS", "UNLABELLED", "TRAINING", "RULES", "SSL_RULES", "config"]

LABELS = (250, 500, 1000, 2000, 4000, 8000, 16000)
SEEDS = range(5)
UNLABELLED = 16000  # as many unlabelled signals as the largest labelled set
# The tree CNN's width and the test set of the anchors; a diverged run is recorded.
TRAINING = {"dataset": "mnist1d", "width": 128, "n_test": 4000, "retries": 0}
# Backprop's rate from the anchors at 4,000 labels (the RHM recipe's 0.2 overshoots here);
# every other rule runs its recipe.
RULES = {"bp": {"lr": 0.05}, "fa": {}, "dfa": {}}
SSL_RULES = ("clapp", "infonce", "vicreg")


def config(rule: str, P: int, seed: int, unlabelled: int = 0) -> dict:
    """The run config of ``rule`` at ``P`` labels and ``seed`` (plus unlabelled signals)."""
    options = {"rule_options": {"unlabelled": unlabelled}} if unlabelled else {}
    return {**TRAINING, "P": P, "rule": rule, "seed": seed, **RULES.get(rule, {}), **options}


@sweep
def mnist1d_labels() -> list[dict]:
    """Every family against the number of labels on MNIST-1D, strict regime, 5 seeds."""
    return [config(rule, P, seed) for rule in (*RULES, *SSL_RULES) for P in LABELS
            for seed in SEEDS]


@sweep
def mnist1d_label_limited() -> list[dict]:
    """The self-supervised rules with 16,000 unlabelled signals beside the labels, 5 seeds."""
    return [config(rule, P, seed, UNLABELLED) for rule in SSL_RULES for P in LABELS
            for seed in SEEDS]
