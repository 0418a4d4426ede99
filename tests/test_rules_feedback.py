"""Each gradient-substitution rule's update on a tiny network, against its equation by hand."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from rhmlib.models import HierarchicalCNN
from rhmlib.probes import rule_update
from rhmlib.rules import Batch, get_rule
from rhmlib.rules.masking import MASKS, substitute_mask

V, S, L, WIDTH, N_C, N = 3, 2, 2, 4, 3, 6


def conv(w: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """a[n,p,c] = sum_q w[c,q] h[n,p,q]; q runs over the s children of node p."""
    return torch.einsum("cq,npq->npc", w, h.reshape(h.shape[0], -1, w.shape[1]))


def weight_grad(delta: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """dW[c,q] = sum_{n,p} delta[n,p,c] h[n,p,q]."""
    return torch.einsum("npc,npq->cq", delta, h.reshape(h.shape[0], delta.shape[1], -1))


def transpose(w: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """W^T delta back onto the layer's input positions."""
    g = torch.einsum("cq,npc->npq", w, delta)
    return g.reshape(g.shape[0], g.shape[1] * S, -1)


@pytest.fixture
def setting() -> tuple[HierarchicalCNN, Batch]:
    torch.manual_seed(0)
    net = HierarchicalCNN(V, S, L, WIDTH, N_C)
    tokens = torch.randint(0, V, (N, S**L))
    x = F.one_hot(tokens, V).float()
    y = torch.randint(0, N_C, (N,))
    return net, Batch(x, y, tokens, [], None, torch.Generator().manual_seed(1))


def forward(net: HierarchicalCNN, x: torch.Tensor) -> tuple[list, list, torch.Tensor]:
    """Pre-activations, activations (h_0 = x) and logits, by hand."""
    hs, as_ = [x], []
    for layer in net.layers:
        as_.append(conv(layer.weight.detach(), hs[-1]))
        hs.append(torch.relu(as_[-1]))
    logits = hs[-1].flatten(1) @ net.readout.weight.detach().T + net.readout.bias.detach()
    return as_, hs, logits


def error(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (torch.softmax(logits, 1) - F.one_hot(y, N_C).float()) / len(y)


def chain(net, batch, transports, readout_t, own, down) -> list[torch.Tensor]:
    """g_L = T_out^T e; dW_l = (g_l * own_l) h_{l-1}^T; g_{l-1} = T_l^T (g_l * down_l)."""
    as_, hs, logits = forward(net, batch.x)
    e = error(logits, batch.y)
    g = (e @ readout_t).reshape(hs[-1].shape)
    grads = [None] * L
    for k in reversed(range(L)):
        mask = (as_[k] > 0).float()
        grads[k] = weight_grad(g * own(mask), hs[k])
        g = transpose(transports[k], g * down(mask))
    return grads + [e.T @ hs[-1].flatten(1)]


def check(got: list[torch.Tensor], want: list[torch.Tensor]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert w.abs().max() > 1e-6  # a real, non-zero update is compared
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-7)


def updates(name: str, net, batch, **options) -> tuple[object, list[torch.Tensor]]:
    rule = get_rule(name, **options)
    rule.setup(net, torch.Generator().manual_seed(2))
    return rule, rule_update(rule, batch)


def weights(net) -> list[torch.Tensor]:
    return [layer.weight.detach() for layer in net.layers]


def test_bp_matches_autograd_and_hand(setting) -> None:
    net, batch = setting
    _, got = updates("bp", net, batch)
    loss = F.cross_entropy(net(batch.x), batch.y)
    auto = torch.autograd.grad(loss, [*(la.weight for la in net.layers), net.readout.weight])
    check(got, list(auto))
    ident = lambda m: m  # noqa: E731
    check(got, chain(net, batch, weights(net), net.readout.weight.detach(), ident, ident))


def test_fa_uses_its_random_matrices(setting) -> None:
    net, batch = setting
    rule, got = updates("fa", net, batch)
    bs = [fb["weight"] for fb in rule.feedback]
    ident = lambda m: m  # noqa: E731
    check(got, chain(net, batch, bs[:-1], bs[-1], ident, ident))
    _, bp = updates("bp", net, batch)
    torch.testing.assert_close(got[-1], bp[-1])  # the readout's update is local
    assert not torch.allclose(got[0], bp[0])


def test_feedback_is_not_the_initial_weights() -> None:
    """The training loop seeds the rule's generator like the model: B must still differ."""
    from rhmlib.models import build_model

    for name in ("fa", "dfa"):
        net = build_model("cnn", V, S, L, WIDTH, N_C, seed=0)
        rule = get_rule(name)
        rule.setup(net, torch.Generator().manual_seed(0))
        tokens = torch.randint(0, V, (N, S**L), generator=torch.Generator().manual_seed(3))
        x = F.one_hot(tokens, V).float()
        batch = Batch(x, tokens[:, 0] % N_C, tokens, [], None, torch.Generator())
        _, bp = updates("bp", net, batch)
        cosines = [float(torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), 0))
                   for a, b in zip(rule_update(rule, batch), bp)]
        assert all(abs(c) < 0.99 for c in cosines[:-1]), (name, cosines)


@pytest.mark.parametrize("where", ["own", "down"])
@pytest.mark.parametrize("kind", ["ones", "other", "mean"])
def test_masked_bp_replaces_one_kind_of_mask(setting, where: str, kind: str) -> None:
    net, batch = setting
    _, got = updates("bp_masked", net, batch, **{where: kind})
    ident = lambda m: m  # noqa: E731
    sub = {"ones": torch.ones_like, "other": lambda m: m.roll(1, 0),
           "mean": lambda m: m.mean(0, keepdim=True).expand_as(m)}[kind]
    own, down = (sub, ident) if where == "own" else (ident, sub)
    check(got, chain(net, batch, weights(net), net.readout.weight.detach(), own, down))
    if where == "down":  # the top layer's update has no downstream mask
        _, bp = updates("bp", net, batch)
        torch.testing.assert_close(got[L - 1], bp[L - 1])


def test_random_masks_keep_each_units_rate() -> None:
    mask = (torch.randn(4000, 5, 2) > torch.linspace(-1, 1, 10).reshape(5, 2)).float()
    drawn = substitute_mask("random", mask, torch.Generator().manual_seed(0))
    assert set(drawn.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(drawn.mean(0), mask.mean(0), atol=0.04, rtol=0)
    assert (drawn != mask).float().mean() > 0.2
    with pytest.raises(ValueError, match="mask"):
        substitute_mask("half", mask, torch.Generator())


def direct(net, batch, projections, signal) -> list[torch.Tensor]:
    """delta_l = (B_l signal) * f'(a_l); the readout learns from the error e."""
    as_, hs, logits = forward(net, batch.x)
    e = error(logits, batch.y)
    grads = [weight_grad(torch.tensordot(signal(e), b, dims=1) * (as_[k] > 0).float(), hs[k])
             for k, b in enumerate(projections)]
    return grads + [e.T @ hs[-1].flatten(1)]


def test_dfa_sends_the_error_directly(setting) -> None:
    net, batch = setting
    rule, got = updates("dfa", net, batch)
    check(got, direct(net, batch, rule.matrices, lambda e: e))


def test_drtp_sends_the_target(setting) -> None:
    net, batch = setting
    rule, got = updates("drtp", net, batch)
    target = -F.one_hot(batch.y, N_C).float() / N
    check(got, direct(net, batch, rule.matrices, lambda e: target))


def test_dfa_exact_equals_bp_without_downstream_masks(setting) -> None:
    net, batch = setting
    _, got = updates("dfa", net, batch, feedback="exact")
    ident = lambda m: m  # noqa: E731
    want = chain(net, batch, weights(net), net.readout.weight.detach(), ident, torch.ones_like)
    check(got, want)
    _, masked = updates("bp_masked", net, batch, down="ones")
    check(got, masked)


def test_pepita_two_forward_passes(setting) -> None:
    net, batch = setting
    rule, got = updates("pepita", net, batch, f_scale=3.0)
    _, hs, logits = forward(net, batch.x)
    e = error(logits, batch.y) * N  # per-input error
    h_mod = [batch.x + torch.tensordot(e, rule.projection, dims=1)]
    for layer in net.layers:
        h_mod.append(torch.relu(conv(layer.weight.detach(), h_mod[-1])))
    want = [weight_grad((hs[k + 1] - h_mod[k + 1]) / N, h_mod[k]) for k in range(L)]
    check(got, want + [e.T @ h_mod[-1].flatten(1) / N])
    bound = 3.0 * (6 / (V * S**L)) ** 0.5
    assert rule.projection.abs().max() <= bound


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="own"):
        get_rule("bp_masked", own="none")
    with pytest.raises(ValueError, match="transport"):
        get_rule("bp_masked", transport="mirror")
    with pytest.raises(ValueError, match="feedback"):
        get_rule("dfa", feedback="learned")
    with pytest.raises(ValueError, match="f_scale"):
        get_rule("pepita", f_scale=-1)
    assert set(MASKS) == {"own", "ones", "other", "mean", "random"}
