"""Tables for the book: rows of dicts shown as HTML in notebooks and on the static site."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from .rules import RULES, get_rule
from .train import BASE

__all__ = ["Table", "recipes"]


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
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c), self.digits))}</td>"
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
