"""Training throughput of every rule against this machine's matmul peak, in one run.

    python benchmarks/bench_training.py [--steps 300] [--threads 1]

Peak: the best of a few single-precision 512 x 512 matrix products (torch, same thread
count). Each rule trains on the reference grammar (v = n_c = 16, m = 4, s = 2, L = 3,
P = 4000) at widths 64 and 256. GFLOP/s counts backprop's work, 3x the forward pass
(forward, backward to activations and to weights), for every rule, so that it measures
how fast the network trains, not how much a rule computes. The evaluation share is that
of a run of the rule's own recipe (its steps and evaluation points), from the measured
time of a training step and of one evaluation (2,048 training and 4,000 test inputs).
"""

from __future__ import annotations

import argparse
import time

import torch

from rhmlib import RHM, build_model, rule_names, run_experiment
from rhmlib.train import TRAIN_FIELDS, TrainConfig, evaluate, resolve

GRAMMAR = {"v": 16, "n_c": 16, "m": 4, "s": 2, "L": 3}


def matmul_peak(n: int = 512, repeats: int = 20) -> float:
    """Best observed GFLOP/s of an ``n x n`` float32 matrix product."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = min(best, (time.perf_counter() - start) / repeats)
    return 2 * n**3 / best / 1e9


def forward_flops(width: int) -> float:
    """Multiply-adds x 2 of one forward pass of the hierarchical CNN per sample."""
    rhm = RHM(**GRAMMAR)
    flops, c_in, positions = 0, rhm.v, rhm.input_length
    for _ in range(rhm.L):
        positions //= rhm.s
        flops += 2 * positions * rhm.s * c_in * width
        c_in = width
    return flops + 2 * width * rhm.n_c


def _two_stage() -> set[str]:
    from rhmlib.rules import RULES
    from rhmlib.rules.local import LocalRule

    return {n for n, cls in RULES.items() if issubclass(cls, LocalRule)}


def seconds(rule: str, width: int, steps: int) -> tuple[float, int]:
    """Best of two runs with a single evaluation: wall seconds and training samples seen."""
    two_stage = rule in _two_stage()
    best = float("inf")
    for _ in range(2):
        result = run_experiment(**GRAMMAR, P=4000, rule=rule, width=width, steps=steps,
                                eval_every=steps, n_test=4000, progress=False,
                                rule_options={"readout_steps": steps} if two_stage else None)
        best = min(best, result.seconds)
    return best, (2 if two_stage else 1) * steps * 128


def evaluation_seconds(width: int) -> float:
    """Best of five: one evaluation point (a 2,048-input training subset and 4,000 tests)."""
    rhm = RHM(**GRAMMAR)
    net = build_model("cnn", rhm.v, rhm.s, rhm.L, width, rhm.n_c)
    train, test = rhm.train_test(2048, 4000)
    sets = [(rhm.one_hot(d.x), d.y) for d in (train, test)]
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for x, y in sets:
            evaluate(net, x, y)
        best = min(best, time.perf_counter() - start)
    return best


def eval_share(rule: str, step_seconds: float, eval_seconds: float) -> float:
    """The share of evaluation in a stage of ``rule``'s recipe run to its cap at P = 4,000."""
    config = resolve({**GRAMMAR, "P": 4000, "rule": rule})
    settings = TrainConfig(**{k: config[k] for k in TRAIN_FIELDS})
    steps = settings.budget(4000)
    points = steps / settings.interval(4000)
    train = steps * step_seconds
    return points * eval_seconds / (train + points * eval_seconds)


def main() -> None:
    """Print samples/s, GFLOP/s, the share of peak and of evaluation for every rule."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rules", nargs="*", default=[n for n in rule_names() if n != "readout"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    peak = matmul_peak()
    print(f"matmul peak: {peak:.1f} GFLOP/s ({args.threads} thread(s)); reference grammar, "
          f"P = 4000, batch 128, {args.steps} steps per stage\n")
    print(f"{'rule':>15} {'width':>5} {'samples/s':>10} {'GFLOP/s':>8} {'of peak':>8} "
          f"{'eval share':>10}")
    for width in (64, 256):
        flops, t_eval = 3 * forward_flops(width), evaluation_seconds(width)
        for rule in args.rules:
            wall, samples = seconds(rule, width, args.steps)
            rate = samples / wall
            gflops = rate * flops / 1e9
            share = eval_share(rule, 128 / rate, t_eval)
            print(f"{rule:>15} {width:>5} {rate:>10,.0f} {gflops:>8.2f} {gflops / peak:>8.0%} "
                  f"{share:>10.0%}", flush=True)


if __name__ == "__main__":
    main()
