"""Latency of each live widget's default action, first and second click, in one process.

    python benchmarks/bench_widgets.py [--torch-threads N] [--only NAME ...]

"first" is what a reader waits for when the cell runs: building the widget, which runs
its default action once (``autorun``), including the one-time costs of the process
(imports already done, but first calls into torch, caches). "second" is one more press of
the widget's button with the same settings (for ``rhm_explorer``, which has no button: a
change of the seed slider, the redraw a reader triggers). Both are timed outside a
kernel (the widgets then print their text too; it is swallowed here): wall time, and the
process's CPU time, which for one thread is the wall time the action takes on an idle
machine (the wall time grows with whatever else runs).

``--torch-threads N`` first sets torch's thread count to N, as a kernel would hold it
(Binder kernels see every host core, so N can be far more than the CPUs they may use);
each widget action picks its own count (``rhmlib.widgets._torch_threads``) and restores N.
``--keep-threads`` makes that helper a no-op, so the actions run on N threads (the
widgets before the helper), for comparison.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import time

import ipywidgets as W
import torch

from rhmlib import widgets

WIDGETS = {
    "rhm_explorer": widgets.rhm_explorer,
    "train_live": widgets.train_live,
    "masking_live": widgets.masking_live,
    "ssl_live": widgets.ssl_live,
    "playground": widgets.playground,
}


def _find(box: W.Widget, kind: type) -> list[W.Widget]:
    """Every widget of ``kind`` inside ``box`` (depth first)."""
    found = [box] if isinstance(box, kind) else []
    for child in getattr(box, "children", ()):
        found += _find(child, kind)
    return found


def _second_click(panel: W.Widget) -> None:
    buttons = _find(panel, W.Button)
    if buttons:
        buttons[0].click()
        return
    seed = next(s for s in _find(panel, W.IntSlider) if s.description == "seed")
    seed.value += 1  # rhm_explorer redraws on every change


def _spy_threads(seen: list[int], keep: bool) -> None:
    """Record torch's thread count inside every widget action (``_torch_threads``)."""
    original = getattr(widgets, "_torch_threads", None)
    if original is None:  # a version of rhmlib without the helper
        return

    @contextlib.contextmanager
    def spy(*args: object, **kwargs: object):  # noqa: ANN202
        with contextlib.nullcontext() if keep else original(*args, **kwargs):
            seen.append(torch.get_num_threads())
            yield

    widgets._torch_threads = spy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch's thread count before each action (default: torch's own)")
    parser.add_argument("--keep-threads", action="store_true",
                        help="run the actions on torch's count (no _torch_threads)")
    parser.add_argument("--only", nargs="*", choices=list(WIDGETS), default=list(WIDGETS))
    args = parser.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    load = f", load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    print(f"torch {torch.__version__}: {torch.get_num_threads()} threads outside the actions; "
          f"{cpus} CPUs usable (affinity), os.cpu_count() = {os.cpu_count()}{load}")
    seen: list[int] = []
    _spy_threads(seen, args.keep_threads)
    print(f"{'widget':<14}{'first (s)':>11}{'second (s)':>12}{'cpu first':>11}"
          f"{'cpu second':>12}{'threads':>9}")
    for name in args.only:
        make = WIDGETS[name]
        seen.clear()
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink):
            start, cpu = time.perf_counter(), time.process_time()
            panel = make()
            first, first_cpu = time.perf_counter() - start, time.process_time() - cpu
            start, cpu = time.perf_counter(), time.process_time()
            _second_click(panel)
            second, second_cpu = time.perf_counter() - start, time.process_time() - cpu
        if "Cannot train" in sink.getvalue():
            raise SystemExit(f"{name}: {sink.getvalue()}")
        threads = ",".join(str(n) for n in sorted(set(seen))) or f"{torch.get_num_threads()}*"
        print(f"{name:<14}{first:>11.2f}{second:>12.2f}{first_cpu:>11.2f}{second_cpu:>12.2f}"
              f"{threads:>9}")
    print("first, second: wall time of the first and second click; cpu: the process's CPU "
          "time\n(all threads), which on one thread is the wall time on an idle machine; "
          "threads: torch's\ncount inside the actions (*: no helper, torch's own count)")


if __name__ == "__main__":
    main()
