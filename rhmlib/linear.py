"""When a layer-local self-supervised update equals the global one: deep linear networks.

The common form of local self-supervised losses (CLAPP, and Forward-Forward with
``B = I``): layer ``l`` scores its representation ``z^l`` of an input against a detached
context ``c^l`` (its representation of another view of that input, or of another input
for a negative) through a matrix ``B^l``, ``u = z^T B c``, and minimises
``f(u_pos) + f(-u_neg)`` with ``f`` decreasing (the hinge ``relu(1 - u)`` of CLAPP, or the
softplus of Forward-Forward). The *local* rule trains ``W^l`` with its own layer's loss
(the layer's input detached); the *global* rule trains every ``W^l`` with the top
layer's loss, backpropagated end to end.

In a deep linear network ``z^L = M z^l`` with ``M = W^L ... W^{l+1}``, so the top score is
``u^L = z^{lT} (M^T B^L M) c^l``: the global update of ``W^l`` is the local one computed
with ``M^T B^L M`` in place of ``B^l``. The two coincide when ``B^l = M^T B^L M``. That holds
when the weights are orthonormal (``M^T M = I``, which needs equal widths) and

- ``B = I`` at every layer (Forward-Forward), or
- each ``B^l`` is at its optimum for its layer's representations: the optimum
  (:func:`optimal_predictor`) transforms like the representations, ``B^L = M B^l M^T``.

:func:`updates` computes both updates side by side; :func:`distances` measures how far
apart they are per layer as each condition is broken.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from .checks import check_choice, check_float, check_int, check_list, check_memory
from .stats import mean_sem

__all__ = ["LOSSES", "Pairs", "orthonormal", "pairs", "optimal_predictor", "predictors",
           "updates", "distances", "broken", "parting"]

LOSSES = ("hinge", "softplus")


@dataclass
class Pairs:
    """Inputs ``x``, their positive context views ``x_pos`` and negative contexts ``x_neg``."""

    x: torch.Tensor
    x_pos: torch.Tensor
    x_neg: torch.Tensor


def orthonormal(widths: Sequence[int], seed: int = 0, dtype: torch.dtype = torch.float64
                ) -> list[torch.Tensor]:
    """Weights ``W^l`` of shape ``[widths[l], widths[l-1]]`` with orthonormal rows or columns."""
    widths = [check_int("width", w, 1, 4096) for w in check_list("widths", widths)]
    if len(widths) < 2:
        raise ValueError(f"widths must list the input and at least one layer, got {widths}")
    dtype = _check_dtype(dtype)
    # The weights, and the QR's square input and output for the widest layer.
    check_memory(f"widths={widths if len(widths) <= 8 else widths[:8] + ['...']}",
                 _itemsize(dtype) * (sum(a * b for a, b in zip(widths, widths[1:]))
                                     + 3 * max(widths) ** 2))
    gen = torch.Generator().manual_seed(check_int("seed", seed, 0, 2**63 - 1))
    out = []
    for n_in, n_out in zip(widths, widths[1:]):
        q, r = torch.linalg.qr(torch.randn(max(n_in, n_out), min(n_in, n_out), generator=gen,
                                           dtype=dtype))
        q = q * torch.sign(torch.diagonal(r))  # a uniformly random orthonormal frame
        out.append(q if n_out >= n_in else q.T)
    return out


def _check_dtype(dtype: object) -> torch.dtype:
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating torch dtype, got {dtype!r}")
    return dtype


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def pairs(n: int, width: int, noise: float = 0.5, seed: int = 0,
          dtype: torch.dtype = torch.float64) -> Pairs:
    """Gaussian inputs, a noisy view of each as its positive context, another input's view
    as its negative context."""
    n, width = check_int("n", n, 2, 10**6), check_int("width", width, 1, 4096)
    dtype = _check_dtype(dtype)
    # x, its noise, x_pos and x_neg: four n x width tensors.
    check_memory(f"n={n:,} pairs of width {width}", 4 * n * width * _itemsize(dtype))
    gen = torch.Generator().manual_seed(check_int("seed", seed, 0, 2**63 - 1))
    x = torch.randn(n, width, generator=gen, dtype=dtype)
    x_pos = x + check_float("noise", noise, 0.0, 100.0) * torch.randn(x.shape, generator=gen,
                                                                       dtype=dtype)
    return Pairs(x, x_pos, x_pos.roll(1, dims=0))


def _representations(weights: Sequence[torch.Tensor], x: torch.Tensor) -> list[torch.Tensor]:
    out, h = [], x
    for w in weights:
        h = h @ w.T
        out.append(h)
    return out


def optimal_predictor(z: torch.Tensor, c_pos: torch.Tensor, c_neg: torch.Tensor,
                      ridge: float = 1.0) -> torch.Tensor:
    """The ``B`` minimising the summed scores' loss in its linear regime plus ``ridge |B|^2 / 2``.

    With every hinge active the loss is ``mean(-u_pos + u_neg)``, so the optimum is
    ``(z^T c_pos - z^T c_neg) / (n ridge)``: it transforms like the representations.
    """
    ridge = check_float("ridge", ridge, 0.0, 1e12, low_open=True)
    return (z.T @ c_pos - z.T @ c_neg) / (len(z) * ridge)


def predictors(weights: Sequence[torch.Tensor], data: Pairs, kind: str = "optimal",
               ridge: float = 1.0) -> list[torch.Tensor]:
    """``B^l`` of every layer: its optimum for that layer (``"optimal"``) or the identity."""
    kind = check_choice("kind", kind, ("optimal", "identity"))
    zs = _representations(weights, data.x)
    if kind == "identity":
        return [torch.eye(z.shape[1], dtype=z.dtype) for z in zs]
    cs, ns = _representations(weights, data.x_pos), _representations(weights, data.x_neg)
    return [optimal_predictor(z, c, n, ridge) for z, c, n in zip(zs, cs, ns)]


def _loss(z: torch.Tensor, c: torch.Tensor, c_neg: torch.Tensor, b: torch.Tensor,
          loss: str) -> torch.Tensor:
    u_pos, u_neg = ((z * (c @ b.T)).sum(1), (z * (c_neg @ b.T)).sum(1))
    if loss == "hinge":
        return (F.relu(1 - u_pos) + F.relu(1 + u_neg)).mean()
    return (F.softplus(-u_pos) + F.softplus(u_neg)).mean()


def updates(weights: Sequence[torch.Tensor], data: Pairs, bs: Sequence[torch.Tensor],
            loss: str = "hinge") -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per layer, the local update (own loss, input detached) and the global one (top loss).

    Contexts are detached in both, as in CLAPP: a layer learns only through ``z``.
    """
    loss = check_choice("loss", loss, LOSSES)
    if len(bs) != len(weights):
        raise ValueError(f"bs must hold one matrix per layer ({len(weights)}), got {len(bs)}")
    ws = [w.detach().clone().requires_grad_(True) for w in weights]
    with torch.no_grad():
        cs = _representations(ws, data.x_pos)
        ns = _representations(ws, data.x_neg)
    local, h = [], data.x
    for w, c, n, b in zip(ws, cs, ns, bs):
        z = h.detach() @ w.T
        (grad,) = torch.autograd.grad(_loss(z, c, n, b, loss), w)
        local.append(grad)
        h = z
    top = _representations(ws, data.x)[-1]
    global_ = list(torch.autograd.grad(_loss(top, cs[-1], ns[-1], bs[-1], loss), ws))
    return local, global_


def distances(local: Sequence[torch.Tensor], global_: Sequence[torch.Tensor]) -> list[float]:
    """Per layer, ``|local - global| / |global|`` (0: the same update)."""
    return [float((a - b).norm() / b.norm()) if b.norm() > 0 else math.nan
            for a, b in zip(local, global_)]


def broken(depth: int = 4, width: int = 16, skew: float = 0.0, shrink: float = 0.0,
           b_noise: float = 0.0, loss: str = "hinge", n: int = 256, seed: int = 0
           ) -> list[float]:
    """Per-layer distance between local and global updates, with the conditions broken.

    ``skew``: each weight is ``Q (I + skew G)`` with ``G`` Gaussian (0: orthonormal);
    ``shrink``: each layer is narrower than the previous by this fraction, at least one
    unit (0: equal widths; the weights then have orthonormal rows); ``b_noise``: each
    optimal ``B^l`` gets Gaussian noise of this size relative to its norm (0: optimal).
    """
    depth = check_int("depth", depth, 1, 12)
    width = check_int("width", width, 2, 512)
    skew = check_float("skew", skew, 0.0, 10.0)
    shrink = check_float("shrink", shrink, 0.0, 0.5, high_open=False)
    b_noise = check_float("b_noise", b_noise, 0.0, 10.0)
    seed = check_int("seed", seed, 0, 2**63 - 2)  # seed + 1 seeds the distortions
    widths = [width]
    for _ in range(depth):  # at least one unit fewer per layer as soon as shrink > 0
        cut = max(1, round(widths[-1] * shrink)) if shrink > 0 else 0
        widths.append(max(1, widths[-1] - cut))
    weights = orthonormal(widths, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    weights = [w @ (torch.eye(w.shape[1], dtype=w.dtype)
                    + skew * torch.randn(w.shape[1], w.shape[1], generator=gen,
                                         dtype=w.dtype) / math.sqrt(w.shape[1]))
               for w in weights]
    data = pairs(n, width, seed=seed)
    bs = predictors(weights, data, "identity" if loss == "softplus" else "optimal")
    bs = [b + b_noise * b.norm() / math.sqrt(b.numel())
          * torch.randn(b.shape, generator=gen, dtype=b.dtype) for b in bs]
    return distances(*updates(weights, data, bs, loss))


def parting(strengths: Sequence[float] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5), depth: int = 4,
            loss: str = "hinge", seeds: Sequence[int] = (0, 1, 2), n: int = 128
            ) -> dict[str, list[dict]]:
    """Per broken condition: mean and sem over ``seeds`` of the distance at layer 1 by strength.

    Rows are ``{"x": strength, "mean", "sem", "n"}``, ready for :func:`rhmlib.plots.panels`.
    """
    strengths, seeds = check_list("strengths", strengths), check_list("seeds", seeds)
    out: dict[str, list[dict]] = {}
    for label, key in (("weights not orthonormal", "skew"), ("widths shrink", "shrink"),
                       ("B off its optimum", "b_noise")):
        rows = []
        for strength in strengths:
            mean, sem, count = mean_sem(broken(depth=depth, loss=loss, seed=seed, n=n,
                                               **{key: strength})[0] for seed in seeds)
            rows.append({"x": float(strength), "mean": mean, "sem": sem, "n": count})
        out[label] = rows
    return out
