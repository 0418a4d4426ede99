"""Fuzzing every public door: each call ends in a result or a documented error, quickly.

Hypothesis draws valid and invalid arguments (bools, floats, strings, None, numpy and
0-d tensor scalars, huge and negative integers, tokens out of the vocabulary, samples
of another grammar). A call passes when it returns a result of the promised shape or
raises ``ValueError``/``TypeError`` naming the parameter, within a time bound: no hang,
no foreign exception from deep inside torch. The number of cases tried is printed at
the end of the test session.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rhmlib import get_rule, run_experiment
from rhmlib.rhm import RHM, Sample
from rhmlib.rules import RULES, rule_names
from rhmlib.rules.local import LocalRule
from rhmlib.train import resolve

CASES: Counter = Counter()
DOCUMENTED = (ValueError, TypeError)
# Per call: a hang is caught, a slow machine is not blamed (valid calls here take < 1 s
# once torch is warm; see _warm_up).
SECONDS = 20.0
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

# Values a careless caller passes where an integer belongs.
junk = st.sampled_from([True, False, 2.5, "3", None, float("nan"), float("inf"), -1, 0,
                        10**12, 2**70, -(2**70), np.int64(3), np.float32(2.0),
                        torch.tensor(4), torch.tensor([1, 2]), [3]])


def _call(door: str, fn: Callable[[], object], *parameters: str) -> object:
    """Run ``fn``; a documented error must name one of ``parameters``; count the case."""
    start = time.perf_counter()
    try:
        result = fn()
        outcome = "result"
    except DOCUMENTED as error:
        message = str(error)
        assert not parameters or any(p in message for p in parameters), (door, message)
        result, outcome = None, "error"
    assert time.perf_counter() - start < SECONDS, f"{door} took too long"
    CASES[(door, outcome)] += 1
    return result


def maybe_int(low: int, high: int) -> st.SearchStrategy:
    """Mostly valid integers in [low, high], sometimes junk."""
    valid = st.integers(low, high)
    return st.one_of(valid, valid, valid, junk)


@FUZZ
@given(v=maybe_int(2, 12), n_c=maybe_int(2, 10), m=maybe_int(1, 12), s=maybe_int(2, 5),
       L=maybe_int(1, 5), seed=st.one_of(st.integers(0, 2**63 - 1), junk))
def test_rhm_grammars(v: object, n_c: object, m: object, s: object, L: object,
                      seed: object) -> None:
    rhm = _call("RHM", lambda: RHM(v, n_c, m, s, L, seed), "v", "n_c", "m", "s", "L", "seed")
    if rhm is not None:
        assert len(rhm.rules) == rhm.L and rhm.n_inputs >= rhm.n_c


@FUZZ
@given(v=st.integers(2, 10), m=st.integers(1, 6), L=st.integers(1, 4),
       n=maybe_int(0, 300), P=maybe_int(1, 300), n_test=maybe_int(0, 300),
       n_val=maybe_int(0, 100), seed=st.one_of(st.integers(0, 2**63 - 1), junk))
def test_sampling(v: int, m: int, L: int, n: object, P: object, n_test: object,
                  n_val: object, seed: object) -> None:
    rhm = RHM(v, 2, min(m, v), 2, L)
    sample = _call("sample", lambda: rhm.sample(n, seed=seed), "n", "seed")
    if sample is not None:
        assert len(sample) == n and sample.x.shape[1] == rhm.input_length
    distinct = _call("sample_distinct", lambda: rhm.sample_distinct(n, seed=seed), "n", "seed")
    if distinct is not None:
        assert len(set(map(tuple, distinct.x.tolist()))) == len(distinct) == n
    sets = _call("splits", lambda: rhm.splits(P, n_test, n_val, seed),
                 "P", "n_test", "n_val", "seed")
    if sets is not None:
        keys = [set(map(tuple, part.x.tolist())) for part in sets]
        assert [len(k) for k in keys] == [P, n_test, n_val]
        assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])


tokens_kinds = st.sampled_from(["valid", "float", "bool", "negative", "too_big", "short",
                                "list", "numpy", "string", "three_d"])


@FUZZ
@given(v=st.integers(2, 8), m=st.integers(1, 4), L=st.integers(1, 4),
       kind=tokens_kinds, level=maybe_int(0, 4), seed=st.integers(0, 2**63 - 1))
def test_tokens_and_trees(v: int, m: int, L: int, kind: str, level: object, seed: int) -> None:
    rhm = RHM(v, 2, min(m, v), 2, L, seed=seed % 1000)
    sample = rhm.sample(5, seed=seed)
    x: object = sample.x.clone()
    if kind == "float":
        x = sample.x.float()
    elif kind == "bool":
        x = sample.x > 0
    elif kind == "negative":
        x[0, 0] = -1
    elif kind == "too_big":
        x[0, 0] = v
    elif kind == "short":
        x = sample.x[:, :-1]
    elif kind == "list":
        x = sample.x.tolist()
    elif kind == "numpy":
        x = sample.x.numpy()
    elif kind == "string":
        x = "tokens"
    elif kind == "three_d":
        x = sample.x[None]
    valid = kind in ("valid", "list", "numpy")
    tree = _call("parse", lambda: rhm.parse(x), "x")
    assert (tree is not None) == valid
    if valid:
        assert all(torch.equal(a, b) for a, b in zip(tree, sample.hidden))
    encoded = _call("one_hot", lambda: rhm.one_hot(x), "x")
    assert (encoded is not None) == valid
    # A sample whose tree does not match its tokens (or of another grammar) is refused.
    forged = Sample([h.clone() for h in sample.hidden])
    if kind == "too_big":
        forged.hidden[-1][0, 0] = (forged.hidden[-1][0, 0] + 1) % v
    redrawn = _call("resample", lambda: rhm.resample(forged, level, seed=seed),
                    "level", "sample", "x", "seed")
    if redrawn is not None:
        assert all(torch.equal(a, b) for a, b in zip(rhm.parse(redrawn.x), redrawn.hidden))


# Valid settings of a run, varied; at most one of them replaced by junk per case.
valid_settings = st.fixed_dictionaries({}, optional={
    "lr": st.floats(1e-4, 1.0), "steps": st.integers(1, 20), "batch_size": st.integers(1, 64),
    "momentum": st.floats(0, 1), "weight_decay": st.floats(0, 0.1),
    "eval_every": st.integers(1, 5), "optimizer": st.sampled_from(["sgd", "adam"]),
    "schedule": st.sampled_from(["constant", "cosine"]), "width": st.integers(1, 16),
    "n_test": st.integers(0, 50), "n_val": st.integers(0, 20),
    "grammar_seed": st.integers(0, 2**63 - 1), "model": st.sampled_from(["cnn", "fcn"]),
})
bad_setting = st.one_of(st.just({}), st.builds(
    lambda key, value: {key: value},
    st.sampled_from(["lr", "steps", "batch_size", "momentum", "weight_decay", "eval_every",
                     "optimizer", "schedule", "width", "n_test", "n_val", "grammar_seed",
                     "model", "P", "seed"]),
    st.one_of(junk, st.sampled_from(["lbfgs", "step", "resnet"]))))


@settings(FUZZ, max_examples=100)
@given(rule=st.sampled_from([*rule_names(), *rule_names(), "sgd", 3]), P=st.integers(1, 60),
       seed=st.integers(0, 2**63 - 1), changes=valid_settings, bad=bad_setting)
def test_run_experiment(rule: object, P: int, seed: int, changes: dict, bad: dict) -> None:
    grammar = {"v": 8, "n_c": 4, "m": 4, "s": 2, "L": 2}  # 256 inputs
    config = {**grammar, "P": P, "seed": seed, "steps": 5, "n_test": 20, "width": 8,
              "eval_every": 5, **changes, **bad}
    if rule in rule_names() and issubclass(RULES[rule], LocalRule):
        # Self-supervised recipes train their readout for 1,000 steps: keep cases fast.
        config["rule_options"] = {"readout_steps": 5}
    names = ("rule", *config, "batch", "L >= 2", "inputs")
    full = _call("resolve", lambda: resolve({**config, "rule": rule}), *names)
    result = _call("run_experiment", lambda: run_experiment(rule=rule, **config), *names)
    if result is not None:
        assert result.config == full
        for accuracy in (result.test_accuracy, result.train_accuracy, result.val_accuracy):
            assert accuracy is None or 0.0 <= accuracy <= 1.0


@FUZZ
@given(rule=st.sampled_from(rule_names()),
       options=st.dictionaries(st.sampled_from(["feedback", "f_scale", "pairs", "locality",
                                                 "readout", "unlabelled", "readout_steps",
                                                 "readout_lr", "detach_context", "bogus",
                                                 "temperature", "masks"]),
                               st.one_of(junk, st.sampled_from(["exact", "random", "oracle",
                                                                "sibling", "top", 0.5])),
                               max_size=2))
def test_rule_options(rule: str, options: dict) -> None:
    _call("get_rule", lambda: get_rule(rule, **options), *options, "option")


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> object:
    """Warm torch up, then hand the case counts to conftest, which prints them."""
    # The first Adam step imports much of torch (seconds): not a door's own time.
    run_experiment(6, 3, 2, 2, 2, 8, rule="clapp", steps=2, n_test=8, width=4,
                   rule_options={"readout_steps": 2})
    request.config.fuzz_cases = CASES
    yield
    assert sum(CASES.values()) > 0
