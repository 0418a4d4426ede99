"""Sweeps of the chapters "Direct feedback fails" and "Masking", and readers of their records.

Every rule trains under the same convergence protocol (:mod:`rhmlib.train`; the settings
of :data:`BUDGET`) at its own learning rate, chosen by :func:`chosen_lr` on the
validation split of its scan at ``P = 4000`` (:func:`feedback_lr`, :func:`masking_lr`);
the other sweeps use that choice. Runs at the scan point, in whichever sweep, also
record the per-layer cosine between the rule's update and backprop's over training (the
probe ``"angles"``, :class:`rhmlib.probes.AngleRecorder`): a run's probes are part of
its cache key, so a sweep shares the scan's runs only if it records the same probes. A
run that diverges (non-finite loss) is recorded as diverged, not retried at a lower rate
(``retries=0``: the rate in a record is the rate it ran at). The depth and m sweeps
(``grammar_*``) scan the learning rate per grammar. Regenerate with (about 3.4
core-hours on this 2-core CPU)::

    python -m rhmlib.sweeps feedback_lr masking_lr grammar_lr feedback_P feedback_width \
        masking_P grammar_P grammar_budget masking_grammar --jobs 2

(``--all`` does the same for every chapter; sweeps wait for the scans they read.)

The chapters' tables, figures and live measurements are their pages'
(:mod:`rhmlib.pages.ch03`, :mod:`rhmlib.pages.ch04`); the three tables here are also the
introduction's.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .. import stats as _stats
from ..rhm import p_star
from ..stats import best_lr, best_row, finished, mean_sem, summarize
from .registry import REFERENCE, RESULTS_DIR, load_sweep, sweep
from .variants import Variant, config_of, label_of, variants

__all__ = [
    "BUDGET", "TYPE1", "VARIANTS", "LRS", "MASKING", "label", "records", "diverged", "angles",
    "chosen_lr", "chosen_lrs", "angles_at_chosen_lr", "final_cosines", "all_records", "in_grammar",
    "summary", "feedback_lr", "feedback_P", "feedback_width", "masking_lr", "masking_P",
    "GRAMMARS", "grammar_factors", "grammar_config", "grammar_lr", "grammar_chosen_lrs",
    "grammar_P", "grammar_curves", "grammar_budget", "masking_grammar", "MASKING_GRAMMARS",
    "MASKING_GRAMMAR_VARIANTS", "by_label", "at_chosen_lr",
    "headline_pepita", "grammar_name", "ordered_grammars",
]

BUDGET = {"width": 64, "n_test": 2000, "retries": 0}
P_SCAN = 4000
TYPE1 = ("BP", "FA", "DFA", "DRTP", "PEPITA")
MASKS = ("ones", "other", "mean", "random")  # what replaces a mask in the masking variants
VARIANTS = variants(
    Variant("BP", "bp"), Variant("FA", "fa"), Variant("DFA", "dfa"), Variant("DRTP", "drtp"),
    Variant("PEPITA", "pepita", {"f_scale": 0.05}),
    Variant("PEPITA (F x10)", "pepita", {"f_scale": 0.5}),
    *(Variant(f"own mask: {kind}", "bp_masked", {"own": kind}) for kind in MASKS),
    *(Variant(f"downstream masks: {kind}", "bp_masked", {"down": kind}) for kind in MASKS),
    Variant("DFA + exact transport", "dfa", {"feedback": "exact"}),
    Variant("FA without downstream masks", "bp_masked", {"transport": "random", "down": "ones"}),
)
# The learning rates each variant is scanned at.
LRS: dict[str, tuple[float, ...]] = {
    "BP": (0.05, 0.2, 0.5), "FA": (0.03, 0.1, 0.3, 1.0),
    "DFA": (3e-4, 0.001, 0.003, 0.01, 0.03, 0.1),
    "DRTP": (1e-4, 0.001, 0.01, 0.1), "PEPITA": (0.01, 0.03, 0.1),
    "PEPITA (F x10)": (3e-4, 0.001, 0.003, 0.01),
    **{f"own mask: {kind}": (0.003, 0.01, 0.03, 0.1, 0.3) for kind in MASKS},
    **{f"downstream masks: {kind}": (0.03, 0.1, 0.2, 0.5) for kind in MASKS},
    "DFA + exact transport": (0.001, 0.003, 0.01, 0.03, 0.1, 0.2),
    "FA without downstream masks": (0.03, 0.1, 0.2, 0.5),
}
MASKING = tuple(k for k in VARIANTS if k not in TYPE1 and not k.startswith("PEPITA"))
# 10 seeds for the headline curves of BP, FA and DFA; 3 for scans and variants.
# Scans choose on seeds 0-2; the curves the chapters report run on other seeds.
SEEDS_SCAN, SEEDS_HEADLINE, SEEDS_CURVES = range(3), range(10, 20), range(10, 13)


def label(config: dict) -> Variant:
    """The variant (a str: its label) of a run config or a record's (see :data:`VARIANTS`)."""
    return label_of(config, VARIANTS.values())


def _config(name: str, P: int, seed: int, lr: float, **changes: object) -> dict:
    return {**REFERENCE, "P": P, **config_of(VARIANTS[name]), "seed": seed, **BUDGET, "lr": lr,
            **changes}


def _probes(config: dict) -> tuple[str, ...]:
    """Runs at the scan point of the reference setting record their update angles to BP."""
    at_scan = config["P"] == P_SCAN and config["width"] == BUDGET["width"] and (
        {k: config[k] for k in REFERENCE} == REFERENCE)
    return ("angles",) if at_scan else ()


def records(name: str, root: Path = RESULTS_DIR) -> list[dict]:
    """Finished records of sweep ``name``, loaded (never computed); diverged ones left out."""
    return finished(load_sweep(name, root))


def diverged(name: str, root: Path = RESULTS_DIR) -> list[dict]:
    """Records of sweep ``name`` whose training diverged; ``"diverged"`` holds the error."""
    return _stats.diverged(load_sweep(name, root))


def angles(name: str, root: Path = RESULTS_DIR) -> list[dict]:
    """Recorded update cosines to BP (``config``, ``steps``, ``cosines`` per layer)."""
    return [{"config": r["config"], **r["probes"]["angles"]} for r in load_sweep(name, root)
            if "angles" in r.get("probes", {})]


def angles_at_chosen_lr(scan: str, root: Path = RESULTS_DIR) -> dict[str, list[dict]]:
    """Per variant of ``scan``: its :func:`angles` records at its chosen learning rate."""
    lrs = chosen_lrs(scan, root)
    out: dict[str, list[dict]] = {}
    for rec in angles(scan, root):
        name = label(rec["config"])
        if rec["config"]["lr"] == lrs.get(name):
            out.setdefault(name, []).append(rec)
    return out


def final_cosines(angle_sets: dict[str, list[dict]]) -> dict[str, list[float]]:
    """Per variant: the last recorded cosine to BP of each layer, averaged over its runs.

    Undefined cosines (a layer whose update was zero, stored as null) are left out.
    """
    return {name: [mean_sem(r["cosines"][-1][k] for r in recs
                            if r["cosines"][-1][k] is not None)[0]
                   for k in range(len(recs[0]["cosines"][-1]))]
            for name, recs in angle_sets.items()}


def by_label(recs: Iterable[dict]) -> dict[str, list[dict]]:
    """``recs`` per variant label, labels in first-seen order."""
    out: dict[str, list[dict]] = {}
    for record in recs:
        out.setdefault(label(record["config"]), []).append(record)
    return out


def all_records(scan: str | Iterable[dict], root: Path = RESULTS_DIR) -> list[dict]:
    """Every record (finished and diverged) of sweep ``scan``, or the given records."""
    return load_sweep(scan, root) if isinstance(scan, str) else list(scan)


def summary(recs: list[dict], by: tuple[str, ...] = ("P",),
            metric: str = "test_accuracy") -> dict[str, list[dict]]:
    """Per variant label: rows of mean, sem and count of ``metric`` grouped by ``by``."""
    return {name: summarize(mine, by, metric) for name, mine in by_label(recs).items()}


def in_grammar(recs: list[dict], m: int, L: int) -> list[dict]:
    """The records of ``recs`` on the grammar with ``m`` rules per symbol and depth ``L``."""
    return [r for r in recs if (r["config"]["m"], r["config"]["L"]) == (m, L)]


def chosen_lrs(scan: str | Iterable[dict], root: Path = RESULTS_DIR) -> dict[str, float]:
    """Per variant of ``scan`` (``feedback_lr``, ``masking_lr`` or its records): its best lr.

    Variants whose every run diverged have none. Cached runs only: defining (or
    listing) a sweep never starts a computation.
    """
    return {name: best_lr(recs) for name, recs in by_label(all_records(scan, root)).items()
            if finished(recs)}


def at_chosen_lr(
    scan: str | Iterable[dict], names: Iterable[str] | None = None, root: Path = RESULTS_DIR
) -> list[dict]:
    """The finished records of ``scan`` at each variant's chosen lr (only ``names``, if given)."""
    recs = all_records(scan, root)
    lrs, keep = chosen_lrs(recs), None if names is None else set(names)
    return [r for r in finished(recs) if (keep is None or label(r["config"]) in keep)
            and r["config"]["lr"] == lrs[label(r["config"])]]


def chosen_lr(name: str, root: Path = RESULTS_DIR) -> float:
    """The learning rate of variant ``name`` with the best mean accuracy in its scan."""
    lrs = chosen_lrs("masking_lr" if name in MASKING else "feedback_lr", root)
    if name not in lrs:
        raise ValueError(f"no finished scan runs for {name!r}")
    return lrs[name]


def headline_pepita(root: Path = RESULTS_DIR) -> str:
    """The PEPITA feedback scale that did better in the scan, on the validation split
    (diverged runs left out)."""
    scan = {name: recs for name, recs in by_label(records("feedback_lr", root)).items()
            if name.startswith("PEPITA")}
    return max(scan, key=lambda name: best_row(scan[name], metric="val_accuracy")["mean"])


def _headline_rules() -> list[str]:
    return ["BP", "FA", "DFA", "DRTP", headline_pepita()]


@sweep(probes=_probes)
def feedback_lr() -> list[dict]:
    """Learning-rate scan of every type-1 rule and BP at P = 4000, 3 seeds."""
    return [_config(name, P_SCAN, seed, lr) for name in (*TYPE1, "PEPITA (F x10)")
            for lr in LRS[name] for seed in SEEDS_SCAN]


@sweep(probes=_probes)  # its runs at the scan point are the scan's, angles included
def feedback_P() -> list[dict]:
    """Accuracy against P at each rule's chosen lr: 10 seeds (BP, FA, DFA), 3 for the rest,
    none of them the scan's."""
    out = []
    lrs = chosen_lrs("feedback_lr")
    for name in _headline_rules():
        lr = lrs[name]
        if name == "BP":
            cells = [(P, SEEDS_HEADLINE) for P in (1000, 2000)] + [(P_SCAN, SEEDS_CURVES)]
        elif name in ("FA", "DFA"):
            cells = [(P, SEEDS_HEADLINE) for P in (2000, P_SCAN, 8000)]
        else:
            cells = [(P, SEEDS_CURVES) for P in (P_SCAN, 16000)]
        out += [_config(name, P, seed, lr) for P, seeds in cells for seed in seeds]
    return out


@sweep
def feedback_width() -> list[dict]:
    """Width 128 against the reference 64 at P = 4000, chosen lr, 3 seeds, every rule."""
    lrs = chosen_lrs("feedback_lr")
    return [_config(name, P_SCAN, seed, lrs[name], width=128)
            for name in _headline_rules() for seed in SEEDS_CURVES]


# Depth and m: the grammars (m, L) at v = n_c = 16, s = 2, each with P in units of its
# P* = n_c m^L. Our choices: a cosine-decaying lr (with a constant one BP collapsed late
# at L = 4), scanned per rule and grammar at P = 2 P*; 3 seeds per point.
GRAMMARS = ((4, 2), (4, 3), (4, 4), (4, 5), (3, 3), (8, 3), (6, 3))
# Each grid reaches past the rate chosen on every grammar (DFA trains with Adam, its recipe).
GRAMMAR_LRS = {"BP": (0.03, 0.1, 0.3, 1.0, 3.0), "FA": (0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
               "DFA": (1e-4, 3e-4, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3)}
GRAMMAR_SCAN_SEEDS = range(2)


def grammar_factors(name: str, L: int) -> tuple[float, ...]:
    """The multiples of P* of the grammar sweeps: L = 2 has only 1,024 inputs in all."""
    if L == 2:
        return (1, 2, 3)
    if name == "BP" or L == 5:
        return (1, 2, 4)
    return (1, 2, 4, 8)


def grammar_config(name: str, m: int, L: int, factor: float, seed: int, lr: float) -> dict:
    """The config of variant ``name`` on grammar ``(m, L)`` at ``P = factor P*`` (cosine lr)."""
    # At L = 2 the test and validation sets are 192 + 48 of the 256 inputs left after the
    # largest training set.
    n_test = 192 if L == 2 else BUDGET["n_test"]
    return _config(name, round(factor * p_star(REFERENCE["n_c"], m, L)), seed, lr, m=m, L=L,
                   schedule="cosine", n_test=n_test)


@sweep
def grammar_lr() -> list[dict]:
    """Learning-rate scan of BP, FA and DFA at P = 2 P* for every grammar, 2 seeds, cosine lr."""
    return [grammar_config(name, m, L, 2, seed, lr) for m, L in GRAMMARS
            for name, lrs in GRAMMAR_LRS.items() for lr in lrs for seed in GRAMMAR_SCAN_SEEDS]


def grammar_chosen_lrs(root: Path = RESULTS_DIR) -> dict[tuple[str, int, int], float]:
    """Per ``(rule, m, L)``: the lr with the best mean accuracy in ``grammar_lr``."""
    scan = by_label(all_records("grammar_lr", root))
    return {(name, m, L): best_lr(in_grammar(scan[name], m, L))
            for m, L in GRAMMARS for name in GRAMMAR_LRS}


@sweep
def grammar_P() -> list[dict]:
    """BP, FA and DFA against P / P* for every grammar at the chosen lr, 3 seeds."""
    lrs = grammar_chosen_lrs()
    return [grammar_config(name, m, L, f, seed, lrs[(name, m, L)])
            for m, L in GRAMMARS for name in GRAMMAR_LRS for f in grammar_factors(name, L)
            for seed in SEEDS_CURVES]


@sweep(probes=_probes)
def masking_lr() -> list[dict]:
    """Learning-rate scan of every masking variant and hybrid at P = 4000, 3 seeds."""
    return [_config(name, P_SCAN, seed, lr) for name in MASKING
            for lr in LRS[name] for seed in SEEDS_SCAN]


@sweep
def masking_P() -> list[dict]:
    """Every masking variant and hybrid against P at its chosen lr, 3 seeds.

    P = 4000 is the scan's; the variants that stay below 90% there also get P = 16000.
    """
    out = []
    lrs = chosen_lrs("masking_lr")
    for name in MASKING:
        lr = lrs[name]
        sizes = (2000, 8000, 16000) if name.startswith(("own", "FA without")) else (2000, 8000)
        out += [_config(name, P, seed, lr) for P in sizes for seed in SEEDS_CURVES]
    return out


@sweep
def grammar_budget() -> list[dict]:
    """FA and DFA with four times the steps (20,000) at P = 2 P* where they fail, 3 seeds."""
    lrs = grammar_chosen_lrs()
    return [{**grammar_config(name, m, L, 2, seed, lrs[(name, m, L)]), "steps": 20000}
            for m, L in ((4, 4), (8, 3)) for name in ("FA", "DFA") for seed in SEEDS_CURVES]


# The masking ablation on the grammars where DFA falls furthest behind: does exact
# transport without downstream masks still learn there? Same protocol as grammar_P.
MASKING_GRAMMARS = ((4, 4), (4, 5), (8, 3))
MASKING_GRAMMAR_VARIANTS = ("DFA + exact transport", "downstream masks: ones",
                            "downstream masks: other")
# Each variant's rates: DFA's exact-transport hybrid trains with DFA's recipe (Adam), the
# others with backprop's (SGD): "ones" is the same update as the hybrid, so the pair
# separates the optimiser from the masks. Each grid reaches past the rate chosen on every
# grammar.
MASKING_GRAMMAR_LRS = {"DFA + exact transport": (3e-4, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3),
                       "downstream masks: ones": (0.01, 0.03, 0.1, 0.3, 1.0),
                       "downstream masks: other": (0.01, 0.03, 0.1, 0.3, 1.0)}


@sweep
def masking_grammar() -> list[dict]:
    """Two downstream-mask variants at P = 2 P* on the harder grammars, their rates, 3 seeds."""
    return [grammar_config(name, m, L, 2, seed, lr) for m, L in MASKING_GRAMMARS
            for name in MASKING_GRAMMAR_VARIANTS for lr in MASKING_GRAMMAR_LRS[name]
            for seed in SEEDS_SCAN]


def grammar_curves(
    root: Path = RESULTS_DIR, metric: str = "test_accuracy"
) -> dict[tuple[int, int], dict[str, list[dict]]]:
    """Per grammar ``(m, L)``: per rule, rows of ``metric`` against ``ratio = P / P*``."""
    recs = records("grammar_P", root)
    out = {}
    for m, L in GRAMMARS:
        scale = p_star(REFERENCE["n_c"], m, L)
        out[(m, L)] = {name: [{**row, "ratio": row["P"] / scale} for row in rows]
                       for name, rows in summary(in_grammar(recs, m, L), metric=metric).items()}
    return out


def grammar_name(m: int, L: int) -> str:
    """A grammar as the tables name it: "m = 4, L = 3"."""
    return f"m = {m}, L = {L}"


def ordered_grammars(grammars: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Grammars in the book's order: the depth series (m = 4) by L, then the others by m."""
    return sorted(grammars, key=lambda g: (g[0] != 4, g[0], g[1]))


