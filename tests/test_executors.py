"""Executors give the same records as computing in this process; devices; the command line."""

import sys
import time

import pytest
from test_sweeps import TINY, assert_same_record

import rhmlib.sweeps as sweeps
from rhmlib.stats import best_lr
from rhmlib.sweeps import Run, run_sweep
from rhmlib.sweeps.__main__ import main
from rhmlib.sweeps.execute import (
    ProcessExecutor,
    RayExecutor,
    SerialExecutor,
    cost,
    execute,
    make_executor,
    pick_device,
)

RUNS = [Run({**TINY, "seed": 0}), Run({**TINY, "seed": 1, "rule": "fa"}),
        Run({**TINY, "seed": 2}, ("angles",))]


def _by_key(records) -> dict:
    return {r["key"]: r for r in records}


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> dict:
    """The records of :data:`RUNS` computed in this process."""
    return _by_key(execute(RUNS, tmp_path_factory.mktemp("serial"), SerialExecutor()))


def test_processes_give_the_serial_records(tmp_path, serial) -> None:
    records = _by_key(execute(RUNS, tmp_path, ProcessExecutor(2)))
    assert records.keys() == serial.keys()
    for key, record in records.items():
        assert_same_record(record, serial[key], key)
    assert len(list((tmp_path / "runs").glob("*.json"))) == len(RUNS)


def test_ray_gives_the_serial_records(tmp_path, serial) -> None:
    """A local 2-worker Ray cluster computes the same records as this process."""
    ray = pytest.importorskip("ray")
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    try:
        records = _by_key(execute(RUNS, tmp_path, RayExecutor(num_workers=2)))
    finally:
        ray.shutdown()
    print(f"Ray: {time.perf_counter() - start:.1f} s for {len(RUNS)} runs, start included")
    assert records.keys() == serial.keys()
    for key, record in records.items():
        assert_same_record(record, serial[key], key)


def test_ray_missing_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'rhmlib\[ray\]'"):
        RayExecutor()
    with pytest.raises(ImportError, match="rhmlib"):
        make_executor("ray", 2)


def test_executor_choices() -> None:
    assert isinstance(make_executor("process", 1), SerialExecutor)
    assert isinstance(make_executor("process", 2), ProcessExecutor)
    with pytest.raises(ValueError, match="executor must be one of"):
        make_executor("threads", 2)
    with pytest.raises(ValueError, match=r"jobs must be in \[1, "):
        ProcessExecutor(0)


def test_devices(serial) -> None:
    import torch

    assert pick_device("cpu") == "cpu"
    assert pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device must be one of"):
        pick_device("tpu")
    assert all(r["device"] == "cpu" and "device" not in r["config"] for r in serial.values())


def test_cost_grows_with_steps_and_data() -> None:
    assert cost({**TINY, "steps": 20}) > cost(TINY)
    assert cost({**TINY, "P": 40}) > cost(TINY)
    assert cost({**TINY, "rule": "clapp"}) > cost(TINY)  # two stages


def test_command_line_lists_computes_and_prunes(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sweeps.registry, "SWEEPS", {})
    monkeypatch.setitem(sweeps.registry.SWEEPS, "tiny_scan", lambda: [{**TINY, "seed": s}
                                                             for s in range(2)])
    monkeypatch.setitem(sweeps.registry.SWEEPS, "tiny_chosen", lambda: [
        {**TINY, "seed": 5, "lr": best_lr(sweeps.load_sweep("tiny_scan", tmp_path))}])
    main(["--list"], root=tmp_path)
    out = capsys.readouterr().out
    assert "tiny_chosen: waits for tiny_scan" in out and "tiny_scan: 2 runs, 2 missing" in out
    with pytest.raises(SystemExit, match="wait for"):
        main(["tiny_chosen"], root=tmp_path)
    main(["--all", "--jobs", "1"], root=tmp_path)  # the scan first, then what it chooses
    out = capsys.readouterr().out
    assert "tiny_scan: 2 runs, 2 to compute" in out and "tiny_chosen: 1 runs, 1 to compute" in out
    main(["--list"], root=tmp_path)
    assert "tiny_chosen: 1 runs, 0 missing, 0 stale" in capsys.readouterr().out
    run_sweep([{**TINY, "seed": 9}], root=tmp_path)
    main(["--prune"], root=tmp_path)
    assert "deleted 1 cached runs" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["no_such_sweep"], root=tmp_path)
