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


def test_plots_parse_no_label() -> None:
    """No regular expression in the plots: a curve's rule comes from its Variant."""
    tree = ast.parse(Path(plots.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "re" not in imported and "regex" not in imported
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
