"""Chapter 01's page, "The Random Hierarchy Model": how many inputs a grammar has."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from ..plots import lines
from ..rhm import RHM
from . import Claim

__all__ = ["DEPTHS", "power_of_ten", "numbers", "TEXTS", "CLAIMS", "PARSE_CLAIMS",
           "counts_figure"]

# The depths of the counts figure, on the grammar v = n_c = 16, m = 4, s = 2.
DEPTHS = range(2, 7)


def power_of_ten(x: float) -> str:
    """x rounded to a power of ten, as text: 10 and a superscript exponent."""
    return "10" + str(round(math.log10(x))).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def numbers() -> dict:
    """The counts of distinct inputs and of n_c m^L against depth (computed, no cache)."""
    Ls = list(DEPTHS)
    grammars = [RHM(v=16, n_c=16, m=4, s=2, L=L) for L in Ls]
    counts = {"distinct inputs": [float(g.n_inputs) for g in grammars],
              "n_c m^L": [float(g.p_star) for g in grammars]}
    ratio = [a / b for a, b in zip(*counts.values())]
    deepest = grammars[-1]  # L = 6, the grammar the page samples from
    return {"Ls": Ls, "counts": counts, "ratio": ratio, "inputs_L6": deepest.n_inputs,
            "01-ratio-L6": ratio[-1], "01-inputs-L6": float(deepest.n_inputs)}


TEXTS = {"01-ratio-L6": power_of_ten, "01-inputs-L6": power_of_ten}

CLAIMS = (
    Claim("01-ratio-L6", "the gap between the two counts widens with every level",
          lambda n: all(b > 10 * a for a, b in zip(n["ratio"], n["ratio"][1:]))),
    Claim("01-inputs-L6", "more than int64 can count", lambda n: n["inputs_L6"] > 2**63),
)

# On the page's own sample: numbers {"parsed": rhm.parse(sample.x), "hidden": sample.hidden}.
PARSE_CLAIMS = (
    Claim("parse", "the parse recovers every hidden variable of the three inputs, the class "
          "included", lambda n: all((a == b).all() for a, b in zip(n["parsed"], n["hidden"]))),
)


def counts_figure(numbers: dict) -> go.Figure:
    """Distinct inputs and n_c m^L against depth, log scale."""
    return lines(numbers["Ls"], numbers["counts"], "depth L", "count", log_y=True)
