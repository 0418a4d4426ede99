"""The book's figures: one colour per rule, layouts that reflow on a phone, clear input errors."""

import ast
from pathlib import Path

import pytest

from rhmlib import plots
from rhmlib.styles import COLORS, rule_color
from rhmlib.sweeps.variants import Variant, rule_label

ROWS = [{"P": 100, "mean": 0.4, "sem": 0.05, "n": 3}, {"P": 1000, "mean": 0.9, "sem": 0.02, "n": 3}]


def _color(fig, name: str) -> str:
    return next(t for t in fig.data if t.name.startswith(name)).line.color


def test_a_rule_has_the_same_colour_in_different_figures() -> None:
    bp, fa, dfa = rule_label("bp"), rule_label("fa"), rule_label("dfa")
    one = plots.accuracy_vs_P({bp: ROWS, dfa.relabelled("DFA (3 seeds)"): ROWS, fa: ROWS})
    two = plots.panels({"a": {fa.relabelled("FA, 10 seeds"): ROWS,
                              Variant("backprop", "bp"): ROWS}, "b": {dfa: ROWS}})
    bars = plots.accuracy_bars({dfa: ROWS[:1], bp: ROWS[:1]})
    for fig in (one, two):
        assert _color(fig, "DFA") == rule_color("dfa")
    assert _color(one, "BP") == _color(two, "backprop") == rule_color("bp")
    assert _color(one, "FA") == _color(two, "FA") == rule_color("fa")
    assert list(bars.data[0].marker.color) == [rule_color("dfa"), rule_color("bp")]


def test_variants_of_one_rule_keep_its_colour_and_change_dash() -> None:
    fig = plots.accuracy_vs_P({Variant("CLAPP (local)", "clapp"): ROWS,
                               Variant("CLAPP (global, top)", "clapp_global"): ROWS,
                               "m = 4": ROWS, "m = 8": ROWS})
    clapp = [t for t in fig.data if t.name.startswith("CLAPP")]
    assert {t.line.color for t in clapp} == {rule_color("clapp")}
    assert clapp[0].line.dash != clapp[1].line.dash
    others = [t.line.color for t in fig.data if t.name.startswith("m =")]
    assert others == list(COLORS[:2])


def test_a_plain_name_is_never_read_for_a_rule() -> None:
    fig = plots.accuracy_vs_P({"BP": ROWS, "CLAPP (global, top)": ROWS})
    assert [t.line.color for t in fig.data] == list(COLORS[:2])


def test_plots_parse_no_label_for_its_rule() -> None:
    """A curve's rule comes from its Variant: no pattern names a rule. (Regular expressions
    remain only to render the labels' math, :func:`rhmlib.plots.math_text`.)"""
    source = Path(plots.__file__).read_text()
    rules = ("clapp", "infonce", "vicreg", "drtp", "pepita", "backprop", "forward")
    patterns = [node.value.lower() for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    assert not [p for p in patterns if any(rule in p for rule in rules)]
    assert not hasattr(plots, "rule_of") and not hasattr(plots, "RULE_PATTERNS")


def test_layouts_reflow_on_a_phone() -> None:
    long_title = "A title far longer than a phone's width can show on a single line of text"
    figures = [
        plots.accuracy_vs_P({"BP": ROWS, "FA": ROWS}, title=long_title),
        plots.panels({"a": {"BP": ROWS}, "b": {"DFA": ROWS}}),
        plots.collapse_figure({"m = 4": ROWS, "m = 8": ROWS}, {"m = 4": 100, "m = 8": 200}),
        plots.per_layer({"BP": [0.5, 0.2], "FA": [0.1, -0.3]}, "cosine"),
        plots.layer_curves([0, 10], [[0.5, 0.4], [0.2, 0.1]]),
        plots.lines([2, 3], {"inputs": [1e3, 1e9], "P*": [16, 64]}, "L", "count", log_y=True),
        plots.accuracy_bars({"BP": ROWS[:1], "a long variant name that must wrap": ROWS[:1]}),
    ]
    for fig in figures:
        layout = fig.layout
        assert layout.width is None and layout.autosize
        assert layout.legend.orientation == "h" and layout.legend.yanchor == "bottom"
        assert layout.legend.y == 0 and layout.legend.yref == "container"
        lines = (layout.title.text or "").split("<br>")
        assert all(len(line) <= plots.TITLE_CHARS for line in lines)
    assert "<br>" in figures[0].layout.title.text
    assert figures[0].layout.showlegend and not plots.accuracy_vs_P({"BP": ROWS}).layout.showlegend


def test_axes_show_every_plotted_value() -> None:
    negative = [{"P": 1, "mean": -0.4, "sem": 0.1, "n": 2},
                {"P": 2, "mean": 1.3, "sem": 0.0, "n": 2}]
    low, high = plots.accuracy_vs_P({"BP": negative}).layout.yaxis.range
    assert low < -0.5 and high > 1.3
    record = {"steps": [0, 10], "cosines": [[0.5, 0.9], [-0.6, 0.8]]}
    low, _ = plots.angles_figure({"DFA": [record, record]}).layout.yaxis.range
    assert low < -0.6


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: plots.accuracy_vs_P({}), ValueError, "curves must not be empty"),
    (lambda: plots.accuracy_vs_P([ROWS]), TypeError, "curves must be a dict"),
    (lambda: plots.accuracy_vs_P({"BP": []}), ValueError, r"curves\['BP'\] has no rows"),
    (lambda: plots.accuracy_vs_P({"BP": [{"P": 1}]}), ValueError, r"lack \['mean', 'sem'\]"),
    (lambda: plots.accuracy_vs_P({"BP": "rows"}), TypeError, "must be a list of rows"),
    (lambda: plots.accuracy_vs_P({"BP": ROWS}, title=3), TypeError, "title must be a str"),
    (lambda: plots.collapse_figure({"BP": ROWS}, {}), ValueError, "p_stars must not be empty"),
    (lambda: plots.panels({"a": {"BP": []}}), ValueError, r"groups\['a'\]\['BP'\] has no rows"),
    (lambda: plots.per_layer({"BP": []}, "y"), ValueError, r"values\['BP'\] must not be empty"),
    (lambda: plots.per_layer({"BP": ["a"]}, "y"), TypeError, "must hold numbers only"),
    (lambda: plots.learning_curve({"BP": object()}), TypeError, "must have step"),
    (lambda: plots.layer_curves([0, 1], [[0.1]]), ValueError, "one row per step"),
    (lambda: plots.lines([1, 2], {"a": [1]}, "x", "y"), ValueError, "must have 2 values"),
    (lambda: plots.angles_figure({"DFA": []}), ValueError, "non-empty list of angle records"),
])
def test_inputs_are_validated(call, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_glue_stores_a_figure_with_its_html(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, **kw: shown.append((data, kw)))
    plots.glue("fig-x", plots.accuracy_vs_P({"BP": ROWS}))
    plots.glue("acc", "91%")
    (figure, meta), (text, text_meta) = shown
    assert "text/html" in figure and "plotly-graph-div" in figure["text/html"]
    assert meta["metadata"]["scrapbook"] == {"name": "fig-x", "mime_prefix": ""}
    assert text == {plots.GLUE_PREFIX + "text/plain": "'91%'"}
    assert text_meta["metadata"]["scrapbook"]["mime_prefix"] == plots.GLUE_PREFIX


def test_glued_text_shows_its_maths_as_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, **kw: shown.append((data, kw)))
    plots.glue("t", "at $m = 4, L = 3$, $P_{90}$ < 2 $P^*$; $5 costs")
    plain = "'at m = 4, L = 3, P₉₀ < 2 P*; $5 costs'"
    assert shown[0][0] == {plots.GLUE_PREFIX + "text/plain": plain}


@pytest.mark.parametrize(("raw", "shown"), [
    ("P_90 / (n_c m^L)", "P₉₀ / (n<sub>c</sub> m<sup>L</sup>)"),
    ("mean >= 90%", "mean ≥ 90%"), ("level 0 -> 1", "level 0 → 1"), ("10^-3", "10⁻³"),
    ("W_{pred}", "W<sub>pred</sub>"), ("ff_global", "ff_global"), ("P₉₀ ≤ 2", "P₉₀ ≤ 2"),
])
def test_math_in_labels_is_rendered(raw: str, shown: str) -> None:
    assert plots.math_text(raw) == shown


def test_every_label_of_a_figure_renders_its_math() -> None:
    fig = plots.panels({"P_90 >= 1": {"n_c m^L": ROWS}}, y_title="P_90 / P*",
                       x_titles="level 0 -> 1")
    assert fig.layout.yaxis.title.text == "P₉₀ / P*"
    assert fig.layout.xaxis.title.text == "level 0 → 1"
    assert fig.layout.annotations[0].text == "P₉₀ ≥ 1"
    assert fig.data[0].name == "n<sub>c</sub> m<sup>L</sup>"
    assert "→" in plots.rules_figure(plots.RHM(v=4, n_c=2, m=2, s=2, L=2)).layout.title.text


def _widths(ticks: dict, columns: int) -> list[float]:
    """Pixels between neighbouring tick labels on a phone, less the labels' half-widths."""
    import math

    panel = (plots.PHONE_PLOT_PX - 70) / columns
    where = [math.log10(v) for v in ticks["tickvals"]]
    scale = panel / (where[-1] - where[0])
    return [(b - a) * scale - 3.25 * (len(s) + len(t))
            for a, b, s, t in zip(where, where[1:], ticks["ticktext"], ticks["ticktext"][1:])]


def test_ticks_have_one_format_and_room_on_a_phone() -> None:
    P = [500, 1000, 2000, 4000, 8000, 16000]
    for columns in (1, 2, 3):
        ticks = plots.measured_ticks(P, log=True, columns=columns)
        assert set(ticks["tickvals"]) <= set(P) and 16000 in ticks["tickvals"]
        assert all(t == "500" or t.endswith("k") for t in ticks["ticktext"])
        assert min(_widths(ticks, columns)) > 0
    assert plots.measured_ticks([1000, 2000, 4000])["ticktext"] == ["1,000", "2,000", "4,000"]
    # A panel of a figure that reaches 16,000 writes 8,000 as the others do: 8k.
    assert plots.measured_ticks([2000, 8000], log=True, reach=16000)["ticktext"] == ["2k", "8k"]
    # Many linear values: round ticks, and the axis reaches them.
    steps = plots.measured_ticks(range(500, 5001, 250), columns=4)
    assert steps["tickvals"] == [0, 5000] and steps["ticktext"] == ["0", "5k"]
    assert steps["range"][0] < 0 and steps["range"][1] > 5000
    assert plots.log_ticks(0.8, 12)["ticktext"] == ["1", "2", "5", "10"]
    assert plots.log_ticks(10, 1e5)["ticktext"] == [f"10<sup>{e}</sup>" for e in range(1, 6)]
    assert plots.log_ticks(256, 1e39)["tickvals"] == [10.0 ** e for e in range(5, 36, 5)]
    fig = plots.panels({"a": {"BP": [dict(ROWS[0], P=500), *ROWS, dict(ROWS[1], P=16000)]},
                        "b": {"BP": ROWS}})
    assert list(fig.layout.xaxis2.ticktext) == ["100", "1k"]


def test_facets_split_series_into_panels_of_six_at_most() -> None:
    curves = {"BP": ROWS, **{f"own mask: {k}": ROWS for k in ("ones", "mean")},
              **{f"downstream masks: {k}": ROWS for k in ("ones", "mean")}, "FA": ROWS}
    groups = plots.facets(curves, {"own": "own mask: ", "down": "downstream masks: "},
                          keep=["BP"], rest="hybrids")
    assert {k: list(v) for k, v in groups.items()} == {
        "own": ["BP", "ones", "mean"], "down": ["BP", "ones", "mean"], "hybrids": ["BP", "FA"]}
    fig = plots.panels(groups)
    ones = [t for t in fig.data if t.name == "ones"]
    assert len(ones) == 2 and ones[0].line.color == ones[1].line.color
    assert [t.showlegend for t in ones] == [True, False]
    with pytest.raises(ValueError, match="no panel takes"):
        plots.facets(curves, {"own": "own mask: "}, keep=["BP"])
    with pytest.raises(ValueError, match="more than 6"):
        plots.facets({f"r{k}": ROWS for k in range(7)}, {"all": "r"})


def test_angle_rows_and_learning_curve_panels() -> None:
    record = {"steps": [0, 10], "cosines": [[0.5, 0.9], [0.6, 0.8]]}
    fig = plots.angle_rows({"own mask": {"ones": [record]}, "downstream masks": {
        "ones": [record], "mean": [record]}})
    assert len(fig.data) == 6 and [t.showlegend for t in fig.data].count(True) == 2
    assert {a.text for a in fig.layout.annotations} >= {"layer 1", "readout", "own mask"}
    with pytest.raises(ValueError, match="rows of cosines"):
        plots.angle_rows({"a": {"x": [record]}, "b": {"y": [{"steps": [0], "cosines": [[1]]}]}})
    history = {"result": {"history": {"step": [0, 100], "test_accuracy": [0.1, 0.8]}}}
    fig = plots.learning_curve_panels({"a": {"BP": [history, history]}, "b": {"FA": [history]}})
    assert list(fig.data[0].y) == [0.1, 0.8] and fig.layout.xaxis.title.text == "training step"


def test_the_graphical_abstract_has_few_series_and_shows_failures_as_bounds() -> None:
    import math

    from rhmlib.pages.intro import ABSTRACT_SERIES, abstract_figure, abstract_texts
    from rhmlib.sweeps import contrast

    fig = abstract_figure()
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend == [label for _, label, _ in ABSTRACT_SERIES] and len(legend) <= 6
    assert fig.layout.yaxis.type == "log"
    rows = contrast.scaling_rows()
    depths = sorted({r["L"] for r in rows if r["name"] == "BP" and r["m"] == 4})
    assert list(fig.layout.xaxis.tickvals) == depths  # the dodge leaves the ticks whole
    assert all(abs(x - round(x)) <= 0.25 for t in fig.data for x in t.x)
    assert not fig.layout.annotations  # no panel title repeating the x axis
    assert all(t.hovertemplate.startswith("L = %{customdata}: ") for t in fig.data)
    texts = abstract_texts(rows)
    # What the caption says in words is true of the cached results.
    p90 = {(r["name"], r["L"]): r["p90"] for r in rows if r["m"] == int(texts["intro-m"])}
    assert max(p90[("BP", L)] for (n, L) in p90 if n == "BP") <= float(texts["intro-bp-max"])
    for key, names in (("intro-fb", ("FA", "DFA")), ("intro-ssl", ("CLAPP", "InfoNCE"))):
        if texts[key].startswith("do not reach"):
            first = int(texts[key].split("= ")[1].split()[0])
            assert all(math.isinf(p90[(name, L)]) for (name, L) in p90
                       if name in names and L >= first)
        else:
            assert all(math.isfinite(p90[(n, L)]) for (n, L) in p90 if n in names)
    widths = contrast.headline_widths()
    assert texts["intro-widths"] == ", ".join(f"{n} {widths[n]}" for n, _, _ in ABSTRACT_SERIES)


def test_learning_rows_average_the_runs_still_training() -> None:
    def record(steps: list[int], acc: list[float]) -> dict:
        return {"config": {}, "result": {"history": {"step": steps, "test_accuracy": acc}}}

    rows = plots.learning_rows({"BP": [record([5, 10], [0.2, 0.4]), record([5], [0.4])]})["BP"]
    assert [(r["step"], r["mean"], r["n"]) for r in rows] == [(5, pytest.approx(0.3), 2),
                                                             (10, 0.4, 1)]


def test_angle_curves_average_the_runs_still_training() -> None:
    """Runs that converge sooner record fewer points; later points average the others."""
    long = {"steps": [100, 200, 300], "cosines": [[0.1, 1.0], [0.2, 1.0], [0.4, 1.0]]}
    short = {"steps": [100, 200], "cosines": [[0.3, 1.0], [0.4, 1.0]]}
    fig = plots.angles_figure({"FA": [long, short]})
    layer1 = fig.data[0]
    assert list(layer1.x) == [100, 200, 300]
    assert list(layer1.y) == pytest.approx([0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="steps of the others"):
        plots.angles_figure({"FA": [long, {**short, "steps": [100, 250]}]})
