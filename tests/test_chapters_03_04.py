"""Helpers of the chapters "Direct feedback fails?" and "Masking" (rhmlib.pages)."""

from types import SimpleNamespace

from rhmlib import pages
from rhmlib.sweeps import feedback as fb


def test_cosine_range_covers_every_mean_and_sem() -> None:
    runs = [{"steps": [0, 1], "cosines": [[0.5, 1.0], [-0.9, None]]},
            {"steps": [0, 1], "cosines": [[0.7, 1.0], [-0.7, None]]}]
    low, high = pages.cosine_range({"rule": runs})
    assert low < -0.8 - 0.1 and high > 1.0  # mean -0.8, sem 0.1: all of it shown
    assert pages.cosine_range({"rule": runs[:1]}, low=-2.0)[0] <= -2.0 + 1e-9


def test_join_reads_as_prose() -> None:
    assert pages.join(["a"]) == "a"
    assert pages.join(["a", "b"]) == "a and b"
    assert pages.join(iter(["a", "b", "c"])) == "a, b and c"


def test_results_table_has_one_row_per_run() -> None:
    runs = {"bp": SimpleNamespace(test_accuracy=0.91234, train_accuracy=1.0)}
    table = pages.results_table(runs, caption="c")
    assert table.rows == [{"rule": "bp", "test accuracy": "0.912", "train accuracy": "1.000"}]
    assert "c" in table._repr_html_()


def test_lost_at_counts_diverged_runs_at_one_rate() -> None:
    def record(name: str, lr: float, lost: bool) -> dict:
        rec = {"config": fb._config(name, fb.P_SCAN, 0, lr)}
        rec["diverged" if lost else "result"] = {}
        return rec

    records = [record("BP", 0.2, True), record("BP", 0.2, False), record("BP", 0.05, True),
               record("FA", 0.2, True)]
    assert pages.lost_at(records, 0.2, ["BP"]) == {"BP": (1, 2)}


def test_final_losses_takes_the_median_of_finished_runs() -> None:
    def record(lr: float, loss: float | None) -> dict:
        rec: dict = {"config": {"lr": lr, "weight_decay": 0.0}}
        if loss is None:
            rec["diverged"] = "runaway weights"
        else:
            rec["result"] = {"history": {"loss": [2.77, loss]}}
        return rec

    records = [record(0.1, 1.0), record(0.1, 3.0), record(0.1, 1e6), record(0.1, None),
               record(0.01, 2.0)]
    assert pages.final_losses(records, ("lr",)) == {(0.1,): 3.0, (0.01,): 2.0}
    assert pages.final_losses(records, ("lr", "weight_decay"))[(0.01, 0.0)] == 2.0
