"""Static twins of the widgets: plotly figures whose sliders need no kernel."""

from __future__ import annotations

import pytest

from rhmlib import RHM, plots
from rhmlib.widgets import _slider_over, sweep_explorer


def _record(P: int, seed: int, acc: float, lr: float = 0.1) -> dict:
    history = {"step": [10, 20], "train_accuracy": [acc, acc], "test_accuracy": [0.0, acc]}
    return {"config": {"P": P, "seed": seed, "lr": lr}, "result": {"history": history}}


def test_slider_shows_one_figure_at_a_time() -> None:
    rhm = RHM(8, 4, 2, 2, 3, seed=0)
    sample = rhm.sample(3, seed=0)
    figures = [plots.tree_figure(rhm, sample, i) for i in range(3)]
    fig = _slider_over(figures, ["a", "b", "c"], "input ")
    assert [t.visible for t in fig.data] == [True, True, False, False, False, False]
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["a", "b", "c"]
    assert steps[2].args[0]["visible"] == [False, False, False, False, True, True]
    assert steps[1].args[1]["title.text"] == figures[1].layout.title.text


def test_sweep_explorer_averages_seeds_per_value() -> None:
    records = [_record(100, 0, 0.2), _record(100, 1, 0.4), _record(1000, 0, 0.9)]
    fig = sweep_explorer(records, by="P")
    assert [s.label for s in fig.layout.sliders[0].steps] == ["100", "1,000"]
    test_curve = fig.data[0]  # P = 100, test accuracy: mean of the two seeds
    assert list(test_curve.y) == pytest.approx([0.0, 0.3])
    with pytest.raises(ValueError, match="differ only"):
        sweep_explorer(records + [_record(100, 2, 0.5, lr=0.2)], by="P")
