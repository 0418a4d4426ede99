"""The central contrast's sweep definitions: labels round-trip, grids are interior-ready."""

import pytest

from rhmlib.sweeps import contrast
from rhmlib.sweeps.feedback import GRAMMARS
from rhmlib.train import resolve


def test_every_variant_label_round_trips_through_a_resolved_config() -> None:
    for name in contrast.VARIANTS:
        config = contrast.contrast_config(name, 4, 3, 2, 0, 0.02)
        assert contrast.label(config) == name == contrast.label(resolve(config))


def test_the_scan_brackets_the_recipe_and_covers_every_grammar() -> None:
    lrs = contrast.SSL_LRS
    assert lrs[0] < 0.02 < lrs[-1]  # the recipe's rate is interior to the grid
    configs = contrast.contrast_lr()
    assert {(c["m"], c["L"]) for c in configs} == set(GRAMMARS)
    assert len(configs) == len(GRAMMARS) * len(contrast.VARIANTS) * len(lrs) * len(
        contrast.SEEDS)
    for c in configs:  # each fits its grammar: training, test and validation sets
        full = resolve(c)
        n_inputs = full["n_c"] * full["m"] ** (2 ** full["L"] - 1)
        assert full["P"] + full["n_test"] + full["n_val"] <= n_inputs


def test_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="name must be one of"):
        contrast.contrast_config("CLAPP+++", 4, 3, 2, 0, 0.02)
