"""``python -m rhmlib.sweeps``: compute or complete the book's cached sweeps.

Every run to compute is under one progress bar (its ETA weighs runs by their estimated
cost). Sweeps whose configs depend on another sweep's results (learning rates chosen
by a scan) wait until that sweep is computed, in the same command when it is named too.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .. import sweeps as package
from . import RESULTS_DIR, MissingResults, absent, load_sweep, prune, runs_of
from .cache import stale
from .execute import DEVICES, EXECUTORS, Progress, execute, make_executor


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
    seen: set[str] = set()
    print("| sweep | runs | diverged | CPU-hours |\n| --- | ---: | ---: | ---: |")
    total = 0.0
    for name in names:
        records = load_sweep(name, root)
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
    executor = make_executor(args.executor, args.jobs, args.address)
    bar, pending = None, list(names)
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
        bar.add(todo.values())
        for _ in execute(todo.values(), root, executor, args.device, bar):
            pass
        pending = waiting
    if bar is not None:
        bar.close()


def main(argv: list[str] | None = None, root: Path = RESULTS_DIR) -> None:
    """Command line: list, compute (or complete) or prune the named sweeps under ``root``."""
    parser = argparse.ArgumentParser(prog="python -m rhmlib.sweeps", description=__doc__,
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
                        help="runs computed at once (default: one per core)")
    parser.add_argument("--executor", choices=EXECUTORS, default="process",
                        help="local processes, or Ray tasks (pip install 'rhmlib[ray]')")
    parser.add_argument("--address", default=None,
                        help="the Ray cluster to use (default: start a local one)")
    parser.add_argument("--device", choices=DEVICES, default="cpu",
                        help="where runs train; auto: cuda when available")
    args = parser.parse_args(argv)
    if args.prune:
        try:
            deleted = prune(root)
        except MissingResults as err:  # a sweep cannot list its configs yet
            raise SystemExit(f"cannot prune until every sweep is complete: {err}") from None
        records = [path for path in deleted if path.suffix == ".json"]
        leftovers = len(deleted) - len(records)
        print(f"deleted {len(records)} cached runs no sweep uses" + (
            f", and {leftovers} temporaries or lock files no process holds" if leftovers else ""))
        return
    listing = args.list or args.costs
    names = sorted(package.SWEEPS) if args.all or listing and not args.names else args.names
    if not names:
        parser.error("name a sweep or pass --all")
    unknown = sorted(set(names) - set(package.SWEEPS))
    if unknown:
        parser.error(f"unknown sweeps {unknown}; they are {sorted(package.SWEEPS)}")
    if args.costs:
        _costs(names, root)
    elif args.list:
        _list(names, root)
    else:
        _compute(names, args, root)

if __name__ == "__main__":
    main()
