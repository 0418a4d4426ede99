"""Measurements of networks and rules, the pieces every probe is made of.

- :func:`rule_update` / :func:`update_cosine`: the update a rule writes for one batch,
  and the per-layer cosine between two rules' updates (a type-1 rule against BP, or a
  local self-supervised rule against its global twin).
- :func:`layer_errors`: the error that reaches each hidden layer's weights under a rule.
- :func:`synonymic_sensitivity`: how much each layer's representation moves when the
  input's synonyms below that layer's level are redrawn, relative to a random input.
- :func:`linear_decodability`: how well a linear map of each layer's representation of
  a node recovers that node's hidden variable and those of its ancestors.
"""

from __future__ import annotations

import math

import torch

from ..models import LayeredNet
from ..rhm import RHM, Sample, check_int
from ..rules import Batch, Rule

__all__ = ["rule_update", "update_cosine", "layer_errors", "synonymic_sensitivity",
           "linear_decodability"]


def _weights(model: LayeredNet) -> list[torch.Tensor]:
    """The hidden layers' weights, then the readout's."""
    return [layer.weight for layer in model.layers] + [model.readout.weight]


def rule_update(rule: Rule, batch: Batch) -> list[torch.Tensor]:
    """Gradient-like update that ``rule`` (already set up) writes for ``batch``, per layer.

    Entries are None-free tensors: a layer the rule does not train gets zeros.
    """
    weights = _weights(rule.model)
    for w in rule.parameters():
        w.grad = None
    rule.loss(batch).backward()
    updates = [w.grad.detach().clone() if w.grad is not None else torch.zeros_like(w)
               for w in weights]
    for w in rule.parameters():
        w.grad = None
    return updates


def update_cosine(rule_a: Rule, rule_b: Rule, batch: Batch) -> list[float]:
    """Cosine similarity per layer (hidden layers, then readout) of two rules' updates.

    Both rules must be set up on the same model. 1 means the same direction; an angle
    of 90 degrees (cosine 0) is what a random direction gives in high dimension.
    """
    if rule_a.model is not rule_b.model:
        raise ValueError("rule_a and rule_b must be set up on the same model")
    # Both rules draw the same random numbers (negatives, coins) from the batch's stream.
    state = batch.generator.get_state()
    updates_a = rule_update(rule_a, batch)
    batch.generator.set_state(state)
    cosines = []
    for a, b in zip(updates_a, rule_update(rule_b, batch)):
        denom = a.norm() * b.norm()
        cosines.append(float((a * b).sum() / denom) if denom > 0 else float("nan"))
    return cosines


def layer_errors(rule: Rule, batch: Batch) -> list[torch.Tensor]:
    """The error ``delta_l`` that reaches each hidden layer's weights under ``rule``.

    ``delta_l`` is the gradient the rule puts at layer ``l``'s pre-activation ``a_l``
    (shape ``[n, width, positions]``); ``dW_l`` is ``delta_l`` times the layer's input.
    It is read at the first differentiable call of each layer in the rule's loss,
    which is the call that trains the weights in every rule of this package.
    """
    grads: dict[int, torch.Tensor] = {}
    seen: set[int] = set()

    def capture(index: int):
        def hook(_: torch.nn.Module, __: tuple, output: torch.Tensor) -> None:
            if index not in seen and output.requires_grad:
                seen.add(index)
                output.register_hook(lambda g: grads.__setitem__(index, g.detach().clone()))
        return hook

    handles = [layer.register_forward_hook(capture(i))
               for i, layer in enumerate(rule.model.layers)]
    try:
        rule_update(rule, batch)
    finally:
        for handle in handles:
            handle.remove()
    return [grads[i] for i in range(len(rule.model.layers))]


@torch.no_grad()
def synonymic_sensitivity(
    model: LayeredNet, rhm: RHM, sample: Sample, seed: int = 0
) -> list[float]:
    """Per hidden layer ``l`` (1..L): ``E|f_l(x) - f_l(x_syn)|^2 / E|f_l(x) - f_l(x')|^2``.

    Layer ``l`` of the hierarchical CNN has one unit group per level-``(L - l)`` node;
    ``x_syn`` keeps the hidden variables down to that level and redraws every rule
    below it (:meth:`RHM.resample`), ``x'`` is another input of ``sample``. 0 means
    the layer is invariant to synonyms, 1 that it reacts to them as to a new input.
    """
    if model.depth != rhm.L:
        raise ValueError(
            f"model must have one layer per RHM level (depth {rhm.L}), got depth {model.depth}"
        )
    if len(sample) < 2:
        raise ValueError(f"sample must hold at least 2 inputs, got {len(sample)}")
    seed = check_int("seed", seed, 0)
    gen = torch.Generator().manual_seed(seed)
    # A derangement-free shuffle is not needed: self-pairs are rare and only add zeros.
    other = sample[torch.randperm(len(sample), generator=gen)]
    base = model.features(rhm.one_hot(sample.x))
    rand = model.features(rhm.one_hot(other.x))
    result = []
    for layer in range(1, rhm.L + 1):
        syn = rhm.resample(sample, rhm.L - layer, seed=seed + layer)
        f_syn = model.features(rhm.one_hot(syn.x))[layer - 1]
        num = (base[layer - 1] - f_syn).pow(2).sum(dim=(1, 2)).mean()
        den = (base[layer - 1] - rand[layer - 1]).pow(2).sum(dim=(1, 2)).mean()
        result.append(float(num / den) if den > 0 else float("nan"))
    return result


@torch.no_grad()
def linear_decodability(
    model: LayeredNet, rhm: RHM, sample: Sample, ridge: float = 1e-3
) -> list[list[float]]:
    """Test accuracy of a ridge-regression decoder, ``result[l - 1][k]``: layer ``l``, level ``k``.

    Layer ``l`` of the hierarchical CNN holds one unit group per level-``(L - l)`` node;
    a decoder shared by all positions reads that group and predicts the node's
    level-``k`` ancestor, for every ``k <= L - l`` (NaN for finer levels, which one group
    does not determine). The decoder fits the first half of ``sample`` (least squares on
    one-hot targets, ``ridge`` times the mean feature power as penalty) and is scored on
    the second half. Chance is ``1 / v`` (``1 / n_c`` for level 0).
    """
    if model.depth != rhm.L:
        raise ValueError(
            f"model must have one layer per RHM level (depth {rhm.L}), got depth {model.depth}"
        )
    if len(sample) < 4:
        raise ValueError(f"sample must hold at least 4 inputs, got {len(sample)}")
    if not isinstance(ridge, (int, float)) or not ridge > 0:
        raise ValueError(f"ridge must be a number > 0, got {ridge!r}")
    if not all(torch.isfinite(p).all() for p in model.parameters()):
        raise ValueError("model has weights that are not finite: nothing to decode")
    half = len(sample) // 2
    features = model.features(rhm.one_hot(sample.x))
    result = []
    for layer in range(1, rhm.L + 1):
        level = rhm.L - layer
        h = features[layer - 1]  # [n, nodes, width]
        h = torch.cat([h, torch.ones_like(h[..., :1])], dim=-1)  # an intercept
        row = [math.nan] * (rhm.L + 1)
        for k in range(level + 1):
            # Node j of level `level` descends from node j // s**(level - k) of level k.
            target = sample.hidden[k].repeat_interleave(rhm.s ** (level - k), dim=1)
            n_classes = rhm.n_c if k == 0 else rhm.v
            xs, ys = h[:half].reshape(-1, h.shape[-1]), target[:half].reshape(-1)
            gram = xs.T @ xs
            penalty = ridge * gram.diagonal().mean().clamp_min(1e-12)
            weights = torch.linalg.solve(
                gram + penalty * torch.eye(len(gram)),
                xs.T @ torch.nn.functional.one_hot(ys, n_classes).float(),
            )
            guess = (h[half:].reshape(-1, h.shape[-1]) @ weights).argmax(1)
            row[k] = float((guess == target[half:].reshape(-1)).float().mean())
        result.append(row)
    return result
