"""The sweep cache: keys, resumption, corrupt and stale files, and the committed results."""

import json
import random

import pytest

import rhmlib.sweeps as sweeps
from rhmlib.sweeps import config_key, crossing, load_run, missing, run_sweep, summarize

TINY = {"v": 8, "n_c": 4, "m": 2, "s": 2, "L": 2, "P": 20, "n_test": 10, "steps": 5,
        "width": 8}


def test_cache_roundtrip_corrupt_and_stale(tmp_path, monkeypatch) -> None:
    configs = [{**TINY, "seed": s} for s in range(2)]
    first = run_sweep(configs, root=tmp_path)
    assert missing(configs, root=tmp_path) == []
    again = run_sweep(configs, root=tmp_path)
    assert [r["result"] for r in again] == [r["result"] for r in first]
    path = tmp_path / "runs" / f"{config_key(configs[0])}.json"
    path.write_text("{not json")
    with pytest.warns(UserWarning, match="corrupt cache"):
        assert load_run(configs[0], root=tmp_path) is None
    record = first[1]
    record["version"] = "0.0.0"
    (tmp_path / "runs" / f"{config_key(configs[1])}.json").write_text(json.dumps(record))
    with pytest.warns(UserWarning) as caught:
        redone = run_sweep(configs, root=tmp_path)
    assert sorted(str(w.message).split()[0] for w in caught) == ["corrupt", "stale"]
    assert [r["result"]["test_accuracy"] for r in redone] == [
        r["result"]["test_accuracy"] for r in first]
    assert config_key({**TINY, "seed": 0}) != config_key({**TINY, "seed": 1})
    monkeypatch.setattr(sweeps, "__version__", "9.9.9")
    assert config_key(configs[0]) != first[0]["key"]


def test_summarize_and_crossing() -> None:
    records = [{"config": {"P": P}, "result": {"test_accuracy": acc}}
               for P, acc in [(100, 0.5), (100, 0.7), (1000, 0.95), (1000, 0.97)]]
    rows = summarize(records, by=("P",))
    assert [r["n"] for r in rows] == [2, 2]
    assert rows[0]["mean"] == pytest.approx(0.6) and rows[0]["sem"] == pytest.approx(0.1)
    p90 = crossing(rows, 0.9)
    assert 100 < p90 < 1000
    assert crossing(rows, 0.99) == float("inf")
    assert crossing(rows, 0.1) == 100


def test_unknown_sweep() -> None:
    with pytest.raises(ValueError, match="sweep must be one of"):
        missing("no_such_sweep")


@pytest.mark.parametrize("name", sorted(sweeps.SWEEPS))
def test_committed_sweeps_are_complete(name: str) -> None:
    """CI never recomputes a sweep: every result the book loads is cached and valid."""
    assert missing(name) == []


def test_a_cached_point_recomputes_to_the_same_result(tmp_path) -> None:
    """Recompute one randomly chosen cached run of every sweep (two at a time) and compare."""
    rng = random.Random(2026)
    chosen = {}
    for name in sorted(sweeps.SWEEPS):
        configs = sweeps.configs_of(name)
        # The cheapest runs of the sweep, so the test stays fast.
        cheap = sorted(configs, key=lambda c: (c.get("steps", 5000), c["P"]))[:5]
        chosen[name] = rng.choice(cheap)
    fresh = run_sweep(list(chosen.values()), root=tmp_path, jobs=2)
    for (name, config), new in zip(chosen.items(), fresh):
        cached = load_run(config)
        assert ("diverged" in new) == ("diverged" in cached), name
        if "result" in cached:
            assert new["result"]["test_accuracy"] == pytest.approx(
                cached["result"]["test_accuracy"], abs=0.01), name


def test_a_sweep_chosen_from_an_incomplete_one_waits(tmp_path, monkeypatch) -> None:
    """Listing never computes: configs that need another sweep's results raise instead."""
    monkeypatch.setitem(sweeps.SWEEPS, "tiny_scan", lambda: [{**TINY, "seed": 0}])
    with pytest.raises(sweeps.PendingSweep, match="tiny_scan"):
        sweeps.cached("tiny_scan", root=tmp_path)
    assert not (tmp_path / "runs").exists()
    run_sweep("tiny_scan", root=tmp_path)
    assert len(sweeps.cached("tiny_scan", root=tmp_path)) == 1


def test_prune_deletes_only_runs_no_sweep_uses(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sweeps, "SWEEPS", {"tiny": lambda: [{**TINY, "seed": 0}]})
    run_sweep([{**TINY, "seed": s} for s in range(2)], root=tmp_path)
    removed = sweeps.prune(root=tmp_path)
    assert [p.stem for p in removed] == [config_key({**TINY, "seed": 1})]
    assert load_run({**TINY, "seed": 0}, root=tmp_path) is not None


def test_a_diverged_run_is_recorded_not_raised(tmp_path) -> None:
    configs = [{**TINY, "L": 3, "P": 40, "width": 16, "steps": 200, "seed": 0, "lr": lr}
               for lr in (1e6, 0.1)]
    records = run_sweep(configs, root=tmp_path)
    assert sweeps.diverged(records) == records[:1]
    assert "diverged at step" in records[0]["diverged"]
    assert sweeps.finished(records) == records[1:]
    assert missing(configs, root=tmp_path) == []  # a diverged run is not retried
    rows = summarize(records, by=("lr",))
    assert [r["lr"] for r in rows] == [0.1]


def test_a_sweep_records_its_probes(tmp_path, monkeypatch) -> None:
    configs = [{**TINY, "seed": s} for s in range(2)]
    before = run_sweep(configs, root=tmp_path)  # no probes yet
    monkeypatch.setitem(sweeps.SWEEPS, "tiny_probed", lambda: configs)
    monkeypatch.setitem(sweeps._PROBED, "tiny_probed",
                        lambda c: ("angles",) if c["seed"] == 1 else ())
    assert missing("tiny_probed", root=tmp_path) == configs[1:]
    records = run_sweep("tiny_probed", root=tmp_path)
    assert "probes" not in records[0]
    angles = records[1]["probes"]["angles"]
    assert len(angles["steps"]) == len(angles["cosines"]) >= 1
    # BP's update against BP's own: cosine 1 at every layer and step.
    assert all(c == pytest.approx(1, abs=1e-5) for step in angles["cosines"] for c in step)
    # The probe only observes: the run is the same as without it.
    assert records[1]["result"]["history"] == before[1]["result"]["history"]
    with pytest.raises(ValueError, match="probes must be among"):
        sweeps._compute(configs[0], ("nope",))


def test_grammar_sweeps_fit_their_grammars() -> None:
    """Every depth/m config draws P + n_test distinct inputs its grammar actually has."""
    from rhmlib.rhm import RHM
    from rhmlib.sweeps import feedback as fb

    assert fb.p_star(4, 3) == 1024 and fb.grammar_factors("FA", 2) == (1, 2, 3)
    for config in fb.grammar_lr():
        for name in fb.GRAMMAR_LRS:
            for factor in fb.grammar_factors(name, config["L"]):
                rhm = RHM(**{k: config[k] for k in ("v", "n_c", "m", "s", "L")})
                P = round(factor * fb.p_star(config["m"], config["L"]))
                assert P + config["n_test"] <= rhm.n_inputs, (config, factor)


def test_grammar_gaps_reads_each_rule_at_2_p_star() -> None:
    from rhmlib.sweeps import feedback as fb

    rows = [{"P": 1024, "ratio": 1, "mean": 0.5, "sem": 0.1, "n": 3},
            {"P": 2048, "ratio": 2, "mean": 0.8, "sem": 0.05, "n": 3},
            {"P": 4096, "ratio": 4, "mean": 0.95, "sem": 0.01, "n": 3}]
    gaps = fb.grammar_gaps({(4, 3): {"DFA": rows}, (4, 4): {"DFA": rows[:2]}})
    depth = gaps["depth L (m = 4)"]["DFA"]
    assert [r["x"] for r in depth] == [3, 4] and depth[0]["mean"] == 0.8
    assert 2 < depth[0]["p90"] < 4 and depth[1]["p90"] == float("inf")
    assert gaps["m (L = 3)"]["DFA"][0]["x"] == 4


def test_panels_keeps_one_colour_and_legend_entry_per_curve() -> None:
    from rhmlib import plots

    rows = [{"P": 10, "mean": 0.5, "sem": 0.1, "n": 2}, {"P": 20, "mean": 0.7, "sem": 0.0, "n": 2}]
    fig = plots.panels({"a": {"BP": rows, "DFA": rows}, "b": {"DFA": rows}})
    assert len(fig.data) == 3 and [t.showlegend for t in fig.data] == [True, True, False]
    assert fig.data[1].line.color == fig.data[2].line.color
    with pytest.raises(ValueError, match="x_titles must name 2 axes"):
        plots.panels({"a": {}, "b": {}}, x_titles=("only one",))


def test_per_layer_bars_take_group_labels() -> None:
    from rhmlib import plots

    fig = plots.per_layer({"BP": [0.9, 0.8]}, "accuracy", x_labels=["L = 4", "L = 5"])
    assert list(fig.data[0].x) == ["L = 4", "L = 5"]
    with pytest.raises(ValueError, match="x_labels must name 2 groups"):
        plots.per_layer({"BP": [0.9, 0.8]}, "accuracy", x_labels=["L = 4"])


def test_final_cosines_average_the_last_point_of_each_run() -> None:
    from rhmlib.sweeps import feedback as fb

    runs = [{"cosines": [[0.0, 0.0], [0.2, 1.0]]}, {"cosines": [[0.5, 0.5], [0.4, 0.0]]}]
    assert fb.final_cosines({"DFA": runs}) == {"DFA": [pytest.approx(0.3), 0.5]}
