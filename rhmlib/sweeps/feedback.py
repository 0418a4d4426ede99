"""Sweeps of the chapters "Direct feedback fails" and "Masking".

Every rule gets the same budget (:data:`BUDGET`, 5,000 steps) and its own learning
rate, chosen by :func:`chosen_lr` as the best mean test accuracy of its scan at
``P = 4000`` (:func:`feedback_lr`, :func:`masking_lr`); the other sweeps use that
choice. Runs at the scan point also record the per-layer cosine between the rule's
update and backprop's over training (:class:`rhmlib.probes.AngleRecorder`), in
``results/angles/``. A run that diverges (non-finite loss) is recorded as such in
``results/diverged/`` instead of stopping the sweep. Regenerate with::

    python -m rhmlib.sweeps.feedback
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import torch

from ..probes import AngleRecorder
from ..train import run_experiment
from . import (
    REFERENCE,
    RESULTS_DIR,
    PendingSweep,
    _save,
    config_key,
    load_run,
    summarize,
    sweep,
    write_json,
)

__all__ = [
    "BUDGET", "TYPE1", "VARIANTS", "label", "records", "diverged", "angles", "chosen_lr",
    "initial_cosines",
    "summary", "feedback_lr", "feedback_P", "feedback_width", "feedback_depth",
    "masking_lr",
]

BUDGET = {"steps": 5000, "width": 64, "n_test": 2000, "eval_points": 10}
P_SCAN = 4000
TYPE1 = ("BP", "FA", "DFA", "DRTP", "PEPITA")
# label -> (rule, rule_options, learning rates scanned)
VARIANTS: dict[str, tuple[str, dict, tuple[float, ...]]] = {
    "BP": ("bp", {}, (0.05, 0.2, 0.5)),
    "FA": ("fa", {}, (0.03, 0.1, 0.3, 1.0)),
    "DFA": ("dfa", {}, (0.01, 0.03, 0.1)),
    "DRTP": ("drtp", {}, (0.001, 0.01, 0.1)),
    "PEPITA": ("pepita", {"f_scale": 0.05}, (0.01, 0.03, 0.1)),
    "PEPITA (F x10)": ("pepita", {"f_scale": 0.5}, (0.003, 0.01)),
    **{f"own mask: {kind}": ("bp_masked", {"own": kind}, (0.01, 0.03))
       for kind in ("ones", "other", "mean", "random")},
    **{f"downstream masks: {kind}": ("bp_masked", {"down": kind}, (0.03, 0.2))
       for kind in ("ones", "other", "mean", "random")},
    "DFA + exact transport": ("dfa", {"feedback": "exact"}, (0.03, 0.2)),
    "FA without downstream masks": ("bp_masked", {"transport": "random", "down": "ones"},
                                    (0.03, 0.2)),
}
MASKING = tuple(k for k in VARIANTS if k not in TYPE1 and not k.startswith("PEPITA"))
# 10 seeds for the headline curves of BP, FA and DFA; 3 for scans and variants.
SEEDS_SCAN, SEEDS_HEADLINE = range(3), range(10)


def label(config: dict) -> str:
    """The variant label of a run config (inverse of :data:`VARIANTS`)."""
    for name, (rule, options, _) in VARIANTS.items():
        if config["rule"] == rule and config.get("rule_options", {}) == options:
            return name
    raise ValueError(f"config is not one of the VARIANTS: {config['rule']!r}")


def _config(name: str, P: int, seed: int, lr: float, **changes: object) -> dict:
    rule, options, _ = VARIANTS[name]
    config = {**REFERENCE, "P": P, "rule": rule, "seed": seed, **BUDGET, "lr": lr, **changes}
    if options:
        config["rule_options"] = options
    return config


def _path(kind: str, config: dict, root: Path) -> Path:
    return root / kind / f"{config_key(config)}.json"


def _is_diverged(config: dict, root: Path) -> bool:
    return _path("diverged", config, root).exists()


def _wants_angles(config: dict) -> bool:
    return config["P"] == P_SCAN and config["width"] == BUDGET["width"] and (
        {k: config[k] for k in REFERENCE} == REFERENCE)


def _compute(config: dict, root: Path) -> None:
    """Run one config; save its record (and angles), or record that it diverged."""
    torch.set_num_threads(1)
    recorder = AngleRecorder() if _wants_angles(config) else None
    try:
        result = run_experiment(**config, progress=False, callback=recorder)
    except FloatingPointError as err:
        write_json(_path("diverged", config, root),
               {"key": config_key(config), "config": config, "error": str(err)})
        return
    from .. import __version__

    # The same record rhmlib.sweeps.run_sweep writes: the probe does not alter training.
    _save({"key": config_key(config), "version": __version__, "config": config,
           "result": result.to_dict()}, root)
    if recorder is not None:
        write_json(_path("angles", config, root),
               {"key": config_key(config), "config": config, "steps": recorder.steps,
                "cosines": recorder.cosines})


def _complete(configs: list[dict], root: Path, compute: bool = True) -> list[dict]:
    """Records of the runs that did not diverge, computing missing ones if ``compute``."""
    out = []
    for config in configs:
        if _is_diverged(config, root):
            continue
        record = load_run(config, root)
        if compute and (record is None or (_wants_angles(config)
                                           and not _path("angles", config, root).exists())):
            _compute(config, root)
            if _is_diverged(config, root):
                continue
            record = load_run(config, root)
        if record is None:
            raise ValueError(f"run {config_key(config)} of this sweep is not computed yet; "
                             "run `python -m rhmlib.sweeps.feedback` first")
        out.append(record)
    return out


def _configs(name: str) -> list[dict]:
    return _DEFINITIONS[name]()


def records(name: str, root: Path = RESULTS_DIR) -> list[dict]:
    """Cached records of sweep ``name`` (computing any missing run), diverged runs left out."""
    if name not in _DEFINITIONS:
        raise ValueError(f"name must be one of {sorted(_DEFINITIONS)}, got {name!r}")
    return _complete(_configs(name), root)


def diverged(name: str, root: Path = RESULTS_DIR) -> list[dict]:
    """Configs of sweep ``name`` whose training diverged, with the error message."""
    return [json.loads(_path("diverged", c, root).read_text())
            for c in _configs(name) if _is_diverged(c, root)]


def angles(name: str, root: Path = RESULTS_DIR) -> list[dict]:
    """Recorded update cosines to BP (``steps``, ``cosines`` per layer) of sweep ``name``."""
    return [json.loads(_path("angles", c, root).read_text()) for c in _configs(name)
            if _path("angles", c, root).exists()]


def summary(recs: list[dict], by: tuple[str, ...] = ("P",),
            metric: str = "test_accuracy") -> dict[str, list[dict]]:
    """Per variant label: rows of mean, sem and count of ``metric`` grouped by ``by``."""
    labels = dict.fromkeys(label(r["config"]) for r in recs)  # first-seen order
    return {name: summarize([r for r in recs if label(r["config"]) == name], by, metric)
            for name in labels}


def chosen_lr(name: str, root: Path = RESULTS_DIR) -> float:
    """The learning rate of variant ``name`` with the best mean accuracy in its scan."""
    scan = masking_lr if name in MASKING else feedback_lr
    # Cached runs only: defining (or listing) a sweep never starts a computation.
    recs = [r for r in _complete(scan(), root, compute=False) if label(r["config"]) == name]
    if not recs:
        raise ValueError(f"no finished scan runs for {name!r}")
    rows = summary(recs, by=("lr",))[name]
    return max(rows, key=lambda r: r["mean"])["lr"]


def _pepita_label(root: Path = RESULTS_DIR) -> str:
    """The PEPITA feedback scale that did better in the scan (diverged runs left out)."""
    recs = summary([r for r in _complete(feedback_lr(), root, compute=False)
                    if label(r["config"]).startswith("PEPITA")], by=("lr",))
    return max(recs, key=lambda n: max(r["mean"] for r in recs[n]))


def initial_cosines(seed: int = 0, batch_size: int = 128) -> dict[str, list[float]]:
    """Per-layer cosine to BP's update of each type-1 rule on one batch, at initialisation."""
    from ..models import build_model
    from ..probes import update_cosine
    from ..rhm import RHM
    from ..rules import Batch, get_rule

    rhm = RHM(**REFERENCE, seed=seed)
    sample = rhm.sample(batch_size, seed=seed)
    model = build_model("cnn", rhm.v, rhm.s, rhm.L, BUDGET["width"], rhm.n_c, seed=seed)
    batch = Batch(rhm.one_hot(sample.x), sample.y, sample.x, sample.hidden, rhm,
                  torch.Generator().manual_seed(seed))
    bp = get_rule("bp")
    bp.setup(model, torch.Generator().manual_seed(seed))
    out = {}
    for name in TYPE1[1:]:
        rule_name, options, _ = VARIANTS[name]
        rule = get_rule(rule_name, **options)
        rule.setup(model, torch.Generator().manual_seed(seed))
        out[name] = update_cosine(rule, bp, batch)
    return out


def _register(func: Callable[[], list[dict]]) -> Callable[[], list[dict]]:
    """Register ``func`` with :mod:`rhmlib.sweeps`, leaving out runs known to diverge."""

    def live() -> list[dict]:
        try:
            return [c for c in func() if not _is_diverged(c, RESULTS_DIR)]
        except ValueError as err:  # its learning-rate scan is not complete yet
            raise PendingSweep(f"its learning-rate scan ({err})") from None

    live.__name__, live.__doc__ = func.__name__, func.__doc__
    sweep(live)
    return func


def _headline_rules() -> list[str]:
    return ["BP", "FA", "DFA", "DRTP", _pepita_label()]


@_register
def feedback_lr() -> list[dict]:
    """Learning-rate scan of every type-1 rule and BP at P = 4000, 3 seeds."""
    return [_config(name, P_SCAN, seed, lr) for name in (*TYPE1, "PEPITA (F x10)")
            for lr in VARIANTS[name][2] for seed in SEEDS_SCAN]


@_register
def feedback_P() -> list[dict]:
    """Accuracy against P at each rule's chosen lr: 10 seeds (BP, FA, DFA), 3 for the rest.

    BP at P = 4000 and DRTP and PEPITA at every P but 16000 are the scan's 3 seeds.
    """
    out = []
    for name in _headline_rules():
        lr = chosen_lr(name)
        if name == "BP":
            cells = [(P, SEEDS_HEADLINE) for P in (1000, 2000)] + [(P_SCAN, SEEDS_SCAN)]
        elif name in ("FA", "DFA"):
            cells = [(P, SEEDS_HEADLINE) for P in (2000, P_SCAN, 8000)]
        else:
            cells = [(P, SEEDS_SCAN) for P in (P_SCAN, 16000)]
        out += [_config(name, P, seed, lr) for P, seeds in cells for seed in seeds]
    return out


@_register
def feedback_width() -> list[dict]:
    """Width 128 against the reference 64 at P = 4000, chosen lr, 3 seeds (DRTP, PEPITA)."""
    return [_config(name, P_SCAN, seed, chosen_lr(name), width=128)
            for name in _headline_rules()[3:] for seed in SEEDS_SCAN]


# At L = 4 the rates chosen at L = 3 left BP at chance for 2 of 3 seeds: scan again there.
DEPTH_LRS = {"BP": (0.2, 0.3), "DFA": (0.01, 0.03, 0.1)}


@_register
def feedback_depth() -> list[dict]:
    """BP and DFA at L = 3 (chosen lr) and L = 4 (lr scanned again), P = 1000 * 4^(L-2), 3 seeds.

    P is about 3.9 n_c m^L. L = 2 is left out: that grammar has only n_c m^3 = 1024
    distinct inputs, too few for a disjoint test set.
    """
    return [_config(name, P_SCAN, seed, chosen_lr(name)) for name in DEPTH_LRS
            for seed in SEEDS_SCAN] + [
        _config(name, 16000, seed, lr, L=4) for name, lrs in DEPTH_LRS.items()
        for lr in lrs for seed in SEEDS_SCAN]


@_register
def masking_lr() -> list[dict]:
    """Learning-rate scan of every masking variant and hybrid at P = 4000, 3 seeds."""
    return [_config(name, P_SCAN, seed, lr) for name in MASKING
            for lr in VARIANTS[name][2] for seed in SEEDS_SCAN]


# Order matters: later sweeps use the learning rates chosen by the scans.
_DEFINITIONS = {f.__name__: f for f in (feedback_lr, masking_lr, feedback_P, feedback_depth,
                                        feedback_width)}


def main(argv: list[str] | None = None) -> None:
    """Command line: compute (or complete) this chapter's sweeps, in dependency order."""
    parser = argparse.ArgumentParser(prog="python -m rhmlib.sweeps.feedback")
    parser.add_argument("names", nargs="*", help=f"default: all of {list(_DEFINITIONS)}")
    args = parser.parse_args(argv)
    for name in args.names or list(_DEFINITIONS):
        configs = _configs(name)
        print(f"{name}: {len(configs)} runs", flush=True)
        done = records(name)
        print(f"{name}: {len(done)} finished, {len(configs) - len(done)} diverged", flush=True)


if __name__ == "__main__":
    main()
