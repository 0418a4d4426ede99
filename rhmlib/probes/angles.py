"""The probe ``"angles"``: how far a rule's update is from backprop's, over training."""

from __future__ import annotations

from dataclasses import replace

import torch

from ..rules import Batch, Rule, get_rule
from .clock import StageClock
from .measures import update_cosine

__all__ = ["AngleRecorder"]


class AngleRecorder:
    """Training callback: per-layer cosine between the rule's update and a reference rule's.

    Pass an instance as ``callback`` to :func:`rhmlib.train.train` or ``run_experiment``;
    at every evaluation point it records ``steps`` and ``cosines`` (one list per step,
    hidden layers then readout). The probe draws from its own random stream, so a run
    with the recorder follows the same trajectory as one without it.
    """

    def __init__(self, reference: str = "bp") -> None:
        self.reference = reference
        self.clock = StageClock()
        self.steps = self.clock.steps
        self.cosines: list[list[float]] = []

    def __call__(self, step: int, rule: Rule, batch: Batch) -> None:
        """Measure the cosine on the current batch and model."""
        ref = get_rule(self.reference)
        ref.setup(rule.model, torch.Generator().manual_seed(0))
        probe = replace(batch, generator=torch.Generator().manual_seed(step))
        del self.cosines[self.clock.tick(step, rule):]
        self.cosines.append(update_cosine(rule, ref, probe))

    def to_dict(self) -> dict:
        """JSON-ready record: ``steps`` and per-step ``cosines``."""
        return {"steps": self.steps, "cosines": self.cosines}
