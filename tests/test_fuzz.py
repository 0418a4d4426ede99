"""Fuzzing every public door: each call ends in a result or a documented error, quickly.

Hypothesis draws valid and invalid arguments (bools, floats, strings, None, numpy and
0-d tensor scalars, huge and negative integers, tokens out of the vocabulary, samples
of another grammar). A call passes when it returns a result of the promised shape or
raises ``ValueError``/``TypeError`` naming the parameter, within a time bound: no hang,
no foreign exception from deep inside torch. The number of cases tried is printed at
the end of the test session, per module and per door (``module.function``).

Beyond the doors of a run, the same holds for the statistics of sweeps, tables, pages,
plots, the linear and correlation models, the static widgets, the cache's paths and the
command line (in this process, and a few cases as a real subprocess): results are
checked against what they promise (an estimate inside its interval, a count of the
values present), so that a silent wrong result fails like a foreign exception.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rhmlib import get_rule, run_experiment
from rhmlib.rhm import RHM, Sample
from rhmlib.rules import RULES, rule_names
from rhmlib.rules.local import LocalRule
from rhmlib.train import Diverged, resolve

ROOT = Path(__file__).resolve().parents[1]
CASES: Counter = Counter()
DOCUMENTED = (ValueError, TypeError)
# Per call: a hang is caught, a slow machine is not blamed (valid calls here take < 1 s
# once torch is warm; see _warm_up).
SECONDS = 20.0
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

# Values a careless caller passes where an integer belongs.
junk = st.sampled_from([True, False, 2.5, "3", None, float("nan"), float("inf"), -1, 0,
                        10**12, 2**70, -(2**70), np.int64(3), np.float32(2.0),
                        torch.tensor(4), torch.tensor([1, 2]), [3]])


def _call(door: str, fn: Callable[[], object], *parameters: str,
          outcomes: tuple[type[Exception], ...] = ()) -> object:
    """Run ``fn``; a documented error must name one of ``parameters``; count the case.

    ``outcomes`` are documented exceptions that report what happened rather than a bad
    argument (a run's divergence): they count as documented errors without naming one.
    """
    start = time.perf_counter()
    try:
        result = fn()
        outcome = "result"
    except outcomes:
        result, outcome = None, "error"
    except DOCUMENTED as error:
        message = str(error)
        assert not parameters or any(p in message for p in parameters), (door, message)
        result, outcome = None, "error"
    except Exception:
        CASES[(door, "foreign")] += 1
        raise
    if time.perf_counter() - start >= SECONDS:
        CASES[(door, "hang")] += 1
        pytest.fail(f"{door} took too long")
    CASES[(door, outcome)] += 1
    return result


def maybe_int(low: int, high: int) -> st.SearchStrategy:
    """Mostly valid integers in [low, high], sometimes junk."""
    valid = st.integers(low, high)
    return st.one_of(valid, valid, valid, junk)


@FUZZ
@given(v=maybe_int(2, 12), n_c=maybe_int(2, 10), m=maybe_int(1, 12), s=maybe_int(2, 5),
       L=maybe_int(1, 5), seed=st.one_of(st.integers(0, 2**63 - 1), junk))
def test_rhm_grammars(v: object, n_c: object, m: object, s: object, L: object,
                      seed: object) -> None:
    rhm = _call("rhm.RHM", lambda: RHM(v, n_c, m, s, L, seed), "v", "n_c", "m", "s", "L", "seed")
    if rhm is not None:
        assert len(rhm.rules) == rhm.L and rhm.n_inputs >= rhm.n_c


@FUZZ
@given(v=st.integers(2, 10), m=st.integers(1, 6), L=st.integers(1, 4),
       n=maybe_int(0, 300), P=maybe_int(1, 300), n_test=maybe_int(0, 300),
       n_val=maybe_int(0, 100), seed=st.one_of(st.integers(0, 2**63 - 1), junk))
def test_sampling(v: int, m: int, L: int, n: object, P: object, n_test: object,
                  n_val: object, seed: object) -> None:
    rhm = RHM(v, 2, min(m, v), 2, L)
    sample = _call("rhm.sample", lambda: rhm.sample(n, seed=seed), "n", "seed")
    if sample is not None:
        assert len(sample) == n and sample.x.shape[1] == rhm.input_length
    distinct = _call("rhm.sample_distinct", lambda: rhm.sample_distinct(n, seed=seed), "n", "seed")
    if distinct is not None:
        assert len(set(map(tuple, distinct.x.tolist()))) == len(distinct) == n
    sets = _call("rhm.splits", lambda: rhm.splits(P, n_test, n_val, seed),
                 "P", "n_test", "n_val", "seed")
    if sets is not None:
        keys = [set(map(tuple, part.x.tolist())) for part in sets]
        assert [len(k) for k in keys] == [P, n_test, n_val]
        assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])


tokens_kinds = st.sampled_from(["valid", "float", "bool", "negative", "too_big", "short",
                                "list", "numpy", "string", "three_d"])


@FUZZ
@given(v=st.integers(2, 8), m=st.integers(1, 4), L=st.integers(1, 4),
       kind=tokens_kinds, level=maybe_int(0, 4), seed=st.integers(0, 2**63 - 1))
def test_tokens_and_trees(v: int, m: int, L: int, kind: str, level: object, seed: int) -> None:
    rhm = RHM(v, 2, min(m, v), 2, L, seed=seed % 1000)
    sample = rhm.sample(5, seed=seed)
    x: object = sample.x.clone()
    if kind == "float":
        x = sample.x.float()
    elif kind == "bool":
        x = sample.x > 0
    elif kind == "negative":
        x[0, 0] = -1
    elif kind == "too_big":
        x[0, 0] = v
    elif kind == "short":
        x = sample.x[:, :-1]
    elif kind == "list":
        x = sample.x.tolist()
    elif kind == "numpy":
        x = sample.x.numpy()
    elif kind == "string":
        x = "tokens"
    elif kind == "three_d":
        x = sample.x[None]
    valid = kind in ("valid", "list", "numpy")
    tree = _call("rhm.parse", lambda: rhm.parse(x), "x")
    assert (tree is not None) == valid
    if valid:
        assert all(torch.equal(a, b) for a, b in zip(tree, sample.hidden))
    encoded = _call("rhm.one_hot", lambda: rhm.one_hot(x), "x")
    assert (encoded is not None) == valid
    # A sample whose tree does not match its tokens (or of another grammar) is refused.
    forged = Sample([h.clone() for h in sample.hidden])
    if kind == "too_big":
        forged.hidden[-1][0, 0] = (forged.hidden[-1][0, 0] + 1) % v
    redrawn = _call("rhm.resample", lambda: rhm.resample(forged, level, seed=seed),
                    "level", "sample", "x", "seed")
    if redrawn is not None:
        assert all(torch.equal(a, b) for a, b in zip(rhm.parse(redrawn.x), redrawn.hidden))


# Valid settings of a run, varied; at most one of them replaced by junk per case.
valid_settings = st.fixed_dictionaries({}, optional={
    "lr": st.floats(1e-4, 1.0), "steps": st.integers(1, 20), "batch_size": st.integers(1, 64),
    "momentum": st.floats(0, 1), "weight_decay": st.floats(0, 0.1),
    "eval_every": st.integers(1, 5), "optimizer": st.sampled_from(["sgd", "adam"]),
    "schedule": st.sampled_from(["constant", "cosine"]), "width": st.integers(1, 16),
    "n_test": st.integers(0, 50), "n_val": st.integers(0, 20),
    "grammar_seed": st.integers(0, 2**63 - 1), "model": st.sampled_from(["cnn", "fcn"]),
})
bad_setting = st.one_of(st.just({}), st.builds(
    lambda key, value: {key: value},
    st.sampled_from(["lr", "steps", "batch_size", "momentum", "weight_decay", "eval_every",
                     "optimizer", "schedule", "width", "n_test", "n_val", "grammar_seed",
                     "model", "P", "seed"]),
    st.one_of(junk, st.sampled_from(["lbfgs", "step", "resnet"]))))


@settings(FUZZ, max_examples=100)
@given(rule=st.sampled_from([*rule_names(), *rule_names(), "sgd", 3]), P=st.integers(1, 60),
       seed=st.integers(0, 2**63 - 1), changes=valid_settings, bad=bad_setting)
def test_run_experiment(rule: object, P: int, seed: int, changes: dict, bad: dict) -> None:
    grammar = {"v": 8, "n_c": 4, "m": 4, "s": 2, "L": 2}  # 256 inputs
    config = {**grammar, "P": P, "seed": seed, "steps": 5, "n_test": 20, "width": 8,
              "eval_every": 5, **changes, **bad}
    if rule in rule_names() and issubclass(RULES[rule], LocalRule):
        # Self-supervised recipes train their readout for 1,000 steps: keep cases fast.
        config["rule_options"] = {"readout_steps": 5}
    names = ("rule", *config, "batch", "L >= 2", "inputs")
    full = _call("train.resolve", lambda: resolve({**config, "rule": rule}), *names)
    # Diverged is how a run reports a real blow-up (fuzzed rates reach 1 with retries=0).
    result = _call("train.run_experiment", lambda: run_experiment(rule=rule, **config), *names,
                   outcomes=(Diverged,))
    if result is not None:
        assert result.config == full
        for accuracy in (result.test_accuracy, result.train_accuracy, result.val_accuracy):
            assert accuracy is None or 0.0 <= accuracy <= 1.0


@FUZZ
@given(rule=st.sampled_from(rule_names()),
       options=st.dictionaries(st.sampled_from(["feedback", "f_scale", "pairs", "locality",
                                                 "readout", "unlabelled", "readout_steps",
                                                 "readout_lr", "detach_context", "bogus",
                                                 "temperature", "masks"]),
                               st.one_of(junk, st.sampled_from(["exact", "random", "oracle",
                                                                "sibling", "top", 0.5])),
                               max_size=2))
def test_rule_options(rule: str, options: dict) -> None:
    _call("rules.get_rule", lambda: get_rule(rule, **options), *options, "option")


# -- sweeps' statistics, tables, pages, plots, models, widgets, paths and the CLI ------------

# What a careless caller passes where a number of a record or a row belongs.
value = st.one_of(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1),
                  st.none(), st.just(float("nan")),
                  st.sampled_from(["0.5", True, float("inf"), -1.0, [0.5]]))
grid_x = st.sampled_from([10, 100, 1000, 10000])


def _record(P: object, test: object, lr: object = 0.1, val: object = 0.5) -> dict:
    return {"config": {"P": P, "lr": lr, "seed": 0},
            "result": {"test_accuracy": test, "val_accuracy": val, "train_accuracy": 1.0,
                       "seconds": 1.0}}


finished_st = st.builds(_record, grid_x, value, st.sampled_from([0.1, 0.3]), value)
records_st = st.lists(st.one_of(
    finished_st, finished_st, finished_st, finished_st,
    st.just({"config": {"P": 100, "lr": 0.3}, "diverged": "boom"}),
    st.sampled_from([{"config": 3}, {"result": {}}, "record", None])), max_size=12)


def _present(values: list) -> list[float]:
    return [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)
            and v == v]


@FUZZ
@given(values=st.lists(value, max_size=6))
def test_mean_sem(values: list) -> None:
    from rhmlib.stats import mean_sem

    out = _call("stats.mean_sem", lambda: mean_sem(values), "values")
    if out is not None:
        mean, sem, n = out
        assert n == len(_present(values))  # the true count of the values present
        assert n == 0 or min(_present(values)) <= mean <= max(_present(values))


@FUZZ
@given(records=records_st, metric=st.sampled_from(["test_accuracy", "val_accuracy", "typo"]),
       level=st.one_of(st.floats(0.05, 1.0), junk), n_boot=st.one_of(st.integers(1, 50), junk))
def test_statistics(records: list, metric: str, level: object, n_boot: object) -> None:
    from rhmlib import stats
    from rhmlib.tables import p90_summary_text

    rows = _call("stats.summarize", lambda: stats.summarize(records, ("P",), metric),
                 "records", "metric", "values", "by")
    if rows is not None:
        assert all(r["n"] >= 0 and (r["n"] == 0) == math.isnan(r["mean"]) for r in rows)
    point = _call("stats.p90", lambda: stats.p90(rows, level), "rows", "level") if rows else None
    if point is not None:
        assert math.isinf(point) or min(r["P"] for r in rows) <= point <= max(
            r["P"] for r in rows)
    interval = _call("stats.p90_interval", lambda: stats.p90_interval(
        records, level, metric=metric, n_boot=n_boot), "records", "metric", "level",
        "n_boot", "rows", "values")
    if interval is not None:
        assert interval[1] <= interval[0] <= interval[2]  # the estimate inside its interval
    lr = _call("stats.best_lr", lambda: stats.best_lr(records), "records", "values")
    if lr is not None:
        chosen = [r for r in records if isinstance(r, dict) and "result" in r
                  and r["config"]["lr"] == lr]
        assert _present([r["result"]["val_accuracy"] for r in chosen])  # never a NaN mean
    summary = _call("stats.p90_summary", lambda: stats.p90_summary(records, metric=metric),
                    "records", "metric", "values", "rows")
    if summary is not None:
        assert summary["diverged"] == sum(isinstance(r, dict) and "diverged" in r
                                          for r in records)
        assert (p90_summary_text(summary) != "all runs diverged"
                or summary["diverged"] == len(records))


number = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**6),
                   junk)


@FUZZ
@given(p90=number, low=number, high=number, reference=number,
       grid=st.one_of(st.lists(st.integers(1, 10**5), max_size=4), junk),
       names=st.one_of(st.none(), st.lists(st.sampled_from(["bp", "fa", "nosuch", 3]),
                                           max_size=3), junk),
       items=st.one_of(st.lists(st.sampled_from(["a", "b", 3]), max_size=3), junk))
def test_tables_and_pages(p90: object, low: object, high: object, reference: object,
                          grid: object, names: object, items: object) -> None:
    from rhmlib import pages, tables

    text = _call("tables.p90_text", lambda: tables.p90_text(p90, low, high, grid),
                 "p90", "low", "high", "grid")
    assert text is None or "nan" not in text
    ratio = _call("tables.ratio_text", lambda: tables.ratio_text(p90, reference, grid),
                  "p90", "reference", "grid")
    assert ratio is None or "nan" not in ratio and "inf" not in ratio
    _call("tables.pm", lambda: tables.pm(p90, low), "mean", "sem")
    table = _call("tables.recipes", lambda: tables.recipes(names), "names")
    assert table is None or names is None or len(table.rows) == len(names)
    _call("pages.join", lambda: pages.join(items), "items")


curve_rows = st.lists(st.fixed_dictionaries({"P": grid_x, "mean": value, "sem": value}),
                      max_size=4)


@settings(FUZZ, max_examples=60)
@given(rows=curve_rows, scale=st.one_of(st.floats(0.5, 10), junk),
       name=st.sampled_from(["BP", "bp"]),
       layers=st.lists(st.lists(st.floats(0, 1), min_size=1, max_size=3), max_size=4),
       cosines=st.lists(st.lists(st.one_of(st.floats(-1, 1), st.none()), min_size=1,
                                 max_size=3), min_size=1, max_size=3))
def test_plots(rows: list, scale: object, name: str, layers: list, cosines: list) -> None:
    from rhmlib import pages, plots

    _call("plots.accuracy_vs_P", lambda: plots.accuracy_vs_P({"BP": rows},
                                                             x_scales={name: scale}),
          "curves", "x_scales")
    _call("plots.layer_curves", lambda: plots.layer_curves(list(range(len(layers))), layers),
          "steps", "values")
    records = {"BP": [{"steps": list(range(len(cosines))), "cosines": cosines}] * 2}
    _call("plots.angles_figure", lambda: plots.angles_figure(records), "records")
    span = _call("pages.cosine_range", lambda: pages.cosine_range(records), "angle_sets")
    assert span is None or span[0] < span[1]


@settings(FUZZ, max_examples=60)
@given(n=maybe_int(2, 5000), width=maybe_int(1, 4096), depth=maybe_int(1, 6),
       v=st.integers(2, 5000), s=st.integers(2, 3), P=maybe_int(2, 2000),
       seeds=st.one_of(st.lists(st.integers(0, 3), max_size=2), junk))
def test_models(n: object, width: object, depth: object, v: int, s: int, P: object,
                seeds: object) -> None:
    from rhmlib import correlations, linear

    data = _call("linear.pairs", lambda: linear.pairs(n, width), "n", "width", "pairs")
    assert data is None or data.x.shape == (n, width)
    widths = [width] * (depth + 1) if isinstance(depth, int) and 0 <= depth < 50 else depth
    # Valid widths up to 4096 are allowed but take seconds of QR each: the door is fuzzed
    # below 512, so that a busy machine cannot make a valid case look like a hang.
    if isinstance(width, int) and width > 512 and isinstance(depth, int) and 0 <= depth < 50:
        widths = [512] * (depth + 1)
    _call("linear.orthonormal", lambda: linear.orthonormal(widths), "width", "widths")
    rhm = _call("rhm.RHM", lambda: RHM(v, 2, 1, s, 2), "v", "n_c", "m", "s", "L")
    if rhm is not None:
        exact = _call("correlations.signal", lambda: correlations.signal(rhm), "tables")
        assert exact is None or exact >= 0
        rows = _call("correlations.curve", lambda: correlations.curve(rhm, [P], seeds),
                     "P", "seeds", "sizes", "tables", "inputs")
        assert rows is None or rows[0]["noise"] >= 0


@settings(FUZZ, max_examples=60)
@given(records=records_st, by=st.sampled_from(["P", "lr", "typo", 3]))
def test_sweep_explorer(records: list, by: object) -> None:
    from rhmlib.widgets import sweep_explorer

    history = {"step": [5, 10], "train_accuracy": [0.5, 1.0], "test_accuracy": [0.5, None]}
    for record in records:
        if isinstance(record, dict) and isinstance(record.get("result"), dict):
            record["result"]["history"] = history
    _call("widgets.sweep_explorer", lambda: sweep_explorer(records, by=by), "records", "by")


@settings(FUZZ, max_examples=20)
@given(root=st.sampled_from(["str", "path", "file", 3, None, ""]),
       what=st.sampled_from(["missing", "load_sweep", "prune", "run_sweep"]))
def test_results_roots(tmp_path_factory: pytest.TempPathFactory, root: object,
                       what: str) -> None:
    from rhmlib import sweeps

    folder = tmp_path_factory.mktemp("root")
    (folder / "file").write_text("")
    where = {"str": str(folder), "path": folder, "file": str(folder / "file")}.get(root, root)
    config = {"v": 8, "n_c": 4, "m": 2, "s": 2, "L": 2, "P": 20, "n_test": 10, "steps": 2,
              "eval_every": 5, "width": 4}
    calls = {"missing": lambda: sweeps.missing([config], where),
             "load_sweep": lambda: sweeps.load_sweep("bp_reference", where),
             "prune": lambda: sweeps.prune(where),
             "run_sweep": lambda: sweeps.run_sweep([config], where)}
    # An empty folder: MissingResults is load_sweep's documented answer.
    _call(f"sweeps.{what}", calls[what], "root", outcomes=(sweeps.MissingResults,))


cli_args = st.lists(st.one_of(
    st.sampled_from(["--jobs", "--device", "--executor", "--list", "--costs", "--prune",
                     "--all", "bp_reference", "nosuch", "cuda", "0", "-1", "99999999999",
                     "abc", "ray", "process", "tpu"])), min_size=1, max_size=4)
# Arguments that would start computing a real sweep are not the fuzz's to run.
COMPUTES = {"--all", "bp_reference"}


def _computes(argv: list[str]) -> bool:
    modes = {"--list", "--costs", "--prune"}
    return bool(COMPUTES & set(argv)) and not modes & set(argv)


@settings(FUZZ, max_examples=60)
@given(argv=cli_args)
def test_command_line(tmp_path_factory: pytest.TempPathFactory, argv: list[str]) -> None:
    import contextlib
    import io

    from rhmlib.sweeps.__main__ import main

    if _computes(argv):
        argv = [*argv, "--jobs", "0"]  # refused before anything starts
    root = tmp_path_factory.mktemp("cli")
    err = io.StringIO()

    def run() -> None:
        """The command; a user's error (status 2, one line) raised as a documented error."""
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                main(argv, root=root)
            except SystemExit as stop:
                assert stop.code == 2 and err.getvalue().count("\n") == 1, (argv, err.getvalue())
                raise ValueError(err.getvalue()) from None

    _call("cli.main", run)
    assert not (root / "runs").exists() or not list((root / "runs").glob("*.json"))


@pytest.mark.parametrize("argv", [["--jobs", "0", "bp_reference"], ["--prune", "nosuch"],
                                  ["--device", "tpu", "bp_reference"], ["--costs"]])
def test_command_line_in_a_subprocess(argv: list[str], tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "RHMLIB_RESULTS": str(tmp_path), "PYTHONPATH": str(ROOT)}
    def run() -> None:
        """The command in its own process; its one line of error raised as a documented one."""
        proc = subprocess.run([sys.executable, "-m", "rhmlib.sweeps", *argv], env=env,
                              capture_output=True, text=True, timeout=SECONDS)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        raise ValueError(proc.stderr)

    _call("cli.subprocess", run)


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> object:
    """Warm torch up, then hand the case counts to conftest, which prints them."""
    # The first Adam step imports much of torch (seconds): not a door's own time.
    run_experiment(6, 3, 2, 2, 2, 8, rule="clapp", steps=2, n_test=8, width=4,
                   rule_options={"readout_steps": 2})
    request.config.fuzz_cases = CASES
    yield
    assert sum(CASES.values()) > 0
