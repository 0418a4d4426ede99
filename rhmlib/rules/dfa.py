"""Direct feedback alignment (Nokland 2016).

Update: ``e = dCE/dlogits``; readout ``dW_out = -lr * e h_L^T``; every hidden layer
``delta_l = (B_l e) * f'(a_l)``, ``dW_l = -lr * delta_l h_{l-1}^T``, with ``B_l`` a fixed
random matrix from the output to layer ``l``. No error crosses a layer: only the
layer's own mask ``f'(a_l)`` shapes its update, none of the masks above it.

``feedback="exact"`` is the weight-transport hybrid: ``B_l`` is replaced at every step
by the exact mask-free product ``W_{l+1}^T ... W_L^T W_out^T`` (backprop through the
layers above with every ReLU derivative set to 1).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .base import Batch, Rule, detached_step, register

FEEDBACKS = ("random", "exact")


@register
class DirectFeedbackAlignment(Rule):
    """The output error sent to every hidden layer through its own fixed random matrix."""

    name = "dfa"
    label = "DFA"
    family = "feedback"
    color = "olive"
    # Adam: with SGD the hidden activity DFA drives ran away at depth (a collapse to one
    # class at L = 5 even at a quarter of the rate); Adam's bounded steps carry.
    defaults = {"lr": 1e-3, "optimizer": "adam"}

    def __init__(self, feedback: str = "random") -> None:
        if feedback not in FEEDBACKS:
            raise ValueError(f"feedback must be one of {FEEDBACKS}, got {feedback!r}")
        self.feedback = feedback

    def setup(self, model: nn.Module, generator: torch.Generator) -> None:
        """Keep a seed for the feedback matrices, drawn once the layer shapes are known."""
        super().setup(model, generator)
        self._seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        self.matrices: list[torch.Tensor] | None = None

    def signal(self, batch: Batch, logits: torch.Tensor) -> torch.Tensor:
        """What is broadcast to the hidden layers: the output error ``dCE/dlogits``."""
        target = F.one_hot(batch.y, logits.shape[1]).to(logits.dtype)
        return (torch.softmax(logits, 1) - target) / len(batch.y)

    def _project(self, signal: torch.Tensor, hs: list[torch.Tensor]) -> list[torch.Tensor]:
        """``B_l signal`` for every hidden layer, shaped like ``h_l``."""
        if self.feedback == "exact":
            return [self._exact(signal, index, h) for index, h in enumerate(hs)]
        if self.matrices is None:
            gen = torch.Generator().manual_seed(self._seed)
            bound = 1 / signal.shape[1] ** 0.5
            self.matrices = [
                torch.empty(signal.shape[1], *h.shape[1:]).uniform_(-bound, bound, generator=gen)
                .to(signal.device) for h in hs
            ]
        return [torch.tensordot(signal, b, dims=1) for b in self.matrices]

    def _exact(self, signal: torch.Tensor, index: int, h: torch.Tensor) -> torch.Tensor:
        """``W_{l+1}^T ... W_out^T signal``: the layers above, run linearly, differentiated."""
        z = h.detach().requires_grad_(True)
        out = z
        for layer in self.model.layers[index + 1:]:
            out = layer(out)
        (grad,) = torch.autograd.grad(self.model.head(out), z, grad_outputs=signal)
        return grad

    def loss(self, batch: Batch) -> torch.Tensor:
        """Cross-entropy in value; its backward writes the direct-feedback updates."""
        hs = self.model.features(batch.x, detached_step)  # no error crosses layers
        logits = self.model.head(hs[-1].detach())
        ce = F.cross_entropy(logits, batch.y)
        signal = self.signal(batch, logits.detach())
        surrogate = sum((h * p.detach()).sum() for h, p in zip(hs, self._project(signal, hs)))
        return ce + surrogate - surrogate.detach()

    def options(self) -> dict:
        """Random or exact (weight-transport) feedback."""
        return {"feedback": self.feedback}
