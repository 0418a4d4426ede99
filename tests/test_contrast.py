"""The central contrast's sweep definitions: labels round-trip, grids are interior-ready."""

import math

import pytest

from rhmlib import plots, run_experiment
from rhmlib.pages import ch06
from rhmlib.stats import rank_correlation
from rhmlib.sweeps import contrast
from rhmlib.sweeps.feedback import GRAMMARS
from rhmlib.train import resolve


def test_every_variant_label_round_trips_through_a_resolved_config() -> None:
    for name in contrast.VARIANTS:
        config = contrast.contrast_config(name, 4, 3, 2, 0, 0.02)
        assert contrast.label(config) == name == contrast.label(resolve(config))


def test_the_scan_brackets_the_recipe_and_covers_every_grammar() -> None:
    lrs = contrast.SSL_LRS
    assert lrs[0] < 0.02 < lrs[-1]  # the recipe's rate is interior to the grid
    assert set(contrast.BEYOND) == {lrs[0], lrs[-1]}
    assert set(contrast.BEYOND.values()) <= set(contrast.FURTHER)
    configs = contrast.contrast_lr()
    assert {(c["m"], c["L"]) for c in configs} == set(contrast.CONTRAST_GRAMMARS)
    assert {g for g in GRAMMARS if g[1] <= 4} == set(contrast.CONTRAST_GRAMMARS)
    assert len(configs) == len(lrs) * 3 * (
        sum(len(contrast.ssl_rules(*g)) for g in contrast.CONTRAST_GRAMMARS)
        + len(contrast.OTHERS))
    assert {contrast.label(c) for c in configs} == set(contrast.SSL + contrast.OTHERS)
    assert {c["width"] for c in configs} == {contrast.SCAN_WIDTH}
    for c in configs:  # each fits its grammar: training, test and validation sets
        full = resolve(c)
        n_inputs = full["n_c"] * full["m"] ** (2 ** full["L"] - 1)
        assert full["P"] + full["n_test"] + full["n_val"] <= n_inputs


def test_selection_and_headline_seeds_are_disjoint() -> None:
    assert not set(contrast.SELECTION_SEEDS) & set(contrast.HEADLINE_SEEDS)
    assert len(contrast.REFERENCE_HEADLINE_SEEDS) == 10
    assert not set(contrast.SELECTION_SEEDS) & set(contrast.REFERENCE_HEADLINE_SEEDS)
    assert {c["seed"] for c in contrast.contrast_lr()} == set(contrast.SELECTION_SEEDS)


def test_the_headline_grid_reaches_8_p_star_for_self_supervision_at_depth() -> None:
    assert contrast.factors("CLAPP", 5)[-1] == 8 and contrast.factors("BP", 5)[-1] == 4
    assert contrast.factors("CLAPP", 2)[-1] == 3  # L = 2 has 1,024 inputs in all
    for name in contrast.RULES:
        for m, L in GRAMMARS:
            full = resolve(contrast.contrast_config(name, m, L, contrast.factors(name, L)[-1],
                                                    10, 0.01))
            n_inputs = full["n_c"] * full["m"] ** (2 ** full["L"] - 1)
            assert full["P"] + full["n_test"] + full["n_val"] <= n_inputs


def test_type1_rules_train_as_in_the_direct_feedback_chapter() -> None:
    config = contrast.contrast_config("DFA", 4, 4, 2, 10, 0.01, width=128)
    assert config["schedule"] == "cosine" and config["width"] == 128
    assert contrast.label(config) == "DFA"


def test_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="name must be one of"):
        contrast.contrast_config("CLAPP+++", 4, 3, 2, 0, 0.02)


def test_the_twin_recorder_only_observes_and_the_top_layer_is_its_twin() -> None:
    from rhmlib.probes import TwinRecorder

    config = {"v": 8, "n_c": 8, "m": 3, "s": 2, "L": 3, "P": 300, "rule": "clapp",
              "steps": 40, "n_test": 100, "seed": 3, "progress": False,
              "rule_options": {"readout_steps": 20, "context": "top"}}
    recorder = TwinRecorder()
    with_probe = run_experiment(**config, callback=recorder)
    assert with_probe.test_accuracy == run_experiment(**config).test_accuracy
    record = recorder.to_dict()
    assert record["steps"] and len(record["cosines"]) == len(record["steps"])
    for row in record["cosines"]:
        assert len(row) == 2  # the self-supervised layers: L - 1
        assert row[-1] == pytest.approx(1.0, abs=1e-5)  # the top layer's loss is the global one
        assert row[0] is None or -1 <= row[0] < 0.999
    bp = TwinRecorder()
    run_experiment(**{**config, "rule": "bp", "rule_options": {}}, callback=bp)
    assert bp.to_dict() == {"steps": [], "cosines": []}


def test_rank_correlation() -> None:
    assert rank_correlation([1, 2, 3, 4], [10, 20, 25, 90]) == pytest.approx(1)
    assert rank_correlation([1, 2, 3], [3, 2, 1]) == pytest.approx(-1)
    assert rank_correlation([1, 1, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9487, 1e-3)
    with pytest.raises(ValueError, match="same length"):
        rank_correlation([1, 2, 3], [1, 2])


ROWS = [{"name": "BP", "m": 4, "L": 3, "p90": 1.6, "low": 1.5, "high": 1.7, "largest": 4,
         "smallest": 1, "bound": False, "test": 0.95, "test_sem": 0.01, "train": 1.0, "n": 3},
        {"name": "BP", "m": 4, "L": 4, "p90": math.inf, "low": 3.0, "high": math.inf,
         "largest": 4, "smallest": 1, "bound": False, "test": 0.6, "test_sem": 0.02,
         "train": 1.0, "n": 3},
        {"name": "BP", "m": 8, "L": 3, "p90": 1.0, "low": 1.0, "high": 1.0, "largest": 4,
         "smallest": 1, "bound": False, "test": 0.8, "test_sem": 0.02, "train": 1.0, "n": 3}]


def test_scaling_groups_and_table_place_each_grammar() -> None:
    groups = contrast.scaling_groups(ROWS)
    assert [r["x"] for r in groups[contrast.DEPTH]["BP"]] == [3, 4]
    assert [r["x"] for r in groups[contrast.SYNONYMS]["BP"]] == [4, 8]
    accuracy = contrast.scaling_groups(ROWS, value="test")
    assert accuracy[contrast.SYNONYMS]["BP"][1]["mean"] == 0.8
    table = ch06.scaling_table(ROWS).rows[0]
    assert table["m=4 L=4"] == "> 4" and table["m=4 L=3"].startswith("1.60 [1.50")
    assert table["m=8 L=3"] == "≤ 1"
    capped = ch06.scaling_table([{**ROWS[0], "bound": True}]).rows[0]
    assert capped["m=4 L=3"] == "≤ 1.60"  # a run stopped at its cap: an upper bound
    with pytest.raises(ValueError, match="value must be"):
        contrast.scaling_groups(ROWS, value="train")


def test_interval_panels_draw_a_failure_as_a_lower_bound() -> None:
    fig = plots.interval_panels(contrast.scaling_groups(ROWS), ["L", "m"], "P_90 / P*")
    failed = [t for t in fig.data if t.marker.symbol == "triangle-up-open"]
    assert len(failed) == 1 and list(failed[0].y) == [4]
    early = [s for t in fig.data if isinstance(t.marker.symbol, tuple) for s in t.marker.symbol]
    assert early.count("triangle-down-open") == 1
    low, high = fig.layout.yaxis.range  # the axis covers the values, not an open interval's inf
    assert 10 ** low < 1 and 4 < 10 ** high < 10
    with pytest.raises(ValueError, match="rows need x, mean, low"):
        plots.interval_panels({"a": {"BP": [{"x": 1, "mean": 2.0}]}}, "L", "y")
    with pytest.raises(ValueError, match="x_titles must name 2"):
        plots.interval_panels(contrast.scaling_groups(ROWS), ["L"], "y")


def test_scatter_checks_its_points() -> None:
    fig = plots.scatter({"CLAPP": [(0.1, 0.9), (0.2, 0.95)]}, "cosine", "accuracy")
    assert list(fig.data[0].x) == [0.1, 0.2]
    with pytest.raises(ValueError, match="pairs"):
        plots.scatter({"CLAPP": [(0.1,)]}, "x", "y")
    with pytest.raises(TypeError, match="numbers"):
        plots.scatter({"CLAPP": [("a", 1)]}, "x", "y")


def test_the_preferred_width_is_the_narrowest_within_one_standard_error() -> None:
    def record(name: str, width: int, val: float) -> dict:
        return {"config": contrast.contrast_config(name, 4, 4, 2, 0, 0.02, width=width),
                "result": {"val_accuracy": val, "test_accuracy": val}}

    recs = []
    for name in contrast.RULES:
        recs += [record(name, 64, 0.84), record(name, 64, 0.86),
                 record(name, 256, 0.84), record(name, 256, 0.88)]
    recs += [record("CLAPP", 128, 0.95), record("CLAPP", 128, 0.96)]
    chosen = contrast._chosen_widths(recs)
    assert chosen["BP"] == 64  # 256 is better by less than its standard error
    assert chosen["CLAPP"] == 128
