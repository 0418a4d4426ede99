"""Whether recomputed runs agree with the cached ones, and a command that checks a whole point.

The guarantee (README, "Reproducibility"): on the machine that computed a record, a
recomputation gives the same bits; on any other x86 CPU, it agrees within the
seed-to-seed spread of its point (the runs whose configs differ only in their seeds).
Another CPU rounds sums differently, and a few hundred steps turn that into another
draw from (nearly) the same distribution: one run can move by about one spread, the
mean over a point's seeds by about one standard error. ::

    python -m rhmlib.sweeps.replicate bp_reference --list       # the points of a sweep
    python -m rhmlib.sweeps.replicate bp_reference --point 3    # recompute all its seeds
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..machine import machine
from ..stats import finished, mean_sem

__all__ = ["SPREADS", "FIRST_LOSS_RTOL", "ACCURACY_FLOOR", "point_of", "points", "same_machine",
           "seed_spread", "disagreements", "replicate", "main"]

# A recomputed value may differ from the cached one by SPREADS seed standard deviations of
# its point (plus ACCURACY_FLOOR for accuracies: a point whose seeds all agree has none).
# Two independent draws differ by more than 6 sd with probability 2e-5.
SPREADS = 6.0
ACCURACY_FLOOR = 0.005
# The mean loss over the first evaluation interval is barely chaotic yet: an Intel
# AVX-512 CPU moved it by 2e-5 relative, AVX2 kernels instead of AVX-512 ones on one AMD
# CPU by up to 1.3e-4 (benchmarks/bench_kernels.py), while a one-line change of a rule
# moves it by more (label smoothing 0.1 on backprop: 1.6e-3; 0.05: 8e-4).
FIRST_LOSS_RTOL = 1e-3
CURVES = ("loss", "train_accuracy", "test_accuracy")
FINALS = ("test_accuracy", "train_accuracy", "val_accuracy")
SEEDS = ("seed", "grammar_seed")


def point_of(config: dict) -> str:
    """The point a run belongs to: its resolved config without its seeds, as text."""
    return json.dumps({k: v for k, v in config.items() if k not in SEEDS}, sort_keys=True)


def points(records: Iterable[dict]) -> dict[str, list[dict]]:
    """Records grouped by point, in order of first appearance."""
    out: dict[str, list[dict]] = {}
    for record in records:
        out.setdefault(point_of(record["config"]), []).append(record)
    return out


def same_machine(record: dict) -> bool:
    """Whether ``record`` was computed by this CPU, with these kernels and this torch."""
    here = machine()
    stamp = record.get("machine") or {}
    return all(stamp.get(k) == here[k] for k in ("cpu", "capability", "mkl_cbwr", "torch"))


def _sd(values: list[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def seed_spread(records: Iterable[dict]) -> dict[str, object]:
    """Seed-to-seed standard deviation of each final value and each curve point.

    Needs two finished records or more; curve point ``i`` uses the records that reach it
    (runs that stop early have shorter curves).
    """
    done = finished(records)
    if len(done) < 2:
        raise ValueError(f"a seed spread needs 2 finished runs of the point or more, "
                         f"got {len(done)}")
    spread: dict[str, object] = {}
    for key in FINALS:
        values = [r["result"][key] for r in done if r["result"].get(key) is not None]
        spread[key] = _sd(values)
    for key in CURVES:
        length = max(len(r["result"]["history"][key]) for r in done)
        sds = [_sd([h[i] for r in done if len(h := r["result"]["history"][key]) > i
                    and h[i] is not None]) for i in range(length)]
        # A few seeds can agree at a point by chance (accuracies are fractions of a small
        # set, and late points have few runs left): no point is held to less than the
        # curve's typical spread.
        known = [sd for sd in sds if not math.isnan(sd)]
        if known:
            typical = float(np.median(known))
            sds = [typical if math.isnan(sd) else max(sd, typical) for sd in sds]
        spread[f"history.{key}"] = sds
    return spread


def _close(new: float, old: float, sd: float, floor: float) -> bool:
    tolerance = SPREADS * (0.0 if math.isnan(sd) else sd) + floor
    return abs(new - old) <= tolerance


def disagreements(fresh: dict, cached: dict, spread: dict[str, object]) -> list[str]:
    """How a recomputed record differs from the cached one beyond seed spread (empty: agrees).

    Compares whether each diverged, every final accuracy and each curve's first point
    (within :data:`SPREADS` seed deviations), and the first loss point within
    :data:`FIRST_LOSS_RTOL`. Later curve points are not compared: on another CPU a run's
    stages and rate halvings, which wait for convergence, fall at other evaluations, and
    the two curves no longer show the same moment of training.
    """
    if ("result" in fresh) != ("result" in cached):
        state = {True: "finished", False: "diverged"}
        return [f"the recomputed run {state['result' in fresh]}, the cached one "
                f"{state['result' in cached]}"]
    if "result" not in cached:
        return []
    out = []
    new, old = fresh["result"], cached["result"]
    for key in FINALS:
        a, b = new.get(key), old.get(key)
        if (a is None) != (b is None) or (a is not None
                                         and not _close(a, b, spread[key], ACCURACY_FLOOR)):
            out.append(f"{key} {a} against {b} (seed sd {spread[key]:.3g})")
    for key in CURVES:
        a, b = new["history"][key], old["history"][key]
        sds = spread[f"history.{key}"]
        for i, (x, y) in enumerate(zip(a[:1], b[:1])):
            if (x is None) != (y is None):
                out.append(f"history.{key}[{i}] {x} against {y}")
            elif x is not None:
                floor = ACCURACY_FLOOR if key != "loss" else 0.0
                sd = sds[i] if i < len(sds) else math.nan
                if not _close(x, y, sd, floor):
                    out.append(f"history.{key}[{i}] {x:.6g} against {y:.6g} (seed sd {sd:.3g})")
    a, b = new["history"]["loss"], old["history"]["loss"]
    if a and b and not math.isclose(a[0], b[0], rel_tol=FIRST_LOSS_RTOL):
        out.append(f"history.loss[0] {a[0]:.6g} against {b[0]:.6g} (rel tol {FIRST_LOSS_RTOL})")
    return out


def replicate(name: str, index: int, jobs: int = 2, root: Path | None = None) -> list[dict]:
    """Recompute every seed of point ``index`` of sweep ``name``; rows of cached vs fresh means.

    Each row: metric, cached and fresh (mean, sem, n), their difference and its 95%
    interval half-width, and whether the difference lies inside it.
    """
    from . import load_sweep, runs_of
    from .execute import execute, make_executor

    groups = points(load_sweep(name))
    if not isinstance(index, int) or not 0 <= index < len(groups):
        raise ValueError(f"point must be in [0, {len(groups) - 1}] for sweep {name!r}, "
                         f"got {index!r}")
    cached = list(groups.values())[index]
    wanted = {r["key"] for r in cached}
    runs = [run for run in runs_of(name) if run.key in wanted]
    with tempfile.TemporaryDirectory() as tmp:
        fresh = list(execute(runs, Path(tmp) if root is None else root,
                             make_executor("process", jobs)))
    rows = []
    for key in FINALS:
        old = mean_sem(r["result"][key] for r in finished(cached))  # None: left out
        new = mean_sem(r["result"][key] for r in finished(fresh))
        half = 1.96 * math.hypot(old[1], new[1])
        rows.append({"metric": key, "cached": old, "fresh": new, "difference": new[0] - old[0],
                     "interval": half, "agrees": abs(new[0] - old[0]) <= half or new == old})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command line: list a sweep's points, or recompute one and compare its means."""
    from . import SWEEPS, load_sweep

    parser = argparse.ArgumentParser(prog="python -m rhmlib.sweeps.replicate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep", choices=sorted(SWEEPS), metavar="SWEEP")
    parser.add_argument("--point", type=int, help="index of the point (see --list)")
    parser.add_argument("--list", action="store_true", help="list the sweep's points")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args(argv)
    if args.list or args.point is None:
        for i, (point, records) in enumerate(points(load_sweep(args.sweep)).items()):
            print(f"{i:4d}  {len(records)} seeds  {point}")
        return 0
    if not 1 <= args.jobs <= 64:
        parser.error(f"--jobs must be in [1, 64], got {args.jobs}")
    print(f"recomputing point {args.point} of {args.sweep} on {machine()}")
    rows = replicate(args.sweep, args.point, args.jobs)
    for row in rows:
        (m0, s0, n0), (m1, s1, n1) = row["cached"], row["fresh"]
        print(f"{row['metric']:15s} cached {m0:.4f} ± {s0:.4f} (n={n0})  fresh {m1:.4f} ± "
              f"{s1:.4f} (n={n1})  difference {row['difference']:+.4f} ± {row['interval']:.4f}  "
              + ("agrees" if row["agrees"] else "DISAGREES"))
    return 0 if all(row["agrees"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
