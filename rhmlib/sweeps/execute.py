"""Computing runs: one run (:func:`compute`), and executors that compute many at once.

An executor maps a function over items and yields the results as they complete:
:class:`SerialExecutor` (in this process), :class:`ProcessExecutor` (local processes,
the default) and :class:`RayExecutor` (a Ray cluster, ``pip install rhmlib[ray]``).
:func:`execute` stores each record as it arrives, so an interrupted sweep resumes where
it stopped, and computes a run only while it holds the run's lock, so that sweeps started
at once on one folder share their runs rather than compute them twice.

Local workers never outlive their parent: they end with it whatever ends it (a signal,
even ``SIGKILL``), and an interrupt of the parent ends the runs in progress at once
rather than wait for them (their records would be thrown away).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import NamedTuple, Protocol, TypeVar

import torch
from tqdm.auto import tqdm

from ..checks import check_choice, check_int, check_path
from ..machine import machine
from ..mnist1d import run_mnist1d
from ..probes import PROBES
from ..rules import RULES
from ..train import DEVICES, EVAL_SUBSET, TRAIN_FIELDS, TrainConfig, pick_device, run_experiment
from .cache import (
    RESULTS_DIR,
    RunLock,
    dataset_of,
    fingerprint,
    load_run,
    lock_run,
    resolve,
    run_key,
    save_run,
)

__all__ = ["DEVICES", "EXECUTORS", "MAX_JOBS", "Run", "Executor", "SerialExecutor",
           "ProcessExecutor", "RayExecutor", "make_executor", "pick_device", "cost",
           "compute", "Progress", "execute"]

EXECUTORS = ("process", "ray")
# Local workers at most: one per CPU (each run is single-threaded), two on a one-CPU
# machine so that the parallel path runs everywhere.
MAX_JOBS = max(2, os.cpu_count() or 1)
# Ray workers at most on a cluster given by address: its CPUs are not this machine's.
MAX_CLUSTER_JOBS = 100_000
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

T = TypeVar("T")
R = TypeVar("R")


class Run(NamedTuple):
    """One run of a sweep: a ``run_experiment`` config (or, with ``"dataset"``, another data
    set's, e.g. :func:`rhmlib.mnist1d.run_mnist1d`'s) and the probes it records."""

    config: dict
    probes: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The run's cache key (:func:`rhmlib.sweeps.cache.run_key`)."""
        return run_key(self.config, self.probes)


class Executor(Protocol):
    """Computes ``func`` of every item; ``map`` yields the results as they complete."""

    def map(self, func: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``func(item)`` for every item, in order of completion."""
        ...


class SerialExecutor:
    """One item after the other, in this process."""

    def map(self, func: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``func(item)`` for every item, in order."""
        return map(func, items)


class ProcessExecutor:
    """``jobs`` local worker processes, started with ``spawn`` (safe on every platform).

    It takes the next item only when a worker is free, like the other executors.
    """

    def __init__(self, jobs: int = 2) -> None:
        self.jobs = check_int("jobs", jobs, 1, MAX_JOBS)

    def map(self, func: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``func(item)`` for every item in the worker processes, in order of completion.

        Stopped early (an error, an interrupt, the caller closing it), it ends the runs
        in progress at once.
        """
        items = iter(items)
        first = list(itertools.islice(items, self.jobs))
        if not first:
            return
        pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_die_with, initargs=(os.getpid(),))
        try:
            pending = {pool.submit(func, item) for item in first}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    pending |= {pool.submit(func, item) for item in itertools.islice(items, 1)}
                    yield future.result()
        except BaseException:
            # Waiting for the runs in progress would take minutes, for records that
            # nobody stores: end them. (The pool has no public way to; Python 3.14's
            # terminate_workers() does the same.)
            for process in list((pool._processes or {}).values()):
                process.terminate()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _closed_after(results: Iterator[R]) -> Iterator[Iterator[R]]:
    """``results``, closed on leaving (if it can be: a generator can, a ``map`` cannot)."""
    try:
        yield results
    finally:
        if hasattr(results, "close"):
            results.close()


def _watch(parent: int) -> None:
    """End this process as soon as ``parent`` is no longer its parent (it died)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _die_with(parent: int) -> None:
    """Worker initializer: end the worker when process ``parent`` ends, however it ends."""
    # Ctrl-C signals the whole process group: the parent alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):  # the kernel kills the worker as its parent dies
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    else:  # elsewhere a thread watches the parent
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before the worker could ask to follow it
        os._exit(1)


def _call(func: Callable[[T], R], item: T) -> R:
    return func(item)


class RayExecutor:
    """Ray tasks of one CPU each, ``num_workers`` at a time, on the cluster at ``address``.

    Without ``address`` (and no Ray started yet) it starts a local cluster of
    ``num_workers`` CPUs. Needs the optional dependency: ``pip install rhmlib[ray]``.
    """

    def __init__(self, address: str | None = None, num_workers: int = 2) -> None:
        try:
            import ray
        except ImportError as err:
            raise ImportError("RayExecutor needs Ray, an optional dependency of rhmlib: "
                              "pip install 'rhmlib[ray]' (or pip install ray)") from err
        high = MAX_CLUSTER_JOBS if address else MAX_JOBS
        self.ray, self.address = ray, address
        self.num_workers = check_int("num_workers", num_workers, 1, high)

    def map(self, func: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``func(item)`` for every item as Ray tasks, in order of completion."""
        ray = self.ray
        if not ray.is_initialized():
            where = {"address": self.address} if self.address else {"num_cpus": self.num_workers}
            ray.init(**where, include_dashboard=False)
        task = ray.remote(num_cpus=1)(_call)
        items = iter(items)
        pending = [task.remote(func, item) for item in itertools.islice(items, self.num_workers)]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                pending += [task.remote(func, item) for item in itertools.islice(items, 1)]
                yield ray.get(done[0])
        finally:  # on an error or an interrupt, start nothing more
            if ray.is_initialized():
                for ref in pending:
                    ray.cancel(ref)


def make_executor(kind: str = "process", jobs: int = 1, address: str | None = None) -> Executor:
    """The executor ``kind`` (one of :data:`EXECUTORS`) with ``jobs`` workers.

    ``"process"`` with one job computes in this process (:class:`SerialExecutor`);
    ``jobs`` is at most :data:`MAX_JOBS`, except on a Ray cluster given by ``address``.
    """
    kind = check_choice("executor", kind, EXECUTORS)
    jobs = check_int("jobs", jobs, 1, MAX_CLUSTER_JOBS if kind == "ray" and address else MAX_JOBS)
    if kind == "process":
        return SerialExecutor() if jobs <= 1 else ProcessExecutor(jobs)
    return RayExecutor(address, num_workers=jobs)


def cost(config: dict) -> float:
    """A run's estimated cost: examples seen in training plus examples evaluated."""
    full = resolve(config)
    settings = TrainConfig(**{k: full[k] for k in TRAIN_FIELDS})
    # Every stage at its cap: the most the run can cost (it may converge sooner).
    steps = RULES[full["rule"]].n_stages * settings.budget(full["P"])
    evaluations = steps / settings.interval(full["P"])
    return steps * full["batch_size"] + evaluations * (min(full["P"], EVAL_SUBSET)
                                                      + full["n_test"] + full["n_val"])


def compute(run: Run, device: str = "cpu") -> dict:
    """Train one run on one thread and return its record (a diverged run's holds the error).

    Single-threaded because parallelism comes from running several runs at once (and
    one thread gives the same numbers whichever executor computes the run).
    """
    torch.set_num_threads(1)
    unknown = set(run.probes) - set(PROBES)
    if unknown:
        raise ValueError(f"probes must be among {sorted(PROBES)}, got {sorted(unknown)}")
    full, used = resolve(run.config), pick_device(device)
    recorders = {name: PROBES[name].recorder(full) for name in run.probes}

    def callback(*args: object) -> None:
        for recorder in recorders.values():
            recorder(*args)

    record = {"key": run.key, "code": fingerprint(full, run.probes),
              "config": full, "device": used, "machine": machine()}
    # An RHM config names no data set; another's runs through its own run function.
    runner = run_experiment if dataset_of(run.config) is None else run_mnist1d
    options = {k: v for k, v in run.config.items() if k != "dataset"}
    try:
        result = runner(**options, progress=False, callback=callback if recorders else None,
                        **({} if used == "cpu" else {"device": used}))
    except FloatingPointError as err:  # rhmlib.train.Diverged
        return {**record, "diverged": str(err)}
    outcome = result.to_dict()
    if json.loads(json.dumps(outcome.pop("config"))) != full:
        raise RuntimeError(f"run_experiment ran another config than resolve() gives, so the "
                           f"run's key would not describe it: {run.config}")
    record["result"] = outcome
    if recorders:
        record["probes"] = {name: r.to_dict() for name, r in recorders.items()}
    return record


class Progress:
    """One progress bar over runs to compute, with an ETA.

    It advances by each run's estimated :func:`cost` rather than by one per run, since
    runs differ a hundredfold.
    """

    def __init__(self, show: bool = True, desc: str = "runs") -> None:
        self.desc, self.runs, self.done = desc, 0, 0
        self._bar = tqdm(total=1, disable=not show, desc=f"{desc} 0/0", bar_format=(
            "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]"))
        self._bar.total = 0

    def add(self, runs: Iterable[Run]) -> None:
        """Count ``runs`` among those to compute."""
        runs = list(runs)
        self.runs += len(runs)
        self._bar.total += sum(cost(r.config) for r in runs)
        self._show()

    def advance(self, run: Run) -> None:
        """Count ``run`` as computed."""
        self.done += 1
        self._show(refresh=False)
        self._bar.update(cost(run.config))

    def _show(self, refresh: bool = True) -> None:
        self._bar.set_description_str(f"{self.desc} {self.done}/{self.runs}", refresh=refresh)

    def close(self) -> None:
        """Close the bar."""
        self._bar.close()


def _claim(runs: list[Run], root: Path, locks: dict[str, RunLock], others: list[Run],
           loaded: list[tuple[Run, dict]]) -> Iterator[Run]:
    """The runs to compute, each as this process takes its lock (into ``locks``).

    A run whose lock another process holds goes to ``others``; one with a valid record
    by the time its lock is taken (another process computed it) to ``loaded``.
    """
    for run in runs:
        lock = locks.get(run.key) or lock_run(run.key, root)
        if lock is None:
            others.append(run)
            continue
        locks[run.key] = lock
        record = load_run(run.config, root, run.probes)
        if record is not None:
            locks.pop(run.key).release()
            loaded.append((run, record))
            continue
        yield run


def execute(
    runs: Iterable[Run],
    root: str | Path = RESULTS_DIR,
    executor: Executor | None = None,
    device: str = "cpu",
    progress: Progress | None = None,
) -> Iterator[dict]:
    """Compute ``runs`` (costliest first) and store each record as it completes; yields them.

    ``executor`` defaults to :class:`SerialExecutor`; ``progress`` advances per record.
    A run is computed only while this process holds its lock
    (:func:`rhmlib.sweeps.cache.lock_run`), taken as the executor takes the run: a run
    another process holds is put off until the others are done, then waited for and its
    record loaded (computed here if that process left none). A run whose valid record
    exists by the time its lock is taken is loaded, not computed.
    """
    root = check_path("root", root)
    device = pick_device(device)  # before any lock is taken: a missing GPU fails here
    todo = {run.key: run for run in runs}
    pending = sorted(todo.values(), key=lambda r: cost(r.config), reverse=True)
    executor = executor or SerialExecutor()
    locks: dict[str, RunLock] = {}
    try:
        while pending:
            others: list[Run] = []
            loaded: list[tuple[Run, dict]] = []
            claimed = _claim(pending, root, locks, others, loaded)
            # Closed on any exit, at once: an interrupt that lands while this generator
            # waits at a yield must still end the workers' runs, not leave them to
            # garbage collection (the interpreter's exit would wait for them).
            with _closed_after(executor.map(functools.partial(compute, device=device),
                                            claimed)) as records:
                for record in records:
                    # Valid under its key, whichever code computed it.
                    stored = save_run(record, root)
                    run = todo.get(record["key"])
                    if run is None:
                        raise RuntimeError("a worker ran other code than this process (a file "
                                           "of rhmlib changed during the sweep?): start the "
                                           "sweep again")
                    locks.pop(run.key).release()
                    loaded.append((run, stored))
                    while loaded:
                        done, record = loaded.pop(0)
                        if progress is not None:
                            progress.advance(done)
                        yield record
            for done, record in loaded:
                if progress is not None:
                    progress.advance(done)
                yield record
            if others:  # all held by other processes: wait for the first, then look again
                locks[others[0].key] = lock_run(others[0].key, root, block=True)
            pending = others
    finally:
        for lock in locks.values():
            lock.release()
