"""The run cache: code-aware keys, corrupt, stale and missing records, load-only sweeps.

And a cache that cannot lie (issue #11): every way a record file can be wrong is
warned about and recomputed, writes are atomic, and sweeps run at once share their runs.
"""

import ast
import copy
import importlib
import inspect
import itertools
import json
import math
import os
import re
import stat
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from test_sweeps import ROOT, TINY, assert_same_record

import rhmlib.sweeps as sweeps
from rhmlib import fingerprint
from rhmlib.fingerprint import code_fingerprint, normalise
from rhmlib.probes import PROBES
from rhmlib.sweeps import Run, cache, load_run, load_sweep, missing, run_key, run_sweep
from rhmlib.sweeps.execute import execute

REAL_DIGEST = fingerprint.file_digest
RULE = '''"""A rule."""

class Mine(Rule):
    """Docstring."""

    defaults = {"lr": 0.1}

    def loss(self, batch):
        """Loss."""
        return batch * 2  # twice
'''


@pytest.fixture
def fresh_fingerprints():
    """Forget cached fingerprints before and after the test (it fakes file contents)."""
    code_fingerprint.cache_clear()
    yield
    code_fingerprint.cache_clear()


def _edited(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Pretend the package file ``name`` (only) has new code."""

    def digest(path):
        return "edited" if path.name == name else REAL_DIGEST(path)

    monkeypatch.setattr(fingerprint, "file_digest", digest)
    code_fingerprint.cache_clear()


@pytest.mark.parametrize("edit", [
    lambda s: s.replace("# twice", "# two times"),
    lambda s: s.replace('"""Docstring."""', '"""Another docstring,\n    on two lines."""'),
    lambda s: s.replace('"""A rule."""', "# no module docstring"),
    lambda s: s.replace('{"lr": 0.1}', '{"lr": 0.3, "steps": 100}'),
    lambda s: s.replace('defaults = {"lr": 0.1}', 'defaults: ClassVar[dict] = {"lr": 0.3}'),
    lambda s: s.replace("batch * 2", "(batch * 2)").replace("\n\n    def", "\n\n\n    def"),
    lambda s: s.replace("    defaults =", '    label = "Mine"\n    family = "local"\n'
                        '    color = "teal"\n    defaults ='),  # how the book shows it
])
def test_comments_docstrings_and_defaults_never_change_the_code(edit) -> None:
    assert edit(RULE) != RULE and normalise(edit(RULE)) == normalise(RULE)


@pytest.mark.parametrize("edit", [
    lambda s: s.replace("batch * 2", "batch * 3"),
    lambda s: s.replace("def loss(self, batch)", "def loss(self, x)").replace("batch *", "x *"),
    lambda s: s.replace('"""Loss."""', '"""Loss."""\n        defaults = 1'),  # not the class's
    lambda s: s.replace("class Mine(Rule)", "class Mine(Other)"),
])
def test_code_edits_change_the_code(edit) -> None:
    assert normalise(edit(RULE)) != normalise(RULE)


def test_fingerprints_cover_the_rule_s_classes(fresh_fingerprints) -> None:
    names = {f.relative_to(fingerprint.PACKAGE).as_posix()
             for f in fingerprint.source_files("fa")}
    assert {"rules/fa.py", "rules/masking.py", "rules/base.py", "train.py"} <= names
    assert "rules/bp.py" not in names and not any(n.startswith("probes/") for n in names)
    angles = {f.relative_to(fingerprint.PACKAGE).as_posix()
              for f in fingerprint.source_files("fa", ("angles",))}
    assert angles - names == {"probes/measures.py", "probes/clock.py", "probes/angles.py"}
    assert {"clapp.py", "local.py"} <= {f.name for f in fingerprint.source_files("clapp_global")}
    assert code_fingerprint("fa") != code_fingerprint("clapp")
    assert code_fingerprint("bp") != code_fingerprint("bp", ("angles",))
    with pytest.raises(ValueError, match="rule must be one of"):
        fingerprint.source_files("nope")
    with pytest.raises(ValueError, match="probes must be among"):
        fingerprint.source_files("bp", ("nope",))


def test_each_probe_hashes_its_recorder_s_module_and_what_it_imports_from_the_package() -> None:
    package = fingerprint.PACKAGE / "probes"

    def closure(path: Path) -> set[Path]:
        found = {path}
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                found |= closure(package / f"{node.module}.py")
        return found

    full = cache.resolve(TINY)
    for name, probe in PROBES.items():
        module = Path(inspect.getsourcefile(type(probe.recorder(full))))
        assert set(probe.files) == {f.relative_to(fingerprint.PACKAGE).as_posix()
                                    for f in closure(module)}, name


def test_an_edit_changes_exactly_the_fingerprints_of_the_rules_that_run_it(
        monkeypatch, fresh_fingerprints) -> None:
    rules = ("bp", "fa", "bp_masked", "clapp", "clapp_global", "vicreg")
    before = {r: code_fingerprint(r) for r in rules}
    probed = code_fingerprint("bp", ("angles",))
    _edited(monkeypatch, "clapp.py")
    assert [r for r in rules if code_fingerprint(r) != before[r]] == ["clapp", "clapp_global"]
    _edited(monkeypatch, "masking.py")
    assert [r for r in rules if code_fingerprint(r) != before[r]] == ["fa", "bp_masked"]
    _edited(monkeypatch, "measures.py")
    assert all(code_fingerprint(r) == before[r] for r in rules)
    assert code_fingerprint("bp", ("angles",)) != probed
    _edited(monkeypatch, "train.py")
    assert all(code_fingerprint(r) != before[r] for r in rules)


def test_a_key_covers_the_resolved_config_and_the_code(monkeypatch, fresh_fingerprints) -> None:
    full = cache.resolve(TINY)
    assert run_key(TINY) == run_key(full)  # defaults spelled out: the same run
    assert run_key(TINY) != run_key({**TINY, "seed": 1})
    assert run_key(TINY) != run_key({**TINY, "lr": full["lr"] / 2})
    assert run_key(TINY) != run_key(TINY, ("angles",))
    key = run_key(TINY)
    _edited(monkeypatch, "bp.py")
    assert run_key(TINY) != key


def test_run_experiment_runs_the_resolved_config() -> None:
    """The key describes the run: what ``run_experiment`` ran is what ``resolve`` says."""
    from rhmlib.train import run_experiment

    assert json.loads(json.dumps(run_experiment(**TINY).config)) == cache.resolve(TINY)


def test_cache_roundtrip_and_corrupt_records(tmp_path) -> None:
    configs = [{**TINY, "seed": s} for s in range(2)]
    first = run_sweep(configs, root=tmp_path)
    assert set(first[0]) == {"key", "code", "config", "device", "machine", "result"}
    assert first[0]["config"] == cache.resolve(configs[0]) and first[0]["device"] == "cpu"
    assert first[0]["code"] == code_fingerprint("bp")
    assert "config" not in first[0]["result"]  # stored once
    assert missing(configs, root=tmp_path) == []
    assert run_sweep(configs, root=tmp_path) == first  # loaded, not recomputed
    path = cache.run_path(first[0]["key"], tmp_path)
    path.write_text("{not json")
    with pytest.warns(UserWarning, match="corrupt cache"):
        assert load_run(configs[0], root=tmp_path) is None
    moved = {**first[1], "key": first[0]["key"]}  # a record under another run's key
    path.write_text(json.dumps(moved))
    with pytest.warns(UserWarning, match="corrupt cache"):
        redone = run_sweep(configs, root=tmp_path)
    assert [r["result"]["history"] for r in redone] == [r["result"]["history"] for r in first]


def test_a_code_edit_makes_exactly_that_rule_s_runs_stale(
        tmp_path, monkeypatch, fresh_fingerprints) -> None:
    monkeypatch.setitem(sweeps.SWEEPS, "tiny_bp", lambda: [{**TINY, "seed": s} for s in (0, 1)])
    monkeypatch.setitem(sweeps.SWEEPS, "tiny_fa", lambda: [{**TINY, "rule": "fa"}])
    run_sweep("tiny_bp", root=tmp_path)
    run_sweep("tiny_fa", root=tmp_path)
    _edited(monkeypatch, "fa.py")
    assert len(load_sweep("tiny_bp", tmp_path)) == 2
    with pytest.raises(sweeps.StaleResults) as caught:
        load_sweep("tiny_fa", tmp_path)
    message = str(caught.value)
    assert "'tiny_fa'" in message and "1 stale" in message and "missing" not in message
    assert "python -m rhmlib.sweeps tiny_fa --jobs 2" in message
    assert isinstance(caught.value, RuntimeError)
    assert (caught.value.sweep, caught.value.stale, caught.value.missing) == ("tiny_fa", 1, 0)
    # Recomputing redoes that run only; the stale record stays until pruned.
    assert missing("tiny_bp", tmp_path) == [] and len(missing("tiny_fa", tmp_path)) == 1
    run_sweep("tiny_fa", root=tmp_path)
    assert len(list((tmp_path / "runs").glob("*.json"))) == 4
    kept = {k: sweeps.SWEEPS[k] for k in ("tiny_bp", "tiny_fa")}
    monkeypatch.setattr(sweeps.registry, "SWEEPS", kept)
    assert len(sweeps.prune(tmp_path)) == 1
    assert len(load_sweep("tiny_fa", tmp_path)) == 1


def test_load_sweep_never_computes(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sweeps.SWEEPS, "tiny", lambda: [{**TINY, "seed": s} for s in range(3)])
    run_sweep([{**TINY, "seed": 0}], root=tmp_path)
    with pytest.raises(sweeps.MissingResults) as caught:
        load_sweep("tiny", tmp_path)
    assert type(caught.value) is sweeps.MissingResults  # none stale
    assert "2 missing of its 3 runs" in str(caught.value)
    assert len(list((tmp_path / "runs").glob("*.json"))) == 1


def test_prune_deletes_only_runs_no_sweep_uses(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sweeps.registry, "SWEEPS", {"tiny": lambda: [{**TINY, "seed": 0}]})
    records = run_sweep([{**TINY, "seed": s} for s in range(2)], root=tmp_path)
    assert [p.stem for p in sweeps.prune(root=tmp_path)] == [records[1]["key"]]
    assert load_run({**TINY, "seed": 0}, root=tmp_path) is not None


# -- a cache that cannot lie (issue #11) ----------------------------------------------------

PROBED = Run(TINY, ("angles",))
execute_module = importlib.import_module("rhmlib.sweeps.execute")  # not the function


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict:
    """A valid record of :data:`PROBED` (result and angles), as stored."""
    return next(execute([PROBED], tmp_path_factory.mktemp("good")))


def _set(*where: str | int, to: object) -> Callable[[dict], None]:
    def edit(record: dict) -> None:
        for step in where[:-1]:
            record = record[step]
        record[where[-1]] = to
    return edit


def _drop(*where: str) -> Callable[[dict], None]:
    def edit(record: dict) -> None:
        for step in where[:-1]:
            record = record[step]
        del record[where[-1]]
    return edit


def _history(name: str, value: object) -> Callable[[dict], None]:
    return _set("result", "history", name, to=value)


# Each way a record can be wrong, and what the warning says about it: the record as
# ``record -> None`` (edited, then written with json.dumps: bare NaN/Infinity allowed), or
# the file as ``path -> None``.
RECORD_EDITS = {
    "garbage history": (_set("result", "history", to={"step": "x"}), "result.history lacks"),
    "history of text": (_history("loss", ["a", "b"]), r"result.history.loss\[0\] is 'a'"),
    "history of uneven lists": (lambda r: r["result"]["history"]["epoch"].pop(),
                                "lengths"),
    "history accuracy above 1": (_history("train_accuracy", [0.5, 1.5]),
                                 r"train_accuracy\[1\] is 1.5"),
    "no stages": (lambda r: r["result"].update(stages=[]), "not a list of stages"),
    "stage stopped oddly": (lambda r: r["result"]["stages"][0].update(stopped="bored"),
                            r"stages\[0\].stopped is 'bored'"),
    "best step after the end": (lambda r: r["result"]["stages"][0].update(best_step=10**6),
                                "is not within its"),
    "empty history": (lambda r: [v.clear() for v in r["result"]["history"].values()],
                      "not one length above 0"),
    "missing history": (_drop("result", "history"), r"result lacks \['history'\]"),
    "text accuracy": (_set("result", "test_accuracy", to="0.9"), "result.test_accuracy is"),
    "None accuracy": (_set("result", "test_accuracy", to=None), "n_test is not 0"),
    "bool accuracy": (_set("result", "train_accuracy", to=True), "train_accuracy is True"),
    "negative seconds": (_set("result", "seconds", to=-1.0), "result.seconds"),
    "probes 5": (_set("probes", to=5), "probes is 5, not an object"),
    "unknown probe": (_set("probes", "nope", to={}), "unknown fields"),
    "angles of text": (_set("probes", "angles", "cosines", 0, to="x"),
                       r"cosines\[0\] is 'x', not a list"),
    "angles for other steps": (lambda r: r["probes"]["angles"]["steps"].pop(), "rows of cosines"),
    "bare NaN": (_set("result", "test_accuracy", to=math.nan), "test_accuracy is NaN"),
    "NaN in history": (_history("loss", [math.nan, 1.0]), r"loss\[0\] is NaN"),
    "bare Infinity": (_history("epoch", [1.0, math.inf]), "bare Infinity is not JSON"),
    "wrong key": (_set("key", to="0" * 20), "its key '0000"),
    "wrong config": (_set("config", "seed", to=99), "its config is not the run's"),
    "wrong code": (_set("code", to="abc"), "its code 'abc'"),
    "both outcomes": (_set("diverged", to="no"), "exactly one of result and diverged"),
    "diverged of a number": (lambda r: r.update(diverged=1) or r.pop("result"),
                             "diverged is 1"),
    "unknown field": (_set("pid", to=1), r"unknown fields \['pid'\]"),
    "machine of a number": (_set("machine", "torch", to=2.13), r"machine.torch is 2.13"),
    "machine without its cpu": (lambda r: r["machine"].pop("cpu"), r"machine lacks \['cpu'\]"),
}
FILE_EDITS = {
    "not JSON": (lambda p: p.write_text("{not json"), "JSONDecodeError"),
    "not UTF-8": (lambda p: p.write_bytes(b'{"key": "\xff"}'), "UnicodeDecodeError"),
    "a list": (lambda p: p.write_text("[1, 2]"), "the record is .*, not an object"),
    "deeply nested": (lambda p: p.write_text('{"key": ' + "[" * 200_000 + "]" * 200_000 + "}"),
                      "nested too deep"),
    "nested deeper than records": (lambda p: p.write_text("[" * 40 + "]" * 40),
                                   "nested more than 16 deep"),
    "a directory": (lambda p: p.mkdir(), "a directory, not a regular file"),
    "a link to /dev/zero": (lambda p: p.symlink_to("/dev/zero"), "a symbolic link"),
    "a pipe": (lambda p: os.mkfifo(p), "a pipe, not a regular file"),
    "huge": (lambda p: (p.touch(), os.truncate(p, cache.MAX_RECORD_BYTES + 1)), "larger than"),
}


def _recomputed(root: Path, good: dict, path: Path, reason: str) -> None:
    """The file at ``path`` warns (naming it and ``reason``), is not used, and is recomputed."""
    with pytest.warns(UserWarning, match=f"corrupt cache {re.escape(str(path))} \\(.*{reason}"):
        assert load_run(PROBED.config, root, PROBED.probes) is None
    with pytest.warns(UserWarning, match="corrupt cache"):
        assert sweeps.absent([PROBED], root) == [PROBED]
        records = list(execute([PROBED], root))
    assert_same_record(records[0], good)
    assert stat.S_ISREG(os.lstat(path).st_mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_run(PROBED.config, root, PROBED.probes) == records[0]


@pytest.mark.parametrize("case", sorted(RECORD_EDITS))
def test_an_invalid_record_warns_and_is_recomputed(case, good, tmp_path) -> None:
    edit, reason = RECORD_EDITS[case]
    record = copy.deepcopy(good)
    edit(record)
    path = cache.run_path(good["key"], tmp_path)
    path.parent.mkdir()
    path.write_text(json.dumps(record))
    _recomputed(tmp_path, good, path, reason)


@pytest.mark.parametrize("case", sorted(FILE_EDITS))
def test_a_file_that_is_no_record_warns_and_is_recomputed(case, good, tmp_path) -> None:
    edit, reason = FILE_EDITS[case]
    path = cache.run_path(good["key"], tmp_path)
    path.parent.mkdir()
    edit(path)
    _recomputed(tmp_path, good, path, reason)
    assert Path("/dev/zero").is_char_device()


def test_the_current_records_in_results_are_valid() -> None:
    """The validator accepts every record in ``results/`` with a code fingerprint."""
    paths = sorted((cache.RESULTS_DIR / "runs").glob("*.json"))
    checked = 0
    for path in paths:
        record = cache.read_json(path)
        if "code" in record:
            config = record["config"]
            if cache.dataset_of(config) is not None:  # its data set fills v and n_c itself
                config = {k: v for k, v in config.items() if k not in ("v", "n_c")}
            full = cache.resolve(config)
            codes = {cache.fingerprint(full, tuple(record.get("probes", ())))}
            if "diverged" in record:  # it records no probes, whatever its sweep asked for
                codes |= {cache.fingerprint(full, subset) for k in range(1, len(PROBES) + 1)
                          for subset in itertools.combinations(PROBES, k)}
            code = record["code"] if record["code"] in codes else codes.pop()
            cache.check_record(record, path.stem, full, code)
            checked += 1
    print(f"{checked} current records of {len(paths)} checked")


def test_nan_is_written_as_null_and_a_legacy_nan_cosine_reads_as_null(good, tmp_path) -> None:
    record = copy.deepcopy(good)
    record["probes"]["angles"]["cosines"][0][0] = math.nan
    stored = cache.save_run(record, tmp_path)
    assert stored["probes"]["angles"]["cosines"][0][0] is None
    text = cache.run_path(good["key"], tmp_path).read_text()
    assert "NaN" not in text and "null" in text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_run(PROBED.config, tmp_path, PROBED.probes)
    assert loaded == stored and loaded["probes"]["angles"]["cosines"][0][0] is None
    # Written before strict JSON: a bare NaN, where a cosine is undefined, reads as null.
    cache.run_path(good["key"], tmp_path).write_text(json.dumps(record))
    assert "NaN" in cache.run_path(good["key"], tmp_path).read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_run(PROBED.config, tmp_path, PROBED.probes) == stored
    # A record that would not be used is not stored.
    with pytest.raises(cache.InvalidRecord, match="not stored: result.test_accuracy"):
        cache.save_run({**good, "result": {**good["result"], "test_accuracy": math.nan}},
                       tmp_path / "other")
    assert not (tmp_path / "other" / "runs").exists() or not any(
        (tmp_path / "other" / "runs").iterdir())


def test_a_killed_writer_leaves_no_half_record_and_prune_removes_its_temporary(
        good, tmp_path, monkeypatch) -> None:
    path = cache.run_path(good["key"], tmp_path)
    path.parent.mkdir()
    killed = path.with_name(f"{good['key']}.12345.0123456789ab.tmp")
    killed.write_text(json.dumps(good)[:100])  # the writer died half-way
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_run(PROBED.config, tmp_path, PROBED.probes) is None  # missing, not corrupt
    record = next(execute([PROBED], tmp_path))
    assert cache.prune({good["key"]}, tmp_path) == []  # too recent: perhaps being renamed
    old = time.time() - 2 * cache.STALE_SECONDS
    os.utime(killed, (old, old))
    assert cache.prune({good["key"]}, tmp_path) == [killed]
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    assert load_run(PROBED.config, tmp_path, PROBED.probes) == record

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    path.unlink()
    monkeypatch.setattr(cache.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cache.save_run(record, tmp_path)
    assert list(path.parent.iterdir()) == []  # neither the record nor its temporary


def test_a_lock_is_exclusive_and_prune_removes_only_the_unheld(good, tmp_path) -> None:
    lock = cache.lock_run("a" * 20, tmp_path)
    assert lock is not None and lock.path.exists()
    assert cache.lock_run("a" * 20, tmp_path) is None  # another holder (even in-process)
    stale_lock = cache.run_path("b" * 20, tmp_path).with_suffix(".lock")
    stale_lock.touch()  # its process died holding it
    assert cache.prune(set(), tmp_path) == [stale_lock]
    assert lock.path.exists()
    lock.release()
    lock.release()  # twice: nothing
    assert not lock.path.exists()
    again = cache.lock_run("a" * 20, tmp_path)
    assert again.held
    again.release()


def _holder(root: Path, key: str, seconds: float, record: dict | None,
            started: threading.Event) -> None:
    """Hold run ``key``'s lock for ``seconds`` (like another process), storing ``record``."""
    with cache.lock_run(key, root):
        started.set()
        time.sleep(seconds)
        if record is not None:
            cache.save_run(record, root)


@pytest.mark.parametrize("leaves_record", [True, False])
def test_a_run_another_process_holds_is_waited_for(good, tmp_path, monkeypatch,
                                                   leaves_record) -> None:
    """Loaded once the holder is done, not computed; computed if the holder left none."""
    calls = []
    real = execute_module.compute
    monkeypatch.setattr(execute_module, "compute",
                        lambda run, device: calls.append(run.key) or real(run, device))
    other = Run({**TINY, "seed": 7})
    started = threading.Event()
    holder = threading.Thread(target=_holder, args=(
        tmp_path, good["key"], 0.3, good if leaves_record else None, started))
    holder.start()
    started.wait()
    records = list(execute([PROBED, other], tmp_path))
    holder.join()
    assert [r["key"] for r in records] == [other.key, good["key"]]  # the held one last
    assert calls == [other.key] + ([] if leaves_record else [good["key"]])
    assert_same_record(records[1], good)
    assert sorted(p.suffix for p in (tmp_path / "runs").iterdir()) == [".json", ".json"]


CONCURRENT_SWEEP = '''
import json, os, sys, time
from pathlib import Path

import torch

torch.set_num_threads(1)
import importlib

from rhmlib.sweeps import run_sweep
from rhmlib.sweeps.execute import SerialExecutor

execute = importlib.import_module("rhmlib.sweeps.execute")

root, log, ready, configs = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4]
real = execute.compute


def counted(run, device="cpu"):
    """Note each computation in the log (one write: lines never interleave)."""
    with open(log, "a") as file:
        file.write(f"{os.getpid()} {run.key}\\n")
    time.sleep(0.2)  # so that the other process finds this run locked
    return real(run, device)


execute.compute = counted
(ready / str(os.getpid())).touch()
while len(list(ready.iterdir())) < 2:  # start together
    time.sleep(0.01)
records = run_sweep(json.loads(configs), root=root, executor=SerialExecutor())
print(json.dumps([r["key"] for r in records]))
'''


def test_two_processes_on_one_folder_compute_each_run_once(tmp_path) -> None:
    """Two sweeps at once on a fresh folder: no error, each run computed once, no torn file."""
    configs = [{**TINY, "seed": s} for s in range(6)]
    root, log, ready = tmp_path / "results", tmp_path / "computed.log", tmp_path / "ready"
    ready.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen(
        [sys.executable, "-c", CONCURRENT_SWEEP, str(root), str(log), str(ready),
         json.dumps(configs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env) for _ in range(2)]
    reads = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a torn file would warn: corrupt
        while any(proc.poll() is None for proc in procs):
            for config in configs:
                reads += load_run(config, root) is not None
            time.sleep(0.01)
    outs = [proc.communicate(timeout=60) for proc in procs]
    for proc, (_, err) in zip(procs, outs):
        assert proc.returncode == 0, err[-3000:]
    keys = [run_key(c) for c in configs]
    assert [json.loads(out) for out, _ in outs] == [keys, keys]
    computed = log.read_text().split("\n")[:-1]
    assert sorted(line.split()[1] for line in computed) == sorted(keys)  # each exactly once
    workers = {line.split()[0] for line in computed}
    print(f"computed by {len(workers)} processes; {reads} records read while written")
    assert all(load_run(c, root) is not None for c in configs)
    assert sorted(p.suffix for p in (root / "runs").iterdir()) == [".json"] * len(configs)
