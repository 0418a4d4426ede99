"""Sweeps: statistics, definitions, diverged runs and probes, and the committed results."""

import json
import math
import os
import random
import subprocess
from pathlib import Path

import pytest

import rhmlib.sweeps as sweeps
from rhmlib.machine import machine
from rhmlib.rhm import p_star
from rhmlib.stats import best_lr, best_row, diverged, finished, p90, p90_interval, summarize
from rhmlib.sweeps import load_run, missing, run_sweep
from rhmlib.sweeps.execute import ProcessExecutor, Run, compute, execute
from rhmlib.sweeps.replicate import disagreements, point_of, points, same_machine, seed_spread

ROOT = Path(__file__).resolve().parents[1]
TINY = {"v": 8, "n_c": 4, "m": 2, "s": 2, "L": 2, "P": 20, "n_test": 10, "steps": 10,
        "eval_every": 5, "width": 8}
# Fields that may differ between two computations of the same run.
UNCOMPARED = {"seconds", "device", "machine"}


def assert_same_record(new: object, old: object, where: str = "record") -> None:
    """Whole records equal: every field but :data:`UNCOMPARED`, numbers to rel 1e-6/abs 1e-9."""
    new, old = json.loads(json.dumps(new)), json.loads(json.dumps(old))  # as stored
    if isinstance(old, dict):
        assert isinstance(new, dict), where
        assert new.keys() - UNCOMPARED == old.keys() - UNCOMPARED, where
        for key in old.keys() - UNCOMPARED:
            assert_same_record(new[key], old[key], f"{where}[{key!r}]")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), where
        for i, (a, b) in enumerate(zip(new, old)):
            assert_same_record(a, b, f"{where}[{i}]")
    elif isinstance(old, float) or isinstance(new, float):
        assert (math.isnan(new) and math.isnan(old)) or math.isclose(
            new, old, rel_tol=1e-6, abs_tol=1e-9), f"{where}: {new} != {old}"
    else:
        assert new == old, f"{where}: {new!r} != {old!r}"


def _rows(points: list[tuple[float, float]]) -> list[dict]:
    return [{"config": {"P": P, "lr": 0.1}, "result": {"test_accuracy": acc}}
            for P, acc in points]


def test_summarize_and_p90() -> None:
    records = _rows([(100, 0.5), (100, 0.7), (1000, 0.95), (1000, 0.97)])
    rows = summarize(records, by=("P",))
    assert [r["n"] for r in rows] == [2, 2]
    assert rows[0]["mean"] == pytest.approx(0.6) and rows[0]["sem"] == pytest.approx(0.1)
    assert 100 < p90(rows) < 1000
    # Log-linear interpolation: 0.9 is 5/6 of the way from 0.6 to 0.96 in log P.
    assert p90(rows) == pytest.approx(10 ** (2 + 5 / 6))
    assert p90(rows, 0.99) == math.inf
    assert p90(rows, 0.1) == 100
    assert p90(list(reversed(rows))) == p90(rows)


def test_p90_interval_brackets_the_estimate() -> None:
    records = _rows([(100, a) for a in (0.5, 0.6, 0.7)] + [(1000, a) for a in (0.9, 0.95, 1.0)]
                    + [(10000, 1.0)] * 3)
    point, low, high = p90_interval(records, n_boot=200)
    assert point == p90(summarize(records, by=("P",)))
    assert 100 < low <= point <= high <= 1000
    assert p90_interval(records, n_boot=200) == (point, low, high)  # seeded
    never = _rows([(100, 0.5), (1000, 0.6)])
    assert p90_interval(never, n_boot=20) == (math.inf, math.inf, math.inf)
    with pytest.raises(ValueError, match="finished records"):
        p90_interval([{"config": {"P": 1}, "diverged": "boom"}])


def test_best_lr_is_the_best_mean_over_seeds_and_skips_diverged_runs() -> None:
    records = [{"config": {"lr": lr}, "result": {"val_accuracy": acc, "test_accuracy": acc}}
               for lr, acc in [(0.1, 0.8), (0.1, 0.6), (0.3, 0.75), (0.3, 0.75)]]
    records.append({"config": {"lr": 1.0}, "diverged": "boom"})
    assert best_lr(records) == 0.3
    assert best_row(records)["n"] == 2
    with pytest.raises(ValueError, match="no finished runs"):
        best_lr(records[-1:])


def test_p_star_matches_the_grammar() -> None:
    from rhmlib.rhm import RHM

    rhm = RHM(v=16, n_c=16, m=4, s=2, L=3)
    assert p_star(16, 4, 3) == rhm.p_star == 1024


def test_unknown_sweep() -> None:
    with pytest.raises(ValueError, match="sweep must be one of"):
        missing("no_such_sweep")


@pytest.mark.parametrize("name", sorted(sweeps.SWEEPS))
def test_committed_sweeps_are_complete(name: str) -> None:
    """CI never recomputes a sweep: every result the book loads is cached and valid."""
    assert missing(name) == []


# The recompute test's budget: a sweep whose quickest runs take longer waits for its turn.
QUICK_SECONDS = 30.0


def _commit_seed() -> int:
    """A seed that changes with every commit (the runs recomputed differ from commit to
    commit), or ``RHMLIB_RECOMPUTE_SEED``."""
    if "RHMLIB_RECOMPUTE_SEED" in os.environ:
        return int(os.environ["RHMLIB_RECOMPUTE_SEED"])
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True, timeout=30).stdout.strip()
        return int(head[:16], 16)
    except (OSError, ValueError, subprocess.SubprocessError):
        return 2026


def test_a_cached_run_of_every_sweep_recomputes_to_the_same_record(tmp_path) -> None:
    """Recompute one cached run of every sweep, two at a time, and compare it with the cache.

    Each sweep's run is drawn among its quickest tenth (by the seconds its record
    took; among runs whose point has two seeds or more, for a seed spread), by a generator
    seeded from the current commit, so that over commits every quick run gets checked.
    Sweeps whose drawn run took over ``QUICK_SECONDS`` take turns: one of them a commit. A
    record computed on this machine (same CPU, kernels and torch) must come back bit for
    bit; one computed elsewhere within the seed spread of its point
    (:mod:`rhmlib.sweeps.replicate`).
    """
    seed = _commit_seed()
    rng = random.Random(seed)
    chosen, spreads, by_seconds = {}, {}, {}
    for name in sorted(sweeps.SWEEPS):
        records = sweeps.load_sweep(name)
        if not records:  # an edge scan that no chosen end asked for
            continue
        groups = points(records)
        by_key = {r["key"]: r for r in records}
        by_seconds.update((k, r.get("result", {}).get("seconds", math.inf))
                          for k, r in by_key.items())
        timed = [run for _, _, run in sorted(
            (by_seconds[run.key], i, run)
            for i, run in enumerate(sweeps.runs_of(name)))]
        seeds = [len(finished(groups[point_of(by_key[run.key]["config"])])) for run in timed]
        runs = [run for run, n in zip(timed, seeds) if n >= 2]
        if not runs:  # one seed a point (recipes_carry): no spread, so this machine's only
            runs = [run for run, n in zip(timed, seeds) if n and same_machine(by_key[run.key])]
        if not runs:
            print(f"  {name}: one seed a point, computed elsewhere: nothing to compare within")
            continue
        chosen[name] = rng.choice(runs[:max(1, len(runs) // 10)])
        group = groups[point_of(by_key[chosen[name].key]["config"])]
        spreads[name] = seed_spread(group) if len(finished(group)) >= 2 else None
    slow = sorted(name for name, run in chosen.items()
                  if by_seconds[run.key] > QUICK_SECONDS)
    turn = rng.choice(slow) if slow else None
    for name in slow:
        if name != turn:
            print(f"  {name}: its quickest runs take over {QUICK_SECONDS:.0f} s: another "
                  f"commit's turn")
            del chosen[name]
    print(f"recomputing with seed {seed} on {machine()}:")
    for name, run in chosen.items():
        print(f"  {name}: {run.config}, probes {run.probes}")
    cached = {name: load_run(run.config, probes=run.probes) for name, run in chosen.items()}
    # A rule whose code changed has no valid record: the fingerprint catches it first.
    absent = sorted(name for name, record in cached.items() if record is None)
    assert not absent, f"no valid cached record to compare with for {absent}"
    fresh = {record["key"]: record for record in execute(
        chosen.values(), root=tmp_path, executor=ProcessExecutor(2))}
    for name, run in chosen.items():
        if same_machine(cached[name]):
            assert_same_record(fresh[run.key], cached[name], name)
        else:  # drawn with a spread: a point of one seed is drawn on this machine only
            assert disagreements(fresh[run.key], cached[name], spreads[name]) == [], name


def _tiny_point(tmp_path: Path) -> list[dict]:
    return [compute(Run({**TINY, "m": 4, "P": 100, "steps": 60, "eval_every": 20, "seed": seed}))
            for seed in range(3)]


def test_a_recomputed_run_is_bit_identical_on_the_same_machine(tmp_path) -> None:
    records = _tiny_point(tmp_path)
    again = compute(Run({**TINY, "m": 4, "P": 100, "steps": 60, "eval_every": 20, "seed": 0}))
    assert same_machine(records[0])
    assert_same_record(again, records[0])


def test_a_one_line_change_to_a_rule_is_caught_within_seed_spread(tmp_path, monkeypatch) -> None:
    """The tolerance that lets another CPU pass still fails a real change of the code."""
    from torch.nn import functional as F

    from rhmlib.rules.bp import Backprop

    records = _tiny_point(tmp_path)
    spread = seed_spread(records)
    assert disagreements(records[0], records[0], spread) == []
    monkeypatch.setattr(Backprop, "loss", lambda self, batch: F.cross_entropy(
        self.model(batch.x), batch.y, label_smoothing=0.1))
    changed = compute(Run({**TINY, "m": 4, "P": 100, "steps": 60, "eval_every": 20, "seed": 0}))
    assert disagreements(changed, records[0], spread)


def test_a_record_from_another_machine_is_compared_within_spread() -> None:
    record = {"result": {}, "machine": {"cpu": "another", "capability": "AVX2",
                                        "mkl_cbwr": "AVX2", "torch": "2.13.0", "python": "3.11.7"}}
    assert not same_machine(record) and not same_machine({"result": {}})


def test_a_sweep_chosen_from_an_incomplete_one_waits(tmp_path, monkeypatch) -> None:
    """Listing never computes: configs that need another sweep's results raise instead."""
    monkeypatch.setitem(sweeps.SWEEPS, "tiny_scan", lambda: [{**TINY, "seed": 0}])
    monkeypatch.setitem(sweeps.SWEEPS, "tiny_chosen", lambda: [
        {**TINY, "seed": 1, "lr": best_lr(sweeps.load_sweep("tiny_scan", tmp_path))}])
    with pytest.raises(sweeps.MissingResults, match="tiny_scan") as caught:
        sweeps.runs_of("tiny_chosen")
    assert caught.value.sweep == "tiny_scan"
    with pytest.raises(sweeps.MissingResults) as caught:
        sweeps.load_sweep("tiny_chosen", tmp_path)
    assert "python -m rhmlib.sweeps tiny_scan tiny_chosen --jobs 2" in str(caught.value)
    assert "needed by 'tiny_chosen'" in str(caught.value)
    assert not (tmp_path / "runs").exists()
    run_sweep("tiny_scan", root=tmp_path)
    assert len(run_sweep("tiny_chosen", root=tmp_path)) == 1


def test_a_diverged_run_is_recorded_not_raised(tmp_path) -> None:
    configs = [{**TINY, "L": 3, "P": 40, "width": 16, "steps": 200, "seed": 0, "lr": lr}
               for lr in (1e5, 0.1)]
    records = run_sweep(configs, root=tmp_path)
    assert diverged(records) == records[:1]
    assert "diverged at step" in records[0]["diverged"]
    assert finished(records) == records[1:]
    assert missing(configs, root=tmp_path) == []  # a diverged run is not retried
    assert [r["lr"] for r in summarize(records, by=("lr",))] == [0.1]


def test_a_sweep_records_its_probes(tmp_path, monkeypatch) -> None:
    configs = [{**TINY, "seed": s} for s in range(2)]
    before = run_sweep(configs, root=tmp_path)  # no probes
    monkeypatch.setitem(sweeps.SWEEPS, "tiny_probed", lambda: configs)
    monkeypatch.setitem(sweeps.registry._PROBED, "tiny_probed",
                        lambda c: ("angles",) if c["seed"] == 1 else ())
    # Probes are part of a run's key: the probed run is another run.
    assert missing("tiny_probed", root=tmp_path) == configs[1:]
    records = run_sweep("tiny_probed", root=tmp_path)
    assert "probes" not in records[0] and records[0]["key"] == before[0]["key"]
    angles = records[1]["probes"]["angles"]
    assert len(angles["steps"]) == len(angles["cosines"]) >= 1
    # BP's update against BP's own: cosine 1 at every layer and step.
    assert all(c == pytest.approx(1, abs=1e-5) for step in angles["cosines"] for c in step)
    # The probe only observes: the run is the same as without it.
    assert records[1]["result"]["history"] == before[1]["result"]["history"]
    with pytest.raises(ValueError, match="probes must be among"):
        compute(sweeps.Run(configs[0], ("nope",)))


def test_labels_invert_the_definitions() -> None:
    """Every variant's config, and its resolved config (as records hold), gets its label."""
    from rhmlib.sweeps import cache, local
    from rhmlib.sweeps import feedback as fb

    for name, lrs in fb.LRS.items():
        config = fb._config(name, 2000, 1, lrs[-1])
        assert fb.label(config) == fb.label(cache.resolve(config)) == name
    for name in local.LABELS:
        config = local.ssl_config(name, 1000, 2)
        assert local.label(config) == local.label(cache.resolve(config)) == name


def test_grammar_sweeps_fit_their_grammars() -> None:
    """Every depth/m config draws P + n_test distinct inputs its grammar actually has."""
    from rhmlib.rhm import RHM
    from rhmlib.sweeps import feedback as fb

    assert fb.grammar_factors("FA", 2) == (1, 2, 3)
    for config in fb.grammar_lr():
        for name in fb.GRAMMAR_LRS:
            for factor in fb.grammar_factors(name, config["L"]):
                rhm = RHM(**{k: config[k] for k in ("v", "n_c", "m", "s", "L")})
                P = round(factor * p_star(config["n_c"], config["m"], config["L"]))
                assert P + config["n_test"] <= rhm.n_inputs, (config, factor)


def test_grammar_gaps_reads_each_rule_at_2_p_star() -> None:
    from rhmlib.pages import ch03

    rows = [{"P": 1024, "ratio": 1, "mean": 0.5, "sem": 0.1, "n": 3},
            {"P": 2048, "ratio": 2, "mean": 0.8, "sem": 0.05, "n": 3},
            {"P": 4096, "ratio": 4, "mean": 0.95, "sem": 0.01, "n": 3}]
    gaps = ch03.grammar_gaps({(4, 3): {"DFA": rows}, (4, 4): {"DFA": rows[:2]}})
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


def test_a_learning_rate_that_lost_a_seed_is_not_chosen() -> None:
    from rhmlib.stats import best_lr

    def run(lr: float, acc: float | None) -> dict:
        config = {"lr": lr}
        return {"config": config, "diverged": "boom"} if acc is None else {
            "config": config, "result": {"val_accuracy": acc, "test_accuracy": acc}}

    records = [run(0.1, 0.9), run(0.1, None), run(0.1, None), run(0.03, 0.8), run(0.03, 0.82)]
    assert best_lr(records) == 0.03  # 0.1 has the best finished run but blew up twice
    assert best_lr([run(0.1, 0.9), run(0.1, None), run(0.03, None), run(0.03, 0.5)]) == 0.1


def test_the_learning_rate_is_chosen_on_validation_never_on_test() -> None:
    def run(lr: float, val: float, test: float) -> dict:
        return {"config": {"lr": lr}, "result": {"val_accuracy": val, "test_accuracy": test}}

    # 0.1 looks better on the test set, 0.3 on the validation set: 0.3 is chosen, and the
    # row reports its test accuracy.
    records = [run(0.1, 0.6, 0.9), run(0.1, 0.6, 0.9), run(0.3, 0.8, 0.7), run(0.3, 0.8, 0.7)]
    assert best_lr(records) == 0.3
    assert best_row(records)["mean"] == pytest.approx(0.7)
    assert best_row(records, metric="val_accuracy")["mean"] == pytest.approx(0.8)


def test_seeds_that_agree_by_chance_do_not_make_a_coarse_accuracy_exact() -> None:
    """Three seeds can agree exactly on a small split; another CPU may still move a run by an
    input or two there, but not by a real change's worth."""
    config = {"P": 1000, "n_test": 1000, "n_val": 48}
    record = {"config": config, "result": {
        "test_accuracy": 0.9, "train_accuracy": 1.0, "val_accuracy": 45 / 48,
        "history": {"loss": [1.0], "train_accuracy": [0.5], "test_accuracy": [0.5]}}}
    spread = {key: 0.0 for key in ("test_accuracy", "train_accuracy", "val_accuracy",
                                   "history.train_accuracy", "history.test_accuracy")}
    moved = {**record, "result": {**record["result"], "val_accuracy": 47 / 48}}
    assert disagreements(moved, record, spread) == []
    wrong = {**record, "result": {**record["result"], "test_accuracy": 0.7}}
    assert disagreements(wrong, record, spread) == [
        "test_accuracy 0.7 against 0.9 (seed sd 0, binomial sd 0.0126)"]
