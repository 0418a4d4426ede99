"""The probe ``"activity"``: how many of each layer's units a network uses, over training.

A rule whose layers fall silent (ReLU units that no input of a batch drives above zero)
keeps less of its input than a random network does: the probe tells that cause of a
failure from others. Measured on the run's current training batch, so it needs no data
set of its own and draws nothing.
"""

from __future__ import annotations

import torch

from ..rules import Batch, Rule
from .clock import StageClock

__all__ = ["ActivityRecorder", "layer_activity"]


def layer_activity(model: torch.nn.Module, x: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per hidden layer of ``model`` on inputs ``x``: the fraction of units (channels) that
    no input and position drives above zero, and the mean fraction of active unit values."""
    with torch.no_grad():
        hs = model.features(x)
    silent, active = [], []
    for h in hs:
        on = (h > 0).reshape(-1, h.shape[-1])
        silent.append(float((~on.any(0)).float().mean()))
        active.append(float(on.float().mean()))
    return silent, active


class ActivityRecorder:
    """Training callback: per layer, silent units and active fraction at every evaluation."""

    def __init__(self) -> None:
        self.clock = StageClock()
        self.steps = self.clock.steps
        self.silent: list[list[float]] = []
        self.active: list[list[float]] = []

    def __call__(self, step: int, rule: Rule, batch: Batch) -> None:
        """Measure on the current batch and model."""
        keep = self.clock.tick(step, rule)
        del self.silent[keep:], self.active[keep:]
        silent, active = layer_activity(rule.model, batch.x)
        self.silent.append(silent)
        self.active.append(active)

    def to_dict(self) -> dict:
        """JSON-ready record: ``steps``, and per step ``silent`` and ``active`` per layer."""
        return {"steps": self.steps, "silent": self.silent, "active": self.active}
