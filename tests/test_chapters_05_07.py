"""The helpers of the chapters on local rules, data efficiency and local versus global."""

from rhmlib import RHM, build_model
from rhmlib.pages import sensitivity_table


def test_sensitivity_table_one_row_per_network_one_column_per_layer() -> None:
    rhm = RHM(4, 4, 2, 2, 2, seed=0)
    net = build_model("cnn", 4, 2, 2, 8, 4, seed=0)
    table = sensitivity_table({"a": net, "b": net}, rhm, rhm.sample(64, seed=1))
    assert table.columns == ["network", "layer 1", "layer 2"]
    assert table.rows[0] == table.rows[1] | {"network": "a"}
    assert all(0 <= table.rows[0][f"layer {k}"] <= 2 for k in (1, 2))
