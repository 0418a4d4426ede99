"""Issue 21: each defect a careless user or an attacker found, as a test.

Silent wrong statistics now follow a stated rule (missing values left out, an unknown
P_90 raises), unguarded sizes are refused before they allocate, bad input gets a
ValueError or TypeError naming the parameter, and a killed sweep leaves no process.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rhmlib.stats import best_lr, mean_sem, p90, p90_interval, p90_summary, summarize

ROOT = Path(__file__).resolve().parents[1]


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


# -- a killed sweep leaves nothing behind --------------------------------------------------

# A sweep of one long run and two quick ones, computed by the command line with two
# workers: the quick ones finish while the long one still runs.
SWEEP_SCRIPT = """
import signal
import sys
# Ctrl-C as in a terminal: a shell without job control starts background commands with
# SIGINT ignored, and a process inherits that (CI started that way failed here).
signal.signal(signal.SIGINT, signal.default_int_handler)
import rhmlib.sweeps as sweeps
from rhmlib.sweeps.__main__ import main
tiny = {"v": 8, "n_c": 4, "m": 2, "s": 2, "L": 2, "P": 20, "n_test": 10, "steps": 10,
        "eval_every": 5, "width": 8}
sweeps.SWEEPS["tiny_kill"] = lambda: [{**tiny, "steps": 10**7}, {**tiny, "seed": 1},
                                      {**tiny, "seed": 2}]
main(["tiny_kill", "--jobs", "2"])
"""


def _descendants(pid: int) -> set[int]:
    """The processes below ``pid`` (Linux: read from /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended meanwhile
            continue
        parents[int(stat.parent.name)] = int(text.rsplit(")", 1)[1].split()[1])
    found, todo = set(), [pid]
    while todo:
        above = todo.pop()
        below = {child for child, parent in parents.items() if parent == above}
        todo += below - found
        found |= below
    return found


def _helper(pid: int) -> bool:
    """Whether ``pid`` is multiprocessing's resource tracker (it lives as long as this
    process, by design)."""
    try:
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def sweep(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, set[int]]]:
    """The command line computing the tiny sweep, once its quick runs are stored; its
    workers and helpers. Whatever the test finds, none of them outlives it."""
    env = {**os.environ, "RHMLIB_RESULTS": str(tmp_path), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SWEEP_SCRIPT], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while len(list((tmp_path / "runs").glob("*.json"))) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the quick runs never finished"
            time.sleep(0.2)
        children = _descendants(proc.pid)
        assert len(children) >= 2  # the long run's worker and multiprocessing's helpers
        yield proc, children
    finally:
        for pid in [proc.pid, *children]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        proc.communicate()


def _none_left(pids: set[int], seconds: float = 10.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return {pid for pid in pids if _alive(pid)}


linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


@linux_only
def test_a_sigkilled_sweep_leaves_no_process(sweep: tuple) -> None:
    proc, children = sweep
    proc.kill()
    proc.wait()
    assert _none_left(children) == set()


@linux_only
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_sweep_ends_at_once_and_keeps_its_finished_runs(
        sweep: tuple, tmp_path: Path, sig: int) -> None:
    proc, children = sweep
    start = time.monotonic()
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("it waited for the long run")
    assert time.monotonic() - start < 5, "it waited for the long run"
    assert proc.returncode == 130 and "every finished run is kept" in err
    assert "Traceback" not in err
    assert _none_left(children) == set()
    assert len(list((tmp_path / "runs").glob("*.json"))) == 2
    assert not list((tmp_path / "runs").glob("*.lock"))


@linux_only
def test_an_interrupt_while_a_record_is_stored_ends_the_runs_in_progress(tmp_path: Path) -> None:
    """An interrupt in the sweep's own loop (storing a record, drawing the bar) ends the
    workers at once, while its traceback still holds the loop's frames: not when garbage is
    collected."""
    from rhmlib.sweeps import run_sweep
    from rhmlib.sweeps.execute import ProcessExecutor, Progress

    class InterruptedBar(Progress):
        def advance(self, run: object) -> None:
            raise KeyboardInterrupt

    tiny = {"v": 8, "n_c": 4, "m": 2, "s": 2, "L": 2, "P": 20, "n_test": 10, "steps": 10,
            "eval_every": 5, "width": 8}
    configs = [{**tiny, "steps": 10**7}, {**tiny, "seed": 1}]
    before = _descendants(os.getpid())
    with pytest.raises(KeyboardInterrupt) as caught:
        run_sweep(configs, tmp_path, executor=ProcessExecutor(2),
                  progress=InterruptedBar(show=False))
    workers = {pid for pid in _descendants(os.getpid()) - before if not _helper(pid)}
    assert _none_left(workers) == set(), "a worker still runs the long run"
    assert caught.traceback  # still held during the checks above


# -- the command line checks every option first ---------------------------------------------

@pytest.mark.parametrize(("argv", "message"), [
    (["bp_reference", "--jobs", "0"], "--jobs must be in [1, "),
    (["bp_reference", "--jobs", "-1"], "--jobs must be in [1, "),
    (["bp_reference", "--jobs", "99999999999"], "--jobs must be in [1, "),
    (["bp_reference", "--jobs", "1000000"], "--jobs must be in [1, "),
    (["--prune", "nosuch"], "unknown sweeps ['nosuch']"),
    (["--prune", "bp_reference"], "--prune deletes the runs no sweep uses"),
    (["nosuch"], "unknown sweeps ['nosuch']"),
    (["--costs", "bp_reference"], "sweep 'bp_reference': "),
])
def test_command_line_errors_are_one_line(argv: list[str], message: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    from rhmlib.sweeps.__main__ import main

    with pytest.raises(SystemExit) as caught:
        main(argv, root=tmp_path)
    err = capsys.readouterr().err
    assert caught.value.code == 2 and message in err and err.count("\n") == 1, err
    assert not list(tmp_path.iterdir())  # nothing started, nothing deleted


def test_command_line_refuses_a_results_root_that_is_a_file(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    from rhmlib.sweeps.__main__ import main

    (tmp_path / "file").write_text("")
    for root in (tmp_path / "file", tmp_path / "file" / "below"):
        with pytest.raises(SystemExit) as caught:
            main(["--list"], root=root)
        assert caught.value.code == 2 and "is not a directory" in capsys.readouterr().err


def test_cuda_is_refused_without_a_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       capsys: pytest.CaptureFixture) -> None:
    import torch

    from rhmlib.sweeps.__main__ import main
    from rhmlib.sweeps.execute import pick_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device='cuda' needs a CUDA GPU"):
        pick_device("cuda")
    with pytest.raises(SystemExit) as caught:
        main(["bp_reference", "--device", "cuda"], root=tmp_path)
    assert caught.value.code == 2 and "needs a CUDA GPU" in capsys.readouterr().err


# -- paths as str or Path ---------------------------------------------------------------------

def test_a_results_root_may_be_a_string(tmp_path: Path) -> None:
    from rhmlib.sweeps import load_sweep, missing, prune, run_sweep

    tiny = {"v": 8, "n_c": 4, "m": 2, "s": 2, "L": 2, "P": 20, "n_test": 10, "steps": 4,
            "eval_every": 5, "width": 8}
    root = str(tmp_path)
    assert len(missing([tiny], root)) == 1
    assert "result" in run_sweep([tiny], root)[0]
    assert missing([tiny], root) == []
    assert len(prune(root)) == 1  # no registered sweep uses it
    (tmp_path / "a_file").write_text("")
    with pytest.raises(ValueError, match="root must be a directory"):
        load_sweep("bp_reference", str(tmp_path / "a_file"))
    with pytest.raises(TypeError, match="root must be a path"):
        missing([tiny], 3)


# -- unguarded sizes and foreign exceptions ---------------------------------------------------

def _angles(*rows: list) -> dict:
    return {"steps": list(range(len(rows))), "cosines": list(rows)}


def _history_record(steps: list[int], accs: list[float]) -> dict:
    return {"config": {"P": 10}, "result": {"history": {"step": steps, "test_accuracy": accs}}}


def _bad_calls() -> list[tuple]:
    from rhmlib import RHM, correlations, linear, pages, plots, stats, tables

    rows = [{"P": 10, "mean": 0.5, "sem": 0.1, "n": 2}]
    return [
        (lambda: correlations.signal(RHM(4096, 2, 1, 2, 2)), ValueError, "GiB"),
        (lambda: linear.pairs(10**6, 4096), ValueError, "n=1,000,000 pairs"),
        (lambda: linear.orthonormal([4096] * 20), ValueError, "widths="),
        (lambda: linear.broken(seed=2**63 - 1), ValueError, "seed must be in"),
        (lambda: correlations.curve(RHM(8, 4, 2, 2, 2), [10], seeds=[]), ValueError,
         "seeds must not be empty"),
        (lambda: tables.ratio_text(100.0, 0, [10, 100]), ValueError, "reference must be"),
        (lambda: tables.ratio_text(math.nan, 10, [10, 100]), ValueError, "p90 must be"),
        (lambda: tables.p90_text(50.0, 60.0, 70.0, [10, 100]), ValueError,
         "p90 must lie in its interval"),
        (lambda: tables.recipes(["nosuch"]), ValueError, "names must be one of"),
        (lambda: stats.p90_summary([]), ValueError, "records must not be empty"),
        (lambda: plots.accuracy_vs_P({"BP": rows}, x_scales={"BP": 0}), ValueError,
         r"x_scales\['BP'\] must be"),
        (lambda: plots.accuracy_vs_P({"BP": rows}, x_scales={"bp": 2}), ValueError,
         "x_scales names no curve"),
        (lambda: pages.join([]), ValueError, "items must not be empty"),
        (lambda: plots.angles_figure({"BP": [_angles([0.5, 0.9]), _angles([0.5])]}),
         ValueError, "rows of cosines"),
        (lambda: plots.angles_figure({"BP": [_angles([0.5, 0.9])], "FA": [_angles([0.1])]}),
         ValueError, "rows of cosines"),
        (lambda: pages.cosine_range({"BP": [_angles([0.5, 0.9]), _angles([0.5])]}),
         ValueError, "rows of cosines"),
        (lambda: plots.layer_curves([0, 1], [[0.1, 0.2], [0.3]]), ValueError,
         r"values\[1\] must have one value per layer"),
        (lambda: plots.learning_rows({"BP": [_history_record([5, 10], [0.1])]}),
         ValueError, "one accuracy per evaluation step"),
    ]


@pytest.mark.parametrize("index", range(len(_bad_calls())))
def test_bad_input_gets_an_error_naming_it(index: int) -> None:
    call, error, match = _bad_calls()[index]
    with pytest.raises(error, match=match):
        call()


def test_p90_summary_of_all_diverged_runs_says_so() -> None:
    from rhmlib.tables import p90_summary_text

    summary = p90_summary([{"config": {"P": 10}, "diverged": "boom"}])
    assert summary["diverged"] == 1 and p90_summary_text(summary) == "all runs diverged"


def test_angles_figure_leaves_undefined_cosines_out_of_the_mean() -> None:
    from rhmlib.plots import angles_figure

    fig = angles_figure({"BP": [_angles([0.5, None]), _angles([0.7, 0.9])]})
    assert list(fig.data[1].y) == [0.9]


# -- widgets --------------------------------------------------------------------------------

def _panel_outputs(panel: object) -> list[dict]:
    import ipywidgets as W

    stack = [panel]
    while stack:
        widget = stack.pop()
        if isinstance(widget, W.Output):
            return list(widget.outputs)
        stack.extend(getattr(widget, "children", ()))
    raise LookupError("Output")


def test_ssl_live_trains_with_oracle_pairs() -> None:
    from rhmlib.widgets import ssl_live

    outputs = _panel_outputs(ssl_live(P=200, steps=50, pairs="oracle", width=16))
    assert not [o for o in outputs if "Cannot" in o.get("text", "")]
    assert [o for o in outputs if o["output_type"] == "display_data"]


def test_playground_draws_the_readout_after_the_self_supervised_stage() -> None:
    from rhmlib.widgets import playground

    outputs = _panel_outputs(playground(rule="clapp", steps=50, P=100, width=8))
    figures = [o["data"]["application/vnd.plotly.v1+json"] for o in outputs
               if o["output_type"] == "display_data"]
    steps = figures[0]["data"][0]["x"]
    # 10 points of the 50 self-supervised steps, then 10 of the readout's 50 after them.
    assert list(steps) == [*range(5, 51, 5), *range(55, 101, 5)]


def test_sweep_explorer_leaves_diverged_runs_out_and_counts_them() -> None:
    from rhmlib.widgets import sweep_explorer

    history = {"step": [10, 20], "train_accuracy": [0.5, 0.5], "test_accuracy": [0.2, 0.4]}
    records = [{"config": {"P": 100, "seed": 0}, "result": {"history": history}},
               {"config": {"P": 100, "seed": 1}, "diverged": "boom"}]
    fig = sweep_explorer(records, by="P")
    assert list(fig.data[0].y) == pytest.approx([0.2, 0.4])
    assert "1 diverged" in fig.data[0].name
    with pytest.raises(ValueError, match="every run diverged"):
        sweep_explorer(records[1:], by="P")
    # A run that converged earlier leaves the mean after its last step.
    short = {"step": [10], "train_accuracy": [0.7], "test_accuracy": [0.6]}
    records[1] = {"config": {"P": 100, "seed": 1}, "result": {"history": short}}
    fig = sweep_explorer(records, by="P")
    assert list(fig.data[0].x) == [10, 20] and list(fig.data[0].y) == pytest.approx([0.4, 0.4])


def test_decodability_of_a_diverged_network_is_refused() -> None:
    import torch

    from rhmlib import RHM, build_model
    from rhmlib.pages.ch05 import decodability_table

    rhm = RHM(4, 4, 2, 2, 2, seed=0)
    net = build_model("cnn", 4, 2, 2, 8, 4, seed=0)
    with torch.no_grad():
        next(net.parameters()).fill_(math.nan)
    with pytest.raises(ValueError, match="not finite"):
        decodability_table({"nan": net}, rhm, rhm.sample(64, seed=1))


def test_mean_sem_refuses_an_infinite_value_rather_than_warn() -> None:
    from rhmlib.stats import mean_sem

    with pytest.raises(ValueError, match="values must be finite numbers"):
        mean_sem([1.0, math.inf])


def test_best_row_chooses_any_config_field_on_validation() -> None:
    from rhmlib.stats import best_row

    def record(width: int, temperature: float, val: float, test: float) -> dict:
        return {"config": {"width": width, "lr": 0.1, "rule_options": {"temperature": temperature}},
                "result": {"val_accuracy": val, "test_accuracy": test}}

    records = [record(64, 0.1, 0.80, 0.99), record(128, 0.5, 0.90, 0.70),
               record(256, 0.5, 0.90, 0.60)]
    # Validation chooses (never the test set); on a tie the smaller value wins.
    assert best_row(records, by="width") == {"width": 128, "mean": 0.70, "sem": 0.0, "n": 1}
    chosen = best_row(records, by="rule_options.temperature")
    assert chosen["rule_options.temperature"] == 0.5 and chosen["n"] == 2
    with pytest.raises(ValueError, match="no \\['depth'\\]"):
        best_row(records, by="depth")


def test_a_ratio_that_overflows_is_refused_not_written_inf() -> None:
    from rhmlib.tables import ratio_text

    with pytest.raises(ValueError, match="p90 / reference"):
        ratio_text(9.6e29, 5.3e-279, [])
    assert ratio_text(2000.0, 1000.0, [500, 4000]) == "2.00"


def test_a_rate_chosen_from_the_cache_follows_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing read from the cache is kept between calls: results recomputed (or, in a test,
    synthesised) in the same process are read again."""
    from rhmlib import quantities
    from rhmlib.sweeps import backprop, load_sweep

    best, p90 = backprop.scaling_lr(4, 3), quantities.get("bp-p90-cosine")
    others = [r for r in load_sweep("bp_lr_scan") if r["config"]["lr"] != best]
    with monkeypatch.context() as patch:
        patch.setattr(backprop, "load_sweep", lambda name, root=None: others)
        assert backprop.scaling_lr(4, 3) != best
    assert backprop.scaling_lr(4, 3) == best
    assert quantities.get("bp-p90-cosine") == p90
