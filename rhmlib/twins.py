"""How close is a local self-supervised update to its global twin's, over training?

:class:`TwinRecorder` is a training callback (``run_experiment(..., callback=...)``) for
the self-supervised rules of :mod:`rhmlib.rules.local`. At every evaluation point of the
self-supervised stage it sets up the rule's global twin (the same loss and options, the
top layer's loss backpropagated end to end: ``locality="top"``) on the current network
with the local rule's heads, and records the cosine per self-supervised layer between
the two updates on the current batch. Set beside the run's final accuracy, this asks
whether rules whose updates are closer to the global one learn better.
"""

from __future__ import annotations

import torch

from .probes import StageClock, update_cosine
from .rules import Batch, Rule, get_rule
from .rules.local import LocalRule

__all__ = ["TwinRecorder"]


class TwinRecorder:
    """Training callback: per-layer cosine between a local rule's update and its twin's.

    Records ``steps`` and ``cosines[t][l]`` (self-supervised layer ``l + 1``; None where
    an update is zero) during the self-supervised stage of a local rule; other stages
    (the readout) and other rules record nothing. The twin's negatives come from the
    probe's own stream, so a run with the recorder follows the same trajectory.
    """

    def __init__(self, config: dict | None = None) -> None:
        self.clock = StageClock()
        self.steps = self.clock.steps
        self.cosines: list[list[float | None]] = []

    def __call__(self, step: int, rule: Rule, batch: Batch) -> None:
        """Measure the cosines on the current batch and network (local rules only)."""
        if not isinstance(rule, LocalRule) or rule.locality != "local":
            return
        twin = get_rule(rule.name, **{**rule.options(), "locality": "top", "blend": 0.0})
        twin.setup(rule.model, torch.Generator().manual_seed(0))
        twin.heads.load_state_dict(rule.heads.state_dict())
        probe = Batch(batch.x, batch.y, batch.tokens, batch.hidden, batch.rhm,
                      torch.Generator().manual_seed(step))
        cosines = update_cosine(rule, twin, probe)[: rule.n_ssl]
        del self.cosines[self.clock.tick(step, rule):]
        self.cosines.append([c if c == c else None for c in cosines])  # NaN: a zero update

    def to_dict(self) -> dict:
        """JSON-ready record: ``steps`` and per-step ``cosines``."""
        return {"steps": self.steps, "cosines": self.cosines}
