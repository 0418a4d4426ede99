"""Chapter 09's page, "Beyond the hierarchy model": MNIST-1D, its anchors, every family."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as W
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..mnist1d import INSTALL, MNIST1D, N_CLASSES
from ..plots import panels, scatter
from ..stats import best_lr
from ..sweeps import RESULTS_DIR, load_sweep
from ..sweeps import mnist1d as sweeps
from ..sweeps.variants import rule_label
from ..tables import Table, pm
from ..widgets import sweep_explorer
from . import join

__all__ = ["PUBLIC", "display", "templates_figure", "samples_figure", "anchor_rows", "anchor_table",
           "label_groups", "label_figure", "label_table", "diverged_note", "scan_table",
           "width_table", "width_texts", "versus", "findings", "REGIMES", "OVER", "explorer",
           "label_widget", "twin_points", "twin_figure", "silent_shares", "activity_table"]

# The reference numbers of the MNIST-1D paper (Greydanus and Kobak 2024, table 1), test
# accuracy with 4,000 training examples.
PUBLIC = {"logistic regression": 0.32, "MLP": 0.68, "CNN": 0.94, "GRU": 0.91, "human": 0.96}


def _class_figure(traces: list[list[go.Scatter]], height: int) -> go.Figure:
    """One panel a class, two rows of five: ``traces[k]`` drawn in class ``k``'s panel."""
    fig = make_subplots(rows=2, cols=5, subplot_titles=[f"class {k}" for k in range(N_CLASSES)],
                        shared_yaxes=True, vertical_spacing=0.18, horizontal_spacing=0.03)
    for k, panel in enumerate(traces):
        for trace in panel:
            fig.add_trace(trace, row=k // 5 + 1, col=k % 5 + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_xaxes(title_text="position", row=2)
    fig.update_yaxes(title_text="value", col=1)
    fig.update_layout(height=height, margin={"l": 40, "r": 10, "t": 40, "b": 30},
                      template="plotly_white")
    return fig


def templates_figure() -> go.Figure:
    """The ten hand-drawn templates of MNIST-1D, one panel a class, before any transformation."""
    try:
        from mnist1d.data import get_templates
    except ImportError as err:
        raise ImportError(f"the templates come from the mnist1d package: {INSTALL}") from err
    templates = get_templates()
    return _class_figure([[go.Scatter(y=template, mode="lines+markers", showlegend=False,
                                      line={"width": 2, "color": "#332288"}, marker={"size": 4},
                                      hovertemplate=f"template {label}<br>t=%{{x}}<br>%{{y:.2f}}"
                                                    "<extra></extra>")]
                          for template, label in zip(templates["x"], templates["y"])], 320)


def samples_figure(per_class: int = 4, seed: int = 0) -> go.Figure:
    """The first ``per_class`` signals of each class of stream ``seed``, one panel a class."""
    sample = MNIST1D().sample_distinct(per_class * N_CLASSES * 4, seed=seed)
    x, y = sample.x.numpy(), sample.y.numpy()
    return _class_figure([[go.Scatter(y=signal, mode="lines", showlegend=False,
                                      line={"width": 1.6 if i == 0 else 1.0, "color": "#332288"},
                                      opacity=1.0 if i == 0 else 0.35,
                                      hovertemplate=f"class {k}<br>t=%{{x}}<br>%{{y:.2f}}"
                                                    "<extra></extra>")
                           for i, signal in enumerate(x[y == k][:per_class])]
                          for k in range(N_CLASSES)], 380)


def anchor_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """Backprop's tree CNN and the MLP at 4,000 labels beside the published numbers."""
    cnn = [r for r in sweeps.label_rows(root)
           if (r["rule"], r["regime"], r["P"]) == ("bp", "strict", sweeps.SCAN_LABELS)][0]
    mlp = sweeps.mlp_rows(root)
    return [{"network": "tree CNN (this book)", "mean": cnn["mean"], "sem": cnn["sem"],
             "n": cnn["n"], "published": PUBLIC["CNN"]},
            {"network": "MLP, one hidden layer (this book)", "mean": mlp["mean"],
             "sem": mlp["sem"], "n": mlp["n"], "published": PUBLIC["MLP"]}]


def anchor_table(root: Path = RESULTS_DIR) -> Table:
    """:func:`anchor_rows` as a table."""
    rows = [{"network": r["network"], "test accuracy": pm(r["mean"], r["sem"]),
             "published": f"{r['published']:.2f}"} for r in anchor_rows(root)]
    return Table(rows, ["network", "test accuracy", "published"],
                 caption="Backprop with 4,000 labelled signals: mean ± sem over "
                 f"{len(sweeps.HEADLINE_SEEDS)} seeds, beside the published CNN and MLP")


def display(name: str) -> str:
    """How the book shows a rule of the MNIST-1D sweeps, or the random-features control."""
    if name == sweeps.CONTROL:
        return sweeps.CONTROL  # a colour of its own, not CLAPP's: it is no rule's result
    return rule_label(name)


def label_groups(root: Path = RESULTS_DIR) -> dict[str, dict[str, list[dict]]]:
    """Test accuracy against labels in three panels, backprop in each: the direct-feedback
    rules and the control (the readout on untrained layers); the self-supervised rules and
    the control in the strict regime; the self-supervised rules with 16,000 unlabelled
    signals (label-limited)."""
    panels_: dict[str, dict[str, list[dict]]] = {
        "direct feedback": {}, "self-supervised": {}, "label-limited": {}}
    for row in sweeps.label_rows(root):
        name = display(row["rule"])
        point = {"P": row["P"], "mean": row["mean"], "sem": row["sem"], "n": row["n"]}
        if row["rule"] == "bp":
            for curves in panels_.values():
                curves.setdefault(name, []).append(point)
        elif row["rule"] == sweeps.CONTROL:
            for panel in ("direct feedback", "self-supervised"):
                panels_[panel].setdefault(name, []).append(point)
        elif row["rule"] in ("fa", "dfa"):
            panels_["direct feedback"].setdefault(name, []).append(point)
        elif row["regime"] == "strict":
            panels_["self-supervised"].setdefault(name, []).append(point)
        else:
            panels_["label-limited"].setdefault(name, []).append(point)
    return panels_


def label_figure(root: Path = RESULTS_DIR) -> go.Figure:
    """:func:`label_groups` as three panels of test accuracy against labels."""
    return panels(label_groups(root), x_titles="labelled signals", chance=1 / N_CLASSES,
                  target=None)


def label_table(root: Path = RESULTS_DIR) -> Table:
    """Test accuracy (mean ± sem) per rule and regime (rows) and number of labels (columns)."""
    out: dict[tuple[str, str], dict] = {}
    for row in sweeps.label_rows(root):
        key = (display(row["rule"]), row["regime"])
        lost = f" ({row['diverged']} of {row['n'] + row['diverged']} diverged)"
        out.setdefault(key, {"rule": key[0], "regime": key[1]})[f"{row['P']:,}"] = pm(
            row["mean"], row["sem"]) + (lost if row["diverged"] else "")
    columns = ["rule", "regime", *(f"{P:,}" for P in sweeps.LABELS)]
    return Table(list(out.values()), columns, caption="MNIST-1D test accuracy against the "
                 "number of labelled signals, mean ± sem over "
                 f"{len(sweeps.HEADLINE_SEEDS)} seeds (a run that diverged is left out of "
                 "the mean and counted beside it); label-limited: the self-supervised "
                 f"stage also sees {sweeps.UNLABELLED:,} unlabelled signals")


def diverged_note(root: Path = RESULTS_DIR) -> str:
    """A sentence on the headline runs that diverged (left out of the means), or that none did."""
    lost = [r for r in sweeps.label_rows(root) if r["diverged"]]
    if not lost:
        return "No headline run diverged."
    where = "; ".join(f"{r['diverged']} of {r['n'] + r['diverged']} runs of {rule_label(r['rule'])}"
                      f" at {r['P']:,} labels ({r['regime']})" for r in lost)
    return (f"Diverged at the rate chosen with {sweeps.SCAN_LABELS:,} labels, and left out of "
            f"the means: {where}.")


def scan_table(root: Path = RESULTS_DIR) -> Table:
    """Each rule's chosen rate on the validation split; '*' marks an end of the grid scanned."""
    rows = []
    for rule, records in sweeps.scan_records(root).items():
        grid = sorted({r["config"]["lr"] for r in records})
        lr = best_lr(records)
        rows.append({"rule": rule_label(rule), "rates scanned": ", ".join(f"{g:g}" for g in grid),
                     "chosen": f"{lr:g}" + ("*" if lr in (grid[0], grid[-1]) else "")})
    ends = any(r["chosen"].endswith("*") for r in rows)
    return Table(rows, ["rule", "rates scanned", "chosen"], caption="Learning rate chosen on "
                 "the validation split at 4,000 labels (seeds 0-2)"
                 + ("; * an end of the grid" if ends else ", inside the grid for every rule"))


def width_table(root: Path = RESULTS_DIR) -> Table:
    """Validation accuracy of the width check per rule (rows) and width (columns)."""
    out: dict[str, dict] = {}
    for row in sweeps.width_rows(root):
        cells = out.setdefault(row["rule"], {"rule": display(row["rule"])})
        cells[str(row["width"])] = pm(row["val"], row["val_sem"]) + (
            " (chosen)" if row["chosen"] else "")
    return Table(list(out.values()), ["rule", *map(str, sweeps.WIDTHS)],
                 caption=f"Validation accuracy with {sweeps.SCAN_LABELS:,} labels against the "
                 "number of units per layer, mean ± sem over seeds 0-2, each rule at its "
                 "chosen rate; the width with the best mean is marked (chosen)")


def width_texts(root: Path = RESULTS_DIR) -> dict[str, str]:
    """The width check in words: ``chosen`` (each rule's chosen width), ``caveat`` (which
    rules do clearly better on validation with more units than the headline runs have),
    ``control`` (where DFA and CLAPP stand against the control at each width, on the test
    set) and ``verdicts`` ("held" if DFA stays above the control and CLAPP below it at
    every width, else "changed")."""
    rows = sweeps.width_rows(root)
    chosen = {r["rule"]: r["width"] for r in rows if r["chosen"]}
    width, widest = sweeps.TRAINING["width"], max(sweeps.WIDTHS)

    def name(rule: str) -> str:
        return "the control" if rule == sweeps.CONTROL else str(display(rule))

    by_width: dict[int, list[str]] = {}
    for rule, w in chosen.items():
        by_width.setdefault(w, []).append(name(rule))
    at = {(r["rule"], r["width"]): r for r in rows}

    def val(rule: str, w: int) -> dict:
        return {"mean": at[(rule, w)]["val"], "sem": at[(rule, w)]["val_sem"]}

    # A wider choice matters only where it is clearly better than the headline width.
    gains = {name(rule): (w, val(rule, w)["mean"] - val(rule, width)["mean"])
             for rule, w in chosen.items()
             if w > width and versus(val(rule, w), val(rule, width)) == "above"}
    others = [name(rule) for rule in chosen if name(rule) not in gains]
    caveat = ("; ".join(f"{who} does clearly better with {w} units than with {width} "
                        f"({gain * 100:+.1f} points of validation accuracy)"
                        for who, (w, gain) in gains.items())
              + (f", while {join(others)} gain less than twice the sem of the difference"
                 if others else "")
              if gains else
              f"none does clearly better (by twice the sem of the difference) than with the "
              f"{width} units of the runs above")
    words = {rule: {w: versus(at[(rule, w)], at[(sweeps.CONTROL, w)]) for w in sweeps.WIDTHS}
             for rule in ("dfa", "clapp")}
    held = set(words["dfa"].values()) == {"above"} and set(words["clapp"].values()) == {"below"}
    where = ("at every width DFA stays above the control and CLAPP below it" if held else
             "; ".join(f"{display(rule)} stands " + ", ".join(
                 f"{word} the control at {w} units" for w, word in words[rule].items())
                 for rule in words))
    return {"chosen": "; ".join(f"{w} units for {join(names)}"
                                + (", the widest measured" if w == widest else "")
                                for w, names in sorted(by_width.items())),
            "caveat": caveat,
            "control": f"{where} (with {widest} units, on the test set: DFA "
                       f"{at[('dfa', widest)]['mean']:.1%}, CLAPP "
                       f"{at[('clapp', widest)]['mean']:.1%}, the control "
                       f"{at[(sweeps.CONTROL, widest)]['mean']:.1%})",
            "verdicts": "held" if held else "changed"}


def _ahead(a: dict, b: dict) -> bool:
    """Curve point ``a`` above ``b`` by more than twice the sem of their difference."""
    return a["mean"] - b["mean"] > 2 * (a["sem"] ** 2 + b["sem"] ** 2) ** 0.5


def versus(a: dict, b: dict) -> str:
    """Where curve point ``a`` stands against ``b``: "above", "below" or "level with"."""
    return "above" if _ahead(a, b) else "below" if _ahead(b, a) else "level with"


def findings(root: Path = RESULTS_DIR) -> dict[str, object]:
    """The chapter's verdicts, computed from the cached runs.

    "Above", "below" or "level with" compare two curve points by twice the sem of their
    difference (:func:`versus`). Keys: ``best_ssl`` (the self-supervised rule of best
    strict accuracy at 4,000 labels) and ``best_ssl_label``; per number of labels the
    points ``bp``, ``ssl`` (the best rule's), ``control`` (the readout on untrained layers),
    ``feedback`` (FA's and DFA's) and ``type1`` (the better of the two), with
    ``vs_control`` (the best rule against the control), ``feedback_vs_control``,
    ``type1_vs_control`` and ``type1_vs_bp`` in words; per number of labels of the
    label-limited regime (:data:`~rhmlib.sweeps.mnist1d.LIMITED_LABELS`) also the best
    label-limited point ``ssl_limited``, whether it is ahead of backprop
    (``limited_ahead``) or behind it (``limited_behind``), and ``limited_vs_bp`` in words.
    """
    at = {(r["rule"], r["regime"], r["P"]): r for r in sweeps.label_rows(root)}
    scan = sweeps.SCAN_LABELS
    best = max(sweeps.SSL_RULES, key=lambda rule: at[(rule, "strict", scan)]["mean"])
    out: dict[str, object] = {"best_ssl": best, "best_ssl_label": rule_label(best)}
    for P in sweeps.LABELS:
        out[P] = {"bp": at[("bp", "strict", P)], "ssl": at[(best, "strict", P)],
                  "control": at[(sweeps.CONTROL, "strict", P)],
                  "vs_control": versus(at[(best, "strict", P)],
                                        at[(sweeps.CONTROL, "strict", P)]),
                  "type1": max((at[(rule, "strict", P)] for rule in ("fa", "dfa")),
                               key=lambda r: r["mean"])}
        out[P].update(type1_vs_control=versus(out[P]["type1"], out[P]["control"]),
                      type1_vs_bp=versus(out[P]["type1"], out[P]["bp"]),
                      feedback={rule: at[(rule, "strict", P)] for rule in ("fa", "dfa")},
                      feedback_vs_control={
                          rule: versus(at[(rule, "strict", P)], out[P]["control"])
                          for rule in ("fa", "dfa")})
    for P in sweeps.LIMITED_LABELS:
        limited = max((at[(rule, "label-limited", P)] for rule in sweeps.LIMITED_RULES),
                      key=lambda r: r["mean"])
        bp = at[("bp", "strict", P)]
        out[P].update(ssl_limited=limited, limited_ahead=_ahead(limited, bp),
                      limited_behind=_ahead(bp, limited), limited_vs_bp=versus(limited, bp))
    return out


REGIMES = ("strict", "label-limited")
OVER = {"labels": "P", "width": "width"}


def explorer(rule: str = "bp", regime: str = "strict", over: str = "labels",
             root: Path = RESULTS_DIR) -> go.Figure:
    """Static twin of :func:`label_widget`: mean learning curves of ``rule`` (or the control)
    with a slider over the number of labels (``over="labels"``, 128 units, seeds 10-12) or
    over the width (``over="width"``: the width check, 4,000 labels, seeds 0-2)."""
    names = (*sweeps.RULES, sweeps.CONTROL)
    if rule not in names:
        raise ValueError(f"rule must be one of {names}, got {rule!r}")
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {REGIMES}, got {regime!r}")
    if over not in OVER:
        raise ValueError(f"over must be one of {tuple(OVER)}, got {over!r}")
    if regime == "label-limited" and rule not in sweeps.LIMITED_RULES:
        raise ValueError(f"regime 'label-limited' was run for {sweeps.LIMITED_RULES}, "
                         f"got rule {rule!r}")
    if over == "width" and (rule not in sweeps.WIDTH_RULES or regime != "strict"):
        raise ValueError(f"over='width' (the width check) was run for {sweeps.WIDTH_RULES} "
                         f"in the strict regime, got rule {rule!r}, regime {regime!r}")
    name = {"labels": ("mnist1d_labels" if regime == "strict" else "mnist1d_label_limited"),
            "width": "mnist1d_width"}[over]
    records = [r for r in load_sweep(name, root) if sweeps.name_of(r["config"]) == rule]
    title = f"{display(rule)} on MNIST-1D" + ("" if regime == "strict" else ", label-limited")
    if over == "width":
        title += f", {sweeps.SCAN_LABELS:,} labels"
    return sweep_explorer(records, by=OVER[over], title=title)


def label_widget(root: Path = RESULTS_DIR) -> W.VBox:
    """Cached MNIST-1D runs: pick a rule, a regime and what the slider moves over (labels
    or width), see the mean learning curves."""
    rule = W.Dropdown(options=[(str(display(r)), r) for r in (*sweeps.RULES, sweeps.CONTROL)],
                      value="bp", description="rule")
    regime = W.ToggleButtons(options=REGIMES, description="regime")
    over = W.ToggleButtons(options=tuple(OVER), description="slider over")
    out = W.Output()

    def show(_: object = None) -> None:
        out.clear_output(wait=True)
        with out:
            mode, axis = regime.value, over.value
            if mode != "strict" and rule.value not in sweeps.LIMITED_RULES:
                print("The label-limited regime was run for CLAPP and InfoNCE: "
                      "this rule's curves are the strict ones.")
                mode = "strict"
            if axis == "width" and (rule.value not in sweeps.WIDTH_RULES or mode != "strict"):
                print("The width check ran BP, DFA, CLAPP and the control in the strict "
                      "regime: these curves are against labels.")
                axis = "labels"
            explorer(rule.value, mode, axis, root).show()

    for control in (rule, regime, over):
        control.observe(show, "value")
    show()
    return W.VBox([W.HBox([rule, regime]), over, out])


def twin_points(root: Path = RESULTS_DIR) -> list[dict]:
    """Per run of the MNIST-1D similarity test: rule, blend, mean cosine to the twin's
    update (layers below the top self-supervised one) and test accuracy, in the form of
    :func:`rhmlib.sweeps.contrast.twin_points` (``data`` names the data set)."""
    out = []
    for record in load_sweep("mnist1d_twins", root):
        if "result" not in record:
            continue
        c, cos = record["config"], record["probes"]["twins"]["cosines"]
        below = [x for row in cos for x in row[:-1] if x is not None]
        out.append({"name": rule_label(c["rule"]), "blend": c["rule_options"]["blend"],
                    "data": "MNIST-1D", "m": None, "L": c["L"], "seed": c["seed"],
                    "cosine": sum(below) / len(below), "test": record["result"]["test_accuracy"]})
    return out


def twin_figure(root: Path = RESULTS_DIR) -> go.Figure:
    """Test accuracy against the cosine to the twin's update, one series per rule and blend
    (a rule's colour, a marker per blend)."""
    series: dict[str, list[tuple[float, float]]] = {}
    for p in sorted(twin_points(root), key=lambda p: (p["name"], p["blend"])):
        name = p["name"].relabelled(f"{p['name']}, blend {p['blend']:g}")
        series.setdefault(name, []).append((p["cosine"], p["test"]))
    return scatter(series, "cosine to the global twin's update", "test accuracy")


def _mean_silent(row: dict) -> float:
    return sum(row["silent"]) / len(row["silent"])


def silent_shares(root: Path = RESULTS_DIR) -> dict[str, float]:
    """Per rule (and the control) at 4,000 labels: the share of silent units, mean over layers."""
    return {r["rule"]: _mean_silent(r) for r in sweeps.activity_rows(sweeps.SCAN_LABELS, root)}


def activity_table(root: Path = RESULTS_DIR) -> Table:
    """Silent units per layer at the end of training, 4,000 labels, each rule and the control."""
    rows = sweeps.activity_rows(sweeps.SCAN_LABELS, root)
    layers = len(rows[0]["silent"]) if rows else 0
    out = [{"rule": display(r["rule"]),
            **{f"layer {k + 1}": f"{r['silent'][k]:.0%}" for k in range(layers)},
            "mean": f"{_mean_silent(r):.0%}"}
           for r in rows]
    return Table(out, ["rule", *(f"layer {k + 1}" for k in range(layers)), "mean"],
                 caption=f"Units that no signal of a training batch drives above zero, per "
                 f"layer, at the end of training with {sweeps.SCAN_LABELS:,} labels (mean over "
                 "seeds); the control is the untrained network under the readout")
