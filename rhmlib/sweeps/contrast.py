"""Sweeps of the central contrast: local self-supervision where direct feedback fails.

The grammars are those of the direct-feedback chapter up to depth 4
(:data:`CONTRAST_GRAMMARS`: ``L = 2..4`` at ``m = 4`` and ``m = 3, 4, 6, 8`` at ``L = 3``,
with ``v = n_c = 16``, ``s = 2``). Every run trains to convergence (:mod:`rhmlib.train`).
Three steps, each on its own seeds so that no number the book reports was used to choose anything:

1. **Selection** (seeds 0-2). The self-supervised rules (:func:`ssl_rules`: CLAPP++ on
   the reference and depth-4 grammars only) scan their Adam rate at ``P = 2 P*`` and
   width 256 on every grammar (``contrast_lr``; one more rate beyond a chosen end in
   ``contrast_lr_edge``, one further each time an end is chosen again in
   ``contrast_lr_edge2`` and ``contrast_lr_edge3``); CLAPP and InfoNCE scan their
   temperature on the reference grammar (``contrast_temperature``); every rule of
   :data:`RULES` is run at widths 64, 128 and 256 on the depth-4 grammar at ``2 P*``
   (``contrast_width``; 512 in ``contrast_width_edge`` where 256 is chosen), which sets
   each rule's preferred width (the narrowest within one standard error of the best
   validation accuracy).
   Backprop's, FA's and DFA's rates come from ``grammar_lr``.
2. **Headline** (seeds 10-12, and 10-19 on the reference grammar but for FA,
   :data:`FEW_SEEDS`). Every rule at its
   preferred width (at most 256, :data:`MAX_WIDTH`) against ``P / P*`` (:func:`factors`:
   from 0.5 to 4, and to 8 for the self-supervised rules at ``L = 4``) on every grammar
   (FA on three, :data:`FA_GRAMMARS`) (``contrast_P``); the same at width 64 for CLAPP
   and InfoNCE (``contrast_narrow``: what capacity does).
3. **Label-limited regime** (seeds 10-12). The self-supervised stage sees ``8 P*``
   unlabelled inputs besides the ``P`` labelled ones (CLAPP and InfoNCE), the readout
   the ``P`` labels (``contrast_labels``), at ``L = 3, 4``; backprop on the same labels is in
   ``contrast_P``.

Regenerate with::

    python -m rhmlib.sweeps contrast_lr contrast_lr_edge contrast_lr_edge2 contrast_lr_edge3 \
        contrast_temperature contrast_width contrast_width_edge contrast_P \
        contrast_narrow contrast_labels \
        contrast_twins hierarchy drtp_control pepita_recipe --jobs 2
"""

from __future__ import annotations

from pathlib import Path

from ..rhm import p_star
from ..stats import best_lr, best_row, finished, mean_sem, p90_summary, summarize
from . import feedback
from .feedback import BUDGET, GRAMMARS
from .registry import REFERENCE, RESULTS_DIR, load_sweep, sweep
from .variants import Variant, config_of, label_of, rule_label, variants

__all__ = ["RULES", "SSL", "PLUS", "PLUS_GRAMMARS", "ssl_rules",
           "OTHERS", "CONTROL", "TYPE1", "VARIANTS", "label", "SSL_LRS", "BEYOND", "FURTHER",
           "SELECTION_SEEDS",
           "HEADLINE_SEEDS", "FEW_SEEDS", "FA_GRAMMARS",
           "SCAN_WIDTH", "WIDTHS", "TEMPERATURES", "LABEL_GRAMMARS",
           "LABEL_RULES", "CONTRAST_GRAMMARS",
           "UNLABELLED", "factors", "contrast_config", "contrast_lr", "contrast_lr_edge",
           "contrast_lr_edge2", "contrast_lr_edge3", "EDGES",
           "scan_records", "contrast_chosen_lrs", "chosen_rates", "contrast_temperature",
           "temperature_rows", "contrast_width", "WIDER", "contrast_width_edge",
           "preferred_widths", "MAX_WIDTH", "headline_widths", "width_rows",
           "contrast_P", "contrast_narrow", "NARROW_RULES", "contrast_labels", "label_rows",
           "contrast_twins", "BLENDS", "twin_points", "hierarchy", "HIERARCHY_RULES",
           "HIERARCHY_CELLS", "hierarchy_rows", "probe_means", "cell_name", "hierarchy_groups",
           "drtp_control",
           "pepita_recipe", "DRTP_LRS", "DRTP_DECAYS", "SHALLOW_LRS",
           "drtp_rows", "pepita_rows", "cell_records", "scaling_rows", "scaling_groups"]

# The rules of the contrast: the type-1 rules of the direct-feedback chapter and the
# self-supervised ones, with CLAPP++'s best variant on the reference grammar (one
# predictor per position); their global twins, Forward-Forward and the context variants
# enter the similarity test (contrast_twins) only.
TYPE1 = ("BP", "FA", "DFA")
SSL = ("CLAPP", "InfoNCE", "VICReg", "CLAPP++ (position predictors)")
RULES = TYPE1 + SSL
# CLAPP++'s variant enters the contrast on the grammar that chose it (the reference) and
# at depth 4; elsewhere it would be CLAPP again with a costlier predictor.
PLUS = "CLAPP++ (position predictors)"
PLUS_GRAMMARS = ((4, 3), (4, 4))
VARIANTS = variants(
    Variant("BP", "bp"), Variant("FA", "fa"), Variant("DFA", "dfa"),
    Variant("CLAPP", "clapp"), Variant("InfoNCE", "infonce"), Variant("VICReg", "vicreg"),
    Variant("CLAPP++ (position predictors)", "clapp", {"predictor": "position"}),
    Variant("CLAPP++ (top context)", "clapp", {"context": "top"}),
    Variant("CLAPP++ (feedback context)", "clapp", {"context": "feedback"}),
    Variant("random features", "clapp", {"pretrain": False}),
    Variant("CLAPP (global)", "clapp_global"), Variant("InfoNCE (global)", "infonce_global"),
    Variant("VICReg (global)", "vicreg_global"), Variant("Forward-Forward", "ff"),
    Variant("Forward-Forward (global)", "ff_global"),
)
# The control of the self-supervised rules: the readout on the untrained layers, at CLAPP's
# width (what self-supervision adds to random features).
CONTROL = "random features"
# The other self-supervised rules of the library: their recipes' rates are scanned on the
# reference grammar only (the book shows them there, beside their local rules).
OTHERS = ("CLAPP (global)", "InfoNCE (global)", "VICReg (global)", "Forward-Forward",
          "Forward-Forward (global)")
# Adam rates of the self-supervised stage: the recipes' 0.02 in the middle, a factor of
# about 3 between steps; an end that is chosen gets the next rate beyond it.
SSL_LRS = (0.006, 0.02, 0.06)
BEYOND = {0.006: 0.002, 0.06: 0.2}
# Where a rate beyond is chosen again: one step further (each further scan adds one).
FURTHER = {0.002: 0.0006, 0.2: 0.6, 0.0006: 0.0002, 0.6: 2.0}
SELECTION_SEEDS = range(3)
HEADLINE_SEEDS = range(10, 13)
REFERENCE_HEADLINE_SEEDS = range(10, 20)
SCAN_WIDTH = 256
WIDTHS = (64, 128, 256)
WIDTH_GRAMMAR = (4, 4)
TEMPERATURES = (0.1, 0.25, 0.5, 1.0)
# The contrast stops at depth 4, where direct feedback already fails (chapter 3): at
# depth 5 one width-256 self-supervised run takes about 10 CPU-minutes at 2 P*, and the
# contrast would need some 200 of them, beyond the book's compute budget.
CONTRAST_GRAMMARS = tuple((m, L) for m, L in GRAMMARS if L <= 4)
LABEL_GRAMMARS = ((4, 3), (4, 4))
# The label-limited regime asks whether many unlabelled inputs buy back labels at depth;
# the two contrastive rules answer it (VICReg, the slowest rule, would triple the cost).
LABEL_RULES = ("CLAPP", "InfoNCE")
UNLABELLED = 8  # unlabelled inputs of the label-limited regime, in units of P*
# Few labels beside 8 P* unlabelled inputs: up to P*, where labels are scarce.
LABEL_FACTORS = (0.25, 0.5, 1)


def ssl_rules(m: int, L: int) -> tuple[str, ...]:
    """The self-supervised rules of the contrast on grammar ``(m, L)``."""
    return tuple(name for name in SSL if name != PLUS or (m, L) in PLUS_GRAMMARS)


def _n_test(L: int) -> int:
    """Test inputs: at L = 2 only 192 (with 48 for validation) are left beside 3 P*."""
    return 192 if L == 2 else BUDGET["n_test"]


def label(config: dict) -> Variant:
    """The variant (a str: its label) of a config or a record's (:func:`contrast_config`'s inverse).

    The data regime (unlabelled inputs) and the blend with the global twin are settings
    of a run, not of the rule: they do not change its label.
    """
    options = {k: v for k, v in (config.get("rule_options") or {}).items()
               if k not in ("unlabelled", "blend")}
    return label_of({**config, "rule_options": options}, VARIANTS.values())


def _scale(m: int, L: int) -> int:
    return p_star(REFERENCE["n_c"], m, L)


def factors(name: str, L: int) -> tuple[float, ...]:
    """The multiples of ``P*`` of the headline: to 8 for self-supervision (and its control)
    at depth.

    At ``L = 2`` the grammar has 1,024 inputs in all, so the grid ends at 3 ``P*``.
    """
    if L == 2:
        return (0.5, 1, 2, 3)
    if (name in SSL or name == CONTROL) and L >= 4:
        return (0.5, 1, 2, 4, 8)
    return (0.5, 1, 2, 4)


def contrast_config(name: str, m: int, L: int, factor: float, seed: int, lr: float,
                    width: int = SCAN_WIDTH, **changes: object) -> dict:
    """The config of rule ``name`` on grammar ``(m, L)`` at ``P = factor P*``.

    Backprop, FA and DFA train as in ``grammar_P`` (SGD, cosine decay), the
    self-supervised rules with their recipes.
    """
    if name not in VARIANTS:
        raise ValueError(f"name must be one of {sorted(VARIANTS)}, got {name!r}")
    P = round(factor * _scale(m, L))
    if name in TYPE1:
        base = feedback.grammar_config(name, m, L, factor, seed, lr)
    else:
        base = {**REFERENCE, "m": m, "L": L, "P": P, **config_of(VARIANTS[name]),
                "seed": seed, "lr": lr, "n_test": _n_test(L), "retries": 0}
    return {**base, "width": width, **changes}


def _scan_cells(*names: str, root: Path = RESULTS_DIR) -> dict[tuple[str, int, int], list[dict]]:
    """The records of the scans ``names`` per ``(variant, m, L)``."""
    cells: dict[tuple[str, int, int], list[dict]] = {}
    for name in names:
        for record in load_sweep(name, root):
            c = record["config"]
            cells.setdefault((label(c), c["m"], c["L"]), []).append(record)
    return cells


@sweep
def contrast_lr() -> list[dict]:
    """Self-supervised rules: Adam rate at P = 2 P*, width 256, every grammar, seeds 0-2
    (the global twins and Forward-Forward on the reference grammar only)."""
    reference = (REFERENCE["m"], REFERENCE["L"])
    return [contrast_config(name, m, L, 2, seed, lr) for m, L in CONTRAST_GRAMMARS
            for name in ssl_rules(m, L) + (OTHERS if (m, L) == reference else ())
            for lr in SSL_LRS for seed in SELECTION_SEEDS]


@sweep
def contrast_lr_edge() -> list[dict]:
    """Where ``contrast_lr`` chose an end of its grid: the next rate beyond it."""
    return [contrast_config(name, m, L, 2, seed, BEYOND[lr])
            for (name, m, L), records in _scan_cells("contrast_lr").items()
            if (lr := best_lr(records)) in BEYOND for seed in SELECTION_SEEDS]


def _further(*scans: str) -> list[dict]:
    """Where the runs of ``scans`` chose an end of a cell's rates: one rate further."""
    out = []
    for (name, m, L), records in _scan_cells(*scans).items():
        lr = best_lr(records)
        if lr in FURTHER and FURTHER[lr] not in {r["config"]["lr"] for r in records}:
            out += [contrast_config(name, m, L, 2, seed, FURTHER[lr]) for seed in SELECTION_SEEDS]
    return out


@sweep
def contrast_lr_edge2() -> list[dict]:
    """Where ``contrast_lr`` with its edge still chose an end: one rate further."""
    return _further("contrast_lr", "contrast_lr_edge")


@sweep
def contrast_lr_edge3() -> list[dict]:
    """Where the scan with both edges still chose an end: one rate further again."""
    return _further("contrast_lr", "contrast_lr_edge", "contrast_lr_edge2")


EDGES = ("contrast_lr", "contrast_lr_edge", "contrast_lr_edge2", "contrast_lr_edge3")


def scan_records(root: Path = RESULTS_DIR) -> dict[tuple[str, int, int], list[dict]]:
    """Per ``(variant, m, L)``: every run of its rate scan (``contrast_lr`` and its edges)."""
    return _scan_cells(*EDGES, root=root)


def contrast_chosen_lrs(root: Path = RESULTS_DIR) -> dict[tuple[str, int, int], float]:
    """Per ``(variant, m, L)``: the self-supervised rate chosen on the validation split."""
    return {key: best_lr(records) for key, records in scan_records(root).items()}


def chosen_rates(root: Path = RESULTS_DIR) -> dict[tuple[str, int, int], float]:
    """The chosen rate of every rule of :data:`RULES` per grammar ``(name, m, L)``: the
    type-1 rules' from ``grammar_lr``, the others' from this module's scans (the control's
    self-supervised rate, unused, is CLAPP's). Load once per sweep: it reads every scan."""
    rates = {key: lr for key, lr in feedback.grammar_chosen_lrs(root).items()
             if key[0] in TYPE1}
    rates.update(contrast_chosen_lrs(root))
    rates.update({(CONTROL, m, L): lr for (name, m, L), lr in list(rates.items())
                  if name == "CLAPP"})
    return rates


@sweep
def contrast_temperature() -> list[dict]:
    """CLAPP and InfoNCE: the score's temperature on the reference grammar, seeds 0-2."""
    lrs = chosen_rates()
    m, L = REFERENCE["m"], REFERENCE["L"]
    return [contrast_config(name, m, L, 2, seed, lrs[(name, m, L)],
                            rule_options={"temperature": t})
            for name in ("CLAPP", "InfoNCE") for t in TEMPERATURES for seed in SELECTION_SEEDS]


def temperature_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """Per rule and temperature: validation accuracy (mean, sem); ``chosen`` marks the best."""
    rows = []
    for name in ("CLAPP", "InfoNCE"):
        recs = [r for r in load_sweep("contrast_temperature", root)
                if r["config"]["rule"] == VARIANTS[name].rule]
        chosen = best_row(recs, by="rule_options.temperature")["rule_options.temperature"]
        rows += [{"name": name, "temperature": r["rule_options.temperature"], "mean": r["mean"],
                  "sem": r["sem"], "n": r["n"],
                  "chosen": r["rule_options.temperature"] == chosen}
                 for r in summarize(recs, ("rule_options.temperature",), "val_accuracy")]
    return rows


@sweep
def contrast_width() -> list[dict]:
    """Every rule at widths 64, 128, 256 on the depth-4 grammar at 2 P*, seeds 0-2."""
    lrs = chosen_rates()
    m, L = WIDTH_GRAMMAR
    return [contrast_config(name, m, L, 2, seed, lrs[(name, m, L)], width=width)
            for name in RULES for width in WIDTHS for seed in SELECTION_SEEDS]


# One width beyond the grid, for rules whose choice is its widest width.
WIDER = 512


def _width_records(root: Path, wider: bool) -> list[dict]:
    """``contrast_width``, and ``contrast_width_edge`` when ``wider`` and a rule needs it."""
    recs = load_sweep("contrast_width", root)
    if wider and any(w == max(WIDTHS) for w in _chosen_widths(recs).values()):
        recs = recs + load_sweep("contrast_width_edge", root)
    return recs


def _chosen_widths(recs: list[dict]) -> dict[str, int]:
    """Per rule: the narrowest width within one standard error of the best validation mean.

    The one-standard-error rule: a wider network is chosen only when it is better by more
    than the seeds' noise, since it costs several times the compute in every later run.
    """
    out = {}
    for name in RULES:
        rows = summarize([r for r in recs if label(r["config"]) == name], ("width",),
                         "val_accuracy")
        best = max(rows, key=lambda r: r["mean"])
        out[name] = min(r["width"] for r in rows if r["mean"] >= best["mean"] - best["sem"])
    return out


@sweep
def contrast_width_edge() -> list[dict]:
    """Width 512 for the rules whose chosen width in ``contrast_width`` is its widest, 256."""
    lrs = chosen_rates()
    m, L = WIDTH_GRAMMAR
    chosen = _chosen_widths(load_sweep("contrast_width"))
    return [contrast_config(name, m, L, 2, seed, lrs[(name, m, L)], width=WIDER)
            for name in RULES if chosen[name] == max(WIDTHS) for seed in SELECTION_SEEDS]


def width_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """Per rule and width tried: validation and test accuracy (mean, sem) at 2 P*."""
    recs = _width_records(root, wider=True)
    rows = []
    for name in RULES:
        mine = [r for r in recs if label(r["config"]) == name]
        val = {r["width"]: r for r in summarize(mine, ("width",), "val_accuracy")}
        for row in summarize(mine, ("width",)):
            rows.append({"name": name, "width": row["width"], "val": val[row["width"]]["mean"],
                         "test": row["mean"], "test_sem": row["sem"], "n": row["n"]})
    return rows


def preferred_widths(root: Path = RESULTS_DIR) -> dict[str, int]:
    """Per rule: its preferred width on the depth-4 grammar (:func:`_chosen_widths`, over
    widths 64 to 256 and 512 where 256 was chosen)."""
    return _chosen_widths(_width_records(root, wider=True))


# The widest network of the headline runs: a rule that prefers 512 (InfoNCE and FA gain
# from it at depth 4) would cost some 10 CPU-hours more there; it runs at 256, and its
# P_90 is then an upper bound.
MAX_WIDTH = SCAN_WIDTH


def headline_widths(root: Path = RESULTS_DIR) -> dict[str, int]:
    """Per rule: the width of its headline runs, its preferred width up to :data:`MAX_WIDTH`."""
    return {name: min(width, MAX_WIDTH) for name, width in preferred_widths(root).items()}


# FA at width 256 costs ~100 CPU-seconds a run; on the reference grammar its verdict does
# not hang on seeds (at 4 P* its seeds 10-12 reach 0.84-0.90, mean 0.86, in ``hierarchy``),
# so it runs the 3 headline seeds of the other grammars there (~0.8 CPU-hour saved).
FEW_SEEDS = ("FA",)

# Nor does it run on the three grammars where chapter 3 finds it far from 90 % (at width 64
# at most 0.67 at 8 P*, and 0.32 at width 256 and 2 P* on the depth-4 grammar here), while
# its runs there are the slowest of all (60-250 CPU-seconds; ~0.9 CPU-hour saved). DFA,
# the other direct-feedback rule, runs on every grammar.
FA_GRAMMARS = ((4, 2), (3, 3), (4, 3))


def _headline_rules(m: int, L: int) -> tuple[str, ...]:
    """The rules of ``contrast_P`` on grammar ``(m, L)``: FA only on :data:`FA_GRAMMARS`."""
    return tuple(name for name in (*TYPE1, *ssl_rules(m, L), CONTROL)
                 if name != "FA" or (m, L) in FA_GRAMMARS)


def _headline_seeds(name: str, m: int, L: int) -> range:
    reference = (m, L) == (REFERENCE["m"], REFERENCE["L"]) and name not in FEW_SEEDS
    return REFERENCE_HEADLINE_SEEDS if reference else HEADLINE_SEEDS


def _activity(config: dict) -> tuple[str, ...]:
    """Headline runs record how many units of each layer they use (a cause of failure)."""
    return ("activity",)


@sweep(probes=_activity)
def contrast_P() -> list[dict]:
    """Every rule at its headline width against P / P* on every grammar (headline seeds),
    and the random-features control at CLAPP's."""
    lrs = chosen_rates()
    widths = headline_widths()
    widths[CONTROL] = widths["CLAPP"]
    return [contrast_config(name, m, L, f, seed, lrs[(name, m, L)], width=widths[name])
            for m, L in CONTRAST_GRAMMARS for name in _headline_rules(m, L)
            for f in factors(name, L)
            for seed in _headline_seeds(name, m, L)]


# The rules whose narrow twins the capacity figure shows: the two contrastive rules, which
# reach backprop only when wide enough (VICReg and CLAPP++ add cost, not a new answer).
NARROW_RULES = ("CLAPP", "InfoNCE")


@sweep
def contrast_narrow() -> list[dict]:
    """CLAPP and InfoNCE at width 64 against P / P* (what capacity does), seeds 10-12."""
    lrs = chosen_rates()
    return [contrast_config(name, m, L, f, seed, lrs[(name, m, L)], width=64)
            for m, L in CONTRAST_GRAMMARS for name in NARROW_RULES for f in factors(name, L)
            for seed in HEADLINE_SEEDS]


@sweep
def contrast_labels() -> list[dict]:
    """Label-limited: 8 P* unlabelled inputs for CLAPP's and InfoNCE's self-supervision,
    P labels; BP on P labels."""
    lrs = chosen_rates()
    widths = headline_widths()
    out = []
    for m, L in LABEL_GRAMMARS:
        unlabelled = UNLABELLED * _scale(m, L)
        for f in LABEL_FACTORS:
            for seed in HEADLINE_SEEDS:
                out.append(contrast_config("BP", m, L, f, seed, lrs[("BP", m, L)],
                                           width=widths["BP"]))
                out += [contrast_config(name, m, L, f, seed, lrs[(name, m, L)],
                                        width=widths[name],
                                        rule_options={**VARIANTS[name].options,
                                                      "unlabelled": unlabelled})
                        for name in LABEL_RULES]
    return out


def label_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """Per rule, grammar and number of labels of ``contrast_labels``: test accuracy."""
    rows, records = [], load_sweep("contrast_labels", root)
    for name in RULES:
        for m, L in LABEL_GRAMMARS:
            recs = [r for r in records if label(r["config"]) == name
                    and (r["config"]["m"], r["config"]["L"]) == (m, L)]
            rows += [{"name": name, "m": m, "L": L, "labels": row["P"],
                      "ratio": row["P"] / _scale(m, L), "mean": row["mean"], "sem": row["sem"],
                      "n": row["n"]} for row in summarize(recs, ("P",))]
    return [r for r in rows if r["n"]]


# Is a local update that is closer to its global twin's a better one? CLAPP and InfoNCE
# blended with their twins (0: local, 1: the twin's update), and CLAPP's context variants,
# with the twin-cosine probe of rhmlib.probes.twins, on the reference and the depth-4 grammar at
# 2 P* (selection seeds: the test chooses nothing, it correlates).
BLENDS = (0.0, 0.3, 1.0)
TWIN_GRAMMARS = ((REFERENCE["m"], REFERENCE["L"]), (4, 4))


def _twin_probes(config: dict) -> tuple[str, ...]:
    return ("twins",)


@sweep(probes=_twin_probes)
def contrast_twins() -> list[dict]:
    """Blends of CLAPP and InfoNCE with their twins, and CLAPP's contexts, with cosines."""
    lrs = chosen_rates()
    out = []
    for m, L in TWIN_GRAMMARS:
        for name in ("CLAPP", "InfoNCE"):
            out += [contrast_config(name, m, L, 2, seed, lrs[(name, m, L)],
                                    rule_options={"blend": b})
                    for b in BLENDS for seed in SELECTION_SEEDS]
        out += [contrast_config(name, m, L, 2, seed, lrs[("CLAPP", m, L)])
                for name in ("CLAPP++ (top context)", "CLAPP++ (feedback context)",
                             "CLAPP++ (position predictors)") for seed in SELECTION_SEEDS]
    return out


def twin_points(root: Path = RESULTS_DIR) -> list[dict]:
    """Per run of ``contrast_twins``: variant, blend, grammar, mean cosine to its global
    twin's update over training (layers below the top self-supervised one, where the two
    can differ) and its test accuracy."""
    out = []
    for record in finished(load_sweep("contrast_twins", root)):
        c, cos = record["config"], record["probes"]["twins"]["cosines"]
        below = [x for row in cos for x in row[:-1] if x is not None]
        out.append({"name": label(c), "blend": c["rule_options"].get("blend", 0.0),
                    "m": c["m"], "L": c["L"], "seed": c["seed"],
                    "cosine": mean_sem(below)[0], "test": record["result"]["test_accuracy"]})
    return out


# Does each network learn the hierarchy? Each family's rules where they succeed and where
# they fail: the reference grammar at 0.5 P* and 4 P*, the depth-4 grammar and
# the grammar of most synonyms (m = 8) at 2 P*, with the per-layer probes of
# rhmlib.probes.hierarchy at every evaluation point.
HIERARCHY_RULES = ("BP", "FA", "DFA", "CLAPP", "InfoNCE")
HIERARCHY_CELLS = ((4, 3, 0.5), (4, 3, 4), (4, 4, 2), (8, 3, 2))


def _hierarchy_probes(config: dict) -> tuple[str, ...]:
    return ("hierarchy",)


@sweep(probes=_hierarchy_probes)
def hierarchy() -> list[dict]:
    """Per-layer hierarchy probes over training: 5 rules on 4 cells, seeds 10-12."""
    lrs = chosen_rates()
    widths = headline_widths()
    return [contrast_config(name, m, L, f, seed, lrs[(name, m, L)], width=widths[name])
            for m, L, f in HIERARCHY_CELLS for name in HIERARCHY_RULES for seed in HEADLINE_SEEDS]


# DRTP's hidden activity runs away on the RHM with ReLU units. Its paper bounds it with
# tanh units; here both bounds are tried: weight decay (scanned with the lr) on ReLU
# units, and tanh units, on the reference grammar. The positive control is the shallow
# network (one hidden layer, as in the shallow experiments of the DRTP paper) on the
# L = 2 grammar, next to backprop and DFA, with DRTP's two kinds of units.
DRTP_LRS = (1e-4, 1e-3, 1e-2)
DRTP_DECAYS = (1e-4, 1e-3, 1e-2)
SHALLOW = {**REFERENCE, "L": 2, "model": "fcn", "width": 256, "n_test": 192}
SHALLOW_LRS = {"bp": (0.03, 0.1, 0.3), "dfa": (0.003, 0.01, 0.03), "drtp": DRTP_LRS,
               "pepita": (0.003, 0.01, 0.03)}


@sweep
def drtp_control() -> list[dict]:
    """DRTP bounded by weight decay or tanh units; DRTP, PEPITA, DFA, BP shallow, 3 seeds."""
    bounded = [{**REFERENCE, "P": 4000, "rule": "drtp", "seed": seed, **BUDGET, "lr": lr,
                "weight_decay": decay}
               for lr in DRTP_LRS for decay in DRTP_DECAYS for seed in SELECTION_SEEDS]
    tanh = [{**REFERENCE, "P": 4000, "rule": "drtp", "seed": seed, **BUDGET, "lr": lr,
             "activation": "tanh"} for lr in DRTP_LRS for seed in SELECTION_SEEDS]
    shallow = [{**SHALLOW, "P": P, "rule": rule, "seed": seed, "lr": lr, "retries": 0,
                **({"activation": act} if act != "relu" else {})}
               for rule, lrs in SHALLOW_LRS.items() for act in _units(rule) for lr in lrs
               for P in (256, 512, 768) for seed in SELECTION_SEEDS]
    return bounded + tanh + shallow


def _units(rule: str) -> tuple[str, ...]:
    return ("relu", "tanh") if rule == "drtp" else ("relu",)


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
            for P in (2000, 8000) for lr in (0.003, 0.01, 0.03) for seed in SELECTION_SEEDS]



# -- the chapters' numbers -------------------------------------------------------------

DEPTH, SYNONYMS = "depth L (m = 4)", "synonyms m (L = 3)"


def cell_records(root: Path = RESULTS_DIR, narrow: bool = False
                 ) -> dict[tuple[str, int, int], list[dict]]:
    """Finished runs against P per (rule, m, L): every rule at its preferred width (the
    headline), or with ``narrow`` the self-supervised rules at width 64."""
    name = "contrast_narrow" if narrow else "contrast_P"
    cells: dict[tuple[str, int, int], list[dict]] = {}
    for record in finished(load_sweep(name, root)):
        c = record["config"]
        cells.setdefault((label(c), c["m"], c["L"]), []).append(record)
    return cells


def scaling_rows(root: Path = RESULTS_DIR, narrow: bool = False) -> list[dict]:
    """Per rule or variant and grammar: ``P_90 / P*`` and the accuracies at ``2 P*``.

    Keys: ``name``, ``m``, ``L``, ``p90``, ``low``, ``high`` (``P_90 / P*`` with its 68%
    bootstrap interval over seeds; inf where the largest ``P`` tried falls short),
    ``largest`` (that ``P / P*``), ``smallest`` (the smallest; ``p90`` equal to it is an
    upper bound: 90% from the first point on), ``bound`` (a run at or below ``p90``
    stopped at its step cap, still improving: ``p90`` is an upper bound), ``test``,
    ``test_sem``, ``train`` (mean accuracies at ``2 P*``) and ``n`` (seeds there).
    """
    rows = []
    for (rule, m, L), recs in cell_records(root, narrow).items():
        scale = _scale(m, L)
        summary = p90_summary(recs)
        point, low, high = summary["p90"], summary["low"], summary["high"]
        at = [r["result"] for r in recs if r["config"]["P"] == round(2 * scale)]
        test, sem, n = mean_sem(r["test_accuracy"] for r in at)
        rows.append({"name": rule, "m": m, "L": L, "p90": point / scale, "low": low / scale,
                     "high": high / scale,
                     "largest": max(r["config"]["P"] for r in recs) / scale,
                     "smallest": min(r["config"]["P"] for r in recs) / scale,
                     "bound": summary["bound"], "test": test, "test_sem": sem,
                     "train": mean_sem(r["train_accuracy"] for r in at)[0], "n": n})
    return rows


def scaling_groups(rows: list[dict], names: tuple[str, ...] | None = None,
                   value: str = "p90") -> dict[str, dict[str, list[dict]]]:
    """:func:`scaling_rows` as the two panels of the depth and synonym figure.

    ``value="p90"``: rows for :func:`rhmlib.plots.interval_panels`; ``"test"``: the test
    accuracy at ``2 P*`` (mean, sem) for :func:`rhmlib.plots.panels`.
    """
    if value not in ("p90", "test"):
        raise ValueError(f"value must be 'p90' or 'test', got {value!r}")
    order = names or tuple(dict.fromkeys(r["name"] for r in rows))
    groups: dict[str, dict[str, list[dict]]] = {DEPTH: {}, SYNONYMS: {}}
    for name in order:
        for row in (r for r in rows if r["name"] == name):
            point = ({"mean": row["p90"], "low": row["low"], "high": row["high"],
                      "largest": row["largest"], "at_most": row["p90"] <= row["smallest"]}
                     if value == "p90"
                     else {"mean": row["test"], "sem": row["test_sem"], "n": row["n"]})
            # Keyed by the row's name, the variant itself, which the plots colour.
            if row["m"] == 4:
                groups[DEPTH].setdefault(row["name"], []).append({**point, "x": row["L"]})
            if row["L"] == 3:
                groups[SYNONYMS].setdefault(row["name"], []).append({**point, "x": row["m"]})
    return groups


def _train_test(recs: list[dict]) -> dict:
    test = mean_sem(r["result"]["test_accuracy"] for r in recs)
    return {"train": mean_sem(r["result"]["train_accuracy"] for r in recs)[0],
            "test": test[0], "test_sem": test[1], "n": test[2]}


def drtp_rows(root: Path = RESULTS_DIR) -> dict[str, list[dict]]:
    """DRTP bounded two ways on the reference grammar, and the shallow positive control.

    ``"bounded"``: per units (``relu`` with a weight decay, or ``tanh``) and lr, train and
    test accuracy at P = 4,000 (diverged runs counted in ``diverged``). ``"shallow"``: per
    rule and units, at the lr chosen on the validation split at the largest P, train and
    test accuracy against P.
    """
    records = load_sweep("drtp_control", root)
    bounded = [r for r in records if r["config"]["model"] == "cnn"]
    shallow = [r for r in records if r["config"]["model"] == "fcn"]
    settings = [("relu", decay) for decay in DRTP_DECAYS] + [("tanh", 0.0)]
    rows = []
    for units, decay in settings:
        for lr in DRTP_LRS:
            mine = [r for r in bounded if (r["config"]["activation"], r["config"]["lr"],
                                           r["config"]["weight_decay"]) == (units, lr, decay)]
            done = finished(mine)
            rows.append({"units": units, "lr": lr, "weight_decay": decay,
                         "diverged": len(mine) - len(done), **(_train_test(done) if done else {})})
    out: dict[str, list[dict]] = {"bounded": rows, "shallow": []}
    largest = max(r["config"]["P"] for r in shallow)
    for rule in SHALLOW_LRS:
        for units in _units(rule):
            mine = [r for r in shallow if (r["config"]["rule"], r["config"]["activation"])
                    == (rule, units)]
            lr = best_lr([r for r in mine if r["config"]["P"] == largest])
            for P in sorted({r["config"]["P"] for r in mine}):
                done = finished(r for r in mine
                                if (r["config"]["lr"], r["config"]["P"]) == (lr, P))
                out["shallow"].append({"rule": rule_label(rule), "units": units, "lr": lr,
                                       "P": P, **_train_test(done)})
    return out


def pepita_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """PEPITA with its published recipe: train and test accuracy per P and lr."""
    records = load_sweep("pepita_recipe", root)
    rows = []
    for P in sorted({r["config"]["P"] for r in records}):
        for lr in sorted({r["config"]["lr"] for r in records}):
            mine = [r for r in records if (r["config"]["P"], r["config"]["lr"]) == (P, lr)]
            done = finished(mine)
            rows.append({"P": P, "lr": lr, "diverged": len(mine) - len(done),
                         **(_train_test(done) if done else {})})
    return rows


def hierarchy_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """Per rule and cell of :data:`HIERARCHY_CELLS`: the probes of every layer after training.

    Keys: ``name``, ``m``, ``L``, ``P``, ``sensitivity`` and ``own`` (per layer ``l``: the
    decodability of the level-``(L - l)`` node its unit group covers, the hidden variable
    that layer would represent if it learnt the hierarchy), each a list of ``(mean, sem)``
    over seeds of the last evaluation point, per layer; ``test`` (mean test accuracy) and
    ``n`` (seeds). Runs stop when they converge, each at its own step, so only their last
    points are averaged.
    """
    cells: dict[tuple[str, int, int, int], list[dict]] = {}
    for record in finished(load_sweep("hierarchy", root)):
        c = record["config"]
        cells.setdefault((label(c), c["m"], c["L"], c["P"]), []).append(record)
    rows = []
    for (name, m, L, P), recs in cells.items():
        last = [{"sensitivity": r["probes"]["hierarchy"]["sensitivity"][-1],
                 "decodability": r["probes"]["hierarchy"]["decodability"][-1]} for r in recs]
        rows.append({"name": name, "m": m, "L": L, "P": P, **probe_means(last, L),
                     "test": mean_sem(r["result"]["test_accuracy"] for r in recs)[0],
                     "n": len(recs)})
    return rows


def probe_means(points: list[dict], L: int) -> dict[str, list[tuple[float, float]]]:
    """Mean and sem over ``points`` (``sensitivity``, ``decodability`` of one evaluation
    each) of every layer's sensitivity and decodability of its own level."""
    return {"sensitivity": [mean_sem(p["sensitivity"][k] for p in points)[:2]
                            for k in range(L)],
            "own": [mean_sem(p["decodability"][k][L - 1 - k] for p in points)[:2]
                    for k in range(L)]}


def cell_name(m: int, L: int) -> str:
    """A grammar as the probes' panels name it: by its depth, and its m where not 4."""
    return f"L = {L}" if m == REFERENCE["m"] else f"m = {m}, L = {L}"


def hierarchy_groups(rows: list[dict], measure: str) -> dict[str, dict[str, list]]:
    """:func:`hierarchy_rows` as panels (one per cell) of ``measure`` against the layer."""
    if measure not in ("sensitivity", "own"):
        raise ValueError(f"measure must be 'sensitivity' or 'own', got {measure!r}")
    groups: dict[str, dict[str, list]] = {}
    for row in sorted(rows, key=lambda r: (r["m"], r["L"], r["P"])):
        panel = f"{cell_name(row['m'], row['L'])}, P = {row['P'] / _scale(row['m'], row['L']):g} P*"
        groups.setdefault(panel, {})[row["name"]] = [
            {"x": k + 1, "mean": mean, "sem": sem, "n": row["n"]}
            for k, (mean, sem) in enumerate(row[measure])]
    return groups

