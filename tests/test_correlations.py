"""The n_c m^L argument: the exact tuple-label signal, its measurement and the noise floor."""

import pytest
import torch

from rhmlib import RHM
from rhmlib.correlations import crossing, curve, measured, signal, tuple_given_class


def test_tuple_distribution_is_exact() -> None:
    rhm = RHM(8, 4, 2, 2, 3, seed=1)
    table = tuple_given_class(rhm)
    torch.testing.assert_close(table.sum(1), torch.ones(4, dtype=torch.float64))
    sample = rhm.sample(200_000, seed=0)
    codes = sample.x[:, 0] * 8 + sample.x[:, 1]
    empirical = torch.zeros_like(table)
    empirical.index_put_((sample.y, codes), torch.ones(len(codes), dtype=torch.float64),
                         accumulate=True)
    empirical /= empirical.sum(1, keepdim=True)
    torch.testing.assert_close(empirical, table, atol=0.01, rtol=0)


def test_measured_signal_converges_and_noise_falls_like_one_over_root_p() -> None:
    rhm = RHM(16, 16, 4, 2, 3, seed=0)
    big, noise_big = measured(rhm, 2**18)
    assert big == pytest.approx(signal(rhm), rel=0.05)
    _, noise_small = measured(rhm, 2**14)
    assert noise_small / noise_big == pytest.approx(4, rel=0.15)


@pytest.mark.parametrize(("m", "L"), [(4, 3), (8, 3), (4, 2)])
def test_noise_crosses_the_signal_near_p_star(m: int, L: int) -> None:
    rhm = RHM(16, 16, m, 2, L, seed=0)
    rows = curve(rhm, [2**k for k in range(4, 17)], seeds=(0, 1))
    assert 0.5 < crossing(rows) / rhm.p_star < 2


def test_bad_sizes_are_named() -> None:
    with pytest.raises(ValueError, match="P must be in"):
        measured(RHM(8, 4, 2, 2, 2), 1)
