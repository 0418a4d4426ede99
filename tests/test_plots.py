"""The book's figures: one colour per rule, layouts that reflow on a phone, clear input errors."""

import pytest

from rhmlib import diagrams, plots

ROWS = [{"P": 100, "mean": 0.4, "sem": 0.05, "n": 3}, {"P": 1000, "mean": 0.9, "sem": 0.02, "n": 3}]


def _color(fig, name: str) -> str:
    return next(t for t in fig.data if t.name.startswith(name)).line.color


def test_one_palette_shared_with_the_diagrams() -> None:
    assert plots.RULE_COLORS is diagrams.RULE_COLORS
    assert {"bp", "fa", "dfa", "drtp", "pepita", "bp_masked", "clapp", "infonce", "vicreg",
            "ff", "readout"} <= set(plots.RULE_COLORS)
    assert len(set(plots.RULE_COLORS.values())) == len(plots.RULE_COLORS)
    assert not set(plots.COLORS) & set(plots.RULE_COLORS.values())


@pytest.mark.parametrize(("label", "rule"), [
    ("BP", "bp"), ("backprop, 10 seeds", "bp"), ("FA (type 1), 10 seeds", "fa"),
    ("DFA + exact transport", "dfa"), ("DRTP", "drtp"), ("PEPITA (F x10)", "pepita"),
    ("own mask: ones", "bp_masked"), ("BP, masks above from input 2", "bp_masked"),
    ("CLAPP (global, sum), 10 seeds", "clapp"), ("CLAPP, linear readout only", "clapp"),
    ("InfoNCE (local)", "infonce"), ("VICReg, oracle views", "vicreg"),
    ("Forward-Forward (global, top)", "ff"), ("ff_global", "ff"), ("m = 4, L = 3", None),
    ("FA without downstream masks", "fa"), ("downstream masks: ones", "bp_masked"),
    ("layer 1", None),
])
def test_labels_map_to_their_rule(label: str, rule: str | None) -> None:
    assert plots.rule_of(label) == rule


def test_a_rule_has_the_same_colour_in_different_figures() -> None:
    one = plots.accuracy_vs_P({"BP": ROWS, "DFA (3 seeds)": ROWS, "FA": ROWS})
    two = plots.panels({"a": {"FA, 10 seeds": ROWS, "backprop": ROWS}, "b": {"DFA": ROWS}})
    bars = plots.accuracy_bars({"DFA": ROWS[:1], "BP": ROWS[:1]})
    for fig in (one, two):
        assert _color(fig, "DFA") == plots.RULE_COLORS["dfa"]
    assert _color(one, "BP") == _color(two, "backprop") == plots.RULE_COLORS["bp"]
    assert _color(one, "FA") == _color(two, "FA") == plots.RULE_COLORS["fa"]
    assert list(bars.data[0].marker.color) == [plots.RULE_COLORS["dfa"], plots.RULE_COLORS["bp"]]


def test_variants_of_one_rule_keep_its_colour_and_change_dash() -> None:
    fig = plots.accuracy_vs_P({"CLAPP (local)": ROWS, "CLAPP (global, top)": ROWS,
                               "m = 4": ROWS, "m = 8": ROWS})
    clapp = [t for t in fig.data if t.name.startswith("CLAPP")]
    assert {t.line.color for t in clapp} == {plots.RULE_COLORS["clapp"]}
    assert clapp[0].line.dash != clapp[1].line.dash
    others = [t.line.color for t in fig.data if t.name.startswith("m =")]
    assert others == list(plots.COLORS[:2])


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
    (lambda: plots.rule_of(3), TypeError, "label must be a str"),
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


def test_views_show_a_few_series_at_a_time_behind_buttons() -> None:
    from test_clean_pages import crowded_panels

    names = ["BP", "FA", "DFA", "CLAPP", "InfoNCE", "VICReg", "CLAPP (global)", "P_90 rule"]
    fig = plots.panels({"a": {n: ROWS for n in names}, "b": {n: ROWS for n in names}})
    height = fig.layout.height
    shown = plots.views(fig, {"rules": names[:6], "variants": ["BP", *names[6:]]})
    assert [t.visible for t in fig.data[:8]] == [True] * 6 + [False] * 2
    (menu,) = shown.layout.updatemenus
    assert [b.label for b in menu.buttons] == ["rules", "variants"]
    assert menu.buttons[1].args[0]["visible"][:8] == [True] + [False] * 5 + [True] * 2
    assert shown.layout.height > height and menu.y > 1
    assert not crowded_panels(shown.to_plotly_json())
    with pytest.raises(ValueError, match="no view shows"):
        plots.views(plots.panels({"a": {n: ROWS for n in names}}), {"rules": names[:6]})
    with pytest.raises(ValueError, match="names no series"):
        plots.views(plots.panels({"a": {"BP": ROWS}}), {"rules": ["BP", "FA"]})
    with pytest.raises(ValueError, match="more than 6"):
        plots.views(plots.panels({"a": {n: ROWS for n in names}}), {"all": names})


def test_scatter_panels_share_axes_and_styles() -> None:
    fig = plots.scatter_panels({"CLAPP": {"CLAPP": [(0.1, 0.9)], "CLAPP++": [(0.3, 0.5)]},
                                "others": {"InfoNCE": [(0.2, 0.8)], "CLAPP": [(0.4, 0.7)]}},
                               "cosine", "test accuracy")
    assert [t.xaxis for t in fig.data] == ["x", "x", "x2", "x2"]
    clapp = [t for t in fig.data if t.name == "CLAPP"]
    assert clapp[0].marker.color == clapp[1].marker.color
    assert [t.showlegend for t in clapp] == [True, False]
    assert fig.layout.xaxis.range == fig.layout.xaxis2.range
    with pytest.raises(ValueError, match=r"groups\['CLAPP'\]\['CLAPP'\] must be a non-empty"):
        plots.scatter_panels({"CLAPP": {"CLAPP": []}}, "x", "y")


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
    from rhmlib.sweeps.feedback import BUDGET
    from rhmlib.sweeps.local import SSL_TRAINING

    fig = abstract_figure()
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend == [label for _, label, _ in ABSTRACT_SERIES] and len(legend) <= 6
    assert fig.layout.yaxis.type == "log"
    assert list(fig.layout.xaxis.tickvals) == [2, 3, 4, 5]  # the dodge leaves the ticks whole
    bounds = [t for t in fig.data if t.showlegend is False]
    assert bounds and all(t.marker.symbol == "triangle-up-open" for t in bounds)
    assert all(abs(x - round(x)) <= 0.25 for t in fig.data for x in t.x)
    assert not fig.layout.annotations  # no panel title repeating the x axis
    assert all(t.hovertemplate.startswith("L = %{customdata}: ") for t in fig.data)
    rows = contrast.scaling_rows()
    texts = abstract_texts(rows)
    assert int(texts["intro-fb-from"]) <= int(texts["intro-ssl-from"])
    assert {texts[k] for k in ("intro-type1-steps", "intro-ssl-steps", "intro-width")} <= {
        f"{n:,}" for n in (BUDGET["steps"], SSL_TRAINING["steps"], BUDGET["width"])}
    # What the caption says in words, true of the cached results: FA and DFA fall short on
    # the reference grammar; the local rules keep pace with backprop on the shallowest one.
    p90 = {(r["name"], r["L"]): r["p90"] for r in rows if r["m"] == int(texts["intro-m"])}
    assert all(math.isinf(p90[(n, int(texts["intro-ref-depth"]))]) for n in ("FA", "DFA"))
    shallowest = int(texts["intro-depths"].split()[0])
    assert all(p90[(n, shallowest)] <= 1.1 * p90[("BP", shallowest)] for n in ("CLAPP", "InfoNCE"))
    assert max(p90[("BP", L)] for (n, L) in p90 if n == "BP") <= float(texts["intro-bp-max"])
    # "SGD steps with a decaying rate" for the type-1 rules.
    type1 = [r["config"] for (n, m, _), recs in contrast.cell_records().items()
             if n in ("BP", "FA", "DFA") and m == int(texts["intro-m"]) for r in recs]
    assert {(c["optimizer"], c["schedule"]) for c in type1} == {("sgd", "cosine")}
