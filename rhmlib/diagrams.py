"""Explanatory diagrams of the book as self-contained SVG, written by code.

Every diagram is plain SVG text built from string templates: no dependency, no external
reference (no font, image or stylesheet is fetched), text as ``<text>`` in a system
sans-serif font, a ``<title>`` and a ``<desc>`` for screen readers, and a ``viewBox`` with
``width="100%"`` so that it scales with the page. Arrowheads are drawn as polygons and the
only ids are prefixed by the diagram's name, so several diagrams can share one HTML page.
A rule is drawn in its colour in every figure (:func:`rhmlib.styles.rule_color`): lines and
fills in the colour itself, text in a darker shade of it (:func:`_ink`).

Regenerate the book's copies with ``python -m rhmlib.diagrams book/_assets/diagrams``;
``tests/test_diagrams.py`` checks that the committed files equal what this module writes.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from .styles import BLUE, GREEN, ORANGE, VERMILLION, rule_color

__all__ = ["DIAGRAMS", "tree_network", "error_paths", "pairs", "three_factor",
           "write_all", "main", "CONTENT_PX", "MIN_FONT_PX", "font_sizes", "phone_width",
           "phone_css"]

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
TEXT = "#222222"
MUTED = "#666666"
FORWARD = "#9a9a9a"  # forward pass: grey in every diagram
LINE = "#555555"
TINT = "#E3EEF7"  # light blue background of highlighted regions


# --------------------------------------------------------------------------- primitives


def _n(value: float) -> str:
    """A coordinate as short, stable text (one decimal, no trailing zero)."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _attrs(**attrs: object) -> str:
    """XML attributes from keywords (``_`` becomes ``-``; None is left out)."""
    out = []
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, float):
            value = _n(value)
        out.append(f"{key.rstrip('_').replace('_', '-')}={quoteattr(str(value))}")
    return " ".join(out)


def _ink(color: str, amount: float = 0.35) -> str:
    """A darker shade of ``color`` for text, so that light colours stay readable."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c * (1 - amount)):02X}" for c in (r, g, b))


def _tint(color: str, amount: float = 0.85) -> str:
    """A light tint of ``color`` for fills."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c + (255 - c) * amount):02X}" for c in (r, g, b))


_MARKUP = re.compile(r"([_^])(\{[^}]*\}|.)")


def _runs(text: str) -> list[tuple[str, str]]:
    """Split ``a_{l+1}^T`` into runs ``[("", "a"), ("_", "l+1"), ("^", "T")]``."""
    runs, pos = [], 0
    for match in _MARKUP.finditer(text):
        if match.start() > pos:
            runs.append(("", text[pos:match.start()]))
        body = match.group(2)
        runs.append((match.group(1), body[1:-1] if body.startswith("{") else body))
        pos = match.end()
    if pos < len(text):
        runs.append(("", text[pos:]))
    return runs


def _text(x: float, y: float, text: str, size: float = 16, anchor: str = "middle",
          fill: str = TEXT, weight: str | None = None, halo: bool = False) -> str:
    """One line of text: ``_x``, ``_{..}``, ``^x``, ``^{..}`` become sub- and superscripts."""
    # ``halo`` draws a white outline under the glyphs, for labels that sit on lines.
    head = _attrs(x=float(x), y=float(y), font_size=float(size), text_anchor=anchor, fill=fill,
                  font_weight=weight)
    if halo:
        head += ' stroke="#ffffff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'
    if all(kind == "" for kind, _ in _runs(text)):
        return f"<text {head}>{escape(text)}</text>"
    return f"<text {head}>{_tspans([(text, None)], size)}</text>"


def _tspans(parts: Sequence[tuple[str, str | None]], size: float) -> str:
    """``<tspan>``s of ``(text, fill)`` pieces, sub- and superscripts shifted by ``dy``."""
    # Shifts use ``dy`` in user units, not ``baseline-shift``, which not every browser draws;
    # ``dy`` moves from the previous span's baseline, hence the difference of the targets.
    spans, offset = [], 0.0
    for text, fill in parts:
        for kind, body in _runs(text):
            target = {"": 0.0, "_": 0.3 * size, "^": -0.38 * size}[kind]
            small = None if kind == "" else float(round(size * 0.85, 1))
            dy = None if target == offset else float(target - offset)
            spans.append(f"<tspan {_attrs(dy=dy, font_size=small, fill=fill)}>"
                         f"{escape(body)}</tspan>".replace("<tspan >", "<tspan>"))
            offset = target
    return "".join(spans)


def _line(x1: float, y1: float, x2: float, y2: float, color: str = LINE, width: float = 2,
          dash: str | None = None) -> str:
    """A straight line."""
    return (f"<line {_attrs(x1=float(x1), y1=float(y1), x2=float(x2), y2=float(y2))} "
            f"{_attrs(stroke=color, stroke_width=float(width), stroke_dasharray=dash)}/>")


def _arrow(points: Sequence[tuple[float, float]], color: str = LINE, width: float = 2,
           dash: str | None = None, head: float = 9) -> str:
    """A polyline through ``points`` with an arrowhead (a polygon) at its last point."""
    (x1, y1), (x2, y2) = points[-2], points[-1]
    length = math.hypot(x2 - x1, y2 - y1)
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    bx, by = x2 - ux * head, y2 - uy * head  # the line stops at the base of the head
    half = head * 0.5
    tip = [(x2, y2), (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)]
    line = [*points[:-1], (bx, by)]
    path = " ".join(f"{_n(px)},{_n(py)}" for px, py in line)
    poly = " ".join(f"{_n(px)},{_n(py)}" for px, py in tip)
    style = _attrs(stroke=color, stroke_width=float(width), stroke_dasharray=dash)
    return (f"<polyline {_attrs(points=path)} fill=\"none\" {style} "
            f"stroke-linejoin=\"round\"/><polygon {_attrs(points=poly, fill=color)}/>")


def _rect(x: float, y: float, w: float, h: float, fill: str = "#ffffff", stroke: str = LINE,
          width: float = 1.5, rx: float = 6, dash: str | None = None) -> str:
    """A rounded rectangle with its top-left corner at ``(x, y)``."""
    return (f"<rect {_attrs(x=float(x), y=float(y), width=float(w), height=float(h))} "
            f"{_attrs(rx=float(rx), fill=fill, stroke=stroke, stroke_width=float(width))}"
            f"{' ' + _attrs(stroke_dasharray=dash) if dash else ''}/>")


def _circle(cx: float, cy: float, r: float, fill: str = "#ffffff", stroke: str = LINE,
            width: float = 1.5, dash: str | None = None) -> str:
    """A circle."""
    return (f"<circle {_attrs(cx=float(cx), cy=float(cy), r=float(r), fill=fill)} "
            f"{_attrs(stroke=stroke, stroke_width=float(width), stroke_dasharray=dash)}/>")


def _box(cx: float, cy: float, label: str, w: float = 64, h: float = 30, fill: str = "#ffffff",
         stroke: str = LINE, text: str = TEXT, size: float = 17, dash: str | None = None,
         width: float = 1.5) -> str:
    """A labelled box centred on ``(cx, cy)``."""
    return (_rect(cx - w / 2, cy - h / 2, w, h, fill, stroke, width, dash=dash)
            + _text(cx, cy + size * 0.35, label, size, fill=text))


def _svg(name: str, width: float, height: float, title: str, desc: str,
         body: Sequence[str]) -> str:
    """The whole document: a white card with a title and a description for screen readers."""
    ids = f"rhm-{name}-title rhm-{name}-desc"
    head = _attrs(xmlns="http://www.w3.org/2000/svg", viewBox=f"0 0 {_n(width)} {_n(height)}",
                  width="100%", role="img", aria_labelledby=ids, font_family=FONT)
    return "\n".join([
        f"<svg {head}>",
        f"<title id=\"rhm-{name}-title\">{escape(title)}</title>",
        f"<desc id=\"rhm-{name}-desc\">{escape(desc)}</desc>",
        _rect(0, 0, width, height, "#ffffff", "none", 0, rx=0),
        *body,
        "</svg>",
        "",
    ])


# --------------------------------------------------------------- 1. the tree and the CNN

# One input of an RHM with s = 2, L = 3, v = n_c = 16: symbols level by level (illustrative).
_TREE = ([5], [12, 3], [7, 0, 9, 14], [4, 11, 2, 2, 15, 6, 8, 1])
# The same input after the generator redrew every rule below level 1 (a synonym at level 1).
_TREE_SYN = ([5], [12, 3], [10, 5, 1, 13], [3, 9, 0, 12, 6, 6, 14, 7])
# Another input of the batch: where a negative context comes from.
_TREE_OTHER = ([9], [4, 8], [2, 11, 6, 15], [13, 0, 5, 10, 1, 3, 12, 9])


def _xs(left: float, step: float, count: int, leaves: int = 8) -> list[float]:
    """Centres of ``count`` nodes above ``leaves`` evenly spaced leaves."""
    group = leaves // count
    return [left + step * (i * group + (group - 1) / 2) for i in range(count)]


def _tree(left: float, step: float, ys: Sequence[float], symbols: Sequence[Sequence[int]],
          stroke: Callable[[int, int], str] = lambda level, i: LINE,
          fill: Callable[[int, int], str] = lambda level, i: "#ffffff",
          edge: str = "#b5b5b5", r: float = 14, size: float = 14) -> list[str]:
    """An RHM tree (s = 2): circles for hidden symbols, squares for the leaf tokens."""
    out = []
    depth = len(symbols) - 1
    for level in range(depth):
        for i, x in enumerate(_xs(left, step, len(symbols[level]))):
            for child, cx in enumerate(_xs(left, step, len(symbols[level + 1]))):
                if child // 2 == i:
                    out.append(_line(x, ys[level] + r, cx, ys[level + 1] - r, edge, 1.5))
    for level, row in enumerate(symbols):
        for i, (x, symbol) in enumerate(zip(_xs(left, step, len(row)), row)):
            width = 2.5 if stroke(level, i) != LINE else 1.5
            if level == depth:
                out.append(_rect(x - r, ys[level] - r, 2 * r, 2 * r, fill(level, i),
                                 stroke(level, i), width, rx=3))
            else:
                out.append(_circle(x, ys[level], r, fill(level, i), stroke(level, i), width))
            out.append(_text(x, ys[level] + size * 0.36, str(symbol), size))
    return out


def tree_network() -> str:
    """The RHM tree (s = 2, L = 3) beside the hierarchical CNN whose layers sit on its nodes."""
    step, r = 32.0, 14.0
    tree_left, cnn_left = 36.0, 436.0  # centre of the first leaf of each panel
    mid = (tree_left + 7 * step + cnn_left) / 2  # centre of the correspondence column
    y_read, ys = 86.0, [150.0, 222.0, 294.0, 384.0]
    body: list[str] = []
    # Tinted subtree of one level-1 node, in both panels: one node <-> one unit.
    for left in (tree_left, cnn_left):
        x0 = left - step / 2 + 4
        body.append(_rect(x0, ys[1] - 26, 4 * step - 8, ys[3] - ys[1] + 70 if left == cnn_left
                          else ys[3] - ys[1] + 46, TINT, "none", 0, rx=10))
    body += [
        _text(tree_left + 3.5 * step, 30, "RHM tree (s = 2, L = 3)", 17, weight="bold"),
        _text(tree_left + 3.5 * step, 52, "generated top-down", 15, fill=MUTED),
        _text(cnn_left + 3.5 * step, 30, "hierarchical CNN", 17, weight="bold"),
        _text(cnn_left + 3.5 * step, 52, "reads bottom-up", 15, fill=MUTED),
    ]
    body += _tree(tree_left, step, ys, _TREE, r=r)
    # The generator's direction: a grey arrow down the left margin.
    body.append(_arrow([(12, ys[0]), (12, ys[3])], FORWARD, 2))
    # Correspondence column: level <-> layer.
    rows = [("level 0: class", "layer 3"), ("level 1", "layer 2"), ("level 2", "layer 1"),
            ("level 3: tokens", "input x")]
    for (level, layer), y in zip(rows, ys):
        body.append(_text(mid, y - 3, level, 15, fill=MUTED))
        body.append(_text(mid, y + 16, f"↔ {layer}", 15, weight="bold"))
    # CNN: one-hot input columns, units on the nodes, arrows from s children to the parent.
    cell, v = 4.0, 16
    top_in = ys[3] - v * cell / 2
    for i, token in enumerate(_TREE[3]):
        x = cnn_left + i * step
        body.append(_rect(x - 6, top_in, 12, v * cell, "#ffffff", "#9a9a9a", 1, rx=2))
        body.append(_rect(x - 6, top_in + token * cell, 12, cell, TEXT, "none", 0, rx=0))
    unit_h = 34.0
    for level in (2, 1, 0):
        count = 2 ** level
        for i, x in enumerate(_xs(cnn_left, step, count)):
            body.append(_rect(x - 9, ys[level] - unit_h / 2, 18, unit_h, "#ffffff", TEXT, 1.8,
                              rx=5))
            for k in range(4):  # a few dots: the unit is a vector of `width` channels
                body.append(_circle(x, ys[level] - 11 + k * 7.3, 2, TEXT, "none", 0))
            below = ys[level + 1] - (v * cell / 2 if level == 2 else unit_h / 2)
            for child, cx in enumerate(_xs(cnn_left, step, 2 ** (level + 1))):
                if child // 2 == i:
                    body.append(_arrow([(cx, below - 2), (x + (cx - x) * 0.25,
                                                          ys[level] + unit_h / 2 + 2)],
                                       LINE, 1.6, head=7))
    # Readout on the root unit.
    root_x = cnn_left + 3.5 * step
    body.append(_arrow([(root_x, ys[0] - unit_h / 2 - 2), (root_x, y_read + 16)], LINE, 1.6,
                       head=7))
    body.append(_box(root_x, y_read, "readout → class", w=150, h=30, size=15))
    # Which unit sees which node.
    body.append(_text(tree_left + 3.5 * step, ys[3] + 48, "8 leaf tokens (v = 16)", 15,
                      fill=MUTED))
    body.append(_text(cnn_left + 3.5 * step, ys[3] + 62, "one-hot, 16 × 8", 15, fill=MUTED))
    body.append(_text(mid, 478, "kernel = stride = s: layer l sees one node of level L − l",
                      16, weight="bold"))
    body.append(_text(mid, 502, "(tinted: a level-1 node, its subtree, and the layer-2 unit "
                      "that sees it)", 15, fill=MUTED))
    return _svg(
        "tree_network", 720, 520,
        "The RHM tree and the hierarchical CNN",
        "Left: a Random Hierarchy Model tree with branching s = 2 and depth L = 3: a root "
        "symbol (the class) at level 0, two hidden symbols at level 1, four at level 2 and "
        "eight leaf tokens at level 3, generated top-down. Right: the hierarchical CNN, "
        "with kernel = stride = 2, reading the one-hot input bottom-up: layer 1 has four "
        "units, one on each level-2 node, layer 2 two units on the level-1 nodes, layer 3 "
        "one unit on the root, and a readout above it. Arrows go from the two children to "
        "their parent unit. Layer l sees one node of level L - l. A tinted band marks one "
        "level-1 node and its subtree, and the layer-2 unit that sees it.",
        body)


# --------------------------------------------------------------------- 2. error paths

_PANEL_W, _PANEL_H = 250.0, 342.0
_ROWS = {"out": 92.0, 3: 140.0, 2: 188.0, 1: 236.0, "x": 284.0}


def _panel_frame(x0: float, y0: float, rule: str, name: str, note: str) -> list[str]:
    """A panel's card, its coloured title (the rule's short and full name) and its note."""
    color = rule_color(rule)
    short, _, full = name.partition(" ")
    title = (f"<text {_attrs(x=x0 + 20, y=y0 + 28, font_size=19.0, fill=_ink(color))}>"
             f"<tspan font-weight=\"bold\">{escape(short)}</tspan>"
             f"<tspan {_attrs(font_size=15.0, fill=MUTED)}> {escape(full)}</tspan></text>")
    return [
        _rect(x0, y0, _PANEL_W, _PANEL_H, "#ffffff", "#d0d0d0", 1.2, rx=10),
        _rect(x0, y0, 8, _PANEL_H, color, "none", 0, rx=3),
        title,
        _text(x0 + 20, y0 + 52, note, 15, anchor="start", fill=TEXT),
    ]


def _forward(cx: float, y0: float, labels: dict[object, str], color: str = FORWARD,
             dash: str | None = None, fill: str = "#ffffff", text: str = TEXT, w: float = 60,
             widths: dict[object, float] | None = None) -> list[str]:
    """The forward pass: boxes x, h_1, h_2, h_3 (and the output) joined by upward arrows."""
    out = []
    keys = [k for k in ("x", 1, 2, 3, "out") if k in labels]
    for low, high in zip(keys, keys[1:]):
        out.append(_arrow([(cx, y0 + _ROWS[low] - 16), (cx, y0 + _ROWS[high] + 16)], color, 2,
                          head=8))
    for key in keys:
        width = (widths or {}).get(key, w)
        out.append(_box(cx, y0 + _ROWS[key], labels[key], w=width, stroke=color, dash=dash,
                        fill=fill, text=text))
    return out


def _mask(cx: float, cy: float, color: str) -> str:
    """The badge of a layer's mask ``⊙ f'(a_l)``, where the learning signal is multiplied."""
    return (_rect(cx - 20, cy - 13, 40, 26, _tint(color), color, 1.8, rx=13)
            + _text(cx, cy + 5.5, "⊙f′", 16, fill=_ink(color), weight="bold"))


def _error_node(cx: float, cy: float, label: str, color: str, fill: str | None = None) -> str:
    """A round node (a pill for longer labels) for the output error or the target."""
    w = max(34.0, 14.0 + 11.0 * len(label))
    return (_rect(cx - w / 2, cy - 17, w, 34, fill or _tint(color), color, 1.8, rx=17)
            + _text(cx, cy + 6, label, 17, fill=_ink(color) if color != FORWARD else TEXT,
                    weight="bold"))


_HIDDEN: dict[object, str] = {1: "h_1", 2: "h_2", 3: "h_3", "x": "x", "out": "ŷ"}


def _chained(x0: float, y0: float, rule: str, matrix: str) -> list[str]:
    """BP and FA: the error goes down layer by layer, through every mask."""
    color, cx, mx = rule_color(rule), x0 + 62, x0 + 132
    out = _forward(cx, y0, _HIDDEN)
    out.append(_arrow([(cx + 31, y0 + _ROWS["out"]), (mx - 18, y0 + _ROWS["out"])], FORWARD, 2,
                      head=8))
    out.append(_error_node(mx, y0 + _ROWS["out"], "e", color))
    for upper, lower in (("out", 3), (3, 2), (2, 1)):
        top = y0 + _ROWS[upper] + (18 if upper == "out" else 13)
        out.append(_arrow([(mx, top), (mx, y0 + _ROWS[lower] - 14)], color, 2.6, head=9))
        label = f"{matrix}_{{{upper}}}" + ("^T" if matrix == "W" else "")
        out.append(_text(mx + 10, y0 + (_ROWS[upper] + _ROWS[lower]) / 2 + 6, label, 16,
                         anchor="start", fill=_ink(color)))
    for layer in (3, 2, 1):
        out.append(_line(cx + 31, y0 + _ROWS[layer], mx - 20, y0 + _ROWS[layer], color, 2.6))
        out.append(_mask(mx, y0 + _ROWS[layer], color))
    return out


def _direct(x0: float, y0: float, rule: str, source: str) -> list[str]:
    """DFA and DRTP: one signal sent straight to every layer, through its own mask only."""
    color, cx, mx, bus = rule_color(rule), x0 + 62, x0 + 132, x0 + 212
    y_out = y0 + _ROWS["out"]
    out = _forward(cx, y0, _HIDDEN)
    out.append(_arrow([(cx + 31, y_out), (mx - 18, y_out)], FORWARD, 2, head=8))
    if source == "e":
        out.append(_line(mx + 17, y_out, bus, y_out, color, 2.6))
        out.append(_line(bus, y_out, bus, y0 + _ROWS[1], color, 2.6))
        out.append(_error_node(mx, y_out, "e", color))
    else:  # DRTP: the error trains the readout only; the target goes down
        out.append(_line(bus, y_out + 17, bus, y0 + _ROWS[1], color, 2.6))
        out.append(_error_node(mx, y_out, "e", FORWARD, "#f2f2f2"))
        out.append(_error_node(bus - 6, y_out, "−y*", color))
    for layer in (3, 2, 1):
        y = y0 + _ROWS[layer]
        out.append(_line(cx + 31, y, mx - 20, y, color, 2.6))
        out.append(_arrow([(bus, y), (mx + 21, y)], color, 2.6, head=9))
        out.append(_text((bus + mx + 20) / 2, y - 8, f"B_{layer}", 16, fill=_ink(color)))
        out.append(_mask(mx, y, color))
    return out


def _pepita(x0: float, y0: float) -> list[str]:
    """PEPITA: no backward path; a second forward pass on the input modulated by ``F e``."""
    color, c1, c2, bus = rule_color("pepita"), x0 + 48, x0 + 146, x0 + 226
    out = _forward(c1, y0, _HIDDEN, w=54)
    mod: dict[object, str] = {1: "h_1^{mod}", 2: "h_2^{mod}", 3: "h_3^{mod}", "x": "x + F e"}
    out += _forward(c2, y0, mod, color=color, dash="5 3", fill=_tint(color, 0.9),
                    text=_ink(color), w=70, widths={"x": 80.0})
    y_out = y0 + _ROWS["out"]
    out.append(_arrow([(c1 + 28, y_out), (c2 - 18, y_out)], FORWARD, 2, head=8))
    out.append(_arrow([(c2 + 17, y_out), (bus, y_out), (bus, y0 + _ROWS["x"]),
                       (c2 + 41, y0 + _ROWS["x"])], color, 2.6, head=9))
    out.append(_error_node(c2, y_out, "e", color))
    out.append(_text(bus - 6, y0 + (_ROWS[2] + _ROWS[1]) / 2 + 6, "F", 17, anchor="end",
                     fill=_ink(color), weight="bold"))
    out.append(_arrow([(c1 + 28, y0 + _ROWS["x"]), (c2 - 41, y0 + _ROWS["x"])], FORWARD, 2,
                      head=8))
    for layer in (3, 2, 1):  # h_l - h_l^mod drives layer l's update
        y = y0 + _ROWS[layer]
        out.append(_line(c1 + 28, y, c2 - 36, y, color, 1.8, dash="3 3"))
        out.append(_text((c1 + c2) / 2 - 4, y - 6, "−", 18, fill=_ink(color), weight="bold"))
    return out


_EQUATIONS = {
    "bp": "δ_l = (W_{l+1}^T δ_{l+1}) ⊙ f′(a_l)",
    "fa": "δ_l = (B_{l+1} δ_{l+1}) ⊙ f′(a_l)",
    "dfa": "δ_l = (B_l e) ⊙ f′(a_l)",
    "drtp": "δ_l = (B_l (−y*)) ⊙ f′(a_l)",
    "pepita": "ΔW_l ∝ −(h_l − h_l^{mod}) h_{l−1}^{mod T}",
}


def error_paths() -> str:
    """Five panels, one network: the path of each type-1 rule's learning signal, in colour."""
    margin, gap, header = 14.0, 12.0, 64.0
    width = 2 * margin + 3 * _PANEL_W + 2 * gap
    height = header + 2 * _PANEL_H + gap + margin
    panels: list[tuple[str, str, str, Callable[[float, float], list[str]]]] = [
        ("bp", "BP backpropagation", "error down through Wᵀ",
         lambda x, y: _chained(x, y, "bp", "W")),
        ("fa", "FA feedback alignment", "down through fixed random B",
         lambda x, y: _chained(x, y, "fa", "B")),
        ("dfa", "DFA direct feedback", "e sent straight to each layer",
         lambda x, y: _direct(x, y, "dfa", "e")),
        ("drtp", "DRTP direct random target", "target −y* sent to each layer",
         lambda x, y: _direct(x, y, "drtp", "y")),
        ("pepita", "PEPITA forward only", "2nd forward pass on x + F e", _pepita),
    ]
    body = [
        _text(width / 2, 28, "Where the learning signal goes: five rules, one network", 19,
              weight="bold"),
        _text(width / 2, 51, "grey: forward pass · colour: learning signal · "
              "⊙f′: the input's own mask f′(a_l)", 15, fill=MUTED),
    ]
    for k, (rule, name, note, draw) in enumerate(panels):
        x0 = margin + (k % 3) * (_PANEL_W + gap)
        y0 = header + (k // 3) * (_PANEL_H + gap)
        body += _panel_frame(x0, y0, rule, name, note)
        body += draw(x0, y0)
        body.append(_text(x0 + _PANEL_W / 2 + 4, y0 + _PANEL_H - 14, _EQUATIONS[rule], 16,
                          fill=_ink(rule_color(rule))))
    # The sixth cell: what the symbols mean.
    x0, y0 = margin + 2 * (_PANEL_W + gap), header + _PANEL_H + gap
    body.append(_rect(x0, y0, _PANEL_W, _PANEL_H, "#f7f7f7", "#d0d0d0", 1.2, rx=10))
    legend = [
        ("All but PEPITA:", True),
        ("ΔW_l = −η δ_l h_{l−1}^T", False),
        ("e = softmax(ŷ) − y*", False),
        ("y*: one-hot target", False),
        ("B_l, F: fixed random matrices", False),
        ("h^{mod}: second pass, x + F e", False),
        ("", False),
        ("BP, FA: the error passes", True),
        ("every mask above a layer.", True),
        ("DFA, DRTP: a layer's own", True),
        ("mask only. PEPITA: no", True),
        ("error is sent down.", True),
    ]
    for i, (line, bold) in enumerate(legend):
        if line:
            body.append(_text(x0 + 16, y0 + 34 + i * 25.5, line, 15, anchor="start",
                              weight="bold" if bold else None, fill=TEXT))
    return _svg(
        "error_paths", width, height,
        "Error paths of BP, FA, DFA, DRTP and PEPITA",
        "Five panels show the same network: input x, hidden layers h1, h2, h3 and output "
        "y-hat, with the forward pass in grey and each rule's learning signal in colour. "
        "BP: the output error e goes down layer by layer through the transposed weights and "
        "is multiplied at every layer by the input's mask f'(a). FA: the same path through "
        "fixed random matrices B. DFA: e is sent directly to every hidden layer through its "
        "own random matrix B_l and multiplied by that layer's mask only. DRTP: the same, "
        "with the negative one-hot target -y* instead of the error. PEPITA: no backward "
        "path; the error is added to the input through a fixed random F, and a second "
        "forward pass on x + F e is compared with the first, layer by layer. Each panel "
        "gives its update equation; a sixth cell explains the symbols.",
        body)


# --------------------------------------------------------------------------- 3. pairs


def pairs() -> str:
    """Sibling pairs (context from the same input, no generator) and oracle pairs (generator)."""
    step, r, size = 26.0, 12.0, 13.5
    width, height = 760.0, 660.0
    top = [118.0, 160.0, 202.0, 246.0]  # rows of the upper trees
    low = [y + 240.0 for y in top]      # rows of the lower trees
    anchor, pos, neg = TEXT, BLUE, VERMILLION
    left_s, left_o = 106.0, 476.0  # first leaf of the sibling and of the oracle trees

    def band(left: float, i: int, color: str, ys: Sequence[float], label: str) -> list[str]:
        """A tinted band under level-1 node ``i`` and its four leaves, with a label."""
        x = left + 4 * i * step - step / 2 + 2
        return [_rect(x, ys[1] - 20, 4 * step - 4, ys[3] - ys[1] + 34, _tint(color, 0.86),
                      "none", 0, rx=8),
                _text(x + 2 * step - 2, ys[3] + 38, label, 16, fill=_ink(color, 0.1),
                      weight="bold")]

    def rings(spots: dict[tuple[int, int], str]) -> Callable[[int, int], str]:
        """Outline colour of each node: the highlighted ones, else the default."""
        return lambda level, i: spots.get((level, i), LINE)

    body = [
        _text(190, 30, "Sibling pairs", 19, weight="bold"),
        _text(190, 52, "context: the other child of the same parent", 15, fill=MUTED),
        _text(570, 30, "Oracle pairs", 19, weight="bold"),
        _text(570, 52, "context: the same node, rules below redrawn", 15, fill=MUTED),
        _line(380, 20, 380, 560, "#dddddd", 1.5),
    ]
    # --- sibling pairs: anchor z = level-1 node 0, positive context c = its sibling.
    body.append(_text(24, 90, "input x", 16, anchor="start", weight="bold"))
    body += band(left_s, 0, anchor, top, "z")
    body += band(left_s, 1, pos, top, "c")
    body += _tree(left_s, step, top, _TREE, stroke=rings({(1, 0): anchor, (1, 1): pos}), r=r,
                  size=size)
    body.append(_text(left_s + 3.5 * step + 18, top[0] - 14, "parent", 14, anchor="start",
                      fill=MUTED))
    # The negative: the same sibling position in another input of the batch.
    body.append(_text(24, low[0] - 28, "another input x′", 16, anchor="start", weight="bold"))
    body += band(left_s, 1, neg, low, "c′ (negative)")
    body += _tree(left_s, step, low, _TREE_OTHER, stroke=rings({(1, 1): neg}), edge="#cfcfcf",
                  r=r, size=size)
    body.append(_rect(24, 556, 332, 52, "#f4f4f4", "#bdbdbd", 1.2, rx=8))
    body.append(_text(190, 578, "positive (z, c) · negative (z, c′)", 16, weight="bold"))
    body.append(_text(190, 598, "uses nothing but the inputs", 14, fill=MUTED))
    # --- oracle pairs: the same node in the input and in a synonym of it.
    body.append(_text(404, 90, "input x", 16, anchor="start", weight="bold"))
    body += band(left_o, 0, anchor, top, "z")
    body += _tree(left_o, step, top, _TREE, stroke=rings({(1, 0): anchor}), r=r, size=size)
    body.append(_text(404, low[0] - 28, "synonym x_{syn} of x", 16, anchor="start",
                      weight="bold"))
    body += band(left_o, 0, pos, low, "c (positive)")
    body += _tree(left_o, step, low, _TREE_SYN, stroke=rings({(1, 0): pos}),
                  fill=lambda level, i: _tint(ORANGE, 0.7) if level >= 2 else "#ffffff",
                  r=r, size=size)
    side = left_o + 7 * step + 22
    for (y_a, y_b), fill, label in (((low[0], low[1]), "#ffffff", "kept"),
                                    ((low[2], low[3]), _tint(ORANGE, 0.7), "redrawn")):
        y = (y_a + y_b) / 2
        body.append(_rect(side, y - 8, 14, 14, fill, LINE, 1, rx=3))
        body.append(_text(side + 19, y + 4, label, 14, anchor="start", fill=MUTED))
    body.append(_rect(404, 556, 332, 52, _tint(VERMILLION, 0.9), VERMILLION, 1.5, rx=8))
    body.append(_text(570, 578, "uses the generator", 16, fill=_ink(VERMILLION, 0.2),
                      weight="bold"))
    body.append(_text(570, 598, "an upper bound: no brain or dataset has one", 14,
                      fill=_ink(VERMILLION, 0.2)))
    body.append(_text(width / 2, 634, "Negatives in both: the context at the same position "
                      "in another input of the batch.", 14, fill=MUTED))
    body.append(_text(width / 2, 652, "Shown for layer 2, whose units see level-1 nodes; "
                      "layer l pairs nodes of level L − l.", 14, fill=MUTED))
    return _svg(
        "pairs", width, height,
        "Sibling pairs and oracle pairs",
        "Left, sibling pairs: in one input x, the anchor z is a level-1 node (seen by a "
        "layer-2 unit) and the positive context c is the other child of the same parent; the "
        "negative context c' is the same sibling position in another input x' of the batch. "
        "They use nothing but the inputs. Right, oracle pairs: the anchor z is the same "
        "node, and the positive context is the same node in a synonym of the input, made by "
        "the generator by redrawing every production rule below level 1: the symbols at "
        "levels 0 and 1 are kept and everything below changes. Oracle pairs use the "
        "generator: an upper bound, not something a brain or a dataset provides. In both, "
        "negatives take the context at the same position in another input of the batch.",
        body)


# -------------------------------------------------------------------- 4. three factors


def _equation(x: float, y: float, parts: Sequence[tuple[str, str]], size: float) -> str:
    """Centred bold text made of coloured pieces (each may hold sub- and superscripts)."""
    head = _attrs(x=float(x), y=float(y), font_size=float(size), text_anchor="middle",
                  fill=TEXT, font_weight="bold")
    spans = _tspans([(text, _ink(color, 0.15)) for text, color in parts], size)
    return f"<text {head}>{spans}</text>"


def three_factor() -> str:
    """A synapse ``W_ji`` and the three factors of its local self-supervised update."""
    width, height = 700.0, 520.0
    pre_c, post_c, mod_c = BLUE, VERMILLION, GREEN
    clapp = rule_color("clapp")
    y_pre, y_post, y_mod = 350.0, 214.0, 76.0
    xs_pre = [160.0, 220.0, 280.0, 340.0, 400.0]
    xs_post = [180.0, 270.0, 360.0]
    i, j = 3, 2  # presynaptic unit i, postsynaptic unit j (the rightmost: W_pred c comes in)
    body = [
        _text(20, y_pre + 6, "layer l − 1", 16, anchor="start", weight="bold"),
        _text(20, y_post + 6, "layer l", 16, anchor="start", weight="bold"),
    ]
    for a, xa in enumerate(xs_pre):  # the other synapses of the layer, faint
        for b, xb in enumerate(xs_post):
            if (a, b) != (i, j):
                body.append(_line(xa, y_pre - 15, xb, y_post + 19, "#dddddd", 1.2))
    xi, xj = xs_pre[i], xs_post[j]
    sx, sy = (xi + xj) / 2, (y_pre + y_post) / 2  # the synapse
    body.append(_arrow([(xi, y_pre - 16), (xj, y_post + 21)], TEXT, 2.4, head=10))
    for a, xa in enumerate(xs_pre):
        on = a == i
        body.append(_circle(xa, y_pre, 15, _tint(pre_c) if on else "#ffffff",
                            pre_c if on else "#b0b0b0", 2.5 if on else 1.2))
    for b, xb in enumerate(xs_post):
        on = b == j
        body.append(_circle(xb, y_post, 19, _tint(post_c) if on else "#ffffff",
                            post_c if on else "#b0b0b0", 2.5 if on else 1.2))
    body.append(_text(xi, y_pre + 6, "i", 17, weight="bold", fill=_ink(pre_c)))
    body.append(_text(xj, y_post + 6, "j", 18, weight="bold", fill=_ink(post_c)))
    body.append(_text(xi, y_pre + 44, "z_i^{l−1}", 18, fill=_ink(pre_c), weight="bold"))
    body.append(_text(xi, y_pre + 66, "presynaptic activity", 15, fill=_ink(pre_c)))
    body.append(_circle(sx, sy, 6, TEXT, "none", 0))
    body.append(_text(sx + 12, sy + 10, "W_{ji}", 18, anchor="start", weight="bold",
                      halo=True))
    body.append(_text(xj, y_post - 30, "f′(a_j)", 17, fill=_ink(post_c), weight="bold",
                      halo=True))
    # The context: a sibling's representation, detached, through the predictor W_pred.
    cx_c, cx_b = 652.0, 556.0
    body.append(_box(cx_c, y_post, "c", w=44, h=36, fill="#f2f2f2", size=18))
    body.append(_text(cx_c, y_post + 40, "context", 15, fill=MUTED))
    body.append(_text(cx_c, y_post + 60, "(sibling,", 14, fill=MUTED))
    body.append(_text(cx_c, y_post + 78, "detached)", 14, fill=MUTED))
    body.append(_arrow([(cx_c - 23, y_post), (cx_b + 37, y_post)], LINE, 2, head=8))
    body.append(_box(cx_b, y_post, "W_{pred}", w=72, h=36, fill=_tint(clapp, 0.85),
                     stroke=clapp, size=18))
    body.append(_text(cx_b, y_post + 40, "predictor", 15, fill=MUTED))
    body.append(_arrow([(cx_b - 37, y_post), (xj + 21, y_post)], post_c, 2.6, head=10))
    body.append(_text((cx_b + xj) / 2 - 8, y_post - 12, "(W_{pred} c)_j", 17, fill=_ink(post_c),
                      weight="bold"))
    body.append(_text((cx_b + xj) / 2 + 2, y_post + 28, "postsynaptic", 15, fill=_ink(post_c)))
    body.append(_text((cx_b + xj) / 2 + 2, y_post + 46, "term", 15, fill=_ink(post_c)))
    # The global modulator, the same for every synapse of the layer.
    body.append(_rect(120, y_mod - 44, 500, 84, _tint(mod_c, 0.88), mod_c, 1.8, rx=12))
    body.append(_text(370, y_mod - 18, "M: global third factor", 18, fill=_ink(mod_c, 0.3),
                      weight="bold"))
    body.append(_text(370, y_mod + 4, "± by the sign of the pair, 0 if the hinge is off", 15,
                      fill=_ink(mod_c, 0.3)))
    body.append(_text(370, y_mod + 26, "the same for every synapse", 15, fill=_ink(mod_c, 0.3)))
    body.append(_arrow([(sx - 30, y_mod + 41), (sx - 30, sy - 22), (sx - 8, sy - 6)], mod_c,
                       2.4, dash="6 4", head=9))
    # The update, each factor in the colour of its source.
    y_eq = 462.0
    parts = [("ΔW_{ji} ∝ ", TEXT), ("M", mod_c), (" · ", TEXT), ("(W_{pred} c)_j f′(a_j)", post_c),
             (" · ", TEXT), ("z_i^{l−1}", pre_c)]
    body.append(_equation(width / 2, y_eq, parts, 24))
    body.append(_text(width / 2, y_eq + 34, "modulator × postsynaptic term × presynaptic "
                      "activity: no error crosses layers", 15, fill=MUTED))
    return _svg(
        "three_factor", width, height,
        "The three-factor synapse of local self-supervised learning",
        "A synapse W_ji connects presynaptic unit i of layer l-1, with activity z_i, to "
        "postsynaptic unit j of layer l, with pre-activation a_j. A context c, the detached "
        "representation of a sibling node, passes through the predictor W_pred and reaches "
        "unit j as (W_pred c)_j, the postsynaptic term, gated by the unit's own derivative "
        "f'(a_j). A global modulator M, the same for every synapse, is plus or minus according to "
        "whether the pair is positive or negative, and zero when the hinge is inactive. The "
        "update is the product of the three: Delta W_ji proportional to M times (W_pred c)_j "
        "f'(a_j) times z_i.",
        body)


# ---------------------------------------------------------------------------- writing

DIAGRAMS: dict[str, Callable[[], str]] = {
    "tree_network": tree_network,
    "error_paths": error_paths,
    "pairs": pairs,
    "three_factor": three_factor,
}


# A phone's page: 390 px wide, of which the book's content takes about 358 px after the
# theme's margins (16 px each side). A diagram scales with its box (``width="100%"``), so a
# label of ``size`` user units is drawn ``size * box / viewBox width`` px high.
CONTENT_PX = 358
MIN_FONT_PX = 11  # the smallest label size readable on a phone


def font_sizes(svg: str) -> list[float]:
    """Every font size (user units) set on a ``<text>`` or ``<tspan>`` of ``svg``."""
    return [float(size) for size in re.findall(r'<(?:text|tspan)\b[^>]*?font-size="([0-9.]+)"',
                                               svg)]


def _view_width(svg: str) -> float:
    match = re.search(r'viewBox="[-0-9.]+ [-0-9.]+ ([0-9.]+) [0-9.]+"', svg)
    if not match:
        raise ValueError("svg has no viewBox")
    return float(match.group(1))


def phone_width(svg: str) -> int:
    """The narrowest box (px) at which the smallest label of ``svg`` is MIN_FONT_PX high."""
    return math.ceil(_view_width(svg) * MIN_FONT_PX / min(font_sizes(svg)))


def phone_css() -> str:
    """CSS that keeps every diagram at least :func:`phone_width` wide; its figure scrolls.

    On a phone a diagram's labels would shrink below :data:`MIN_FONT_PX`; instead the
    diagram keeps the width its smallest label needs and its figure scrolls sideways in its
    own box, as the book's wide tables do. ``book/_assets/css/book.css`` holds this text.
    """
    lines = ["/* Diagrams (rhmlib.diagrams.phone_css): labels stay >= "
             f"{MIN_FONT_PX} px on a phone; below that",
             "   width the diagram's figure scrolls sideways in its own box. */"]
    for name, draw in DIAGRAMS.items():
        lines += [f'figure:has(img[src$="/{name}.svg"]) {{ overflow-x: auto; }}',
                  f'img[src$="/{name}.svg"] {{ min-width: {phone_width(draw())}px; '
                  "max-width: none; }"]
    return "\n".join(lines) + "\n"


def write_all(folder: str | Path) -> list[Path]:
    """Write every diagram as ``<name>.svg`` in ``folder``; return the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in DIAGRAMS.items():
        path = folder / f"{name}.svg"
        path.write_text(draw(), encoding="utf-8", newline="\n")
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rhmlib.diagrams FOLDER``: regenerate the SVG files in FOLDER."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m rhmlib.diagrams FOLDER", file=sys.stderr)
        return 2
    for path in write_all(args[0]):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
