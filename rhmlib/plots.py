"""Plotly figures of the book, and the one renderer choice every chapter shares.

Importing this module sets plotly's default renderer to ``"rhmlib"``: every figure
is one output carrying both plotly's JSON (JupyterLab and Binder render it natively)
and HTML (the static book renders it offline). plotly.js is embedded once per notebook by
the renderer's activation, except in the book build, whose site serves one copy to every
page (``rhmlib.sphinxext``); in Colab, which isolates each output, plotly's own "colab"
renderer is chosen instead. MyST-NB picks the HTML and ignores the JSON, so the
build raises no "unknown mime type" warning.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import NotebookRenderer

from .rhm import RHM, Sample

__all__ = [
    "glue", "angles_figure", "error_paths_figure", "mean_learning_curves",
    "accuracy_vs_P", "collapse_figure", "learning_curve", "tree_figure", "rules_figure", "COLORS",
    "layer_curves", "per_layer", "panels", "signal_noise", "accuracy_bars",
]

COLORS = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)


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
    is_figure = isinstance(value, go.Figure)
    bundle, metadata = format_display_data(_GluedFigure(value) if is_figure else value)
    if not bundle:
        raise TypeError(f"value of type {type(value).__name__} has no displayable form")
    prefix = "" if (is_figure if display is None else display) else GLUE_PREFIX
    metadata = {**metadata, "scrapbook": {"name": name, "mime_prefix": prefix}}
    ipy_display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


def _line(rows: list[dict], x: str, name: str, color: str, x_scale: float = 1.0) -> go.Scatter:
    return go.Scatter(
        x=[r[x] / x_scale for r in rows],
        y=[r["mean"] for r in rows],
        error_y={"type": "data", "array": [r["sem"] for r in rows], "visible": True},
        mode="lines+markers", name=name, line={"color": color},
        customdata=[[r["n"]] for r in rows],
        hovertemplate="%{x:.3g}: %{y:.3f} (n=%{customdata[0]} seeds)<extra>" + name + "</extra>",
    )


def accuracy_vs_P(
    curves: dict[str, list[dict]],
    x: str = "P",
    x_title: str = "training points P",
    x_scales: dict[str, float] | None = None,
    title: str = "",
    chance: float | None = None,
    target: float | None = 0.9,
) -> go.Figure:
    """Test accuracy (mean and sem over seeds) against P, one line per named curve.

    ``curves`` maps a name to rows from :func:`rhmlib.sweeps.summarize` with keys
    ``x``, ``mean``, ``sem`` and ``n``; ``x_scales`` divides a curve's x (for P / P*).
    """
    fig = go.Figure()
    for i, (name, rows) in enumerate(curves.items()):
        scale = (x_scales or {}).get(name, 1.0)
        fig.add_trace(_line(rows, x, name, COLORS[i % len(COLORS)], scale))
    if chance is not None:
        fig.add_hline(y=chance, line_dash="dot", line_color="gray",
                      annotation_text="chance", annotation_position="bottom right")
    if target is not None:
        fig.add_hline(y=target, line_dash="dash", line_color="lightgray",
                      annotation_text=f"{target:.0%}", annotation_position="top left")
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title="test accuracy",
                      xaxis_type="log", yaxis_range=[0, 1.02], legend_title_text="")
    return fig


def collapse_figure(
    curves: dict[str, list[dict]], p_stars: dict[str, float], title: str = ""
) -> go.Figure:
    """Two panels: accuracy against P, and against P / P* (curves collapse if P* is right)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=("against P", "against P / (n_c m^L)"))
    for i, (name, rows) in enumerate(curves.items()):
        color = COLORS[i % len(COLORS)]
        fig.add_trace(_line(rows, "P", name, color), row=1, col=1)
        rescaled = _line(rows, "P", name, color, p_stars[name])
        rescaled.showlegend = False
        fig.add_trace(rescaled, row=1, col=2)
    fig.update_xaxes(type="log")
    fig.update_xaxes(title_text="P", row=1, col=1)
    fig.update_xaxes(title_text="P / P*", row=1, col=2)
    fig.update_yaxes(title_text="test accuracy", range=[0, 1.02], row=1, col=1)
    fig.update_layout(title=title, legend_title_text="")
    return fig


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
    ``sem``, ``n``); a curve name keeps its colour in every panel and appears once in
    the legend.
    """
    from plotly.subplots import make_subplots

    titles = [x_titles] * len(groups) if isinstance(x_titles, str) else list(x_titles)
    if len(titles) != len(groups):
        raise ValueError(f"x_titles must name {len(groups)} axes, got {len(titles)}")
    fig = make_subplots(rows=1, cols=len(groups), shared_yaxes=True,
                        horizontal_spacing=0.04, subplot_titles=list(groups))
    colors: dict[str, int] = {}  # curve name -> its index, hence its colour
    for col, curves in enumerate(groups.values(), start=1):
        for name, rows in curves.items():
            first = name not in colors
            index = colors.setdefault(name, len(colors))
            trace = _line(rows, x, name, COLORS[index % len(COLORS)])
            trace.showlegend, trace.legendgroup = first, name
            if index >= len(COLORS):  # colours ran out: the next round is dashed
                trace.line.dash = "dash"
            fig.add_trace(trace, row=1, col=col)
        # Tick exactly the measured x values: a log axis would otherwise label 2..9 in between.
        ticks = sorted({r[x] for rows in curves.values() for r in rows})
        fig.update_xaxes(title_text=titles[col - 1], type="log" if log_x else "linear",
                         tickvals=ticks, row=1, col=col)
        for level, dash in ((chance, "dot"), (target, "dash")):
            if level is not None:
                fig.add_hline(y=level, line_dash=dash, line_color="lightgray",
                              row=1, col=col)
    fig.update_yaxes(title_text=y_title, row=1, col=1)
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    fig.update_layout(title=title, legend_title_text="")
    if len(colors) > 4:  # a long legend beside the panels would squeeze them: put it below
        rows = -(-len(colors) // 3)
        fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.22},
                          height=450 + 22 * rows, margin={"b": 90 + 22 * rows})
    return fig


def learning_curve(histories: dict[str, object], title: str = "") -> go.Figure:
    """Train (dashed) and test (solid) accuracy against training steps."""
    fig = go.Figure()
    for i, (name, h) in enumerate(histories.items()):
        color = COLORS[i % len(COLORS)]
        fig.add_scatter(x=h.step, y=h.test_accuracy, name=f"{name}: test",
                        line={"color": color}, mode="lines+markers")
        fig.add_scatter(x=h.step, y=h.train_accuracy, name=f"{name}: train",
                        line={"color": color, "dash": "dash"}, mode="lines")
    fig.update_layout(title=title, xaxis_title="training step", yaxis_title="accuracy",
                      yaxis_range=[0, 1.02])
    return fig


def tree_figure(rhm: RHM, sample: Sample, index: int = 0, title: str = "") -> go.Figure:
    """The tree of hidden variables of one input: levels top-down, leaves at the bottom."""
    if not 0 <= index < len(sample):
        raise ValueError(f"index must be in [0, {len(sample) - 1}], got {index}")
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
    fig.add_scatter(
        x=xs, y=ys, mode="markers+text", text=labels, textposition="middle center",
        marker={"size": 26, "color": [COLORS[0] if y == 0 else COLORS[2] if y == -rhm.L
                                      else COLORS[3] for y in ys], "opacity": 0.85},
        textfont={"color": "white"}, showlegend=False,
        hovertemplate="level %{customdata}: symbol %{text}<extra></extra>",
        customdata=[-y for y in ys],
    )
    fig.update_layout(
        title=title or f"hidden tree of input {index} (class {int(sample.y[index])})",
        xaxis={"visible": False},
        yaxis={"tickvals": [-lv for lv in range(rhm.L + 1)],
               "ticktext": ["class"] + [f"level {lv}" for lv in range(1, rhm.L)] + ["input"]},
        height=120 + 70 * rhm.L,
    )
    return fig


def rules_figure(rhm: RHM, level: int = 0, symbols: Sequence[int] | None = None) -> go.Figure:
    """The production rules of one level as a table: each symbol and its m synonyms."""
    if not 0 <= level < rhm.L:
        raise ValueError(f"level must be in [0, {rhm.L - 1}], got {level}")
    rules = rhm.rules[level]
    symbols = list(range(min(len(rules), 8))) if symbols is None else list(symbols)
    header = ["symbol"] + [f"rule {k + 1}" for k in range(rhm.m)]
    cells = [[str(a) for a in symbols]] + [
        ["(" + ", ".join(str(int(t)) for t in rules[a, k]) + ")" for a in symbols]
        for k in range(rhm.m)
    ]
    name = "class" if level == 0 else f"level-{level} symbol"
    fig = go.Figure(go.Table(header={"values": header, "fill_color": "#e8eef7"},
                             cells={"values": cells}))
    fig.update_layout(
        title=f"level {level} -> {level + 1}: each {name} has {rhm.m} synonymous "
              f"{rhm.s}-tuples", height=80 + 28 * (len(symbols) + 1), margin={"t": 50, "b": 10},
    )
    return fig


def angles_figure(records: dict[str, list[dict]], title: str = "") -> go.Figure:
    """Cosine between a rule's update and BP's over training: one panel per layer.

    ``records`` maps a rule's name to angle records (``steps``, ``cosines`` per step,
    hidden layers then readout), one per seed; lines are the mean, bars the sem.
    """
    from plotly.subplots import make_subplots

    from .sweeps.stats import mean_sem

    n_panels = max(len(r["cosines"][0]) for recs in records.values() for r in recs)
    names = [f"layer {k + 1}" for k in range(n_panels - 1)] + ["readout"]
    fig = make_subplots(rows=1, cols=n_panels, shared_yaxes=True, subplot_titles=names)
    for i, (name, recs) in enumerate(records.items()):
        steps = recs[0]["steps"]
        for k in range(n_panels):
            stats = [mean_sem(r["cosines"][t][k] for r in recs) for t in range(len(steps))]
            fig.add_scatter(
                x=steps, y=[m for m, _, _ in stats], row=1, col=k + 1, mode="lines+markers",
                error_y={"type": "data", "array": [e for _, e, _ in stats], "visible": True},
                name=f"{name} ({len(recs)} seeds)", legendgroup=name, showlegend=k == 0,
                line={"color": COLORS[i % len(COLORS)]},
            )
    fig.add_hline(y=0, line_dash="dot", line_color="gray")
    fig.update_yaxes(range=[-0.3, 1.05])
    fig.update_yaxes(title_text="cosine to BP's update", col=1)
    fig.update_xaxes(title_text="training step")
    fig.update_layout(title=title, height=420, legend_title_text="")
    return fig


def error_paths_figure(masks: list, errors: dict[str, list], index: int = 0,
                       title: str = "") -> go.Figure:
    """Heatmaps of one input's ReLU masks and of each rule's error, layer by layer.

    ``masks[l]`` and ``errors[name][l]`` are ``[n, width, positions]`` tensors; rows of
    the figure are the mask then each named error (each on its own colour scale),
    columns the hidden layers.
    """
    from plotly.subplots import make_subplots

    rows = {"mask f'(a)": masks, **errors}
    depth = len(masks)
    fig = make_subplots(rows=len(rows), cols=depth, horizontal_spacing=0.08,
                        vertical_spacing=0.06,
                        column_titles=[f"layer {k + 1}" for k in range(depth)],
                        row_titles=list(rows))
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
    fig.update_layout(title=title, height=190 * len(rows) + 60, margin={"r": 160})
    fig.for_each_annotation(lambda a: a.update(textangle=0, xanchor="left")
                            if a.text in rows else None)
    return fig


def layer_curves(
    steps: Sequence[int], values: Sequence[Sequence[float]], title: str = "",
    y_title: str = "synonymic sensitivity", names: Sequence[str] | None = None,
) -> go.Figure:
    """One line per layer of a per-layer measure (``values[t][l]``) against training steps."""
    fig = go.Figure()
    n_layers = len(values[0]) if values else 0
    for layer in range(n_layers):
        name = names[layer] if names else f"layer {layer + 1}"
        fig.add_scatter(x=list(steps), y=[row[layer] for row in values], name=name,
                        mode="lines+markers", line={"color": COLORS[layer % len(COLORS)]})
    fig.update_layout(title=title, xaxis_title="training step", yaxis_title=y_title,
                      yaxis_rangemode="tozero")
    return fig


def per_layer(
    values: dict[str, Sequence[float]], y_title: str, title: str = "",
    errors: dict[str, Sequence[float]] | None = None, x_title: str = "layer",
    x_labels: Sequence[str] | None = None,
) -> go.Figure:
    """Grouped bars of a per-layer measure, one group per layer, one bar per named model.

    ``x_labels`` names the groups (default ``layer 1``, ``layer 2``, ...).
    """
    fig = go.Figure()
    for i, (name, ys) in enumerate(values.items()):
        err = (errors or {}).get(name)
        labels = list(x_labels) if x_labels is not None else [
            f"layer {k + 1}" for k in range(len(ys))]
        if len(labels) != len(ys):
            raise ValueError(f"x_labels must name {len(ys)} groups, got {len(labels)}")
        fig.add_bar(x=labels, y=list(ys), name=name,
                    marker_color=COLORS[i % len(COLORS)],
                    error_y={"type": "data", "array": list(err), "visible": True} if err else None)
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, barmode="group")
    return fig


def mean_learning_curves(records: dict[str, list[dict]], title: str = "") -> go.Figure:
    """Test accuracy against training step, mean and sem over the runs of each name.

    ``records`` maps a name to cached sweep records (each with ``result.history``).
    """
    from .sweeps.stats import mean_sem

    fig = go.Figure()
    for i, (name, recs) in enumerate(records.items()):
        steps = recs[0]["result"]["history"]["step"]
        stats = [mean_sem(r["result"]["history"]["test_accuracy"][t] for r in recs)
                 for t in range(len(steps))]
        fig.add_scatter(
            x=steps, y=[m for m, _, _ in stats], mode="lines+markers",
            error_y={"type": "data", "array": [e for _, e, _ in stats], "visible": True},
            name=f"{name} ({len(recs)} seeds)", line={"color": COLORS[i % len(COLORS)]},
        )
    fig.update_layout(title=title, xaxis_title="training step", yaxis_title="test accuracy",
                      yaxis_range=[0, 1.02], legend_title_text="")
    return fig


def accuracy_bars(curves: dict[str, list[dict]], title: str = "", x_title: str = "test accuracy",
                  height: int = 520) -> go.Figure:
    """Horizontal bars of mean test accuracy and its sem, one per name, top to bottom.

    ``curves`` maps a name to a one-row :func:`rhmlib.sweeps.summarize` list (one setting).
    """
    if any(len(rows) != 1 for rows in curves.values()):
        raise ValueError("accuracy_bars takes one summary row per name")
    rows = [rows[0] for rows in curves.values()]
    fig = go.Figure(go.Bar(x=[r["mean"] for r in rows], y=list(curves), orientation="h",
                           error_x={"type": "data", "array": [r["sem"] for r in rows]},
                           customdata=[[r["n"]] for r in rows],
                           hovertemplate="%{y}: %{x:.3f} (n=%{customdata[0]} seeds)"
                                         "<extra></extra>"))
    fig.update_layout(title=title, xaxis={"title": x_title, "range": [0, 1.02]},
                      yaxis={"autorange": "reversed"}, height=height, margin={"l": 220})
    return fig


def signal_noise(curves: dict[str, list[dict]], p_stars: dict[str, int],
                 title: str = "") -> go.Figure:
    """Tuple-label correlation against P: measured, noise alone, exact signal, and P*.

    ``curves`` maps a grammar's label to :func:`rhmlib.correlations.curve` rows.
    """
    fig = go.Figure()
    for i, (name, rows) in enumerate(curves.items()):
        color = COLORS[i % len(COLORS)]
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
    fig.update_layout(title=title, xaxis_title="training inputs P", xaxis_type="log",
                      yaxis_type="log", yaxis_title="tuple-label correlation S",
                      legend={"orientation": "h", "y": -0.25})
    return fig
