"""Tables for the book: rows of dicts shown as HTML in notebooks and on the static site."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

from .rules import RULES, get_rule
from .train import BASE, resolve

__all__ = ["Table", "recipes", "pm", "range_text", "p90_text", "ratio_text", "p90_summary",
           "settings", "curve_table"]


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
    names = [n for n in RULES if n != "readout"] if names is None else list(names)
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


def _bound(value: float, grid: Sequence[float]) -> str:
    return f"> {max(grid):,.0f}" if math.isinf(value) else f"{value:,.0f}"


def p90_text(p90: float, low: float, high: float, grid: Sequence[float]) -> str:
    """P_90 and its interval, "1,230 [1,100, 1,400]"; "> P_max" never reached, "≤ P_min" at once."""
    if not grid:
        return "–"
    if math.isinf(p90):
        return f"> {max(grid):,.0f}"
    if p90 <= min(grid):
        return f"≤ {min(grid):,.0f}"
    return f"{p90:,.0f} [{_bound(low, grid)}, {_bound(high, grid)}]"


def ratio_text(p90: float, reference: float, grid: Sequence[float]) -> str:
    """``p90 / reference`` to 2 decimals; "> (largest P / reference)" when never reached."""
    if math.isinf(reference):
        return "–"
    if math.isinf(p90):
        return f"> {max(grid) / reference:.2f}" if grid else "–"
    return f"{p90 / reference:.2f}"


# -- P_90 of a group of runs --------------------------------------------------------------

def p90_summary(records: Sequence[dict], level: float = 0.9, x: str = "P",
                metric: str = "test_accuracy") -> dict:
    """P_90 of sweep ``records`` with its 68% bootstrap interval over seeds, grid and seeds.

    Keys: ``p90``, ``low``, ``high`` (inf: not reached), ``grid`` (the ``x`` values),
    ``seeds`` (runs per point, finished ones), ``diverged`` (how many runs diverged) and
    ``text`` (:func:`p90_text`). Uses :func:`rhmlib.sweeps.stats.p90_interval`.
    """
    from .sweeps.stats import diverged, finished, p90_interval, summarize

    rows = summarize(records, by=(x,), metric=metric)
    grid = [r[x] for r in rows]
    if finished(records):
        point, low, high = p90_interval(records, level, x, metric)
    else:
        point = low = high = math.inf
    return {"p90": point, "low": low, "high": high, "grid": grid,
            "seeds": [r["n"] for r in rows], "diverged": len(diverged(records)),
            "text": p90_text(point, low, high, grid) if grid else "all runs diverged"}


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
    """Mean ± sem of named :func:`~rhmlib.sweeps.stats.summarize` curves, one column per ``x``.

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
