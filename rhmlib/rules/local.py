"""Shared machinery of the layer-local self-supervised rules and their global twins.

A self-supervised rule trains the *self-supervised layers* of the hierarchical CNN:
those whose output still has siblings (layers ``1 .. L-1``; the top layer sees the
root alone, which has no sibling and whose only "view" would be the label). Every
such layer compares its representation ``z`` of a node with a *context* ``c``:

- ``pairs="sibling"``: ``c`` is the layer's own representation of a sibling node
  (same parent, other position) of the same input; negatives are the same sibling
  position of another input of the batch. No knowledge of the generator.
- ``pairs="oracle"``: ``c`` is the layer's representation of the same node after the
  generator redrew every production rule below that node's level
  (:meth:`RHM.resample`): a synonym. **Uses the generator**: an upper bound, not a
  rule a brain or a dataset could run.

Two variants from the theory of local versus global updates (CLAPP++, Zihan, Delrocq,
Gerstner, Bellec 2026): ``context="top"`` takes every layer's context from the *top*
self-supervised layer (its representation of the level-1 node that is the sibling of
the node's own level-1 ancestor), as a direct feedback of the representation;
``predictor="position"`` gives each position its own predictor instead of one shared
by all positions, keeping the spatial structure in the loss. ``context="feedback"`` is
the second paper's direct feedback of the representation (CLAPP++DFB, their code's
``--customize_fb_idx`` with spatial dependence): the input's two halves below the root
are two views; each lower layer's whole representation of one view (its positions
flattened) is predicted, through a layer-specific matrix, from the *top*
self-supervised layer's representation of the other view; the top layer keeps its
lateral (sibling) context.

``pretrain=False`` skips the self-supervised stage: the readout then learns on the
untrained layers, the control that tells what self-supervision adds to random features.

``blend`` interpolates between a local rule and its global twin: the loss is
``(1 - blend)`` times the sum of the detached layers' losses plus ``blend`` times the
top layer's loss backpropagated end to end, so that the update moves from the local one
(0) to the twin's (1).

The context is always detached, so the layer learns only through ``z``. With
``locality="local"`` the input of each layer is detached too: no error crosses layers.
``locality="top"`` (the global twin) keeps the loss of the top self-supervised layer
only and backpropagates it end to end; ``locality="sum"`` backpropagates the sum of all
layers' losses end to end.

The protocol has two stages (:meth:`LocalRule.stages`): the self-supervised stage,
which sees no label, and then a readout trained with labels on frozen features:
``readout="upper"`` trains the layers above the self-supervised ones and the linear
readout, ``readout="linear"`` a linear classifier on the flattened top self-supervised
layer only. The recipe (:attr:`LocalRule.defaults`, chosen by the scans of the data
efficiency chapter): Adam with decoupled weight decay for the self-supervised stage,
Adam at learning rate 0.003 for the readout (self-supervised features can be small in
scale, which left SGD at learning rate 0.2 far from fitting the training set).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from ..checks import check_bool, check_choice, check_float, check_int
from ..models import HierarchicalCNN, LayeredNet
from ..rhm import RHM, Sample
from .base import Batch, Rule, Stage, register

__all__ = ["LocalRule", "Pairs", "Readout", "LinearProbeNet", "PositionPredictor", "PAIRS",
           "LOCALITIES", "READOUTS", "CONTEXTS", "PREDICTORS", "global_twin", "derangement"]

PAIRS = ("sibling", "oracle")
LOCALITIES = ("local", "top", "sum")
READOUTS = ("upper", "linear")
CONTEXTS = ("sibling", "top", "feedback")
PREDICTORS = ("shared", "position")


def derangement(n: int, gen: torch.Generator) -> torch.Tensor:
    """A random permutation of ``range(n)`` without fixed points (for n >= 2)."""
    perm = torch.randperm(n, generator=gen)
    out = torch.empty_like(perm)
    # A random cycle through all indices: nobody is paired with itself.
    out[perm] = perm.roll(-1)
    return out


@dataclass
class Pairs:
    """One self-supervised layer's pairs, as ``[n, positions, width]`` tensors.

    ``z`` is the layer's output (carrying gradient), ``c`` the positive context and
    ``c_neg = c[neg]`` a negative context (both detached): another input's context, as
    ``neg`` pairs each input with another of the batch; ``h_in`` the layer's input and
    ``a`` its pre-activation, for the explicit Hebbian form of the update.
    """

    z: torch.Tensor
    c: torch.Tensor
    c_neg: torch.Tensor
    h_in: torch.Tensor
    a: torch.Tensor
    neg: torch.Tensor | None = None


class LocalRule(Rule):
    """Base class of self-supervised rules: pairs, locality, readout and data options.

    Subclasses implement :meth:`pair_loss` for one layer and may own parameters per
    layer (predictors, thresholds) created in :meth:`make_heads`.
    """

    defaults = {"lr": 0.02, "optimizer": "adam", "weight_decay": 0.01, "width": 256}
    default_locality: ClassVar[str] = "local"
    # Negatives (and VICReg's variances) come from the other inputs of the batch.
    min_batch = 2
    n_stages = 2  # the self-supervised stage, then the readout

    def __init__(
        self,
        pairs: str = "sibling",
        locality: str | None = None,
        readout: str = "upper",
        unlabelled: int = 0,
        readout_steps: int | None = None,
        readout_lr: float = 3e-3,
        readout_optimizer: str = "adam",
        detach_context: bool = True,
        context: str = "sibling",
        predictor: str = "shared",
        blend: float = 0.0,
        pretrain: bool = True,
    ) -> None:
        self.pairs = check_choice("pairs", pairs, PAIRS)
        self.locality = check_choice(
            "locality", self.default_locality if locality is None else locality, LOCALITIES)
        self.readout = check_choice("readout", readout, READOUTS)
        self.unlabelled = check_int("unlabelled", unlabelled, 0, 10**7)
        # None: the readout's budget comes from the convergence protocol, like every stage's.
        self.readout_steps = (None if readout_steps is None
                              else check_int("readout_steps", readout_steps, 1, 10**7))
        self.readout_lr = check_float("readout_lr", readout_lr, 0.0, 1e6, low_open=True)
        self.readout_optimizer = check_choice("readout_optimizer", readout_optimizer,
                                              ("sgd", "adam"))
        self.detach_context = check_bool("detach_context", detach_context)
        self.context = check_choice("context", context, CONTEXTS)
        self.predictor = check_choice("predictor", predictor, PREDICTORS)
        if self.context in ("top", "feedback") and self.pairs == "oracle":
            raise ValueError(f"context={self.context!r} takes sibling contexts from the top "
                             "layer; it needs pairs='sibling', got pairs='oracle'")
        if self.context == "feedback" and self.predictor != "shared":
            raise ValueError("context='feedback' predicts a layer's whole view (every position) "
                             "already; it needs predictor='shared', got "
                             f"predictor={self.predictor!r}")
        # False: the control of random features, the readout on the untrained layers.
        self.pretrain = check_bool("pretrain", pretrain)
        self.blend = check_float("blend", blend, 0.0, 1.0, high_open=False)
        if self.blend and self.locality != "local":
            raise ValueError(f"blend mixes a local rule with its global twin; it needs "
                             f"locality='local', got locality={self.locality!r}")

    # -- set-up ---------------------------------------------------------------------
    def setup(self, model: LayeredNet, generator: torch.Generator) -> None:
        """Create the rule's heads for the self-supervised layers of ``model``."""
        if not isinstance(model, HierarchicalCNN) or model.depth < 2:
            raise ValueError(
                "self-supervised rules need a hierarchical CNN (model='cnn') with L >= 2, "
                f"got {type(model).__name__} of depth {model.depth}"
            )
        self.model = model
        self.n_ssl = model.depth - 1
        self.width = model.width
        # Heads are drawn from their own stream so that a rule and its global twin set
        # up with the same seed own identical heads (update comparisons need that).
        head_gen = torch.Generator().manual_seed(int(generator.initial_seed()) + 1)
        self.heads = nn.ModuleList(self.make_heads(head_gen)).to(model.readout.weight.device)

    def make_heads(self, gen: torch.Generator) -> list[nn.Module]:
        """The rule's own parameters, one module per self-supervised layer."""
        return [nn.Module() for _ in range(self.n_ssl)]

    def predictors(self, gen: torch.Generator) -> list[nn.Module]:
        """One predictor per self-supervised layer: shared by its positions, or one each."""
        s, depth = self.model.s, self.model.depth
        if self.context == "feedback":  # top layer of one view -> a lower layer's whole view
            # Layer i (0-based) has s**(L - 1 - i) positions, s**(L - 2 - i) in each view.
            return [linear_predictor(self.width, gen, self.width * s ** (depth - 2 - i))
                    for i in range(self.n_ssl)]
        if self.predictor == "shared":
            return [linear_predictor(self.width, gen) for _ in range(self.n_ssl)]
        # Layer i (0-based) has one position per node of level L - 1 - i: s**(L - 1 - i).
        return [PositionPredictor(self.width, s ** (depth - 1 - i), gen)
                for i in range(self.n_ssl)]

    def parameters(self) -> list[nn.Parameter]:
        """The self-supervised layers' weights and the rule's heads."""
        layers = [p for layer in self.model.layers[: self.n_ssl] for p in layer.parameters()]
        return layers + list(self.heads.parameters())

    def options(self) -> dict:
        """Hyper-parameters common to all self-supervised rules."""
        return {"pairs": self.pairs, "locality": self.locality, "readout": self.readout,
                "unlabelled": self.unlabelled, "readout_steps": self.readout_steps,
                "readout_lr": self.readout_lr, "readout_optimizer": self.readout_optimizer,
                "detach_context": self.detach_context, "context": self.context,
                "predictor": self.predictor, "blend": self.blend,
                "pretrain": self.pretrain}

    # -- pairs ----------------------------------------------------------------------
    def layer_pairs(self, batch: Batch, local: bool | None = None) -> list[Pairs]:
        """Anchors, positive and negative contexts of every self-supervised layer.

        ``local`` (default: the rule's locality) detaches every layer's input.
        """
        out: list[Pairs] = []
        s = self.model.s
        local = self.locality == "local" if local is None else local

        def step(i: int, layer: nn.Module, h: torch.Tensor) -> torch.Tensor:
            h_in = h.detach() if local else h
            a = layer(h_in)
            z = layer.act(a)
            if self.pairs == "sibling":
                n, t, w = z.shape
                # Each child's context is the next child of the same parent.
                c = z.detach() if self.detach_context else z
                c = c.view(n, t // s, s, w).roll(1, dims=2).reshape(n, t, w)
            else:
                c = self._oracle_view(batch, i)
            out.append(Pairs(z, c, c, h_in, a))
            return z

        self.model.features(batch.x, step, depth=self.n_ssl)
        if self.context == "top":
            # The top layer's sibling context, broadcast to the nodes below each ancestor.
            top = out[-1].c
            for pairs in out[:-1]:
                pairs.c = top.repeat_interleave(pairs.z.shape[1] // top.shape[1], dim=1)
        elif self.context == "feedback":
            # View v: the positions below the root's child v; the top layer's sibling
            # context of view v is its representation of the other view.
            top = out[-1].c
            for pairs in out[:-1]:
                n, t, w = pairs.z.shape
                pairs.z = pairs.z.reshape(n, top.shape[1], t // top.shape[1] * w)
                pairs.c = top
        for pairs in out:
            pairs.neg = derangement(len(pairs.c), batch.generator)
            pairs.c_neg = pairs.c[pairs.neg]
        return out

    @torch.no_grad()
    def _oracle_view(self, batch: Batch, i: int) -> torch.Tensor:
        """Layer ``i``'s output on the batch with synonyms redrawn below its level."""
        rhm: RHM = batch.rhm
        seed = int(torch.randint(0, 2**62, (1,), generator=batch.generator))
        # Layer i (0-based) represents nodes of level L - 1 - i.
        syn = rhm.resample(Sample(batch.hidden), rhm.L - 1 - i, seed=seed)
        x = rhm.one_hot(syn.x).to(batch.x.device)
        return self.model.features(x, depth=i + 1)[-1]

    # -- loss -----------------------------------------------------------------------
    def pair_loss(self, i: int, pairs: Pairs, gen: torch.Generator) -> torch.Tensor:
        """The self-supervised loss of layer ``i`` on its pairs."""
        raise NotImplementedError

    def layer_losses(self, batch: Batch, local: bool | None = None) -> list[torch.Tensor]:
        """Each self-supervised layer's loss (all of them, whatever the locality)."""
        return [self.pair_loss(i, p, batch.generator)
                for i, p in enumerate(self.layer_pairs(batch, local))]

    def loss(self, batch: Batch) -> torch.Tensor:
        """Local: sum of detached layers' losses; global: top loss or sum, end to end.

        With ``blend``, the local sum and the top loss end to end, mixed.
        """
        draws = batch.generator.get_state()
        losses = self.layer_losses(batch)
        if self.locality == "top":
            return losses[-1]
        total = torch.stack(losses).sum()
        if not self.blend:
            return total
        batch.generator.set_state(draws)  # the same negatives for both parts
        end_to_end = self.layer_losses(batch, local=False)[-1]
        return (1 - self.blend) * total + self.blend * end_to_end

    # -- protocol -------------------------------------------------------------------
    def stages(self, model: LayeredNet) -> Iterator[Stage]:
        """Self-supervised stage without labels, then the readout on frozen features."""
        needs = frozenset({"tree"}) if self.pairs == "oracle" else frozenset()
        if self.pretrain:
            yield Stage(model, self, needs, unlabelled=self.unlabelled)
        n_ssl = model.depth - 1
        if self.readout == "upper":
            net: LayeredNet = model
        else:  # the top self-supervised layer has s positions left
            net = LinearProbeNet(model.layers[:n_ssl], model.width * model.s, model.s,
                                 model.readout.out_features)
        settings = {"lr": self.readout_lr, "optimizer": self.readout_optimizer,
                    "weight_decay": 0.0}
        if self.readout_steps is not None:  # else the run's own budget, fixed or not
            settings["steps"] = self.readout_steps
        yield Stage(net, Readout(frozen=n_ssl), frozenset({"labels"}), settings)


class LinearProbeNet(LayeredNet):
    """Frozen lower layers of a trained net and a fresh linear classifier on their output."""

    def __init__(self, layers: nn.ModuleList | list[nn.Module], n_features: int, s: int,
                 n_classes: int, seed: int = 0) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.s = s
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(check_int("seed", seed, 0))
            self.readout = nn.Linear(check_int("n_features", n_features, 1),
                                     check_int("n_classes", n_classes, 2))


@register
class Readout(Rule):
    """Cross-entropy by backprop on the layers above ``frozen`` and the readout only.

    The frozen layers' output is a function of the input alone, so it is computed once
    per distinct input and kept (:meth:`frozen_features`): each later step trains the
    upper layers from the kept features, at a small part of a full forward pass's cost.
    """

    name = "readout"
    label = "readout"
    family = "backprop"
    color = "grey"
    defaults = {"lr": 3e-3, "optimizer": "adam"}

    def __init__(self, frozen: int = 0) -> None:
        self.frozen = check_int("frozen", frozen, 0)
        self._index: dict[bytes, int] = {}
        self._bank: list[torch.Tensor] = []

    def setup(self, model: LayeredNet, generator: torch.Generator) -> None:
        """Check that ``frozen`` leaves the readout to train."""
        if self.frozen > model.depth:
            raise ValueError(f"frozen must be in [0, {model.depth}], got {self.frozen}")
        self.model = model
        self._index, self._bank = {}, []

    def parameters(self) -> list[nn.Parameter]:
        """The layers above the frozen ones, and the readout."""
        upper = [p for layer in self.model.layers[self.frozen:] for p in layer.parameters()]
        return upper + list(self.model.readout.parameters())

    @torch.no_grad()
    def frozen_features(self, x: torch.Tensor) -> torch.Tensor:
        """The output of the frozen layers for inputs ``x``, each input computed once."""
        if not self.frozen:
            return x
        keys = [hashlib.blake2b(row.tobytes(), digest_size=16).digest()
                for row in x.reshape(len(x), -1).cpu().numpy()]
        missing: dict[bytes, int] = {}
        for i, key in enumerate(keys):
            if key not in self._index and key not in missing:
                missing[key] = i
        if missing:
            h = self.model.features(x[list(missing.values())], depth=self.frozen)[-1]
            for key, row in zip(missing, h.unbind(0)):
                self._index[key] = len(self._bank)
                self._bank.append(row)
        return torch.stack([self._bank[self._index[key]] for key in keys])

    def loss(self, batch: Batch) -> torch.Tensor:
        """Cross-entropy of the logits, with no gradient into the frozen layers."""
        h = self.frozen_features(batch.x)
        for layer in self.model.layers[self.frozen:]:
            h = layer.act(layer(h))
        return F.cross_entropy(self.model.head(h), batch.y)

    def options(self) -> dict:
        """The number of frozen layers."""
        return {"frozen": self.frozen}


def global_twin(cls: type[LocalRule]) -> type[LocalRule]:
    """Register ``<name>_global``: the same loss, trained end to end at the top layer."""
    twin = type(f"{cls.__name__}Global", (cls,), {
        "name": f"{cls.name}_global", "default_locality": "top",
        "label": f"{cls.label} (global)", "family": "global",
        "__doc__": f"Global twin of {cls.name}: its loss backpropagated end to end.",
    })
    register(twin)
    return cls


def similarity(z: torch.Tensor, p: torch.Tensor, neg: torch.Tensor, score: str,
               temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores of anchors ``z`` against their predictions ``p`` and against ``p[neg]``.

    Dot products, or cosines over a temperature; each vector is normalised once for both
    scores (a third of the time of two cosine similarities, forward and backward).
    """
    if score == "cosine":
        z = F.normalize(z, dim=-1, eps=1e-8)
        p = F.normalize(p, dim=-1, eps=1e-8) / temperature
    return (z * p).sum(-1), (z * p[neg]).sum(-1)


SCORES = ("cosine", "dot")


def check_score(score: str, temperature: float) -> tuple[str, float]:
    """Validate the score options shared by CLAPP and InfoNCE."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    if not isinstance(temperature, (int, float)) or not 0 < temperature < math.inf:
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    return score, float(temperature)


class PositionPredictor(nn.Module):
    """One bias-free ``width x width`` predictor per position: ``[n, t, w] -> [n, t, w]``."""

    def __init__(self, width: int, positions: int, gen: torch.Generator) -> None:
        super().__init__()
        noise = torch.randn(positions, width, width, generator=gen) / math.sqrt(width)
        self.weight = nn.Parameter(noise)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        """Each position's context mapped by that position's own matrix."""
        return torch.einsum("ntk,tjk->ntj", c, self.weight)


def linear_predictor(width: int, gen: torch.Generator, out: int | None = None) -> nn.Linear:
    """A bias-free ``width -> out`` (default ``width``) random predictor.

    Random rather than identity-like: identity-like starts learned less.
    """
    out = width if out is None else out
    lin = nn.Linear(width, out, bias=False)
    with torch.no_grad():
        noise = torch.randn(out, width, generator=gen) / math.sqrt(width)
        lin.weight.copy_(noise)
    return lin

