"""Independent random streams derived from one seed.

A run's ``seed`` fixes everything, but each consumer draws from a stream of its own
(:data:`STREAMS`), so changing how one of them uses randomness never shifts another:
a rule that draws feedback matrices does not change the model's initial weights or
the order of the batches, and a rule's predictors never start as a copy of the model.
"""

from __future__ import annotations

import hashlib

import torch

__all__ = ["STREAMS", "derive", "generator"]

# data: the training and test inputs; init: the model's initial weights; order: the
# batches; rule: the rule's own parameters and draws (feedback matrices, predictors,
# negatives); unlabelled: extra inputs of semi-supervised stages; probe: measurements;
# validation: the fixed draws (negatives, views) of a label-free validation score.
STREAMS = ("data", "init", "order", "rule", "unlabelled", "probe", "validation")


def derive(seed: int, stream: str) -> int:
    """A 62-bit seed for the named ``stream`` of ``seed`` (a hash: streams never overlap)."""
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {STREAMS}, got {stream!r}")
    digest = hashlib.sha256(f"{int(seed)}/{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 2


def generator(seed: int, stream: str) -> torch.Generator:
    """A CPU generator seeded for the named ``stream`` of ``seed``."""
    return torch.Generator().manual_seed(derive(seed, stream))
