"""Cached experiments: named sweeps of ``run_experiment`` configs, one JSON record per run.

Chapters and plots only load (:func:`load_sweep`): a sweep whose results are missing or
were computed by code that has changed since raises :class:`MissingResults` (or
:class:`StaleResults`) naming the command that regenerates them. Computing is for the
command line (and the tests)::

    python -m rhmlib.sweeps --all --jobs 2      # --list: what is missing or stale

The package, by concern: :mod:`.cache` (keys, records, stale runs, pruning),
:mod:`.variants` (a curve's label, rule and options), :mod:`.execute` (computing runs:
executors, devices) and one module of sweep definitions per chapter (:mod:`.backprop`,
:mod:`.feedback`, :mod:`.local`, :mod:`.contrast`, :mod:`.mnist1d`, :mod:`.recipes`). A
sweep can ask for probes recorded beside each result (``"probes"``: e.g. the update angles
to backprop over training).
"""

from __future__ import annotations

from .registry import (
    REFERENCE,
    RESULTS_DIR,
    SWEEPS,
    MissingResults,
    Run,
    StaleResults,
    absent,
    configs_of,
    load_run,
    load_sweep,
    missing,
    one_reading,
    prune,
    run_key,
    run_sweep,
    runs_of,
    sweep,
)

__all__ = [
    "SWEEPS", "REFERENCE", "RESULTS_DIR", "MissingResults", "StaleResults", "Run", "sweep",
    "configs_of", "runs_of", "absent", "missing", "load_sweep", "one_reading", "run_sweep",
    "prune", "load_run", "run_key",
]

# The chapters' modules register their sweeps in the registry.
from . import backprop, contrast, feedback, local, mnist1d, recipes  # noqa: E402, F401
