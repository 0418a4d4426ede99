"""Properties of the RHM generator."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rhmlib import RHM


@st.composite
def grammars(draw: st.DrawFn) -> RHM:
    """Valid small grammars, including the maximal-synonymy corner m*v = v**s."""
    s = draw(st.integers(2, 3))
    v = draw(st.integers(2, 6))
    L = draw(st.integers(1, 4 if s == 2 else 3))
    m = draw(st.integers(1, v ** (s - 1)))
    n_c = draw(st.integers(2, v**s // m))
    return RHM(v, n_c, m, s, L, seed=draw(st.integers(0, 2**31)))


@settings(max_examples=60, deadline=None)
@given(grammars())
def test_rules_shape_and_unique_tuples(rhm: RHM) -> None:
    assert len(rhm.rules) == rhm.L
    for level, rules in enumerate(rhm.rules):
        n_symbols = rhm.n_c if level == 0 else rhm.v
        assert rules.shape == (n_symbols, rhm.m, rhm.s)  # exactly m rules per symbol
        assert rules.dtype == torch.int64
        assert int(rules.min()) >= 0 and int(rules.max()) < rhm.v
        tuples = rules.reshape(-1, rhm.s)
        assert len(torch.unique(tuples, dim=0)) == len(tuples)  # no tuple shared in a level


@settings(max_examples=60, deadline=None)
@given(grammars(), st.integers(0, 50), st.integers(0, 2**31))
def test_samples_parse_back_to_their_tree(rhm: RHM, n: int, seed: int) -> None:
    sample = rhm.sample(n, seed=seed)
    assert sample.x.shape == (n, rhm.s**rhm.L) and sample.x.dtype == torch.int64
    assert sample.y.shape == (n,) and sample.y.dtype == torch.int64
    assert len(sample.hidden) == rhm.L + 1
    for level, h in enumerate(sample.hidden):
        assert h.shape == (n, rhm.s**level)
    # Each node's children are one of its m rules...
    for level in range(rhm.L):
        parents = sample.hidden[level]
        children = sample.hidden[level + 1].reshape(n, rhm.s**level, rhm.s)
        options = rhm.rules[level][parents]  # [n, s**level, m, s]
        assert bool((options == children[:, :, None, :]).all(-1).any(-1).all())
    # ... and the parse of the input recovers the whole tree, label included.
    parsed = rhm.parse(sample.x)
    for h, p in zip(sample.hidden, parsed):
        assert torch.equal(h, p)


@settings(max_examples=30, deadline=None)
@given(grammars(), st.integers(0, 2**31))
def test_train_test_are_distinct_and_disjoint(rhm: RHM, seed: int) -> None:
    n_test = min(30, rhm.n_inputs // 3)
    P = max(1, min(40, rhm.n_inputs - n_test))
    train, test = rhm.train_test(P, n_test, seed=seed)
    assert len(train) == P and len(test) == n_test
    rows = lambda s: {tuple(r) for r in s.x.tolist()}  # noqa: E731
    assert len(rows(train)) == P and len(rows(test)) == n_test
    assert not rows(train) & rows(test)


def test_sampling_is_reproducible_and_seed_dependent() -> None:
    a, b = RHM(8, 4, 3, 2, 3, seed=1), RHM(8, 4, 3, 2, 3, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a.rules, b.rules))
    assert torch.equal(a.sample(100, seed=5).x, b.sample(100, seed=5).x)
    assert not torch.equal(a.sample(100, seed=5).x, a.sample(100, seed=6).x)
    assert not all(torch.equal(x, y) for x, y in zip(a.rules, RHM(8, 4, 3, 2, 3, seed=2).rules))
    tr1, te1 = a.train_test(200, 100, seed=3)
    tr2, te2 = b.train_test(200, 100, seed=3)
    assert torch.equal(tr1.x, tr2.x) and torch.equal(te1.x, te2.x)


def test_test_set_does_not_depend_on_P() -> None:
    rhm = RHM(16, 16, 4, 2, 3)
    assert torch.equal(rhm.train_test(100, 500)[1].x, rhm.train_test(3000, 500)[1].x)


def test_sample_distinct_can_exhaust_a_small_grammar() -> None:
    rhm = RHM(3, 2, 2, 2, 2, seed=0)  # 2 * 2**3 = 16 inputs
    assert rhm.n_inputs == 16
    everything = rhm.sample_distinct(16, seed=0)
    assert len({tuple(r) for r in everything.x.tolist()}) == 16
    with pytest.raises(ValueError, match="n must be <= 16"):
        rhm.sample_distinct(17)
    with pytest.raises(ValueError, match=r"P \+ n_test \+ n_val must be <= 16, the number of "
                       r"distinct inputs of this grammar, got P=7, n_test=10"):
        rhm.train_test(7, 10)
    train, test = rhm.train_test(6, 10)  # the whole grammar, split
    assert len({tuple(r) for r in torch.cat([train.x, test.x]).tolist()}) == 16


def test_resample_keeps_the_hidden_variables_above() -> None:
    rhm = RHM(16, 16, 4, 2, 4)
    sample = rhm.sample(500, seed=0)
    for level in range(rhm.L):
        new = rhm.resample(sample, level, seed=1)
        for above in range(level + 1):
            assert torch.equal(new.hidden[above], sample.hidden[above])
        # Below, synonyms were redrawn: most inputs change, and all still parse.
        assert (new.x != sample.x).any(1).float().mean() > 0.5
        assert torch.equal(rhm.parse(new.x)[level], sample.hidden[level])


def test_one_hot() -> None:
    rhm = RHM(5, 3, 2, 2, 2)
    x = rhm.sample(7).x
    oh = rhm.one_hot(x)
    assert oh.shape == (7, 4, 5) and oh.dtype == torch.float32
    assert torch.equal(oh.argmax(2), x) and torch.equal(oh.sum(2), torch.ones(7, 4))


def test_deep_grammar_beyond_int64() -> None:
    rhm = RHM(16, 16, 4, 2, 6)
    assert rhm.n_inputs > 2**63
    train, test = rhm.train_test(1000, 1000, seed=0)
    assert train.x.shape == (1000, 64)
    assert torch.equal(rhm.parse(train.x)[0][:, 0], train.y)


def test_counts() -> None:
    rhm = RHM(16, 16, 4, 2, 3)
    assert rhm.n_inputs == 262_144 and rhm.p_star == 1024 and rhm.input_length == 8


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"v": 1}, ValueError, "v must be >= 2"),
        ({"v": 2.5}, TypeError, "v must be an integer"),
        ({"n_c": True}, TypeError, "n_c must be an integer"),
        ({"n_c": 1}, ValueError, "n_c must be >= 2"),
        ({"m": 0}, ValueError, "m must be >= 1"),
        ({"s": 1}, ValueError, "s must be >= 2"),
        ({"L": 0}, ValueError, "L must be >= 1"),
        ({"seed": -1}, ValueError, "seed must be in"),
        ({"m": 17, "n_c": 2}, ValueError, "m must be <= v\\*\\*s / v = 16"),
        ({"n_c": 100, "m": 3}, ValueError, "m must be <= v\\*\\*s / n_c = 2"),
        ({"v": 16, "s": 16}, ValueError, "v\\*\\*s must be <= 2\\*\\*62"),
        ({"s": 2, "L": 17}, ValueError, "s\\*\\*L"),
        ({"v": "16"}, TypeError, "v must be an integer"),
    ],
)
def test_invalid_parameters(kwargs: dict, error: type, match: str) -> None:
    params = {"v": 16, "n_c": 16, "m": 4, "s": 2, "L": 3, **kwargs}
    with pytest.raises(error, match=match):
        RHM(**params)


def test_invalid_calls() -> None:
    rhm = RHM(16, 16, 4, 2, 3)
    with pytest.raises(ValueError, match="n must be >= 0"):
        rhm.sample(-1)
    with pytest.raises(ValueError, match="level must be in \\[0, 2\\]"):
        rhm.resample(rhm.sample(2), 3)
    with pytest.raises(ValueError, match="x must have shape"):
        rhm.parse(torch.zeros(2, 5, dtype=torch.long))
    used = {tuple(t) for t in rhm.rules[2].reshape(-1, 2).tolist()}
    unused = next((a, b) for a in range(16) for b in range(16) if (a, b) not in used)
    bad = rhm.sample(3).x.clone()
    bad[0, :2] = torch.tensor(unused)
    with pytest.raises(ValueError, match="no level-2 rule"):
        rhm.parse(bad)
