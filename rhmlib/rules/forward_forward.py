"""Forward-Forward (Hinton 2022), adapted to the RHM's tree.

A unit of layer ``l`` sees one node, so its activity alone cannot tell a real input
from a corrupted one; the goodness is therefore measured on a pair, node and context,
as in the common form of the second seed with ``B = I`` (our choice). Activities are
length-normalised first, as Forward-Forward normalises each layer's activity vector
(``normalize=True``, our default): ``g = z . c / (|z| |c|)``. Without it, the raw
goodness ``z . c / width`` drove every unit silent in our tests (lr 3e-3 and 2e-2).
Positive pairs (siblings or oracle synonyms) should have goodness above a threshold
``theta`` that the rule owns and learns per layer, negatives (the context taken from
another input) below it; the loss is
``softplus(k (theta - g_pos)) + softplus(k (g_neg - theta))``, ``k = sharpness``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..checks import check_bool, check_float
from .base import register
from .local import LocalRule, Pairs, global_twin

__all__ = ["ForwardForward"]


class _Threshold(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(float(value)))


@global_twin
@register
class ForwardForward(LocalRule):
    """Logistic loss on the goodness of positive and negative pairs, learned threshold."""

    name = "ff"
    label = "Forward-Forward"
    family = "local"
    color = "wine"

    def __init__(self, threshold: float = 0.5, sharpness: float = 8.0, normalize: bool = True,
                 **common: object) -> None:
        super().__init__(**common)  # type: ignore[arg-type]
        if self.context == "feedback":
            raise ValueError("Forward-Forward compares z with its context directly, so their "
                             "sizes must agree: context='feedback' needs a predictor")
        if self.predictor != "shared":
            raise ValueError("Forward-Forward compares z with its context directly (no "
                             f"predictor), so predictor must be 'shared', got {self.predictor!r}")
        self.threshold = check_float("threshold", threshold, 0.0, 1e6, low_open=True)
        self.sharpness = check_float("sharpness", sharpness, 0.0, 1e6, low_open=True)
        self.normalize = check_bool("normalize", normalize)

    def make_heads(self, gen: torch.Generator) -> list[nn.Module]:
        """One learned threshold per self-supervised layer."""
        return [_Threshold(self.threshold) for _ in range(self.n_ssl)]

    def options(self) -> dict:
        """Initial threshold and sharpness, plus the common options."""
        return {**super().options(), "threshold": self.threshold, "sharpness": self.sharpness,
                "normalize": self.normalize}

    def pair_loss(self, i: int, pairs: Pairs, gen: torch.Generator) -> torch.Tensor:
        """Softplus of the margins of positive and negative goodness."""
        theta = self.heads[i].theta
        z, c, c_neg = pairs.z, pairs.c, pairs.c_neg
        if self.normalize:
            z, c, c_neg = (F.normalize(x, dim=-1) for x in (z, c, c_neg))
        else:
            z = z / z.shape[-1]
        g_pos, g_neg = (z * c).sum(-1), (z * c_neg).sum(-1)
        k = self.sharpness
        return (F.softplus(k * (theta - g_pos)) + F.softplus(k * (g_neg - theta))).mean()
