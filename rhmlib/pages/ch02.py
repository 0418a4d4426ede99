"""Chapter 02's page, "Backprop learns the hierarchy": its tables, figures, numbers and claims."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from .. import plots
from ..correlations import crossing, curve
from ..rhm import REFERENCE, RHM, n_inputs, p_star
from ..stats import summarize
from ..sweeps import RESULTS_DIR, load_sweep
from ..sweeps.backprop import (
    BP_LRS,
    NETWORKS,
    SCALING_L,
    SCALING_M,
    bp_reference,
    fcn_reference,
    reference_rows,
    scaling_lr,
    scaling_rows,
)
from ..sweeps.variants import Variant
from ..tables import Table, p90_summary_text, pm, range_text, ratio_interval_text, settings
from . import Claim

__all__ = ["settings_table", "reference_curves", "reference_table", "lr_scan_curves",
           "lr_scan_table", "scaling_curves", "scaling_table", "reference_figure", "lr_figure",
           "collapse_figure", "SIZES", "CROSSING_GRAMMARS", "signal_figure", "crossing_rows",
           "crossing_table", "numbers", "TEXTS", "CLAIMS", "LIVE", "live_numbers", "live_figure",
           "LIVE_TEXTS", "LIVE_CLAIMS"]


# -- tables and figures of the cached sweeps --------------------------------------------------

def settings_table() -> Table:
    """The training settings of ``bp_reference`` and ``fcn_reference`` (their configs)."""
    return settings(bp_reference() + fcn_reference(), by=("model",),
                    caption="Training settings of the two networks' runs on the reference grammar "
                            "(cnn: the hierarchical CNN; fcn: the shallow network)")


def reference_curves(root: Path = RESULTS_DIR) -> dict[str, list[dict]]:
    """Test accuracy against P of the CNN and the shallow network, seeds in the names."""
    out = {}
    for name, network in NETWORKS.items():
        rows = summarize(load_sweep(name, root), by=("P",))
        out[f"{network} ({max(r['n'] for r in rows)} seeds)"] = rows
    return out


def reference_table(root: Path = RESULTS_DIR, at: int = 4000) -> Table:
    """P_90 of the CNN and the shallow network on the reference grammar, with intervals."""
    rows = reference_rows(root, at)
    total, cnn = n_inputs(**{k: REFERENCE[k] for k in ("n_c", "m", "s", "L")}), rows[0]["p90"]
    out = [{"network": r["network"], "width": r["width"], "seeds": range_text(r["seeds"]),
            "P_90 [68% interval]": p90_summary_text(r), "P_90 / P*": r["p90"] / r["p_star"],
            "P_90 / CNN's": r["p90"] / cnn, "P_90 / all inputs": f"{r['p90'] / total:.1%}",
            f"accuracy at P = {at:,}": pm(r["at"]["mean"], r["at"]["sem"])} for r in rows]
    return Table(out, caption=f"P_90: the smallest P with mean test accuracy >= 90% "
                              f"(P* = {rows[0]['p_star']:,}; {total:,} distinct inputs)")


def lr_scan_curves(root: Path = RESULTS_DIR) -> dict[str, list[dict]]:
    """Per grammar of ``bp_lr_scan`` (named ``m=4, L=3``): validation accuracy against the lr.

    The validation split is what chooses the learning rate (:func:`stats.best_lr`).
    """
    scan = summarize(load_sweep("bp_lr_scan", root), by=("m", "L", "lr"), metric="val_accuracy")
    return {f"m={m}, L={L}": [r for r in scan if (r["m"], r["L"]) == (m, L)]
            for m, L in sorted({(r["m"], r["L"]) for r in scan})}


def lr_scan_table(root: Path = RESULTS_DIR) -> Table:
    """The learning-rate scan at P = P*: accuracy per lr and grammar, and the lr chosen."""
    out = []
    for name, rows in lr_scan_curves(root).items():
        m, L = rows[0]["m"], rows[0]["L"]
        out.append({"grammar": name, "P = P*": f"{p_star(REFERENCE['n_c'], m, L):,}",
                    **{f"lr {r['lr']:g}": pm(r["mean"], r["sem"]) for r in rows},
                    "chosen lr": scaling_lr(m, L), "seeds": range_text(r["n"] for r in rows)})
    return Table(out, caption="Validation accuracy at P = P* against the learning rate "
                              "(mean ± sem); each grammar's scaling runs use the lr it chooses")


def scaling_curves(root: Path = RESULTS_DIR) -> tuple[dict[str, list[dict]], dict[str, int]]:
    """Curves of the scaling sweeps (``m=3`` ... at L = 3, ``L=3, m=4`` ...) and each P*."""
    n_c = REFERENCE["n_c"]
    by_m = summarize(load_sweep("bp_scaling_m", root), by=("m", "P"))
    by_L = summarize(load_sweep("bp_scaling_L", root), by=("L", "P"))
    curves = {**{f"m={m}": [r for r in by_m if r["m"] == m] for m in SCALING_M},
              **{f"L={L}, m=4": [r for r in by_L if r["L"] == L] for L in SCALING_L}}
    p_stars = {**{f"m={m}": p_star(n_c, m, 3) for m in SCALING_M},
               **{f"L={L}, m=4": p_star(n_c, 4, L) for L in SCALING_L}}
    return curves, p_stars


def scaling_table(root: Path = RESULTS_DIR) -> Table:
    """P_90 / P* per grammar of the scaling sweeps, with intervals; the caption: each spread."""
    rows = scaling_rows(root)
    spreads = []
    for family, label in (("m", "m at L = 3"), ("L", "L at m = 4")):
        mine = [r for r in rows if r["family"] == family]
        spread_p = max(r["p_star"] for r in mine) / min(r["p_star"] for r in mine)
        spread_r = max(r["ratio"] for r in mine) / min(r["ratio"] for r in mine)
        spreads.append(f"{label}: P* varies {spread_p:.0f}-fold, P_90 / P* {spread_r:.1f}-fold")
    family = {"m": "m, at L = 3", "L": "L, at m = 4"}
    out = [{"varied": family[r["family"]], "m": r["m"], "L": r["L"], "P*": f"{r['p_star']:,}",
            "seeds": range_text(r["seeds"]),
            "P_90 [68% interval]": p90_summary_text(r),
            "P_90 / P* [interval]": ratio_interval_text(r["p90"], r["low"], r["high"],
                                                         r["p_star"], r["grid"])} for r in rows]
    return Table(out, caption="; ".join(spreads))


def reference_figure(root: Path = RESULTS_DIR) -> go.Figure:
    """Test accuracy against P of the CNN and the shallow network (:func:`reference_curves`)."""
    return plots.accuracy_vs_P(reference_curves(root), chance=1 / 16)


def lr_figure(root: Path = RESULTS_DIR) -> go.Figure:
    """Validation accuracy against the learning rate, one line per grammar."""
    return plots.accuracy_vs_P(lr_scan_curves(root), x="lr", x_title="learning rate",
                               target=None, y_title="validation accuracy")


def collapse_figure(root: Path = RESULTS_DIR) -> go.Figure:
    """The scaling sweeps against P and against P / P* (:func:`scaling_curves`)."""
    curves, p_stars = scaling_curves(root)
    return plots.collapse_figure(curves, p_stars)


# -- label correlations against sampling noise (computed from the grammars) -------------------

SIZES = [2**k for k in range(4, 18)]
CROSSING_GRAMMARS = ((3, 3), (4, 2), (4, 3), (4, 4), (6, 3), (8, 3))


def signal_figure() -> go.Figure:
    """Tuple-label correlation against P, measured and shuffled, for m = 4 and 8 at L = 3."""
    grammars = {f"m = {m}, L = {L}": RHM(16, 16, m, 2, L, seed=0) for m, L in ((4, 3), (8, 3))}
    corr = {name: curve(rhm, SIZES, seeds=(0,)) for name, rhm in grammars.items()}
    return plots.signal_noise(corr, {name: rhm.p_star for name, rhm in grammars.items()})


def crossing_rows() -> list[dict]:
    """Per grammar: P* and the P where the sampling noise falls below the signal."""
    rows = []
    for m, L in CROSSING_GRAMMARS:
        rhm = RHM(16, 16, m, 2, L, seed=0)
        where = crossing(curve(rhm, SIZES, seeds=(0,)))
        rows.append({"m": m, "L": L, "P* = n_c m^L": rhm.p_star,
                     "noise = signal at P": round(where), "ratio": where / rhm.p_star})
    return rows


def crossing_table(numbers: dict) -> Table:
    """The crossings of :func:`numbers` as a table."""
    return Table(numbers["crossings"],
                 caption="Where sampling noise falls below the tuple-label signal, against P*")


# -- the numbers the prose cites, and its claims ----------------------------------------------

def numbers(root: Path = RESULTS_DIR) -> dict:
    """The chapter's numbers: the reference networks, the lr scan, the scaling sweeps (cached)
    and the crossings of noise and signal (computed)."""
    cnn, fcn = reference_rows(root)
    total = n_inputs(16, 4, 2, 3)
    scan = {(r["m"], r["L"], r["lr"]): r["mean"] for rows in lr_scan_curves(root).values()
            for r in rows}
    low, high = min(BP_LRS), max(BP_LRS)
    scaling = {(r["family"], r["m"], r["L"]): r for r in scaling_rows(root)}
    ratio = {m: scaling[("m", m, 3)]["ratio"] for m in (3, 4, 6, 8)}
    p_star_m = [scaling[("m", m, 3)]["p_star"] for m in (3, 8)]
    deep, shallow = scaling[("L", 4, 4)], scaling[("L", 4, 3)]
    rows = crossing_rows()
    factor = max(max(r["ratio"], 1 / r["ratio"]) for r in rows)
    p_stars = [r["P* = n_c m^L"] for r in rows]
    return {
        "cnn": cnn, "fcn": fcn, "02-inputs": total, "02-cnn-frac": cnn["p90"] / total,
        "02-fcn-frac": fcn["p90"] / total, "02-fcn-ratio": fcn["p90"] / cnn["p90"],
        "scan": scan, "scaling_lrs": {(m, L): scaling_lr(m, L) for m, L, _ in scan},
        "02-protocols": _protocols_text(),
        "02-lr-low": low, "02-lr-best": scaling_lr(8, 3),
        "02-lr-choice": _lr_choice({g: scaling_lr(*g) for g in {(m, L) for m, L, _ in scan}},
                                   low, high),
        "02-lr-acc-low": scan[(8, 3, low)], "02-lr-acc-best": scan[(8, 3, scaling_lr(8, 3))],
        "ratio": ratio, "p_star_m": p_star_m, "deep": deep, "shallow": shallow,
        "02-ratio-min": min(ratio.values()), "02-ratio-max": max(ratio.values()),
        "02-ratio-spread": max(ratio.values()) / min(ratio.values()),
        "02-pstar-spread": p_star_m[1] / p_star_m[0],
        "02-depth-frac": shallow["ratio"] / deep["ratio"],
        "02-p90-growth": deep["p90"] / shallow["p90"],
        "crossings": rows, "02-cross-factor": factor,
        "02-cross-spread": max(p_stars) / min(p_stars),
    }


def _protocols_text() -> str:
    """Whether backprop's three P_90 on the reference grammar agree within their intervals."""
    from .. import quantities

    rows = [quantities.QUANTITIES[n].compute()
            for n in ("bp-p90-short", "bp-p90-cosine", "bp-p90-long")]
    if max(r["low"] for r in rows) <= min(r["high"] for r in rows):
        return ("Their intervals overlap: trained to convergence, where the rate comes from "
                "matters less than the seeds")
    return ("Their intervals do not all overlap: $P_{90}$ belongs to a learner *and its "
            "training protocol*, down to where its learning rate was tuned")


def _lr_choice(chosen: dict[tuple[int, int], float], low: float, high: float) -> str:
    """The sentence on where each grammar's chosen rate lies in the grid."""
    if all(low < lr < high for lr in chosen.values()):
        rates = ", ".join(f"{lr:g}" for lr in sorted(set(chosen.values())))
        return (f"On every grammar the chosen rate ({rates}) lies inside the grid, so each "
                "grammar's optimum was reached")
    at_end = sorted(g for g, lr in chosen.items() if lr == high)
    if len(at_end) == len(chosen):
        return (f"On every grammar that is the largest rate of the grid, {high:g}: the optimum "
                "may lie beyond it, so the $P_{90}$ below are what this grid allows")
    ends = ", ".join(f"$m = {m}, L = {L}$" for m, L in at_end) or "none"
    return (f"The chosen rate lies inside the grid on {len(chosen) - len(at_end)} of "
            f"{len(chosen)} grammars; it is the grid's largest, {high:g}, on {ends}, where "
            "the optimum may lie beyond it")


TEXTS = {
    "02-inputs": "{:,}", "02-cnn-frac": "{:.1%}", "02-fcn-frac": "{:.1%}",
    "02-fcn-ratio": "{:.0f}", "02-lr-low": "{:g}", "02-lr-best": "{:g}", "02-lr-choice": "{}",
    "02-protocols": "{}",
    "02-lr-acc-low": "{:.2f}", "02-lr-acc-best": "{:.2f}", "02-ratio-min": "{:.1f}",
    "02-ratio-max": "{:.1f}", "02-ratio-spread": "{:.1f}", "02-pstar-spread": "{:.0f}",
    "02-depth-frac": "{:.0f}", "02-p90-growth": "{:.1f}", "02-cross-factor": "{:.1f}",
    "02-cross-spread": "{:.0f}",
}

CLAIMS = (
    Claim("02-fcn-frac", "both networks need a small fraction of the inputs",
          lambda n: n["fcn"]["p90"] / n["02-inputs"] < 0.2),
    Claim("02-fcn-ratio", "the shallow network needs several times more data than the CNN, "
          "beyond the uncertainty of either",
          lambda n: n["fcn"]["p90"] / n["cnn"]["p90"] > 3 and n["fcn"]["low"] > n["cnn"]["high"]),
    Claim("02-lr-acc-best", "the learning rate matters a lot at P*",
          lambda n: n["02-lr-acc-best"] > n["02-lr-acc-low"] + 0.3),
    Claim("02-lr-inside", "on every grammar the chosen rate lies inside the grid",
          lambda n: all(min(BP_LRS) < lr < max(BP_LRS) for lr in n["scaling_lrs"].values())),
    Claim("02-ratio-spread", "across m, P_90 / P* varies far less than P* (the collapse)",
          lambda n: 4 * max(n["ratio"].values()) / min(n["ratio"].values())
          < n["p_star_m"][1] / n["p_star_m"][0]),
    Claim("02-ratio-max", "P_90 / P* is largest for the fewest synonyms (m = 3)",
          lambda n: n["ratio"][3] == max(n["ratio"].values())),
    Claim("02-depth-frac", "the deeper grammar reaches 90 % at less than its P*, and at a "
          "smaller fraction of it than L = 3",
          lambda n: n["deep"]["ratio"] < 1 and n["deep"]["ratio"] < n["shallow"]["ratio"]),
    Claim("02-p90-growth", "from L = 3 to 4, P_90 grows less than P*",
          lambda n: n["deep"]["p90"] / n["shallow"]["p90"]
          < n["deep"]["p_star"] / n["shallow"]["p_star"]),
    Claim("02-cross-factor", "the crossing lies within a factor 2 of P* for every grammar",
          lambda n: n["02-cross-factor"] < 2),
)


# -- the page's live run -----------------------------------------------------------------------

LIVE = Variant("BP, hierarchical CNN, P = 4000", "bp")  # drawn in BP's colour


def live_numbers(result: object) -> dict:
    """The numbers of the page's live ``run_experiment`` result."""
    return {"02-live-acc": result.test_accuracy, "02-live-ntest": result.config["n_test"],
            "train_final": result.history.train_accuracy[-1]}


def live_figure(result: object) -> go.Figure:
    """The live run's learning curve."""
    return plots.learning_curve({LIVE: result.history})


LIVE_TEXTS = {"02-live-acc": "{:.1%}", "02-live-ntest": "{:,}"}

LIVE_CLAIMS = (
    Claim("02-live-acc", "the network generalises", lambda n: n["02-live-acc"] > 0.9),
    Claim("02-live-acc", "test accuracy close behind training accuracy",
          lambda n: n["train_final"] - n["02-live-acc"] < 0.1),
)
