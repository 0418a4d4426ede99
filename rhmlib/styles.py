"""How the book draws a curve: its colour, dash, marker and bar pattern.

A rule's file declares how the book shows it (:class:`rhmlib.rules.base.Rule`: ``label``,
``family``, ``color``, a name in :data:`PALETTE`); :func:`rule_color` reads it, for the
diagrams and the plots alike. A curve is named by a str; a
:class:`rhmlib.sweeps.variants.Variant` is a str that also carries the rule it runs, so a
figure (:class:`Styles`) draws it in its rule's colour, and a second curve of that colour
with the next dash, marker and pattern. A plain name takes the next of :data:`COLORS`.
No label is ever read for a rule's name.
"""

from __future__ import annotations

from .rules import RULES

__all__ = ["PALETTE", "FAMILY_COLORS", "BLUE", "VERMILLION", "GREEN", "ORANGE", "PURPLE",
           "COLORS", "DASHES", "SYMBOLS", "PATTERNS", "rule_color", "Styles"]

# The rules' colours: Paul Tol's "muted" qualitative palette, nine colours that stay
# distinct under the common forms of colour blindness (Okabe-Ito has only eight, one of
# them yellow), plus a lighter blue (BP with altered masks) and a grey (a readout alone).
PALETTE: dict[str, str] = {
    "indigo": "#332288", "cyan": "#88CCEE", "teal": "#44AA99", "green": "#117733",
    "olive": "#999933", "sand": "#DDCC77", "rose": "#CC6677", "wine": "#882255",
    "purple": "#AA4499", "light blue": "#6699CC", "grey": "#888888",
}
# The colour of a rule whose file declares none: its family's first rule's (a figure tells
# the two apart by dash).
FAMILY_COLORS = {"backprop": "indigo", "feedback": "teal", "local": "green", "global": "green"}

# Okabe-Ito colours for what is not a rule (layers, grammars, counts; the diagrams' pairs
# and three factors).
BLUE, VERMILLION, GREEN, ORANGE, PURPLE = "#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7"
COLORS = (BLUE, VERMILLION, GREEN, ORANGE, PURPLE, "#56B4E9", "#000000")
# A second curve of one colour in one figure (a variant, a global twin) changes dash,
# marker and bar pattern, in this order.
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross")
PATTERNS = ("", "/", ".", "x", "\\", "+")


def rule_color(rule: str) -> str | None:
    """The colour (hex) of rule ``rule``: its file's, else its family's; None if neither."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {sorted(RULES)}, got {rule!r}")
    cls = RULES[rule]
    name = cls.color or FAMILY_COLORS.get(cls.family)
    if name is not None and name not in PALETTE:
        raise ValueError(f"rule {rule!r} declares the colour {name!r}; the book's are "
                         f"{sorted(PALETTE)}")
    return PALETTE.get(name)


class Styles:
    """Colour, dash, marker and bar pattern of each curve of one figure.

    A curve that names its rule (a Variant) takes the rule's colour; the second, third...
    curve of one colour the next dash (and marker, pattern). Other curves take
    :data:`COLORS` in order, and a dash once those run out. A curve met again (the same
    curve in another panel) keeps its style; ``first`` says whether it is met the first time.
    """

    def __init__(self) -> None:
        self._styles: dict[str, dict] = {}
        self._per_color: dict[str | None, int] = {}

    def __call__(self, curve: str) -> dict:
        """The style of ``curve`` in this figure: color, dash, symbol, pattern, first."""
        if curve in self._styles:
            self._styles[curve]["first"] = False
            return self._styles[curve]
        rule = getattr(curve, "rule", None)  # a Variant's; a plain str has none
        color = None if rule is None else rule_color(rule)
        k = self._per_color.get(color, 0)
        self._per_color[color] = k + 1
        if color is None:
            color, variant = COLORS[k % len(COLORS)], k // len(COLORS)
        else:
            variant = k
        self._styles[curve] = {
            "color": color, "dash": DASHES[variant % len(DASHES)],
            "symbol": SYMBOLS[variant % len(SYMBOLS)],
            "pattern": PATTERNS[variant % len(PATTERNS)], "first": True}
        return self._styles[curve]
