"""Chapter 05's page, "Self-supervised local rules": the recipes, decodability, synonyms."""

from __future__ import annotations

import torch

from ..models import LayeredNet
from ..probes import linear_decodability
from ..rhm import REFERENCE, RHM, Sample
from ..rules import RULES, get_rule
from ..tables import Table
from ..train import resolve
from . import Claim

__all__ = ["SSL_RULES", "decodability_table", "numbers", "TEXTS", "CLAIMS",
           "decodability_numbers", "DECODABILITY_TEXTS", "DECODABILITY_CLAIMS",
           "exercise_numbers", "EXERCISE_TEXTS", "EXERCISE_CLAIMS"]

SSL_RULES = ("clapp", "infonce", "vicreg", "ff")  # the rules of the chapter, in its order


def decodability_table(models: dict[str, LayeredNet], rhm: RHM, sample: Sample,
                       depth: int | None = None) -> Table:
    """Linear decodability (:func:`rhmlib.probes.linear_decodability`) of each named network.

    One column per layer (the first ``depth``, default all) and level it determines: its
    own node, coarser levels, the class.
    """
    L = rhm.L
    rows = []
    for name, model in models.items():
        # A network whose weights are not finite reads as chance, not as unknown: refuse it.
        if not all(torch.isfinite(p).all() for p in model.parameters()):
            raise ValueError(f"models[{name!r}] has weights that are not finite (a diverged "
                             "network): its decodability is undefined")
        table = linear_decodability(model, rhm, sample)
        row: dict[str, object] = {"network": name}
        for layer in range(1, (depth or L) + 1):
            own = L - layer
            for k in range(own, -1, -1):
                what = ("class (level 0)" if k == 0 else f"own node (level {k})" if k == own
                        else f"level {k}")
                row[f"layer {layer} → {what}"] = f"{table[layer - 1][k]:.2f}"
        rows.append(row)
    return Table(rows, caption=f"Linear decodability (held-out accuracy; chance 1/{rhm.v})")


# -- the recipes: trained to convergence, like backprop (from the rules' defaults) ----------------

def numbers() -> dict:
    """Per self-supervised rule its stage defaults and options; the recipes' width."""
    widths = {name: resolve({**REFERENCE, "P": 100, "rule": name})["width"] for name in SSL_RULES}
    return {"defaults": {name: RULES[name].defaults for name in SSL_RULES},
            "options": {name: get_rule(name).options() for name in SSL_RULES},
            "widths": widths, "05-width": ", ".join(sorted({str(w) for w in widths.values()}))}


TEXTS: dict[str, str] = {"05-width": "{}"}

CLAIMS = (
    Claim("budget", "both stages train to convergence, as backprop does: no fixed budget",
          lambda n: all("steps" not in n["defaults"][r] and n["options"][r]["readout_steps"]
                        is None for r in SSL_RULES)),
    Claim("adam", "with Adam in both stages", lambda n: all(
        n["defaults"][r]["optimizer"] == n["options"][r]["readout_optimizer"] == "adam"
        for r in SSL_RULES)),
)


# -- the page's decodability run -----------------------------------------------------------------

def decodability_numbers(table: Table) -> dict:
    """The untrained and trained rows of the page's :func:`decodability_table`, as numbers."""
    before, after = ({k: float(v) for k, v in row.items() if k != "network"}
                     for row in table.rows)
    return {"before": before, "after": after,
            "ch05-l1-own": before["layer 1 → own node (level 2)"],
            "ch05-l1-parent": max(before["layer 1 → level 1"], after["layer 1 → level 1"]),
            "ch05-l2-own-before": before["layer 2 → own node (level 1)"],
            "ch05-l2-own-after": after["layer 2 → own node (level 1)"],
            "ch05-class-before": before["layer 2 → class (level 0)"],
            "ch05-class-after": after["layer 2 → class (level 0)"]}


DECODABILITY_TEXTS = {name: "{:.2f}" for name in (
    "ch05-l1-own", "ch05-l1-parent", "ch05-l2-own-before", "ch05-l2-own-after",
    "ch05-class-before", "ch05-class-after")}

DECODABILITY_CLAIMS = (
    Claim("ch05-l1-own", "layer 1 decodes its own node even from random features",
          lambda n: n["ch05-l1-own"] > 0.95),
    Claim("ch05-l1-parent", "layer 1 does not decode its parent (it sees one child)",
          lambda n: n["ch05-l1-parent"] < 0.5),
    Claim("ch05-l2-own-after", "training raises layer 2's decoding of its own node and of the "
          "class", lambda n: all(n["after"][column] > n["before"][column] + 0.05 for column in
                                 ("layer 2 → own node (level 1)", "layer 2 → class (level 0)"))),
)


# -- exercise 5.3: synonymic sensitivity before and after 100 self-supervised steps -------------

def exercise_numbers(table: Table) -> dict:
    """The fresh and trained rows of the exercise's sensitivity table, layers 1 to 3."""
    fresh_s, trained_s = ([row[f"layer {k}"] for k in (1, 2, 3)] for row in table.rows)
    return {"fresh": fresh_s, "trained": trained_s,
            "drop": [a - b for a, b in zip(fresh_s, trained_s)],
            "ch05-ex-l1-fresh": fresh_s[0], "ch05-ex-l1-trained": trained_s[0],
            "ch05-ex-l2-fresh": fresh_s[1], "ch05-ex-l2-trained": trained_s[1],
            "ch05-ex-l3-trained": trained_s[2]}


EXERCISE_TEXTS = {name: "{:.2f}" for name in (
    "ch05-ex-l1-fresh", "ch05-ex-l1-trained", "ch05-ex-l2-fresh", "ch05-ex-l2-trained",
    "ch05-ex-l3-trained")}

EXERCISE_CLAIMS = (
    Claim("ch05-ex-l1-trained", "layer 1 becomes less sensitive to synonyms",
          lambda n: n["trained"][0] < 0.85 * n["fresh"][0]),
    Claim("ch05-ex-l2-trained", "layer 1 moves most; layers 2 and 3 stay near 1",
          lambda n: n["drop"][0] > max(n["drop"][1], n["drop"][2]) + 0.05
          and min(n["trained"][1:]) > 0.85),
)
