"""The helpers of the chapters on local rules, data efficiency and local versus global."""

import pytest

from rhmlib import RHM, build_model
from rhmlib.pages import mean_at, sem_at, sensitivity_table

ROWS = [{"P": 250, "mean": 0.5, "sem": 0.1}, {"P": 500, "mean": 0.8, "sem": 0.05}]


def test_mean_and_sem_at_a_point() -> None:
    assert mean_at(ROWS, 500) == 0.8 and sem_at(ROWS, 250) == 0.1


def test_missing_point_names_the_grid() -> None:
    with pytest.raises(KeyError, match="250, 500"):
        mean_at(ROWS, 1000)


def test_sensitivity_table_one_row_per_network_one_column_per_layer() -> None:
    rhm = RHM(4, 4, 2, 2, 2, seed=0)
    net = build_model("cnn", 4, 2, 2, 8, 4, seed=0)
    table = sensitivity_table({"a": net, "b": net}, rhm, rhm.sample(64, seed=1))
    assert table.columns == ["network", "layer 1", "layer 2"]
    assert table.rows[0] == table.rows[1] | {"network": "a"}
    assert all(0 <= table.rows[0][f"layer {k}"] <= 2 for k in (1, 2))
