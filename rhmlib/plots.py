"""Plotly figures of the book, and the one renderer choice every chapter shares.

Figures take curves by name; a name that is a :class:`rhmlib.sweeps.variants.Variant`
knows its rule, and every figure draws it in its rule's colour, the diagrams' too
(:mod:`rhmlib.styles`), whatever else the figure shows. Figures are laid out to reflow
down to a phone's width: no fixed width, the legend below the plot, long titles wrapped.
Their labels show their math as a reader writes it (P₉₀, n_c m^L as n<sub>c</sub>
m<sup>L</sup>, ≥, →: :func:`math_text`), each axis ticks in one number format with room
for every label on a phone (:func:`measured_ticks`, :func:`log_ticks`), and a panel shows
at most :data:`MAX_SERIES` series (:func:`facets` splits a longer list into panels).

Importing this module sets plotly's default renderer to ``"rhmlib"``: every figure
is one output carrying both plotly's JSON (JupyterLab and Binder render it natively)
and HTML (the static book renders it offline). plotly.js is embedded once per notebook by
the renderer's activation, except in the book build, whose site serves one copy to every
page (``rhmlib.sphinxext``); in Colab, which isolates each output, plotly's own "colab"
renderer is chosen instead. MyST-NB picks the HTML and ignores the JSON, so the
build raises no "unknown mime type" warning.
"""

from __future__ import annotations

import math
import os
import re
import sys
import textwrap
from collections.abc import Iterable, Mapping, Sequence

import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import NotebookRenderer

from .checks import check_float, check_list, check_real
from .rhm import RHM, Sample
from .stats import mean_sem
from .styles import COLORS, Styles

__all__ = [
    "glue", "plain_maths", "angles_figure", "error_paths_figure",
    "accuracy_vs_P", "collapse_figure", "learning_curve", "tree_figure", "rules_figure",
    "lines", "layer_curves", "per_layer", "panels", "signal_noise", "accuracy_bars",
    "interval_panels", "scatter", "MAX_SERIES", "math_text", "facets", "learning_curve_panels",
    "angle_rows", "angle_means",
]

LEGEND_ROW_PX = 22  # one row of the legend below a plot
PHONE_PLOT_PX = 340  # the width a legend wraps at on a phone (390 px page less margins)
TITLE_CHARS = 48  # a title line that fits a phone at plotly's title font
# The most series one panel shows: beyond it a reader cannot tell them apart; more go
# into facets (:func:`facets`) or behind a slider. tests/test_clean_pages.py counts them
# on every figure of the built book.
MAX_SERIES = 6


class _BookRenderer(NotebookRenderer):
    """HTML with plotly.js embedded once, plus plotly JSON, in a single mime bundle."""

    def to_mimebundle(self, fig_dict: dict) -> dict:
        html = pio.to_html(
            fig_dict, include_plotlyjs=False, include_mathjax=False, full_html=False,
            default_width="100%", default_height=self.default_height, validate=False,
            config={"displaylogo": False, "responsive": True},
        )
        return {"application/vnd.plotly.v1+json": {"data": fig_dict.get("data", []),
                                                   "layout": fig_dict.get("layout", {})},
                "text/html": html}

    default_height = 450

    _activated = False

    def activate(self) -> None:
        """Embed plotly.js once, unless the book's site already serves it to the page."""
        # plotly activates the renderer on every ``_repr_mimebundle_`` call (as glue makes),
        # which would embed 4.8 MB of plotly.js per figure.
        if os.environ.get("RHMLIB_PLOTLYJS") != "site" and not self._activated:
            self._activated = True
            super().activate()


pio.renderers["rhmlib"] = _BookRenderer()
pio.renderers.default = "colab" if "google.colab" in sys.modules else "rhmlib"
pio.templates.default = "plotly_white"


GLUE_PREFIX = "application/papermill.record/"  # MyST-NB's mime prefix of hidden glue


class _GluedFigure:
    """A figure that IPython can only format to its mime bundle.

    A plotly figure has ``_ipython_display_``, which IPython's formatter prefers: it shows
    the figure at once and hands glue an empty bundle (a blank ``{glue:figure}``).
    """

    def __init__(self, fig: go.Figure) -> None:
        self.fig = fig

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict:
        return self.fig._repr_mimebundle_(include, exclude)


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def plain_maths(text: str) -> str:
    """``text`` with its inline maths (``$...$``) as plain text: ``{glue:text}`` pastes a
    text verbatim, where MathJax never reads it (``$P_{90}$`` becomes P₉₀, ``$P^*$`` P*)."""
    def plain(match: re.Match) -> str:
        maths = re.sub(r"_\{(\d+)\}", lambda m: m.group(1).translate(_SUBSCRIPTS), match[1])
        return maths.replace("^*", "*").replace("{", "").replace("}", "")

    return re.sub(r"\$([^$]+)\$", plain, text)


def glue(name: str, value: object, display: bool | None = None) -> None:
    """Store ``value`` under ``name`` for MyST-NB's ``{glue:text}`` and ``{glue:figure}``.

    The same protocol as ``myst_nb.glue`` (which Binder and Colab kernels lack), and it
    works for plotly figures. ``display`` defaults to True for a figure (so JupyterLab
    shows it; tag the cell ``remove-cell`` so the page shows it only in its
    ``{glue:figure}``) and to False otherwise.
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display

    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    if isinstance(value, str):
        value = plain_maths(value)
    is_figure = isinstance(value, go.Figure)
    bundle, metadata = format_display_data(_GluedFigure(value) if is_figure else value)
    if not bundle:
        raise TypeError(f"value of type {type(value).__name__} has no displayable form")
    prefix = "" if (is_figure if display is None else display) else GLUE_PREFIX
    metadata = {**metadata, "scrapbook": {"name": name, "mime_prefix": prefix}}
    ipy_display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)



# ------------------------------------------------------------------- labels and ticks

_SUB_DIGITS = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")
_SUP_DIGITS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
# ASCII math as a reader reads it, in the order applied. Digits become Unicode sub- and
# superscripts (P_90 -> P₉₀); letters, which Unicode lacks as subscripts (n_c), plotly's
# <sub> and <sup>, which it draws in the SVG itself (static export included).
_MATH = (
    (re.compile(r"(?<![\w])([A-Za-z])_\{?(-?\d+)\}?(?![\w])"),
     lambda m: m[1] + m[2].translate(_SUB_DIGITS)),
    (re.compile(r"(?<![\w])([A-Za-z])_\{(\w+)\}"), r"\1<sub>\2</sub>"),
    (re.compile(r"(?<![\w])([A-Za-z])_([A-Za-z])(?![\w])"), r"\1<sub>\2</sub>"),
    (re.compile(r"\^\{?(-?\d+)\}?"), lambda m: m[1].translate(_SUP_DIGITS)),
    (re.compile(r"\^\{(\w+)\}"), r"<sup>\1</sup>"),
    (re.compile(r"\^([A-Za-z])(?![\w])"), r"<sup>\1</sup>"),
    (re.compile(r">="), "≥"),
    (re.compile(r"<="), "≤"),
    (re.compile(r"(?<![<-])->"), "→"),
)


def math_text(text: str) -> str:
    """``text`` with its ASCII math rendered: P_90 -> P₉₀, n_c m^L -> n<sub>c</sub>
    m<sup>L</sup>, 10^-3 -> 10⁻³, >= -> ≥, <= -> ≤, -> -> →.

    Only a one-letter symbol takes a subscript (``n_c``, ``W_{pred}`` with braces), so
    names such as ``ff_global`` are left alone; every figure of this module passes its
    title, axis titles, panel titles and legend names through it (:func:`_phone_layout`).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    for pattern, new in _MATH:
        text = pattern.sub(new, text)
    return text


def _plain(value: float) -> str:
    """A number in plain decimals without trailing zeros (never 1e-05)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _tick_text(values: Sequence[float], reach: float | None = None,
               compact: bool = False) -> list[str]:
    """One format for every tick label of an axis.

    Whole numbers below 10,000 with a thousands separator (500, 1,000, 8,000); when the
    axis (or the figure: ``reach``, its largest value) reaches 10,000, or when labels must
    be ``compact`` (narrow panels), every one from 1,000 on in thousands (500, 1k, 16k)
    rather than plotly's mix of 8000 and 16k; other numbers in plain decimals (0.05, 0.1).
    """
    if all(float(v).is_integer() for v in values):
        top = max([abs(v) for v in values] + [abs(reach or 0)])
        if top >= 10_000 or compact and top >= 1000:
            return [_plain(v / 1000) + "k" if abs(v) >= 1000 else f"{int(v)}" for v in values]
        return [f"{int(v):,}" for v in values]
    return [_plain(v) for v in values]


def _label_px(texts: Sequence[str]) -> float:
    """Room one tick label needs at a phone's width: about 6.5 px a character, and a gap."""
    return 6.5 * max(len(t) for t in texts) + 10


def _nice_step(span: float, count: int) -> float:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten that cuts ``span`` into at
    most ``count`` - 1 steps."""
    raw = span / max(1, count - 1)
    if raw <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))


def measured_ticks(values: Iterable[float | None], log: bool = False,
                   columns: int = 1, reach: float | None = None) -> dict:
    """Axis settings that tick the measured x ``values`` in one format (:func:`_tick_text`).

    On a phone a panel of a figure with ``columns`` panels side by side is about
    ``(PHONE_PLOT_PX - 70) / columns`` px wide (at two or more, thousands are written
    1k, 2k, ...): no two labels may overlap there. Every s-th value is ticked, for the
    smallest s that leaves room between labels, both ends kept where s allows, the largest
    value otherwise. A linear axis measured at more values than fit (a fraction of
    training in small steps, training steps) gets round ticks instead (0, 0.5, 1), as
    many as fit, and a range from the round tick below the data to the one above.
    ``reach``: the largest x of the whole figure, so that its panels share one format.
    """
    vals = sorted({float(v) for v in values if v is not None and math.isfinite(v)
                   and (v > 0 or not log)})
    if not vals:
        return {}
    compact = columns >= 2
    panel = (PHONE_PLOT_PX - 70) / max(1, columns)
    label = _label_px(_tick_text(vals, reach, compact))
    fit = max(2, int(panel // label))
    if not log and len(vals) > fit:
        step = _nice_step(vals[-1] - vals[0], fit)
        first, last = math.floor(vals[0] / step), math.ceil(vals[-1] / step)
        ticks = [float(f"{k * step:.10g}") for k in range(first, last + 1)]
        text = _tick_text(ticks, reach, compact)
        # The axis reaches the round ticks on either side of the data (0 before a first
        # measurement at 500), with room for half a label beyond each: the last label of
        # one panel and the first of the next must not run into each other.
        pad = max(0.03, _label_px(text) / 2 / panel) * (ticks[-1] - ticks[0])
        return {"tickmode": "array", "tickvals": ticks, "ticktext": text, "tickangle": 0,
                "range": [ticks[0] - pad, ticks[-1] + pad]}
    where = [math.log10(v) if log else v for v in vals]
    steps = [b - a for a, b in zip(where, where[1:])]
    if log and len(vals) > fit and max(steps) > 1.05 * min(steps):
        # Many values off a geometric grid (P of several grammars): round ticks instead.
        return log_ticks(vals[0], vals[-1], most=fit, compact=compact)
    gap = (where[-1] - where[0]) * label / panel
    last = len(vals) - 1
    kept = [last]
    for stride in range(1, len(vals)):
        index = (list(range(0, last + 1, stride)) if last % stride == 0
                 else sorted(range(last, -1, -stride)))
        if all(where[b] - where[a] >= gap for a, b in zip(index, index[1:])):
            kept = index
            break
    ticks = [vals[i] for i in kept]
    return {"tickmode": "array", "tickvals": ticks,
            "ticktext": _tick_text(ticks, reach, compact), "tickangle": 0}


def log_ticks(low: float, high: float, most: int = 7, compact: bool = False) -> dict:
    """Ticks of a log axis spanning [low, high], all in one format.

    1, 2 and 5 times each power of ten when at most ``most`` of them fall in the range,
    in plain numbers (0.02, 0.05, 0.1, ...; ``compact``: 500, 1k, 2k); otherwise powers of
    ten alone (past ``most`` of them every 2nd, 5th, 10th...: 10⁰, 10⁵, 10¹⁰), written
    10<sup>-2</sup> ... 10<sup>5</sup> (plotly draws <sup> larger than Unicode's
    superscript digits); plotly's own would mix 10k, 1000 and small unlabelled 2 to 9
    between them.
    """
    low, high = check_real("low", low), check_real("high", high)
    if not (0 < low < high and math.isfinite(high)):
        raise ValueError(f"low and high must satisfy 0 < low < high < inf, got {low}, {high}")
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    ticks = [m * 10.0 ** e for e in range(first, last + 1) for m in (1, 2, 5)
             if low <= m * 10.0 ** e <= high]
    if not isinstance(most, int) or most < 2:
        raise ValueError(f"most must be an int >= 2, got {most!r}")
    if 2 <= len(ticks) <= most:
        ticks = [float(f"{t:.6g}") for t in ticks]
        return {"tickmode": "array", "tickvals": ticks,
                "ticktext": _tick_text(ticks, compact=compact)}
    if len(ticks) < 2:  # less than a decade: ticks at 1, 1.5, 2, 3, 5 and 7 of it
        ticks = [float(f"{m * 10.0 ** e:.6g}") for e in range(first, last + 1)
                 for m in (1, 1.5, 2, 3, 5, 7) if low <= m * 10.0 ** e <= high]
        if len(ticks) < 2:  # a narrower range still: its two ends, to two digits
            ticks = [float(f"{low:.2g}"), float(f"{high:.2g}")]
        return {"tickmode": "array", "tickvals": ticks,
                "ticktext": _tick_text(ticks, compact=compact)}
    powers = [e for e in range(first, last + 1) if low <= 10.0 ** e <= high]
    # Past ``most`` decades, every 2nd, 5th, 10th... power: the multiples of that step.
    step = next(m * 10 ** k for k in range(6) for m in (1, 2, 5)
                if len([e for e in powers if e % (m * 10 ** k) == 0]) <= most)
    powers = [e for e in powers if e % step == 0] or powers[:1]
    return {"tickmode": "array", "tickvals": [10.0 ** e for e in powers],
            "ticktext": [f"10<sup>{e}</sup>" for e in powers]}


def facets(curves: Mapping[str, object], panels: Mapping[str, str], keep: Sequence[str] = (),
           rest: str | None = None) -> dict[str, dict[str, object]]:
    """Curves (or records) of one figure split into panels of at most :data:`MAX_SERIES`.

    ``panels`` maps a panel's title to a prefix: the panel holds the curves whose name
    starts with it, named by what follows (so ``"own mask: ones"`` and ``"downstream
    masks: ones"`` are both ``"ones"``: one colour, one legend entry, for one substitute
    in two panels). The ``keep`` curves (a reference such as BP) appear in every panel
    under their own names; the curves no prefix takes go, with them, into a last panel
    titled ``rest`` (None: there must be none). Raises ValueError for a panel with more
    than :data:`MAX_SERIES` curves, or an empty one.
    """
    _check_mapping(curves, "curves")
    _check_mapping(panels, "panels")
    missing = [k for k in keep if k not in curves]
    if missing:
        raise ValueError(f"keep names no curve: {missing}")
    out: dict[str, dict[str, object]] = {}
    taken = set(keep)
    for title, prefix in panels.items():
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"panels[{title!r}] must be a non-empty prefix, got {prefix!r}")
        mine = {name[len(prefix):]: rows for name, rows in curves.items()
                if name.startswith(prefix) and name not in taken}
        taken |= {name for name in curves if name.startswith(prefix)}
        out[title] = {**{k: curves[k] for k in keep}, **mine}
    left = {name: rows for name, rows in curves.items() if name not in taken}
    if left and rest is None:
        raise ValueError(f"no panel takes {sorted(left)}: add a prefix or a rest panel")
    if left:
        out[rest] = {**{k: curves[k] for k in keep}, **left}
    for title, mine in out.items():
        if len(mine) <= len(keep):
            raise ValueError(f"panel {title!r} holds no curve of its own")
        if len(mine) > MAX_SERIES:
            raise ValueError(f"panel {title!r} would hold {len(mine)} curves, more than "
                             f"{MAX_SERIES}: split it")
    return out


def _wrap(title: str, width: int = TITLE_CHARS) -> str:
    """A title broken into lines of at most ``width`` characters (plotly never wraps)."""
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}")
    return "<br>".join(textwrap.wrap(title, width)) if len(title) > width else title


def _legend_rows(names: Sequence[str], width: float = PHONE_PLOT_PX) -> int:
    """Rows a horizontal legend of ``names`` takes at a phone's width (about 7 px a letter)."""
    rows, used = 0, width
    for name in names:
        item = 40 + 7 * len(name)
        if used + item > width:
            rows, used = rows + 1, 0.0
        used += item
    return rows


def _render_math(fig: go.Figure) -> None:
    """Every label of ``fig`` through :func:`math_text`: axis and panel titles, legend
    names and tick labels."""
    for trace in fig.data:
        if isinstance(trace.name, str) and trace.name:
            trace.name = math_text(trace.name)
    for key in fig.layout:
        if key.startswith(("xaxis", "yaxis")):
            axis = fig.layout[key]
            if isinstance(axis.title.text, str):
                axis.title.text = math_text(axis.title.text)
            if axis.ticktext is not None:
                axis.ticktext = [math_text(str(t)) for t in axis.ticktext]
    for note in fig.layout.annotations:
        if isinstance(note.text, str):
            note.text = math_text(note.text)


def _phone_layout(fig: go.Figure, title: str = "", height: int = 420) -> go.Figure:
    """Lay ``fig`` out to reflow down to a phone: full width, legend below, title wrapped.

    The height grows with the legend's rows at a phone's width, so that the plot itself
    keeps about ``height`` pixels there (on a wide screen the legend takes fewer rows).
    """
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}")
    title = _wrap(math_text(title))
    _render_math(fig)
    names = [re.sub(r"<[^>]+>", "", t.name) for t in fig.data
             if t.name and t.showlegend is not False]
    rows = _legend_rows(names) if len(names) > 1 else 0
    title_lines = title.count("<br>") + 1 if title else 0
    # Panel titles (annotations on top of the panels) may take more than one line.
    panel_lines = max([a.text.count("<br>") + 1 for a in fig.layout.annotations
                       if a.yref == "paper" and a.yanchor == "bottom" and (a.y or 0) >= 0.99
                       and isinstance(a.text, str)], default=1)
    top = 30 + 20 * title_lines + 18 * (panel_lines - 1)
    fig.update_layout(
        autosize=True, width=None, height=height + LEGEND_ROW_PX * rows + top,
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        margin={"l": 60, "r": 20, "t": top, "b": 60},
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom",
                "x": 0, "xanchor": "left", "title_text": "", "font": {"size": 12}},
        showlegend=rows > 0,
    )
    return fig


# ------------------------------------------------------------------------- validation


def _check_mapping(value: object, name: str, allow_empty: bool = False) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
    if not value and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"{name} must have str keys (curve names), got {key!r}")


def _check_curves(curves: object, x: str, name: str = "curves") -> None:
    """``curves``: a non-empty dict of name -> non-empty list of rows with x, mean and sem."""
    _check_mapping(curves, name)
    for label, rows in curves.items():  # type: ignore[union-attr]
        if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
            raise TypeError(f"{name}[{label!r}] must be a list of rows, got "
                            f"{type(rows).__name__}")
        if not rows:
            raise ValueError(f"{name}[{label!r}] has no rows")
        for row in rows:
            if not isinstance(row, Mapping):
                raise TypeError(f"{name}[{label!r}] rows must be dicts, got "
                                f"{type(row).__name__}")
            missing = {x, "mean", "sem"} - set(row)
            if missing:
                raise ValueError(f"{name}[{label!r}] rows lack {sorted(missing)} "
                                 f"(rows of rhmlib.sweeps.summarize have {x!r}, mean, sem, n)")
            for key in (x, "mean", "sem"):  # None: no value there (a gap in the line)
                if row[key] is not None:
                    check_real(f"{name}[{label!r}] rows' {key}", row[key])


def _check_numbers(values: object, name: str) -> list[float]:
    """``values`` as a non-empty list of floats, or a clear error naming ``name``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of numbers, got {type(values).__name__}")
    out = list(values)
    if not out:
        raise ValueError(f"{name} must not be empty")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in out):
        raise TypeError(f"{name} must hold numbers only, got {out!r}")
    return [float(v) for v in out]


def _longest_steps(records: Sequence[Mapping]) -> list:
    """The steps of the longest of ``records`` (those that stopped sooner have a prefix)."""
    return list(max((r["steps"] for r in records), key=len))


def angle_means(records: Sequence[Mapping]) -> tuple[list, list[list[tuple[float, float, int]]]]:
    """Steps and, per step and layer, ``mean_sem`` of the cosines of the runs still training.

    ``records`` are the angle records of one setting (:func:`check_angle_records`); a run
    that stopped sooner drops out of the later steps.
    """
    steps = _longest_steps(records)
    width = len(records[0]["cosines"][0])
    return steps, [[mean_sem(r["cosines"][t][k] for r in records if t < len(r["cosines"]))
                    for k in range(width)] for t in range(len(steps))]


def check_angle_records(records: object, name: str = "records") -> dict[str, list[dict]]:
    """``records``: name -> non-empty list of angle records of one shape, or raise naming it.

    An angle record (:class:`rhmlib.probes.AngleRecorder`) holds ``steps`` and a row of
    ``cosines`` per step (None where undefined); the records of one name are seeds of
    one setting: they record at the same steps until each stops (a run that converges
    sooner has fewer), and every row has the same length, which every name shares too.
    """
    _check_mapping(records, name)
    width = None
    for label, recs in records.items():  # type: ignore[union-attr]
        if isinstance(recs, (str, bytes)) or not isinstance(recs, Sequence) or not recs:
            raise ValueError(f"{name}[{label!r}] must be a non-empty list of angle records")
        if not all(isinstance(r, Mapping) and {"steps", "cosines"} <= set(r) for r in recs):
            raise ValueError(f"{name}[{label!r}] must hold dicts with steps and cosines")
        steps = _longest_steps(recs)
        for r in recs:
            rows = r["cosines"]
            if (list(r["steps"]) != list(steps[:len(r["steps"])]) or not isinstance(rows, Sequence)
                    or len(rows) != len(r["steps"])):
                raise ValueError(f"{name}[{label!r}]: every record needs the steps of the "
                                 "others until it stops, and one row of cosines per step")
            for row in rows:
                if not isinstance(row, Sequence) or len(row) != (width or len(row)) or not row:
                    raise ValueError(f"{name}[{label!r}]: rows of cosines must have one "
                                     "entry per layer, the same number in every record")
                width = len(row)
    if width is None:
        raise ValueError(f"{name} must hold at least one step of cosines")
    return records  # type: ignore[return-value]


def _covering(low: float, high: float, values: Iterable[float], pad: float = 0.03) -> list[float]:
    """The range [low, high] widened, with a margin, to show every finite value."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if finite and min(finite) < low:
        low = min(finite) - pad * (high - min(finite))
    if finite and max(finite) > high:
        high = max(finite) + pad * (max(finite) - low)
    return [low, high]


def _extent(rows: Sequence[Mapping]) -> list[float]:
    """Every y a curve's error bars reach: mean - sem and mean + sem of each row."""
    return [r["mean"] + sign * (r["sem"] or 0) for r in rows for sign in (-1, 1)
            if r["mean"] is not None and math.isfinite(r["mean"])]


# ---------------------------------------------------------------------------- figures


def _line(rows: list[dict], x: str, name: str, style: dict, x_scale: float = 1.0) -> go.Scatter:
    n = [[r.get("n", "?")] for r in rows]
    return go.Scatter(
        x=[r[x] / x_scale for r in rows],
        y=[r["mean"] for r in rows],
        error_y={"type": "data", "array": [r["sem"] for r in rows], "visible": True},
        mode="lines+markers", name=name, legendgroup=name,
        line={"color": style["color"], "dash": style["dash"]},
        marker={"symbol": style["symbol"]},
        customdata=n,
        hovertemplate="%{x:.3g}: %{y:.3f} (n=%{customdata[0]} seeds)<extra>" + name + "</extra>",
    )


def _levels(fig: go.Figure, chance: float | None, target: float | None, **where: int) -> None:
    """Dotted chance level and dashed target accuracy, when given."""
    for level, dash in ((chance, "dot"), (target, "dash")):
        if level is not None:
            if not isinstance(level, (int, float)):
                raise TypeError(f"chance and target must be numbers, got {level!r}")
            fig.add_hline(y=level, line_dash=dash, line_color="lightgray", **where)


def accuracy_vs_P(
    curves: dict[str, list[dict]],
    x: str = "P",
    x_title: str = "training points P",
    x_scales: dict[str, float] | None = None,
    title: str = "",
    chance: float | None = None,
    target: float | None = 0.9,
    y_title: str = "test accuracy",
) -> go.Figure:
    """Test accuracy (mean and sem over seeds) against P, one line per named curve.

    ``curves`` maps a name to rows from :func:`rhmlib.sweeps.summarize` with keys
    ``x``, ``mean``, ``sem`` and ``n``; ``x_scales`` divides a curve's x (for P / P*).
    Dotted line: ``chance``; dashed: ``target`` accuracy.
    """
    _check_curves(curves, x)
    _check_mapping(x_scales or {}, "x_scales", allow_empty=True)
    scales = {name: check_float(f"x_scales[{name!r}]", scale, 0.0, low_open=True)
              for name, scale in (x_scales or {}).items()}
    if scales.keys() - curves.keys():  # a typo would leave a curve unscaled, silently
        raise ValueError(f"x_scales names no curve: {sorted(scales.keys() - curves.keys())}")
    styles, fig = Styles(), go.Figure()
    for name, rows in curves.items():
        fig.add_trace(_line(rows, x, name, styles(name), scales.get(name, 1.0)))
    _levels(fig, chance, target)
    y_range = _covering(0, 1.02, (v for rows in curves.values() for v in _extent(rows)))
    fig.update_layout(xaxis_title=x_title, yaxis_title=y_title, xaxis_type="log",
                      yaxis_range=y_range)
    fig.update_xaxes(measured_ticks((t for trace in fig.data for t in trace.x), log=True))
    return _phone_layout(fig, title)


def collapse_figure(
    curves: dict[str, list[dict]], p_stars: dict[str, float], title: str = ""
) -> go.Figure:
    """Two panels: accuracy against P, and against P / P* (curves collapse if P* is right)."""
    from plotly.subplots import make_subplots

    _check_curves(curves, "P")
    _check_mapping(p_stars, "p_stars")
    missing = set(curves) - set(p_stars)
    if missing:
        raise ValueError(f"p_stars lacks {sorted(missing)}")
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=("against P", "against P / P*"))
    styles = Styles()
    for name, rows in curves.items():
        style = styles(name)
        fig.add_trace(_line(rows, "P", name, style), row=1, col=1)
        rescaled = _line(rows, "P", name, style, p_stars[name])
        rescaled.showlegend = False
        fig.add_trace(rescaled, row=1, col=2)
    fig.update_xaxes(type="log")
    for col, xs in enumerate((fig.data[0::2], fig.data[1::2]), start=1):
        fig.update_xaxes(measured_ticks((t for trace in xs for t in trace.x), log=True,
                                        columns=2), row=1, col=col)
    fig.update_xaxes(title_text="P", row=1, col=1)
    fig.update_xaxes(title_text="P / P*", row=1, col=2)
    y_range = _covering(0, 1.02, (v for rows in curves.values() for v in _extent(rows)))
    fig.update_yaxes(title_text="test accuracy", range=y_range, row=1, col=1)
    return _phone_layout(fig, title)


def _panel_grid(groups: object, x_titles: Sequence[str] | str) -> tuple[go.Figure, list[str]]:
    """Side-by-side panels sharing the y axis, one per group, and each panel's x title."""
    from plotly.subplots import make_subplots

    _check_mapping(groups, "groups")
    titles = [x_titles] * len(groups) if isinstance(x_titles, str) else list(x_titles)
    if len(titles) != len(groups):
        raise ValueError(f"x_titles must name {len(groups)} axes, got {len(titles)}")
    # A panel title wraps to its panel's width on a phone (about 8 px a letter), never
    # inside an equation ("m = 4": no-break spaces).
    chars = max(10, int((PHONE_PLOT_PX - 70) / max(1, len(groups)) / 8))
    fig = make_subplots(rows=1, cols=len(groups), shared_yaxes=True,
                        horizontal_spacing=0.04,
                        subplot_titles=[_wrap(t.replace(" = ", "\u00a0=\u00a0"), chars)
                                        for t in groups])
    return fig, titles


def _x_titles(titles: list[str]) -> list[str]:
    """Panels' x titles; one title repeated under panels too narrow on a phone for it
    (about 7.5 px a letter) is written once, under the middle panel."""
    n = len(titles)
    panel = (PHONE_PLOT_PX - 70) / max(1, n)
    if n > 1 and len(set(titles)) == 1 and 7.5 * len(titles[0]) > panel:
        return [titles[0] if col == (n - 1) // 2 else "" for col in range(n)]
    return titles


def panels(
    groups: dict[str, dict[str, list[dict]]],
    x: str = "P",
    x_titles: Sequence[str] | str = "training points P",
    title: str = "",
    log_x: bool = True,
    chance: float | None = None,
    target: float | None = 0.9,
    y_title: str = "test accuracy",
    y_range: Sequence[float] | None = (0, 1.02),
) -> go.Figure:
    """One panel per group, side by side, each like :func:`accuracy_vs_P`.

    ``groups`` maps a panel title to named curves (rows with keys ``x``, ``mean``,
    ``sem``, ``n``); a curve name keeps its style in every panel and appears once in
    the legend. ``y_range`` is widened if a curve reaches beyond it; None: plotly's own.
    """
    fig, titles = _panel_grid(groups, x_titles)
    for panel, curves in groups.items():
        _check_curves(curves, x, f"groups[{panel!r}]")
    styles = Styles()
    reach = max((abs(r[x]) for curves in groups.values() for rows in curves.values()
                 for r in rows if r[x] is not None and math.isfinite(r[x])), default=None)
    titles = _x_titles(titles)
    for col, curves in enumerate(groups.values(), start=1):
        for name, rows in curves.items():
            style = styles(name)
            trace = _line(rows, x, name, style)
            trace.showlegend = style["first"]
            fig.add_trace(trace, row=1, col=col)
        # Tick the measured x values, as many as fit a phone, in one format: a log axis
        # would otherwise label 2..9 in between, and mix 8000 with 16k.
        ticks = measured_ticks((r[x] for rows in curves.values() for r in rows), log=log_x,
                               columns=len(groups), reach=reach)
        fig.update_xaxes(ticks, title_text=titles[col - 1], type="log" if log_x else "linear",
                         row=1, col=col)
        _levels(fig, chance, target, row=1, col=col)
    fig.update_yaxes(title_text=y_title, row=1, col=1)
    if y_range is not None:
        low, high = y_range
        fig.update_yaxes(range=_covering(low, high, (
            v for curves in groups.values() for rows in curves.values()
            for v in _extent(rows))))
    return _phone_layout(fig, title)


def interval_panels(
    groups: dict[str, dict[str, list[dict]]],
    x_titles: Sequence[str] | str,
    y_title: str,
    title: str = "",
) -> go.Figure:
    """One log-y panel per group: points with asymmetric intervals, one line per name.

    Rows have ``x``, ``mean``, ``low`` and ``high``; a row whose ``mean`` is inf (the
    level was never reached) is drawn as an open triangle at its ``largest`` (a lower
    bound), so that a failure stays on the figure instead of vanishing from it; a row
    with ``at_most`` true (reached at the first point tried) as an open downward triangle.
    """
    fig, titles = _panel_grid(groups, x_titles)
    for panel, curves in groups.items():
        _check_mapping(curves, f"groups[{panel!r}]")
        for name, rows in curves.items():
            for row in rows:
                missing = {"x", "mean", "low", "high"} - set(row)
                if missing or not math.isfinite(row["mean"]) and "largest" not in row:
                    raise ValueError(f"groups[{panel!r}][{name!r}] rows need x, mean, low, "
                                     f"high (and largest where mean is inf), got {sorted(row)}")
    styles = Styles()
    reach = max((abs(r["x"]) for curves in groups.values() for rows in curves.values()
                 for r in rows if math.isfinite(r["x"])), default=None)
    titles = _x_titles(titles)
    for col, curves in enumerate(groups.values(), start=1):
        dodge = _dodge(curves)
        for name, rows in curves.items():
            style = styles(name)
            rows = sorted(rows, key=lambda r: r["x"])
            reached = [r for r in rows if math.isfinite(r["mean"])]
            fig.add_scatter(
                x=[r["x"] for r in reached], y=[r["mean"] for r in reached],
                # An interval open above (some resamples never reach the level) is drawn up
                # to the largest x tried, the most the data can say.
                error_y={"type": "data", "symmetric": False, "visible": True,
                         "array": [_ceiling(r) - r["mean"] for r in reached],
                         "arrayminus": [r["mean"] - r["low"] for r in reached]},
                mode="lines+markers", name=name, legendgroup=name,
                showlegend=style["first"], line={"color": style["color"], "dash": style["dash"]},
                marker={"symbol": ["triangle-down-open" if r.get("at_most") else style["symbol"]
                                   for r in reached], "size": [11 if r.get("at_most") else 7
                                                              for r in reached]},
                row=1, col=col, hovertemplate="%{x}: %{y:.3g}<extra>" + name + "</extra>")
            failed = [r for r in rows if not math.isfinite(r["mean"])]
            if failed:
                fig.add_scatter(
                    x=[r["x"] + dodge.get((name, r["x"]), 0.0) for r in failed],
                    y=[r["largest"] for r in failed], customdata=[r["x"] for r in failed],
                    mode="markers", name=name, legendgroup=name, showlegend=False,
                    marker={"symbol": "triangle-up-open", "size": 11, "color": style["color"]},
                    row=1, col=col,
                    hovertemplate="%{customdata}: not reached at %{y:.3g}<extra>" + name
                                  + "</extra>")
        ticks = measured_ticks((r["x"] for rows in curves.values() for r in rows),
                               columns=len(groups), reach=reach)
        fig.update_xaxes(ticks, title_text=titles[col - 1], row=1, col=col)
    shown = [v for curves in groups.values() for rows in curves.values() for r in rows
             for v in (r["low"], _ceiling(r), r.get("largest", r["mean"]))
             if math.isfinite(v) and v > 0]
    low, high = min(shown) / 1.3, max(shown) * 1.3
    fig.update_yaxes(log_ticks(low, high), type="log",
                     range=[math.log10(low), math.log10(high)])
    fig.update_yaxes(title_text=y_title, row=1, col=1)
    return _phone_layout(fig, title)


def _dodge(curves: Mapping[str, Sequence[Mapping]]) -> dict[tuple[str, float], float]:
    """Sideways shifts that keep lower bounds drawn at one point apart.

    Curves that never reached the level at the same x all sit at the same ``largest``:
    their open triangles would hide one another. Each gets a shift of a tenth of the
    panel's smallest x step per neighbour, centred on the true x (the hover says it).
    """
    xs = sorted({r["x"] for rows in curves.values() for r in rows})
    step = min((b - a for a, b in zip(xs, xs[1:])), default=1.0)
    at: dict[tuple[float, float], list[str]] = {}
    for name, rows in curves.items():
        for r in rows:
            if not math.isfinite(r["mean"]):
                at.setdefault((r["x"], r["largest"]), []).append(name)
    return {(name, x): (i - (len(names) - 1) / 2) * 0.1 * step
            for (x, _), names in at.items() for i, name in enumerate(names)}


def _ceiling(row: Mapping) -> float:
    """The top of a row's interval, or its ``largest`` where the interval is open above."""
    return row["high"] if math.isfinite(row["high"]) else row.get("largest", row["mean"])


def scatter(
    points: dict[str, Sequence[tuple[float, float]]], x_title: str, y_title: str,
    title: str = "",
) -> go.Figure:
    """One marker series per name: ``points[name]`` is a list of ``(x, y)`` pairs."""
    _check_mapping(points, "points")
    styles, fig = Styles(), go.Figure()
    for name, pairs in points.items():
        pairs = list(pairs)
        if not pairs or not all(len(p) == 2 for p in pairs):
            raise ValueError(f"points[{name!r}] must be a non-empty list of (x, y) pairs")
        style = styles(name)
        fig.add_scatter(x=_check_numbers([p[0] for p in pairs], f"points[{name!r}] x"),
                        y=_check_numbers([p[1] for p in pairs], f"points[{name!r}] y"),
                        mode="markers", name=name,
                        marker={"symbol": style["symbol"], "color": style["color"], "size": 9})
    fig.update_layout(xaxis_title=x_title, yaxis_title=y_title)
    return _phone_layout(fig, title)


def _history(h: object, name: str) -> tuple[list, list, list]:
    """Steps, test and train accuracy of a :class:`rhmlib.train.History`-like object."""
    try:
        return list(h.step), list(h.test_accuracy), list(h.train_accuracy)  # type: ignore[attr-defined]
    except AttributeError as err:
        raise TypeError(f"histories[{name!r}] must have step, test_accuracy and "
                        f"train_accuracy (a History), got {type(h).__name__}") from err


def learning_curve(histories: dict[str, object], title: str = "") -> go.Figure:
    """Train (dashed) and test (solid) accuracy against training steps."""
    _check_mapping(histories, "histories")
    styles, fig = Styles(), go.Figure()
    for name, h in histories.items():
        steps, test, train = _history(h, name)
        style = styles(name)
        fig.add_scatter(x=steps, y=test, name=f"{name}: test", legendgroup=name,
                        line={"color": style["color"]}, marker={"symbol": style["symbol"]},
                        mode="lines+markers")
        fig.add_scatter(x=steps, y=train, name=f"{name}: train", legendgroup=name,
                        line={"color": style["color"], "dash": "dash"}, mode="lines")
    fig.update_layout(xaxis_title="training step", yaxis_title="accuracy",
                      yaxis_range=[0, 1.02])
    return _phone_layout(fig, title)


def tree_figure(rhm: RHM, sample: Sample, index: int = 0, title: str = "") -> go.Figure:
    """The tree of hidden variables of one input: levels top-down, leaves at the bottom."""
    if not isinstance(rhm, RHM):
        raise TypeError(f"rhm must be an RHM, got {type(rhm).__name__}")
    if not isinstance(index, int) or not 0 <= index < len(sample):
        raise ValueError(f"index must be an int in [0, {len(sample) - 1}], got {index!r}")
    xs, ys, labels, edge_x, edge_y = [], [], [], [], []
    width = rhm.s**rhm.L
    for level, h in enumerate(sample.hidden):
        n_nodes = h.shape[1]
        for j in range(n_nodes):
            # Centre each node over the leaves of its subtree.
            x = (j + 0.5) * width / n_nodes
            xs.append(x)
            ys.append(-level)
            labels.append(str(int(h[index, j])))
            if level > 0:
                px = (j // rhm.s + 0.5) * width / (n_nodes // rhm.s)
                edge_x += [px, x, None]
                edge_y += [-(level - 1), -level, None]
    fig = go.Figure()
    fig.add_scatter(x=edge_x, y=edge_y, mode="lines", line={"color": "#bbb"},
                    hoverinfo="skip", showlegend=False)
    # Leaves shrink with their number so that s^L of them fit a phone's width.
    size = max(12, min(26, 300 // width))
    fig.add_scatter(
        x=xs, y=ys, mode="markers+text", text=labels, textposition="middle center",
        marker={"size": [26 if y > -rhm.L else size for y in ys],
                "color": [COLORS[0] if y == 0 else COLORS[2] if y == -rhm.L
                          else COLORS[3] for y in ys], "opacity": 0.85},
        textfont={"color": "white"}, showlegend=False,
        hovertemplate="level %{customdata}: symbol %{text}<extra></extra>",
        customdata=[-y for y in ys],
    )
    fig.update_layout(
        xaxis={"visible": False},
        yaxis={"tickvals": [-lv for lv in range(rhm.L + 1)],
               "ticktext": ["class"] + [f"level {lv}" for lv in range(1, rhm.L)] + ["input"]},
    )
    return _phone_layout(fig, title or f"hidden tree of input {index} "
                         f"(class {int(sample.y[index])})", height=70 + 70 * rhm.L)


def rules_figure(rhm: RHM, level: int = 0, symbols: Sequence[int] | None = None) -> go.Figure:
    """The production rules of one level as a table: each symbol and its m synonyms."""
    if not isinstance(rhm, RHM):
        raise TypeError(f"rhm must be an RHM, got {type(rhm).__name__}")
    if not isinstance(level, int) or not 0 <= level < rhm.L:
        raise ValueError(f"level must be an int in [0, {rhm.L - 1}], got {level!r}")
    rules = rhm.rules[level]
    symbols = list(range(min(len(rules), 8))) if symbols is None else list(symbols)
    if not symbols or not all(isinstance(a, int) and 0 <= a < len(rules) for a in symbols):
        raise ValueError(f"symbols must be ints in [0, {len(rules) - 1}], got {symbols!r}")
    header = ["symbol"] + [f"rule {k + 1}" for k in range(rhm.m)]
    cells = [[str(a) for a in symbols]] + [
        ["(" + ", ".join(str(int(t)) for t in rules[a, k]) + ")" for a in symbols]
        for k in range(rhm.m)
    ]
    name = "class" if level == 0 else f"level-{level} symbol"
    fig = go.Figure(go.Table(header={"values": header, "fill_color": "#e8eef7"},
                             cells={"values": cells}))
    fig = _phone_layout(fig, f"level {level} → {level + 1}: each {name} has {rhm.m} "
                        f"synonymous {rhm.s}-tuples", height=30 + 28 * (len(symbols) + 1))
    fig.update_layout(margin={"l": 10, "r": 10, "b": 10})
    return fig


def angles_figure(records: dict[str, list[dict]], title: str = "") -> go.Figure:
    """Cosine between a rule's update and BP's over training: one panel per layer.

    ``records`` maps a rule's name to angle records (``steps``, ``cosines`` per step,
    hidden layers then readout), one per seed; lines are the mean, bars the sem. The
    y axis shows every cosine reached, negative ones included.
    """
    return angle_rows({"": records}, title)


def angle_rows(groups: dict[str, dict[str, list[dict]]], title: str = "") -> go.Figure:
    """:func:`angles_figure` with one row of panels per group (at most
    :data:`MAX_SERIES` names each, see :func:`facets`), titled on its right.

    ``groups`` maps a row's title to the records of :func:`angles_figure`; a name met in
    two rows keeps its colour and has one legend entry.
    """
    from plotly.subplots import make_subplots

    _check_mapping(groups, "groups")
    for row_title, records in groups.items():
        check_angle_records(records, "records" if row_title == "" else f"groups[{row_title!r}]")
    widths = {len(r["cosines"][0]) for records in groups.values()
              for recs in records.values() for r in recs}
    if len(widths) > 1:
        raise ValueError("groups: rows of cosines must have one entry per layer, the same "
                         f"number in every row of the figure, got {sorted(widths)}")
    n_panels = widths.pop()
    names = [f"layer {k + 1}" for k in range(n_panels - 1)] + ["readout"]
    n_rows = len(groups)
    row_titles = [_wrap(t, 14) for t in groups] if any(groups) else None
    fig = make_subplots(rows=n_rows, cols=n_panels, shared_yaxes=True, shared_xaxes=True,
                        column_titles=names, row_titles=row_titles,
                        horizontal_spacing=0.03, vertical_spacing=0.06 if n_rows > 1 else 0.0)
    styles, reached, steps_seen = Styles(), [0.0, 1.0], []
    for row, records in enumerate(groups.values(), start=1):
        for name, recs in records.items():
            style = styles(name)
            steps, means = angle_means(recs)
            steps_seen += list(steps)
            for k in range(n_panels):
                stats = [row[k] for row in means]
                reached += [m + sign * e for m, e, _ in stats for sign in (-1, 1)]
                fig.add_scatter(
                    x=steps, y=[m for m, _, _ in stats], row=row, col=k + 1,
                    mode="lines+markers",
                    error_y={"type": "data", "array": [e for _, e, _ in stats],
                             "visible": True},
                    name=f"{name} ({len(recs)} seeds)", legendgroup=name,
                    showlegend=k == 0 and style["first"],
                    line={"color": style["color"], "dash": style["dash"]},
                    marker={"symbol": style["symbol"]},
                )
    fig.add_hline(y=0, line_dash="dot", line_color="gray")
    fig.update_yaxes(range=_covering(-0.1, 1.05, reached))
    fig.update_yaxes(title_text="cosine to BP's update", col=1, row=(n_rows + 1) // 2)
    fig.update_xaxes(measured_ticks(steps_seen, columns=n_panels))
    for col, text in enumerate(_x_titles(["training step"] * n_panels), start=1):
        fig.update_xaxes(title_text=text, row=n_rows, col=col)
    fig = _phone_layout(fig, title, height=420 if n_rows == 1 else 40 + 200 * n_rows)
    if row_titles:
        fig.update_layout(margin={"r": 40})
        fig.for_each_annotation(lambda a: a.update(font_size=12)
                                if a.text in row_titles else None)
    return fig


def error_paths_figure(masks: list, errors: dict[str, list], index: int = 0,
                       title: str = "") -> go.Figure:
    """Heatmaps of one input's ReLU masks and of each rule's error, layer by layer.

    ``masks[l]`` and ``errors[name][l]`` are ``[n, width, positions]`` tensors; rows of
    the figure are the mask then each named error (each on its own colour scale),
    columns the hidden layers.
    """
    from plotly.subplots import make_subplots

    if not isinstance(masks, Sequence) or not masks:
        raise ValueError("masks must be a non-empty list of tensors, one per hidden layer")
    _check_mapping(errors, "errors")
    for name, tensors in errors.items():
        if not isinstance(tensors, Sequence) or len(tensors) != len(masks):
            raise ValueError(f"errors[{name!r}] must hold one tensor per layer ({len(masks)})")
    rows = {"mask f'(a)": masks, **errors}
    depth = len(masks)
    fig = make_subplots(rows=len(rows), cols=depth, horizontal_spacing=0.08,
                        vertical_spacing=0.08,
                        column_titles=[f"layer {k + 1}" for k in range(depth)],
                        row_titles=[_wrap(name, 16) for name in rows])
    for r, (name, tensors) in enumerate(rows.items()):
        # Each rule's error on its own colour scale: their overall sizes differ.
        scale = max(float(t[index].abs().max()) for t in tensors) or 1.0
        for k, t in enumerate(tensors):
            z = t[index].detach().numpy()
            is_mask = r == 0
            fig.add_heatmap(
                z=z, row=r + 1, col=k + 1, showscale=False,
                zmin=0 if is_mask else -scale, zmax=1 if is_mask else scale,
                colorscale="Greys" if is_mask else "RdBu",
                texttemplate="%{z:.2f}" if not is_mask else "%{z:.0f}",
                hovertemplate="unit %{y}, position %{x}: %{z:.3f}<extra>" + name + "</extra>",
            )
    fig.update_xaxes(title_text="position", row=len(rows))
    fig.update_yaxes(title_text="unit", col=1)
    fig = _phone_layout(fig, title, height=170 * len(rows))
    fig.update_layout(margin={"r": 110})
    fig.for_each_annotation(lambda a: a.update(textangle=0, xanchor="left", font_size=12)
                            if a.text in [_wrap(name, 16) for name in rows] else None)
    return fig


def lines(x: Sequence[float], series: dict[str, Sequence[float]], x_title: str, y_title: str,
          title: str = "", log_y: bool = False) -> go.Figure:
    """One line per named series against the shared ``x``, in the book's layout."""
    x = _check_numbers(x, "x")
    _check_mapping(series, "series")
    styles, fig = Styles(), go.Figure()
    for name, ys in series.items():
        ys = _check_numbers(ys, f"series[{name!r}]")
        if len(ys) != len(x):
            raise ValueError(f"series[{name!r}] must have {len(x)} values, got {len(ys)}")
        style = styles(name)
        fig.add_scatter(x=x, y=ys, name=name, mode="lines+markers",
                        line={"color": style["color"], "dash": style["dash"]},
                        marker={"symbol": style["symbol"]})
    fig.update_layout(xaxis_title=x_title, yaxis_title=y_title,
                      yaxis_type="log" if log_y else "linear")
    fig.update_xaxes(measured_ticks(x))
    shown = [v for trace in fig.data for v in trace.y if math.isfinite(v) and v > 0]
    if log_y and shown and min(shown) < max(shown):  # one format: 10⁵, 10¹⁰, not 1 and 10⁵
        fig.update_yaxes(log_ticks(min(shown), max(shown)))
    return _phone_layout(fig, title)


def layer_curves(
    steps: Sequence[int], values: Sequence[Sequence[float]], title: str = "",
    y_title: str = "synonymic sensitivity", names: Sequence[str] | None = None,
) -> go.Figure:
    """One line per layer of a per-layer measure (``values[t][l]``) against training steps."""
    steps = _check_numbers(steps, "steps")
    values = check_list("values", values)
    if len(values) != len(steps):
        raise ValueError(f"values must have one row per step ({len(steps)}), got {len(values)}")
    n_layers = len(check_list("values[0]", values[0]))
    for t, row in enumerate(values):
        if len(check_list(f"values[{t}]", row)) != n_layers:
            raise ValueError(f"values[{t}] must have one value per layer ({n_layers}), got "
                             f"{len(row)}")
    if names is not None and len(names) != n_layers:
        raise ValueError(f"names must name {n_layers} layers, got {len(names)}")
    styles, fig = Styles(), go.Figure()
    for layer in range(n_layers):
        name = names[layer] if names else f"layer {layer + 1}"
        style = styles(name)
        fig.add_scatter(x=steps, y=[row[layer] for row in values], name=name,
                        mode="lines+markers", line={"color": style["color"],
                                                    "dash": style["dash"]})
    fig.update_layout(xaxis_title="training step", yaxis_title=y_title,
                      yaxis_rangemode="tozero")
    return _phone_layout(fig, title)


def per_layer(
    values: dict[str, Sequence[float]], y_title: str, title: str = "",
    errors: dict[str, Sequence[float]] | None = None, x_title: str = "layer",
    x_labels: Sequence[str] | None = None,
) -> go.Figure:
    """Grouped bars of a per-layer measure, one group per layer, one bar per named model.

    ``x_labels`` names the groups (default ``layer 1``, ``layer 2``, ...).
    """
    _check_mapping(values, "values")
    styles, fig = Styles(), go.Figure()
    for name, ys in values.items():
        ys = _check_numbers(ys, f"values[{name!r}]")
        err = (errors or {}).get(name)
        labels = list(x_labels) if x_labels is not None else [
            f"layer {k + 1}" for k in range(len(ys))]
        if len(labels) != len(ys):
            raise ValueError(f"x_labels must name {len(ys)} groups, got {len(labels)}")
        if err is not None and len(_check_numbers(err, f"errors[{name!r}]")) != len(ys):
            raise ValueError(f"errors[{name!r}] must have {len(ys)} values, got {len(err)}")
        style = styles(name)
        fig.add_bar(x=labels, y=ys, name=name,
                    marker={"color": style["color"], "pattern": {"shape": style["pattern"]}},
                    error_y={"type": "data", "array": list(err), "visible": True} if err else None)
    fig.update_layout(xaxis_title=x_title, yaxis_title=y_title, barmode="group")
    return _phone_layout(fig, title)


def learning_rows(records: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Per name: test accuracy at each evaluation step, mean and sem over its records.

    Rows ``{"step", "mean", "sem", "n"}``, ready for :func:`panels` with ``x="step"``.
    Runs stop when they converge, each at its own step: the mean at a step is over the
    runs still training there (``n`` counts them).
    """
    _check_mapping(records, "records")
    out = {}
    for name, recs in records.items():
        if not isinstance(recs, Sequence) or not recs:
            raise ValueError(f"records[{name!r}] must be a non-empty list of sweep records")
        try:
            runs = [dict(zip(r["result"]["history"]["step"],
                             r["result"]["history"]["test_accuracy"], strict=True))
                    for r in recs]
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"records[{name!r}] must be finished sweep records with "
                             "result.history, one accuracy per evaluation step") from err
        steps = sorted({step for run in runs for step in run})
        out[name] = [{"step": step, **dict(zip(("mean", "sem", "n"),
                                                mean_sem(run[step] for run in runs
                                                         if step in run)))}
                     for step in steps]
    return out


def learning_curve_panels(groups: dict[str, dict[str, list[dict]]], title: str = "",
                          y_title: str = "test accuracy") -> go.Figure:
    """Mean test-accuracy curves (:func:`learning_rows`) side by side, one panel per group
    (at most :data:`MAX_SERIES` each: :func:`facets` splits a long list)."""
    _check_mapping(groups, "groups")
    rows = {panel: learning_rows(records) for panel, records in groups.items()}
    return panels(rows, x="step", x_titles="training step", title=title, log_x=False,
                  target=None, y_title=y_title)


def accuracy_bars(curves: dict[str, list[dict]], title: str = "", x_title: str = "test accuracy",
                  height: int = 520) -> go.Figure:
    """Horizontal bars of mean test accuracy and its sem, one per name, top to bottom.

    ``curves`` maps a name to a one-row :func:`rhmlib.sweeps.summarize` list (one setting).
    Each bar has its rule's colour; long names wrap.
    """
    _check_mapping(curves, "curves")
    if any(isinstance(rows, Sequence) and len(rows) != 1 for rows in curves.values()):
        raise ValueError("accuracy_bars takes one summary row per name")
    _check_curves(curves, "mean")
    styles = Styles()
    rows = [rows[0] for rows in curves.values()]
    looks = [styles(name) for name in curves]
    fig = go.Figure(go.Bar(x=[r["mean"] for r in rows],
                           y=[_wrap(name, 22) for name in curves], orientation="h",
                           marker={"color": [s["color"] for s in looks],
                                   "pattern": {"shape": [s["pattern"] for s in looks]}},
                           error_x={"type": "data", "array": [r["sem"] for r in rows]},
                           customdata=[[r.get("n", "?")] for r in rows],
                           hovertemplate="%{y}: %{x:.3f} (n=%{customdata[0]} seeds)"
                                         "<extra></extra>"))
    fig.update_layout(xaxis={"title": x_title, "range": [0, 1.02]},
                      yaxis={"autorange": "reversed", "automargin": True})
    fig = _phone_layout(fig, title, height=height)
    fig.update_layout(margin={"l": 10})  # the wrapped names push it as far as they need
    return fig


def signal_noise(curves: dict[str, list[dict]], p_stars: dict[str, int],
                 title: str = "") -> go.Figure:
    """Tuple-label correlation against P: measured, noise alone, exact signal, and P*.

    ``curves`` maps a grammar's label to :func:`rhmlib.correlations.curve` rows.
    """
    _check_mapping(curves, "curves")
    _check_mapping(p_stars, "p_stars")
    for name, rows in curves.items():
        if not isinstance(rows, Sequence) or not rows:
            raise ValueError(f"curves[{name!r}] must be a non-empty list of rows")
        if not all({"P", "measured", "noise", "signal"} <= set(r) for r in rows):
            raise ValueError(f"curves[{name!r}] rows need P, measured, noise and signal")
        if name not in p_stars:
            raise ValueError(f"p_stars lacks {name!r}")
    styles, fig = Styles(), go.Figure()
    for name, rows in curves.items():
        color = styles(name)["color"]
        xs = [r["P"] for r in rows]
        fig.add_scatter(x=xs, y=[r["measured"] for r in rows], name=f"{name}: measured",
                        mode="lines+markers", line={"color": color}, legendgroup=name)
        fig.add_scatter(x=xs, y=[r["noise"] for r in rows], name=f"{name}: labels shuffled",
                        mode="lines", line={"color": color, "dash": "dash"}, legendgroup=name)
        fig.add_scatter(x=[xs[0], xs[-1]], y=[rows[0]["signal"]] * 2, mode="lines",
                        name=f"{name}: exact signal", legendgroup=name,
                        line={"color": color, "dash": "dot"})
        fig.add_vline(x=p_stars[name], line={"color": color, "width": 1},
                      annotation_text=f"P* = {p_stars[name]:,}", annotation_position="top")
    fig.update_layout(xaxis_title="training inputs P", xaxis_type="log",
                      yaxis_type="log", yaxis_title="tuple-label correlation S")
    # One tick format per axis (plotly's own mix 1000 with 10k, and 0.1 with small 2..9).
    for axis, key in ((fig.update_xaxes, "x"), (fig.update_yaxes, "y")):
        values = [v for trace in fig.data for v in getattr(trace, key)
                  if v is not None and math.isfinite(v) and v > 0]
        if values and min(values) < max(values):
            axis(log_ticks(min(values), max(values)))
    return _phone_layout(fig, title)
