"""The one training loop every rule shares, and ``run_experiment``, the one-call API."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import torch
from tqdm.auto import tqdm

from .models import MODELS, LayeredNet, build_model
from .rhm import RHM, Sample, check_int
from .rules import Batch, Rule, get_rule

__all__ = ["TrainConfig", "History", "ExperimentResult", "train", "evaluate", "run_experiment"]

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "cosine")


@dataclass
class TrainConfig:
    """Optimisation settings; the budget is in steps so every rule gets the same one."""

    steps: int = 5000
    batch_size: int = 128
    lr: float | None = None  # None: the rule's own default_lr
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    eval_points: int = 20
    schedule: str = "constant"  # "cosine": lr decays to 0 over the steps

    def __post_init__(self) -> None:
        check_int("steps", self.steps, 1)
        check_int("batch_size", self.batch_size, 1)
        check_int("eval_points", self.eval_points, 1)
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        for name, low in (("momentum", 0.0), ("weight_decay", 0.0)):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not low <= value < math.inf:
                raise ValueError(f"{name} must be a finite number >= {low}, got {value!r}")
        if self.momentum >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.lr is not None and (
            not isinstance(self.lr, (int, float)) or not 0 < self.lr < math.inf
        ):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")


@dataclass
class History:
    """Learning curve: one entry per evaluation point."""

    step: list[int] = field(default_factory=list)
    epoch: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)


@dataclass
class ExperimentResult:
    """What ``run_experiment`` returns: final accuracies, curve, config and the model."""

    config: dict
    test_accuracy: float
    train_accuracy: float
    history: History
    seconds: float
    model: LayeredNet | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """JSON-ready record (without the model)."""
        return {
            "config": self.config,
            "test_accuracy": self.test_accuracy,
            "train_accuracy": self.train_accuracy,
            "history": asdict(self.history),
            "seconds": self.seconds,
        }


@torch.no_grad()
def evaluate(model: LayeredNet, rhm: RHM, data: Sample, batch_size: int = 4096) -> float:
    """Fraction of ``data`` that ``model`` classifies correctly."""
    if len(data) == 0:
        return math.nan
    correct = 0
    for start in range(0, len(data), batch_size):
        part = data[start : start + batch_size]
        correct += int((model(rhm.one_hot(part.x)).argmax(1) == part.y).sum())
    return correct / len(data)


def _show_progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else bool(progress)


def train(
    model: LayeredNet,
    rule: Rule,
    rhm: RHM,
    train_data: Sample,
    test_data: Sample | None = None,
    config: TrainConfig | None = None,
    seed: int = 0,
    progress: bool | None = None,
    callback: Callable[[int, Rule, Batch], None] | None = None,
) -> History:
    """Train ``model`` with ``rule`` on ``train_data``; returns the learning curve.

    ``callback(step, rule, batch)`` runs at every evaluation point, for probes that
    follow training (update angles, sensitivities).
    """
    config = config or TrainConfig()
    if len(train_data) == 0:
        raise ValueError("train_data must not be empty")
    # Weight decay drives weights into denormals, which are 5-12x slower on CPU.
    torch.set_flush_denormal(True)
    gen = torch.Generator().manual_seed(check_int("seed", seed, 0))
    rule.setup(model, gen)
    params = rule.parameters()
    lr = rule.default_lr if config.lr is None else config.lr
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(
            params, lr=lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    else:
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=config.weight_decay)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.steps)
                 if config.schedule == "cosine" else None)

    n = len(train_data)
    batch_size = min(config.batch_size, n)
    eval_at = {
        round(config.steps * (k + 1) / config.eval_points) for k in range(config.eval_points)
    }
    history = History()
    order = torch.randperm(n, generator=gen)
    cursor, running_loss, running_count = 0, 0.0, 0
    model.train()
    for step in tqdm(range(1, config.steps + 1), disable=not _show_progress(progress),
                     desc=f"train {rule.name}", leave=False):
        if cursor + batch_size > n:  # a new epoch: reshuffle, drop the ragged end
            order, cursor = torch.randperm(n, generator=gen), 0
        part = train_data[order[cursor : cursor + batch_size]]
        cursor += batch_size
        batch = Batch(rhm.one_hot(part.x), part.y, part.x, part.hidden, rhm, gen)
        opt.zero_grad(set_to_none=True)
        loss = rule.loss(batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"rule {rule.name!r} diverged at step {step} "
                f"(loss {float(loss.detach())}); lower lr={lr}"
            )
        loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        running_loss += float(loss.detach()) * len(part)
        running_count += len(part)
        if step in eval_at:
            history.step.append(step)
            history.epoch.append(step * batch_size / n)
            history.loss.append(running_loss / running_count)
            model.eval()
            history.train_accuracy.append(evaluate(model, rhm, train_data))
            history.test_accuracy.append(
                evaluate(model, rhm, test_data) if test_data is not None else math.nan
            )
            if callback is not None:
                callback(step, rule, batch)
            model.train()
            running_loss, running_count = 0.0, 0
    model.eval()
    return history


def _chain(first: History, second: History) -> History:
    """One learning curve from two stages, the second's steps counted after the first's."""
    offset = first.step[-1] if first.step else 0
    chained = History(**{k: list(v) for k, v in asdict(first).items()})
    chained.step += [offset + step for step in second.step]
    for key in ("epoch", "loss", "train_accuracy", "test_accuracy"):
        getattr(chained, key).extend(getattr(second, key))
    return chained


def run_experiment(
    v: int,
    n_c: int,
    m: int,
    s: int,
    L: int,
    P: int,
    rule: str = "bp",
    width: int = 64,
    seed: int = 0,
    *,
    model: str = "cnn",
    n_test: int = 4000,
    grammar_seed: int | None = None,
    progress: bool | None = None,
    rule_options: dict | None = None,
    callback: Callable[[int, Rule, Batch], None] | None = None,
    **train_options: object,
) -> ExperimentResult:
    """Draw an RHM, train a model on ``P`` points with ``rule``, test on a disjoint set.

    ``seed`` fixes the data, the initial weights and the batches; ``grammar_seed``
    (default: ``seed``) fixes the production rules. ``train_options`` are the fields
    of :class:`TrainConfig` (``steps``, ``lr``, ``batch_size``, ``optimizer``, ...).
    """
    start = time.perf_counter()
    grammar_seed = seed if grammar_seed is None else grammar_seed
    rhm = RHM(v, n_c, m, s, L, seed=grammar_seed)
    if model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {model!r}")
    unknown = set(train_options) - set(TrainConfig.__dataclass_fields__)
    if unknown:
        raise TypeError(
            f"unknown option(s) {sorted(unknown)}; allowed: "
            f"{sorted(TrainConfig.__dataclass_fields__)} or rule_options={{...}}"
        )
    config = TrainConfig(**train_options)  # type: ignore[arg-type]
    train_data, test_data = rhm.train_test(P, n_test, seed=seed)
    net = build_model(model, v, s, L, width, n_c, seed=seed)
    learning_rule = get_rule(rule, **(rule_options or {}))
    if learning_rule.uses_labels:
        history = train(
            net, learning_rule, rhm, train_data, test_data, config, seed, progress, callback
        )
    else:
        # Self-supervised rules: their layers learn without labels, then the readout
        # stage learns from the P labels on frozen features (see rules/local.py).
        ssl_data = learning_rule.ssl_data(rhm, train_data, test_data, seed)
        first = train(net, learning_rule, rhm, ssl_data, None, config, seed, progress, callback)
        net, readout_rule, overrides = learning_rule.readout_stage(net)
        second = train(net, readout_rule, rhm, train_data, test_data,
                       replace(config, **overrides), seed, progress, callback)
        history = _chain(first, second)
    record = {
        "v": rhm.v, "n_c": rhm.n_c, "m": rhm.m, "s": rhm.s, "L": rhm.L, "P": P,
        "rule": rule, "width": width, "seed": seed, "grammar_seed": grammar_seed,
        "model": model, "n_test": n_test, "rule_options": learning_rule.options(),
        **asdict(config),
    }
    record["lr"] = learning_rule.default_lr if config.lr is None else config.lr
    return ExperimentResult(
        config=record,
        test_accuracy=history.test_accuracy[-1],
        train_accuracy=history.train_accuracy[-1],
        history=history,
        seconds=time.perf_counter() - start,
        model=net,
    )
