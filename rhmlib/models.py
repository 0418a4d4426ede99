"""Networks: the hierarchical CNN matched to the RHM tree, and a shallow contrast.

Activations are *channels-last*, ``[n, positions, channels]``: the one-hot input is
``[n, s**L, v]`` and layer ``l`` of the hierarchical CNN gives ``[n, s**(L-l), width]``.
Both networks expose the same small structure that learning rules rely on: ``layers``
(the linear maps ``a_l = W_l h_{l-1}``), each with its activation ``layer.act`` (ReLU,
or tanh for bounded units), and a linear ``readout``. :meth:`LayeredNet.features` takes
an optional ``step(l, layer, h)`` that replaces "activation of the layer" at every
layer: the hook point through which a learning rule changes what flows backward
(detached inputs, substitute masks, a second pass) while the forward pass stays the
network's own.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .checks import check_choice
from .rhm import check_int

__all__ = ["HierarchicalCNN", "ShallowFCN", "TreeLayer", "LayeredNet", "build_model", "MODELS",
           "ACTIVATIONS", "Step"]

# Units: ReLU (the book's default) or tanh (bounded, as direct random target projection
# was published with).
ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh}

# step(l, layer, h_{l-1}) -> h_l, the post-activation output of hidden layer l (0-based).
Step = Callable[[int, nn.Module, torch.Tensor], torch.Tensor]


def own_step(_: int, layer: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """The network's own layer: its activation of the linear map."""
    return layer.act(layer(h))


class TreeLayer(nn.Linear):
    """A convolution whose kernel equals its stride ``s``, as a reshape and a matmul.

    Input ``[n, t, c_in]`` -> output ``[n, t / s, c_out]``: each output position sees one
    tree node's ``s`` children. The weight is ``[c_out, s * c_in]`` (child-major), drawn
    like ``Conv1d``'s (same fan-in); on channels-last data this is 2-3x faster than Conv1d.
    """

    def __init__(self, in_channels: int, out_channels: int, s: int, bias: bool = False,
                 activation: str = "relu") -> None:
        super().__init__(s * in_channels, out_channels, bias=bias)
        self.in_channels, self.out_channels, self.s = in_channels, out_channels, s
        self.activation = check_choice("activation", activation, tuple(ACTIVATIONS))

    def act(self, a: torch.Tensor) -> torch.Tensor:
        """The layer's activation of its pre-activation ``a``."""
        return ACTIVATIONS[self.activation](a)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Group every ``s`` consecutive positions and map them to one."""
        n, t, c = h.shape
        return super().forward(h.reshape(n, t // self.s, self.s * c))


class LayeredNet(nn.Module):
    """A stack of linear maps with ReLUs and a linear readout."""

    layers: nn.ModuleList
    readout: nn.Linear

    def forward(self, x: torch.Tensor, step: Step = own_step) -> torch.Tensor:
        """Logits ``[n, n_classes]`` of one-hot inputs ``[n, s**L, v]``."""
        return self.head(self.features(x, step)[-1])

    def features(
        self, x: torch.Tensor, step: Step = own_step, depth: int | None = None
    ) -> list[torch.Tensor]:
        """Hidden representations ``h_1 .. h_depth`` (post-activation), through ``step``."""
        hs, h = [], x
        for index, layer in enumerate(self.layers[:depth]):
            h = step(index, layer, h)
            hs.append(h)
        return hs

    def head(self, h: torch.Tensor) -> torch.Tensor:
        """The readout of the top hidden representation."""
        return self.readout(h.flatten(1))

    @property
    def depth(self) -> int:
        """Number of hidden layers."""
        return len(self.layers)

    @property
    def width(self) -> int:
        """Number of channels of every hidden layer."""
        return self.readout.in_features if self.depth == 0 else self.layers[0].out_features


def _check_shape(v: int, s: int, L: int, width: int, n_classes: int) -> tuple[int, ...]:
    return (check_int("v", v, 2), check_int("s", s, 2), check_int("L", L, 1),
            check_int("width", width, 1), check_int("n_classes", n_classes, 2))


class HierarchicalCNN(LayeredNet):
    """Tree layers with kernel = stride = ``s``: layer ``l`` sees one tree node per unit."""

    def __init__(
        self, v: int, s: int, L: int, width: int, n_classes: int, bias: bool = False,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        v, s, L, width, n_classes = _check_shape(v, s, L, width, n_classes)
        self.s = s
        self.layers = nn.ModuleList(
            TreeLayer(v if i == 0 else width, width, s, bias=bias, activation=activation)
            for i in range(L)
        )
        self.readout = nn.Linear(width, n_classes)


class ShallowFCN(LayeredNet):
    """One fully connected hidden layer on the flattened one-hot input."""

    def __init__(
        self, v: int, s: int, L: int, width: int, n_classes: int, bias: bool = True,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        v, s, L, width, n_classes = _check_shape(v, s, L, width, n_classes)
        self.s = s
        # A tree layer whose single node is the whole input: flatten, then Linear.
        self.layers = nn.ModuleList([TreeLayer(v, width, s**L, bias=bias,
                                               activation=activation)])
        self.readout = nn.Linear(width, n_classes)


MODELS: dict[str, type[LayeredNet]] = {"cnn": HierarchicalCNN, "fcn": ShallowFCN}


def build_model(
    name: str, v: int, s: int, L: int, width: int, n_classes: int, seed: int = 0,
    activation: str = "relu",
) -> LayeredNet:
    """Build a model by name with initial weights fixed by ``seed`` (global RNG untouched)."""
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {name!r}")
    seed = check_int("seed", seed, 0, 2**63 - 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MODELS[name](v, s, L, width, n_classes, activation=activation)
