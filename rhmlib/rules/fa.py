"""Feedback alignment (Lillicrap, Cownden, Tweed, Akerman 2016).

Update: ``delta_L = e`` (output error), ``delta_l = (B_{l+1} delta_{l+1}) * f'(a_l)``,
``dW_l = -lr * delta_l h_{l-1}^T``: backprop with each transposed weight ``W^T``
replaced by a fixed random matrix ``B`` of the same shape, drawn once at setup. The
error still passes through every downstream mask ``f'(a)`` of the input.
"""

from __future__ import annotations

from .base import register
from .masking import MaskedBackprop


@register
class FeedbackAlignment(MaskedBackprop):
    """Backprop with random fixed transport, masks untouched."""

    name = "fa"
    label = "FA"
    family = "feedback"
    color = "teal"
    defaults = {"lr": 0.3}

    def __init__(self) -> None:
        super().__init__(transport="random")

    def options(self) -> dict:
        """FA has no options."""
        return {}
