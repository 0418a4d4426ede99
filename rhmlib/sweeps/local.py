"""Sweeps of the chapters "Self-supervised local rules", "Data efficiency" and
"Local versus global".

Every self-supervised run uses the same budget (:data:`SSL_TRAINING`): the
self-supervised stage and then the labelled readout stage, each with the number of
steps given there, at the same width. Backprop's reference curve is the sweep
``bp_reference`` of :mod:`rhmlib.sweeps.backprop`. Regenerate with::

    python -m rhmlib.sweeps ssl_best ssl_rules ssl_global ssl_oracle ssl_semi ssl_variants \
        ssl_width ssl_scan --jobs 1

About 250 runs, 8 to 14 s each on one core (about 45 core-minutes).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ..models import LayeredNet
from ..probes import linear_decodability, update_cosine
from ..rhm import RHM, Sample
from ..stats import p90_summary, summarize
from ..tables import Table, curve_table, p90_summary_text, pm, range_text, ratio_text
from . import REFERENCE, RESULTS_DIR, load_sweep, sweep
from .cache import resolve
from .variants import Variant, config_of, label_of, variants

__all__ = ["SSL_TRAINING", "READOUT", "LABELS", "P_GRID", "label", "ssl_config", "curves",
           "SSL_SWEEPS", "FAMILIES", "sweep_curves", "bp_curve", "type1_curves", "p90_rows",
           "p90_table", "scan_rows", "scan_table", "width_curves", "width_table",
           "global_curves", "global_table", "local_global_cosines", "cosine_table",
           "hebbian_check", "decodability_table"]

# Our choices, from a short scan (see the chapter): Adam with decoupled weight decay for
# the self-supervised stage, Adam for the readout on frozen features.
SSL_TRAINING = {"width": 64, "steps": 1000, "optimizer": "adam", "weight_decay": 1e-2,
                "eval_points": 4}
READOUT = {"readout_optimizer": "adam", "readout_lr": 3e-3, "readout_steps": 1000}
# Sized to about an hour of one core: 10 seeds on the best local rule's grid, 3 seeds and
# fewer points for the others.
P_GRID = (500, 1000, 1500, 2000, 3000)
P_SHORT = (1000, 2000, 4000)
P_GLOBAL = (2000, 4000)
P_FEW = (250, 500, 1000)
SEEDS_BEST, SEEDS = range(10), range(3)
UNLABELLED = 8000

# The curves: rule and options beyond READOUT. Oracle views use the generator.
LABELS = variants(
    Variant("CLAPP (local)", "clapp"), Variant("InfoNCE (local)", "infonce"),
    Variant("VICReg (local)", "vicreg"), Variant("Forward-Forward (local)", "ff"),
    Variant("CLAPP (global, top)", "clapp_global"),
    Variant("InfoNCE (global, top)", "infonce_global"),
    Variant("VICReg (global, top)", "vicreg_global"),
    Variant("Forward-Forward (global, top)", "ff_global"),
    Variant("CLAPP (global, sum)", "clapp", {"locality": "sum"}),
    Variant("CLAPP, alternate +/-", "clapp", {"mode": "alternate"}),
    Variant("CLAPP, linear readout only", "clapp", {"readout": "linear"}),
    Variant("CLAPP, oracle views (uses the generator)", "clapp", {"pairs": "oracle"}),
    Variant("VICReg, oracle views (uses the generator)", "vicreg", {"pairs": "oracle"}),
    Variant(f"CLAPP, semi-supervised (+{UNLABELLED} unlabelled)", "clapp",
            {"unlabelled": UNLABELLED}),
)


def ssl_config(name: str, P: int, seed: int, **changes: object) -> dict:
    """The run config of curve ``name`` at ``P`` training points and ``seed``."""
    if name not in LABELS:
        raise ValueError(f"name must be one of {sorted(LABELS)}, got {name!r}")
    return {**REFERENCE, "P": P, **config_of(LABELS[name], READOUT), "seed": seed,
            **SSL_TRAINING, **changes}


def label(config: dict) -> str:
    """The curve label of a run config or a record's (inverse of :func:`ssl_config`)."""
    return label_of(config, LABELS.values(), READOUT)


def curves(records: list[dict]) -> dict[str, list[dict]]:
    """Mean, sem and count per P of each curve label in ``records``, with seeds in names."""
    by_label: dict[str, list[dict]] = {}
    for record in records:
        by_label.setdefault(label(record["config"]), []).append(record)
    out = {}
    for name in LABELS:  # the book's order
        if name in by_label:
            rows = summarize(by_label[name], by=("P",))
            out[f"{name}, {max(r['n'] for r in rows)} seeds"] = rows
    return out


def _curves(names: list[str], grid: tuple[int, ...], seeds: range,
            best: str | None = None) -> list[dict]:
    """Configs of ``names`` on ``grid``; the family's ``best`` curve gets 10 seeds."""
    return [ssl_config(name, P, seed) for name in names for P in grid
            for seed in (SEEDS_BEST if name == best else seeds)]


@sweep
def ssl_best() -> list[dict]:
    """Local CLAPP on sibling pairs, the best local rule of our scan: 10 seeds."""
    return _curves(["CLAPP (local)"], P_GRID, SEEDS_BEST)


@sweep
def ssl_rules() -> list[dict]:
    """The other local rules on sibling pairs: InfoNCE, VICReg, Forward-Forward, 3 seeds."""
    return _curves(["InfoNCE (local)", "VICReg (local)", "Forward-Forward (local)"],
                   P_SHORT, SEEDS)


@sweep
def ssl_global() -> list[dict]:
    """Global twins (top-layer loss, end to end) and CLAPP's summed global loss, 3 seeds.

    CLAPP (global, sum), the best of these on 3 seeds, has 10.
    """
    names = [n for n in LABELS if "global" in n]
    return _curves(names, P_GLOBAL, SEEDS, best="CLAPP (global, sum)")


@sweep
def ssl_oracle() -> list[dict]:
    """Oracle views (synonyms redrawn by the generator) for CLAPP and VICReg, 3 seeds.

    CLAPP with oracle views, the better of the two on 3 seeds, has 10.
    """
    return _curves([n for n in LABELS if "oracle" in n], P_FEW, SEEDS,
                   best="CLAPP, oracle views (uses the generator)")


@sweep
def ssl_semi() -> list[dict]:
    """CLAPP on sibling pairs with many unlabelled inputs, few labels, 3 seeds."""
    return _curves([n for n in LABELS if "semi" in n], P_FEW, SEEDS)


@sweep
def ssl_variants() -> list[dict]:
    """CLAPP's alternate-sign mode and the linear-only readout, 3 seeds."""
    return _curves(["CLAPP, alternate +/-", "CLAPP, linear readout only"], P_GLOBAL, SEEDS)


@sweep
def ssl_width() -> list[dict]:
    """Local CLAPP and backprop at widths 32 and 128, P = 2000, 3 seeds (width 64 is above)."""
    from .backprop import BP_TRAINING

    out = [ssl_config("CLAPP (local)", 2000, seed, width=width)
           for width in (32, 128) for seed in SEEDS]
    out += [{**REFERENCE, "P": 2000, "rule": "bp", "seed": seed, **BP_TRAINING, "width": width}
            for width in (32, 128) for seed in SEEDS]
    return out


@sweep
def ssl_scan() -> list[dict]:
    """The scan behind our budget choice, at P = 1500 (CLAPP) and 2000 (others), 2 seeds.

    CLAPP: learning rate at temperature 0.25, and temperature at learning rate 0.02.
    InfoNCE, VICReg, Forward-Forward: learning rate 0.003 against the chosen 0.02.
    """
    out = [ssl_config("CLAPP (local)", 1500, seed, lr=lr)
           for lr in (3e-3, 1e-2, 2e-2, 5e-2) for seed in range(2)]
    out += [{**ssl_config("CLAPP (local)", 1500, seed),
             "rule_options": {**READOUT, "temperature": tau}}
            for tau in (0.15, 0.5) for seed in range(2)]
    out += [ssl_config(name, 2000, seed, lr=lr)
            for name in ("InfoNCE (local)", "VICReg (local)", "Forward-Forward (local)")
            for lr in (3e-3, 2e-2) for seed in range(2)]
    return out


# -- analysis: what the chapters show (cached results, or short live measurements) ----------

SSL_SWEEPS = ("ssl_best", "ssl_rules", "ssl_global", "ssl_oracle", "ssl_semi", "ssl_variants")
# The family of each sweep's curves, in the P_90 table.
FAMILIES = {"ssl_best": "local", "ssl_rules": "local", "ssl_global": "global twin",
            "ssl_oracle": "oracle views (generator)", "ssl_semi": "semi-supervised",
            "ssl_variants": "local variant"}
RULE_NAMES = {"clapp": "CLAPP", "infonce": "InfoNCE", "vicreg": "VICReg", "ff": "Forward-Forward"}


def _by_label(records: list[dict]) -> dict[str, list[dict]]:
    """``records`` per curve label, in the book's order (:data:`LABELS`)."""
    found: dict[str, list[dict]] = {}
    for record in records:
        found.setdefault(label(record["config"]), []).append(record)
    return {name: found[name] for name in LABELS if name in found}


def sweep_curves(names: tuple[str, ...] = SSL_SWEEPS,
                 root: Path = RESULTS_DIR) -> dict[str, dict[str, list[dict]]]:
    """Per self-supervised sweep: its :func:`curves` (labels carry the number of seeds)."""
    return {name: curves(load_sweep(name, root)) for name in names}


def bp_curve(root: Path = RESULTS_DIR) -> tuple[str, list[dict]]:
    """Backprop's reference curve (``bp_reference``) and its name with the number of seeds."""
    rows = summarize(load_sweep("bp_reference", root), by=("P",))
    return f"backprop, {max(r['n'] for r in rows)} seeds", rows


def type1_curves(root: Path = RESULTS_DIR) -> dict[str, list[dict]]:
    """The type-1 rules of ``feedback_P`` (BP left out), named with their seeds."""
    from . import feedback

    return {f"{name} (type 1), {max(r['n'] for r in rows)} seeds": rows
            for name, rows in feedback.summary(feedback.records("feedback_P", root)).items()
            if name != "BP"}


def p90_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """P_90 with its interval (:func:`rhmlib.tables.p90_summary`) of every curve of the book.

    Backprop first, then each self-supervised curve with its family, then the type-1
    rules of ``feedback_P``; ``ratio`` is P_90 over backprop's.
    """
    from . import feedback

    groups = [("backprop", "backprop", load_sweep("bp_reference", root))]
    for sweep_name in SSL_SWEEPS:
        groups += [(name, FAMILIES[sweep_name], recs)
                   for name, recs in _by_label(load_sweep(sweep_name, root)).items()]
    type1: dict[str, list[dict]] = {}
    for record in load_sweep("feedback_P", root):
        type1.setdefault(feedback.label(record["config"]), []).append(record)
    groups += [(name, "type 1 (5,000 steps)", recs) for name, recs in type1.items()
               if name != "BP"]
    rows = [{"name": name, "family": family, **p90_summary(recs)}
            for name, family, recs in groups]
    for row in rows:
        row["ratio"] = row["p90"] / rows[0]["p90"]
    return rows


def p90_table(root: Path = RESULTS_DIR) -> Table:
    """:func:`p90_rows` as a table: P_90 [68% interval over seeds] and its ratio to backprop's."""
    rows = p90_rows(root)
    out = [{"rule": r["name"], "family": r["family"], "seeds": range_text(r["seeds"]),
            "P grid": ", ".join(f"{P:,}" for P in r["grid"]),
            "P_90 [68% interval]": p90_summary_text(r),
            "P_90 / backprop's": ratio_text(r["p90"], rows[0]["p90"], r["grid"]),
            "diverged runs": r["diverged"] or None} for r in rows]
    columns = [c for c in out[0] if c != "diverged runs" or any(r[c] for r in out)]
    return Table(out, columns, caption="P_90: the smallest P with mean test accuracy >= 90%, "
                              "interpolated in log P; interval: bootstrap over seeds")


def scan_rows(root: Path = RESULTS_DIR) -> list[dict]:
    """The budget scan ``ssl_scan``: per rule, P, lr and temperature, validation mean and sem."""
    cells: dict[tuple, list[dict]] = {}
    for record in load_sweep("ssl_scan", root):
        c = record["config"]
        key = (c["rule"], c["P"], c["lr"], c["rule_options"].get("temperature"))
        cells.setdefault(key, []).append(record)
    rows = []
    for (rule, P, lr, tau), recs in cells.items():
        recipe = resolve({**REFERENCE, "P": P, "rule": rule})
        row = summarize(recs, by=("rule",), metric="val_accuracy")
        mean, sem, n = (row[0]["mean"], row[0]["sem"], row[0]["n"]) if row else (
            math.nan, math.nan, 0)
        rows.append({"rule": rule, "P": P, "lr": lr, "temperature": tau, "mean": mean,
                     "sem": sem, "n": n, "diverged": len(recs) - n,
                     "recipe_temperature": tau == recipe["rule_options"].get("temperature"),
                     "recipe": lr == recipe["lr"] and tau == recipe["rule_options"].get(
                         "temperature")})
    order = list(RULE_NAMES)
    # Per rule: the learning rates at the recipe's temperature first, then the temperatures.
    return sorted(rows, key=lambda r: (order.index(r["rule"]), not r["recipe_temperature"],
                                       r["temperature"] or 0, r["lr"]))


def scan_table(root: Path = RESULTS_DIR) -> Table:
    """:func:`scan_rows` as a table; the row of each rule's recipe is marked."""
    out = [{"rule": RULE_NAMES[r["rule"]], "P": f"{r['P']:,}", "learning rate": r["lr"],
            "temperature": r["temperature"], "validation accuracy": pm(r["mean"], r["sem"]),
            "seeds": r["n"], "diverged": r["diverged"] or None,
            "recipe": "✓" if r["recipe"] else None} for r in scan_rows(root)]
    columns = [c for c in out[0] if any(row[c] is not None for row in out)]
    return Table(out, columns, caption="The budget scan: validation accuracy, mean ± sem over "
                                       "seeds; ✓: the recipe's setting")


def width_curves(root: Path = RESULTS_DIR, P: int = 2000) -> dict[str, list[dict]]:
    """Local CLAPP and backprop at ``P`` against the width: 32 and 128 (``ssl_width``), 64."""
    wide = load_sweep("ssl_width", root)
    at64 = {"clapp": [r for r in load_sweep("ssl_best", root) if r["config"]["P"] == P],
            "bp": [r for r in load_sweep("bp_reference", root) if r["config"]["P"] == P]}
    return {name: summarize([r for r in wide if r["config"]["rule"] == rule] + at64[rule],
                            by=("width",))
            for rule, name in (("clapp", "CLAPP (local)"), ("bp", "backprop"))}


def width_table(root: Path = RESULTS_DIR, P: int = 2000) -> Table:
    """:func:`width_curves` as a table: test accuracy (mean ± sem) per width."""
    return curve_table(width_curves(root, P), x="width", column="width {}",
                       caption=f"Test accuracy at P = {P:,} against the width (mean ± sem)")


def global_curves(root: Path = RESULTS_DIR) -> dict[str, list[dict]]:
    """Each local rule and its global twins at the P of ``ssl_global`` (no seeds in names)."""
    records = load_sweep("ssl_best", root) + load_sweep("ssl_rules", root)
    by_name = {**_by_label(records), **_by_label(load_sweep("ssl_global", root))}
    out = {}
    for rule in RULE_NAMES.values():
        for name in (f"{rule} (local)", f"{rule} (global, top)", f"{rule} (global, sum)"):
            if name in by_name:
                out[name] = [r for r in summarize(by_name[name], by=("P",))
                             if r["P"] in P_GLOBAL]
    return out


def global_table(root: Path = RESULTS_DIR) -> Table:
    """:func:`global_curves` as a table: local rules against their twins, same P."""
    return curve_table(global_curves(root), caption="Test accuracy (mean ± sem): each local "
                                                    "rule and its global twins, same protocol")


def local_global_cosines(
    rules: tuple[str, ...] = tuple(RULE_NAMES), steps: int = 200, P: int = 2000,
    seed: int = 0, n_probe: int = 512, width: int = 64,
) -> list[dict]:
    """Cosine per self-supervised layer between a local rule's update and its global twins'.

    On the reference grammar (seed ``seed``), for each rule: at initialisation and after
    ``steps`` local steps on ``P`` inputs (the rule's recipe otherwise), the update of the
    local rule and of its twins (``locality="top"`` and ``"sum"``, the local rule's heads
    copied) on one fixed batch of ``n_probe`` inputs with one random stream (negatives).
    Rows: ``rule``, ``twin``, ``steps``, ``cosines`` (layer 1 first).
    """
    import torch

    from ..models import build_model
    from ..rhm import RHM
    from ..rules import RULES, Batch, get_rule
    from ..train import BASE, TrainConfig, train

    grammar = {k: REFERENCE[k] for k in ("v", "n_c", "m", "s", "L")}
    rhm = RHM(**grammar, seed=seed)
    data, _ = rhm.train_test(P, 0, seed=seed)
    probe = rhm.sample(n_probe, seed=seed + 3)
    rows = []
    for rule in rules:
        net = build_model("cnn", rhm.v, rhm.s, rhm.L, width, rhm.n_c, seed=seed)
        local = get_rule(rule)
        for when in (0, steps):
            if when:
                config = TrainConfig(**{**BASE, **RULES[rule].defaults, "steps": when,
                                        "eval_points": 1})
                train(net, local, rhm, data, None, config, seed=seed, progress=False,
                      needs=frozenset())
            else:
                local.setup(net, torch.Generator().manual_seed(seed))
            for locality in ("top", "sum"):
                twin = get_rule(rule, locality=locality)
                twin.setup(net, torch.Generator().manual_seed(seed))
                twin.heads.load_state_dict(local.heads.state_dict())
                batch = Batch(rhm.one_hot(probe.x), probe.y, probe.x, probe.hidden, rhm,
                              torch.Generator().manual_seed(0))
                cosines = update_cosine(local, twin, batch)[: local.n_ssl]
                rows.append({"rule": RULE_NAMES.get(rule, rule), "twin": locality,
                             "steps": when, "cosines": cosines})
    return rows


def cosine_table(rows: list[dict]) -> Table:
    """:func:`local_global_cosines` rows as a table, one column per self-supervised layer."""
    n_layers = max(len(r["cosines"]) for r in rows)
    out = [{"rule": r["rule"], "global twin": f"global ({r['twin']})",
            "local steps": r["steps"],
            **{f"layer {k + 1}": f"{c:+.2f}" for k, c in enumerate(r["cosines"])}}
           for r in rows]
    return Table(out, ["rule", "global twin", "local steps",
                       *(f"layer {k + 1}" for k in range(n_layers))],
                 caption="cosine(local update, global update) per layer; 1: same direction")


def hebbian_check(seed: int = 1, n_probe: int = 512) -> Table:
    """Explicit three-factor CLAPP update against autograd, every mode and score.

    ``gap`` is the largest entry of their difference over the largest entry of the
    update, over the self-supervised layers, on a fresh network of the reference setting.
    """
    import torch

    from ..models import build_model
    from ..rhm import RHM
    from ..rules import Batch, get_rule
    from ..rules.clapp import MODES, hebbian_update

    grammar = {k: REFERENCE[k] for k in ("v", "n_c", "m", "s", "L")}
    rhm = RHM(**grammar, seed=0)
    probe = rhm.sample(n_probe, seed=3)
    rows = []
    for mode in MODES:
        for score in ("dot", "cosine"):
            net = build_model("cnn", rhm.v, rhm.s, rhm.L, 64, rhm.n_c, seed=seed)
            rule = get_rule("clapp", mode=mode, score=score)
            rule.setup(net, torch.Generator().manual_seed(0))

            def batch() -> Batch:
                return Batch(rhm.one_hot(probe.x), probe.y, probe.x, probe.hidden, rhm,
                             torch.Generator().manual_seed(0))

            rule.loss(batch()).backward()
            explicit = hebbian_update(rule, batch())
            gap = max(float((w - layer.weight.grad).abs().max() / layer.weight.grad.abs().max())
                      for (w, _), layer in zip(explicit, net.layers))
            rows.append({"mode": mode, "score": score, "largest difference / largest entry": gap})
    return Table(rows, caption="Explicit pre x post x third-factor update against autograd's "
                               "gradient of the local loss", digits=2)


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
