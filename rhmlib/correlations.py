"""Why backprop needs about ``n_c m^L`` examples: tuple-label correlations against noise.

Cagnetta et al.'s argument: a network learns that synonymous ``s``-tuples mean the same
thing once it can see that they are correlated with the label in the same way. In the
RHM, an input's first ``s``-tuple carries a small amount of information about the class:
the *signal*

    S^2 = sum_mu P(mu) sum_alpha (P(alpha | mu) - 1 / n_c)^2,

computed exactly here from the production rules (:func:`signal`). Measured on ``P``
training inputs, the same quantity also contains sampling noise; with the labels
shuffled it is noise alone (:func:`measured`). The noise falls like ``1 / sqrt(P)`` and
crosses the signal near ``P* = n_c m^L`` (:func:`crossing`): below it, the correlations
that reveal synonyms are buried in noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .checks import check_int, check_list, check_memory
from .rhm import RHM

__all__ = ["tuple_given_class", "signal", "measured", "curve", "crossing"]


def _codes(rhm: RHM, tuples: torch.Tensor) -> torch.Tensor:
    powers = rhm.v ** torch.arange(rhm.s - 1, -1, -1)
    return (tuples * powers).sum(-1)


def _check_rhm(rhm: object) -> RHM:
    """``rhm`` if it is an RHM whose tables of s-tuples fit in memory, or raise."""
    if not isinstance(rhm, RHM):
        raise TypeError(f"rhm must be an RHM, got {type(rhm).__name__}")
    # The largest table: one row of v**s float64 per symbol (v, or n_c at the top).
    check_memory(f"the tables of {rhm} (v={rhm.v}, s={rhm.s}: v**s = {rhm.v**rhm.s:,} tuples)",
                 8 * max(rhm.v, rhm.n_c) * rhm.v**rhm.s)
    return rhm


def tuple_given_class(rhm: RHM) -> torch.Tensor:
    """``P(first s-tuple of the input = mu | class)``, shape ``[n_c, v**s]``, exactly."""
    rhm = _check_rhm(rhm)
    # Follow the leftmost path of the tree: the first child of each rule.
    p = torch.eye(rhm.n_c, dtype=torch.float64)
    for level in range(rhm.L - 1):
        first = rhm.rules[level][..., 0]  # [n_symbols, m]
        step = torch.zeros(first.shape[0], rhm.v, dtype=torch.float64)
        step.scatter_add_(1, first, torch.full(first.shape, 1 / rhm.m, dtype=torch.float64))
        p = p @ step
    codes = _codes(rhm, rhm.rules[rhm.L - 1])  # [v or n_c, m]
    table = torch.zeros(codes.shape[0], rhm.v**rhm.s, dtype=torch.float64)
    table.scatter_add_(1, codes, torch.full(codes.shape, 1 / rhm.m, dtype=torch.float64))
    return p @ table


def _strength(joint: torch.Tensor) -> float:
    """``S`` of a joint table ``[class, tuple]`` of probabilities or counts."""
    total = joint.sum()
    p_mu = joint.sum(0)
    seen = p_mu > 0
    cond = joint[:, seen] / p_mu[seen]
    return math.sqrt(float(((cond - 1 / joint.shape[0]) ** 2).sum(0) @ (p_mu[seen] / total)))


def signal(rhm: RHM) -> float:
    """The exact tuple-label correlation ``S`` of the first ``s``-tuple (uniform classes)."""
    return _strength(tuple_given_class(rhm) / rhm.n_c)


def measured(rhm: RHM, P: int, seed: int = 0) -> tuple[float, float]:
    """``S`` measured on ``P`` sampled inputs, and the same with the labels shuffled (noise)."""
    rhm, P = _check_rhm(rhm), check_int("P", P, 2, 10**7)
    seed = check_int("seed", seed, 0, 2**63 - 1)
    # Each input's tokens and its tree's hidden symbols (fewer than its tokens), int64.
    check_memory(f"P={P:,} inputs of {rhm.input_length} tokens", 8 * P * 2 * rhm.input_length)
    sample = rhm.sample(P, seed=seed)
    codes = _codes(rhm, sample.x[:, : rhm.s])
    shuffled = sample.y[torch.randperm(P, generator=torch.Generator().manual_seed(seed))]
    out = []
    for labels in (sample.y, shuffled):
        joint = torch.zeros(rhm.n_c, rhm.v**rhm.s, dtype=torch.float64)
        joint.index_put_((labels, codes), torch.ones(P, dtype=torch.float64), accumulate=True)
        out.append(_strength(joint))
    return out[0], out[1]


def curve(rhm: RHM, sizes: Sequence[int], seeds: Sequence[int] = (0, 1, 2)) -> list[dict]:
    """Per ``P``: mean measured correlation and noise over ``seeds``, and the exact signal."""
    sizes, seeds = check_list("sizes", sizes), check_list("seeds", seeds)
    rows, exact = [], signal(rhm)
    for P in sizes:
        pairs = [measured(rhm, P, seed) for seed in seeds]
        rows.append({"P": P, "measured": sum(a for a, _ in pairs) / len(pairs),
                     "noise": sum(b for _, b in pairs) / len(pairs), "signal": exact})
    return rows


def crossing(rows: Sequence[dict]) -> float:
    """The ``P`` where the noise falls below the signal, interpolated like ``1 / sqrt(P)``.

    NaN when it never does within ``rows`` (:func:`curve` rows, in increasing ``P``).
    """
    rows = check_list("rows", rows)
    if not all(isinstance(r, dict) and {"P", "noise", "signal"} <= r.keys() for r in rows):
        raise TypeError("rows must be rows of rhmlib.correlations.curve (P, noise, signal)")
    for before, after in zip(rows, rows[1:]):
        if before["noise"] >= before["signal"] > after["noise"]:
            # noise ~ c / sqrt(P) between the two points: solve c / sqrt(P) = signal.
            c = math.sqrt(before["noise"] * after["noise"]) * (before["P"] * after["P"]) ** 0.25
            return (c / before["signal"]) ** 2
    return math.nan
