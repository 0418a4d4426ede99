"""The book's reference quantities: one value each, with its protocol, from the cache."""

from __future__ import annotations

import math

import pytest

from rhmlib import quantities
from rhmlib.tables import Table


def test_every_quantity_has_a_value_and_a_protocol() -> None:
    for name, q in quantities.QUANTITIES.items():
        value = quantities.get(name)
        assert math.isfinite(value) and value > 0, name
        assert q.protocol and q.what, name
        assert quantities.text(name) == q.fmt.format(value)


def test_ratios_name_their_baseline_and_match_it() -> None:
    for name in ("fa-ratio", "dfa-ratio"):
        assert "baseline" in quantities.QUANTITIES[name].protocol
    rule = {"fa-ratio": "FA", "dfa-ratio": "DFA"}
    for name, label in rule.items():
        expected = quantities._long(label)["p90"] / quantities.get("bp-p90-long")
        assert quantities.get(name) == pytest.approx(expected)


def test_unknown_quantity_is_refused_with_the_known_ones() -> None:
    for reader in (quantities.get, quantities.text):
        with pytest.raises(KeyError, match="bp-p90-short"):
            reader("bp-p90")


def test_table_and_readable() -> None:
    table = quantities.table(["bp-p90-short"])
    assert table.rows[0]["value"] == quantities.text("bp-p90-short")
    raw = Table([{"P_90 / P*": 1.0, "x": 2}], caption="P_90: mean >= 90%")
    nice = quantities.readable(raw)
    assert nice.columns == ["P₉₀ / P*", "x"] and nice.rows[0]["P₉₀ / P*"] == 1.0
    assert nice.caption == "P₉₀: mean ≥ 90%"
    assert quantities.readable(raw, caption="other").caption == "other"
