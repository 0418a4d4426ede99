"""Cached experiments: named sweeps of ``run_experiment`` configs, stored as JSON.

Each run is one file ``results/runs/<key>.json`` where ``key`` hashes the config and
the library version, so a run shared by two sweeps is computed once, an interrupted
sweep resumes where it stopped, and a corrupt or stale file is recomputed, never used.
A run whose training diverges is recorded as such (``"diverged"``: the error) rather
than stopping its sweep, and a sweep can ask for probes recorded beside the result
(``"probes"``: e.g. the update angles to backprop over training).

Regenerate every cached result the book uses with::

    python -m rhmlib.sweeps --all --jobs 2

A chapter's sweeps are defined in this package's module of that chapter.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import os
import pkgutil
import sys
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import __version__
from ..probes import AngleRecorder
from ..train import run_experiment

__all__ = [
    "SWEEPS", "PROBES", "RESULTS_DIR", "config_key", "load_run", "run_sweep", "missing",
    "summarize", "sweep", "mean_sem", "crossing", "cached", "PendingSweep", "prune",
    "finished", "diverged",
]

RESULTS_DIR = Path(
    os.environ.get("RHMLIB_RESULTS", Path(__file__).resolve().parents[2] / "results")
)
# Registered sweeps: name -> function returning the list of run_experiment configs.
# Definitions live in the modules of this package, one per chapter.
SWEEPS: dict[str, Callable[[], list[dict]]] = {}
# Probes a run can record beside its result: name -> training callback with ``to_dict()``.
# A probe only observes (its own random stream), so it never changes the run or its key.
PROBES: dict[str, Callable[[], object]] = {"angles": AngleRecorder}
# Sweep name -> which probes (names in PROBES) each of its configs records.
_PROBED: dict[str, Callable[[dict], tuple[str, ...]]] = {}
REFERENCE = {"v": 16, "n_c": 16, "m": 4, "s": 2, "L": 3}


class PendingSweep(LookupError):
    """A sweep's configs depend on results of another sweep that is not complete yet."""


def cached(name: str, root: Path = RESULTS_DIR) -> list[dict]:
    """Records of a complete sweep, never computing; raises :class:`PendingSweep` if not."""
    records = [load_run(c, root, _probes_of(name, c)) for c in configs_of(name)]
    if any(r is None for r in records):
        raise PendingSweep(name)
    return records


def sweep(
    func: Callable[[], list[dict]] | None = None,
    *,
    probes: Callable[[dict], tuple[str, ...]] | None = None,
) -> Callable:
    """Register a function returning a sweep's configs under the function's name.

    ``probes(config)`` names the :data:`PROBES` a run of this sweep records.
    """

    def register(f: Callable[[], list[dict]]) -> Callable[[], list[dict]]:
        SWEEPS[f.__name__] = f
        if probes is not None:
            _PROBED[f.__name__] = probes
        return f

    return register if func is None else register(func)


def _probes_of(name_or_configs: str | Iterable[dict], config: dict) -> tuple[str, ...]:
    if isinstance(name_or_configs, str) and name_or_configs in _PROBED:
        return tuple(_PROBED[name_or_configs](config))
    return ()


def finished(records: Iterable[dict]) -> list[dict]:
    """The records whose training finished (those with a result)."""
    return [r for r in records if "result" in r]


def diverged(records: Iterable[dict]) -> list[dict]:
    """The records whose training diverged; ``record["diverged"]`` holds the error."""
    return [r for r in records if "diverged" in r]


def config_key(config: dict) -> str:
    """Hash of a config and the library version: the run's file name."""
    text = json.dumps({"config": config, "version": __version__}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _path(config: dict, root: Path) -> Path:
    return root / "runs" / f"{config_key(config)}.json"


def load_run(
    config: dict, root: Path = RESULTS_DIR, probes: Iterable[str] = ()
) -> dict | None:
    """The cached record of ``config``; None when missing, corrupt, stale or lacking ``probes``.

    A finished run has ``"result"``; a diverged one has ``"diverged"`` (the error) instead.
    """
    path = _path(config, root)
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
        outcome = (
            isinstance(record["diverged"], str) if "diverged" in record
            else 0.0 <= record["result"]["test_accuracy"] <= 1.0
        )
        valid = (
            record["key"] == config_key(config)
            and record["version"] == __version__
            and record["config"] == json.loads(json.dumps(config))
            and outcome
        )
    except (ValueError, KeyError, TypeError) as err:
        warnings.warn(f"corrupt cache {path} ({err}); it will be recomputed", stacklevel=2)
        return None
    if not valid:
        warnings.warn(f"stale cache {path}; it will be recomputed", stacklevel=2)
        return None
    # A diverged run has nothing to probe: it counts as complete.
    if "result" in record and not set(probes) <= set(record.get("probes", {})):
        return None
    return record


def _compute(config: dict, probes: tuple[str, ...] = ()) -> dict:
    """Run one config single-threaded (parallelism comes from running several)."""
    import torch

    torch.set_num_threads(1)
    unknown = set(probes) - set(PROBES)
    if unknown:
        raise ValueError(f"probes must be among {sorted(PROBES)}, got {sorted(unknown)}")
    recorders = {name: PROBES[name]() for name in probes}

    def callback(*args: object) -> None:
        for recorder in recorders.values():
            recorder(*args)

    record = {"key": config_key(config), "version": __version__, "config": config}
    try:
        result = run_experiment(**config, progress=False,
                                callback=callback if recorders else None)
    except FloatingPointError as err:
        return {**record, "diverged": str(err)}
    record["result"] = result.to_dict()
    if recorders:
        record["probes"] = {name: r.to_dict() for name, r in recorders.items()}
    return record


def write_json(path: Path, record: dict) -> None:
    """Write ``record`` to ``path`` atomically: an interrupted write never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(path)


def _save(record: dict, root: Path) -> None:
    write_json(_path(record["config"], root), record)


def _load_definitions() -> None:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


def configs_of(name_or_configs: str | Iterable[dict]) -> list[dict]:
    """The configs of a registered sweep, or the given list itself."""
    if isinstance(name_or_configs, str):
        if name_or_configs not in SWEEPS:
            raise ValueError(f"sweep must be one of {sorted(SWEEPS)}, got {name_or_configs!r}")
        return SWEEPS[name_or_configs]()
    return list(name_or_configs)


def missing(name_or_configs: str | Iterable[dict], root: Path = RESULTS_DIR) -> list[dict]:
    """Configs of a sweep without a valid cached result (or without a probe it records)."""
    return [c for c in configs_of(name_or_configs)
            if load_run(c, root, _probes_of(name_or_configs, c)) is None]


def run_sweep(
    name_or_configs: str | Iterable[dict],
    root: Path = RESULTS_DIR,
    jobs: int = 1,
    progress: bool | None = None,
) -> list[dict]:
    """Records of every config, computing (in ``jobs`` processes) only what is not cached.

    Diverged runs are among the records (see :func:`finished` and :func:`diverged`).
    """
    configs = configs_of(name_or_configs)
    records = {config_key(c): load_run(c, root, _probes_of(name_or_configs, c))
               for c in configs}
    todo = [c for c in configs if records[config_key(c)] is None]
    todo = list({config_key(c): c for c in todo}.values())
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=len(todo), disable=not show or not todo, desc="sweep")
    if jobs <= 1 or len(todo) <= 1:
        for config in todo:
            record = _compute(config, _probes_of(name_or_configs, config))
            _save(record, root)
            records[record["key"]] = record
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_compute, c, _probes_of(name_or_configs, c)) for c in todo]
            for future in as_completed(futures):
                record = future.result()
                _save(record, root)
                records[record["key"]] = record
                bar.update()
    bar.close()
    return [records[config_key(c)] for c in configs]


def mean_sem(values: Iterable[float]) -> tuple[float, float, int]:
    """Mean, standard error of the mean and count (sem is 0 for a single value)."""
    arr = np.asarray(list(values), dtype=float)
    if arr.size == 0:
        return math.nan, math.nan, 0
    sem = float(arr.std(ddof=1) / np.sqrt(arr.size)) if arr.size > 1 else 0.0
    return float(arr.mean()), sem, int(arr.size)


def _sort_key(group: tuple) -> tuple:
    """Numbers in numeric order, anything else (strings, None) after them by text."""
    return tuple((0, x, "") if isinstance(x, (int, float)) else (1, 0, str(x)) for x in group)


def summarize(
    records: list[dict], by: tuple[str, ...], metric: str = "test_accuracy"
) -> list[dict]:
    """Group records by config fields ``by``; mean, sem and count of ``metric`` per group.

    Diverged runs have no ``metric`` and are left out (count them with :func:`diverged`).
    """
    groups: dict[tuple, list[float]] = {}
    for record in finished(records):
        group = tuple(record["config"].get(k) for k in by)
        groups.setdefault(group, []).append(record["result"][metric])
    rows = []
    for group, values in sorted(groups.items(), key=lambda kv: _sort_key(kv[0])):
        mean, sem, n = mean_sem(values)
        rows.append({**dict(zip(by, group)), "mean": mean, "sem": sem, "n": n})
    return rows


def crossing(rows: list[dict], level: float = 0.9, x: str = "P") -> float:
    """Smallest ``x`` where the mean curve reaches ``level`` (log-linear interpolation).

    ``rows`` are :func:`summarize` rows sorted by ``x``; returns inf if never reached.
    """
    points = sorted((r[x], r["mean"]) for r in rows)
    for (x0, y0), (x1, y1) in zip([(math.nan, -math.inf)] + points, points):
        if y1 >= level:
            if math.isnan(x0) or y1 == y0:
                return float(x1)
            t = (level - y0) / (y1 - y0)
            return float(math.exp(math.log(x0) + t * (math.log(x1) - math.log(x0))))
    return math.inf


def prune(root: Path = RESULTS_DIR) -> list[Path]:
    """Delete cached runs that no registered sweep uses any more; returns their paths."""
    used = {config_key(c) for name in SWEEPS for c in configs_of(name)}
    orphans = [p for p in sorted((root / "runs").glob("*.json")) if p.stem not in used]
    for path in orphans:
        path.unlink()
    return orphans


def main(argv: list[str] | None = None) -> None:
    """Command line: compute (or complete) named sweeps."""
    parser = argparse.ArgumentParser(prog="python -m rhmlib.sweeps", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="sweeps to run (see --list)")
    parser.add_argument("--all", action="store_true", help="run every registered sweep")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--list", action="store_true", help="list sweeps and what is missing")
    parser.add_argument("--prune", action="store_true",
                        help="delete cached runs that no sweep uses any more")
    args = parser.parse_args(argv)
    if args.prune:
        print(f"deleted {len(prune())} cached runs no sweep uses")
        return
    names = sorted(SWEEPS) if args.all or args.list else args.names
    if not names:
        parser.error("name a sweep or pass --all")
    pending = list(names)
    while pending:
        waiting = []
        for name in pending:
            try:
                todo = missing(name)
            except PendingSweep as err:  # configs chosen from a sweep not yet complete
                print(f"{name}: waits for {err}", flush=True)
                waiting.append(name)
                continue
            print(f"{name}: {len(configs_of(name))} runs, {len(todo)} to compute", flush=True)
            if not args.list:
                run_sweep(name, jobs=args.jobs, progress=True)
        if args.list or len(waiting) == len(pending):
            if waiting and not args.list:
                raise SystemExit(f"cannot start {waiting}: name the sweeps they wait for")
            break
        pending = waiting


# Last, once every name above exists: the chapters' modules register their sweeps.
_load_definitions()
