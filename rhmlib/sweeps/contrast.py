"""Sweeps of the central contrast: local self-supervision where direct feedback fails.

The grammars are those of the direct-feedback chapter (:data:`feedback.GRAMMARS`:
``L = 2..5`` at ``m = 4`` and ``m = 3, 4, 6, 8`` at ``L = 3``, with ``v = n_c = 16``,
``s = 2``). Every self-supervised rule, its global twin and CLAPP++'s variants
(:data:`VARIANTS`) is scanned per grammar at
``P = 2 P*`` (the learning rate chosen on the validation split), then run at
``P = f P*`` with the grid of :func:`feedback.grammar_factors`, 3 seeds per point, so
that ``P_90 / P*`` can be set beside backprop's, FA's and DFA's from ``grammar_P``.

The controls: widths 64, 128 and 256 for every rule on the reference grammar; four
times the self-supervised steps on the deepest grammars; DRTP with bounded weights
(weight decay) and PEPITA with its published recipe, each beside a positive control on
a shallow network. Regenerate with::

    python -m rhmlib.sweeps contrast_lr contrast_P contrast_width contrast_budget \
        drtp_control pepita_recipe hierarchy --jobs 2
"""

from __future__ import annotations

from pathlib import Path

from ..rhm import p_star
from . import REFERENCE, RESULTS_DIR, load_sweep, sweep
from .feedback import BUDGET, GRAMMARS, grammar_factors
from .local import READOUT, SSL_TRAINING
from .stats import best_lr

__all__ = ["HIERARCHY_RULES", "HIERARCHY_P", "hierarchy", "VARIANTS", "label", "SSL_LRS",
           "SEEDS",
           "contrast_config", "contrast_lr", "contrast_chosen_lrs", "contrast_P",
           "contrast_width", "contrast_budget",
           "drtp_control", "pepita_recipe", "WIDTHS", "WIDTH_RULES"]

# Label -> (rule, options): the local rules, their global twins (top-layer loss, trained
# end to end) and CLAPP++'s variants (top-layer context, one predictor per position).
VARIANTS: dict[str, tuple[str, dict]] = {
    "CLAPP": ("clapp", {}),
    "InfoNCE": ("infonce", {}),
    "VICReg": ("vicreg", {}),
    "CLAPP (global)": ("clapp_global", {}),
    "InfoNCE (global)": ("infonce_global", {}),
    "VICReg (global)": ("vicreg_global", {}),
    "CLAPP++ (top context)": ("clapp", {"context": "top"}),
    "CLAPP++ (position predictors)": ("clapp", {"predictor": "position"}),
    "CLAPP++ (both)": ("clapp", {"context": "top", "predictor": "position"}),
}
# Adam learning rates: the recipe's 0.02 in the middle, a factor of about 3 between steps.
SSL_LRS = (0.002, 0.006, 0.02, 0.06, 0.2)
SEEDS = range(3)
WIDTHS = (64, 128, 256)
WIDTH_RULES = ("bp", "fa", "dfa", "clapp", "infonce", "vicreg")
WIDTH_P = (1000, 2000, 4000)


def _n_test(L: int) -> int:
    """Test inputs: at L = 2 only 192 (with 48 for validation) are left beside 3 P*."""
    return 192 if L == 2 else BUDGET["n_test"]


def contrast_config(name: str, m: int, L: int, factor: float, seed: int, lr: float,
                    **changes: object) -> dict:
    """The config of variant ``name`` on grammar ``(m, L)`` at ``P = factor P*``."""
    if name not in VARIANTS:
        raise ValueError(f"name must be one of {sorted(VARIANTS)}, got {name!r}")
    rule, options = VARIANTS[name]
    return {**REFERENCE, "m": m, "L": L, "P": round(factor * p_star(REFERENCE["n_c"], m, L)),
            "rule": rule, "seed": seed, **SSL_TRAINING, "lr": lr, "n_test": _n_test(L),
            "rule_options": {**READOUT, **options}, **changes}


def label(config: dict) -> str:
    """The variant label of a config or a record's (inverse of :func:`contrast_config`)."""
    options = config.get("rule_options") or {}
    for name, (rule, extra) in VARIANTS.items():
        defaults = {k: v for k, v in (("context", "sibling"), ("predictor", "shared"))
                    if k not in extra}
        if config["rule"] == rule and all(options.get(k, d) == d for k, d in defaults.items()) \
                and all(options.get(k) == v for k, v in extra.items()):
            return name
    raise ValueError(f"config is not one of the VARIANTS: {config['rule']!r}, {options}")


@sweep
def contrast_lr() -> list[dict]:
    """Every self-supervised variant: lr scan at P = 2 P* on every grammar, 3 seeds."""
    return [contrast_config(name, m, L, 2, seed, lr) for m, L in GRAMMARS
            for name in VARIANTS for lr in SSL_LRS for seed in SEEDS]


def contrast_chosen_lrs(root: Path = RESULTS_DIR) -> dict[tuple[str, int, int], float]:
    """Per ``(variant, m, L)``: the lr of ``contrast_lr`` chosen on the validation split."""
    cells: dict[tuple[str, int, int], list[dict]] = {}
    for record in load_sweep("contrast_lr", root):
        c = record["config"]
        cells.setdefault((label(c), c["m"], c["L"]), []).append(record)
    return {key: best_lr(records) for key, records in cells.items()}


@sweep
def contrast_P() -> list[dict]:
    """Every self-supervised variant against P / P* at its chosen lr, 3 seeds."""
    lrs = contrast_chosen_lrs()
    return [contrast_config(name, m, L, f, seed, lrs[(name, m, L)]) for m, L in GRAMMARS
            for name in VARIANTS for f in grammar_factors(name, L) for seed in SEEDS]


@sweep
def contrast_budget() -> list[dict]:
    """Four times the self-supervised steps (4,000) at P = 2 P* on the deepest grammars."""
    lrs = contrast_chosen_lrs()
    return [contrast_config(name, m, L, 2, seed, lrs[(name, m, L)], steps=4000)
            for m, L in ((4, 4), (4, 5)) for name in ("CLAPP", "InfoNCE", "VICReg")
            for seed in SEEDS]


@sweep
def contrast_width() -> list[dict]:
    """Every rule's recipe at widths 64, 128 and 256 on the reference grammar, 3 seeds.

    The learning rate is each recipe's (chosen at width 64), the same at every width.
    """
    return [{**REFERENCE, "P": P, "rule": rule, "width": width, "seed": seed,
             "n_test": BUDGET["n_test"]}
            for rule in WIDTH_RULES for width in WIDTHS for P in WIDTH_P for seed in SEEDS]


# DRTP's hidden activity runs away on the RHM. Its original setting bounds it (tanh units
# there); weight decay bounds it here, scanned with the lr. The positive control is the
# shallow network (one hidden layer, as in the shallow experiments of the DRTP paper) on
# the L = 2 grammar, next to backprop and DFA.
DRTP_LRS = (1e-4, 1e-3, 1e-2)
DRTP_DECAYS = (1e-4, 1e-3, 1e-2)
SHALLOW = {**REFERENCE, "L": 2, "model": "fcn", "width": 256, "n_test": 192}
SHALLOW_LRS = {"bp": (0.03, 0.1, 0.3), "dfa": (0.003, 0.01, 0.03), "drtp": DRTP_LRS,
               "pepita": (0.003, 0.01, 0.03)}


@sweep
def drtp_control() -> list[dict]:
    """DRTP with weight decay on the reference grammar; DRTP, PEPITA, DFA, BP shallow, 3 seeds."""
    bounded = [{**REFERENCE, "P": 4000, "rule": "drtp", "seed": seed, **BUDGET, "lr": lr,
                "weight_decay": decay}
               for lr in DRTP_LRS for decay in DRTP_DECAYS for seed in SEEDS]
    shallow = [{**SHALLOW, "P": P, "rule": rule, "seed": seed, "lr": lr, "steps": 5000}
               for rule, lrs in SHALLOW_LRS.items() for lr in lrs for P in (256, 512, 768)
               for seed in SEEDS]
    return bounded + shallow


# PEPITA as published (Dellaferrera & Kreiman 2022): SGD with momentum 0.9, batch 64,
# 100 epochs with the lr decayed late (a cosine decay here), F scale 0.05.
PEPITA_EPOCHS, PEPITA_BATCH = 100, 64


@sweep
def pepita_recipe() -> list[dict]:
    """PEPITA with its published recipe (100 epochs, batch 64, decay), 3 lrs, 3 seeds."""
    return [{**REFERENCE, "P": P, "rule": "pepita", "seed": seed, "width": BUDGET["width"],
             "n_test": BUDGET["n_test"], "lr": lr, "batch_size": PEPITA_BATCH,
             "steps": PEPITA_EPOCHS * P // PEPITA_BATCH, "schedule": "cosine",
             "rule_options": {"f_scale": 0.05}}
            for P in (2000, 8000) for lr in (0.003, 0.01, 0.03) for seed in SEEDS]



# Does each network learn the hierarchy? Every rule's recipe on the reference grammar at a
# P where all of them fail (500) and one where all of them reach about 90% (8,000), with
# the per-layer probes of rhmlib.hierarchy recorded at every evaluation point.
HIERARCHY_RULES = ("bp", "fa", "dfa", "clapp", "infonce")
HIERARCHY_P = (500, 8000)


def _hierarchy_probes(config: dict) -> tuple[str, ...]:
    return ("hierarchy",)


@sweep(probes=_hierarchy_probes)
def hierarchy() -> list[dict]:
    """Per-layer hierarchy probes over training: 5 rules' recipes at P = 500 and 8,000, 3 seeds."""
    return [{**REFERENCE, "P": P, "rule": rule, "seed": seed, "n_test": BUDGET["n_test"]}
            for rule in HIERARCHY_RULES for P in HIERARCHY_P for seed in SEEDS]
