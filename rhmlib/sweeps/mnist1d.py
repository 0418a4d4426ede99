"""Sweeps of the chapter "Beyond the hierarchy model": every family on MNIST-1D (issue 24).

Runs are :func:`rhmlib.mnist1d.run_mnist1d` configs (``"dataset": "mnist1d"``), the tree
CNN at width 128, every run trained to convergence. As on the RHM, selection and
headline use disjoint seeds:

1. **Selection** (seeds 0-2, 4,000 labels): each rule's rate at a tenth, a third and
   one times its base rate (:data:`BASE_LRS`; ``mnist1d_lr``), one more step beyond a
   chosen end (``mnist1d_lr_edge``).
2. **Headline** (seeds 10-12: three, not the grammar's ten, since a converged
   self-supervised MNIST-1D run takes 100-400 CPU-seconds): test accuracy against the
   number of labels, 250 to 16,000, at the chosen rate (``mnist1d_labels``: the *strict*
   regime, the labelled signals are all the data), and CLAPP and InfoNCE with
   :data:`UNLABELLED` unlabelled signals besides (``mnist1d_label_limited``); the other
   rules cannot use unlabelled signals, so their strict curve serves both regimes.
3. **Anchors**: backprop's tree CNN at 4,000 labels is in ``mnist1d_labels``; the
   public numbers' MLP is a network of one hidden layer (256 units) trained by
   backprop, its rate scanned on seeds 0-2 (``mnist1d_mlp_lr``) and run on seeds 10-12
   (``mnist1d_mlp``).

4. **Similarity** (seeds 0-2, 4,000 labels): CLAPP and InfoNCE blended with their global
   twins (0: local, 1: the twin's update), recording the cosine of each update to the
   twin's (``mnist1d_twins``), as on the grammar.
5. **Width** (seeds 0-2, 4,000 labels): backprop, DFA, CLAPP and the control at widths 64,
   128 and 256 (``mnist1d_width``): is 128, the width of every other run, the one each needs?

The self-supervised rules' positive pairs are sibling windows: neighbouring windows of one
signal under the same parent (:mod:`rhmlib.mnist1d`). Regenerate with::

    python -m rhmlib.sweeps mnist1d_lr mnist1d_lr_edge mnist1d_labels \
        mnist1d_label_limited mnist1d_mlp_lr mnist1d_mlp mnist1d_twins mnist1d_width --jobs 2
"""

from __future__ import annotations

from pathlib import Path

from ..stats import best_lr, best_row, diverged, summarize
from .registry import RESULTS_DIR, load_sweep, sweep

__all__ = ["LABELS", "LIMITED_LABELS", "SELECTION_SEEDS", "HEADLINE_SEEDS", "UNLABELLED",
           "TRAINING", "RULES",
           "SSL_RULES", "LIMITED_RULES", "LR_FACTORS", "BEYOND", "config", "BASE_LRS",
           "mnist1d_lr",
           "mnist1d_lr_edge", "scan_records", "chosen_lrs", "mnist1d_labels",
           "mnist1d_label_limited", "label_rows", "MLP", "MLP_LRS", "mnist1d_mlp_lr",
           "mnist1d_mlp", "mlp_rows", "WIDTHS", "WIDTH_RULES", "mnist1d_width",
           "width_rows", "TWIN_BLENDS", "mnist1d_twins", "CONTROL", "CONTROL_RULE", "name_of",
           "activity_rows"]

LABELS = (250, 1000, 4000, 16000)
SCAN_LABELS = 4000
SELECTION_SEEDS = range(3)
HEADLINE_SEEDS = range(10, 13)
UNLABELLED = 16000  # as many unlabelled signals as the largest labelled set
# The label-limited regime: labelled sets smaller than the unlabelled pool (beside 16,000
# labels, 16,000 unlabelled signals add little that the labelled ones do not have).
LIMITED_LABELS = tuple(P for P in LABELS if P < UNLABELLED)
# The two contrastive rules answer whether unlabelled signals buy back labels (as on the
# RHM); VICReg would add a third of the cost.
LIMITED_RULES = ("clapp", "infonce")
TRAINING = {"dataset": "mnist1d", "width": 128, "n_test": 4000, "retries": 0}
RULES = ("bp", "fa", "dfa", "clapp", "infonce", "vicreg")
SSL_RULES = ("clapp", "infonce", "vicreg")
# The rates scanned, as multiples of a base rate per rule; the next one beyond a chosen end.
LR_FACTORS = (0.1, 0.3, 1.0)
# The base of each rule's grid: its RHM recipe's rate when the scan was designed, written
# out so that a later recipe leaves the scan (and what it chose) as it was run.
BASE_LRS = {"bp": 0.2, "fa": 0.3, "dfa": 0.001, "clapp": 0.02, "infonce": 0.06, "vicreg": 0.02}
BEYOND = {0.1: 0.03, 1.0: 3.0}


# The control of the self-supervised rules: the readout on the untrained layers of the
# rule below (its network and readout, no pretraining), at that rule's rate.
CONTROL = "random features"
CONTROL_RULE = "clapp"


def config(rule: str, P: int, seed: int, lr: float | None = None, unlabelled: int = 0) -> dict:
    """The run config of ``rule`` (or :data:`CONTROL`) at ``P`` labels and ``seed`` (plus
    unlabelled signals)."""
    options: dict = {"unlabelled": unlabelled} if unlabelled else {}
    if rule == CONTROL:
        rule, options = CONTROL_RULE, {**options, "pretrain": False}
    return {**TRAINING, "P": P, "rule": rule, "seed": seed,
            **({"lr": lr} if lr is not None else {}),
            **({"rule_options": options} if options else {})}


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
    """Per rule: the rate chosen on the validation split at 4,000 labels; the control's is
    that of :data:`CONTROL_RULE`."""
    lrs = {rule: best_lr(records) for rule, records in scan_records(root).items()}
    return {**lrs, CONTROL: lrs[CONTROL_RULE]}


def name_of(config: dict) -> str:
    """A run's rule, or :data:`CONTROL` for a self-supervised rule without pretraining."""
    if (config.get("rule_options") or {}).get("pretrain") is False:
        return CONTROL
    return config["rule"]


def _activity(config: dict) -> tuple[str, ...]:
    """Every headline run records how many units of each layer it uses (a cause of failure)."""
    return ("activity",)


@sweep(probes=_activity)
def mnist1d_labels() -> list[dict]:
    """Every family, and the random-features control, against the number of labels, strict
    regime, seeds 10-12."""
    lrs = chosen_lrs()
    return [config(rule, P, seed, lrs[rule]) for rule in (*RULES, CONTROL) for P in LABELS
            for seed in HEADLINE_SEEDS]


@sweep(probes=_activity)
def mnist1d_label_limited() -> list[dict]:
    """CLAPP and InfoNCE with 16,000 unlabelled signals beside fewer labels, seeds 10-12."""
    lrs = chosen_lrs()
    return [config(rule, P, seed, lrs[rule], UNLABELLED) for rule in LIMITED_RULES
            for P in LIMITED_LABELS
            for seed in HEADLINE_SEEDS]


# The width check: is 128 the width each rule needs? Backprop, the better direct-feedback
# rule, the best self-supervised rule and its control; FA, InfoNCE and VICReg, each below a
# rule of its family here, would triple the check's cost at width 256.
WIDTHS = (64, 128, 256)
WIDTH_RULES = ("bp", "dfa", "clapp", CONTROL)


@sweep
def mnist1d_width() -> list[dict]:
    """Backprop, DFA, CLAPP and the control at widths 64, 128 and 256, 4,000 labels, each
    at its chosen rate, seeds 0-2."""
    lrs = chosen_lrs()
    return [config(rule, SCAN_LABELS, seed, lrs[rule]) | {"width": width}
            for rule in WIDTH_RULES for width in WIDTHS for seed in SELECTION_SEEDS]


def width_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """Per rule of the width check and width: validation accuracy (``val``, ``val_sem``) and
    test accuracy (``mean``, ``sem``, ``n``), and whether the width is the rule's chosen one
    (``chosen``: best validation mean, :func:`~rhmlib.stats.best_row`)."""
    rows = []
    for rule, records in _by_rule(load_sweep("mnist1d_width", root)).items():
        val = {r["width"]: r for r in summarize(records, ("width",), "val_accuracy")}
        chosen = best_row(records, by="width")["width"]
        rows += [{"rule": rule, **row, "val": val[row["width"]]["mean"],
                  "val_sem": val[row["width"]]["sem"], "chosen": row["width"] == chosen}
                 for row in summarize(records, ("width",))]
    return rows


def label_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """Per rule and regime: test accuracy (mean, sem, n) against the number of labels, and
    how many runs diverged (``diverged``: left out of the mean)."""
    rows = []
    for regime, name in (("strict", "mnist1d_labels"), ("label-limited", "mnist1d_label_limited")):
        for rule, records in _by_rule(load_sweep(name, root)).items():
            rows += [{"rule": rule, "regime": regime, **row,
                      "diverged": sum(r["config"]["P"] == row["P"] for r in diverged(records))}
                     for row in summarize(records, ("P",))]
    return rows


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


# Blends of the similarity test: local, in between, the global twin's update.
TWIN_BLENDS = (0.0, 0.3, 1.0)


def _twin_probes(config: dict) -> tuple[str, ...]:
    return ("twins",)


@sweep(probes=_twin_probes)
def mnist1d_twins() -> list[dict]:
    """CLAPP and InfoNCE blended with their twins, recording cosines, seeds 0-2."""
    lrs = chosen_lrs()
    return [config(rule, SCAN_LABELS, seed, lrs[rule]) | {"rule_options": {"blend": b}}
            for rule in ("clapp", "infonce") for b in TWIN_BLENDS for seed in SELECTION_SEEDS]


def activity_rows(P: int = SCAN_LABELS, root: Path = RESULTS_DIR) -> list[dict]:
    """Per rule (and the control) at ``P`` labels, strict regime: per layer the mean over
    seeds of the fraction of silent units and of active values at the end of training."""
    rows = []
    for rule, records in _by_rule(load_sweep("mnist1d_labels", root)).items():
        last = [r["probes"]["activity"] for r in records
                if "result" in r and r["config"]["P"] == P and r["probes"]["activity"]["steps"]]
        if not last:
            continue
        layers = len(last[0]["silent"][-1])
        rows.append({"rule": rule, "P": P, "n": len(last),
                     "silent": [sum(a["silent"][-1][k] for a in last) / len(last)
                                for k in range(layers)],
                     "active": [sum(a["active"][-1][k] for a in last) / len(last)
                                for k in range(layers)]})
    return rows
