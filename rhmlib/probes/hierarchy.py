"""The probe ``"hierarchy"``: does a network learn the hidden hierarchy, over training?

:class:`HierarchyRecorder` is a training callback (``run_experiment(..., callback=...)``)
that measures, at every evaluation point and on held-out inputs of the run's own test
set, two measurements of :mod:`rhmlib.probes.measures`: the synonymic sensitivity of
each layer (0: synonyms are grouped; 1: they look like new inputs) and how well a linear
decoder reads each level's hidden variables from each layer. A network that "learns the
hierarchy" has low sensitivity and high decodability of its own level at every layer.
"""

from __future__ import annotations

import math

import torch

from ..models import LayeredNet, build_model
from ..rhm import RHM
from ..rules import Batch, Rule
from ..streams import derive
from ..train import resolve
from .clock import StageClock
from .measures import linear_decodability, synonymic_sensitivity

__all__ = ["HierarchyRecorder", "PROBE_INPUTS", "untrained"]

# Held-out inputs the probes are measured on: enough for a ridge decoder of width 64 at
# every position of a layer, small enough to cost a fraction of the run.
PROBE_INPUTS = 1000


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


class HierarchyRecorder:
    """Training callback: per-layer synonymic sensitivity and decodability of every level.

    Built from a run's resolved ``config``; records ``steps`` (counted across a rule's
    stages), ``sensitivity[t][l]`` and ``decodability[t][l][k]`` (layer ``l + 1``, level
    ``k``; None where a layer does not determine that level). Probes draw from the run's
    ``probe`` stream, so the run's result is the same with or without the recorder.
    """

    def __init__(self, config: dict) -> None:
        rhm = RHM(*(config[k] for k in ("v", "n_c", "m", "s", "L")), seed=config["grammar_seed"])
        _, test, _ = rhm.splits(config["P"], config["n_test"], config["n_val"], config["seed"])
        if len(test) < 4:
            raise ValueError(f"the hierarchy probe needs n_test >= 4, got {len(test)}")
        self.rhm, self.sample = rhm, test[:PROBE_INPUTS]
        self.seed = derive(config["seed"], "probe") % 2**31
        self.clock = StageClock()
        self.steps = self.clock.steps
        self.sensitivity: list[list[float | None]] = []
        self.decodability: list[list[list[float | None]]] = []

    def __call__(self, step: int, rule: Rule, batch: Batch) -> None:
        """Measure both probes on the current model (skipped if it is not one layer per level)."""
        model = rule.model
        if model.depth != self.rhm.L:
            return
        keep = self.clock.tick(step, rule)
        del self.sensitivity[keep:], self.decodability[keep:]
        self.measure(model)

    def measure(self, model: LayeredNet) -> None:
        """Append both probes of ``model`` (one evaluation point)."""
        with torch.no_grad():
            sens = synonymic_sensitivity(model, self.rhm, self.sample, seed=self.seed)
            dec = linear_decodability(model, self.rhm, self.sample)
        self.sensitivity.append([_finite_or_none(x) for x in sens])
        self.decodability.append([[_finite_or_none(x) for x in row] for row in dec])

    def to_dict(self) -> dict:
        """JSON-ready record: ``steps``, ``sensitivity`` and ``decodability`` per step."""
        return {"steps": self.steps, "sensitivity": self.sensitivity,
                "decodability": self.decodability}


def untrained(config: dict) -> dict:
    """The probes of a run's network before training (its own initial weights): a baseline.

    ``config`` is a run's config (resolved or not); the result has the recorder's
    ``sensitivity`` and ``decodability`` for the one point, without ``steps``.
    """
    full = resolve(config)
    recorder = HierarchyRecorder(full)
    net = build_model(full["model"], full["v"], full["s"], full["L"], full["width"],
                      full["n_c"], seed=derive(full["seed"], "init"),
                      activation=full["activation"])
    recorder.measure(net)
    return {"sensitivity": recorder.sensitivity[0], "decodability": recorder.decodability[0]}
