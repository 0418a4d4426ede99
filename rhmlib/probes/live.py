"""Live probes: measurements the pages take on fresh (or briefly trained) networks.

Unlike the recorded probes of :data:`rhmlib.probes.PROBES`, nothing here is cached: each
function builds its networks and batches from its arguments and measures at once. A rule
is given as ``(name, options)`` (:data:`Spec`); the grammar defaults to the book's
reference (:data:`rhmlib.rhm.REFERENCE`).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ..models import LayeredNet, build_model
from ..rhm import REFERENCE, RHM
from ..rules import RULES, Batch, Rule, get_rule
from ..rules.clapp import MODES, hebbian_update
from ..train import BASE, TrainConfig, recipe_settings, train
from .measures import layer_errors, update_cosine
from .twins import twin_of

__all__ = ["Spec", "initial_cosines", "error_growth",
           "local_global_cosines", "hebbian_gaps"]

# A rule as the probes take it: its name and options.
Spec = tuple[str, Mapping[str, object]]


def _fresh(grammar: Mapping[str, int], seed: int, batch_size: int,
          width: int) -> tuple[LayeredNet, Batch]:
    """A fresh CNN of ``width`` on ``grammar`` (seed ``seed``) and one batch of its inputs."""
    rhm = RHM(**grammar, seed=seed)
    sample = rhm.sample(batch_size, seed=seed)
    model = build_model("cnn", rhm.v, rhm.s, rhm.L, width, rhm.n_c, seed=seed)
    return model, Batch.of(sample, rhm, torch.Generator().manual_seed(seed))


def _set_up(spec: Spec, model: LayeredNet, seed: int) -> Rule:
    """The rule of ``spec``, set up on ``model`` with seed ``seed``."""
    name, options = spec
    rule = get_rule(name, **options)
    rule.setup(model, torch.Generator().manual_seed(seed))
    return rule


def initial_cosines(rules: Mapping[str, Spec], reference: Spec, width: int,
                    grammar: Mapping[str, int] = REFERENCE, seed: int = 0,
                    batch_size: int = 128) -> dict[str, list[float]]:
    """Per-layer cosine of each named rule's update to ``reference``'s, one batch, at init."""
    model, batch = _fresh(grammar, seed, batch_size, width)
    ref = _set_up(reference, model, seed)
    return {name: update_cosine(_set_up(spec, model, seed), ref, batch)
            for name, spec in rules.items()}


def error_growth(rule: Spec, reference: Spec, width: int,
                 grammar: Mapping[str, int] = REFERENCE, depths: tuple[int, ...] = (3, 4, 5),
                 seeds: tuple[int, ...] = (0, 1, 2),
                 batch_size: int = 128) -> dict[int, list[float]]:
    """Per depth ``L``: per hidden layer, the norm of ``rule``'s error over ``reference``'s.

    Measured on one batch at initialisation, averaged over ``seeds``; 1 means the same
    size as the reference's error, 2 twice as large.
    """
    out = {}
    for L in depths:
        ratios = []
        for seed in seeds:
            model, batch = _fresh({**grammar, "L": L}, seed, batch_size, width)
            errors = [layer_errors(_set_up(spec, model, seed), batch) for spec in (rule, reference)]
            ratios.append([float(d.norm() / b.norm()) for d, b in zip(*errors)])
        out[L] = [sum(r[k] for r in ratios) / len(ratios) for k in range(L)]
    return out


def local_global_cosines(
    rules: tuple[str, ...], steps: int = 200, P: int = 2000, seed: int = 0,
    n_probe: int = 512, width: int = 64, grammar: Mapping[str, int] = REFERENCE,
) -> list[dict]:
    """Cosine per self-supervised layer between a local rule's update and its global twins'.

    On ``grammar`` (seed ``seed``), for each rule: at initialisation and after ``steps``
    local steps on ``P`` inputs (the rule's recipe otherwise), the update of the local
    rule and of its twins (:func:`rhmlib.probes.twins.twin_of`, ``locality="top"`` and
    ``"sum"``) on one fixed batch of ``n_probe`` inputs with one random stream
    (negatives). Rows: ``rule`` (its name), ``twin``, ``steps``, ``cosines`` (layer 1 first).
    """
    rhm = RHM(**grammar, seed=seed)
    data, _ = rhm.train_test(P, 0, seed=seed)
    probe = rhm.sample(n_probe, seed=seed + 3)
    rows = []
    for rule in rules:
        net = build_model("cnn", rhm.v, rhm.s, rhm.L, width, rhm.n_c, seed=seed)
        local = get_rule(rule)
        for when in (0, steps):
            if when:
                config = TrainConfig(**{**BASE, **recipe_settings(RULES[rule]), "steps": when,
                                        "eval_every": when})
                train(net, local, rhm, data, None, config, seed=seed, progress=False,
                      needs=frozenset())
            else:
                local.setup(net, torch.Generator().manual_seed(seed))
            for locality in ("top", "sum"):
                twin = twin_of(local, locality, seed)
                batch = Batch.of(probe, rhm, torch.Generator().manual_seed(0))
                cosines = update_cosine(local, twin, batch)[: local.n_ssl]
                rows.append({"rule": rule, "twin": locality, "steps": when, "cosines": cosines})
    return rows


def hebbian_gaps(seed: int = 1, n_probe: int = 512, width: int = 64,
                 grammar: Mapping[str, int] = REFERENCE) -> list[dict]:
    """Explicit three-factor CLAPP update against autograd, every mode and score.

    ``gap`` is the largest entry of their difference over the largest entry of the
    update, over the self-supervised layers, on a fresh network (seed ``seed``) of
    ``grammar``. Rows: ``mode``, ``score`` and the gap.
    """
    rhm = RHM(**grammar, seed=0)
    probe = rhm.sample(n_probe, seed=3)
    rows = []
    for mode in MODES:
        for score in ("dot", "cosine"):
            net = build_model("cnn", rhm.v, rhm.s, rhm.L, width, rhm.n_c, seed=seed)
            rule = get_rule("clapp", mode=mode, score=score)
            rule.setup(net, torch.Generator().manual_seed(0))

            def batch() -> Batch:
                return Batch.of(probe, rhm, torch.Generator().manual_seed(0))

            rule.loss(batch()).backward()
            explicit = hebbian_update(rule, batch())
            gap = max(float((w - layer.weight.grad).abs().max() / layer.weight.grad.abs().max())
                      for (w, _), layer in zip(explicit, net.layers))
            rows.append({"mode": mode, "score": score, "largest difference / largest entry": gap})
    return rows
