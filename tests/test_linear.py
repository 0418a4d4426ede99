"""The deep-linear theorem: local and global self-supervised updates coincide under its
conditions, and part as soon as one is broken."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rhmlib import linear


@settings(max_examples=25, deadline=None)
@given(depth=st.integers(1, 5), width=st.integers(2, 24), seed=st.integers(0, 10**6),
       loss=st.sampled_from(linear.LOSSES))
def test_local_equals_global_under_the_conditions(depth: int, width: int, seed: int,
                                                  loss: str) -> None:
    weights = linear.orthonormal([width] * (depth + 1), seed)
    for w in weights:
        torch.testing.assert_close(w @ w.T, torch.eye(width, dtype=w.dtype))
    data = linear.pairs(64, width, seed=seed)
    bs = linear.predictors(weights, data, "identity" if loss == "softplus" else "optimal")
    local, global_ = linear.updates(weights, data, bs, loss)
    for a, b in zip(local, global_):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss", linear.LOSSES)
@pytest.mark.parametrize("condition", ["skew", "shrink", "b_noise"])
def test_each_broken_condition_parts_the_updates(loss: str, condition: str) -> None:
    exact = linear.broken(depth=3, loss=loss)
    assert max(exact) < 1e-12
    parted = linear.broken(depth=3, loss=loss, **{condition: 0.3})
    # The top layer's update is the same by construction; every layer below it parts.
    assert parted[-1] < 1e-12 and min(parted[:-1]) > 0.05, parted


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="skew"):
        linear.broken(skew=-1)
    with pytest.raises(ValueError, match="loss"):
        linear.broken(loss="l2")
    with pytest.raises(ValueError, match="widths"):
        linear.orthonormal([4])
    with pytest.raises(ValueError, match="one matrix per layer"):
        weights = linear.orthonormal([4, 4, 4])
        linear.updates(weights, linear.pairs(8, 4), weights[:1])
