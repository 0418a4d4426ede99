"""Chapter 04's page, "Masking": its tables, figures, numbers and claims.

It builds on chapter 03's scans and shares its tables (:mod:`rhmlib.pages.ch03`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go
import torch

from .. import plots
from ..probes import live
from ..rhm import REFERENCE
from ..stats import best_row, p90
from ..sweeps import RESULTS_DIR, load_sweep
from ..sweeps import feedback as fb
from ..sweeps.feedback import (
    BUDGET,
    MASKING,
    MASKING_GRAMMAR_VARIANTS,
    MASKING_GRAMMARS,
    TYPE1,
    angles_at_chosen_lr,
    at_chosen_lr,
    by_label,
    chosen_lr,
    chosen_lrs,
    final_cosines,
    records,
    summary,
)
from ..tables import Table, pm
from . import Claim, cosine_range, lost_at
from .ch03 import cosine_table, diverged_table, lr_table, p90_table, spec

__all__ = [
    "error_growth", "mask_table", "error_growth_table", "lr_table", "diverged_table",
    "cosine_table", "MASK_PANELS", "error_paths_figure", "path_numbers", "PATH_CLAIMS",
    "numbers", "TEXTS", "CLAIMS", "ablation_table", "growth_table", "bars_figure",
    "own_curves_figure", "down_curves_figure", "data_figure", "hard_figure", "growth_figure",
    "angles_figure", "KINDS", "exercise_numbers", "EXERCISE_TEXTS", "EXERCISE_CLAIMS",
    "HARD_NAMES",
]

# A panel per mask replaced, a line (one colour in every figure) per substitute; BP in each
# panel, and the hybrids with FA and DFA in a panel of their own: at most six lines a panel.
MASK_PANELS = {"own mask": "own mask: ", "downstream masks": "downstream masks: "}
# The rules and variants of the harder grammars, by the short names of their numbers.
HARD_NAMES = {"bp": "BP", "dfa": "DFA", "exact": "DFA + exact transport",
              "ones": "downstream masks: ones", "other": "downstream masks: other"}


def error_growth(
    name: str = "DFA + exact transport", depths: tuple[int, ...] = (3, 4, 5),
    seeds: tuple[int, ...] = (0, 1, 2), batch_size: int = 128,
) -> dict[int, list[float]]:
    """Per depth ``L`` (m = 4): per hidden layer, the norm of variant ``name``'s error over BP's.

    Measured on one batch at initialisation, averaged over ``seeds``; 1 means the same
    size as backprop's error, 2 twice as large.
    """
    return live.error_growth(spec(name), spec("BP"), BUDGET["width"], REFERENCE, depths,
                             seeds, batch_size)


def mask_table(
    masks: Sequence[torch.Tensor], errors: dict[str, Sequence[torch.Tensor]], index: int = 0,
    reference: str = "BP", rerouted: str = "BP, masks above from input 2",
) -> Table:
    """Per layer, for input ``index``: its blocked units and the error that reaches them.

    Also how much ``reference``'s error changes when only the masks above change.
    ``masks`` and ``errors`` (per rule, per layer) as :func:`rhmlib.probes.layer_errors`
    and the features give them. Rows also hold ``blocked``, ``silent`` and ``changed``.
    """
    rows = []
    for k, mask in enumerate(masks):
        blocked = mask[index] == 0
        changed = float((errors[reference][k][index] - errors[rerouted][k][index]).abs().max())
        silent = max(float(errors[n][k][index][blocked].abs().sum()) for n in errors)
        rows.append({"blocked": int(blocked.sum()), "silent": silent, "changed": changed,
                     "layer": k + 1, "units blocked": f"{int(blocked.sum())} of {blocked.numel()}",
                     "error on the blocked units (every rule)": f"{silent:.1f}",
                     f"largest change of {reference}'s error when only the masks above change":
                     f"{changed:.4f}"})
    return Table(rows, ["layer", "units blocked", "error on the blocked units (every rule)",
                        f"largest change of {reference}'s error when only the masks above "
                        "change"], caption=f"Input {index + 1}, layer by layer")


def error_growth_table(growth: dict[str, dict[int, Sequence[float]]]) -> Table:
    """Per named variant and depth L: the error norm at each layer over backprop's.

    ``growth`` maps a name to what :func:`error_growth` returns. Rows also hold
    ``name``, ``L`` and ``ratios``.
    """
    rows, depth = [], max((L for by_L in growth.values() for L in by_L), default=0)
    for name, by_L in growth.items():
        for L, ratios in by_L.items():
            rows.append({"name": name, "L": L, "ratios": list(ratios), "downstream masks": name,
                         **{f"layer {k + 1}": f"{r:.2f}" for k, r in enumerate(ratios)}})
    return Table(rows, ["downstream masks", "L", *(f"layer {k + 1}" for k in range(depth))],
                 caption="Error norm at each hidden layer over backprop's, at initialisation "
                 "(1: the same size)")



# -- where the error goes: the page's small network ---------------------------------------------

def error_paths_figure(masks: list, errors: dict[str, list]) -> go.Figure:
    """The masks of input 1 and the error each rule sends to each layer, one panel a layer.

    Each panel holds a layer's units across and its positions (tree nodes) down; both are
    counted from 1, as the text counts layers and inputs, with one tick per cell. In the
    mask row, open units are white and blocked ones grey, as the caption says.
    """
    fig = plots.error_paths_figure(masks, errors, index=0, title="")
    depth = len(masks)
    for k, trace in enumerate(fig.data):
        positions, units = trace.z.shape
        trace.update(x=list(range(1, units + 1)), y=list(range(1, positions + 1)),
                     hovertemplate=trace.hovertemplate.replace("unit %{y}, position %{x}",
                                                               "unit %{x}, position %{y}"))
        if k < depth:
            trace.update(colorscale=[[0, "#bdbdbd"], [1, "#ffffff"]])
    fig.update_xaxes(tickmode="linear", tick0=1, dtick=1, title_text="")
    fig.update_xaxes(title_text="unit", row=len(errors) + 1)
    fig.update_yaxes(tickmode="linear", tick0=1, dtick=1, title_text="")
    fig.update_yaxes(title_text="position", col=1)
    return fig


def path_numbers(paths: Table) -> dict:
    """The two layers' rows of the page's :func:`mask_table`."""
    layer_1, layer_2 = paths.rows
    return {"layer_1": layer_1, "layer_2": layer_2}


PATH_CLAIMS = (
    Claim("paths-blocked", "each layer blocks some units of input 1",
          lambda n: n["layer_1"]["blocked"] > 0 and n["layer_2"]["blocked"] > 0),
    Claim("paths-silent", "no rule's error reaches a blocked unit",
          lambda n: n["layer_1"]["silent"] == n["layer_2"]["silent"] == 0),
    Claim("paths-changed", "backprop's error at layer 1 changes with the masks above it; at the "
          "top hidden layer it does not",
          lambda n: n["layer_1"]["changed"] > 0.01 and n["layer_2"]["changed"] == 0),
)


# -- the numbers the prose cites ----------------------------------------------------------------

def _scan(root: Path) -> dict:
    """The masking scan at P = 4000: every variant at its chosen rate."""
    scan = load_sweep("masking_lr", root)
    own_names = [n for n in MASKING if n.startswith("own")]
    at_lr = (at_chosen_lr("feedback_lr", names=TYPE1[:3], root=root)
             + at_chosen_lr("masking_lr", root=root))
    bars = summary(at_lr)
    at_4000 = {name: rows[0]["mean"] for name, rows in bars.items()}
    own_4000 = [at_4000[n] for n in own_names]
    down_4000 = [v for n, v in at_4000.items()
                 if n.startswith("downstream") or n == "DFA + exact transport"]
    return {"scan": scan, "own_names": own_names, "at_lr": at_lr, "bars": bars,
            "own_4000": own_4000, "down_4000": down_4000,
            "c04-own-4000-high": max(own_4000), "c04-down-4000-low": min(down_4000)}


def _data(root: Path, own_names: list[str]) -> dict:
    """Accuracy against P of every variant at its chosen rate, beside BP, FA and DFA."""
    variants = summary(at_chosen_lr("masking_lr", root=root) + records("masking_P", root))
    reference = {k: v for k, v in summary(records("feedback_P", root)).items()
                 if k in TYPE1[:3]}
    curves = {**reference, **variants}
    own_means = [r["mean"] for n in own_names for r in curves[n]]
    bp90 = p90(curves["BP"], 0.9)
    down_p90 = {n: p90(rows, 0.9) for n, rows in curves.items()
                if n.startswith("downstream") or n == "DFA + exact transport"}
    return {"variants": variants, "curves": curves, "own_means": own_means,
            "lrs": {**chosen_lrs("feedback_lr", root), **chosen_lrs("masking_lr", root)},
            "c04-own-low": min(own_means), "c04-own-high": max(own_means),
            "bp90": bp90, "down_p90": down_p90,
            "c04-down-p90": max(down_p90.values()) / bp90 - 1,
            "c04-dfa-ratio": p90(curves["DFA"], 0.9) / p90(curves["DFA + exact transport"], 0.9),
            "c04-fa-gap": abs(p90(curves["FA without downstream masks"], 0.9)
                              / p90(curves["FA"], 0.9) - 1)}


def _hard(root: Path) -> dict:
    """The two variants on the harder grammars, beside BP, FA and DFA."""
    table = masking_grammar_table(root)
    acc = {(r["m"], r["L"], r["name"]): r["mean"] for r in table.rows}
    return {"hard": table, "acc": acc,
            **{f"c04-{what}-{m}-{L}": acc[(m, L, name)] for m, L in MASKING_GRAMMARS
               for what, name in HARD_NAMES.items()}}


def _growth() -> dict:
    """The error norm over backprop's without downstream masks, at initialisation (live)."""
    growth = error_growth()
    rerouted = error_growth("downstream masks: other")
    first_layer = {L: ratios[0] for L, ratios in growth.items()}
    factors = [a / b for ratios in growth.values() for a, b in zip(ratios, ratios[1:])]
    return {"growth": growth, "rerouted": rerouted, "first_layer": first_layer,
            "factors": factors, **{f"c04-growth-{L}": v for L, v in first_layer.items()},
            "c04-growth-factor": sum(factors) / len(factors)}


def _angles(root: Path, own_names: list[str]) -> dict:
    """The update cosines to backprop's over training, at each variant's chosen rate."""
    angle_sets = angles_at_chosen_lr("masking_lr", root)
    final = final_cosines(angle_sets)
    down_names = [n for n in final if n.startswith("downstream")]
    return {"angle_sets": angle_sets, "final": final, "down_names": down_names,
            "c04-cos-own-first": max(final[n][0] for n in own_names),
            "c04-cos-down-first": min(final[n][0] for n in down_names)}


# What replaces the downstream masks, in words.
KINDS = {"ones": "no mask", "other": "another input's", "mean": "the batch mean",
         "random": "random masks"}


def _lost(root: Path, scan: list[dict]) -> dict:
    """Diverged runs of the downstream variants at backprop's rate."""
    bp_lr = chosen_lr("BP", root)
    lost = lost_at(scan, bp_lr, [n for n in MASKING if n.startswith("downstream")])
    return {"lost": lost, "c04-bp-lr": bp_lr, "c04-lost-at-bp-lr": "; ".join(
        f"{KINDS[n.split(': ')[1]]}: {k} of {t}" for n, (k, t) in lost.items())}


def numbers(root: Path = RESULTS_DIR) -> dict:
    """Every number the chapter's prose cites or checks: the cached sweeps of the chapter and
    the error growth at initialisation (measured live, one batch)."""
    out = _scan(root)
    out.update(_data(root, out["own_names"]))
    out.update(_hard(root))
    out.update(_growth())
    out.update(_angles(root, out["own_names"]))
    out.update(_lost(root, out["scan"]))
    return out


TEXTS = {
    "c04-own-4000-high": "{:.2f}", "c04-down-4000-low": "{:.3f}",
    "c04-own-low": "{:.2f}", "c04-own-high": "{:.2f}",
    **{f"c04-{what}-{m}-{L}": "{:.2f}" for m, L in MASKING_GRAMMARS for what in HARD_NAMES},
    **{f"c04-growth-{L}": "{:.2f}" for L in (3, 4, 5)}, "c04-growth-factor": "{:.2f}",
    "c04-cos-own-first": "{:.2f}", "c04-cos-down-first": "{:.2f}",
    "c04-down-p90": "{:.0%}", "c04-dfa-ratio": "{:.1f}", "c04-fa-gap": "{:.0%}",
    "c04-bp-lr": "{:g}", "c04-lost-at-bp-lr": "{}",
}


def _p4000_is_short(variants: dict[str, list[dict]]) -> bool:
    """The variants below 90 % at P = 4000 are those measured at 16,000."""
    return {n for n, rows in variants.items() if rows[-1]["P"] == 16000} == {
        n for n, rows in variants.items() if next(r for r in rows if r["P"] == 4000)["mean"] < 0.9}


CLAIMS = (
    # The masking scan at P = 4000.
    Claim("c04-own-4000-high", "without its own mask a layer learns little; without the "
          "downstream masks the network learns", lambda n: max(n["own_4000"]) < 0.7 < 0.95
          < min(n["down_4000"])),
    # Accuracy against P.
    Claim("c04-own-high", "the own-mask variants stay low at every P",
          lambda n: max(n["own_means"]) < 0.7),
    Claim("own-flat", "the own-mask variants, measured up to P = 16,000, gain little from data",
          lambda n: all([r["P"] for r in n["curves"][name]] == [2000, 4000, 8000, 16000]
                        and n["curves"][name][-1]["mean"] - n["curves"][name][0]["mean"] < 0.2
                        for name in n["own_names"])),
    # The harder grammars.
    Claim("hard-below-bp", "on every harder grammar every variant stays below backprop",
          lambda n: all(n["acc"][(m, L, name)] < n["acc"][(m, L, "BP")] - 0.05
                        for m, L in MASKING_GRAMMARS for name in MASKING_GRAMMAR_VARIANTS)),
    Claim("c04-exact-8-3", "the masks cost most on the grammar with most synonyms: about "
          "half of backprop's accuracy", lambda n: max(
              MASKING_GRAMMARS, key=lambda g: n["acc"][(*g, "BP")]
              - n["acc"][(*g, "DFA + exact transport")]) == (8, 3)
          and 0.4 < n["acc"][(8, 3, "DFA + exact transport")] / n["acc"][(8, 3, "BP")] < 0.7),
    Claim("c04-exact-4-4", "exact transport without masks does far better than DFA on every "
          "harder grammar", lambda n: all(
              n["acc"][(m, L, "DFA + exact transport")] > n["acc"][(m, L, "DFA")] + 0.2
              for m, L in MASKING_GRAMMARS)),
    Claim("c04-exact-4-5", "at L = 5 it learns most of what backprop learns, DFA next to nothing",
          lambda n: n["acc"][(4, 5, "DFA + exact transport")] > 0.7 > 0.2
          > n["acc"][(4, 5, "DFA")]),
    Claim("hard-other", "another input's masks do worse than none at L = 4 and m = 8",
          lambda n: all(n["acc"][(m, L, "downstream masks: other")]
                        < n["acc"][(m, L, "downstream masks: ones")] for m, L in ((4, 4), (8, 3)))),
    Claim("c04-ones-4-5", "the optimiser matters only at L = 5, where the no-mask update and "
          "another input's masks stay at or near chance with SGD", lambda n: all(
              abs(n["acc"][(m, L, "DFA + exact transport")]
                  - n["acc"][(m, L, "downstream masks: ones")]) < 0.05 for m, L in ((4, 4), (8, 3)))
          and max(n["acc"][(4, 5, "downstream masks: ones")],
                  n["acc"][(4, 5, "downstream masks: other")]) < 0.15),
    # The error grows without the downstream masks.
    Claim("c04-growth-3", "the error at layer 1 grows with depth",
          lambda n: 1.5 < n["first_layer"][3] < n["first_layer"][4] < n["first_layer"][5]),
    Claim("growth-rerouted", "another input's masks keep the error at backprop's size",
          lambda n: all(0.9 < r < 1.1 for ratios in n["rerouted"].values() for r in ratios)),
    Claim("c04-growth-factor", "about sqrt(2) more per mask skipped on the way down",
          lambda n: all(1.3 < f < 1.5 for f in n["factors"])),
    # Alignment.
    Claim("c04-cos-own-first", "at every hidden layer the own-mask variants align less than "
          "the downstream ones", lambda n: all(
              max(n["final"][name][k] for name in n["own_names"])
              < min(n["final"][name][k] for name in n["down_names"]) for k in range(3))),
    Claim("own-align-rises", "the own-mask variants align least at layer 1", lambda n: all(
        n["final"][name][0] < n["final"][name][1] < n["final"][name][2]
        for name in n["own_names"])),
    # What we found.
    Claim("c04-down-p90", "without downstream masks the data needed grows by less than half",
          lambda n: max(n["down_p90"].values()) < 1.5 * n["bp90"]),
    Claim("p16000", "the variants below 90 % at P = 4000 are those measured at 16,000",
          lambda n: _p4000_is_short(n["variants"])),
    Claim("c04-dfa-ratio", "DFA needs more than twice the data of exact transport without masks",
          lambda n: n["c04-dfa-ratio"] > 2),
    Claim("c04-fa-gap", "FA without downstream masks needs about FA's data",
          lambda n: n["c04-fa-gap"] < 0.2),
    Claim("c04-lost-at-bp-lr", "at backprop's rate the variants without downstream gating "
          "diverge more than with the mean", lambda n: sum(k for k, _ in n["lost"].values()) >= 3
          and n["lost"]["downstream masks: mean"][0] <= min(k for k, _ in n["lost"].values())),
)


# -- tables and figures -------------------------------------------------------------------------

def ablation_table(numbers: dict) -> Table:
    """P_90 and best accuracy of every variant, beside BP, FA and DFA (each at its rate)."""
    return p90_table(numbers["curves"], numbers["lrs"])


def growth_table(numbers: dict) -> Table:
    """The error growth without downstream masks, and with another input's masks."""
    return error_growth_table({"none (DFA + exact transport)": numbers["growth"],
                               "another input's": numbers["rerouted"]})


def bars_figure(numbers: dict) -> go.Figure:
    """Test accuracy at P = 4000 of every variant at its chosen rate."""
    return plots.accuracy_bars(numbers["bars"], x_title="test accuracy at P = 4000 (mean and "
                               "sem over seeds)", title="")


def own_curves_figure(numbers: dict) -> go.Figure:
    """Learning curves of the own-mask variants, beside backprop."""
    groups = by_label(numbers["at_lr"])
    own = {k: v for k, v in groups.items() if k.startswith("own") or k == "BP"}
    return plots.learning_curve_panels(plots.facets(own, {"own mask": "own mask: "}, keep=["BP"]))


def down_curves_figure(numbers: dict) -> go.Figure:
    """Learning curves of the downstream variants and the hybrids, beside backprop."""
    groups = by_label(numbers["at_lr"])
    down = {k: v for k, v in groups.items() if not k.startswith("own")}
    return plots.learning_curve_panels(
        plots.facets(down, {"downstream masks": "downstream masks: "}, keep=["BP"],
                     rest="hybrids"))


def data_figure(numbers: dict) -> go.Figure:
    """Accuracy against P of every variant, a panel per mask replaced."""
    return plots.panels(plots.facets(numbers["curves"], MASK_PANELS, keep=["BP"],
                                     rest="hybrids"), chance=1 / 16, title="")


def hard_figure(numbers: dict) -> go.Figure:
    """Accuracy at 2 P* on the harder grammars, per rule or variant."""
    rows = numbers["hard"].rows
    names = dict.fromkeys(row["name"] for row in rows)
    return plots.per_layer(
        {n: [r["mean"] for r in rows if r["name"] == n] for n in names},
        errors={n: [r["sem"] for r in rows if r["name"] == n] for n in names},
        x_labels=[f"m = {m}, L = {L}" for m, L in MASKING_GRAMMARS], x_title="grammar",
        y_title="test accuracy at P = 2 P*", title="")


def growth_figure(numbers: dict) -> go.Figure:
    """The error norm over backprop's per layer without downstream masks, per depth."""
    return plots.per_layer({f"L = {L}": ratios for L, ratios in numbers["growth"].items()},
                           y_title="error norm / BP's", title="")


def angles_figure(numbers: dict) -> go.Figure:
    """The cosines to backprop's update over training; the axis covers every curve."""
    angle_sets = numbers["angle_sets"]
    fig = plots.angle_rows(plots.facets(angle_sets, MASK_PANELS, rest="hybrids"), title="")
    fig.update_yaxes(range=cosine_range(angle_sets))
    return fig


# -- exercise: which mask matters ----------------------------------------------------------------

EXERCISE_TEXTS = {f"c04-ex-{k}": "{:.2f}" for k in ("none", "own", "downstream")}


def exercise_numbers(runs: dict) -> dict:
    """Test accuracy of each run of the exercise, and the training accuracy with every mask."""
    test = {k: r.test_accuracy for k, r in runs.items()}
    return {"test": test, "train_none": runs["none"].train_accuracy,
            **{f"c04-ex-{k}": test[k] for k in runs}}


EXERCISE_CLAIMS = (
    Claim("c04-ex-own", "without its own mask the network learns least; without the "
          "downstream masks it is still behind the full rule", lambda n:
          n["test"]["none"] > n["test"]["downstream"] > n["test"]["own"] + 0.15),
    Claim("c04-ex-none", "with every mask the network fits its training set",
          lambda n: n["train_none"] > 0.99),
)


def masking_grammar_table(root: Path = RESULTS_DIR) -> Table:
    """Per harder grammar and rule or variant: accuracy at P = 2 P*, at its best lr.

    BP, FA and DFA come from ``grammar_P`` (lr chosen by ``grammar_lr``); each variant
    of ``masking_grammar`` from its best lr there (chosen on the same 3 seeds). Rows
    also hold ``m``, ``L``, ``name``, ``lr``, ``mean``, ``sem`` and ``n``.
    """
    variants = fb.by_label(fb.all_records("masking_grammar", root))
    reference, lrs = fb.grammar_curves(root), fb.grammar_chosen_lrs(root)
    rows = []
    for m, L in fb.MASKING_GRAMMARS:
        for name, curve in reference[(m, L)].items():
            point = next(r for r in curve if r["ratio"] == 2)
            rows.append({"m": m, "L": L, "name": name, "lr": lrs[(name, m, L)],
                         **{k: point[k] for k in ("mean", "sem", "n")}})
        for name in fb.MASKING_GRAMMAR_VARIANTS:
            best = best_row(fb.in_grammar(variants[name], m, L))
            rows.append({"m": m, "L": L, "name": fb.VARIANTS[name],
                         **{k: best[k] for k in ("lr", "mean", "sem", "n")}})
    for row in rows:
        row.update({"grammar": fb.grammar_name(row["m"], row["L"]), "rule or variant": row["name"],
                    "learning rate": f"{row['lr']:g}", "test accuracy at 2 P*": pm(
                        row["mean"], row["sem"]), "seeds": row["n"]})
    return Table(rows, ["grammar", "rule or variant", "learning rate", "test accuracy at 2 P*",
                        "seeds"], caption="The harder grammars at P = 2 P*, each rule or variant "
                 "at its best learning rate (mean ± sem over seeds)")
