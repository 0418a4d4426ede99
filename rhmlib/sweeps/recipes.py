"""The sweep that checks that every rule's recipe carries to grammars its scans never saw.

``run_experiment(..., rule=name)`` with nothing else must train to convergence without
diverging on any valid grammar: here the book's largest m (m = 4 -> 8 at L = 3) and a deep
grammar it never shows (v = n_c = 12, m = 3, L = 5), each rule at P = P*, and backprop
also at 2 P* (where it must reach 90%). Only the seed and the size of the test set are
set; everything else is the recipe. (The book's own depth 5, m = 4, would cost about a
CPU-hour more at the self-supervised rules' width; the unseen grammar is as deep.)
"""

from __future__ import annotations

from ..rhm import REFERENCE, p_star
from ..rules import RULES
from .registry import sweep

__all__ = ["CARRY_GRAMMARS", "recipes_carry"]

CARRY_GRAMMARS = {
    "largest m of the book": {**REFERENCE, "m": 8},
    "unseen, deep": {"v": 12, "n_c": 12, "m": 3, "s": 2, "L": 5},
}


@sweep
def recipes_carry() -> list[dict]:
    """Every rule's recipe at P* on each carry grammar, backprop also at 2 P*; one seed."""
    rules = [name for name in RULES if name != "readout"]
    configs = []
    for grammar in CARRY_GRAMMARS.values():
        scale = p_star(grammar["n_c"], grammar["m"], grammar["L"])
        configs += [{**grammar, "P": scale, "rule": rule, "seed": 100, "n_test": 2000}
                    for rule in rules]
        configs.append({**grammar, "P": 2 * scale, "rule": "bp", "seed": 100, "n_test": 2000})
    return configs
