"""Tables for the book: rows of dicts shown as HTML in notebooks and on the static site."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Sequence

from .checks import check_choice, check_int, check_list, check_real
from .rules import RULES, get_rule
from .stats import p90, rank_correlation
from .train import BASE, resolve

__all__ = ["Table", "recipes", "pm", "range_text", "p90_text", "ratio_text", "ratio_interval_text",
           "p90_summary_text", "settings", "curve_table", "markdown", "claims_table"]


def _cell(value: object, digits: int) -> str:
    if isinstance(value, float):
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}g}"
    if value is None:
        return "–"
    return str(value)


class Table:
    """Rows shown as an HTML table; numbers to ``digits`` significant digits, None as a dash."""

    def __init__(self, rows: Sequence[dict], columns: Sequence[str] | None = None,
                 caption: str = "", digits: int = 3) -> None:
        if not rows and columns is None:
            raise ValueError("rows must not be empty when columns are not given")
        self.rows = [dict(r) for r in rows]
        self.columns = list(columns) if columns is not None else list(self.rows[0])
        self.caption, self.digits = caption, digits

    def _repr_html_(self) -> str:
        pad = ' style="padding: 0.15em 0.9em"'  # inline: the table needs no stylesheet
        head = "".join(f"<th{pad}>{html.escape(str(c))}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td{pad}>{html.escape(_cell(row.get(c), self.digits))}</td>"
                             for c in self.columns) + "</tr>" for row in self.rows)
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return (f'<table class="rhmlib-table">{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")

    def __repr__(self) -> str:
        lines = [" | ".join(self.columns)]
        lines += [" | ".join(_cell(r.get(c), self.digits) for c in self.columns) for r in self.rows]
        return "\n".join(lines)


def recipes(names: Sequence[str] | None = None) -> Table:
    """Every rule's tuned recipe: the defaults ``run_experiment(..., rule=name)`` runs with."""
    every = [n for n in RULES if n != "readout"]
    names = every if names is None else [check_choice("names", n, every)
                                         for n in check_list("names", names)]
    rows = []
    for name in names:
        settings = {**BASE, **RULES[name].defaults}
        options = get_rule(name).options()
        extra = ", ".join(f"{k}={v}" for k, v in options.items()
                          if k not in ("pairs", "locality", "readout", "unlabelled",
                                       "detach_context"))
        rows.append({"rule": name, "optimizer": settings["optimizer"], "lr": settings["lr"],
                     "weight decay": settings["weight_decay"], "schedule": settings["schedule"],
                     "steps": settings["steps"], "batch": settings["batch_size"],
                     "options": extra or None})
    return Table(rows, caption="Tuned recipes: the defaults of run_experiment for each rule")


def pm(mean: float, sem: float, decimals: int = 3) -> str:
    """A mean and its standard error as text, ``"0.912 ± 0.008"``; a dash if undefined."""
    mean, sem = check_real("mean", mean), check_real("sem", sem)
    decimals = check_int("decimals", decimals, 0, 20)
    if math.isnan(mean):
        return "–"
    if math.isnan(sem):
        return f"{mean:.{decimals}f}"
    return f"{mean:.{decimals}f} ± {sem:.{decimals}f}"


# -- text of one cell ---------------------------------------------------------------------

def range_text(values: Iterable[int]) -> str:
    """The smallest and largest of ``values`` as "3–10", or one number when they agree."""
    values = sorted(set(values))
    if not values:
        return "–"
    return f"{values[0]}" if values[0] == values[-1] else f"{values[0]}–{values[-1]}"


def _count(x: float) -> str:
    """A number of examples, "1,230"."""
    return f"{x:,.0f}"


def _p90_value(name: str, value: object) -> float:
    """A P_90 or a bound of one: a number > 0, inf when not reached; never NaN."""
    value = check_real(name, value)
    if not value > 0:
        raise ValueError(f"{name} must be a P_90 (> 0, inf if not reached), got {value!r}")
    return value


def _grid(grid: object) -> list[float]:
    """The ``x`` values of a curve: numbers > 0 (possibly none)."""
    return [_p90_value(f"grid[{i}]", g)
            for i, g in enumerate(check_list("grid", grid, allow_empty=True))]


def p90_text(p90: float, low: float | None, high: float | None, grid: Sequence[float],
             number: Callable[[float], str] = _count) -> str:
    """P_90 and its interval, "1,230 [1,100, 1,400]"; "> P_max" never reached, "≤ P_min" at once.

    The one text of a P_90: without an interval (``low`` and ``high`` None) the number
    alone; ``number`` writes each value (a count of examples by default).
    """
    p90 = _p90_value("p90", p90)
    if (low is None) != (high is None):
        raise ValueError(f"low and high must both be given or both be None, got {low!r}, {high!r}")
    if low is not None:
        low, high = _p90_value("low", low), _p90_value("high", high)
        if not low <= p90 <= high:
            raise ValueError(f"p90 must lie in its interval [low, high], got {p90!r} outside "
                             f"[{low!r}, {high!r}]")
    grid = _grid(grid)
    if not grid:
        return "–"
    if math.isinf(p90):
        return f"> {number(max(grid))}"
    if p90 <= min(grid):
        return f"≤ {number(min(grid))}"
    if low is None:
        return number(p90)
    bound = [f"> {number(max(grid))}" if math.isinf(b) else number(b) for b in (low, high)]
    return f"{number(p90)} [{bound[0]}, {bound[1]}]"


def ratio_text(p90: float, reference: float, grid: Sequence[float]) -> str:
    """``p90 / reference`` to 2 decimals; "> (largest P / reference)" when never reached.

    A reference that was never reached (inf) gives a dash.
    """
    p90, reference, grid = _p90_value("p90", p90), _p90_value("reference", reference), _grid(grid)
    if math.isinf(reference):
        return "–"
    if math.isinf(p90):
        return f"> {max(grid) / reference:.2f}" if grid else "–"
    return f"{p90 / reference:.2f}"


def ratio_interval_text(p90: float, low: float, high: float, reference: float,
                        grid: Sequence[float]) -> str:
    """``p90 / reference`` with its interval, each bound as :func:`ratio_text` writes it."""
    point, low, high = (ratio_text(v, reference, grid) for v in (p90, low, high))
    return point if math.isinf(p90) else f"{point} [{low}, {high}]"


def p90_summary_text(summary: dict) -> str:
    """A :func:`rhmlib.stats.p90_summary` as text (:func:`p90_text`), or "all runs diverged"."""
    if not summary["grid"]:
        return "all runs diverged"
    return p90_text(summary["p90"], summary["low"], summary["high"], summary["grid"])


# -- settings of runs ----------------------------------------------------------------------

_SETTINGS = {"rule": "rule", "model": "network", "width": "width", "optimizer": "optimizer",
             "momentum": "momentum", "lr": "learning rate", "weight_decay": "weight decay",
             "schedule": "schedule", "steps": "steps", "batch_size": "batch",
             "readout": "readout stage (labels)"}


def _readout_stage(config: dict) -> str | None:
    options = config.get("rule_options") or {}
    if "readout_steps" not in options:
        return None
    return (f"{options['readout_optimizer']}, lr {options['readout_lr']:g}, "
            f"{options['readout_steps']} steps")


def _values_text(values: list) -> object:
    distinct = sorted(set(values), key=lambda v: (str(type(v)), v))
    if len(distinct) == 1:
        return distinct[0]
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in distinct)


def settings(records: Iterable[dict], by: Sequence[str] = ("rule",), caption: str = "") -> Table:
    """The training settings of runs (records or configs), one row per value of ``by``.

    A setting that differs between the runs of a row lists its values; momentum is shown
    for SGD only, the readout stage for self-supervised rules only.
    """
    groups: dict[tuple, list[dict]] = {}
    for item in records:
        config = resolve(item["config"] if "config" in item else item)
        config["readout"] = _readout_stage(config)
        if config["optimizer"] != "sgd":
            config["momentum"] = None
        groups.setdefault(tuple(config[k] for k in by), []).append(config)
    if not groups:
        raise ValueError("records must not be empty")
    keys = [*by, *(k for k in _SETTINGS if k not in by)]
    rows = [{_SETTINGS.get(k, k): _values_text([c[k] for c in configs]) if k not in by
             else configs[0][k] for k in keys} for configs in groups.values()]
    columns = [_SETTINGS.get(k, k) for k in keys
               if any(row[_SETTINGS.get(k, k)] is not None for row in rows)]
    return Table(rows, columns, caption=caption or "Training settings of these runs")


# -- curves side by side -------------------------------------------------------------------

def curve_table(curves: dict[str, Sequence[dict]], x: str = "P", column: str = "P = {:,}",
                name: str = "rule", caption: str = "") -> Table:
    """Mean ± sem of named :func:`~rhmlib.stats.summarize` curves, one column per ``x``.

    A curve without a point at some ``x`` shows a dash there; ``seeds`` is the range of
    runs per point.
    """
    xs = sorted({row[x] for rows in curves.values() for row in rows})
    out = []
    for label, rows in curves.items():
        at = {row[x]: row for row in rows}
        out.append({name: label,
                    **{column.format(v): pm(at[v]["mean"], at[v]["sem"])
                       if v in at else None for v in xs},
                    "seeds": range_text(row["n"] for row in rows)})
    return Table(out, [name, *(column.format(v) for v in xs), "seeds"], caption=caption)


# -- as MyST markdown ------------------------------------------------------------------------

def markdown(table: Table) -> str:
    """``table`` as a markdown pipe table (cells may hold MyST roles, e.g. {doc} links)."""
    def row(cells: Iterable[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    lines = [row(table.columns), row("---" for _ in table.columns)]
    lines += [row(_cell(r.get(c), table.digits) for c in table.columns) for r in table.rows]
    return "\n".join(lines)


# -- the claims of the papers against the book's results -------------------------------------

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
    from .sweeps import backprop

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
    from .sweeps import feedback as fb

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
    from .sweeps import feedback as fb

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
    from .sweeps import local

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
    from .sweeps import contrast

    best = contrast.headline_rows()
    return best["clapp"]["p90"] / best["bp"]["p90"]


def _claim_depth() -> str:
    """Does local self-supervision keep backprop's P_90 / P* on the deeper grammars?"""
    from .sweeps import contrast

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
    from .linear import broken

    exact = max(broken(depth=4, width=16))
    parted = min(broken(4, 16, **{k: 0.1})[0] for k in ("skew", "shrink", "b_noise"))
    verdict = "Holds" if exact < 1e-10 else "Not reproduced"
    return (f"{verdict}. With orthonormal weights, equal widths and optimal $B$, the local and "
            f"global updates of a depth-4 linear network differ by at most {exact:.0e} of "
            "their size at every layer; breaking any one condition by 10 % parts them by "
            f"at least {math.floor(parted * 100):.0f} % at layer 1. The ReLU network of the "
            "book meets none of the conditions exactly.")


def _claim_similarity() -> str:
    from .sweeps import contrast

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
    The "where" cells are MyST ``{doc}`` links: render with :func:`markdown`.
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
