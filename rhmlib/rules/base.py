"""The one interface every learning rule implements.

A rule is set up once on a model (it may create feedback matrices, predictors, ...)
and then turns a batch into a scalar whose ``.backward()`` leaves the rule's update in
``.grad`` of every parameter it trains. A rule also owns its *protocol*: the stages it
trains in (:meth:`Rule.stages`; most rules have one, self-supervised rules a
label-free stage and then a readout on frozen features), what each stage needs from
the data (:class:`Stage`), and its tuned recipe (:attr:`Rule.defaults`). The training
loop of :mod:`rhmlib.train` runs any rule through these alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import ClassVar, Protocol

import torch
from torch import nn

from ..models import LayeredNet
from ..rhm import RHM, Sample

__all__ = ["Batch", "Dataset", "Stage", "Rule", "RULES", "NEEDS", "register", "get_rule",
           "rule_names", "option_names", "detached_step"]

# What a stage may ask of the data: the labels, and the tree of hidden variables with
# the grammar that generated it (oracle views: an upper bound no dataset offers).
NEEDS = ("labels", "tree")


class Dataset(Protocol):
    """What training needs of a data set: the model's input of raw inputs, more inputs."""

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The model's input ``[n, positions, channels]`` of raw inputs ``x``."""
        ...

    def sample_distinct(self, n: int, seed: int, exclude: Sample | None = None,
                        name: str = "n") -> Sample:
        """``n`` distinct inputs none of which is in ``exclude`` (unlabelled stages)."""
        ...


@dataclass
class Batch:
    """What the training loop hands a rule at every step.

    ``x`` is the one-hot input ``[n, s**L, v]``, ``tokens`` the raw tokens; ``y`` the
    labels, and ``hidden`` and ``rhm`` the tree and the grammar, each None unless the
    stage declared that it needs them; ``generator`` is the rule's own random stream.
    """

    x: torch.Tensor
    y: torch.Tensor | None
    tokens: torch.Tensor
    hidden: list[torch.Tensor] | None
    rhm: RHM | None
    generator: torch.Generator = field(repr=False)

    @classmethod
    def of(cls, sample: Sample, dataset: Dataset, generator: torch.Generator,
           needs: frozenset[str] = frozenset(NEEDS)) -> Batch:
        """The batch of ``sample``, carrying only what ``needs`` asks for."""
        tree = "tree" in needs
        return cls(dataset.encode(sample.x), sample.y if "labels" in needs else None, sample.x,
                   sample.hidden if tree else None, dataset if tree else None, generator)

    def to(self, device: torch.device) -> Batch:
        """The batch with its input and labels on ``device`` (the tree stays on the CPU)."""
        if self.x.device == device:
            return self
        return replace(self, x=self.x.to(device),
                       y=None if self.y is None else self.y.to(device))


@dataclass
class Stage:
    """One training stage of a rule's protocol.

    ``model`` is trained by ``rule`` on the training inputs (plus ``unlabelled`` extra
    inputs drawn from the grammar), seeing only what ``needs`` asks for; ``settings``
    override the run's :class:`rhmlib.train.TrainConfig` for this stage. A stage that
    does not need labels is not evaluated (its readout is not trained yet).
    """

    model: LayeredNet
    rule: Rule
    needs: frozenset[str] = frozenset({"labels"})
    settings: dict = field(default_factory=dict)
    unlabelled: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.needs) - set(NEEDS)
        if unknown:
            raise ValueError(f"needs must be among {NEEDS}, got {sorted(unknown)}")

    @property
    def labelled(self) -> bool:
        """Whether the stage learns from labels (and is therefore evaluated)."""
        return "labels" in self.needs


class Rule:
    """Base class of learning rules; subclasses set ``name`` and implement ``loss``."""

    name: ClassVar[str] = ""
    # How the book shows the rule: its display name, its family (backprop, feedback,
    # local, global) and its colour, a name in rhmlib.styles.PALETTE (a subclass keeps
    # its parent's; none: its family's, rhmlib.styles.FAMILY_COLORS). Not part of a
    # run's code (rhmlib.fingerprint.NOT_CODE).
    label: ClassVar[str] = ""
    family: ClassVar[str] = ""
    color: ClassVar[str] = ""
    # The tuned recipe: TrainConfig fields (lr, optimizer, steps, ...) this rule runs
    # with when the caller does not set them. Rule options' defaults are __init__'s.
    defaults: ClassVar[dict] = {"lr": 0.1}
    # What the rule's (single) stage needs from the data; see Stage.
    needs: ClassVar[frozenset[str]] = frozenset({"labels"})
    # The smallest batch the rule's loss makes sense on (contrastive rules need others).
    min_batch: ClassVar[int] = 1
    # How many stages stages() yields (for cost estimates, before a model exists).
    n_stages: ClassVar[int] = 1

    def setup(self, model: LayeredNet, generator: torch.Generator) -> None:
        """Prepare the rule for ``model`` (feedback matrices, predictors, hooks)."""
        self.model = model

    def parameters(self) -> list[nn.Parameter]:
        """Parameters the optimiser updates: the model's, plus any the rule owns."""
        return list(self.model.parameters())

    def loss(self, batch: Batch) -> torch.Tensor:
        """A scalar whose ``.backward()`` writes this rule's update into ``.grad``."""
        raise NotImplementedError

    def options(self) -> dict:
        """The rule's hyper-parameters, for result records."""
        return {}

    def stages(self, model: LayeredNet) -> Iterator[Stage]:
        """The protocol: one stage training ``model`` with this rule on labelled data.

        A generator, so that a later stage can be built from the model the earlier
        stages trained.
        """
        yield Stage(model, self, self.needs)


def detached_step(_: int, layer: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """A layer whose input is detached: its update comes from its own output alone."""
    return layer.act(layer(h.detach()))


RULES: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator adding a rule to the registry under ``cls.name``."""
    if not cls.name or cls.name in RULES:
        raise ValueError(f"rule name must be new and non-empty, got {cls.name!r}")
    RULES[cls.name] = cls
    return cls


def rule_names() -> list[str]:
    """Names of all registered rules, for menus and error messages."""
    return sorted(RULES)


def option_names(name: str) -> list[str]:
    """The options rule ``name`` accepts (the keyword arguments of its constructors)."""
    import inspect

    names = set()
    for klass in RULES[name].__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None and klass is not object:
            names |= {p.name for p in inspect.signature(init).parameters.values()
                      if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return sorted(names)


def get_rule(name: str, **options: object) -> Rule:
    """Instantiate the rule ``name`` with its options; unknown names or options raise."""
    if not isinstance(name, str) or name not in RULES:
        raise ValueError(f"rule must be one of {rule_names()}, got {name!r}")
    unknown = sorted(set(options) - set(option_names(name)))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown} for rule {name!r}; "
                        f"its options are {option_names(name)}")
    return RULES[name](**options)
