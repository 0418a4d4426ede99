"""The book's reference quantities: one value per quantity, each with its protocol.

A number that more than one page states (backprop's P_90 on the reference grammar, the
data that FA and DFA need relative to it, ...) is computed here, once, from the cached
results, and every page glues it under the same name (``q-<name>``, see :func:`glue`), so
two pages cannot state two values for one quantity. Every run trains to convergence, but
backprop's P_90 is measured by three sweeps that differ in where their learning rate comes
from and in their seeds, so each is its own quantity, with its protocol in words beside it;
a ratio names its baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .stats import p90_summary
from .sweeps import one_reading
from .sweeps.backprop import BP_TRAINING
from .tables import Table

__all__ = ["Quantity", "QUANTITIES", "get", "text", "glue", "table", "readable"]


@dataclass(frozen=True)
class Quantity:
    """A number of the book: what it is, the protocol that measured it, how it is written."""

    name: str
    what: str
    protocol: str
    compute: Callable[[], dict]  # {"value": float, "low": float, "high": float} (interval optional)
    fmt: str = "{:,.0f}"

    def text(self) -> str:
        """The value as the book writes it."""
        return self.fmt.format(self.compute()["value"])

    def interval(self) -> str:
        """Its interval as text, "[low, high]", or empty where it has none."""
        q = self.compute()
        if "low" not in q:
            return ""
        return f"[{self.fmt.format(q['low'])}, {self.fmt.format(q['high'])}]"


def _reference() -> tuple[dict, dict]:
    from .sweeps import backprop
    cnn, fcn = backprop.reference_rows()
    return cnn, fcn


def _scaling(m: int, L: int) -> dict:
    from .sweeps import backprop
    return next(r for r in backprop.scaling_rows() if (r["m"], r["L"]) == (m, L))


def _long(name: str) -> dict:
    """P_90 of one rule in chapter 3's runs (each rule at the rate of its own scan)."""
    from .sweeps import feedback as fb
    return p90_summary([r for r in fb.records("feedback_P") if fb.label(r["config"]) == name])


def _p90(row: dict) -> dict:
    return {"value": row["p90"], "low": row["low"], "high": row["high"]}


def _ratio(name: str) -> dict:
    return {"value": _long(name)["p90"] / _long("BP")["p90"]}


# The reference runs train under the convergence protocol of rhmlib.train.
_SHORT = (f"hierarchical CNN of width {BP_TRAINING['width']}, SGD from a learning rate of "
          f"{BP_TRAINING['lr']:g}, trained to convergence")
QUANTITIES: dict[str, Quantity] = {q.name: q for q in (
    Quantity("bp-p90-short", "backprop's P₉₀, reference grammar, its recipe",
             f"{_SHORT}, 10 seeds", lambda: _p90(_reference()[0])),
    Quantity("fcn-p90", "backprop's P₉₀, reference grammar, shallow network",
             f"one hidden layer of 256 units, SGD from a learning rate of {BP_TRAINING['lr']:g}, "
             "trained to convergence, 5 seeds", lambda: _p90(_reference()[1])),
    Quantity("bp-p90-cosine", "backprop's P₉₀, reference grammar, rate scanned at P*",
             "hierarchical CNN of width 64, SGD from the best rate of chapter 2's scan at "
             "P = P*, trained to convergence, 4 seeds", lambda: _p90(_scaling(4, 3))),
    Quantity("bp-p90-long", "backprop's P₉₀, reference grammar, rate scanned at P = 4,000",
             "hierarchical CNN of width 64, SGD from the best rate of chapter 3's scan at "
             "P = 4,000, trained to convergence; 10 seeds below P = 4,000, 3 at it",
             lambda: _p90(_long("BP"))),
    Quantity("fa-ratio", "FA's P₉₀ over backprop's",
             "both trained to convergence, each at the learning rate of its own scan; the "
             "baseline is backprop's P₉₀ in the same runs", lambda: _ratio("FA"),
             "{:.1f}"),
    Quantity("dfa-ratio", "DFA's P₉₀ over backprop's",
             "both trained to convergence, each at the learning rate of its own scan; the "
             "baseline is backprop's P₉₀ in the same runs", lambda: _ratio("DFA"),
             "{:.1f}"),
)}


def _quantity(name: str) -> Quantity:
    if name not in QUANTITIES:
        raise KeyError(f"unknown quantity {name!r}; known: {', '.join(QUANTITIES)}")
    return QUANTITIES[name]


def get(name: str) -> float:
    """The value of one quantity (``KeyError`` names the known ones)."""
    return _quantity(name).compute()["value"]


def text(name: str) -> str:
    """The value of one quantity as the pages write it (``KeyError`` names the known ones)."""
    return _quantity(name).text()


def glue(names: Iterable[str]) -> None:
    """Glue each quantity's text under ``q-<name>`` (and its interval under ``q-<name>-ci``)."""
    from .plots import glue as glue_value

    with one_reading():
        for name in names:
            glue_value(f"q-{name}", text(name))
            interval = QUANTITIES[name].interval()
            if interval:
                glue_value(f"q-{name}-ci", interval)


def table(names: Iterable[str] | None = None, caption: str = "") -> Table:
    """The quantities with their values, 68 % intervals and protocols."""
    with one_reading():
        rows = [{"quantity": q.what, "value": q.text(), "interval": q.interval() or "–",
                 "protocol": q.protocol}
                for q in (QUANTITIES[n] for n in (names or QUANTITIES))]
    return Table(rows, ["quantity", "value", "interval", "protocol"], caption=caption)


# Math as a reader reads it, for the headers and captions of tables made elsewhere.
_READABLE = (("P_90", "P₉₀"), (">= ", "≥ "))


def readable(table: Table, caption: str | None = None) -> Table:
    """The same table with P₉₀ and ≥ written out in its headers and caption.

    ``caption`` replaces the caption when given (for a caption that should say more, or
    less, than the library's).
    """
    def fix(text: str) -> str:
        for old, new in _READABLE:
            text = text.replace(old, new)
        return text

    names = {c: fix(c) for c in table.columns}
    rows = [{names.get(k, k): v for k, v in row.items()} for row in table.rows]
    return Table(rows, [names[c] for c in table.columns],
                 caption=fix(table.caption) if caption is None else caption,
                 digits=table.digits)
