"""The one interface every learning rule implements.

A rule is set up once on a model (it may create feedback matrices, predictors, ...)
and then turns a batch into a scalar whose ``.backward()`` leaves the rule's update in
``.grad`` of every parameter it trains. The training loop in :mod:`rhmlib.train` only
ever calls ``setup``, ``parameters`` and ``loss``: any rule plugs into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from ..models import LayeredNet
from ..rhm import RHM

__all__ = ["Batch", "Rule", "RULES", "register", "get_rule", "rule_names"]


@dataclass
class Batch:
    """What the training loop hands a rule at every step.

    ``x`` is the one-hot input, ``y`` the labels, ``tokens`` and ``hidden`` the raw
    tokens and tree; ``rhm`` is the grammar, for rules that use the generator (oracle
    views) and must say so; ``generator`` is the rule's own random stream.
    """

    x: torch.Tensor
    y: torch.Tensor
    tokens: torch.Tensor
    hidden: list[torch.Tensor]
    rhm: RHM
    generator: torch.Generator = field(repr=False)


class Rule:
    """Base class of learning rules; subclasses set ``name`` and implement ``loss``."""

    name: ClassVar[str] = ""
    default_lr: ClassVar[float] = 0.1
    # "labels": supervised; rules that only use inputs set this to False.
    uses_labels: ClassVar[bool] = True

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


def get_rule(name: str, **options: object) -> Rule:
    """Instantiate the rule ``name`` with its options; unknown names raise ``ValueError``."""
    if not isinstance(name, str) or name not in RULES:
        raise ValueError(f"rule must be one of {rule_names()}, got {name!r}")
    try:
        return RULES[name](**options)
    except TypeError as err:
        raise TypeError(f"invalid option for rule {name!r}: {err}") from None
