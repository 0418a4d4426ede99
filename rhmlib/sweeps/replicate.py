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
from contextlib import closing
from pathlib import Path

import numpy as np

from ..machine import machine
from ..stats import finished, mean_sem
from ..train import EVAL_SUBSET

__all__ = ["SPREADS", "FIRST_LOSS_RTOL", "point_of", "points", "same_machine", "split_size",
           "seed_spread", "disagreements", "replicate", "main"]

# A recomputed accuracy may differ from the cached one by SPREADS standard deviations of its
# point: the seed-to-seed one, or, where larger, the binomial one of an accuracy measured on
# that many inputs (2-3 seeds of a coarse split can agree exactly by chance). Two
# independent draws differ by more than 6 sd with probability 2e-5.
SPREADS = 6.0
# The mean loss over the first evaluation interval is barely chaotic yet: an Intel
# AVX-512 CPU moved it by 2e-5 relative, AVX2 kernels instead of AVX-512 ones on one AMD
# CPU by up to 1.3e-4 (benchmarks/bench_kernels.py), while a one-line change of a rule
# moves it by more (label smoothing 0.1 on backprop: 1.6e-3; 0.05: 8e-4).
FIRST_LOSS_RTOL = 1e-3
# Accuracies compared: the finals, and each accuracy curve's first point (later points
# are not the same moment of training on another CPU: see :func:`disagreements`).
FINALS = ("test_accuracy", "train_accuracy", "val_accuracy")
FIRST_POINTS = ("train_accuracy", "test_accuracy")
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


def split_size(config: dict, metric: str) -> int:
    """How many inputs accuracy ``metric`` (a final, or ``history.<curve>``) is measured on."""
    if metric in ("test_accuracy", "history.test_accuracy"):
        return int(config["n_test"])
    if metric == "val_accuracy":
        return int(config["n_val"])
    if metric == "train_accuracy":
        return int(config["P"])
    if metric == "history.train_accuracy":  # a fixed subset of the training set
        return min(int(config["P"]), EVAL_SUBSET)
    raise ValueError(f"metric must be one of {FINALS} or history.{FIRST_POINTS}, got {metric!r}")


def _sd(values: list[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def seed_spread(records: Iterable[dict]) -> dict[str, float]:
    """Seed-to-seed standard deviation of each final accuracy and each accuracy curve's first
    point (``history.<curve>``), over a point's finished records (two or more)."""
    done = finished(records)
    if len(done) < 2:
        raise ValueError(f"a seed spread needs 2 finished runs of the point or more, "
                         f"got {len(done)}")
    spread = {key: _sd([r["result"][key] for r in done if r["result"].get(key) is not None])
              for key in FINALS}
    for key in FIRST_POINTS:
        spread[f"history.{key}"] = _sd([h[0] for r in done if (h := r["result"]["history"][key])
                                        and h[0] is not None])
    return spread


def _accuracy_disagrees(new: float, old: float, seed_sd: float, n: int) -> str | None:
    mean = (new + old) / 2
    binomial = math.sqrt(max(mean * (1 - mean), 1 / n) / n)  # never 0, even at 0 or 1
    sd = binomial if math.isnan(seed_sd) else max(seed_sd, binomial)
    if abs(new - old) <= SPREADS * sd:
        return None
    return f"{new:.6g} against {old:.6g} (seed sd {seed_sd:.3g}, binomial sd {binomial:.3g})"


def disagreements(fresh: dict, cached: dict, spread: dict[str, float]) -> list[str]:
    """How a recomputed record differs from the cached one beyond seed spread (empty: agrees).

    Compares whether each diverged, every final accuracy and each accuracy curve's first
    point (within :data:`SPREADS` standard deviations: :func:`seed_spread`'s, or the
    binomial one of its split where larger), and the first loss point within
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
    new, old = fresh["result"], cached["result"]
    pairs = {key: (new.get(key), old.get(key)) for key in FINALS}
    for key in FIRST_POINTS:
        a, b = new["history"][key], old["history"][key]
        pairs[f"history.{key}"] = (a[0] if a else None, b[0] if b else None)
    out = []
    for key, (a, b) in pairs.items():
        if (a is None) != (b is None):
            out.append(f"{key} {a} against {b}")
        elif a is not None and (why := _accuracy_disagrees(
                a, b, spread[key], split_size(cached["config"], key))):
            out.append(f"{key} {why}")
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
        with closing(execute(runs, Path(tmp) if root is None else root,
                             make_executor("process", jobs))) as computed:
            fresh = list(computed)
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
