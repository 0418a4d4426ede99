"""What pinning the CPU kernels costs and changes, in one run.

    python benchmarks/bench_kernels.py

Each case recomputes one run in a fresh process (the variables are read once, when
torch first computes) under: the CPU's own kernels, the AVX2 kernels (what an AVX-512
CPU would share with an AVX2 one: ``ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2``), and the
portable ones (ATen's default path, MKL's COMPATIBLE branch). It prints the
seconds, the test accuracy, and how far the loss curve moved from the CPU's own kernels
(relative difference at the first point and at the worst one), and the time ratios.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, time
import torch
from rhmlib.sweeps.execute import Run, compute
run = Run(json.loads(sys.argv[1]))
start = time.perf_counter()
record = compute(run)
print(json.dumps({"capability": torch.backends.cpu.get_cpu_capability(),
                  "seconds": time.perf_counter() - start,
                  "accuracy": record["result"]["test_accuracy"],
                  "loss": record["result"]["history"]["loss"]}))
"""
REFERENCE = {"v": 16, "n_c": 16, "m": 4, "s": 2, "L": 3}
CASES = {
    "bp, width 64": {**REFERENCE, "P": 2000, "rule": "bp", "steps": 1500},
    "clapp oracle, P=250": {**REFERENCE, "P": 250, "rule": "clapp", "seed": 8,
                            "rule_options": {"pairs": "oracle"}},
    "clapp, width 256": {**REFERENCE, "P": 2000, "rule": "clapp", "width": 256, "steps": 300,
                         "rule_options": {"readout_steps": 300}},
    "infonce, width 256": {**REFERENCE, "P": 1000, "rule": "infonce", "width": 256,
                           "n_test": 2000},
}
# Empty: the variable unset, the CPU's own kernels.
KERNELS = {"own": {"ATEN_CPU_CAPABILITY": "", "MKL_CBWR": ""},
           "pinned AVX2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"},
           "portable": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}}


def measure(config: dict, variables: dict[str, str]) -> dict:
    """One run in a fresh single-threaded process with ``variables`` set (or unset if empty)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for name, value in variables.items():
        if value:
            env[name] = value
        else:
            env.pop(name, None)
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(config)], env=env,
                         capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Print each case under each kernel choice, against the CPU's own kernels."""
    for case, config in CASES.items():
        base = None
        for name, variables in KERNELS.items():
            r = measure(config, variables)
            base = base or r
            rel = [abs(a - b) / abs(b) for a, b in zip(r["loss"], base["loss"])]
            print(f"{case:20s} {name:12s} {r['capability']:8s} {r['seconds']:6.1f} s "
                  f"({r['seconds'] / base['seconds']:.2f}x)  test {r['accuracy']:.4f}  "
                  f"loss[0] rel {rel[0]:.1e}  worst rel {max(rel):.1e}", flush=True)


if __name__ == "__main__":
    main()
