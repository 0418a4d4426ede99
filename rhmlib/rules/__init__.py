"""Learning rules, one file each, behind the interface of :mod:`rhmlib.rules.base`."""

from . import bp, dfa, drtp, fa, masking, pepita  # noqa: F401  (register the rules)
from .base import RULES, Batch, Rule, get_rule, register, rule_names

__all__ = ["RULES", "Batch", "Rule", "get_rule", "register", "rule_names"]
