"""The one vocabulary of the book's curves: a variant is a rule with options, under a label.

A sweep module lists its variants (:func:`variants`); :func:`config_of` gives a variant's
rule and options for a run config, and :func:`label_of`, its inverse, names the variant a
config or a record runs, by its rule and resolved options. A :class:`Variant` *is* its
label (a str), so every dict keyed by labels and every table takes it as it is, while the
plots (:mod:`rhmlib.styles`) read its rule for its colour: no label is ever parsed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping

from ..rules import RULES
from .cache import resolve

__all__ = ["Variant", "variants", "config_of", "label_of", "rule_label"]


class Variant(str):
    """A curve of the book: ``rule`` with ``options`` (beyond the sweep's), shown as its label.

    A str equal to the label (shown, compared and hashed as it: a page or a table shows
    the label), carrying the rule and options it runs.
    """

    __slots__ = ("rule", "options")
    rule: str
    options: dict[str, object]

    def __new__(cls, label: str, rule: str, options: Mapping[str, object] | None = None
                ) -> Variant:
        """The variant of ``rule`` with ``options``, named ``label``."""
        self = super().__new__(cls, label)
        self.rule, self.options = rule, dict(options or {})
        return self

    def __getnewargs__(self) -> tuple[str, str, dict]:
        """What pickle and copy rebuild the variant from (a str alone would lose its rule)."""
        return str(self), self.rule, self.options

    @property
    def label(self) -> str:
        """The label, as a plain str."""
        return str(self)

    def relabelled(self, label: str) -> Variant:
        """The same rule and options under another label (with its seeds, say)."""
        return Variant(label, self.rule, self.options)


def rule_label(rule: str) -> Variant:
    """Rule ``rule`` with no options, under its display name (its class's ``label``)."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {sorted(RULES)}, got {rule!r}")
    return Variant(RULES[rule].label, rule)


def variants(*items: Variant) -> dict[str, Variant]:
    """Variants by label, in the given order; a label given twice is an error."""
    out = {v.label: v for v in items}
    if len(out) != len(items):
        raise ValueError(f"labels must be unique, got {[v.label for v in items]}")
    return out


def config_of(variant: Variant, base: Mapping[str, object] | None = None) -> dict:
    """The ``rule`` and ``rule_options`` (``base`` then the variant's own) of a run config."""
    options = {**(base or {}), **variant.options}
    return {"rule": variant.rule, **({"rule_options": options} if options else {})}


@functools.cache
def _resolved(rule: str, options: str) -> tuple[str, str]:
    """A rule and its options (JSON) as a resolved config holds them, compared as JSON."""
    full = resolve({"v": 16, "n_c": 16, "m": 4, "s": 2, "L": 3, "P": 100, "rule": rule,
                    "rule_options": json.loads(options)})
    return full["rule"], json.dumps(full["rule_options"], sort_keys=True)


def label_of(config: Mapping[str, object], among: Iterable[Variant],
             base: Mapping[str, object] | None = None) -> Variant:
    """The variant of ``among`` (a str: its label) that ``config`` (or a record's) runs.

    Rule and options are compared resolved (each rule's defaults filled in); ValueError
    when no variant matches.
    """
    options = json.dumps(config.get("rule_options") or {}, sort_keys=True)
    mine = _resolved(config["rule"], options)
    for v in among:
        made = config_of(v, base)
        if _resolved(made["rule"], json.dumps(made.get("rule_options", {}),
                                              sort_keys=True)) == mine:
            return v
    raise ValueError(f"config is not one of the variants: {config['rule']!r}, {options}")
