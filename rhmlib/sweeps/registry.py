"""The registry of sweeps: their definitions by name, loading and computing their runs.

The chapters' modules of :mod:`rhmlib.sweeps` register their sweeps here
(:func:`sweep`); :mod:`rhmlib.sweeps` re-exports every name.
"""


from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from ..checks import check_list, check_path
from ..rhm import REFERENCE
from . import cache
from .cache import RESULTS_DIR, MissingResults, StaleResults, load_run, run_key
from .execute import Executor, Progress, Run, execute, make_executor

__all__ = [
    "SWEEPS", "REFERENCE", "RESULTS_DIR", "MissingResults", "StaleResults", "Run", "sweep",
    "configs_of", "runs_of", "absent", "missing", "load_sweep", "one_reading", "run_sweep",
    "prune", "load_run", "run_key",
]

# Registered sweeps: name -> function returning the list of run_experiment configs.
# Definitions live in the modules of this package, one per chapter.
SWEEPS: dict[str, Callable[[], list[dict]]] = {}
# Sweep name -> which probes (names in rhmlib.probes.PROBES) each config records.
_PROBED: dict[str, Callable[[dict], tuple[str, ...]]] = {}


def sweep(
    func: Callable[[], list[dict]] | None = None,
    *,
    probes: Callable[[dict], tuple[str, ...]] | None = None,
) -> Callable:
    """Register a function returning a sweep's configs under the function's name.

    ``probes(config)`` names the probes a run of this sweep records. A sweep whose
    configs depend on another's results loads them with :func:`load_sweep`: listing it
    raises :class:`MissingResults` until those are computed.
    """

    def register(f: Callable[[], list[dict]]) -> Callable[[], list[dict]]:
        SWEEPS[f.__name__] = f
        if probes is not None:
            _PROBED[f.__name__] = probes
        return f

    return register if func is None else register(func)


# While one sweep's configs are computed, each sweep it reads is listed and loaded once:
# a sweep chosen from others' results (rates, widths) reads them through several paths,
# and the results cannot change in between. Outside such a computation nothing is kept.
_scope: dict[tuple, list[dict]] | None = None


@contextmanager
def one_reading() -> Iterator[dict[tuple, list[dict]]]:
    """Inside, each sweep is listed and loaded once (results cannot change in between);
    outside, nothing is kept, so a changed cache is always read again."""
    global _scope
    outer = _scope is None
    if outer:
        _scope = {}
    try:
        yield _scope
    finally:
        if outer:
            _scope = None


def configs_of(name_or_configs: str | Iterable[dict]) -> list[dict]:
    """The configs of a registered sweep, or the given list itself."""
    if isinstance(name_or_configs, str):
        if name_or_configs not in SWEEPS:
            raise ValueError(f"sweep must be one of {sorted(SWEEPS)}, got {name_or_configs!r}")
        with one_reading() as seen:
            key = ("configs", name_or_configs)
            if key not in seen:
                seen[key] = SWEEPS[name_or_configs]()
            return list(seen[key])
    configs = check_list("name_or_configs", name_or_configs, allow_empty=True)
    if not all(isinstance(c, dict) for c in configs):
        raise TypeError("name_or_configs must be a sweep's name or a list of config dicts")
    return configs


def runs_of(name_or_configs: str | Iterable[dict] | Iterable[Run]) -> list[Run]:
    """The runs of a sweep: its configs, each with the probes the sweep records for it.

    Runs given as such (configs with their probes, of one sweep or several) stay as they are.
    """
    probed = None
    if isinstance(name_or_configs, str):
        probed = _PROBED.get(name_or_configs)
    else:
        name_or_configs = check_list("name_or_configs", name_or_configs, allow_empty=True)
        if name_or_configs and all(isinstance(run, Run) for run in name_or_configs):
            return name_or_configs
    return [Run(c, tuple(probed(c)) if probed else ()) for c in configs_of(name_or_configs)]


def _records(runs: list[Run], root: Path) -> list[dict | None]:
    return [load_run(run.config, root, run.probes) for run in runs]


def _root(root: object) -> Path:
    """``root`` (str or path) as a Path; a folder, or a path where one can be made."""
    root = check_path("root", root)
    if root.exists() and not root.is_dir():
        raise ValueError(f"root must be a directory, got the file {str(root)!r}")
    return root


def absent(runs: list[Run], root: str | Path = RESULTS_DIR) -> list[Run]:
    """The runs without a valid cached record (stale, never computed, or lacking a probe)."""
    return [run for run, record in zip(runs, _records(runs, _root(root))) if record is None]


def missing(name_or_configs: str | Iterable[dict], root: str | Path = RESULTS_DIR) -> list[dict]:
    """Configs of a sweep without a valid cached record (see :func:`absent`)."""
    return [run.config for run in absent(runs_of(name_or_configs), root)]


def load_sweep(name: str, root: str | Path = RESULTS_DIR) -> list[dict]:
    """Records of every run of sweep ``name``, finished and diverged; never computes.

    Raises :class:`StaleResults` when some runs were computed by code that has changed
    since, else :class:`MissingResults` when some were never computed.
    """
    root = _root(root)
    if not isinstance(name, str):
        raise TypeError(f"name must be a sweep's name (str), got {name!r}")
    with one_reading() as seen:
        key = ("records", name, root)
        if key not in seen:
            seen[key] = _load(name, root)
        return list(seen[key])


def _load(name: str, root: Path) -> list[dict]:
    try:
        runs = runs_of(name)
    except MissingResults as err:  # its configs are chosen from another sweep's results
        raise type(err)(err.sweep, err.missing, err.stale, err.total,
                        (*err.needed_by, name)) from None
    records = _records(runs, root)
    todo = [run.config for run, record in zip(runs, records) if record is None]
    if todo:
        n_stale = len(cache.stale(todo, root))
        error = StaleResults if n_stale else MissingResults
        raise error(name, len(todo) - n_stale, n_stale, len(runs))
    return records


def run_sweep(
    name_or_configs: str | Iterable[dict] | Iterable[Run],
    root: str | Path = RESULTS_DIR,
    jobs: int = 1,
    progress: bool | Progress | None = None,
    executor: Executor | None = None,
    device: str = "cpu",
) -> list[dict]:
    """Records of every run (:func:`runs_of`), computing only those without a valid record.

    Computes with ``executor`` (default: ``jobs`` local processes, or this process for
    one job) on ``device`` (see :func:`rhmlib.sweeps.execute.pick_device`). Diverged
    runs are among the records (see :func:`rhmlib.stats.diverged`). Sweeps run at
    once on one ``root`` (by several processes) share their runs: each is computed once
    (see :func:`rhmlib.sweeps.execute.execute`). ``progress``: whether to show a bar
    (default: when stderr is a terminal), or the caller's bar, which stays open.
    """
    root, runs = _root(root), runs_of(name_or_configs)
    records = {run.key: record for run, record in zip(runs, _records(runs, root))}
    todo = [run for run in runs if records[run.key] is None]
    if isinstance(progress, Progress):
        bar = progress
    else:
        show = sys.stderr.isatty() if progress is None else progress
        bar = Progress(show and bool(todo), desc="sweep")
    bar.add({run.key: run for run in todo}.values())
    try:
        # Closed at once on an interrupt, which ends the runs in progress (see execute).
        with closing(execute(todo, root, executor or make_executor("process", jobs), device,
                             bar)) as computed:
            for record in computed:
                records[record["key"]] = record
    finally:
        if bar is not progress:
            bar.close()
    return [records[run.key] for run in runs]


def prune(root: str | Path = RESULTS_DIR) -> list[Path]:
    """Delete cached runs no registered sweep uses (stale ones among them); returns their paths.

    Also deletes the temporaries of writers that died and lock files no process holds
    (see :func:`rhmlib.sweeps.cache.prune`). Raises :class:`MissingResults` while a
    sweep's configs cannot be listed (they depend on results not computed yet), rather
    than deleting its runs.
    """
    return cache.prune({run.key for name in SWEEPS for run in runs_of(name)}, _root(root))
