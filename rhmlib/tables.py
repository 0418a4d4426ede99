"""Tables for the book: rows of dicts shown as HTML in notebooks and on the static site."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Sequence

from .checks import check_choice, check_int, check_list, check_real
from .rhm import REFERENCE
from .rules import RULES, get_rule
from .train import resolve

__all__ = ["Table", "recipes", "pm", "range_text", "p90_text", "ratio_text", "ratio_interval_text",
           "p90_summary_text", "settings", "markdown"]


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
        settings = resolve({**REFERENCE, "P": 100, "rule": name})
        options = get_rule(name).options()
        # The options every self-supervised rule shares are in its chapter's text; a row
        # lists the rule's own (its loss's) and those set away from the shared default.
        shared = {"pairs": "sibling", "locality": "local", "readout": "upper", "unlabelled": 0,
                  "detach_context": True, "readout_steps": None, "readout_lr": 3e-3,
                  "readout_optimizer": "adam", "context": "sibling", "predictor": "shared",
                  "blend": 0.0, "pretrain": True}
        extra = ", ".join(f"{k}={v}" for k, v in options.items()
                          if k not in shared or shared[k] != v)
        steps = settings["steps"]
        rows.append({"rule": name, "width": settings["width"],
                     "optimizer": settings["optimizer"], "lr": settings["lr"],
                     "weight decay": settings["weight_decay"], "schedule": settings["schedule"],
                     "training": "to convergence" if steps is None else f"{steps:,} steps",
                     "batch": settings["batch_size"], "options": extra or None})
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
             number: Callable[[float], str] = _count, upper_bound: bool = False) -> str:
    """P_90 and its interval, "1,230 [1,100, 1,400]"; "> P_max" never reached, "≤ P_min" at once.

    The one text of a P_90: without an interval (``low`` and ``high`` None) the number
    alone; ``number`` writes each value (a count of examples by default).
    ``upper_bound``: runs at or before the crossing stopped at their cap, so the curve
    may cross sooner: "≤ 1,230".
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
    if upper_bound:
        return f"≤ {number(p90)}"
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
    if math.isinf(p90) and not grid:
        return "–"
    value = max(grid) / reference if math.isinf(p90) else p90 / reference
    if not math.isfinite(value):
        raise ValueError(f"p90 / reference must be a finite ratio, got p90={p90!r} over "
                         f"reference={reference!r}")
    return f"> {value:.2f}" if math.isinf(p90) else f"{value:.2f}"


def ratio_interval_text(p90: float, low: float, high: float, reference: float,
                        grid: Sequence[float]) -> str:
    """``p90 / reference`` with its interval, each bound as :func:`ratio_text` writes it."""
    point, low, high = (ratio_text(v, reference, grid) for v in (p90, low, high))
    return point if math.isinf(p90) else f"{point} [{low}, {high}]"


def p90_summary_text(summary: dict) -> str:
    """A :func:`rhmlib.stats.p90_summary` as text (:func:`p90_text`), or "all runs diverged"."""
    if not summary["grid"]:
        return "all runs diverged"
    return p90_text(summary["p90"], summary["low"], summary["high"], summary["grid"],
                    upper_bound=summary.get("bound", False))


# -- settings of runs ----------------------------------------------------------------------

_SETTINGS = {"rule": "rule", "model": "network", "width": "width", "optimizer": "optimizer",
             "momentum": "momentum", "lr": "learning rate", "weight_decay": "weight decay",
             "schedule": "schedule", "steps": "steps", "batch_size": "batch",
             "readout": "readout stage (labels)"}


def _readout_stage(config: dict) -> str | None:
    options = config.get("rule_options") or {}
    if "readout_steps" not in options:
        return None
    steps = options["readout_steps"]
    budget = "to convergence" if steps is None else f"{steps} steps"
    return f"{options['readout_optimizer']}, lr {options['readout_lr']:g}, {budget}"


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


# -- as MyST markdown ------------------------------------------------------------------------

def markdown(table: Table) -> str:
    """``table`` as a markdown pipe table (cells may hold MyST roles, e.g. {doc} links)."""
    def row(cells: Iterable[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    lines = [row(table.columns), row("---" for _ in table.columns)]
    lines += [row(_cell(r.get(c), table.digits) for c in table.columns) for r in table.rows]
    return "\n".join(lines)
