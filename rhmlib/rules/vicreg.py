"""VICReg (Bardes, Ponce, LeCun 2022), layer by layer on the RHM: no negatives.

Invariance: mean squared distance between the anchor ``z`` and the predicted context
``W_pred c``. Variance: hinge keeping each unit's standard deviation over the batch
above 1. Covariance: squared off-diagonal covariances, divided by the width. The usual
weights 25 / 25 / 1. Positive pairs as for every rule (siblings or oracle synonyms);
the predictor is ours: siblings are not two views of one thing, so a map between
them is needed.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .base import register
from .local import LocalRule, Pairs, global_twin

__all__ = ["VICReg"]


def _variance_covariance(*xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed variance and covariance terms of each ``[n, width]`` tensor of ``xs``.

    The variances are the diagonal of the covariance matrices, and the matrices of all
    tensors are one batched product: one kernel instead of a dozen small ones per layer.
    """
    x = torch.stack(xs)
    x = x - x.mean(1, keepdim=True)
    cov = torch.bmm(x.transpose(1, 2), x) / (x.shape[1] - 1)
    var = cov.diagonal(dim1=1, dim2=2)
    variance = F.relu(1 - torch.sqrt(var + 1e-4)).mean(1).sum()
    covariance = ((cov.pow(2).sum((1, 2)) - var.pow(2).sum(1)) / x.shape[2]).sum()
    return variance, covariance


@global_twin
@register
class VICReg(LocalRule):
    """Variance-invariance-covariance regularisation between a node and its context."""

    name = "vicreg"
    label = "VICReg"
    family = "local"
    color = "sand"
    # Its learning-rate scan on the reference grammar (rhmlib.sweeps.contrast) chose 0.06,
    # its width scan 128 (0.996 at L = 4, 2 P*; 0.877 at 256, 0.967 at 64).
    defaults = {**LocalRule.defaults, "lr": 0.06, "width": 128}

    def __init__(self, invariance: float = 25.0, variance: float = 25.0,
                 covariance: float = 1.0, **common: object) -> None:
        super().__init__(**common)  # type: ignore[arg-type]
        for key, value in (("invariance", invariance), ("variance", variance),
                           ("covariance", covariance)):
            if not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ValueError(f"{key} must be a finite number >= 0, got {value!r}")
        self.weights = (float(invariance), float(variance), float(covariance))

    def make_heads(self, gen: torch.Generator) -> list[nn.Module]:
        """One linear predictor per self-supervised layer."""
        return self.predictors(gen)

    def options(self) -> dict:
        """The three weights, plus the common options."""
        inv, var, cov = self.weights
        return {**super().options(), "invariance": inv, "variance": var, "covariance": cov}

    def pair_loss(self, i: int, pairs: Pairs, gen: torch.Generator) -> torch.Tensor:
        """Weighted sum of the invariance, variance and covariance terms of layer ``i``."""
        z = pairs.z.reshape(-1, pairs.z.shape[-1])
        p = self.heads[i](pairs.c).reshape(-1, pairs.z.shape[-1])
        inv, var, cov = self.weights
        variance, covariance = _variance_covariance(z, p)
        return inv * F.mse_loss(z, p) + var * variance + cov * covariance
