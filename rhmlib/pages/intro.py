"""The introduction's page: the papers' claims against what the book's cached results show."""

from __future__ import annotations

import math
from collections.abc import Iterable

import plotly.graph_objects as go

from ..linear import broken
from ..plots import interval_panels
from ..stats import p90
from ..sweeps import REFERENCE, backprop, contrast
from ..sweeps import feedback as fb
from ..sweeps.variants import rule_label
from ..tables import Table
from . import ch03, ch04, ch06, ch07, ch09, join

__all__ = ["claims_table", "carry_table", "abstract_figure", "abstract_texts", "ABSTRACT_SERIES"]


def _at_most(x: float) -> str:
    """``x`` rounded up to 2 decimals: "at most" stays true of the rounded number."""
    return f"{math.ceil(x * 100) / 100:.2f}"


def _at_least(x: float) -> str:
    """``x`` rounded down to 2 decimals."""
    return f"{math.floor(x * 100) / 100:.2f}"


def _hard_grammars(rows: Iterable[dict]) -> dict[tuple[int, int], dict[str, dict]]:
    """Rows of a grammar table (keys ``m``, ``L``, ``name``) at L > 3 or m > 4, per grammar."""
    out: dict[tuple[int, int], dict[str, dict]] = {}
    for r in rows:
        if r["L"] > 3 or r["m"] > 4:
            out.setdefault((r["m"], r["L"]), {})[r["name"]] = r
    return out


def _claim_backprop() -> str:
    cnn, fcn = backprop.reference_rows()
    rows = backprop.scaling_rows()
    by_m = [r["ratio"] for r in rows if r["family"] == "m"]
    depth = {r["L"]: r["ratio"] for r in rows if r["family"] == "L"}
    ms = sorted(r["m"] for r in rows if r["family"] == "m")
    low, high = min(by_m), max(by_m)
    (l0, r0), (l1, r1) = sorted(depth.items())[0], sorted(depth.items())[-1]
    verdict = "Holds in scale" if high / low < 3 else "Holds only roughly"
    trend = ("grows more slowly than $n_c m^L$" if r1 < 0.7 * r0 else
             "grows faster than $n_c m^L$" if r1 > 1.4 * r0 else "follows $n_c m^L$")
    return (f"{verdict}. On the reference grammar ($P^*$ = {cnn['p_star']:,}) the hierarchical "
            f"CNN reaches 90 % at $P_{{90}} \\approx$ {cnn['p90']:,.0f}, a shallow network at "
            f"{fcn['p90']:,.0f}. Across $m$ from {ms[0]} to {ms[-1]} ($L$ = 3), $P_{{90}}/P^*$ "
            f"stays between {low:.1f} and {high:.1f}. With depth the need {trend}: "
            f"$P_{{90}}/P^*$ is {r0:.2f} at $L = {l0}$ and {r1:.2f} at $L = {l1}$ (only these "
            "depths measured).")


def _claim_type1() -> str:
    best = {r["name"]: r for r in ch03.p90_table(fb.summary(fb.records("feedback_P"))).rows}
    bp = best["BP"]["p90"]
    stuck = [n for n in ("DRTP", "PEPITA") if math.isinf(best[n]["p90"])]
    largest = max(best[n]["P"] for n in ("DRTP", "PEPITA"))
    hard = _hard_grammars(ch03.grammar_gap_table(fb.grammar_curves(), fb.grammar_chosen_lrs()).rows)
    worst = max(g[n]["mean"] for g in hard.values() for n in ("FA", "DFA"))
    bp_hard = min(g["BP"]["mean"] for g in hard.values())
    ls = sorted({L for m, L in hard if L > 3})
    ms = sorted({m for m, L in hard if m > 4})
    first = (f"{' and '.join(stuck)} never reach 90 % (their best test accuracy is "
             f"{max(best[n]['mean'] for n in stuck):.2f}, chance {1 / REFERENCE['n_c']:.2f}, up to "
             f"$P$ = {largest:,})"
             if stuck else "DRTP and PEPITA reach 90 % too")
    fa, dfa = best["FA"]["p90"] / bp, best["DFA"]["p90"] / bp
    reference = (f"on the reference grammar FA and DFA do learn, from {fa:.1f} and {dfa:.1f} "
                 "times backprop's examples" if math.isfinite(fa) and math.isfinite(dfa)
                 else "on the reference grammar FA or DFA do not reach 90 % either")
    return (f"Partly. {first}; {reference}. On deeper grammars or with more synonyms "
            f"($L = {', '.join(map(str, ls))}$; $m = {', '.join(map(str, ms))}$) FA and DFA reach "
            f"at most {_at_most(worst)} at $P = 2P^*$, where backprop is above "
            f"{_at_least(bp_hard)}.")


def _claim_masking() -> str:
    reference = {k: v for k, v in fb.summary(fb.records("feedback_P")).items()
                 if k in fb.TYPE1[:3]}
    curves = {**reference, **fb.summary(fb.at_chosen_lr("masking_lr") + fb.records("masking_P"))}
    bp = p90(curves["BP"])
    own = max(r["mean"] for n, rows in curves.items() if n.startswith("own") for r in rows)
    largest = max(r["P"] for n, rows in curves.items() if n.startswith("own") for r in rows)
    down = max(p90(rows) / bp for n, rows in curves.items()
               if n.startswith("downstream") or n == "DFA + exact transport")
    transport = p90(curves["DFA"]) / p90(curves["DFA + exact transport"])
    hard = _hard_grammars(ch04.masking_grammar_table().rows)
    (m, L), deepest = max(hard.items(), key=lambda item: (item[0][1], item[0][0]))
    return (f"Refined. A layer's own mask, which every direct rule keeps, is indispensable: "
            f"without it the test accuracy stays at or below {_at_most(own)} up to "
            f"$P$ = {largest:,}. "
            "The downstream masks the direct rules lack cost little on the reference grammar "
            f"($P_{{90}}$ at most {down:.1f} times backprop's) and part of backprop's accuracy "
            "on harder ones; what DFA lacks most is weight transport. On the reference "
            f"grammar DFA needs {transport:.1f} times the data of DFA with exact transport; "
            f"at $L = {L}$, $m = {m}$, at $P = 2P^*$, DFA with exact transport (no downstream "
            f"masks) reaches {deepest['DFA + exact transport']['mean']:.2f}, DFA "
            f"{deepest['DFA']['mean']:.2f}, backprop {deepest['BP']['mean']:.2f}.")


def _grammar_list(vs: list[dict], of: int | None = None) -> str:
    """Grammars as prose; "every grammar measured" when they are all ``of`` of them."""
    if of is not None and len(vs) == of:
        return "every grammar measured"
    return ", ".join(f"$m = {v['m']}, L = {v['L']}$" for v in vs) or "none"


def _label_cases(vs: list[dict]) -> str:
    """Depths and numbers of labels as prose: "$L = 3$ (0.25, 0.5 and 1 $P^*$ labels)"."""
    by_depth: dict[int, list[float]] = {}
    for v in vs:
        by_depth.setdefault(v["L"], []).append(v["ratio"])
    cases = [f"$L = {L}$ ({join([f'{r:g}' for r in sorted(rs)])} $P^*$ labels)"
             for L, rs in sorted(by_depth.items())]
    return join(cases) if cases else "no depth and number of labels"


def _claim_local() -> str:
    """Local self-supervision against backprop, per grammar, both regimes (chapter 06)."""
    verdicts = ch06.contrast_verdicts(contrast.scaling_rows())
    reference = next(v for v in verdicts if (v["m"], v["L"]) == (4, 3))
    keeps = [v for v in verdicts if v["ssl_keeps"]]
    loses = [v for v in verdicts if not v["ssl_keeps"]]
    verdict = "Holds" if not loses else "Partly" if keeps else "Does not hold"
    name, ratio = reference["ssl"]
    needs = ("never reaches 90 %" if math.isinf(ratio)
             else f"needs {ratio:.2f} times backprop's labels")
    labels = ch06.label_verdicts(contrast.label_rows())
    ahead, behind = ([v for v in labels if v["verdict"] == side] for side in ("ahead", "behind"))
    return (f"{verdict}, at convergence and each rule at its preferred width. Strict regime "
            f"(labels only): on the reference grammar the best self-supervised rule, {name}, "
            f"{needs}; within a factor {ch06.KEEPS:g} of backprop on "
            f"{_grammar_list(keeps, len(verdicts))}, beyond it on {_grammar_list(loses)}. "
            "Label-limited "
            f"regime ($8P^*$ unlabelled inputs): ahead of backprop on the same labels at "
            f"{_label_cases(ahead)}; behind it at {_label_cases(behind)}.")


def _claim_contrast() -> str:
    """Where direct feedback loses backprop's data efficiency, does self-supervision keep it?"""
    verdicts = ch06.contrast_verdicts(contrast.scaling_rows())
    holds = [v for v in verdicts if v["verdict"] == "holds"]
    type1_lose = [v for v in verdicts if not v["type1_keeps"]]
    verdict = ("Holds" if holds and len(holds) == len(type1_lose) else "Partly" if holds
               else "Does not hold")
    return (f"{verdict} (each rule at its preferred width, trained to convergence, strict "
            f"regime). FA and DFA lose backprop's data efficiency on "
            f"{_grammar_list(type1_lose, len(verdicts))}; a self-supervised rule keeps it "
            + ("on all of them." if holds and len(holds) == len(type1_lose)
               else f"there on {_grammar_list(holds)}."))


def _claim_linear() -> str:
    exact = max(broken(depth=4, width=16))
    parted = min(broken(4, 16, **{k: 0.1})[0] for k in ("skew", "shrink", "b_noise"))
    verdict = "Holds" if exact < 1e-10 else "Not reproduced"
    return (f"{verdict}. With orthonormal weights, equal widths and optimal $B$, the local and "
            f"global updates of a depth-4 linear network differ by at most {exact:.0e} of "
            "their size at every layer; breaking any one condition by 10 % parts them by "
            f"at least {math.floor(parted * 100):.0f} % at layer 1. The ReLU network of the "
            "book meets none of the conditions exactly.")


def _similarity_text(row: dict) -> str:
    without = row["without"].values()
    if not row["decides"]:
        return (f"Cannot decide: the cosines span only {row['low']:.2f} to {row['high']:.2f}")
    trend = ("Supported" if row["rho"] > 0.3 and min(without) > 0 else
             "Contradicted" if row["rho"] < -0.3 and max(without) < 0 else "Not supported")
    # With two families, leaving one out leaves the other's runs alone.
    spread = (f" ({min(without):+.2f} to {max(without):+.2f} leaving out any one family of "
              "runs)" if len(without) > 2 else
              ", and within each rule's runs alone " + join([f"{v:+.2f}" for v in without]))
    return (f"{trend}: over cosines from {row['low']:.2f} to {row['high']:.2f}, the rank "
            f"correlation with test accuracy is {row['rho']:+.2f}{spread}")


def _claim_similarity() -> str:
    """Closer to the global update, better? Blends and CLAPP++ variants (chapter 07)."""
    rows = {r["grammar"]: r for r in ch07.similarity_rows(contrast.twin_points())}
    return (_similarity_text(rows["all"]) + " on the RHM (CLAPP and InfoNCE blended with "
            "their global twins, and CLAPP++'s variants, at convergence, width 256).")


def _on_mnist1d(claim: str, found: dict) -> str:
    """What MNIST-1D (chapter 09, its :func:`~rhmlib.pages.ch09.findings` ``found``) says of
    a claim the grammar tested."""
    labels = ch09.sweeps.SCAN_LABELS
    at = found[labels]
    control = f"the readout alone on untrained layers ({at['control']['mean']:.2f})"
    width = ch09.sweeps.TRAINING["width"]
    if claim == "type1":
        fa, dfa = at["feedback"]["fa"], at["feedback"]["dfa"]
        return (f"With {labels:,} labels and {width} units, DFA reaches {dfa['mean']:.2f}, "
                f"{at['feedback_vs_control']['dfa']} {control} and "
                f"{ch09.versus(dfa, at['bp'])} backprop ({at['bp']['mean']:.2f}); FA reaches "
                f"{fa['mean']:.2f}, {at['feedback_vs_control']['fa']} the readout. DRTP and "
                "PEPITA were not run on MNIST-1D.")
    if claim == "local":
        limited = {found[P]["limited_vs_bp"] for P in ch09.sweeps.LIMITED_LABELS}
        span = f"{min(ch09.sweeps.LIMITED_LABELS):,} to {max(ch09.sweeps.LIMITED_LABELS):,}"
        where = (f"{limited.pop()} backprop at every number of labels ({span})"
                 if len(limited) == 1 else
                 ", ".join(f"{found[P]['limited_vs_bp']} backprop at {P:,} labels"
                           for P in ch09.sweeps.LIMITED_LABELS))
        verdict = "No. " if at["vs_control"] != "above" else ""
        return (f"{verdict}With {labels:,} labels and {width} units, {found['best_ssl_label']} "
                f"reaches "
                f"{at['ssl']['mean']:.2f}, {at['vs_control']} {control} and "
                f"{ch09.versus(at['ssl'], at['bp'])} backprop ({at['bp']['mean']:.2f}); given "
                f"{ch09.sweeps.UNLABELLED:,} unlabelled signals, the best self-supervised "
                f"rule is {where}.")
    if claim == "contrast":
        turn = (at["type1_vs_control"], at["vs_control"]) == ("above", "below")
        return (("The roles are reversed: w" if turn else "W") + f"ith {labels:,} labels "
                f"{rule_label(at['type1']['rule'])} is {at['type1_vs_control']} the readout "
                f"alone on untrained layers, {found['best_ssl_label']} {at['vs_control']} it.")
    return _similarity_text(ch07.similarity_rows(ch09.twin_points())[0]) + "."


def _claim_rows() -> list[dict]:
    """One row per claim: the claim, the verdict on the grammar and on MNIST-1D, where."""
    rows = [
        ("Backprop learns the RHM from about $n_c m^L$ examples", _claim_backprop,
         "02_backprop"),
        ("FA, DFA, DRTP and PEPITA fail on it", _claim_type1, "03_direct_feedback"),
        ("... because they lack backprop's input-specific masking", _claim_masking,
         "04_masking"),
        ("Layer-local self-supervised rules (CLAPP and others) learn the hierarchy about as "
         "data-efficiently as backprop", _claim_local, "05_local_rules, 06_data_efficiency"),
        ("... where direct feedback fails", _claim_contrast, "06_data_efficiency"),
        ("In deep linear networks a local update equals the global one (under conditions)",
         _claim_linear, "07_local_vs_global"),
        ("Variants whose updates are closer to the global one learn better (CLAPP++)",
         _claim_similarity, "07_local_vs_global"),
    ]
    mnist1d = {_claim_type1: "type1", _claim_local: "local", _claim_contrast: "contrast",
               _claim_similarity: "similarity"}
    found = ch09.findings()
    return [{"claim": claim, "what we find": verdict(),
             "on MNIST-1D": _on_mnist1d(mnist1d[verdict], found) if verdict in mnist1d else "–",
             "where": ", ".join(f"{{doc}}`{d}`" for d in where.split(", "))
             + (", {doc}`09_mnist1d`" if verdict in mnist1d else "")}
            for claim, verdict, where in rows]


def claims_table() -> Table:
    """The papers' claims, what the book's cached results and measurements show, and where.

    Every number comes from the cached sweeps (:mod:`rhmlib.sweeps`) or, for the deep
    linear case, from :func:`rhmlib.linear.broken`; the verdicts follow the numbers.
    The "where" cells are MyST ``{doc}`` links: render with :func:`rhmlib.tables.markdown`.
    """
    return Table(_claim_rows(), ["claim", "what we find", "on MNIST-1D", "where"],
                 caption="The papers' claims against this book's results, on the grammar and "
                 "on MNIST-1D")


def carry_table() -> Table:
    """The claims MNIST-1D tests: the verdict on the grammar beside the one on MNIST-1D."""
    rows = [{"claim": r["claim"], "on the grammar": r["what we find"],
             "on MNIST-1D": r["on MNIST-1D"]} for r in _claim_rows() if r["on MNIST-1D"] != "–"]
    return Table(rows, ["claim", "on the grammar", "on MNIST-1D"],
                 caption="Do the grammar's verdicts carry to MNIST-1D?")


# The graphical abstract's series: the label a curve carries in the cached results, its
# legend label, and the chapter that shows it (the caption links each part there).
ABSTRACT_SERIES: tuple[tuple[str, str, str], ...] = (
    ("BP", "backprop (BP)", "02_backprop"),
    ("FA", "feedback alignment (FA)", "03_direct_feedback"),
    ("DFA", "direct feedback (DFA)", "03_direct_feedback"),
    ("CLAPP", "CLAPP (local, self-supervised)", "06_data_efficiency"),
    ("InfoNCE", "InfoNCE (local, self-supervised)", "06_data_efficiency"),
)


def abstract_figure(rows: list[dict] | None = None, dodge: float = 0.12) -> go.Figure:
    """The book's answer in one panel: ``P_90 / P*`` against depth ``L`` (``m = 4``).

    Backprop, direct feedback (FA, DFA) and local self-supervision (CLAPP, InfoNCE) from
    the cached results (:func:`rhmlib.sweeps.contrast.scaling_rows`), drawn by
    :func:`rhmlib.plots.interval_panels`: open triangles pointing up where a rule never
    reached 90 % (a lower bound at the largest ``P`` tried), pointing down where it did at
    the first ``P``. Each series is shifted by ``dodge`` in ``L`` from the next (about 8 px
    on a phone), its intervals and bounds alike, so that they stay apart; the ticks stay
    at the integer depths and the hover names the depth.
    """
    rows = contrast.scaling_rows() if rows is None else rows
    names = [name for name, _, _ in ABSTRACT_SERIES]
    depth = contrast.scaling_groups(rows, tuple(names))[contrast.DEPTH]
    missing = [n for n in names if n not in depth]
    if missing:
        raise ValueError(f"no depth rows (m = 4) for {missing} among the cached results")
    middle = (len(names) - 1) / 2
    curves = {legend: [{**r, "x": r["x"] + (k - middle) * dodge} for r in depth[name]]
              for k, (name, legend, _) in enumerate(ABSTRACT_SERIES)}
    fig = interval_panels({contrast.DEPTH: curves},
                          f"depth L of the hierarchy (m = {REFERENCE['m']})",
                          "P₉₀ / P*  (examples to 90 %, log scale)")
    depths = sorted({r["x"] for name in names for r in depth[name]})
    fig.update_xaxes(tickvals=depths, ticktext=[str(L) for L in depths],
                     range=[depths[0] - 0.5, depths[-1] + 0.5])
    for trace in fig.data:
        if trace.customdata is not None:  # a bound: interval_panels shifted it once more,
            trace.x = trace.customdata    # where every series is shifted here already
        trace.customdata = [round(x) for x in trace.x]  # hover the depth, not the position
        trace.hovertemplate = "L = %{customdata}: " + trace.hovertemplate.split(": ", 1)[1]
    fig.layout.annotations = ()  # the one panel's title repeats the x axis
    return fig


def abstract_texts(rows: list[dict] | None = None) -> dict[str, str]:
    """The numbers the graphical abstract's caption cites, as texts to glue.

    From ``rows`` (:func:`rhmlib.sweeps.contrast.scaling_rows`): ``intro-bp-max``,
    backprop's largest ``P_90 / P*`` over the depths; ``intro-fb`` and ``intro-ssl``, what
    FA and DFA, and CLAPP and InfoNCE, do: "do not reach 90 % from L = k on" (the
    smallest depth from which neither does, at every depth from it on) or "reach 90 % at
    every depth"; ``intro-depths``, the depths measured;
    ``intro-m``, the synonyms per rule of those grammars; ``intro-ref-depth``, the depth of
    the reference grammar; ``intro-widths``, each rule's preferred width.
    """
    rows = contrast.scaling_rows() if rows is None else rows
    m = REFERENCE["m"]
    depth = {(r["name"], r["L"]): r for r in rows if r["m"] == m}
    depths = sorted({L for name, L in depth if name == "BP"})

    def fails_from(names: tuple[str, ...]) -> str:
        # A rule measured on fewer depths (FA, for cost) counts where it was measured.
        failing = [L for L in depths
                   if all(not math.isfinite(depth[(n, L2)]["p90"]) for n in names
                          for L2 in depths if L2 >= L and (n, L2) in depth)]
        partial = [f"{n} measured at L = {', '.join(str(L) for L in measured)} only"
                   for n in names
                   if (measured := [L for L in depths if (n, L) in depth]) != depths]
        note = f" ({'; '.join(partial)})" if partial else ""
        if not failing:
            return "reach 90 % at every depth" + note
        return f"do not reach 90 % from L = {min(failing)} on" + note

    widths = contrast.headline_widths()
    bp_max = max(depth[("BP", L)]["p90"] for L in depths)
    return {"intro-bp-max": f"{math.ceil(bp_max * 10) / 10:.1f}",  # "at or below" stays true
            "intro-fb": fails_from(("FA", "DFA")),
            "intro-ssl": fails_from(("CLAPP", "InfoNCE")),
            "intro-depths": f"{depths[0]} to {depths[-1]}",
            "intro-m": str(m),
            "intro-ref-depth": str(REFERENCE["L"]),
            "intro-widths": ", ".join(f"{name} {widths[name]}" for name, _, _ in ABSTRACT_SERIES)}
