"""The introduction's page: the papers' claims against what the book's cached results show."""

from __future__ import annotations

import math
from collections.abc import Iterable

import plotly.graph_objects as go

from ..linear import broken
from ..plots import interval_panels
from ..stats import p90, rank_correlation
from ..sweeps import REFERENCE, backprop, contrast, local
from ..sweeps import feedback as fb
from ..tables import Table

__all__ = ["claims_table", "abstract_figure", "abstract_texts", "ABSTRACT_SERIES"]


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
    best = {r["name"]: r for r in fb.p90_table(fb.summary(fb.records("feedback_P"))).rows}
    bp = best["BP"]["p90"]
    stuck = [n for n in ("DRTP", "PEPITA") if math.isinf(best[n]["p90"])]
    largest = max(best[n]["P"] for n in ("DRTP", "PEPITA"))
    hard = _hard_grammars(fb.grammar_gap_table(fb.grammar_curves(), fb.grammar_chosen_lrs()).rows)
    worst = max(g[n]["mean"] for g in hard.values() for n in ("FA", "DFA"))
    bp_hard = min(g["BP"]["mean"] for g in hard.values())
    ls = sorted({L for m, L in hard if L > 3})
    ms = sorted({m for m, L in hard if m > 4})
    first = (f"{' and '.join(stuck)} never reach 90 % (best test accuracy "
             f"{max(best[n]['mean'] for n in stuck):.2f}, up to $P$ = {largest:,})"
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
    hard = _hard_grammars(fb.masking_grammar_table().rows)
    (m, L), deepest = max(hard.items(), key=lambda item: (item[0][1], item[0][0]))
    return (f"Refined. A layer's own mask, which every direct rule keeps, is indispensable: "
            f"without it the test accuracy stays at or below {_at_most(own)} up to "
            f"$P$ = {largest:,}. "
            "The downstream masks the direct rules lack cost little on the reference grammar "
            f"($P_{{90}}$ at most {down:.1f} times backprop's), where DFA's gap is weight "
            f"transport: DFA needs {transport:.1f} times the data of DFA with exact transport. "
            f"They matter on deeper grammars: at $L = {L}$, $m = {m}$, DFA with exact "
            f"transport (no downstream masks) reaches "
            f"{deepest['DFA + exact transport']['mean']:.2f} at $P = 2P^*$, backprop "
            f"{deepest['BP']['mean']:.2f}.")


def _claim_local() -> str:
    rows = {r["name"]: r for r in local.p90_rows()}
    clapp, infonce = rows["CLAPP (local)"]["ratio"], rows["InfoNCE (local)"]["ratio"]
    oracle = rows["CLAPP, oracle views (uses the generator)"]["ratio"]
    never = [n.split(" (")[0] for n in ("VICReg (local)", "Forward-Forward (local)")
             if math.isinf(rows[n]["p90"])]
    largest = max(max(rows[n]["grid"]) for n in ("VICReg (local)", "Forward-Forward (local)"))
    verdict = "Holds" if clapp <= 1.2 else "Partly" if clapp <= 2.5 else "Not in our hands"
    rest = (f"; {' and '.join(never)} do not reach 90 % by $P$ = {largest:,}" if never else "")
    second = (f"InfoNCE {infonce:.1f} times" if math.isfinite(infonce)
              else "InfoNCE does not reach 90 %")
    return (f"{verdict}, on the reference grammar at width 64: the best local rule, CLAPP, "
            f"needs {clapp:.1f} times backprop's labels, {second}{rest}; each at its preferred "
            f"width, CLAPP needs {_width_ratio():.2f} times backprop's. Oracle views (which "
            f"use the generator) bring CLAPP to {oracle:.2f} times. {_claim_depth()}")


def _width_ratio() -> float:
    """CLAPP's P_90 at its preferred width over backprop's at its own (10 seeds each)."""
    best = contrast.headline_rows()
    return best["clapp"]["p90"] / best["bp"]["p90"]


def _claim_depth() -> str:
    """Does local self-supervision keep backprop's P_90 / P* on the deeper grammars?"""
    rows = {(r["name"], r["m"], r["L"]): r for r in contrast.scaling_rows()}
    hard = sorted({(m, L) for _, m, L in rows if L > 3 or m > 4})
    kept = [(m, L) for m, L in hard
            if any(math.isfinite(rows[(n, m, L)]["p90"]) for n in ("CLAPP", "InfoNCE")
                   if (n, m, L) in rows)]
    acc = max(rows[(n, m, L)]["test"] for n in ("CLAPP", "InfoNCE") for m, L in hard
              if (n, m, L) in rows and (m, L) not in kept)
    bp = min(rows[("BP", m, L)]["test"] for m, L in hard)
    grammars = ", ".join(f"$m = {m}, L = {L}$" for m, L in hard if (m, L) not in kept)
    return (f"Not on deeper grammars or with more synonyms: on {grammars} neither CLAPP nor "
            f"InfoNCE reaches 90 % (at most {_at_most(acc)} at $P = 2P^*$, where backprop is "
            f"above {_at_least(bp)}), at the same step budget as on the reference grammar.")


def _claim_linear() -> str:
    exact = max(broken(depth=4, width=16))
    parted = min(broken(4, 16, **{k: 0.1})[0] for k in ("skew", "shrink", "b_noise"))
    verdict = "Holds" if exact < 1e-10 else "Not reproduced"
    return (f"{verdict}. With orthonormal weights, equal widths and optimal $B$, the local and "
            f"global updates of a depth-4 linear network differ by at most {exact:.0e} of "
            "their size at every layer; breaking any one condition by 10 % parts them by "
            f"at least {math.floor(parted * 100):.0f} % at layer 1. The ReLU network of the "
            "book meets none of the conditions exactly.")


def _claim_similarity() -> str:
    points = contrast.twin_points()
    cells: dict[tuple, list[dict]] = {}
    for p in points:
        cells.setdefault((p["m"], p["L"], p["ratio"]), []).append(p)
    rho = [rank_correlation([p["cosine"] for p in pts], [p["test"] for p in pts])
           for pts in cells.values()]
    ref = {r["name"]: r for r in contrast.scaling_rows() if (r["m"], r["L"]) == (4, 3)}
    position, clapp = ref["CLAPP++ (position predictors)"]["test"], ref["CLAPP"]["test"]
    verdict = ("Not supported" if max(rho) < 0.2 else "Supported" if min(rho) > 0.4
               else "Unclear")
    return (f"{verdict} on the RHM. Across rules, CLAPP++ variants and seeds, the rank "
            f"correlation between a run's cosine to its global twin's update and its test "
            f"accuracy is between {min(rho):+.2f} and {max(rho):+.2f} in the {len(rho)} settings "
            "measured; the top-layer context brings updates closer to the global one and "
            f"learns worst. One predictor per position, far from the global update, lifts "
            f"CLAPP from {clapp:.2f} to {position:.2f} at $P = 2P^*$ on the reference grammar.")


def claims_table() -> Table:
    """The papers' claims, what the book's cached results and measurements show, and where.

    Every number comes from the cached sweeps (:mod:`rhmlib.sweeps`) or, for the deep
    linear case, from :func:`rhmlib.linear.broken`; the verdicts follow the numbers.
    The "where" cells are MyST ``{doc}`` links: render with :func:`rhmlib.tables.markdown`.
    """
    rows = [
        ("Backprop learns the RHM from about $n_c m^L$ examples", _claim_backprop,
         "02_backprop"),
        ("FA, DFA, DRTP and PEPITA fail on it", _claim_type1, "03_direct_feedback"),
        ("... because they lack backprop's input-specific masking", _claim_masking,
         "04_masking"),
        ("Layer-local self-supervised rules (CLAPP and others) learn the hierarchy about as "
         "data-efficiently as backprop", _claim_local, "05_local_rules, 06_data_efficiency"),
        ("In deep linear networks a local update equals the global one (under conditions)",
         _claim_linear, "07_local_vs_global"),
        ("Variants whose updates are closer to the global one learn better (CLAPP++)",
         _claim_similarity, "07_local_vs_global"),
    ]
    return Table([{"claim": claim, "what we find": verdict(),
                   "where": ", ".join(f"{{doc}}`{d}`" for d in where.split(", "))}
                  for claim, verdict, where in rows],
                 caption="The papers' claims against this book's results")


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


def _one(values: Iterable[object], what: str) -> object:
    """The single value that every run shares, or ValueError naming ``what``."""
    found = set(values)
    if len(found) != 1:
        raise ValueError(f"the runs of the graphical abstract differ in {what}: {sorted(found)}")
    return found.pop()


def abstract_texts(rows: list[dict] | None = None,
                   cells: dict[tuple[str, int, int], list[dict]] | None = None) -> dict[str, str]:
    """The numbers the graphical abstract's caption cites, as texts to glue.

    From ``rows`` (:func:`rhmlib.sweeps.contrast.scaling_rows`): ``intro-bp-max``,
    backprop's largest ``P_90 / P*`` over the depths; ``intro-fb-from`` and
    ``intro-ssl-from``, the smallest depth from which FA and DFA, and CLAPP and InfoNCE,
    do not reach 90 % (every depth from it on); ``intro-depths``, the depths measured;
    ``intro-m``, the synonyms per rule of those grammars; ``intro-ref-depth``, the depth of
    the reference grammar. From the runs themselves
    (``cells``, :func:`rhmlib.sweeps.contrast.cell_records`), the budgets the caption
    names: ``intro-type1-steps`` (BP, FA, DFA), ``intro-ssl-steps`` and
    ``intro-readout-steps`` (CLAPP, InfoNCE) and ``intro-width``; ValueError where the
    runs do not share them.
    """
    rows = contrast.scaling_rows() if rows is None else rows
    cells = contrast.cell_records() if cells is None else cells
    m = REFERENCE["m"]
    depth = {(r["name"], r["L"]): r for r in rows if r["m"] == m}
    depths = sorted({L for name, L in depth if name == "BP"})

    def fails_from(names: tuple[str, ...]) -> str:
        failing = [L for L in depths
                   if all(not math.isfinite(depth[(n, L2)]["p90"]) for n in names
                          for L2 in depths if L2 >= L)]
        return str(min(failing)) if failing else "nowhere"

    names = [name for name, _, _ in ABSTRACT_SERIES]
    configs = {name: [r["config"] for (n, m2, _), recs in cells.items()
                      if n == name and m2 == m for r in recs] for name in names}
    type1 = [c for name in ("BP", "FA", "DFA") for c in configs[name]]
    ssl = [c for name in ("CLAPP", "InfoNCE") for c in configs[name]]
    readout = _one((c["rule_options"]["readout_steps"] for c in ssl), "readout steps")
    bp_max = max(depth[("BP", L)]["p90"] for L in depths)
    return {"intro-bp-max": f"{math.ceil(bp_max * 10) / 10:.1f}",  # "at or below" stays true
            "intro-fb-from": fails_from(("FA", "DFA")),
            "intro-ssl-from": fails_from(("CLAPP", "InfoNCE")),
            "intro-depths": f"{depths[0]} to {depths[-1]}",
            "intro-m": str(m),
            "intro-ref-depth": str(REFERENCE["L"]),
            "intro-type1-steps": f"{_one((c['steps'] for c in type1), 'steps'):,}",
            "intro-ssl-steps": f"{_one((c['steps'] for c in ssl), 'steps'):,}",
            "intro-readout-steps": f"{readout:,}",
            "intro-width": str(_one((c["width"] for c in type1 + ssl), "width"))}
