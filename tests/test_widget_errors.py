"""Every widget answers a bad or costly setting with one short line, never a traceback.

It validates its controls first, keeps the figure of the last setting that worked and
gives its button back. Also: the weight decay of ``ssl_live`` comes from the rule's
recipe, every widget says it needs a kernel, and the introduction's claims table fills
every cell.
"""

from __future__ import annotations

import resource
import time

import ipywidgets as W
import pytest

from rhmlib import widgets


def _find(box: W.Widget, kind: type, description: str | None = None) -> W.Widget:
    stack = [box]
    while stack:
        widget = stack.pop()
        if isinstance(widget, kind) and description in (None, getattr(widget, "description", None)):
            return widget
        stack.extend(getattr(widget, "children", ()))
    raise LookupError(description or kind.__name__)


def _outputs(panel: W.VBox) -> list[dict]:
    return list(_find(panel, W.Output).outputs)


def _texts(panel: W.VBox) -> list[str]:
    return [o["text"] for o in _outputs(panel) if o["output_type"] == "stream"]


def _figures(panel: W.VBox) -> list[dict]:
    return [o for o in _outputs(panel) if o["output_type"] == "display_data"]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _train(panel: W.VBox, **values: object) -> float:
    """Set controls by key, press train; the seconds it took."""
    for description, value in values.items():
        _find(panel, W.Widget, description).value = value
    button = _find(panel, W.Button, "train")
    start = time.perf_counter()
    button.click()
    assert not button.disabled  # given back in every case
    return time.perf_counter() - start


def test_huge_lr_is_refused_and_the_last_figure_kept() -> None:
    panel = widgets.playground(P=100, steps=50)
    before = _figures(panel)
    assert before and not any("Cannot" in t for t in _texts(panel))
    assert _train(panel, **{"lr (0: rule's)": 1e300}) < 3
    texts = _texts(panel)
    assert texts[0].startswith("Cannot train: lr must be between 0 and 10")
    assert len(texts[0]) < 200 and "Traceback" not in "".join(texts)
    assert _figures(panel) == before  # the last good figure stays


@pytest.mark.parametrize(("make", "kwargs", "lr"), [
    (widgets.masking_live, {"P": 200, "steps": 100}, "lr"),
    (widgets.ssl_live, {"P": 200, "steps": 50}, "lr (Adam)"),
])
def test_slider_widgets_refuse_a_huge_P(make, kwargs, lr) -> None:  # noqa: ANN001
    panel = make(**kwargs)
    before = _figures(panel)
    assert _train(panel, **{"P (train)" if make is widgets.masking_live else "P (inputs)":
                            10**12}) < 3
    assert _texts(panel)[0].startswith("Cannot train:")
    assert _figures(panel) == before


def test_huge_P_on_a_deep_grammar_is_refused_quickly_without_memory() -> None:
    peak = _peak_mb()
    start = time.perf_counter()
    panel = widgets.playground(v=8, n_c=8, m=4, s=4, L=5, P=10**6, steps=50)
    assert time.perf_counter() - start < 3
    (line,) = _texts(panel)
    assert line.startswith("Cannot train: P=1,000,000 with width 32 on inputs of 1024 tokens")
    assert _peak_mb() - peak < 500


def test_long_training_is_refused() -> None:
    panel = widgets.playground(v=8, n_c=8, m=4, s=4, L=5, P=1000, width=256, steps=5000)
    assert _texts(panel)[0].startswith("Cannot train:")
    assert "GB" in _texts(panel)[0] or "minutes" in _texts(panel)[0]


def test_rhm_explorer_at_depth_answers_within_seconds() -> None:
    panel = widgets.rhm_explorer()
    first = _figures(panel)
    peak = _peak_mb()
    for description, value in (("m (synonyms)", 8), ("s (branching)", 4), ("L (depth)", 5)):
        start = time.perf_counter()
        _find(panel, W.IntSlider, description).value = value
        assert time.perf_counter() - start < 3, description
    assert _peak_mb() - peak < 500
    (line, note) = _texts(panel)
    assert "inputs of 1024 tokens; 3.60e+308 distinct inputs; P* = n_c m^L = 131,072" in line
    assert note.startswith("(tree not drawn")
    _find(panel, W.IntSlider, "v (vocabulary)").value = 2  # m = 8 > v**s / n_c = 4
    texts = _texts(panel)
    assert texts[0].startswith("Not a valid RHM: m must be <=")
    assert _figures(panel) and _figures(panel) != first  # the rules of the last good one


def test_count_text_goes_past_floats() -> None:
    assert widgets._count_text(262_144) == "2.62e+05"
    assert widgets._count_text(4 * 8**341) == "3.60e+308"
    assert widgets._count_text(16**1365) == "1.00e+1643" or \
        widgets._count_text(16**1365).endswith("e+1643")


@pytest.mark.parametrize(("grammar", "P", "answer"), [
    ((2, 2, 1, 2, 1), 1, "Cannot train: this grammar has only 2 distinct inputs"),
    ((3, 3, 1, 2, 2), 1, "Cannot train: the training set (P=1) holds one class only"),
    ((3, 3, 1, 2, 2), 2, "Cannot train: P must be below the grammar's 3 distinct inputs"),
    ((4, 2, 2, 2, 2), 10, "done: test accuracy"),
    ((2, 2, 1, 2, 1), -5, "Cannot train:"),
])
def test_playground_at_small_grammars(grammar, P, answer) -> None:  # noqa: ANN001
    v, n_c, m, s, L = grammar
    panel = widgets.playground(v=v, n_c=n_c, m=m, s=s, L=L, P=P, steps=50)
    texts = _texts(panel)
    assert any(t.startswith(answer) for t in texts), texts
    assert all(len(t) < 300 for t in texts)


def test_an_unexpected_error_is_one_line(monkeypatch) -> None:  # noqa: ANN001
    panel = widgets.train_live(P=200, steps=100)
    before = _figures(panel)

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("out of memory\nand a long second line")

    monkeypatch.setattr(widgets, "run_experiment", boom)
    _train(panel)
    texts = _texts(panel)
    assert texts[0] == "Cannot train: RuntimeError: out of memory\n"
    assert texts[1].startswith("(the figure below is from the last setting that worked)")
    assert _figures(panel) == before


def test_negative_seed_is_refused() -> None:
    panel = widgets.train_live(P=200, steps=100, autorun=False)
    _train(panel, seed=-1)
    assert _texts(panel)[0].startswith("Cannot train: seed must be in [0, ")


@pytest.mark.parametrize("recipe", ["recipe", "base"])
def test_ssl_live_takes_weight_decay_from_the_recipe(recipe, monkeypatch) -> None:  # noqa: ANN001
    import importlib

    from rhmlib.rules import RULES

    training = importlib.import_module("rhmlib.train")  # rhmlib.train is also a function

    if recipe == "recipe":
        monkeypatch.setitem(RULES["clapp"].defaults, "weight_decay", 0.123)
        expected = 0.123
    else:
        monkeypatch.delitem(RULES["clapp"].defaults, "weight_decay")
        expected = training.BASE["weight_decay"]
    seen = []

    def train(net, learner, rhm, data, test, config, *args):  # noqa: ANN001, ANN002, ANN202
        seen.append(config.weight_decay)
        return training.History()

    monkeypatch.setattr(training, "train", train)
    widgets.ssl_live(P=200, steps=50, rule="clapp")
    assert seen == [expected]


@pytest.mark.parametrize(("make", "kwargs"), [
    (widgets.rhm_explorer, {}),
    (widgets.train_live, {"autorun": False}),
    (widgets.masking_live, {"autorun": False}),
    (widgets.ssl_live, {"autorun": False}),
    (widgets.playground, {"autorun": False}),
    (widgets.linear_live, {"autorun": False}),
])
def test_every_widget_says_it_needs_a_kernel(make, kwargs) -> None:  # noqa: ANN001
    note = _find(make(**kwargs), W.HTML)
    assert "running kernel" in note.value and "rocket button" in note.value


def test_claims_table_fills_every_cell() -> None:
    from rhmlib.pages.intro import claims_table
    from rhmlib.tables import markdown

    table = claims_table()
    # Seven claims; an "on MNIST-1D" column sits before "where" once its runs exist.
    assert len(table.rows) == 7 and table.columns[:2] == ["claim", "what we find"]
    assert table.columns[-1] == "where"
    for row in table.rows:
        for column in table.columns:
            value = row[column]
            assert isinstance(value, str) and value.strip(), (column, row)
            assert "nan" not in value and "inf" not in value.replace("information", "")
        assert row["where"].startswith("{doc}`0")
    text = markdown(table)
    assert text.count("\n") == len(table.rows) + 1 and "{doc}`04_masking`" in text
