"""Issue 21: each defect a careless user or an attacker found, as a test.

Silent wrong statistics now follow a stated rule (missing values left out, an unknown
P_90 raises), unguarded sizes are refused before they allocate, bad input gets a
ValueError or TypeError naming the parameter, and a killed sweep leaves no process.
"""

from __future__ import annotations

import math

import pytest

from rhmlib.sweeps.stats import best_lr, mean_sem, p90, p90_interval, summarize


def _record(P: int, test: float | None, lr: float = 0.1, val: float | None = 0.5) -> dict:
    return {"config": {"P": P, "lr": lr},
            "result": {"test_accuracy": test, "val_accuracy": val, "train_accuracy": 1.0,
                       "seconds": 1.0}}


# -- silent wrong statistics ------------------------------------------------------------------

def test_mean_sem_leaves_missing_values_out_and_counts_the_rest() -> None:
    assert mean_sem([None]) == (pytest.approx(math.nan, nan_ok=True),
                                pytest.approx(math.nan, nan_ok=True), 0)
    assert mean_sem([1.0, None, 3.0, math.nan]) == (2.0, 1.0, 2)


@pytest.mark.parametrize("rows", [
    [],
    [{"P": 10, "mean": math.nan}, {"P": 100, "mean": 0.95}],
    [{"P": 10, "mean": 0.5}, {"P": 100, "mean": math.nan}, {"P": 1000, "mean": 0.95}],
    [{"P": 10, "mean": math.nan}],
])
def test_p90_of_a_curve_with_an_unknown_point_before_the_crossing_raises(rows: list) -> None:
    with pytest.raises(ValueError, match="rows"):
        p90(rows)


def test_p90_ignores_an_unknown_point_after_the_crossing() -> None:
    rows = [{"P": 10, "mean": 0.5}, {"P": 100, "mean": 0.95}, {"P": 1000, "mean": math.nan}]
    assert 10 < p90(rows) < 100


def test_p90_interval_with_a_missing_seed_holds_its_estimate() -> None:
    records = ([_record(50, 0.5) for _ in range(3)]
               + [_record(100, a) for a in (0.95, 0.93, None)])
    point, low, high = p90_interval(records, n_boot=200)
    assert 50 < low <= point <= high <= 100
    assert point == p90(summarize(records, by=("P",)))


def test_best_lr_never_picks_a_rate_without_a_validation_mean() -> None:
    records = [_record(100, 0.5, lr=0.1, val=None), _record(100, 0.5, lr=0.2, val=0.6)]
    assert best_lr(records) == 0.2


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"metric": "typo"}, ValueError, "metric must be one of"),
    ({"by": ("Q",)}, ValueError, "by must name config fields"),
    ({"by": "P"}, TypeError, "by must be a list"),
])
def test_summarize_names_a_bad_metric_or_field(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        summarize([_record(10, 0.5)], **{"by": ("P",), **kwargs})
