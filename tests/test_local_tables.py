"""The chapters' tables: text of cells, P_90 with intervals, settings, and the analyses of
the backprop and self-supervised chapters on small synthetic records (no cached results)."""

import math

import pytest

import rhmlib.sweeps.backprop as bp
import rhmlib.sweeps.local as local
from rhmlib.pages import ch02, ch05, ch07
from rhmlib.rhm import n_inputs
from rhmlib.stats import p90, p90_summary, summarize
from rhmlib.sweeps import REFERENCE, SWEEPS, feedback
from rhmlib.sweeps.cache import resolve
from rhmlib.tables import (
    Table,
    p90_summary_text,
    p90_text,
    range_text,
    ratio_text,
    settings,
)


def _record(config: dict, acc: float | None) -> dict:
    """A record of ``config`` with test accuracy ``acc``; None: a diverged run."""
    full = resolve(config)
    if acc is None:
        return {"config": full, "diverged": "loss inf"}
    return {"config": full, "result": {"test_accuracy": acc, "val_accuracy": acc,
                                       "train_accuracy": 1.0}}


def _curve(P: float, half: float, seed: int) -> float:
    """A synthetic accuracy, rising with log P past ``half``, a little noise per seed."""
    return 1 / (1 + (half / P) ** 2) + 0.01 * ((seed * 7) % 3 - 1)


# -- cell text ------------------------------------------------------------------------------

def test_range_and_ratio_text() -> None:
    assert range_text([3, 10, 3]) == "3–10" and range_text([4, 4]) == "4"
    assert range_text([]) == "–"
    assert ratio_text(3000, 1500, [1000, 4000]) == "2.00"
    assert ratio_text(math.inf, 2000, [1000, 4000]) == "> 2.00"
    assert ratio_text(1000, math.inf, [1000]) == "–"


def test_p90_text_says_when_never_or_at_once() -> None:
    grid = [500, 1000, 4000]
    assert p90_text(1234.4, 1100, 1400, grid) == "1,234 [1,100, 1,400]"
    assert p90_text(math.inf, math.inf, math.inf, grid) == "> 4,000"
    assert p90_text(2000, 1500, math.inf, grid) == "2,000 [1,500, > 4,000]"
    assert p90_text(500, 500, 500, grid) == "≤ 500"


def test_p90_summary_matches_p90_and_brackets_it() -> None:
    records = [_record({"v": 8, "n_c": 8, "m": 2, "s": 2, "L": 3, "P": P, "seed": seed},
                       _curve(P, 1000, seed)) for P in (250, 500, 1000, 2000, 4000)
               for seed in range(4)]
    records.append(_record({"v": 8, "n_c": 8, "m": 2, "s": 2, "L": 3, "P": 500, "seed": 9},
                           None))
    summary = p90_summary(records)
    assert summary["p90"] == pytest.approx(p90(summarize(records, by=("P",))))
    assert summary["low"] <= summary["p90"] <= summary["high"]
    assert summary["grid"] == [250, 500, 1000, 2000, 4000]
    assert summary["seeds"] == [4] * 5 and summary["diverged"] == 1
    assert p90_summary_text(summary).startswith(f"{summary['p90']:,.0f} [")
    never = p90_summary([r for r in records if "result" not in r or r["config"]["P"] < 1000])
    assert never["p90"] == math.inf and p90_summary_text(never) == "> 500"
    gone = p90_summary([r for r in records if "diverged" in r])
    assert gone["p90"] == math.inf and p90_summary_text(gone) == "all runs diverged"


def test_a_p90_resting_on_runs_stopped_at_their_cap_is_an_upper_bound() -> None:
    records = [_record({"v": 8, "n_c": 8, "m": 2, "s": 2, "L": 3, "P": P, "seed": seed},
                       _curve(P, 1000, seed)) for P in (250, 500, 1000, 2000, 4000)
               for seed in range(4)]
    for record in records:
        stopped = "cap" if record["config"]["P"] == 500 and record["config"]["seed"] == 0 \
            else "converged"
        record["result"]["stages"] = [{"steps": 100, "stopped": stopped, "best_step": 90,
                                       "lr": 0.1, "restarts": 0}]
    summary = p90_summary(records)
    assert summary["capped"] == [500] and summary["bound"]
    assert p90_summary_text(summary) == f"≤ {summary['p90']:,.0f}"
    late = [r for r in records if r["config"]["P"] != 500]
    for record in late:
        if record["config"]["P"] == 4000:
            record["result"]["stages"][0]["stopped"] = "cap"
    assert not p90_summary(late)["bound"]  # capped only after the crossing: a value


# -- settings and curves ---------------------------------------------------------------------

def test_settings_lists_what_the_runs_used() -> None:
    grammar = {"v": 8, "n_c": 8, "m": 2, "s": 2, "L": 3, "P": 100}
    runs = [{**grammar, "rule": "bp", "lr": lr, "steps": 2000} for lr in (0.1, 0.2)]
    runs.append({**grammar, "rule": "clapp"})
    table = settings(runs)
    assert isinstance(table, Table) and [r["rule"] for r in table.rows] == ["bp", "clapp"]
    bp_row, clapp_row = table.rows
    assert bp_row["learning rate"] == "0.1, 0.2" and bp_row["steps"] == 2000
    assert bp_row["momentum"] == 0.9 and clapp_row["momentum"] is None
    assert bp_row["readout stage (labels)"] is None
    assert clapp_row["readout stage (labels)"] == "adam, lr 0.003, to convergence"
    assert clapp_row["optimizer"] == "adam"
    assert clapp_row["learning rate"] == resolve(runs[-1])["lr"]  # the recipe's rate
    # Records work as configs do, and the HTML names the columns readably.
    html = settings([{"config": resolve(runs[0])}])._repr_html_()
    assert ">learning rate</th>" in html and ">readout stage (labels)</th>" not in html
    with pytest.raises(ValueError):
        settings([])


# -- the chapters' analyses on synthetic sweeps ----------------------------------------------

# Where each synthetic curve reaches half its rise: backprop first, the rest later.
HALF = {"bp": 600, "clapp": 900, "clapp_global": 5000, "infonce": 1200, "fa": 2000,
        "dfa": 2000}


def _accuracy(config: dict) -> float:
    half = HALF.get(config["rule"], 10**5) * (2 if config["width"] == 32 else 1)
    if config["rule_options"].get("temperature") == 0.5 and config["rule"] == "clapp":
        half *= 3
    return min(_curve(config["P"], half, config["seed"]), 1.0)


def _fake_sweeps() -> dict[str, list[dict]]:
    sweeps = {name: [_record(c, _accuracy(resolve(c))) for c in SWEEPS[name]()]
              for name in ("bp_reference", "fcn_reference", "ssl_oracle")}
    type1 = [{**REFERENCE, "P": P, "rule": rule, "seed": seed, **feedback.BUDGET, "lr": 0.1}
             for rule in ("bp", "fa", "dfa") for P in (2000, 4000, 8000) for seed in range(3)]
    sweeps["feedback_P"] = [_record(c, _accuracy(resolve(c))) for c in type1]
    sweeps["feedback_P"].append(_record({**type1[9], "seed": 7}, None))  # FA, diverged
    return sweeps


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[dict]]:
    """Synthetic records in place of the cache, for every sweep these tables read."""
    sweeps = _fake_sweeps()
    loader = lambda name, root=None: sweeps[name]
    monkeypatch.setattr(local, "load_sweep", loader)
    monkeypatch.setattr(bp, "load_sweep", loader)
    monkeypatch.setattr(ch02, "load_sweep", loader)
    monkeypatch.setattr(feedback, "load_sweep", loader)
    # The scaling sweeps' configs read the (synthetic) lr scan: the best lr is 0.2.
    sweeps["bp_lr_scan"] = [_record(c, 0.5 - abs(c["lr"] - 0.2)) for c in SWEEPS["bp_lr_scan"]()]
    for name in ("bp_scaling_m", "bp_scaling_L"):
        sweeps[name] = [_record(c, _curve(c["P"], 0.8 * c["n_c"] * c["m"] ** c["L"], c["seed"]))
                        for c in SWEEPS[name]()]
    return sweeps


def test_backprop_tables(fake: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = bp.reference_rows()
    assert [r["network"] for r in rows] == ["hierarchical CNN", "shallow fully connected"]
    assert rows[0]["p_star"] == 1024 and rows[1]["width"] == 256
    table = ch02.reference_table()
    assert table.rows[0]["P_90 / CNN's"] == 1 and "262,144" in table.caption
    assert list(ch02.reference_curves())[0] == "hierarchical CNN (10 seeds)"
    assert n_inputs(16, 4, 2, 3) == 262_144


def test_local_global_cosines_top_layer_coincides() -> None:
    rows = local.local_global_cosines(rules=("clapp",), steps=2, P=64, n_probe=32, width=8)
    assert [(r["twin"], r["steps"]) for r in rows] == [("top", 0), ("sum", 0), ("top", 2),
                                                       ("sum", 2)]
    assert all(len(r["cosines"]) == 2 and r["cosines"][1] == pytest.approx(1, abs=1e-5)
               for r in rows)
    table = ch07.twin_cosine_table(rows)
    assert table.columns == ["rule", "global twin", "local steps", "layer 1", "layer 2"]
    assert table.rows[0]["layer 2"] == "+1.00"


def test_hebbian_check_agrees_with_autograd() -> None:
    table = ch07.hebbian_check(n_probe=64)
    assert len(table.rows) == 4
    assert all(r["largest difference / largest entry"] < 1e-4 for r in table.rows)


def test_decodability_table_columns() -> None:
    from rhmlib import RHM, build_model

    rhm = RHM(8, 8, 2, 2, 3, seed=0)
    net = build_model("cnn", 8, 2, 3, 8, 8, seed=0)
    table = ch05.decodability_table({"untrained": net}, rhm, rhm.sample(64, seed=1))
    assert table.columns == ["network", "layer 1 → own node (level 2)", "layer 1 → level 1",
                             "layer 1 → class (level 0)", "layer 2 → own node (level 1)",
                             "layer 2 → class (level 0)", "layer 3 → class (level 0)"]
    assert all(0 <= float(v) <= 1 for k, v in table.rows[0].items() if k != "network")
    two = ch05.decodability_table({"untrained": net}, rhm, rhm.sample(64, seed=1), depth=2)
    assert two.columns == table.columns[:-1]


def test_backprop_scaling_tables(fake: dict) -> None:
    assert bp.scaling_lr(4, 3) == 0.2
    scan = ch02.lr_scan_table()
    assert [r["grammar"] for r in scan.rows][:2] == ["m=3, L=3", "m=4, L=3"]
    assert scan.rows[1]["P = P*"] == "1,024" and all(r["chosen lr"] == 0.2 for r in scan.rows)
    curves, p_stars = ch02.scaling_curves()
    assert list(curves) == ["m=3", "m=4", "m=6", "m=8", "L=3, m=4", "L=4, m=4"]
    assert p_stars["m=8"] == 16 * 8**3 and p_stars["L=4, m=4"] == 16 * 4**4
    rows = bp.scaling_rows()
    assert [(r["family"], r["m"], r["L"]) for r in rows][-2:] == [("L", 4, 3), ("L", 4, 4)]
    # The synthetic curves reach 90% at the same multiple of P* on every grammar.
    assert max(r["ratio"] for r in rows) / min(r["ratio"] for r in rows) < 1.2
    table = ch02.scaling_table()
    assert table.columns[0] == "varied" and "P* varies 19-fold" in table.caption
