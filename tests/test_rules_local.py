"""Self-supervised local rules: explicit Hebbian CLAPP, locality, pairs, two-stage protocol."""

from __future__ import annotations

import pytest
import torch

from rhmlib import RHM, build_model, get_rule, run_experiment
from rhmlib.probes import linear_decodability, synonymic_sensitivity, update_cosine
from rhmlib.rules import Batch
from rhmlib.rules.clapp import hebbian_update
from rhmlib.rules.local import LinearProbeNet, derangement
from rhmlib.streams import derive

SSL_RULES = ("clapp", "infonce", "vicreg", "ff")
SMALL = {"v": 8, "n_c": 4, "m": 2, "s": 2, "L": 3}


def _batch(rhm: RHM, n: int = 32, seed: int = 0) -> Batch:
    return Batch.of(rhm.sample(n, seed=seed), rhm, torch.Generator().manual_seed(seed))


def _setup(name: str, rhm: RHM, width: int = 16, **options: object):
    model = build_model("cnn", rhm.v, rhm.s, rhm.L, width, rhm.n_c, seed=1)
    rule = get_rule(name, **options)
    rule.setup(model, torch.Generator().manual_seed(3))
    return model, rule


@pytest.mark.parametrize("score", ["dot", "cosine"])
@pytest.mark.parametrize("mode", ["both", "alternate"])
@pytest.mark.parametrize("pairs", ["sibling", "oracle"])
def test_explicit_clapp_equals_autograd(score: str, mode: str, pairs: str) -> None:
    """pre x post x third factor, written out, is exactly the autograd update."""
    rhm = RHM(**SMALL, seed=0)
    model, rule = _setup("clapp", rhm, score=score, mode=mode, pairs=pairs)
    for p in rule.parameters():
        p.grad = None
    rule.loss(_batch(rhm, seed=5)).backward()
    explicit = hebbian_update(rule, _batch(rhm, seed=5))
    assert len(explicit) == rule.n_ssl == rhm.L - 1
    for i, (d_weight, d_predictor) in enumerate(explicit):
        assert d_weight.abs().sum() > 0
        torch.testing.assert_close(d_weight, model.layers[i].weight.grad, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(d_predictor, rule.heads[i].weight.grad, rtol=1e-4, atol=1e-6)


def test_hebbian_update_needs_local_clapp() -> None:
    rhm = RHM(**SMALL, seed=0)
    _, rule = _setup("clapp_global", rhm)
    with pytest.raises(ValueError, match="locality"):
        hebbian_update(rule, _batch(rhm))


@pytest.mark.parametrize("name", SSL_RULES)
def test_local_rule_sends_no_error_across_layers(name: str) -> None:
    """Layer 1's update from the summed local loss is that of its own loss alone."""
    rhm = RHM(**SMALL, seed=0)
    model, rule = _setup(name, rhm)
    rule.loss(_batch(rhm, seed=2)).backward()
    summed = model.layers[0].weight.grad.clone()
    model.zero_grad()
    rule.layer_losses(_batch(rhm, seed=2))[0].backward()
    torch.testing.assert_close(summed, model.layers[0].weight.grad)
    # The top layer has no self-supervised signal and the readout no labels here.
    assert model.layers[-1].weight.grad is None or model.layers[-1].weight.grad.abs().sum() == 0


@pytest.mark.parametrize("name", SSL_RULES)
def test_global_twin_shares_the_top_update(name: str) -> None:
    """At the top self-supervised layer local and global updates coincide; below, not."""
    rhm = RHM(**SMALL, seed=0)
    model, local = _setup(name, rhm)
    twin = get_rule(f"{name}_global")
    twin.setup(model, torch.Generator().manual_seed(3))
    assert twin.locality == "top"
    cosines = update_cosine(local, twin, _batch(rhm, seed=4))
    assert cosines[rhm.L - 2] == pytest.approx(1.0, abs=1e-5)
    assert cosines[0] < 0.999


def test_derangement_has_no_fixed_point() -> None:
    gen = torch.Generator().manual_seed(0)
    for n in (2, 3, 10, 128):
        perm = derangement(n, gen)
        assert sorted(perm.tolist()) == list(range(n))
        assert bool((perm != torch.arange(n)).all())


@pytest.mark.parametrize("name", [*SSL_RULES, "clapp_global", "vicreg_global"])
def test_two_stage_protocol_runs(name: str) -> None:
    result = run_experiment(**SMALL, P=64, rule=name, width=8, seed=0, n_test=64, steps=6,
                            eval_every=3, optimizer="adam", lr=1e-3, progress=False,
                            rule_options={"readout_steps": 4})
    history = result.history
    assert history.step == [3, 6, 9, 10]  # SSL stage, then the readout stage
    # No accuracy during the SSL stage: its readout is not trained yet.
    assert history.test_accuracy[:2] == [None, None] == history.train_accuracy[:2]
    assert 0.0 <= result.test_accuracy <= 1.0
    assert result.config["rule_options"]["readout_steps"] == 4


def test_ssl_stage_freezes_nothing_it_should_train_and_readout_freezes_ssl_layers() -> None:
    before = build_model("cnn", 8, 2, 3, 8, 4, seed=0)
    result = run_experiment(**SMALL, P=64, rule="clapp", width=8, seed=0, n_test=32, steps=5,
                            eval_every=5, optimizer="adam", lr=1e-2, progress=False,
                            rule_options={"readout_steps": 5})
    after = result.model
    assert not torch.equal(before.layers[0].weight, after.layers[0].weight)
    assert not torch.equal(before.layers[2].weight, after.layers[2].weight)  # labelled stage


def test_linear_readout_and_unlabelled_inputs() -> None:
    seen = []
    result = run_experiment(
        **SMALL, P=40, rule="infonce", width=8, seed=0, n_test=32, steps=2, eval_every=2,
        optimizer="adam", progress=False,
        rule_options={"readout": "linear", "unlabelled": 100, "readout_steps": 2},
        callback=lambda step, rule, batch: seen.append((rule.name, len(batch.x))),
    )
    assert isinstance(result.model, LinearProbeNet)
    assert result.model.readout.in_features == 8 * 2
    assert seen[0] == ("infonce", 128)  # 40 labelled + 100 unlabelled inputs, batch 128
    assert seen[1] == ("readout", 40)


@pytest.mark.parametrize(
    ("options", "error"),
    [({"pairs": "masked"}, ValueError), ({"locality": "far"}, ValueError),
     ({"readout": "mlp"}, ValueError), ({"unlabelled": -1}, ValueError),
     ({"unlabelled": 1.5}, TypeError), ({"readout_lr": 0}, ValueError),
     ({"temperature": 0}, ValueError), ({"mode": "sometimes"}, ValueError),
     ({"score": "l2"}, ValueError), ({"context": "parent"}, ValueError),
     ({"predictor": "per-input"}, ValueError), ({"detach_context": "no"}, TypeError),
     ({"context": "top", "pairs": "oracle"}, ValueError)],
)
def test_bad_options_raise(options: dict, error: type) -> None:
    with pytest.raises(error):
        get_rule("clapp", **options)


def test_ssl_rules_need_a_hierarchical_cnn() -> None:
    rule = get_rule("vicreg")
    with pytest.raises(ValueError, match="hierarchical CNN"):
        rule.setup(build_model("fcn", 8, 2, 3, 8, 4), torch.Generator())


def test_probes_shapes_and_ranges() -> None:
    rhm = RHM(**SMALL, seed=0)
    model = build_model("cnn", 8, 2, 3, 16, 4, seed=0)
    sample = rhm.sample(200, seed=1)
    decod = linear_decodability(model, rhm, sample)
    assert len(decod) == rhm.L and all(len(row) == rhm.L + 1 for row in decod)
    # Layer 1 reads one tuple of leaves: its own node is decodable from random features.
    assert decod[0][rhm.L - 1] > 0.9
    assert decod[-1][1] != decod[-1][1]  # finer levels than the layer's: NaN
    assert all(0 <= x <= 1 for row in decod for x in row if x == x)
    sens = synonymic_sensitivity(model, rhm, sample)
    assert len(sens) == rhm.L
    with pytest.raises(ValueError, match="ridge"):
        linear_decodability(model, rhm, sample, ridge=0)


def test_forward_forward_has_no_predictor_to_make_positional() -> None:
    with pytest.raises(ValueError, match="predictor must be 'shared'"):
        get_rule("ff", predictor="position")
    with pytest.raises(TypeError, match="normalize must be True or False"):
        get_rule("ff", normalize="no")


def test_top_context_is_the_top_layers_sibling_for_every_layer() -> None:
    rhm = RHM(**{**SMALL, "L": 4}, seed=0)
    model, rule = _setup("clapp", rhm, context="top")
    pairs = rule.layer_pairs(_batch(rhm))
    top = pairs[-1]
    # The top self-supervised layer keeps its own sibling context.
    torch.testing.assert_close(top.c, top.z.detach().roll(1, dims=1))
    for layer in pairs[:-1]:
        per_ancestor = layer.z.shape[1] // top.c.shape[1]
        torch.testing.assert_close(layer.c, top.c.repeat_interleave(per_ancestor, dim=1))
        assert layer.c.shape == layer.z.shape and not layer.c.requires_grad


@pytest.mark.parametrize("name", ["clapp", "infonce", "vicreg"])
def test_position_predictors_map_each_position_with_its_own_matrix(name: str) -> None:
    rhm = RHM(**SMALL, seed=0)
    model, rule = _setup(name, rhm, predictor="position")
    sizes = [tuple(head.weight.shape) for head in rule.heads]
    assert sizes == [(4, 16, 16), (2, 16, 16)]  # positions per layer, width, width
    c = torch.randn(5, 4, 16)
    expected = torch.stack([c[:, t] @ rule.heads[0].weight[t].T for t in range(4)], dim=1)
    torch.testing.assert_close(rule.heads[0](c), expected)
    rule.loss(_batch(rhm)).backward()
    assert all(head.weight.grad.abs().sum() > 0 for head in rule.heads)
    with pytest.raises(ValueError, match="predictor='shared'"):
        hebbian_update(get_rule("clapp", predictor="position"), _batch(rhm))


@pytest.mark.parametrize("name", ["clapp", "infonce", "vicreg"])
def test_feedback_context_predicts_each_view_from_the_top_layer_of_the_other(name: str) -> None:
    """CLAPP++DFB: a lower layer's whole view (positions flattened) against the top layer's
    representation of the other view; the top layer keeps its sibling context."""
    rhm = RHM(8, 4, 2, 2, 3, seed=0)
    net = build_model("cnn", 8, 2, 3, 8, 4, seed=0)
    rule = get_rule(name, context="feedback")
    rule.setup(net, torch.Generator().manual_seed(0))
    batch = Batch.of(rhm.sample(16, seed=1), rhm, torch.Generator().manual_seed(2),
                     frozenset())
    low, top = rule.layer_pairs(batch)
    assert low.z.shape == (16, 2, 2 * 8) and low.c.shape == top.c.shape == (16, 2, 8)
    assert torch.equal(low.c, top.c)  # the top layer's representation of the other view
    assert torch.equal(top.c, top.z.detach().roll(1, dims=1))
    assert torch.isfinite(rule.loss(batch))
    with pytest.raises(ValueError, match="needs predictor='shared'"):
        get_rule(name, context="feedback", predictor="position")
    with pytest.raises(ValueError, match="needs a predictor"):
        get_rule("ff", context="feedback")


def test_blend_moves_the_update_from_the_local_rule_to_its_global_twin() -> None:
    rhm = RHM(8, 4, 2, 2, 3, seed=0)
    batch_of = lambda: Batch.of(rhm.sample(32, seed=1), rhm, torch.Generator().manual_seed(2),
                                frozenset())
    twin = get_rule("clapp", locality="top")
    net = build_model("cnn", 8, 2, 3, 8, 4, seed=0)
    twin.setup(net, torch.Generator().manual_seed(0))
    cosines = []
    for blend in (0.0, 0.5, 1.0):
        rule = get_rule("clapp", blend=blend)
        rule.setup(net, torch.Generator().manual_seed(0))
        cosines.append(update_cosine(rule, twin, batch_of())[0])
    assert cosines[0] < cosines[1] < cosines[2]
    with pytest.raises(ValueError, match="blend must be"):
        get_rule("clapp", blend=1.5)
    with pytest.raises(ValueError, match="needs locality='local'"):
        get_rule("clapp", locality="top", blend=0.5)


def test_the_readout_keeps_the_frozen_features_of_each_input_once() -> None:
    from rhmlib.rules.local import Readout

    rhm = RHM(8, 8, 3, 2, 3, seed=0)
    net = build_model("cnn", 8, 2, 3, 16, 8, seed=0)
    readout = Readout(frozen=2)
    readout.setup(net, torch.Generator().manual_seed(0))
    x = rhm.one_hot(rhm.sample(40, seed=1).x)
    batch = torch.cat([x[:10], x[5:15], x[:3]])  # repeated inputs within and across batches
    kept = readout.frozen_features(batch)
    assert torch.allclose(kept, net.features(batch, depth=2)[-1], atol=1e-6)
    assert len(readout._bank) == 15  # each distinct input computed once
    again = readout.frozen_features(x[:15])
    assert len(readout._bank) == 15 and torch.equal(again[:10], kept[:10])
    # The loss trains the upper layer and the readout from the kept features alone.
    loss = readout.loss(Batch(x[:15], torch.zeros(15, dtype=torch.long), None, None, rhm,
                              torch.Generator()))
    loss.backward()
    assert net.layers[0].weight.grad is None and net.layers[2].weight.grad is not None
    assert Readout(frozen=0).frozen_features(x) is x


def test_without_pretraining_only_the_readout_learns() -> None:
    config = dict(v=8, n_c=8, m=3, s=2, L=3, P=200, width=16, steps=30, n_test=100, seed=0,
                  progress=False)
    plain = run_experiment(**config, rule="clapp", rule_options={"pretrain": False})
    assert len(plain.stages) == 1  # the readout alone
    fresh = build_model("cnn", 8, 2, 3, 16, 8, seed=derive(0, "init"))
    # The self-supervised layers keep their initial weights.
    assert torch.equal(plain.model.layers[0].weight, fresh.layers[0].weight)
    with pytest.raises(TypeError, match="pretrain"):
        get_rule("clapp", pretrain="no")
