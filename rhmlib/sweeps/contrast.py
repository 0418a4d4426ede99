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

import math
from pathlib import Path

from ..rhm import p_star
from ..stats import best_lr, finished, mean_sem, p90_interval, summarize
from ..tables import Table, p90_text, pm
from . import REFERENCE, RESULTS_DIR, feedback, load_sweep, sweep
from .feedback import BUDGET, GRAMMARS, grammar_factors
from .local import READOUT, SSL_TRAINING
from .variants import Variant, config_of, label_of, variants

__all__ = ["GRAMMAR_VARIANTS", "GRAMMAR_SCAN_SEEDS", "HIERARCHY_RULES", "HIERARCHY_P",
           "hierarchy", "VARIANTS", "label", "SSL_LRS", "SEEDS",
           "contrast_config", "contrast_lr", "contrast_lr_edge", "scan_records",
           "contrast_chosen_lrs", "contrast_P",
           "contrast_width", "contrast_budget",
           "drtp_control", "pepita_recipe", "WIDTHS", "WIDTH_RULES", "TWIN_VARIANTS",
           "contrast_twins", "TYPE1", "cell_records", "scaling_rows", "scaling_groups",
           "scaling_table", "width_rows", "width_table", "drtp_rows", "pepita_rows",
           "hierarchy_rows", "hierarchy_groups", "twin_points", "scan_curves",
           "chosen_lr_table", "fit_table", "budget_rows", "p90_ratio_text",
           "HEADLINE_WIDTHS", "contrast_headline", "headline_rows"]

# The local rules, their global twins (top-layer loss, trained end to end) and CLAPP++'s
# variants (top-layer context, one predictor per position); options beyond READOUT.
VARIANTS = variants(
    Variant("CLAPP", "clapp"), Variant("InfoNCE", "infonce"), Variant("VICReg", "vicreg"),
    Variant("CLAPP (global)", "clapp_global"), Variant("InfoNCE (global)", "infonce_global"),
    Variant("VICReg (global)", "vicreg_global"), Variant("Forward-Forward", "ff"),
    Variant("Forward-Forward (global)", "ff_global"),
    Variant("CLAPP++ (top context)", "clapp", {"context": "top"}),
    Variant("CLAPP++ (position predictors)", "clapp", {"predictor": "position"}),
    Variant("CLAPP++ (both)", "clapp", {"context": "top", "predictor": "position"}),
)
# Adam learning rates: the recipe's 0.02 in the middle, a factor of about 3 between steps.
SSL_LRS = (0.002, 0.006, 0.02, 0.06, 0.2)
SEEDS = range(3)
# Every variant is scanned and run on the reference grammar; on the other grammars the
# local rules but Forward-Forward, CLAPP's global twin, CLAPP++ with position predictors and
# the full CLAPP++ (the budget of about one night on two cores does not cover every
# variant on every grammar). Scans there use 2 seeds, as
# backprop's, FA's and DFA's grammar scans do; the reference grammar's, which set the
# recipes, use 3.
GRAMMAR_VARIANTS = ("CLAPP", "InfoNCE", "VICReg", "CLAPP (global)",
                    "CLAPP++ (position predictors)", "CLAPP++ (both)")
GRAMMAR_SCAN_SEEDS = range(2)
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
    return {**REFERENCE, "m": m, "L": L, "P": round(factor * p_star(REFERENCE["n_c"], m, L)),
            **config_of(VARIANTS[name], READOUT), "seed": seed, **SSL_TRAINING, "lr": lr,
            "n_test": _n_test(L), **changes}


def label(config: dict) -> str:
    """The variant label of a config or a record's (inverse of :func:`contrast_config`)."""
    return label_of(config, VARIANTS.values(), READOUT)


def _cells() -> list[tuple[str, int, int]]:
    """The ``(variant, m, L)`` of the contrast sweeps: see :data:`GRAMMAR_VARIANTS`."""
    reference = (REFERENCE["m"], REFERENCE["L"])
    return [(name, m, L) for m, L in GRAMMARS for name in VARIANTS
            if (m, L) == reference or name in GRAMMAR_VARIANTS]


def _scan_seeds(m: int, L: int) -> range:
    return SEEDS if (m, L) == (REFERENCE["m"], REFERENCE["L"]) else GRAMMAR_SCAN_SEEDS


@sweep
def contrast_lr() -> list[dict]:
    """Self-supervised variants: lr scan at P = 2 P* on every grammar (3 or 2 seeds)."""
    return [contrast_config(name, m, L, 2, seed, lr) for name, m, L in _cells()
            for lr in SSL_LRS for seed in _scan_seeds(m, L)]


def _scan_cells(*names: str, root: Path = RESULTS_DIR) -> dict[tuple[str, int, int], list[dict]]:
    """The records of the scans ``names`` per ``(variant, m, L)``."""
    cells: dict[tuple[str, int, int], list[dict]] = {}
    for name in names:
        for record in load_sweep(name, root):
            c = record["config"]
            cells.setdefault((label(c), c["m"], c["L"]), []).append(record)
    return cells


# One rate (a factor of about 3) beyond each end of SSL_LRS.
BEYOND = {SSL_LRS[0]: 0.0006, SSL_LRS[-1]: 0.6}


@sweep
def contrast_lr_edge() -> list[dict]:
    """Where the choice of ``contrast_lr`` is an end of its grid: the next rate beyond it."""
    return [contrast_config(name, m, L, 2, seed, BEYOND[lr])
            for (name, m, L), records in _scan_cells("contrast_lr").items()
            if (lr := best_lr(records)) in BEYOND for seed in _scan_seeds(m, L)]


def scan_records(root: Path = RESULTS_DIR) -> dict[tuple[str, int, int], list[dict]]:
    """Per ``(variant, m, L)``: every run of its lr scan (``contrast_lr`` and its extension)."""
    return _scan_cells("contrast_lr", "contrast_lr_edge", root=root)


def contrast_chosen_lrs(root: Path = RESULTS_DIR) -> dict[tuple[str, int, int], float]:
    """Per ``(variant, m, L)``: the lr of its scan chosen on the validation split."""
    return {key: best_lr(records) for key, records in scan_records(root).items()}


@sweep
def contrast_P() -> list[dict]:
    """Self-supervised variants against P / P* (1, 2, 4; 1, 2, 3 at L = 2) at the chosen lr."""
    lrs = contrast_chosen_lrs()
    return [contrast_config(name, m, L, f, seed, lrs[(name, m, L)]) for name, m, L in _cells()
            for f in grammar_factors("BP", L) for seed in SEEDS]


@sweep
def contrast_budget() -> list[dict]:
    """CLAPP and InfoNCE with four times the self-supervised steps (4,000), deepest grammars."""
    lrs = contrast_chosen_lrs()
    return [contrast_config(name, m, L, 2, seed, lrs[(name, m, L)], steps=4000)
            for m, L in ((4, 4), (4, 5)) for name in ("CLAPP", "InfoNCE")
            for seed in SEEDS]


@sweep
def contrast_width() -> list[dict]:
    """Every rule's recipe at widths 64, 128 and 256 on the reference grammar, 3 seeds.

    The learning rate is each recipe's (chosen at width 64), the same at every width.
    """
    return [{**REFERENCE, "P": P, "rule": rule, "width": width, "seed": seed,
             "n_test": BUDGET["n_test"]}
            for rule in WIDTH_RULES for width in WIDTHS for P in WIDTH_P for seed in SEEDS]


# The headline of the width comparison, each rule at its preferred width: 10 seeds.
HEADLINE_WIDTHS = {"bp": 64, "clapp": 256, "infonce": 256}
HEADLINE_SEEDS = range(10)


@sweep
def contrast_headline() -> list[dict]:
    """BP, CLAPP and InfoNCE at their preferred widths, P = 1,000 to 4,000, 10 seeds."""
    return [{**REFERENCE, "P": P, "rule": rule, "width": width, "seed": seed,
             "n_test": BUDGET["n_test"]}
            for rule, width in HEADLINE_WIDTHS.items() for P in WIDTH_P
            for seed in HEADLINE_SEEDS]


def headline_rows(root: Path = RESULTS_DIR) -> dict[str, dict]:
    """Per rule of :data:`HEADLINE_WIDTHS`: ``P_90`` with its 68% interval over 10 seeds."""
    out = {}
    for rule, width in HEADLINE_WIDTHS.items():
        recs = [r for r in finished(load_sweep("contrast_headline", root))
                if r["config"]["rule"] == rule]
        point, low, high = p90_interval(recs)
        out[rule] = {"width": width, "p90": point, "low": low, "high": high,
                     "n": len({r["config"]["seed"] for r in recs})}
    return out


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
    shallow = [{**SHALLOW, "P": P, "rule": rule, "seed": seed, "lr": lr, "retries": 0}
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


# Is a local update that is closer to its global twin's a better one? Every local variant
# with the twin-cosine probe of rhmlib.twins: the reference grammar at P* and 2 P*, and
# the depth-4 grammar at 2 P*, at the learning rates chosen by contrast_lr.
TWIN_VARIANTS = tuple(name for name in VARIANTS if "global" not in name)
TWIN_CELLS = ((REFERENCE["m"], REFERENCE["L"], 1), (REFERENCE["m"], REFERENCE["L"], 2),
              (4, 4, 2))


def _twin_probes(config: dict) -> tuple[str, ...]:
    return ("twins",)


@sweep(probes=_twin_probes)
def contrast_twins() -> list[dict]:
    """Local variants recording the cosine to their global twin's update, 3 seeds."""
    lrs = contrast_chosen_lrs()
    return [contrast_config(name, m, L, f, seed, lrs[(name, m, L)])
            for m, L, f in TWIN_CELLS for name in TWIN_VARIANTS if (name, m, L) in lrs
            for seed in SEEDS]


# -- the chapters' numbers -------------------------------------------------------------

TYPE1 = ("BP", "FA", "DFA")
DEPTH, SYNONYMS = "depth L (m = 4)", "synonyms m (L = 3)"


def _scale(m: int, L: int) -> int:
    return p_star(REFERENCE["n_c"], m, L)


def cell_records(root: Path = RESULTS_DIR) -> dict[tuple[str, int, int], list[dict]]:
    """Finished runs against P per (rule or variant, m, L).

    Backprop, FA and DFA from ``grammar_P`` (5,000 SGD steps, cosine decay), the
    self-supervised variants from ``contrast_P`` (1,000 self-supervised steps, then 1,000
    readout steps), each at the learning rate its scan chose on that grammar.
    """
    cells: dict[tuple[str, int, int], list[dict]] = {}
    for record in finished(load_sweep("grammar_P", root)):
        c = record["config"]
        if feedback.label(c) in TYPE1:
            cells.setdefault((feedback.label(c), c["m"], c["L"]), []).append(record)
    for record in finished(load_sweep("contrast_P", root)):
        c = record["config"]
        cells.setdefault((label(c), c["m"], c["L"]), []).append(record)
    return cells


def scaling_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """Per rule or variant and grammar: ``P_90 / P*`` and the accuracies at ``2 P*``.

    Keys: ``name``, ``m``, ``L``, ``p90``, ``low``, ``high`` (``P_90 / P*`` with its 68%
    bootstrap interval over seeds; inf where the largest ``P`` tried falls short),
    ``largest`` (that ``P / P*``), ``smallest`` (the smallest; ``p90`` equal to it is an
    upper bound: 90% from the first point on), ``test``, ``test_sem``, ``train`` (mean
    accuracies at
    ``2 P*``) and ``n`` (seeds there).
    """
    rows = []
    for (name, m, L), recs in cell_records(root).items():
        scale = _scale(m, L)
        point, low, high = p90_interval(recs)
        at = [r["result"] for r in recs if r["config"]["P"] == round(2 * scale)]
        test, sem, n = mean_sem(r["test_accuracy"] for r in at)
        rows.append({"name": name, "m": m, "L": L, "p90": point / scale, "low": low / scale,
                     "high": high / scale,
                     "largest": max(r["config"]["P"] for r in recs) / scale,
                     "smallest": min(r["config"]["P"] for r in recs) / scale,
                     "test": test, "test_sem": sem,
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
            if row["m"] == 4:
                groups[DEPTH].setdefault(name, []).append({**point, "x": row["L"]})
            if row["L"] == 3:
                groups[SYNONYMS].setdefault(name, []).append({**point, "x": row["m"]})
    return groups


def p90_ratio_text(row: dict) -> str:
    """``P_90 / P*`` of a :func:`scaling_rows` row with its interval, or '> largest'."""
    if not math.isfinite(row["p90"]):
        return f"> {row['largest']:g}"
    if row["p90"] <= row["smallest"]:
        return f"≤ {row['smallest']:g}"
    high = "∞" if not math.isfinite(row["high"]) else f"{row['high']:.2f}"
    return f"{row['p90']:.2f} [{row['low']:.2f}, {high}]"


def scaling_table(rows: list[dict], names: tuple[str, ...] | None = None) -> Table:
    """``P_90 / P*`` [68% interval] per rule (rows) and grammar (columns)."""
    grammars = sorted({(r["m"], r["L"]) for r in rows}, key=lambda g: (g[0] != 4, g))
    order = names or tuple(dict.fromkeys(r["name"] for r in rows))
    cells = {(r["name"], r["m"], r["L"]): r for r in rows}
    columns = [f"m={m} L={L}" for m, L in grammars]
    out = [{"rule": name, **{col: p90_ratio_text(cells[(name, m, L)])
                             for col, (m, L) in zip(columns, grammars) if (name, m, L) in cells}}
           for name in order]
    return Table(out, ["rule", *columns], caption="P_90 / (n_c m^L) with its 68% bootstrap "
                 "interval over seeds; '> x': 90% not reached at the largest P tried; "
                 "'≤ x': reached already at the smallest")


def width_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """Per rule and width on the reference grammar: ``P_90`` [68% interval], accuracy at 2,000."""
    cells: dict[tuple[str, int], list[dict]] = {}
    for record in finished(load_sweep("contrast_width", root)):
        c = record["config"]
        cells.setdefault((c["rule"], c["width"]), []).append(record)
    rows = []
    for (rule, width), recs in sorted(cells.items(), key=lambda kv: (
            WIDTH_RULES.index(kv[0][0]), kv[0][1])):
        point, low, high = p90_interval(recs)
        test, sem, n = mean_sem(r["result"]["test_accuracy"] for r in recs
                                if r["config"]["P"] == 2000)
        rows.append({"rule": rule, "width": width, "p90": point, "low": low, "high": high,
                     "largest": max(WIDTH_P), "test": test, "test_sem": sem, "n": n})
    return rows


def width_table(rows: list[dict]) -> Table:
    """:func:`width_rows` with each rule's preferred width (the smallest ``P_90``)."""
    best = {}
    for row in rows:
        if row["rule"] not in best or row["p90"] < best[row["rule"]]["p90"]:
            best[row["rule"]] = row
    out = []
    for rule in dict.fromkeys(r["rule"] for r in rows):
        mine = {r["width"]: r for r in rows if r["rule"] == rule}
        out.append({"rule": RULE_LABELS.get(rule, rule), **{
            f"width {w}": f"{pm(r['test'], r['test_sem'])} · "
                          f"{p90_text(r['p90'], r['low'], r['high'], WIDTH_P)}"
            for w, r in mine.items()},
            "preferred width": best[rule]["width"] if math.isfinite(best[rule]["p90"])
            else "none reaches 90%"})
    return Table(out, ["rule", *(f"width {w}" for w in WIDTHS), "preferred width"],
                 caption="Reference grammar: test accuracy at P = 2,000 (mean ± sem, 3 seeds) "
                 "· P_90 [68% interval]; each rule's recipe, the same at every width")


RULE_LABELS = {"bp": "BP", "fa": "FA", "dfa": "DFA", "drtp": "DRTP", "pepita": "PEPITA",
               "clapp": "CLAPP", "infonce": "InfoNCE", "vicreg": "VICReg"}


def _train_test(recs: list[dict]) -> dict:
    test = mean_sem(r["result"]["test_accuracy"] for r in recs)
    return {"train": mean_sem(r["result"]["train_accuracy"] for r in recs)[0],
            "test": test[0], "test_sem": test[1], "n": test[2]}


def drtp_rows(root: Path = RESULTS_DIR) -> dict[str, list[dict]]:
    """DRTP with weight decay on the reference grammar, and the shallow positive control.

    ``"bounded"``: per lr and weight decay, train and test accuracy at P = 4,000 (diverged
    runs counted in ``diverged``). ``"shallow"``: per rule, at the lr chosen on the
    validation split at the largest P, train and test accuracy against P.
    """
    records = load_sweep("drtp_control", root)
    bounded = [r for r in records if r["config"]["model"] == "cnn"]
    shallow = [r for r in records if r["config"]["model"] == "fcn"]
    rows = []
    for lr in DRTP_LRS:
        for decay in DRTP_DECAYS:
            mine = [r for r in bounded if (r["config"]["lr"], r["config"]["weight_decay"])
                    == (lr, decay)]
            done = finished(mine)
            rows.append({"lr": lr, "weight_decay": decay, "diverged": len(mine) - len(done),
                         **(_train_test(done) if done else {})})
    out: dict[str, list[dict]] = {"bounded": rows, "shallow": []}
    largest = max(r["config"]["P"] for r in shallow)
    for rule in SHALLOW_LRS:
        mine = [r for r in shallow if r["config"]["rule"] == rule]
        lr = best_lr([r for r in mine if r["config"]["P"] == largest])
        for P in sorted({r["config"]["P"] for r in mine}):
            done = finished(r for r in mine if (r["config"]["lr"], r["config"]["P"]) == (lr, P))
            out["shallow"].append({"rule": RULE_LABELS[rule], "lr": lr, "P": P,
                                   **_train_test(done)})
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
    """Per rule, P and evaluation point: the probes of every hidden layer over seeds.

    Keys: ``rule``, ``P``, ``fraction`` (of the run's training steps), ``sensitivity``
    and ``own`` (per layer ``l``: the decodability of the level-``(L - l)`` node its unit
    group covers, the hidden variable that layer would represent if it learnt the
    hierarchy), each a list of ``(mean, sem)`` per layer; ``test`` (final test accuracy)
    and ``n`` (seeds).
    """
    cells: dict[tuple[str, int], list[dict]] = {}
    for record in finished(load_sweep("hierarchy", root)):
        cells.setdefault((record["config"]["rule"], record["config"]["P"]), []).append(record)
    rows = []
    for (rule, P), recs in cells.items():
        probes = [r["probes"]["hierarchy"] for r in recs]
        steps, L = probes[0]["steps"], recs[0]["config"]["L"]
        test = mean_sem(r["result"]["test_accuracy"] for r in recs)[0]
        for t, step in enumerate(steps):
            sens = [mean_sem(x for p in probes if (x := p["sensitivity"][t][k]) is not None)[:2]
                    for k in range(L)]
            own = [mean_sem(x for p in probes
                            if (x := p["decodability"][t][k][L - 1 - k]) is not None)[:2]
                   for k in range(L)]
            rows.append({"rule": RULE_LABELS[rule], "P": P, "fraction": step / steps[-1],
                         "sensitivity": sens, "own": own, "test": test, "n": len(recs)})
    return rows


def hierarchy_groups(rows: list[dict], measure: str, layer: int) -> dict[str, dict[str, list]]:
    """:func:`hierarchy_rows` as panels (one per P) of ``measure`` at ``layer`` (1-based)."""
    if measure not in ("sensitivity", "own"):
        raise ValueError(f"measure must be 'sensitivity' or 'own', got {measure!r}")
    groups: dict[str, dict[str, list]] = {}
    for row in sorted(rows, key=lambda r: (r["P"], r["fraction"])):
        mean, sem = row[measure][layer - 1]
        groups.setdefault(f"P = {row['P']:,}", {}).setdefault(row["rule"], []).append(
            {"x": row["fraction"], "mean": mean, "sem": sem, "n": row["n"]})
    return groups


def twin_points(root: Path = RESULTS_DIR) -> list[dict]:
    """Per run of ``contrast_twins``: its variant, grammar, P, mean cosine to its global
    twin's update over training (layers below the top self-supervised one, where the two
    can differ) and its test accuracy."""
    out = []
    for record in finished(load_sweep("contrast_twins", root)):
        c, cos = record["config"], record["probes"]["twins"]["cosines"]
        below = [x for row in cos for x in row[:-1] if x is not None]
        out.append({"name": label(c), "m": c["m"], "L": c["L"],
                    "ratio": c["P"] / _scale(c["m"], c["L"]), "seed": c["seed"],
                    "cosine": mean_sem(below)[0], "test": record["result"]["test_accuracy"]})
    return out


def scan_curves(m: int = REFERENCE["m"], L: int = REFERENCE["L"],
                root: Path = RESULTS_DIR) -> dict[str, list[dict]]:
    """Per variant on grammar ``(m, L)``: validation accuracy (mean, sem) against lr."""
    return {name: summarize(records, ("lr",), "val_accuracy")
            for (name, gm, gL), records in scan_records(root).items() if (gm, gL) == (m, L)}


def chosen_lr_table(root: Path = RESULTS_DIR) -> Table:
    """The chosen lr of every variant (rows) on every grammar (columns); '*' at a grid end."""
    cells = scan_records(root)
    grammars = sorted({(m, L) for _, m, L in cells}, key=lambda g: (g[0] != 4, g))
    columns = [f"m={m} L={L}" for m, L in grammars]
    rows = []
    for name in VARIANTS:
        row: dict = {"rule or variant": name}
        for col, (m, L) in zip(columns, grammars):
            if (name, m, L) in cells:
                records = cells[(name, m, L)]
                lr, grid = best_lr(records), sorted({r["config"]["lr"] for r in records})
                row[col] = f"{lr:g}" + ("*" if lr in (grid[0], grid[-1]) else "")
        rows.append(row)
    return Table(rows, ["rule or variant", *columns], caption="Learning rate chosen on the "
                 "validation split at P = 2 P* (Adam); * the end of the rates scanned")


def fit_table(rows: list[dict], grammars: tuple[tuple[int, int], ...],
              names: tuple[str, ...] | None = None) -> Table:
    """Train against test accuracy at ``2 P*`` on ``grammars``: underfitting or not?"""
    order = names or tuple(dict.fromkeys(r["name"] for r in rows))
    cells = {(r["name"], r["m"], r["L"]): r for r in rows}
    out = [{"grammar": f"m = {m}, L = {L}", "rule": name,
            "train accuracy": f"{cells[(name, m, L)]['train']:.3f}",
            "test accuracy": pm(cells[(name, m, L)]["test"], cells[(name, m, L)]["test_sem"])}
           for m, L in grammars for name in order if (name, m, L) in cells]
    return Table(out, ["grammar", "rule", "train accuracy", "test accuracy"],
                 caption="At P = 2 P*: mean training accuracy (the rule's readout on its "
                 "training set) and test accuracy (mean ± sem over seeds)")


def budget_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """``contrast_budget`` beside ``contrast_P`` at ``2 P*``: 1,000 against 4,000 steps."""
    longer = finished(load_sweep("contrast_budget", root))
    base = finished(load_sweep("contrast_P", root))
    rows = []
    for record_set, steps in ((base, SSL_TRAINING["steps"]), (longer, 4 * SSL_TRAINING["steps"])):
        cells: dict[tuple[str, int, int], list[dict]] = {}
        for r in record_set:
            c = r["config"]
            at_2 = c["P"] == round(2 * _scale(c["m"], c["L"]))
            if (c["m"], c["L"]) in ((4, 4), (4, 5)) and at_2 and c["steps"] == steps \
                    and label(c) in ("CLAPP", "InfoNCE"):
                cells.setdefault((label(c), c["m"], c["L"]), []).append(r)
        rows += [{"name": name, "m": m, "L": L, "steps": steps, **_train_test(recs)}
                 for (name, m, L), recs in sorted(cells.items())]
    return rows
