"""Chapter 03's page, "Direct feedback fails?": its tables, figures, numbers and claims.

The tables and the live measurement of the first updates are shared with chapter 04's
page (:mod:`rhmlib.pages.ch04`), which builds on this chapter's scans.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import plotly.graph_objects as go

from .. import plots, quantities
from .. import stats as _stats
from ..probes import live
from ..rhm import REFERENCE, p_star
from ..stats import best_row, finished, mean_sem, p90
from ..sweeps import RESULTS_DIR, contrast, load_sweep
from ..sweeps.feedback import (
    BUDGET,
    TYPE1,
    VARIANTS,
    all_records,
    angles_at_chosen_lr,
    at_chosen_lr,
    by_label,
    chosen_lrs,
    diverged,
    final_cosines,
    grammar_chosen_lrs,
    grammar_curves,
    grammar_name,
    headline_pepita,
    label,
    ordered_grammars,
    records,
    summary,
)
from ..sweeps.variants import rule_label
from ..tables import Table, p90_text, pm, recipes
from ..train import BASE
from . import Claim, cosine_range, final_losses, join

__all__ = [
    "spec", "initial_cosines", "seed_labels", "divergence", "lr_table", "diverged_table",
    "width_table", "steps_run", "stopping_table", "grammar_gaps", "grammar_train_table",
    "budget_table",
    "schedule_table", "collapses", "collapse_table", "cosine_table", "fit_table",
    "shallow_table", "numbers", "TEXTS", "CLAIMS", "lr_scan_figure", "headline_figure",
    "depth_figure", "synonyms_figure", "gaps_figure", "angles_figure", "exercise_numbers",
    "EXERCISE_TEXTS", "EXERCISE_CLAIMS",
]


def spec(name: str) -> live.Spec:
    """The rule and options of variant ``name`` (:data:`rhmlib.sweeps.feedback.VARIANTS`)."""
    return VARIANTS[name].rule, VARIANTS[name].options


def initial_cosines(seed: int = 0, batch_size: int = 128) -> dict[str, list[float]]:
    """Per-layer cosine to BP's update of each type-1 rule on one batch, at initialisation."""
    return live.initial_cosines({name: spec(name) for name in TYPE1[1:]}, spec("BP"),
                                BUDGET["width"], REFERENCE, seed, batch_size)


def seed_labels(curves: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """``curves`` with each variant's label followed by its number of seeds ("(3-10 seeds)")."""
    out = {}
    for name, rows in curves.items():
        low, high = min(r["n"] for r in rows), max(r["n"] for r in rows)
        seeds = f"{low}{'' if low == high else f'-{high}'} seeds"
        out[VARIANTS[name].relabelled(f"{name} ({seeds})")] = rows
    return out


def divergence(message: str) -> tuple[int | None, str]:
    """The step at which a diverged run stopped, and the sign of divergence, in words."""
    step = re.search(r"at step (\d+)", message)
    if "one class" in message:
        sign = "collapse to one class"
    elif "weights" in message and "reached" in message:
        sign = "runaway weights"
    elif "(loss" in message:
        sign = "loss not finite"
    else:
        sign = message.split(";")[0]
    return (int(step.group(1)) if step else None), sign


def _diverged_text(runs: list[dict], total: int) -> str:
    signs = sorted({divergence(r["diverged"])[1] for r in runs})
    return f"{len(runs)} of {total} ({', '.join(signs)})" if runs else "–"


def _seeds(n: int) -> str:
    return f"({n} seed{'' if n == 1 else 's'})"


def lr_table(
    scan: str | Iterable[dict], names: Iterable[str] | None = None, root: Path = RESULTS_DIR
) -> Table:
    """Per variant of a learning-rate scan: accuracy per lr, the chosen lr, diverged runs.

    Rows also hold ``name``, ``lr`` (chosen; None if every run diverged), ``mean``,
    ``sem``, ``n`` (at the chosen lr) and ``diverged`` (their number, at any lr).
    """
    recs, keep = all_records(scan, root), None if names is None else set(names)
    rows = []
    for name, mine in by_label(recs).items():
        if keep is not None and name not in keep:
            continue
        per_lr = []
        for lr in sorted({r["config"]["lr"] for r in mine}):
            at = [r for r in mine if r["config"]["lr"] == lr]
            done, lost = finished(at), _stats.diverged(at)
            accuracy = f"{mean_sem(r['result']['val_accuracy'] for r in done)[0]:.2f}" \
                if done else "diverged"
            per_lr.append(f"{lr:g}: {accuracy}" + (f" ({len(lost)} diverged)"
                                                   if lost and done else ""))
        done = finished(mine)
        best = best_row(mine) if done else {"lr": None, "mean": math.nan, "sem": math.nan,
                                            "n": 0}
        lost = _stats.diverged(mine)
        rows.append({
            "name": name, "lr": best["lr"], "mean": best["mean"], "sem": best["sem"],
            "n": best["n"], "diverged": len(lost), "variant": name,
            "validation accuracy per learning rate": "; ".join(per_lr),
            "chosen lr": "–" if best["lr"] is None else f"{best['lr']:g}",
            "test accuracy at the chosen lr": pm(best["mean"], best["sem"]),
            "seeds": best["n"], "diverged runs": _diverged_text(lost, len(mine)),
        })
    Ps = sorted({r["config"]["P"] for r in recs})
    where = f" at P = {Ps[0]:,}" if len(Ps) == 1 else ""
    return Table(rows, ["variant", "validation accuracy per learning rate", "chosen lr",
                        "test accuracy at the chosen lr", "seeds", "diverged runs"],
                 caption=f"Learning-rate scan{where}: mean validation accuracy per rate; the "
                 "chosen rate has the best mean among those at which no run diverged; its "
                 "test accuracy beside it (mean ± sem over seeds)")


def diverged_table(*scans: str | Iterable[dict], root: Path = RESULTS_DIR) -> Table:
    """Every diverged run of ``scans`` (sweep names or records): its setting and how it diverged."""
    rows = []
    for scan in scans:
        for record in _stats.diverged(all_records(scan, root)):
            c = record["config"]
            step, sign = divergence(record["diverged"])
            rows.append({"variant": label(c), "grammar": grammar_name(c["m"], c["L"]),
                         "P": f"{c['P']:,}", "width": c["width"], "lr": f"{c['lr']:g}",
                         "seed": c["seed"], "stopped at step": step, "sign": sign,
                         "config": c})
    columns = ["variant", "grammar", "P", "width", "lr", "seed", "stopped at step", "sign"]
    caption = ("Diverged runs, left out of the means" if rows else "No run diverged")
    return Table(rows, columns, caption=caption)


def width_table(
    wide: str | Iterable[dict] = "feedback_width", scan: str | Iterable[dict] = "feedback_lr",
    root: Path = RESULTS_DIR,
) -> Table:
    """Per rule: test accuracy at width 64 (the scan, chosen lr) and at width 128, same lr.

    Rows also hold ``name``, ``narrow`` and ``wide`` (summary rows, None where none finished).
    """
    narrow = summary(at_chosen_lr(scan, root=root), by=("width",))
    wide_recs = all_records(wide, root)
    lrs = {label(r["config"]): r["config"]["lr"] for r in wide_recs}
    wide_rows = summary(finished(wide_recs), by=("width",))
    rows = []
    for name, recs in by_label(wide_recs).items():
        a, b = narrow[name][0], (wide_rows.get(name) or [None])[0]
        rows.append({"name": name, "narrow": a, "wide": b, "variant": name,
                     "lr": f"{lrs[name]:g}",
                     f"width {a['width']}": f"{pm(a['mean'], a['sem'])} {_seeds(a['n'])}",
                     f"width {recs[0]['config']['width']}": "–" if b is None else
                     f"{pm(b['mean'], b['sem'])} {_seeds(b['n'])}",
                     "diverged": _diverged_text(_stats.diverged(recs), len(recs))})
    widths = [k for k in rows[0] if k.startswith("width ")] if rows else []
    P = next(iter(wide_recs))["config"]["P"] if rows else None
    return Table(rows, ["variant", "lr", *widths, "diverged"],
                 caption=f"Test accuracy at P = {P:,} against width, each rule at its chosen "
                 "learning rate (mean ± sem over seeds)" if rows else "")


def steps_run(record: dict) -> int:
    """The training steps of a finished run, over all its stages."""
    return sum(stage["steps"] for stage in record["result"]["stages"])


def stopping_table(recs: Iterable[dict]) -> Table:
    """Per variant: how long its runs trained before they stopped, and why.

    Rows also hold ``name``, ``steps`` (the mean steps run), ``capped`` (runs that stopped
    at the cap, not by convergence) and ``n``.
    """
    rows = []
    for name, mine in by_label(finished(recs)).items():
        steps = mean_sem([steps_run(r) for r in mine])
        best = mean_sem([r["result"]["stages"][-1]["best_step"] for r in mine])
        test = mean_sem([r["result"]["test_accuracy"] for r in mine])
        capped = len(_stats.capped(mine, x="seed"))
        rows.append({"name": name, "steps": steps[0], "capped": capped, "n": len(mine),
                     "rule": name, "steps run": f"{steps[0]:,.0f} ± {steps[1]:,.0f}",
                     "best validation at step": f"{best[0]:,.0f}",
                     "stopped at the cap": f"{capped} of {len(mine)}",
                     "test accuracy": pm(test[0], test[1])})
    return Table(rows, ["rule", "steps run", "best validation at step", "stopped at the cap",
                        "test accuracy"],
                 caption="How long each rule trained before its validation accuracy stopped "
                 "improving (mean ± sem over seeds)")


def grammar_gaps(
    curves: dict[tuple[int, int], dict[str, list[dict]]], at: int = 2
) -> dict[str, dict[str, list[dict]]]:
    """The depth and m dependence: per rule, the accuracy at ``P = at * P*`` and ``P_90 / P*``.

    Two groups of rows (key ``x``: L at m = 4, or m at L = 3), each row also carrying
    ``p90`` (P_90 / P*, inf where the grid never reaches 90%).
    """
    groups: dict[str, dict[str, list[dict]]] = {"depth L (m = 4)": {}, "m (L = 3)": {}}
    for (m, L), by_rule in sorted(curves.items()):
        for name, rows in by_rule.items():
            point = next(r for r in rows if r["ratio"] == at)
            row = {"m": m, "L": L, "mean": point["mean"], "sem": point["sem"], "n": point["n"],
                   "p90": p90(rows, 0.9, x="ratio")}
            if m == 4:
                groups["depth L (m = 4)"].setdefault(name, []).append({**row, "x": L})
            if L == 3:
                groups["m (L = 3)"].setdefault(name, []).append({**row, "x": m})
    return groups


def grammar_train_table(train: dict[tuple[int, int], dict[str, list[dict]]]) -> Table:
    """Per grammar and rule: the training accuracy at the largest P measured.

    ``train`` as ``grammar_curves(metric="train_accuracy")`` gives it. Rows also hold
    ``m``, ``L``, ``name``, ``ratio``, ``mean``, ``sem`` and ``n``.
    """
    rows = []
    for m, L in ordered_grammars(train):
        for name, points in train[(m, L)].items():
            last = max(points, key=lambda r: r["ratio"])
            rows.append({"m": m, "L": L, "name": name,
                         **{k: last[k] for k in ("ratio", "mean", "sem", "n")},
                         "grammar": grammar_name(m, L), "rule": name,
                         "largest P": f"{last['ratio']:g} P*",
                         "train accuracy there": pm(last["mean"], last["sem"]),
                         "seeds": last["n"]})
    return Table(rows, ["grammar", "rule", "largest P", "train accuracy there", "seeds"],
                 caption="Training accuracy at the largest P of each grammar and rule "
                 "(mean ± sem over seeds)")


def budget_table(
    longer: str | Iterable[dict] = "grammar_budget",
    curves: dict[tuple[int, int], dict[str, list[dict]]] | None = None,
    train: dict[tuple[int, int], dict[str, list[dict]]] | None = None,
    root: Path = RESULTS_DIR,
    converged: str | Iterable[dict] = "grammar_P",
) -> Table:
    """A fixed long budget against training to convergence, same grammar, rule, P and lr.

    ``curves`` and ``train`` (test and train accuracy of ``grammar_curves``) default to
    the cached ones. Rows also hold ``m``, ``L``, ``name``, ``steps``, the means
    ``test_before``, ``test_after``, ``train_before`` and ``train_after``, and
    ``steps_before``: the mean steps the converged runs (``converged``, by default
    ``grammar_P``'s) of the same cell trained.
    """
    curves = grammar_curves(root) if curves is None else curves
    train = grammar_curves(root, metric="train_accuracy") if train is None else train
    recs = finished(all_records(longer, root))
    cells: dict[tuple, list[int]] = {}
    for record in finished(all_records(converged, root)):
        c = record["config"]
        cells.setdefault((label(c), c["m"], c["L"], c["P"]), []).append(steps_run(record))
    by = ("m", "L", "P", "steps")
    test_rows, train_rows = summary(recs, by), summary(recs, by, metric="train_accuracy")
    rows = []
    for name, points in test_rows.items():
        for after, after_train in zip(points, train_rows[name]):
            grammar = (after["m"], after["L"])
            ratio = after["P"] / p_star(REFERENCE["n_c"], *grammar)
            before = next(r for r in curves[grammar][name] if r["ratio"] == ratio)
            before_train = next(r for r in train[grammar][name] if r["ratio"] == ratio)
            before_steps = cells.get((name, *grammar, after["P"]))
            steps_before = mean_sem(before_steps)[0] if before_steps else math.nan
            rows.append({
                "m": grammar[0], "L": grammar[1], "name": name, "steps": after["steps"],
                "steps_before": steps_before,
                "test_before": before["mean"], "test_after": after["mean"],
                "train_before": before_train["mean"], "train_after": after_train["mean"],
                "rule": name, "grammar": grammar_name(*grammar), "P": f"{ratio:g} P*",
                "steps to convergence": f"{steps_before:,.0f}" if before_steps else "–",
                "test, to convergence": pm(before["mean"], before["sem"]),
                f"test, {after['steps']:,} steps": pm(after["mean"], after["sem"]),
                "train, to convergence": pm(before_train["mean"], before_train["sem"]),
                f"train, {after['steps']:,} steps": pm(after_train["mean"], after_train["sem"]),
                "seeds": after["n"]})
    steps = sorted({r["steps"] for r in rows})
    columns = ["rule", "grammar", "P", "steps to convergence"]
    for kind in ("test", "train"):
        columns += [f"{kind}, to convergence", *(f"{kind}, {n:,} steps" for n in steps)]
    return Table(rows, [*columns, "seeds"],
                 caption="Test and train accuracy trained to convergence and with a fixed, "
                 "longer budget (mean ± sem over seeds)")


def schedule_table(
    headline: dict[str, list[dict]], curves: dict[tuple[int, int], dict[str, list[dict]]],
    P: int = 8000, ratio: float = 8, grammar: tuple[int, int] = (4, 3),
) -> Table:
    """The plateau lr of the headline sweep at ``P`` against the cosine lr at ``ratio * P*``.

    Rows also hold ``name``, ``plateau`` and ``cosine`` (the summary rows).
    """
    scale = p_star(REFERENCE["n_c"], *grammar)
    rows = []
    for name, points in curves[grammar].items():
        plateau = next((r for r in headline.get(name, []) if r["P"] == P), None)
        if plateau is None:
            continue
        cosine = next(r for r in points if r["ratio"] == ratio)
        rows.append({"name": name, "plateau": plateau, "cosine": cosine, "rule": name,
                     f"plateau lr, P = {P:,}": pm(plateau["mean"], plateau["sem"]),
                     f"cosine lr, P = {round(ratio * scale):,}": pm(cosine["mean"],
                                                                    cosine["sem"])})
    columns = ["rule", f"plateau lr, P = {P:,}", f"cosine lr, P = {round(ratio * scale):,}"]
    return Table(rows, columns, caption=f"The two protocols on the grammar {grammar_name(*grammar)}"
                 " (test accuracy, mean ± sem over seeds)")


def collapses(recs: Iterable[dict], peak: float = 0.5, floor: float = 0.15) -> list[dict]:
    """The finished runs whose test accuracy fell below ``floor`` after reaching ``peak``."""
    out = []
    for record in finished(recs):
        best = 0.0
        for accuracy in record["result"]["history"]["test_accuracy"]:
            if best >= peak and accuracy < floor:
                out.append(record)
                break
            best = max(best, accuracy)
    return out


def collapse_table(
    *scans: str | Iterable[dict], peak: float = 0.5, floor: float = 0.15,
    root: Path = RESULTS_DIR,
) -> Table:
    """Every run of ``scans`` that collapsed to near chance mid-training (see :func:`collapses`).

    Rows also hold ``name``, ``m``, ``L``, ``P`` and ``seed`` (numbers) and ``history``.
    """
    rows = []
    for scan in scans:
        for record in collapses(all_records(scan, root), peak, floor):
            c, history = record["config"], record["result"]["history"]
            accs = history["test_accuracy"]
            top = max(range(len(accs)), key=accs.__getitem__)
            low = min(range(top, len(accs)), key=accs.__getitem__)
            rows.append({"name": label(c), "m": c["m"], "L": c["L"], "P": c["P"],
                         "seed": c["seed"], "history": accs, "variant": label(c),
                         "grammar": grammar_name(c["m"], c["L"]), "training points": f"{c['P']:,}",
                         "lr": f"{c['lr']:g}",
                         "test accuracy: best, then lowest": f"{accs[top]:.2f} (step "
                         f"{history['step'][top]:,}), then {accs[low]:.2f} (step "
                         f"{history['step'][low]:,})", "at the end": f"{accs[-1]:.2f}"})
    columns = ["variant", "grammar", "training points", "seed", "lr",
               "test accuracy: best, then lowest", "at the end"]
    return Table(rows, columns, caption=(
        f"Runs whose test accuracy fell below {floor:g} after reaching {peak:g}" if rows else
        "No run collapsed"))


def cosine_table(cosines: dict[str, Sequence[float | None]], caption: str = "") -> Table:
    """Per rule: the cosine of its update to BP's at each hidden layer and the readout.

    Rows also hold ``name`` and ``cosines`` (the values, None where undefined).
    """
    rows, n = [], max((len(v) for v in cosines.values()), default=1)
    layers = [f"layer {k + 1}" for k in range(n - 1)] + ["readout"]
    for name, values in cosines.items():
        cells = {layer: "–" if c is None or math.isnan(c) else f"{c:+.2f}"
                 for layer, c in zip(layers, values)}
        rows.append({"name": name, "cosines": list(values), "rule": name, **cells})
    return Table(rows, ["rule", *layers], caption=caption or
                 "Cosine between the rule's update and backprop's (1: same direction)")


# -- why DRTP and PEPITA fail: the tables of the sweeps drtp_control and pepita_recipe ---------

def _fit_cells(row: dict, loss: float | None) -> dict:
    """Diverged runs, training and test accuracy and final training loss of one setting."""
    done = row.get("n", 0)
    return {"diverged": f"{row['diverged']} of {row['diverged'] + done}",
            "train accuracy": f"{row['train']:.3f}" if done else "–",
            "test accuracy": pm(row["test"], row["test_sem"]) if done else "–",
            "training loss": f"{loss:.3g}" if done else "–"}


def fit_table(numbers: dict) -> Table:
    """DRTP with weight decay and PEPITA with its published recipe: fit, accuracy, loss."""
    control, recipe = numbers["control"], numbers["recipe"]
    drtp_loss, pepita_loss = numbers["drtp_loss"], numbers["pepita_loss"]
    return Table(
        [{"rule": "DRTP", "units": r["units"], "P": "4,000", "lr": f"{r['lr']:g}",
          "weight decay": f"{r['weight_decay']:g}",
          **_fit_cells(r, drtp_loss.get(("cnn", r["lr"], r["weight_decay"])))}
         for r in control["bounded"]]
        + [{"rule": "PEPITA, published recipe", "units": "relu", "P": f"{r['P']:,}",
            "lr": f"{r['lr']:g}", "weight decay": "0",
            **_fit_cells(r, pepita_loss.get((r["P"], r["lr"])))}
           for r in recipe],
        ["rule", "units", "P", "lr", "weight decay", "diverged", "train accuracy",
         "test accuracy", "training loss"],
        caption="Reference grammar, hierarchical CNN of width 64, 3 seeds per row. Accuracies: "
        "mean (± sem) over the runs that finished; training loss: their median cross-entropy "
        f"over the last tenth of training (ln 16 = {math.log(16):.2f} at chance)")


def shallow_table(numbers: dict) -> Table:
    """The positive control: each rule's test (and training) accuracy against P."""
    control = numbers["control"]
    shallow_cells: dict[tuple[str, str, float], dict[str, str]] = {}
    for r in control["shallow"]:
        shallow_cells.setdefault((r["rule"], r["units"], r["lr"]), {})[f"P = {r['P']}"] = (
            f"{pm(r['test'], r['test_sem'], 2)} ({r['train']:.2f})")
    return Table(
        [{"rule": rule, "units": units, "lr": f"{lr:g}", **cells}
         for (rule, units, lr), cells in shallow_cells.items()],
        ["rule", "units", "lr",
         *(f"P = {P}" for P in sorted({r["P"] for r in control["shallow"]}))],
        caption="Positive control: one hidden layer of 256 units on the L = 2 grammar, each "
        "run trained to convergence, each rule at the learning rate chosen on the validation "
        "split. Test accuracy, mean ± sem over 3 seeds (training accuracy)")


# -- the numbers the prose cites ----------------------------------------------------------------

def _first() -> dict:
    """The first updates against backprop's (live, one batch at initialisation)."""
    first = initial_cosines()
    hidden_first = [abs(c) for cosines in first.values() for c in cosines[:-1]]
    return {"first": first, "c03-first-max": max(hidden_first),
            "c03-first-pepita": first["PEPITA"][-1]}


def _scan(root: Path) -> dict:
    """The learning-rate scan at P = 4000 and the progress of its runs during training."""
    scan = summary(records("feedback_lr", root), by=("lr",))
    best_in_scan = {name: max(r["mean"] for r in scan[name]) for name in TYPE1}
    stopping = stopping_table(at_chosen_lr("feedback_lr", root=root))
    stops = {r["name"]: r for r in stopping.rows}
    x10_all = [r for r in all_records("feedback_lr", root)
               if label(r["config"]) == "PEPITA (F x10)"]
    x10 = finished(x10_all)
    capped = sum(r["capped"] for r in stopping.rows)
    total = sum(r["n"] for r in stopping.rows)
    return {
        "scan": scan, "scan_lrs": chosen_lrs("feedback_lr", root), "best_in_scan": best_in_scan,
        "pepita_x10_finished": x10,
        "c03-x10-best": max((r["result"]["test_accuracy"] for r in x10), default=1 / 16),
        "c03-x10-lost": len(x10_all) - len(x10), "c03-x10-runs": len(x10_all),
        "headline_pepita": headline_pepita(root),
        "c03-scan-drtp": best_in_scan["DRTP"], "c03-scan-pepita": best_in_scan["PEPITA"],
        "recipes": recipes(["bp", "fa", "dfa", "drtp", "pepita"]), "stopping": stopping,
        "stops": stops, "capped": capped, "c03-patience": BASE["patience"],
        "c03-halve": BASE["patience"] // 2, "c03-min-steps": BASE["min_steps"],
        "c03-max-steps": BASE["max_steps"], "c03-epochs": BASE["epochs"],
        **{f"c03-steps-{name.lower()}": stops[name]["steps"] for name in ("BP", "FA", "DFA")},
        "c03-capped": ("every one of them stopped because it had converged, none at the cap"
                       if not capped else f"{capped} of the {total} stopped at the cap, still "
                       "improving, so their accuracy is a lower bound"),
    }


def _headline(root: Path, scan_lrs: dict[str, float]) -> dict:
    """Accuracy against P at each rule's chosen rate, P_90, and twice the width."""
    curves = summary(records("feedback_P", root), by=("P",))
    headline = p90_table(curves, scan_lrs)
    best = {r["name"]: r for r in headline.rows}
    width = width_table(root=root)
    wide = {r["name"]: r for r in width.rows}
    return {
        "curves": curves, "headline": headline, "best": best,
        "ratio": {name: best[name]["p90"] / best["BP"]["p90"] for name in ("FA", "DFA")},
        "quantities": {name: quantities.get(name)
                       for name in ("bp-p90-long", "fa-ratio", "dfa-ratio")},
        "headline_diverged": diverged("feedback_P", root),
        "c03-drtp-best": best["DRTP"]["mean"], "c03-pepita-best": best["PEPITA"]["mean"],
        "width": width, "wide": wide,
        **{f"c03-width-{name.lower()}": wide[name]["wide"]["mean"] - wide[name]["narrow"]["mean"]
           for name in ("FA", "DFA")},
    }


def _controls(root: Path, best: dict) -> dict:
    """DRTP with weight decay, PEPITA's published recipe and the shallow positive control."""
    control, recipe = contrast.drtp_rows(root), contrast.pepita_rows(root)
    drtp_loss = final_losses(load_sweep("drtp_control", root), ("model", "lr", "weight_decay"))
    pepita_loss = final_losses(load_sweep("pepita_recipe", root), ("P", "lr"))
    low, mid, high = contrast.DRTP_LRS
    weak, strong = min(contrast.DRTP_DECAYS), max(contrast.DRTP_DECAYS)
    relu = [r for r in control["bounded"] if r["units"] == "relu"]
    fitted = [r for r in relu if r.get("n")]
    tanh = max((r for r in control["bounded"] if r["units"] == "tanh" and r.get("n")),
               key=lambda r: r["test"])
    relu_loss = {(lr, d): drtp_loss[("cnn", lr, d)] for lr in contrast.DRTP_LRS
                 for d in contrast.DRTP_DECAYS}
    mid_loss = {d: relu_loss[(mid, d)] for d in contrast.DRTP_DECAYS}
    ran = [r for r in recipe if r.get("n")]
    top = max(ran, key=lambda r: r["test"])
    # Every rule with ReLU units, as on the reference grammar; DRTP's tanh units apart.
    ctl: dict[str, dict[int, dict]] = {}
    for r in control["shallow"]:
        ctl.setdefault(r["rule"] if r["units"] == "relu" else f"{r['rule']} ({r['units']})",
                       {})[r["P"]] = r
    sizes = sorted(ctl["BP"])
    first_P, last_P = sizes[0], sizes[-1]
    times = min(ctl[rule][P]["test"] for rule in ("DRTP", "PEPITA") for P in sizes) * 16
    drtp_fit = [ctl["DRTP"][P]["train"] for P in sizes]
    pepita_fit = [ctl["PEPITA"][P]["train"] for P in sizes]
    edge = [rule for rule, lrs in contrast.SHALLOW_LRS.items() if rule in ("drtp", "pepita")
            and ctl[rule_label(rule)][last_P]["lr"] == max(lrs)]
    names = [rule_label(r) for r in edge]
    return {
        "control": control, "recipe": recipe, "drtp_loss": drtp_loss, "pepita_loss": pepita_loss,
        "drtp_lrs": (low, mid, high), "fitted": fitted, "relu_loss": relu_loss,
        "tanh": tanh, "pepita_fit": pepita_fit,
        "mid_loss": mid_loss, "weak": weak, "strong": strong, "ran": ran, "top": top,
        "pepita_best": best["PEPITA"]["mean"],
        "ctl": ctl, "sizes": sizes, "first_P": first_P, "last_P": last_P, "drtp_fit": drtp_fit,
        "gain": {rule: rows[last_P]["test"] - rows[first_P]["test"] for rule, rows in ctl.items()},
        "c03-wd-train": max((r["train"] for r in fitted), default=math.nan),
        "c03-wd-loss-weak": mid_loss[weak], "c03-wd-loss-strong": mid_loss[strong],
        "c03-wd-loss-high": min(relu_loss[(high, d)] for d in contrast.DRTP_DECAYS),
        "c03-tanh-test": tanh["test"], "c03-tanh-train": tanh["train"], "c03-tanh-lr": tanh["lr"],
        "c03-recipe-test": top["test"], "c03-recipe-train": top["train"],
        "c03-recipe-P": top["P"], "c03-recipe-lr": top["lr"],
        "c03-ctl-times": times,
        **{f"c03-ctl-{rule.lower()}-{P}": ctl[rule][P]["test"] for rule in ctl
           if rule in ("BP", "DFA", "DRTP", "PEPITA") for P in (first_P, last_P)},
        "c03-ctl-drtp-tanh": ctl["DRTP (tanh)"][last_P]["test"],
        "c03-ctl-pepita-fit": pepita_fit[0], "c03-ctl-pepita-fit-last": pepita_fit[-1],
        "c03-ctl-drtp-fit": drtp_fit[-1],
        "c03-ctl-edge": "" if not edge else (
            f"The {'rates' if len(edge) > 1 else 'rate'} chosen for {join(names)} "
            f"{'are' if len(edge) > 1 else 'is'} the largest of the three tried, so a larger "
            "one might do a little better."),
    }


HARDEST = ((4, 4), (4, 5), (6, 3), (8, 3))


def _grammars(root: Path, curves: dict[str, list[dict]]) -> dict:
    """The depth and synonym scans: accuracy, P_90, fit, longer budget, schedules, collapses."""
    grammars = grammar_curves(root)
    gaps = grammar_gap_table(grammars, grammar_chosen_lrs(root))
    train = grammar_curves(root, metric="train_accuracy")
    train_table = grammar_train_table(train)
    gap = {(r["m"], r["L"], r["name"]): r for r in gaps.rows}
    fit = {(r["m"], r["L"], r["name"]): r for r in train_table.rows}
    bp90 = [r["p90"] for r in gaps.rows if r["name"] == "BP"]
    hard_top = max(grammars[g][n][-1]["mean"] for g in HARDEST for n in ("FA", "DFA"))
    hard_gain = max(grammars[g][n][-1]["mean"] - grammars[g][n][0]["mean"]
                    for g in HARDEST for n in ("FA", "DFA"))
    hard_fit = max(fit[(*g, n)]["mean"] for g in HARDEST for n in ("FA", "DFA"))
    budget = budget_table(curves=grammars, train=train, root=root)
    test_gains = [row["test_after"] - row["test_before"] for row in budget.rows]
    train_gains = [row["train_after"] - row["train_before"] for row in budget.rows]
    budget_times = [row["steps"] / row["steps_before"] for row in budget.rows]
    collapses = collapse_table("grammar_P", root=root)
    schedules = schedule_table(curves, grammars)
    higher = {row["cosine"]["mean"] > row["plateau"]["mean"] for row in schedules.rows
              if row["name"] in ("FA", "DFA")}
    schedule_word = ("no different" if len(higher) != 1 else "higher" if higher.pop()
                     else "lower")
    last = [r for r in records("grammar_P", root) if r["config"]["rule"] == "bp"
            and (r["config"]["m"], r["config"]["L"], r["config"]["P"])
            == (4, 5, 4 * p_star(16, 4, 5))]
    unfit = sum(r["result"]["train_accuracy"] < 0.99 for r in last)
    unfit_text = (f"At L = 5 and 4 P*, {unfit} of its {len(last)} seeds had not fit their "
                  "training set when they stopped, hence the dip of its curve there. "
                  if unfit else f"Backprop, for its part, fits every training set at L = 5 and "
                  f"4 P* by the time it stops ({len(last)} seeds). ")
    collapsed: dict[str, list[dict]] = {}
    for row in collapses.rows:
        collapsed.setdefault(row["name"], []).append(row)
    if collapsed:
        parts = [f"{len(rows)} of {name}'s (on "
                 f"{join(list(dict.fromkeys(r['grammar'] for r in rows)))})"
                 for name, rows in collapsed.items()]
        collapse_text = (
            "A few runs fell to near chance accuracy partway through training, at the rates "
            f"their scans chose: {join(parts)}; some for good, some recovering partly or fully, "
            "they make the dips of those curves. These runs finished (their weights stayed "
            "bounded and they never gave every input one class), so they count in the means:")
    else:
        collapse_text = ("No run fell to near chance partway through training at the "
                         "learning rates the scans chose on the validation split.")
    return {
        "grammars": grammars, "gaps": gaps, "train": train, "train_table": train_table,
        "gap": gap, "fit": fit, "bp90": bp90, "budget": budget,
        "test_gains": test_gains, "train_gains": train_gains, "budget_times": budget_times,
        "c03-budget-steps": max((row["steps"] for row in budget.rows), default=0),
        "c03-budget-times": min(budget_times, default=math.nan),
        "schedules": schedules, "c03-schedule": schedule_word,
        "curve_diverged": diverged("grammar_P", root) + diverged("grammar_budget", root),
        "collapses": collapses, "last": last, "unfit": unfit,
        "curve_runs": len(records("grammar_P", root)),
        "c03-bp-p90-max": max(bp90), "c03-bp-p90-hard": max(gap[(*g, "BP")]["p90"]
                                                             for g in HARDEST),
        "c03-hard-top": hard_top, "c03-hard-gain": hard_gain, "c03-hard-fit": hard_fit,
        "c03-deepest-top": max(r["mean"] for n in ("FA", "DFA") for r in grammars[(4, 5)][n]),
        "c03-budget-train-low": min(train_gains, default=math.nan),
        "c03-budget-train-high": max(train_gains, default=math.nan),
        "c03-budget-test-high": max(test_gains, default=math.nan),
        "c03-bp-unfit": unfit_text,
        "c03-bp-collapse-text": collapse_text,
    }


def _angles(root: Path) -> dict:
    """The update cosines to backprop's over training, at each rule's chosen rate."""
    angle_sets = {k: v for k, v in angles_at_chosen_lr("feedback_lr", root).items() if k != "BP"}
    final = final_cosines(angle_sets)
    drtp_lost = [r for r in diverged("feedback_lr", root) if label(r["config"]) == "DRTP"]
    return {
        "angle_sets": angle_sets, "final": final, "drtp_lost": drtp_lost,
        **{f"c03-align-{name.lower()}-{where}": final[name][k] for name in ("FA", "DFA")
           for where, k in (("first", 0), ("top", -2))},
        "c03-drtp-cosine": min(final["DRTP"][:-1]),
        "c03-drtp-runaway": max((divergence(r["diverged"])[0] for r in drtp_lost), default=None),
        "c03-drtp-lost-lrs": join(f"{lr:g}" for lr in sorted({r["config"]["lr"]
                                                              for r in drtp_lost}))
        if drtp_lost else "",
    }


def numbers(root: Path = RESULTS_DIR) -> dict:
    """Every number the chapter's prose cites or checks: the first updates (measured live, one
    batch) and the cached sweeps of the chapter, loaded once."""
    out = {**_first(), **_scan(root)}
    out.update(_headline(root, out["scan_lrs"]))
    out.update(_controls(root, out["best"]))
    out.update(_grammars(root, out["curves"]))
    out.update(_angles(root))
    return out


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

TEXTS = {
    "c03-first-max": "{:.2f}", "c03-first-pepita": "{:.4f}",
    "c03-scan-drtp": "{:.2f}", "c03-scan-pepita": "{:.2f}",
    "c03-steps-bp": "{:,.0f}", "c03-steps-fa": "{:,.0f}", "c03-steps-dfa": "{:,.0f}",
    "c03-capped": "{}", "c03-patience": "{}", "c03-halve": "{}", "c03-epochs": "{:,.0f}",
    "c03-min-steps": "{:,}", "c03-max-steps": "{:,}",
    "c03-budget-steps": "{:,}", "c03-budget-times": "{:.0f}",
    "c03-drtp-best": "{:.2f}", "c03-pepita-best": "{:.2f}",
    "c03-width-fa": "{:+.2f}", "c03-width-dfa": "{:+.2f}",
    "c03-wd-train": "{:.2f}", "c03-wd-loss-weak": "{:.2f}", "c03-wd-loss-strong": "{:.2f}",
    "c03-wd-loss-high": lambda x: "10" + str(round(math.log10(x))).translate(SUPERSCRIPTS),
    "c03-tanh-test": "{:.2f}", "c03-tanh-train": "{:.2f}", "c03-tanh-lr": "{:g}",
    "c03-recipe-test": "{:.2f}", "c03-recipe-train": "{:.2f}", "c03-recipe-P": "{:,}",
    "c03-recipe-lr": "{:g}",
    "c03-ctl-times": lambda x: f"{int(x)}",
    **{f"c03-ctl-{rule}-{P}": "{:.2f}" for rule in contrast.SHALLOW_LRS for P in (256, 768)},
    "c03-ctl-pepita-fit": "{:.2f}", "c03-ctl-pepita-fit-last": "{:.2f}",
    "c03-ctl-drtp-fit": "{:.2f}", "c03-ctl-edge": "{}", "c03-ctl-drtp-tanh": "{:.2f}",
    "c03-bp-p90-max": "{:.1f}", "c03-bp-p90-hard": "{:.1f}", "c03-hard-top": "{:.0%}",
    "c03-deepest-top": "{:.0%}",
    "c03-hard-gain": "{:.2f}", "c03-hard-fit": "{:.0%}",
    "c03-budget-train-low": "{:.2f}", "c03-budget-train-high": "{:.2f}",
    "c03-budget-test-high": "{:.2f}", "c03-schedule": "{}", "c03-x10-best": "{:.2f}",
    "c03-x10-lost": "{}", "c03-x10-runs": "{}",
    "c03-bp-unfit": "{}", "c03-bp-collapse-text": "{}",
    "c03-align-fa-first": "{:.2f}", "c03-align-fa-top": "{:.2f}",
    "c03-align-dfa-first": "{:.2f}", "c03-align-dfa-top": "{:.2f}",
    "c03-drtp-cosine": "{:.2f}", "c03-drtp-runaway": "{:,}", "c03-drtp-lost-lrs": "{}",
}


# -- the claims of the prose, checked on those numbers -------------------------------------------

def _falls(values: Sequence[float]) -> bool:
    return all(a > b for a, b in zip(values, values[1:]))


def _shallow_claims(n: dict) -> bool:
    """BP and DFA fit every training set, far ahead of DRTP and PEPITA, and gain from data."""
    ctl, sizes, last_P, gain = n["ctl"], n["sizes"], n["last_P"], n["gain"]
    behind = max(ctl[name][last_P]["test"] for name in ("DRTP", "PEPITA"))
    return all(all(ctl[rule][P]["train"] > 0.99 for P in sizes)
               and ctl[rule][last_P]["test"] > behind + 0.2 and gain[rule] > 0.2
               for rule in ("BP", "DFA"))


CLAIMS = (
    # The first updates (one batch at initialisation).
    Claim("c03-first-max", "in every hidden layer the first updates are nearly orthogonal to "
          "backprop's", lambda n: n["c03-first-max"] < 0.2),
    Claim("first-readout", "only the readout's update agrees with backprop's", lambda n: all(
        abs(n["first"][name][-1] - 1) < 1e-4 for name in ("FA", "DFA", "DRTP"))),
    Claim("c03-first-pepita", "PEPITA's readout cosine is just below 1",
          lambda n: 0.99 < n["c03-first-pepita"] < 1),
    # A fair budget: the learning-rate scan.
    Claim("c03-x10-best", "at ten times the feedback scale PEPITA's runs diverged or stayed at "
          "chance, so PEPITA keeps 0.05", lambda n: n["headline_pepita"] == "PEPITA"
          and n["c03-x10-best"] < 0.1),
    Claim("c03-scan-drtp", "DRTP and PEPITA stay at or near chance at every rate",
          lambda n: n["best_in_scan"]["DRTP"] < 0.08 and n["best_in_scan"]["PEPITA"] < 0.2),
    Claim("scan-learn", "BP, FA and DFA learn over a wide range of rates",
          lambda n: min(n["best_in_scan"][name] for name in ("BP", "FA", "DFA")) > 0.5),
    Claim("recipe-lrs", "the chosen rates are the rates of the recipes", lambda n: {
        r["rule"]: r["lr"] for r in n["recipes"].rows} == {
        name.lower(): n["scan_lrs"][name] for name in TYPE1}),
    Claim("recipe-steps", "every rule trains to convergence", lambda n: {
        r["training"] for r in n["recipes"].rows} == {"to convergence"}),
    Claim("c03-steps-fa", "FA and DFA train longer than backprop before they stop improving",
          lambda n: all(n["stops"][name]["steps"] > n["stops"]["BP"]["steps"]
                        for name in ("FA", "DFA"))),
    # Accuracy against the number of training points.
    Claim("q-bp-p90-long", "backprop's P_90 and the ratios of FA and DFA are those of "
          "rhmlib.quantities", lambda n: abs(n["best"]["BP"]["p90"]
                                             - n["quantities"]["bp-p90-long"]) < 1e-9
          and all(abs(n["ratio"][name] - n["quantities"][f"{name.lower()}-ratio"]) < 1e-9
                  for name in ("FA", "DFA"))),
    Claim("headline-diverged", "no run of this comparison diverged",
          lambda n: not n["headline_diverged"]),
    Claim("bp-best", "backprop is at 100 % from P = 4000",
          lambda n: n["best"]["BP"]["mean"] > 0.995 and n["best"]["BP"]["P"] == 4000),
    Claim("c03-drtp-best", "DRTP stays at chance and PEPITA near it", lambda n:
          n["best"]["DRTP"]["mean"] < 0.08 and n["best"]["PEPITA"]["mean"] < 0.2),
    Claim("q-fa-ratio", "FA and DFA pass 90 %, from several times backprop's data", lambda n: all(
        n["best"][name]["mean"] > 0.9 and 2 < n["ratio"][name] < 8 for name in ("FA", "DFA"))),
    # Not a tuning accident: twice the width.
    Claim("c03-width-fa", "twice the width changes FA's and DFA's accuracy little and leaves "
          "both far below backprop", lambda n: all(
              -0.02 < n[f"c03-width-{name.lower()}"] < 0.1
              and n["wide"][name]["wide"]["mean"] < n["wide"]["BP"]["wide"]["mean"] - 0.1
              for name in ("FA", "DFA"))),
    Claim("width-drtp", "at twice the width DRTP stays at chance and PEPITA near it", lambda n:
          n["wide"]["DRTP"]["wide"]["mean"] < 0.08 and n["wide"]["PEPITA"]["wide"]["mean"] < 0.2),
    # Why DRTP and PEPITA fail.
    Claim("drtp-grid", "DRTP's rates and decays are 1e-4, 1e-3 and 1e-2, the recipe's rate in "
          "the middle", lambda n: contrast.DRTP_LRS == contrast.DRTP_DECAYS == (1e-4, 1e-3, 1e-2)
          and n["scan_lrs"]["DRTP"] == n["drtp_lrs"][1]),
    Claim("c03-wd-train", "with ReLU units DRTP underfits at every setting: training accuracy at "
          "chance, like the test accuracy", lambda n: n["fitted"]
          and all(r["train"] < 0.1 and r["test"] < 0.1 for r in n["fitted"])),
    Claim("drtp-low", "at the smallest rate the training loss stays at ln 16", lambda n: all(
        abs(n["drtp_loss"][("cnn", n["drtp_lrs"][0], d)] - math.log(16)) < 0.05
        for d in contrast.DRTP_DECAYS)),
    Claim("c03-wd-loss-weak", "up to the recipe's rate the training loss stays at ln 16 "
          "whatever the decay", lambda n: all(
              abs(n["relu_loss"][(lr, d)] - math.log(16)) < 0.05
              for lr in n["drtp_lrs"][:2] for d in contrast.DRTP_DECAYS)),
    Claim("c03-wd-loss-high", "at the largest rate the loss runs away whatever the decay",
          lambda n: n["c03-wd-loss-high"] > 1000),
    Claim("c03-tanh-test", "with tanh units DRTP leaves chance, barely, and underfits",
          lambda n: 1.5 / 16 < n["tanh"]["test"] < 0.3
          and n["tanh"]["train"] - n["tanh"]["test"] < 0.05),
    Claim("c03-recipe-test", "PEPITA underfits with its published recipe: no gap between "
          "training and test accuracy", lambda n: all(r["train"] - r["test"] < 0.05
                                                      for r in n["ran"])),
    Claim("c03-recipe-train", "both low, close to what the chapter's recipe reached",
          lambda n: n["top"]["train"] < 0.4 and abs(n["top"]["test"] - n["pepita_best"]) < 0.1),
    Claim("pepita-loss", "PEPITA's training loss hardly below ln 16",
          lambda n: min(n["pepita_loss"].values()) > 0.8 * math.log(16)),
    Claim("c03-ctl-times", "on the shallow task DRTP and PEPITA leave chance at every P",
          lambda n: n["c03-ctl-times"] > 2.5),
    Claim("c03-ctl-bp-768", "BP and DFA fit every training set and gain the most from data, "
          "far ahead of DRTP and PEPITA", _shallow_claims),
    Claim("c03-ctl-pepita-fit", "PEPITA fits part of its training set, less the larger it is, "
          "and generalises much less from it", lambda n: _falls(n["pepita_fit"])
          and n["pepita_fit"][0] < 0.9 and 0 < n["gain"]["PEPITA"] < n["gain"]["BP"] / 2),
    Claim("c03-ctl-drtp-tanh", "with tanh units DRTP does about as well on the shallow task",
          lambda n: abs(n["c03-ctl-drtp-tanh"] - n["ctl"]["DRTP"][n["last_P"]]["test"]) < 0.1),
    Claim("c03-ctl-drtp-fit", "DRTP fits less of its training set the larger it is",
          lambda n: _falls(n["drtp_fit"]) and n["drtp_fit"][-1] < 0.8),
    Claim("c03-ctl-drtp-768", "DRTP's test accuracy hardly moves",
          lambda n: abs(n["gain"]["DRTP"]) < n["gain"]["BP"] / 3),
    # Deeper hierarchies, more synonyms.
    Claim("gaps-open", "at 2 P* the accuracy of FA and DFA falls at each step of L and of m",
          lambda n: all(_falls([n["gap"][(*g, name)]["mean"] for g in series])
                        for name in ("FA", "DFA")
                        for series in ([(4, L) for L in (2, 3, 4, 5)],
                                       [(m, 3) for m in (3, 4, 6, 8)]))),
    Claim("l2-close", "at L = 2 the three rules are close", lambda n: all(
        n["gap"][(4, 2, name)]["p90"] < 1.5 * n["gap"][(4, 2, "BP")]["p90"]
        for name in ("FA", "DFA"))),
    Claim("c03-bp-p90-max", "backprop's P_90 / P* stays below 4 on every grammar",
          lambda n: all(p < 4 for p in n["bp90"])),
    Claim("c03-hard-top", "on the four hardest grammars FA and DFA stay far below 90 % even at "
          "the largest P", lambda n: n["c03-hard-top"] < 0.75),
    Claim("c03-deepest-top", "at L = 5 they barely leave chance (1/16)",
          lambda n: n["c03-deepest-top"] < 0.2),
    Claim("c03-hard-gain", "elsewhere more data helps them", lambda n: n["c03-hard-gain"] > 0.1),
    Claim("c03-hard-fit", "where they fail they do not fit their training sets",
          lambda n: n["c03-hard-fit"] < 0.9),
    Claim("easy-fit", "on the easy grammars FA and DFA fit every training set", lambda n: all(
        n["fit"][(*g, name)]["mean"] > 0.99 for name in ("FA", "DFA") for g in ((4, 2), (3, 3)))),
    Claim("c03-budget-times", "the fixed budget is several times the steps the converged "
          "runs took", lambda n: n["budget"].rows and min(n["budget_times"]) >= 2),
    Claim("c03-budget-test-high", "what longer training buys is mostly memorisation: each "
          "test gain well below its train gain, and small", lambda n: n["budget"].rows
          and max(n["test_gains"]) < 0.1
          and all(t < 0.6 * f for t, f in zip(n["test_gains"], n["train_gains"]))),
    Claim("c03-schedule", "the two schedules differ in the same direction for FA and DFA",
          lambda n: n["c03-schedule"] != "no different"),
    Claim("grammar-diverged", "few runs of the curves diverged",
          lambda n: len(n["curve_diverged"]) <= 0.05 * n["curve_runs"]),
    Claim("c03-bp-unfit", "backprop's seeds at L = 5 and 4 P* are all there",
          lambda n: len(n["last"]) == 3),
    Claim("c03-bp-collapse-text", "a few runs collapsed",
          lambda n: len(n["collapses"].rows) <= 0.05 * n["curve_runs"]),
    # Do the updates align with backprop's?
    Claim("c03-drtp-cosine", "DRTP's hidden updates turn against backprop's; PEPITA's stay "
          "weakly aligned", lambda n: all(c < 0 for c in n["final"]["DRTP"][:-1])
          and all(0 < c < 0.5 for c in n["final"]["PEPITA"][:-1])),
    Claim("c03-align-fa-top", "FA and DFA align most in the top hidden layer, least in layer 1",
          lambda n: all(n["final"][name][0] < n["final"][name][1] < n["final"][name][2]
                        for name in ("FA", "DFA"))),
    Claim("c03-align-fa-first", "FA and DFA align with backprop during training", lambda n: all(
        all(f > i + 0.1 for f, i in zip(n["final"][name][:-1], n["first"][name][:-1]))
        for name in ("FA", "DFA"))),
    Claim("c03-drtp-lost-lrs", "DRTP's runs diverged only above its chosen rate, all by "
          "runaway weights", lambda n: n["drtp_lost"]
          and min(r["config"]["lr"] for r in n["drtp_lost"]) > n["scan_lrs"]["DRTP"]
          and {divergence(r["diverged"])[1] for r in n["drtp_lost"]} == {"runaway weights"}),
)


# -- figures ------------------------------------------------------------------------------------

def lr_scan_figure(numbers: dict) -> go.Figure:
    """Test accuracy against the learning rate at P = 4000, one line per rule."""
    return plots.accuracy_vs_P(seed_labels(numbers["scan"]), x="lr", x_title="learning rate",
                               chance=1 / 16, target=None, title="")


def headline_figure(numbers: dict) -> go.Figure:
    """Test accuracy against P, each rule at its chosen rate."""
    return plots.accuracy_vs_P(seed_labels(numbers["curves"]), chance=1 / 16, title="")


def depth_figure(numbers: dict) -> go.Figure:
    """Accuracy against P / P* at m = 4, one panel per depth."""
    grammars = numbers["grammars"]
    return plots.panels({f"L = {L}": grammars[(4, L)] for L in (2, 3, 4, 5)}, x="ratio",
                        x_titles="P / P*", chance=1 / 16, title="Depth, m = 4")


def synonyms_figure(numbers: dict) -> go.Figure:
    """Accuracy against P / P* at L = 3, one panel per number of synonyms."""
    grammars = numbers["grammars"]
    return plots.panels({f"m = {m}": grammars[(m, 3)] for m in (3, 4, 6, 8)}, x="ratio",
                        x_titles="P / P*", chance=1 / 16, title="Synonyms, L = 3")


def gaps_figure(numbers: dict) -> go.Figure:
    """Accuracy at 2 P* against depth and against synonyms (:func:`grammar_gaps`)."""
    return plots.panels(grammar_gaps(numbers["grammars"]), x="x",
                        x_titles=("depth L", "synonyms m"), log_x=False, chance=1 / 16, title="")


def angles_figure(numbers: dict) -> go.Figure:
    """The cosines to backprop's update over training; the axis covers every curve (DRTP's
    cosines go far below zero)."""
    angle_sets = numbers["angle_sets"]
    fig = plots.angles_figure(angle_sets, title="")
    fig.update_yaxes(range=cosine_range(angle_sets))
    return fig


# -- exercise 3.3: four rules on a small grammar -------------------------------------------------

def exercise_numbers(runs: dict) -> dict:
    """Test and training accuracy of the exercise's runs, per rule."""
    test = {rule: r.test_accuracy for rule, r in runs.items()}
    fits = {rule: r.train_accuracy for rule, r in runs.items()}
    return {"test": test, "fits": fits, **{f"c03-ex-{rule}": test[rule] for rule in runs},
            **{f"c03-ex-{rule}-fit": fits[rule] for rule in runs}}


EXERCISE_TEXTS = {f"c03-ex-{rule}{end}": "{:.2f}" for rule in ("bp", "fa", "dfa", "drtp")
                  for end in ("", "-fit")}

EXERCISE_CLAIMS = (
    Claim("c03-ex-bp", "backprop fits its whole training set and is far ahead of FA and DFA",
          lambda n: n["test"]["bp"] > max(n["test"]["fa"], n["test"]["dfa"]) + 0.2
          and n["fits"]["bp"] > 0.99),
    Claim("c03-ex-drtp", "DRTP stays near chance, behind FA and DFA",
          lambda n: min(n["test"]["fa"], n["test"]["dfa"]) > n["test"]["drtp"] + 0.1
          and n["test"]["drtp"] < 0.2),
    Claim("c03-ex-fa-fit", "FA and DFA do not fit their training sets within 400 steps",
          lambda n: max(n["fits"]["fa"], n["fits"]["dfa"]) < 0.99),
)


# -- tables shared with chapter 04 and the introduction ------------------------------------

def p90_table(
    curves: dict[str, list[dict]], lrs: dict[str, float] | None = None, level: float = 0.9,
    caption: str = "",
) -> Table:
    """Per curve (rows of P): P_90 and the best mean test accuracy, with its P and seeds.

    Rows also hold ``name``, ``p90`` (inf when not reached), ``mean``, ``sem``, ``P`` and
    ``n`` (of the best point).
    """
    rows = []
    for name, points in curves.items():
        best = max(points, key=lambda r: r["mean"])
        value = p90(points, level)
        rows.append({"name": name, "p90": value, **{k: best[k] for k in ("mean", "sem", "P", "n")},
                     "variant": name, "lr": None if lrs is None else f"{lrs[name]:g}",
                     "P₉₀": p90_text(value, None, None, [r["P"] for r in points]),
                     "best test accuracy": pm(best["mean"], best["sem"]),
                     "at P": f"{best['P']:,}", "seeds": best["n"]})
    columns = ["variant", *(["lr"] if lrs is not None else []), "P₉₀", "best test accuracy",
               "at P", "seeds"]
    return Table(rows, columns, caption=caption or (
        f"P₉₀: the P at which the mean test accuracy reaches {level:.0%} (interpolated; "
        "\"> P\" when the largest P measured is below it); best: mean ± sem over seeds"))


def grammar_gap_table(
    curves: dict[tuple[int, int], dict[str, list[dict]]],
    lrs: dict[tuple[str, int, int], float] | None = None, at: float = 2,
) -> Table:
    """Per grammar and rule: the lr, test accuracy at ``P = at * P*`` and ``P_90 / P*``.

    ``curves`` as :func:`grammar_curves` gives them. Rows also hold ``m``, ``L``,
    ``name``, ``mean``, ``sem``, ``n`` (at ``at * P*``) and ``p90`` (inf when not reached).
    """
    rows = []
    for m, L in ordered_grammars(curves):
        for name, points in curves[(m, L)].items():
            point = next(r for r in points if r["ratio"] == at)
            value = p90(points, 0.9, x="ratio")
            rows.append({
                "m": m, "L": L, "name": name, "p90": value,
                **{k: point[k] for k in ("mean", "sem", "n")},
                "grammar": grammar_name(m, L), "rule": name,
                "lr": None if lrs is None else f"{lrs[(name, m, L)]:g}",
                f"test accuracy at {at:g} P*": pm(point["mean"], point["sem"]),
                "P₉₀ / P*": p90_text(value, None, None, [r["ratio"] for r in points],
                                      lambda x: f"{x:.2g}"),
                "seeds": point["n"]})
    columns = ["grammar", "rule", *(["lr"] if lrs is not None else []),
               f"test accuracy at {at:g} P*", "P₉₀ / P*", "seeds"]
    return Table(rows, columns, caption=(
        f"Each grammar at P = {at:g} P* (mean ± sem over seeds), and P₉₀ / P*: the data 90 % "
        "test accuracy needs, in units of P* (\"> x\": not reached at the largest P measured)"))
