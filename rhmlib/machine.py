"""Which CPU and kernels computed a run: stored in every record.

Floating-point sums are rounded differently by the AVX-512, AVX2 and portable kernels of
MKL (matrix products) and ATen (element-wise ops, reductions), and a few hundred training
steps amplify the difference into another accuracy within the seed-to-seed spread
(``benchmarks/bench_kernels.py`` measures it). A record's :func:`machine` tells the
recompute test whether to expect the same bits (same CPU, kernels and torch) or
agreement within the seed spread (:mod:`rhmlib.sweeps.replicate`).
"""

from __future__ import annotations

import functools
import os
import platform
import sys
from pathlib import Path

__all__ = ["machine"]


@functools.cache  # the CPU does not change while a process runs
def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    line = next((ln for ln in text.splitlines() if ln.startswith("model name")), "")
    return line.partition(":")[2].strip() or platform.machine()


def machine() -> dict[str, str]:
    """The CPU, kernel path, MKL branch and builds computing in this process."""
    import torch

    return {"cpu": _cpu_model(), "capability": torch.backends.cpu.get_cpu_capability(),
            "mkl_cbwr": os.environ.get("MKL_CBWR", ""), "torch": torch.__version__,
            "python": ".".join(map(str, sys.version_info[:3]))}
