"""``python -m rhmlib.sweeps``: compute or complete the book's cached sweeps.

Every run to compute is under one progress bar (its ETA weighs runs by their estimated
cost). Sweeps whose configs depend on another sweep's results (learning rates chosen
by a scan) wait until that sweep is computed, in the same command when it is named too.

Every option is checked before anything starts; a user's error ends the command with
one line and exit status 2, never a traceback. Interrupted (Ctrl-C, ``kill``), it ends
the runs in progress at once and keeps every finished run: the same command resumes.
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

from . import RESULTS_DIR, MissingResults, absent, load_sweep, prune, registry, run_sweep, runs_of
from .cache import stale
from .execute import DEVICES, EXECUTORS, MAX_JOBS, Progress, make_executor, pick_device

# Exit status of a command interrupted by a signal: 128 + SIGINT, as a shell reports it.
INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """Reports a user's error in one line (argparse's own prints the usage too)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Exit with status 2 and ``message`` on one line."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def _interrupt(signum: int, frame: object) -> None:
    """``kill``: stop as Ctrl-C does, so that the runs in progress end and locks go."""
    raise KeyboardInterrupt


def _list(names: list[str], root: Path) -> None:
    for name in names:
        try:
            runs = runs_of(name)
        except MissingResults as err:  # configs chosen from a sweep not yet complete
            print(f"{name}: waits for {err.sweep}")
            continue
        todo = [run.config for run in absent(runs, root)]
        n_stale = len(stale(todo, root)) if todo else 0
        print(f"{name}: {len(runs)} runs, {len(todo) - n_stale} missing, {n_stale} stale")


def _costs(names: list[str], root: Path) -> None:
    """A markdown table of each sweep's runs and the CPU-hours they took (from the cache)."""
    loaded = {name: load_sweep(name, root) for name in names}  # all complete, or nothing shown
    seen: set[str] = set()
    print("| sweep | runs | diverged | CPU-hours |\n| --- | ---: | ---: | ---: |")
    total = 0.0
    for name, records in loaded.items():
        fresh = [r for r in records if r["key"] not in seen]
        seen |= {r["key"] for r in records}
        hours = sum(r["result"]["seconds"] for r in fresh if "result" in r) / 3600
        total += hours
        print(f"| {name} | {len(records)} | {sum('diverged' in r for r in records)} | "
              f"{hours:.2f} |")
    print(f"| all ({len(seen)} distinct runs) | | | {total:.2f} |")
    print("\nCPU-hours count each run once, under the first sweep that uses it; diverged runs "
          "are not timed.")


def _compute(names: list[str], args: argparse.Namespace, root: Path) -> None:
    """Compute the named sweeps' missing runs under one bar, those that wait last."""
    executor = make_executor(args.executor, args.jobs, args.address)
    root.mkdir(parents=True, exist_ok=True)
    bar: Progress | None = None
    pending = list(names)
    try:
        while pending:
            todo, waiting = {}, []
            for name in pending:
                try:
                    runs = runs_of(name)
                except MissingResults as err:
                    print(f"{name}: waits for {err.sweep}", flush=True)
                    waiting.append(name)
                    continue
                mine = absent(runs, root)
                print(f"{name}: {len(runs)} runs, {len(mine)} to compute", flush=True)
                todo.update({run.key: run for run in mine})
            if len(waiting) == len(pending):
                raise SystemExit(f"cannot start {waiting}: name the sweeps they wait for")
            bar = bar or Progress()
            # The runs of every ready sweep at once, so that the executor is never idle
            # between two sweeps.
            run_sweep(list(todo.values()), root, executor=executor, device=args.device,
                      progress=bar)
            pending = waiting
    finally:
        if bar is not None:
            bar.close()


def _check(parser: _Parser, args: argparse.Namespace, root: Path) -> list[str]:
    """The sweeps the command is about; exits with one line on any bad option."""
    if args.executor == "process" and not 1 <= args.jobs <= MAX_JOBS:
        parser.error(f"--jobs must be in [1, {MAX_JOBS}] (one per CPU of this machine), "
                     f"got {args.jobs}")
    # The first part of the path that exists must be a folder: then root is or can be one.
    there = next(p for p in (root, *root.parents) if p.exists())
    if not there.is_dir():
        parser.error(f"the results root {str(root)!r} (RHMLIB_RESULTS) is not a directory: "
                     f"{str(there)!r} is a file")
    try:
        pick_device(args.device)
        make_executor(args.executor, args.jobs, args.address)
    except (ValueError, TypeError, ImportError) as err:
        parser.error(str(err).splitlines()[0])
    unknown = sorted(set(args.names) - set(registry.SWEEPS))
    if unknown:
        parser.error(f"unknown sweeps {unknown}; they are {sorted(registry.SWEEPS)}")
    if args.prune and args.names:
        parser.error("--prune deletes the runs no sweep uses, across every sweep: it takes "
                     f"no sweep names, got {args.names}")
    listing = args.list or args.costs
    names = sorted(registry.SWEEPS) if args.all or listing and not args.names else args.names
    if not names and not args.prune:
        parser.error("name a sweep or pass --all")
    return names


def main(argv: list[str] | None = None, root: Path = RESULTS_DIR) -> None:
    """Command line: list, compute (or complete) or prune the named sweeps under ``root``."""
    parser = _Parser(prog="python -m rhmlib.sweeps", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="sweeps to compute (see --list)")
    parser.add_argument("--all", action="store_true", help="every registered sweep")
    parser.add_argument("--list", action="store_true",
                        help="list the sweeps and how many runs are missing or stale")
    parser.add_argument("--costs", action="store_true",
                        help="print a table of the cached runs of each sweep and their CPU-hours")
    parser.add_argument("--prune", action="store_true",
                        help="delete cached runs no sweep uses (stale ones among them), and "
                        "temporaries and lock files no process holds")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help=f"runs computed at once, 1 to {MAX_JOBS} (default: one per core)")
    parser.add_argument("--executor", choices=EXECUTORS, default="process",
                        help="local processes, or Ray tasks (pip install 'rhmlib[ray]')")
    parser.add_argument("--address", default=None,
                        help="the Ray cluster to use (default: start a local one)")
    parser.add_argument("--device", choices=DEVICES, default="cpu",
                        help="where runs train; auto: cuda when available")
    args = parser.parse_args(argv)
    root = Path(root)
    names = _check(parser, args, root)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        _run(args, names, root)
    except MissingResults as err:  # --costs or --prune before the sweeps are complete
        what = "cannot prune until every sweep is complete: " if args.prune else ""
        parser.error(what + " ".join(str(err).split()))
    except KeyboardInterrupt:
        parser.exit(INTERRUPTED, "interrupted: the runs in progress were stopped, every "
                                 "finished run is kept; the same command resumes\n")
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace, names: list[str], root: Path) -> None:
    """Do what the checked options ask."""
    if args.prune:
        deleted = prune(root)
        records = [path for path in deleted if path.suffix == ".json"]
        leftovers = len(deleted) - len(records)
        print(f"deleted {len(records)} cached runs no sweep uses" + (
            f", and {leftovers} temporaries or lock files no process holds" if leftovers else ""))
    elif args.costs:
        _costs(names, root)
    elif args.list:
        _list(names, root)
    else:
        _compute(names, args, root)

if __name__ == "__main__":
    main()
