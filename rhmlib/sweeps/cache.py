"""The run cache: one JSON record per run, ``<root>/runs/<key>.json``.

A run's key hashes its *resolved* config (every default filled,
:func:`rhmlib.train.resolve`) and the fingerprint of the code that runs it
(:func:`rhmlib.fingerprint.code_fingerprint`): a run shared by two sweeps is computed
once, and editing one rule's code leaves that rule's records under keys nothing asks for
any more, so they are *stale* (:func:`stale`) while every other record stays valid. A
record holds ``"key"``, ``"code"`` (the fingerprint), ``"config"`` (resolved),
``"device"`` and either ``"result"`` or, for a run whose training diverged,
``"diverged"`` (the error), plus ``"probes"`` when its sweep records some. A config
with ``"dataset": "mnist1d"`` is an MNIST-1D run (:func:`rhmlib.mnist1d.resolve`); a
config without ``"dataset"`` is an RHM run, whose key is what it was before.

The cache cannot lie: a record is strict JSON (a NaN or infinity is written as
``null``), read defensively (a regular file of at most :data:`MAX_RECORD_BYTES`, nested
at most :data:`MAX_DEPTH` deep) and used only once the whole of it is checked
(:func:`check_record`); anything else warns and counts as missing, so it is recomputed.
Writers write a temporary of their own and rename it (:func:`write_json`), so a reader
never sees half a file, and a process computes a run only while it holds the run's lock
(:func:`lock_run`), so two sweeps on one folder never compute a run twice.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import stat
import time
import warnings
from collections.abc import Iterable
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no locks, so one sweep at a time per folder
    fcntl = None

from .. import mnist1d
from ..fingerprint import DATASET_FILES, code_fingerprint
from ..probes import PROBES
from ..shapes import (
    LEGACY_NAN,
    InvalidRecord,
    fields,
    is_accuracy,
    is_accuracy_or_none,
    is_int,
    is_number,
    items,
    show,
)
from ..train import STOPS
from ..train import resolve as _fill

__all__ = ["RESULTS_DIR", "MAX_RECORD_BYTES", "MAX_DEPTH", "STALE_SECONDS", "MissingResults",
           "StaleResults", "InvalidRecord", "RunLock", "dataset_of", "resolve", "fingerprint",
           "run_key", "run_path", "read_json", "check_record", "load_run", "save_run",
           "write_json", "lock_run", "stale", "prune"]

# Inside the package, so that an installed rhmlib (pip, Colab) has the book's results.
RESULTS_DIR = Path(
    os.environ.get("RHMLIB_RESULTS", Path(__file__).resolve().parents[1] / "results")
)
MAX_RECORD_BYTES = 5 * 2**20  # records are a few kB: a larger file is not one
MAX_DEPTH = 16  # records nest 5 deep
STALE_SECONDS = 60.0  # an unlocked temporary this old belongs to a writer that died


class MissingResults(RuntimeError):
    """A sweep's cached results are incomplete: some runs were never computed (or are stale).

    ``sweep`` names the sweep, ``missing`` and ``stale`` count its runs without a record
    and those whose record was computed by other code; ``needed_by`` names the sweeps
    whose configs are chosen from its results (they are regenerated after it).
    """

    def __init__(self, sweep: str, missing: int, stale: int, total: int,
                 needed_by: tuple[str, ...] = ()) -> None:
        self.sweep, self.missing, self.stale, self.total = sweep, missing, stale, total
        self.needed_by = needed_by
        what = " and ".join(part for part in (
            f"{stale} stale (computed by code that has changed since)" if stale else "",
            f"{missing} missing" if missing else "") if part)
        users = f" (needed by {', '.join(map(repr, needed_by))})" if needed_by else ""
        super().__init__(f"sweep {sweep!r}{users}: {what} of its {total} runs; regenerate "
                         f"them with\n    python -m rhmlib.sweeps "
                         f"{' '.join((sweep, *needed_by))} --jobs 2")


class StaleResults(MissingResults):
    """A sweep's cached results include runs computed by code that has changed since."""


def dataset_of(config: dict) -> str | None:
    """The data set a run config names: None for the RHM (its configs name none)."""
    dataset = config.get("dataset") if isinstance(config, dict) else None
    if dataset is not None and dataset not in DATASET_FILES:
        raise ValueError(f"dataset must be one of {sorted(DATASET_FILES)}, or left out for the "
                         f"RHM, got {dataset!r}")
    return dataset


def resolve(config: dict) -> dict:
    """The run's full config (:func:`rhmlib.train.resolve`, or its data set's), as JSON
    gives it back."""
    fill = _fill if dataset_of(config) is None else mnist1d.resolve
    return json.loads(json.dumps(fill(config)))


def fingerprint(full: dict, probes: tuple[str, ...] = ()) -> str:
    """The code fingerprint of the run of resolved config ``full`` recording ``probes``."""
    return code_fingerprint(full["rule"], probes, dataset_of(full))


def _hash(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:20]


def _key(full: dict, probes: tuple[str, ...]) -> str:
    return _hash({"config": full, "code": fingerprint(full, probes)})


def run_key(config: dict, probes: tuple[str, ...] = ()) -> str:
    """Hash of the resolved config and the code fingerprint of its rule (and ``probes``)."""
    return _key(resolve(config), tuple(probes))


def run_path(key: str, root: Path = RESULTS_DIR) -> Path:
    """Where the record of key ``key`` is stored."""
    return root / "runs" / f"{key}.json"


# -- reading -------------------------------------------------------------------------------

def _constant(name: str) -> object:
    if name == "NaN":
        return LEGACY_NAN
    raise InvalidRecord(f"bare {name} is not JSON")


def _too_deep(value: object) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                return True
            stack.extend((child, depth + 1)
                         for child in (item.values() if isinstance(item, dict) else item))
    return False


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"),
             (stat.S_ISFIFO, "a pipe"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def read_json(path: Path) -> object:
    """The JSON value in ``path``, read defensively; raises :class:`InvalidRecord`.

    Only a regular file (not a link, folder, pipe or device) of at most
    :data:`MAX_RECORD_BYTES`, strict UTF-8 JSON nested at most :data:`MAX_DEPTH` deep.
    Raises ``FileNotFoundError`` when there is no file.
    """
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise InvalidRecord(f"{_kind(info.st_mode)}, not a regular file")
    if info.st_size > MAX_RECORD_BYTES:
        raise InvalidRecord(f"larger than {MAX_RECORD_BYTES} bytes")
    # Swapped for a link, pipe or device since: O_NOFOLLOW fails, O_NONBLOCK never waits.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    with os.fdopen(os.open(path, flags), "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise InvalidRecord(f"{_kind(mode)}, not a regular file")
        data = file.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        raise InvalidRecord(f"larger than {MAX_RECORD_BYTES} bytes")
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_constant)
    except RecursionError:
        raise InvalidRecord("nested too deep") from None
    if _too_deep(value):
        raise InvalidRecord(f"nested more than {MAX_DEPTH} deep")
    return value


# -- the shape of a record -----------------------------------------------------------------

HISTORY = {
    "step": (is_int, "an integer"),
    "epoch": (is_number, "a finite number"),
    "loss": (is_number, "a finite number"),
    "train_accuracy": (is_accuracy_or_none, "an accuracy in [0, 1] or null"),
    "test_accuracy": (is_accuracy_or_none, "an accuracy in [0, 1] or null"),
    "val_score": (lambda x: x is None or is_number(x), "a finite number or null"),
}
# How each stage of a run ended (rhmlib.train.StageReport).
STAGE = {"steps": is_int, "stopped": lambda x: x in STOPS, "best_step": is_int,
         "lr": lambda x: is_number(x) and x > 0, "restarts": is_int}


def _check_result(result: object, config: dict) -> None:
    fields(result, "result", {"test_accuracy", "train_accuracy", "val_accuracy", "history",
                              "stages", "seconds"})
    if not is_accuracy(result["train_accuracy"]):
        raise InvalidRecord(f"result.train_accuracy is {show(result['train_accuracy'])}, "
                            f"not an accuracy in [0, 1]")
    for split in ("test", "val"):
        value = result[f"{split}_accuracy"]
        if not (is_accuracy(value) or value is None and config.get(f"n_{split}") == 0):
            raise InvalidRecord(f"result.{split}_accuracy is {show(value)}, not an accuracy in "
                                f"[0, 1]" + ("" if value is not None
                                             else f" (its n_{split} is not 0)"))
    if not (is_number(result["seconds"]) and result["seconds"] >= 0):
        raise InvalidRecord(f"result.seconds is {show(result['seconds'])}, not a time")
    history = fields(result["history"], "result.history", set(HISTORY))
    lengths = {items(history[name], f"result.history.{name}", ok, what)
               for name, (ok, what) in HISTORY.items()}
    if len(lengths) != 1 or 0 in lengths:
        raise InvalidRecord(f"result.history's lists have lengths {sorted(lengths)}, "
                            f"not one length above 0")
    if not isinstance(result["stages"], list) or not result["stages"]:
        raise InvalidRecord(f"result.stages is {show(result['stages'])}, not a list of stages")
    for i, stage in enumerate(result["stages"]):
        where = f"result.stages[{i}]"
        fields(stage, where, set(STAGE))
        bad = [name for name, ok in STAGE.items() if not ok(stage[name])]
        if bad:
            raise InvalidRecord(f"{where}.{bad[0]} is {show(stage[bad[0]])}, not valid")
        if not 0 <= stage["best_step"] <= stage["steps"]:
            raise InvalidRecord(f"{where}.best_step {stage['best_step']} is not within its "
                                f"{stage['steps']} steps")


FIELDS = {"key", "code", "config", "device", "machine", "result", "diverged", "probes"}
# What rhmlib.machine.machine() stores: the CPU, kernel paths and builds of a run.
MACHINE_FIELDS = {"cpu", "capability", "mkl_cbwr", "torch", "python"}


def check_record(record: object, key: str | None = None, config: dict | None = None,
                 code: str | None = None) -> dict:
    """``record`` if the whole of it has the shape of a record; raises :class:`InvalidRecord`.

    With ``key``, ``config`` (resolved) or ``code`` given, the record's must equal them.
    A legacy bare NaN among a probe's cosines becomes None (in place).
    """
    fields(record, "the record", {"key", "code", "config"}, FIELDS)
    for name, expected in (("key", key), ("code", code), ("device", None)):
        if name in record and not isinstance(record[name], str):
            raise InvalidRecord(f"its {name} is {show(record[name])}, not a string")
        if expected is not None and record[name] != expected:
            raise InvalidRecord(f"its {name} {show(record[name])} is not {show(expected)}"
                                + (" (its file name)" if name == "key" else ""))
    if "machine" in record:
        machine = fields(record["machine"], "machine", MACHINE_FIELDS, MACHINE_FIELDS)
        bad = sorted(k for k, v in machine.items() if not isinstance(v, str))
        if bad:
            raise InvalidRecord(f"its machine.{bad[0]} is {show(machine[bad[0]])}, not a string")
    if not isinstance(record["config"], dict):
        raise InvalidRecord(f"its config is {show(record['config'])}, not an object")
    if config is not None and record["config"] != config:
        raise InvalidRecord("its config is not the run's resolved config")
    if ("result" in record) == ("diverged" in record):
        raise InvalidRecord("it needs exactly one of result and diverged")
    if "diverged" in record and not isinstance(record["diverged"], str):
        raise InvalidRecord(f"its diverged is {show(record['diverged'])}, not a string")
    if "result" in record:
        _check_result(record["result"], record["config"])
    if "probes" in record:
        probes = fields(record["probes"], "probes", set(), set(PROBES))
        for name, value in probes.items():
            PROBES[name].check(value, f"probes.{name}")
    return record


def load_run(
    config: dict, root: Path = RESULTS_DIR, probes: Iterable[str] = ()
) -> dict | None:
    """The cached record of ``config``; None when missing, invalid or lacking ``probes``.

    A finished run has ``"result"``; a diverged one has ``"diverged"`` (the error) instead.
    An invalid record (:func:`read_json`, :func:`check_record`) warns, naming the file
    and what is wrong with it.
    """
    probes, full = tuple(probes), resolve(config)
    key = _key(full, probes)
    path = run_path(key, root)
    try:
        record = check_record(read_json(path), key, full, fingerprint(full, probes))
    except FileNotFoundError:
        return None
    except Exception as err:  # whatever is wrong with it, it is not used
        reason = str(err) if isinstance(err, InvalidRecord) else f"{type(err).__name__}: {err}"
        warnings.warn(f"corrupt cache {path} ({reason}); it will be recomputed", stacklevel=2)
        return None
    # A diverged run has nothing to probe: it counts as complete.
    if "result" in record and not set(probes) <= set(record.get("probes", {})):
        return None
    return record


# -- writing -------------------------------------------------------------------------------

def _finite(value: object) -> object:
    """``value`` with every NaN or infinite float (at any depth) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable, where the platform can (best effort)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json(path: Path, record: dict) -> dict:
    """Write ``record`` to ``path`` as strict JSON, atomically; returns what was written.

    NaN and infinities are written as null. The text goes to a temporary of this writer's
    own (``<name>.<pid>.<random>.tmp``, locked while written), is flushed to disk, then
    renamed onto ``path``: a reader sees the old file or the new one, never half of one.
    """
    record = _finite(record)
    text = json.dumps(record, indent=1, allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        path.rmdir()  # an empty folder in a record's place (a full one raises)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), "w",
                       encoding="utf-8") as file:
            if fcntl is not None:  # tells prune() that this temporary is being written
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return record


def save_run(record: dict, root: Path = RESULTS_DIR) -> dict:
    """Store ``record`` under its key; returns the stored record (NaN written as None).

    Raises :class:`InvalidRecord` rather than store a record that would not be used.
    """
    stored = _finite(record)
    try:
        check_record(stored)
    except InvalidRecord as err:
        raise InvalidRecord(f"run {record.get('key')!r} gave an invalid record, not "
                            f"stored: {err}") from None
    return write_json(run_path(record["key"], root), stored)


# -- locks ---------------------------------------------------------------------------------

def _same_file(fd: int, path: Path) -> bool:
    try:
        held, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (held.st_dev, held.st_ino) == (there.st_dev, there.st_ino)


def _acquire(path: Path, block: bool, create: bool = True) -> int | None:
    """A file descriptor of ``path`` holding an exclusive ``flock``; None if another has it.

    Without ``create``, None too when there is no such file (or it is a link).
    """
    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | (os.O_CREAT if create else 0)
    while True:
        try:
            fd = os.open(path, flags, 0o644)
        except OSError:
            if create:
                raise
            return None
        if fcntl is None:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            return fd
        os.close(fd)  # its holder removed it before unlocking: lock the file there now
        if not create:
            return None


class RunLock:
    """An exclusive lock on one run (:func:`lock_run`): release it, or use it in ``with``."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self._fd = path, fd

    @property
    def held(self) -> bool:
        """Whether this lock is still held."""
        return self._fd is not None

    def release(self) -> None:
        """Remove the lock file (best effort) and unlock; releasing twice does nothing."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if _same_file(fd, self.path):
                os.unlink(self.path)  # still locked: whoever opened it locks it, then retries
        except OSError:
            pass
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_run(key: str, root: Path = RESULTS_DIR, block: bool = False) -> RunLock | None:
    """The exclusive lock on run ``key`` (``<root>/runs/<key>.lock``), taken by this process.

    None when another process holds it (unless ``block``: then wait for it). A process
    computes a run only while it holds its lock. Without ``fcntl`` (not POSIX) every lock
    is granted: one sweep at a time per folder there.
    """
    path = run_path(key, root).with_suffix(".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path, block)
    return None if fd is None else RunLock(path, fd)


# -- listing and pruning -------------------------------------------------------------------

# Per record file: (modification time, size) and its config's hash (None: unreadable).
# A listing reads each record once per process, and again only when the file changes.
_CONFIG_HASHES: dict[Path, tuple[tuple[int, int], str | None]] = {}


def _computed(root: Path) -> set[str]:
    """Hashes of the resolved configs of every readable record under ``root``, any code."""
    out = set()
    for path in (root / "runs").glob("*.json"):
        try:
            info = path.stat()
        except OSError:
            continue
        stamp = (info.st_mtime_ns, info.st_size)
        cached = _CONFIG_HASHES.get(path)
        if cached is None or cached[0] != stamp:
            try:
                digest = _hash(resolve(read_json(path)["config"]))
            except Exception:  # unreadable, or a config this code no longer accepts
                digest = None
            _CONFIG_HASHES[path] = cached = (stamp, digest)
        if cached[1] is not None:
            out.add(cached[1])
    return out


def stale(configs: Iterable[dict], root: Path = RESULTS_DIR) -> list[dict]:
    """Those of ``configs`` that some record under ``root`` holds, computed by any code.

    Among configs without a valid record, these are the stale ones (their code changed);
    the others were never computed. Reads every record: for error messages and listings.
    """
    computed = _computed(root)
    return [c for c in configs if _hash(resolve(c)) in computed]


def _leftovers(folder: Path) -> list[Path]:
    """Delete the temporaries and lock files in ``folder`` no process holds; their paths."""
    removed = []
    for path in sorted([*folder.glob("*.tmp"), *folder.glob("*.lock")]):
        try:
            if path.suffix == ".tmp" and time.time() - path.lstat().st_mtime < STALE_SECONDS:
                continue  # perhaps a writer between its write and its rename
        except FileNotFoundError:
            continue
        fd = _acquire(path, block=False, create=False)
        if fd is not None:
            RunLock(path, fd).release()  # removes it while holding it
            removed.append(path)
    return removed


def prune(keep: Iterable[str], root: Path = RESULTS_DIR) -> list[Path]:
    """Delete the records under ``root`` whose key is not in ``keep``; returns their paths.

    Also deletes (and returns) the temporaries of writers that died and the lock files
    no process holds.
    """
    keep = set(keep)
    orphans = [p for p in sorted((root / "runs").glob("*.json")) if p.stem not in keep]
    for path in orphans:
        path.unlink(missing_ok=True)
    return orphans + _leftovers(root / "runs")
