"""The probe ``"twins"``: how close is a local self-supervised update to its global twin's?

:func:`twin_of` sets up a local rule's global twin (the same loss and options, the top
layer's loss, or the sum of the layers' losses, backpropagated end to end) on the same
network with the local rule's heads, so that only the error's path differs.
:class:`TwinRecorder` is a training callback (``run_experiment(..., callback=...)``) for
the self-supervised rules of :mod:`rhmlib.rules.local`: at every evaluation point of the
self-supervised stage it records the cosine per self-supervised layer between the local
update and its twin's (``locality="top"``) on the current batch. Set beside the run's
final accuracy, this asks whether rules whose updates are closer to the global one learn
better.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from ..rules import Batch, Rule, get_rule
from ..rules.local import LocalRule
from .clock import StageClock
from .measures import update_cosine

__all__ = ["twin_of", "TwinRecorder"]


def twin_of(rule: LocalRule, locality: str = "top", seed: int = 0) -> LocalRule:
    """The global twin (``locality``: "top" or "sum") of set-up ``rule``, on its net and heads."""
    twin = get_rule(rule.name, **{**rule.options(), "locality": locality, "blend": 0.0})
    twin.setup(rule.model, torch.Generator().manual_seed(seed))
    twin.heads.load_state_dict(rule.heads.state_dict())
    return twin


class TwinRecorder:
    """Training callback: per-layer cosine between a local rule's update and its twin's.

    Records ``steps`` and ``cosines[t][l]`` (self-supervised layer ``l + 1``; None where
    an update is zero) during the self-supervised stage of a local rule; other stages
    (the readout) and other rules record nothing. The twin's negatives come from the
    probe's own stream, so a run with the recorder follows the same trajectory.
    """

    def __init__(self) -> None:
        self.clock = StageClock()
        self.steps = self.clock.steps
        self.cosines: list[list[float | None]] = []

    def __call__(self, step: int, rule: Rule, batch: Batch) -> None:
        """Measure the cosines on the current batch and network (local rules only)."""
        if not isinstance(rule, LocalRule) or rule.locality != "local":
            return
        twin = twin_of(rule)
        probe = replace(batch, generator=torch.Generator().manual_seed(step))
        cosines = update_cosine(rule, twin, probe)[: rule.n_ssl]
        del self.cosines[self.clock.tick(step, rule):]
        self.cosines.append([c if c == c else None for c in cosines])  # NaN: a zero update

    def to_dict(self) -> dict:
        """JSON-ready record: ``steps`` and per-step ``cosines``."""
        return {"steps": self.steps, "cosines": self.cosines}
