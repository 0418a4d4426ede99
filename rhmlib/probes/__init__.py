"""Probes: measurements of a network or a rule, recorded over training or taken live.

A *recorded* probe runs beside a cached run's training (``Run(config, probes)`` of
:mod:`rhmlib.sweeps`) and is registered once, in :data:`PROBES`: how to build its
recorder from the run's resolved config, the files of its code (part of the run's
fingerprint, :mod:`rhmlib.fingerprint`) and the shape of its record (checked when the
cache reads it, :mod:`rhmlib.sweeps.cache`). A probe only observes, drawing from its own
random stream: a run's result is the same with or without it.

The package, by concern: :mod:`.measures` (the measurements every probe is made of),
:mod:`.clock` (steps across a run's stages), one module per recorded probe
(:mod:`.angles`, :mod:`.hierarchy`, :mod:`.twins`), :mod:`.records` (their records'
shapes) and :mod:`.live` (probes the pages compute on fresh networks, not cached).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol

from ..rules import Batch, Rule
from .activity import ActivityRecorder, layer_activity
from .angles import AngleRecorder
from .clock import StageClock
from .hierarchy import PROBE_INPUTS, HierarchyRecorder, untrained
from .measures import (
    layer_errors,
    linear_decodability,
    rule_update,
    synonymic_sensitivity,
    update_cosine,
)
from .records import check_activity, check_cosines, check_hierarchy
from .twins import TwinRecorder, twin_of

__all__ = ["Recorder", "Probe", "PROBES", "rule_update", "update_cosine", "layer_errors",
           "synonymic_sensitivity", "linear_decodability", "StageClock", "AngleRecorder",
           "HierarchyRecorder", "PROBE_INPUTS", "untrained", "TwinRecorder", "twin_of",
           "ActivityRecorder", "layer_activity"]


class Recorder(Protocol):
    """A training callback that measures at every evaluation point and keeps a record."""

    def __call__(self, step: int, rule: Rule, batch: Batch) -> None:
        """Measure at ``step`` of ``rule``'s stage, on the current ``batch`` and model."""
        ...

    def to_dict(self) -> dict:
        """The JSON-ready record."""
        ...


class Probe(NamedTuple):
    """A recorded probe: its ``recorder`` (built from a run's resolved config), the
    ``files`` of its code (relative to the package) and the ``check`` of its record's
    shape (the record, and where it is in a run's record, for error messages)."""

    recorder: Callable[[dict], Recorder]
    files: tuple[str, ...]
    check: Callable[[object, str], None]


_COMMON = ("probes/measures.py", "probes/clock.py")
PROBES: dict[str, Probe] = {
    "angles": Probe(lambda config: AngleRecorder(), (*_COMMON, "probes/angles.py"),
                    check_cosines),
    "hierarchy": Probe(HierarchyRecorder, (*_COMMON, "probes/hierarchy.py"), check_hierarchy),
    "twins": Probe(lambda config: TwinRecorder(), (*_COMMON, "probes/twins.py"), check_cosines),
    "activity": Probe(lambda config: ActivityRecorder(), ("probes/clock.py", "probes/activity.py"),
                      check_activity),
}
