"""Learning rules, one file each, behind the interface of :mod:`rhmlib.rules.base`."""

from . import bp, dfa, drtp, fa, masking, pepita  # noqa: F401  (register the rules)
from .base import RULES, Batch, Dataset, Rule, get_rule, register, rule_names
from .clapp import CLAPP  # noqa: F401  (self-supervised rules register here)
from .forward_forward import ForwardForward  # noqa: F401
from .infonce import InfoNCE  # noqa: F401
from .vicreg import VICReg  # noqa: F401

# The global twins are generated from their local rules (rules.local.global_twin); their
# recipes are their own learning-rate scans' choices (rhmlib.sweeps.contrast), at the
# width of those scans (256: no width scan covers them).
for _twin, _lr in (("clapp_global", 0.002), ("infonce_global", 0.02), ("vicreg_global", 0.002),
                   ("ff_global", 0.0006)):
    RULES[_twin].defaults = {**RULES[_twin].defaults, "lr": _lr, "width": 256}

__all__ = ["RULES", "Batch", "Dataset", "Rule", "get_rule", "register", "rule_names"]
