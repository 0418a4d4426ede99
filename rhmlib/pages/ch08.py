"""Chapter 08's page, "Playground": the cached explorer and the claims of the exercises."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import plotly.graph_objects as go

from ..rhm import RHM
from ..sweeps import RESULTS_DIR, load_sweep
from ..widgets import sweep_explorer
from . import Claim

__all__ = ["explorer", "numbers", "TEXTS", "CLAIMS", "exercise_1_numbers", "EXERCISE_1_CLAIMS",
           "EXERCISE_3_CLAIMS"]


def explorer(root: Path = RESULTS_DIR) -> go.Figure:
    """The static twin of the training widget: backprop's cached reference runs, by P."""
    return sweep_explorer(load_sweep("bp_reference", root), by="P",
                          title="BP, hierarchical CNN: mean learning curve over seeds")


# -- exercise 2 (pen and paper): the counts its solution states ---------------------------------

def numbers() -> dict:
    """The default grammar of the playground and one level deeper (computed, no cache)."""
    return {"shallow": RHM(8, 8, 4, 2, 3), "deep": RHM(8, 8, 4, 2, 4)}


TEXTS: dict[str, str] = {}

CLAIMS = (
    Claim("exercise-2a", "131,072 distinct inputs, P* = 512, and P = 2P* is 1/128 of them",
          lambda n: (n["shallow"].n_inputs, n["shallow"].p_star) == (131_072, 512)
          and Fraction(2 * n["shallow"].p_star, n["shallow"].n_inputs) == Fraction(1, 128)),
    Claim("exercise-2b", "one level more: P* = 2048 (4 times more), 65,536 times more inputs",
          lambda n: n["deep"].p_star == 2048 == 4 * n["shallow"].p_star
          and n["deep"].n_inputs == 65_536 * n["shallow"].n_inputs),
    Claim("exercise-2b", "about 8.6 x 10^9 inputs, of which P = 2P* is about 5 x 10^-7",
          lambda n: round(n["deep"].n_inputs / 1e9, 1) == 8.6
          and round(2 * n["deep"].p_star / n["deep"].n_inputs * 1e7) == 5),
)


# -- exercises 1 and 3: on the reader's runs ---------------------------------------------------

def exercise_1_numbers(results: dict, sens: dict) -> dict:
    """Test accuracy of the ``bp`` and ``dfa`` runs, and DFA's synonymic sensitivity over
    backprop's per layer (``gaps``)."""
    return {"test": {rule: r.test_accuracy for rule, r in results.items()},
            "gaps": [d - b for d, b in zip(sens["dfa"], sens["bp"])]}


EXERCISE_1_CLAIMS = (
    Claim("exercise-1", "in 200 steps backprop is well ahead of DFA",
          lambda n: n["test"]["bp"] > n["test"]["dfa"] + 0.15),
    Claim("exercise-1", "every layer of backprop's network is less sensitive to synonyms than "
          "DFA's, most of all layer 2", lambda n: min(n["gaps"]) > 0
          and max(range(3), key=n["gaps"].__getitem__) == 1),
)

# On the numbers {"cnn": networks["cnn"], "fcn": networks["fcn"]} (run_experiment results).
EXERCISE_3_CLAIMS = (
    Claim("exercise-3", "the CNN generalises; the shallow network stays far below it",
          lambda n: n["cnn"].test_accuracy > n["fcn"].test_accuracy + 0.3),
    Claim("exercise-3", "the shallow network fits more of its training set than it generalises",
          lambda n: n["fcn"].train_accuracy > n["fcn"].test_accuracy + 0.1),
)
