"""Bad input gets a clear error naming the parameter; valid input of any numeric type works."""

import json

import numpy as np
import pytest
import torch

from rhmlib import get_rule, run_experiment
from rhmlib.train import Diverged, flush_denormal, resolve

TINY = {"v": 8, "n_c": 4, "m": 2, "s": 2, "L": 3, "P": 40, "n_test": 20, "width": 8,
        "steps": 20}


@pytest.mark.parametrize(("changes", "error", "match"), [
    ({"lr": True}, TypeError, "lr must be a number"),
    ({"lr": 1e300}, ValueError, "lr must be a finite number in"),
    ({"lr": float("nan")}, ValueError, "lr must be a finite number in"),
    ({"eval_every": 10**9}, ValueError, "eval_every must be in"),
    ({"steps": 10**12}, ValueError, "steps must be in"),
    ({"width": 10**6}, ValueError, "width must be in"),
    ({"grammar_seed": -1}, ValueError, "grammar_seed must be in"),
    ({"seed": 2**63}, ValueError, "seed must be in"),
    ({"momentum": "0.9"}, TypeError, "momentum must be a number"),
    ({"rule_options": {"bogus": 1}}, TypeError, r"unknown option\(s\) \['bogus'\] for rule 'bp'"),
    ({"rule_options": [1]}, TypeError, "rule_options must be a dict"),
])
def test_bad_settings_are_named(changes: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        resolve({**TINY, **changes})


def test_numpy_and_tensor_scalars_are_numbers() -> None:
    config = resolve({**TINY, "P": np.int64(40), "lr": np.float32(0.1),
                      "momentum": torch.tensor(0.5), "weight_decay": np.float64(0.0)})
    assert type(config["P"]) is int and type(config["lr"]) is float
    json.dumps(config)  # a record of it can be saved


def test_seeds_up_to_2_63_work() -> None:
    result = run_experiment(**{**TINY, "steps": 2}, seed=2**63 - 1)
    assert result.config["seed"] == 2**63 - 1


def test_self_supervised_options_are_checked() -> None:
    with pytest.raises(TypeError, match="detach_context must be True or False"):
        get_rule("clapp", detach_context="no")


@pytest.mark.parametrize("rule", ["bp", "fa", "dfa", "pepita", "clapp", "vicreg"])
def test_a_run_that_blows_up_is_reported(rule: str) -> None:
    with pytest.raises(Diverged, match=f"rule '{rule}' diverged at step"):
        # DFA's recipe is Adam, whose bounded steps take far more than 200 to blow up.
        run_experiment(**{**TINY, "steps": 200, "lr": 1e3, "width": 16}, rule=rule,
                       rule_options={"readout_steps": 20} if rule == "clapp" else None,
                       **({"optimizer": "sgd"} if rule == "dfa" else {}))


def test_denormal_flushing_is_restored() -> None:
    torch.set_flush_denormal(False)
    with flush_denormal():
        assert float(torch.tensor([1e-40]) * 1.0) == 0.0
    assert float(torch.tensor([1e-40]) * 1.0) != 0.0
    run_experiment(**{**TINY, "steps": 2})
    assert float(torch.tensor([1e-40]) * 1.0) != 0.0


@pytest.mark.parametrize("args", [(3, 2, 1, 10**9, 1), (8, 4, 2, 2**63 - 1, 2),
                                  (2, 2, 1, 2, 10**6)])
def test_huge_grammar_powers_are_refused_before_computing_them(args: tuple) -> None:
    from rhmlib.rhm import RHM

    with pytest.raises(ValueError, match=r"v\*\*s must be|s\*\*L \(the input length\)"):
        RHM(*args)


def test_sizes_are_bounded_by_a_memory_estimate() -> None:
    from rhmlib.rhm import RHM

    rhm = RHM(8, 8, 4, 2, 5)
    with pytest.raises(ValueError, match=r"n=1000000000 is too large: .* GiB \(limit 2 GiB\)"):
        rhm.sample(10**9)
    with pytest.raises(ValueError, match=r"P=1000000000 is too large"):
        rhm.train_test(10**9, 10)


def test_a_draw_of_nearly_every_input_is_fast() -> None:
    from rhmlib.rhm import RHM

    rhm = RHM(8, 4, 2, 2, 4)  # 4 * 2**15 = 131,072 inputs
    train, test = rhm.train_test(rhm.n_inputs - 1000, 1000)
    keys = {tuple(r) for r in torch.cat([train.x, test.x]).tolist()}
    assert len(keys) == rhm.n_inputs


@pytest.mark.parametrize(("change", "match"), [
    (lambda x: x.float(), "x must hold integer tokens"),
    (lambda x: x.clamp(max=-1), r"x must hold tokens in \[0, 7\]"),
    (lambda x: x + 8, r"x must hold tokens in \[0, 7\]"),
])
def test_parse_refuses_tokens_outside_the_vocabulary(change, match: str) -> None:  # noqa: ANN001
    from rhmlib.rhm import RHM

    rhm = RHM(8, 4, 2, 2, 3)
    x = rhm.sample(4).x
    with pytest.raises((ValueError, TypeError), match=match):
        rhm.parse(change(x))
    with pytest.raises((ValueError, TypeError), match=match):
        rhm.one_hot(change(x))


def test_resample_refuses_a_sample_of_another_grammar() -> None:
    from rhmlib.rhm import RHM

    sample = RHM(8, 4, 2, 2, 3, seed=1).sample(16)
    with pytest.raises(ValueError, match="not a sample of this grammar|no level-. rule produces"):
        RHM(8, 4, 2, 2, 3, seed=2).resample(sample, 1)


def test_contrastive_rules_refuse_batches_of_one() -> None:
    with pytest.raises(ValueError, match=r"rule 'clapp' compares each input with others .* "
                                         r"batch_size=128 with P=1"):
        run_experiment(**{**TINY, "P": 1}, rule="clapp")


def test_too_large_a_training_set_names_P() -> None:
    with pytest.raises(ValueError, match=r"P \+ n_test \+ n_val must be <= 512, .* got P=600"):
        run_experiment(**{**TINY, "P": 600, "m": 2, "L": 3})
