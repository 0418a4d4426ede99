"""Direct random target projection (Frenkel, Lefebvre, Bol 2021).

Update: as DFA, but the hidden layers receive the *target* instead of the error:
``delta_l = (B_l (-y*)) * f'(a_l)``, ``dW_l = -lr * delta_l h_{l-1}^T`` with ``y*`` the
one-hot label (divided by the batch size, like the error of the mean loss). ``-y*``
has the sign of the true class's error, so no output error needs to travel down; the
readout alone learns from the error, ``dW_out = -lr * e h_L^T``.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from .base import Batch, register
from .dfa import DirectFeedbackAlignment


@register
class DirectRandomTargetProjection(DirectFeedbackAlignment):
    """DFA with the one-hot target in place of the output error."""

    name = "drtp"
    label = "DRTP"
    family = "feedback"
    color = "rose"
    defaults = {"lr": 0.001}

    def __init__(self) -> None:
        super().__init__(feedback="random")

    def signal(self, batch: Batch, logits: torch.Tensor) -> torch.Tensor:
        """Minus the one-hot target, per batch element."""
        return -F.one_hot(batch.y, logits.shape[1]).to(logits.dtype) / len(batch.y)

    def options(self) -> dict:
        """DRTP has no options."""
        return {}
