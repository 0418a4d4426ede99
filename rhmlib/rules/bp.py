"""Backpropagation: the reference rule.

Update: ``delta_L = e`` (output error of the cross-entropy),
``delta_l = (W_{l+1}^T delta_{l+1}) * f'(a_l)``, ``dW_l = -lr * delta_l h_{l-1}^T``,
computed by autograd.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from .base import Batch, Rule, register


@register
class Backprop(Rule):
    """Plain backpropagation of the cross-entropy loss."""

    name = "bp"
    label = "BP"
    family = "backprop"
    color = "indigo"
    defaults = {"lr": 0.2}

    def loss(self, batch: Batch) -> torch.Tensor:
        """Cross-entropy of the model's logits."""
        return F.cross_entropy(self.model(batch.x), batch.y)
