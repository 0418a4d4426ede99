"""Layerwise InfoNCE / CPC (van den Oord, Li, Vinyals 2018) on the RHM.

Each anchor ``z`` (a node's representation at one position) must pick its own context
``W_pred c`` among the contexts of every input of the batch at the same position: a
softmax over one positive and ``n - 1`` negatives, scores as in CLAPP (cosine over a
temperature by default, 0.5).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .base import register
from .local import LocalRule, Pairs, check_score, global_twin

__all__ = ["InfoNCE"]


@global_twin
@register
class InfoNCE(LocalRule):
    """Softmax cross-entropy of each anchor against all contexts of the batch."""

    name = "infonce"
    label = "InfoNCE"
    family = "local"
    color = "cyan"
    # Its learning-rate scan on the reference grammar (rhmlib.sweeps.contrast) chose 0.02.
    defaults = {**LocalRule.defaults, "lr": 0.02}

    def __init__(self, score: str = "cosine", temperature: float = 0.5,
                 **common: object) -> None:
        super().__init__(**common)  # type: ignore[arg-type]
        self.score, self.temperature = check_score(score, temperature)

    def make_heads(self, gen: torch.Generator) -> list[nn.Module]:
        """One linear predictor per self-supervised layer."""
        return self.predictors(gen)

    def options(self) -> dict:
        """Score and temperature, plus the common options."""
        return {**super().options(), "score": self.score, "temperature": self.temperature}

    def pair_loss(self, i: int, pairs: Pairs, gen: torch.Generator) -> torch.Tensor:
        """Cross-entropy of the batch-by-batch score matrix at every position."""
        z, p = pairs.z, self.heads[i](pairs.c)
        if self.score == "cosine":
            z, p = F.normalize(z, dim=-1), F.normalize(p, dim=-1) / self.temperature
        n, t, _ = z.shape
        logits = torch.einsum("atw,btw->tab", z, p).reshape(t * n, n)
        return F.cross_entropy(logits, torch.arange(n, device=logits.device).repeat(t))
