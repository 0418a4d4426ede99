"""Backprop with its masks or its weight transport replaced: the masking ablation.

In backprop, ``delta_l = (W_{l+1}^T delta_{l+1}) * f'(a_l)`` and ``dW_l = delta_l h_{l-1}^T``.
The ReLU derivative ``f'(a_l)`` (a 0/1 *mask* specific to each input) plays two roles:
it is layer ``l``'s **own** mask in its own update, and a **downstream** mask on the
path of the error to every layer below ``l``. This rule separates the two::

    g_L     = T_out^T e                        error reaching the top hidden layer
    dW_l    = (g_l * M_l^own) h_{l-1}^T          layer l's update: its own mask
    g_{l-1} = T_l^T (g_l * M_l^down)             the error continues down

with ``e = dCE/dlogits``, transport ``T = W`` ("exact") or a fixed random ``B`` of the
same shape ("random"), and each mask either the input's own ``f'(a)`` ("own") or a
substitute (:data:`MASKS`). The forward pass is always the network's own.

- ``own = down = "own"``, exact transport: backprop;
- random transport: feedback alignment (:mod:`rhmlib.rules.fa`);
- exact transport, ``down = "ones"``: DFA whose feedback matrix is the exact,
  mask-free product ``W_{l+1}^T ... W_out^T`` (the "DFA with weight transport" hybrid).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from .base import Batch, Rule, register

__all__ = ["MASKS", "TRANSPORTS", "MaskedBackprop", "substitute_mask", "random_like"]

# own: the input's f'(a); ones: no mask; other: the masks of another input of the batch;
# mean: the batch-mean mask (each unit's firing rate); random: Bernoulli draws with that rate.
MASKS = ("own", "ones", "other", "mean", "random")
TRANSPORTS = ("exact", "random")


def substitute_mask(kind: str, mask: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The mask that replaces the batch's own ReLU derivatives ``mask`` ``[n, ...]``."""
    if kind not in MASKS:
        raise ValueError(f"mask must be one of {MASKS}, got {kind!r}")
    if kind == "own":
        return mask
    if kind == "ones":
        return torch.ones_like(mask)
    if kind == "other":
        # Input i takes the masks of input i+1 at every layer (one consistent partner).
        return mask.roll(1, dims=0)
    rate = mask.mean(0, keepdim=True).expand_as(mask)
    if kind == "mean":
        return rate
    return torch.bernoulli(rate.cpu(), generator=generator).to(rate.device)


def random_like(module: nn.Module, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Fixed random stand-ins for ``module``'s weights, scaled like PyTorch's default init."""
    params = {}
    for name, p in module.named_parameters():
        if p.ndim >= 2:
            bound = 1 / math.sqrt(p[0].numel())
            draw = torch.empty(p.shape).uniform_(-bound, bound, generator=generator)
            params[name] = draw.to(p.device)
    return params


def through(z: torch.Tensor, gate: torch.Tensor | float) -> torch.Tensor:
    """Zero in value; in backward, passes ``gate * grad`` to ``z``."""
    zg = z * gate
    return zg - zg.detach()


@register
class MaskedBackprop(Rule):
    """Backprop with substitute masks (own / downstream) and exact or random transport."""

    name = "bp_masked"
    label = "BP with masks"
    family = "backprop"
    color = "light blue"
    defaults = {"lr": 0.2}

    def __init__(self, own: str = "own", down: str = "own", transport: str = "exact") -> None:
        for label, value, allowed in (("own", own, MASKS), ("down", down, MASKS),
                                      ("transport", transport, TRANSPORTS)):
            if value not in allowed:
                raise ValueError(f"{label} must be one of {allowed}, got {value!r}")
        self.own, self.down, self.transport = own, down, transport

    def setup(self, model: nn.Module, generator: torch.Generator) -> None:
        """Draw the random feedback weights (one set per layer and readout) if any."""
        if any(layer.activation != "relu" for layer in model.layers):
            raise ValueError("masked and feedback-alignment updates are written for ReLU units "
                             "(their masks are ReLU derivatives); use activation='relu'")
        super().setup(model, generator)
        modules = [*model.layers, model.readout]
        # A stream of its own: drawn from ``generator`` directly, B would repeat the
        # initial weights whenever the model was initialised from the same seed.
        own = torch.Generator().manual_seed(
            int(torch.randint(0, 2**62, (1,), generator=generator)))
        # feedback[i]: the weights that carry the error backward through module i.
        self.feedback = (
            [random_like(mod, own) for mod in modules] if self.transport == "random" else None
        )

    def _transported(self, index: int, module: nn.Module, h: torch.Tensor) -> torch.Tensor:
        """``module(h)`` with weights that no update reaches: W (detached) or B."""
        params = {name: p.detach() for name, p in module.named_parameters()}
        if self.feedback is not None:
            params.update(self.feedback[index])
        return functional_call(module, params, (h,))

    def loss(self, batch: Batch) -> torch.Tensor:
        """Cross-entropy; its backward carries the error through the substituted path."""

        def step(index: int, layer: nn.Module, h: torch.Tensor) -> torch.Tensor:
            a_w = layer(h.detach())  # reaches W_l only
            a = a_w.detach()
            mask = (a > 0).to(a.dtype)
            out = torch.relu(a) + through(a_w, substitute_mask(self.own, mask, batch.generator))
            if h.requires_grad:  # the input layer has nothing below to send the error to
                a_t = self._transported(index, layer, h)
                out = out + through(a_t, substitute_mask(self.down, mask, batch.generator))
            return out

        flat = self.model.features(batch.x, step)[-1].flatten(1)
        readout = self.model.readout
        logits = readout(flat.detach()) + through(
            self._transported(len(self.model.layers), readout, flat), 1.0
        )
        return F.cross_entropy(logits, batch.y)

    def options(self) -> dict:
        """Which masks and which transport replace backprop's."""
        return {"own": self.own, "down": self.down, "transport": self.transport}
