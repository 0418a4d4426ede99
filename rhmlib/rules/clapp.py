"""CLAPP (Illing, Ventura, Bellec, Gerstner, NeurIPS 2021), layer by layer on the RHM.

Each self-supervised layer scores its representation ``z`` of a node against a
context ``c`` through a bilinear predictor, ``u = z^T W_pred c`` (``score="dot"``) or
its cosine divided by a temperature (``score="cosine"``, our default: it kept the
scale of ``u`` fixed). The hinge loss pushes ``u``
above 1 for a positive pair and below -1 for a negative one:
``relu(1 - u_pos) + relu(1 + u_neg)``. ``mode="both"`` applies both terms to every
sample; ``mode="alternate"`` draws, per input, whether it is shown as a positive or a
negative pair, as in the original rule (the sign is the global third factor).

Because the context is detached and the layer's input too, the update of one layer is
three-factor Hebbian (:func:`hebbian_update` writes it explicitly):
``dW_jq = sum over samples and nodes of  M * f'(a_j) * (du/dz)_j * h_in[q]`` (``q``: a
child and its channel), with the
modulator ``M = -1/N`` on an active positive hinge, ``+1/N`` on an active negative one
and 0 otherwise, ``du/dz = W_pred c`` for the dot score.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .base import Batch, register
from .local import LocalRule, Pairs, check_score, global_twin, similarity

__all__ = ["CLAPP", "hebbian_update", "MODES"]

MODES = ("both", "alternate")


@global_twin
@register
class CLAPP(LocalRule):
    """CLAPP's hinge loss on a bilinear score between a node and its context."""

    name = "clapp"
    label = "CLAPP"
    family = "local"
    color = "green"
    # Its learning-rate scan on the reference grammar (rhmlib.sweeps.contrast) chose 0.2
    # (flat from 0.02: 0.983, 0.984, 0.987 validation accuracy; 0.6 falls to 0.962), its
    # width scan 128 (0.975 at L = 4, 2 P*; 0.971 at 256, 0.767 at 64).
    defaults = {**LocalRule.defaults, "lr": 0.2, "width": 128}

    def __init__(self, mode: str = "both", score: str = "cosine", temperature: float = 0.25,
                 **common: object) -> None:
        super().__init__(**common)  # type: ignore[arg-type]
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.score, self.temperature = check_score(score, temperature)

    def make_heads(self, gen: torch.Generator) -> list[nn.Module]:
        """One bilinear predictor ``W_pred`` per self-supervised layer."""
        return self.predictors(gen)

    def options(self) -> dict:
        """Mode, score and temperature, plus the common options."""
        return {**super().options(), "mode": self.mode, "score": self.score,
                "temperature": self.temperature}

    def gates(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Per input, weights of the positive and the negative term (the sign factor)."""
        if self.mode == "both":
            return torch.ones(n, 1), torch.ones(n, 1)
        positive = (torch.rand(n, 1, generator=gen) < 0.5).float()
        return positive, 1 - positive

    def pair_loss(self, i: int, pairs: Pairs, gen: torch.Generator) -> torch.Tensor:
        """Hinge on the positive and negative scores of layer ``i``."""
        # A predictor maps each input's context alone: the prediction of a negative
        # context is the positive prediction of another input (one matrix product).
        u_pos, u_neg = similarity(pairs.z, self.heads[i](pairs.c), pairs.neg, self.score,
                                  self.temperature)
        g_pos, g_neg = (g.to(u_pos.device) for g in self.gates(len(u_pos), gen))
        return (g_pos * F.relu(1 - u_pos) + g_neg * F.relu(1 + u_neg)).mean()


def _unit(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    norm = x.norm(dim=-1, keepdim=True)
    # An all-zero vector (a silent ReLU group) has cosine 0 and no gradient.
    return x / norm.clamp_min(1e-8), norm.clamp_min(1e-8)


def _score_grads(rule: CLAPP, z: torch.Tensor, p: torch.Tensor) -> tuple:
    """The score ``u`` and its derivatives with respect to ``z`` and to ``p = W_pred c``."""
    if rule.score == "dot":
        return (z * p).sum(-1), p, z
    z_hat, z_norm = _unit(z)
    p_hat, p_norm = _unit(p)
    cos = (z_hat * p_hat).sum(-1, keepdim=True)
    tau = rule.temperature
    return (cos[..., 0] / tau, (p_hat - cos * z_hat) / (z_norm * tau),
            (z_hat - cos * p_hat) / (p_norm * tau))


@torch.no_grad()
def hebbian_update(rule: CLAPP, batch: Batch) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """CLAPP's update of each layer, written as pre x post x third factor, without autograd.

    Returns, per self-supervised layer, the gradient of the loss with respect to the
    layer's weight and to its predictor, computed from the explicit three-factor rule
    (the test suite checks that it equals autograd's). Needs ``locality="local"``.
    """
    if not isinstance(rule, CLAPP) or rule.locality != "local" or rule.predictor != "shared":
        raise ValueError("rule must be a CLAPP rule with locality='local' and predictor='shared'")
    if any(layer.activation != "relu" for layer in rule.model.layers):
        raise ValueError("the explicit three-factor form is written for ReLU units")
    pairs = rule.layer_pairs(batch)
    updates = []
    for i, p in enumerate(pairs):
        predictor = rule.heads[i].weight
        n, t, _ = p.z.shape
        g_pos, g_neg = rule.gates(n, batch.generator)
        pred_pos, pred_neg = p.c @ predictor.T, p.c_neg @ predictor.T
        u_pos, dz_pos, dp_pos = _score_grads(rule, p.z, pred_pos)
        u_neg, dz_neg, dp_neg = _score_grads(rule, p.z, pred_neg)
        # Third factor: the sign of the pair, gated by whether its hinge is active.
        m_pos = (-g_pos * (u_pos < 1).float() / (n * t))[..., None]
        m_neg = (g_neg * (u_neg > -1).float() / (n * t))[..., None]
        post = (p.a > 0).float() * (m_pos * dz_pos + m_neg * dz_neg)
        pre = p.h_in.reshape(n, t, -1)  # each node's s children, as the layer sees them
        d_weight = torch.einsum("ntj,ntq->jq", post, pre)
        d_predictor = (torch.einsum("ntj,ntk->jk", m_pos * dp_pos, p.c)
                       + torch.einsum("ntj,ntk->jk", m_neg * dp_neg, p.c_neg))
        updates.append((d_weight, d_predictor))
    return updates
