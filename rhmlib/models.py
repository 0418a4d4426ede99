"""Networks: the hierarchical CNN matched to the RHM tree, and a shallow contrast.

Both expose the same small structure that learning rules rely on: ``layers`` (the
linear maps ``a_l = W_l h_{l-1}``), an activation applied after each of them, and a
linear ``readout``. ``forward`` takes an optional ``act(l, a)`` so that a rule can
change what flows backward through a layer without touching the forward values.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .rhm import check_int

__all__ = ["HierarchicalCNN", "ShallowFCN", "build_model", "MODELS", "Activation"]

Activation = Callable[[int, torch.Tensor], torch.Tensor]


def relu(_: int, a: torch.Tensor) -> torch.Tensor:
    """The default activation, the same at every layer."""
    return torch.relu(a)


class LayeredNet(nn.Module):
    """A stack of linear maps with ReLUs and a linear readout."""

    layers: nn.ModuleList
    readout: nn.Linear

    def forward(self, x: torch.Tensor, act: Activation = relu) -> torch.Tensor:
        """Logits ``[n, n_classes]`` of one-hot inputs ``[n, v, s**L]``."""
        return self.readout(self.features(x, act)[-1].flatten(1))

    def features(self, x: torch.Tensor, act: Activation = relu) -> list[torch.Tensor]:
        """Hidden representations ``h_1 .. h_depth`` (post-activation)."""
        hs = []
        for index, layer in enumerate(self.layers):
            x = act(index, layer(x))
            hs.append(x)
        return hs

    @property
    def depth(self) -> int:
        """Number of hidden layers."""
        return len(self.layers)


def _check_shape(v: int, s: int, L: int, width: int, n_classes: int) -> tuple[int, ...]:
    return (check_int("v", v, 2), check_int("s", s, 2), check_int("L", L, 1),
            check_int("width", width, 1), check_int("n_classes", n_classes, 2))


class HierarchicalCNN(LayeredNet):
    """Conv1d layers with kernel = stride = ``s``: layer ``l`` sees one tree node per unit."""

    def __init__(
        self, v: int, s: int, L: int, width: int, n_classes: int, bias: bool = False
    ) -> None:
        super().__init__()
        v, s, L, width, n_classes = _check_shape(v, s, L, width, n_classes)
        self.layers = nn.ModuleList(
            nn.Conv1d(v if i == 0 else width, width, kernel_size=s, stride=s, bias=bias)
            for i in range(L)
        )
        self.readout = nn.Linear(width, n_classes)


class ShallowFCN(LayeredNet):
    """One fully connected hidden layer on the flattened one-hot input."""

    def __init__(
        self, v: int, s: int, L: int, width: int, n_classes: int, bias: bool = True
    ) -> None:
        super().__init__()
        v, s, L, width, n_classes = _check_shape(v, s, L, width, n_classes)
        self.layers = nn.ModuleList(
            [nn.Sequential(nn.Flatten(), nn.Linear(v * s**L, width, bias=bias))]
        )
        self.readout = nn.Linear(width, n_classes)


MODELS: dict[str, type[LayeredNet]] = {"cnn": HierarchicalCNN, "fcn": ShallowFCN}


def build_model(
    name: str, v: int, s: int, L: int, width: int, n_classes: int, seed: int = 0
) -> LayeredNet:
    """Build a model by name with initial weights fixed by ``seed`` (global RNG untouched)."""
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {name!r}")
    seed = check_int("seed", seed, 0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MODELS[name](v, s, L, width, n_classes)
