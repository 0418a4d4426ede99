"""PEPITA: forward learning with top-down feedback (Dellaferrera & Kreiman 2022;
analysed by Srinivasan, Mignacco, Sorbaro, Refinetti, Cooper, Kreiman, Dellaferrera 2024).

Two forward passes, no backward one. The first gives ``h_l`` and the error
``e = softmax - y*`` per input; the second runs on the modulated input ``x + F e``
(``F`` fixed random, input-sized) and gives ``h_l^mod``. Updates, averaged over the batch:
``dW_1 = -lr * (h_1 - h_1^mod) (x + F e)^T``, ``dW_l = -lr * (h_l - h_l^mod) (h_{l-1}^mod)^T``,
``dW_out = -lr * e (h_L^mod)^T``. ``F_ij = f_scale * U(-1, 1) * sqrt(6 / d_in)`` as in the
original paper (``f_scale = 0.05`` there); we scan ``f_scale``. We use plain PEPITA,
without the weight mirroring or weight decay variants of the 2024 paper.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..checks import check_float
from .base import Batch, Rule, register


@register
class Pepita(Rule):
    """Error-modulated second forward pass; updates from the activity differences."""

    name = "pepita"
    label = "PEPITA"
    family = "feedback"
    color = "purple"
    defaults = {"lr": 0.03}

    def __init__(self, f_scale: float = 0.05) -> None:
        self.f_scale = check_float("f_scale", f_scale, 0.0, 1e6, low_open=True)

    def setup(self, model: nn.Module, generator: torch.Generator) -> None:
        """Keep a seed for ``F``, drawn once the input shape is known."""
        super().setup(model, generator)
        self._seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        self.projection: torch.Tensor | None = None

    def _modulation(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """``F e`` shaped like one input."""
        if self.projection is None:
            gen = torch.Generator().manual_seed(self._seed)
            d_in = x[0].numel()
            bound = self.f_scale * math.sqrt(6 / d_in)
            self.projection = torch.empty(e.shape[1], *x.shape[1:]).uniform_(
                -bound, bound, generator=gen).to(x.device)
        return torch.tensordot(e, self.projection, dims=1)

    def loss(self, batch: Batch) -> torch.Tensor:
        """Cross-entropy of the first pass in value; backward writes the PEPITA updates."""
        with torch.no_grad():
            hs = self.model.features(batch.x)
            logits = self.model.head(hs[-1])
            ce = F.cross_entropy(logits, batch.y)
            e = torch.softmax(logits, 1) - F.one_hot(batch.y, logits.shape[1]).to(logits.dtype)
        n = len(batch.y)
        terms = []

        def modulated(index: int, layer: nn.Module, h_mod: torch.Tensor) -> torch.Tensor:
            a_mod = layer(h_mod)  # h_mod carries no graph: only W_l receives this update
            terms.append((a_mod * (hs[index] - layer.act(a_mod.detach()))).sum() / n)
            return layer.act(a_mod.detach())

        h_mod = self.model.features(batch.x + self._modulation(batch.x, e), modulated)[-1]
        surrogate = sum(terms) + (self.model.head(h_mod) * e).sum() / n
        return ce + surrogate - surrogate.detach()

    def options(self) -> dict:
        """Scale of the fixed feedback projection ``F``."""
        return {"f_scale": self.f_scale}
