"""Learning rules, one file each, behind the interface of :mod:`rhmlib.rules.base`."""

from . import bp, dfa, drtp, fa, masking, pepita  # noqa: F401  (register the rules)
from .base import RULES, Batch, Rule, get_rule, register, rule_names
from .clapp import CLAPP  # noqa: F401  (self-supervised rules register here)
from .forward_forward import ForwardForward  # noqa: F401
from .infonce import InfoNCE  # noqa: F401
from .vicreg import VICReg  # noqa: F401

__all__ = ["RULES", "Batch", "Rule", "get_rule", "register", "rule_names"]
