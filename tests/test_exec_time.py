"""Every notebook's execution time is its compute time: no cell sits waiting for a timeout.

The strict build (``built_book``, tests/conftest.py) executes each notebook the way
jupyter-book does: myst-nb runs it through nbclient (kernel ``python3``, working directory
the notebook's folder, the configured timeout). ``rhmlib.sphinxext`` turns on nbclient's
``record_timing`` there, so every code cell of the executed notebooks
(``_build/jupyter_execute``) carries the kernel's own timestamps (``metadata.execution``),
and myst-nb logs each notebook's wall time ("Executed notebook in ... seconds"). Nothing
is injected into the notebooks and nothing is executed again.

- compute: the sum over code cells of the kernel's busy time (``iopub.status.busy`` to
  ``iopub.status.idle``);
- waiting, after each cell: until the kernel is asked for the next cell (the client was
  still waiting although the kernel had finished: e.g. an ``execute_reply`` whose wake-up
  was lost makes nbclient wait for the cell timeout, nbclient#312); after the last cell:
  what the wall time leaves, less the kernel's start and stop, taken as the smallest time
  outside the cells of any notebook of the build (at most ``START_STOP_MAX_S``).

A notebook fails when its waiting exceeds ``LIMIT_S``; the message names its worst cells.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LIMIT_S = 5.0
START_STOP_MAX_S = 10.0  # a kernel start and stop beyond this counts as waiting
_EXECUTED = re.compile(r"^(\S+\.ipynb): Executed notebook in ([0-9.]+) seconds", re.M)


def _time(stamp: object) -> float:
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()


def cell_times(nb: nbformat.NotebookNode) -> list[tuple[int, float, float]]:
    """(index, busy, idle) of every executed code cell, from nbclient's record_timing."""
    times = []
    for index, cell in enumerate(nb.cells):
        timing = cell.metadata.get("execution", {}) if cell.cell_type == "code" else {}
        if "iopub.status.busy" in timing and "iopub.status.idle" in timing:
            times.append((index, _time(timing["iopub.status.busy"]),
                          _time(timing["iopub.status.idle"])))
    return times


def outside_cells(times: list[tuple[int, float, float]], wall: float) -> float:
    """Wall time not between the first cell's start and the last cell's end."""
    return wall - (times[-1][2] - times[0][1])


def waits(times: list[tuple[int, float, float]], wall: float,
          start_stop: float) -> tuple[float, dict[int, float]]:
    """(compute, waiting after each cell) of one notebook; see the module docstring."""
    compute = sum(idle - busy for _, busy, idle in times)
    after = {index: max(0.0, nxt - idle)
             for (index, _, idle), (_, nxt, _) in zip(times, times[1:])}
    after[times[-1][0]] = max(0.0, outside_cells(times, wall) - start_stop)
    return compute, after


def test_waits_attribute_a_stall_to_its_cell() -> None:
    # Three cells of 1 s; the second one's reply is found 60 s late (the cell timeout).
    times = [(0, 0.0, 1.0), (2, 1.1, 2.1), (3, 62.1, 63.1)]
    compute, after = waits(times, wall=65.0, start_stop=1.5)
    assert compute == pytest.approx(3.0)
    assert after[0] == pytest.approx(0.1) and after[2] == pytest.approx(60.0)
    assert after[3] == pytest.approx(0.4)  # 65 - 63.1 outside the cells, 1.5 of it start/stop


def test_notebook_wall_time_is_its_compute_time(built_book: tuple[Path, str]) -> None:
    build, log = built_book
    walls = {Path(path).resolve(): float(seconds) for path, seconds in _EXECUTED.findall(log)}
    assert walls, "no 'Executed notebook in ... seconds' in the build log (myst-nb's INFO)"
    timed = {}
    for source, wall in walls.items():
        executed = build / "jupyter_execute" / source.relative_to(ROOT)
        nb = nbformat.read(executed, as_version=4)
        times = cell_times(nb)
        n_code = sum(c.cell_type == "code" and bool(c.source.strip()) for c in nb.cells)
        assert len(times) == n_code, (
            f"{executed.name}: {len(times)} of {n_code} code cells carry nbclient's timing; "
            "rhmlib.sphinxext turns on record_timing for the build")
        if times:
            timed[source] = (nb, times, wall)
    start_stop = min(START_STOP_MAX_S,
                     *(outside_cells(times, wall) for _, times, wall in timed.values()))
    report, failed = [], []
    for source, (nb, times, wall) in sorted(timed.items()):
        compute, after = waits(times, wall, start_stop)
        waiting = sum(after.values())
        report.append(f"{source.name}: wall {wall:.1f} s, compute {compute:.1f} s, waiting "
                      f"{waiting:.1f} s (and {start_stop:.1f} s of kernel start and stop)")
        if waiting > LIMIT_S:
            busy = {index: idle - b for index, b, idle in times}
            worst = sorted(after, key=after.get, reverse=True)[:3]
            failed.append(report[-1] + "".join(
                f"\n    cell {i}: computed {busy[i]:.1f} s, then waited {after[i]:.1f} s: "
                f"{nb.cells[i].source.strip().splitlines()[0][:70]!r}" for i in worst))
    print("\n".join(report))
    assert not failed, (f"notebooks waiting more than {LIMIT_S} s beyond their compute "
                        "time:\n" + "\n".join(failed))
