"""The one training loop every rule shares, and ``run_experiment``, the one-call API.

The loop knows no rule family: it asks the rule for its stages (:meth:`Rule.stages`)
and trains each on what the stage needs. Every default of a run comes from the rule's
tuned recipe (:attr:`Rule.defaults`) and then :data:`BASE`, so
``run_experiment(v, n_c, m, s, L, P, rule=name)`` runs the recipe the book reports.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace

import torch
from tqdm.auto import tqdm

from .checks import check_choice, check_float, check_int
from .models import MODELS, LayeredNet, build_model
from .rhm import RHM, Sample
from .rules import RULES, Batch, Rule, get_rule
from .streams import derive, generator

__all__ = ["TrainConfig", "History", "ExperimentResult", "Diverged", "train", "evaluate",
           "run_experiment", "resolve", "BASE", "flush_denormal"]

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "cosine")
# Weights of these networks are of order 1; past this bound a run has blown up even
# when no NaN appeared yet (backprop at lr 1e3 reaches 1e22 at chance accuracy).
WEIGHT_BOUND = 1e6
# Train accuracy at intermediate evaluation points is measured on a fixed random
# subset of this many training inputs (on all of them at the last point).
EVAL_SUBSET = 2048


class Diverged(FloatingPointError):
    """Training blew up: non-finite loss, runaway weights or a collapse to one class."""


@dataclass
class TrainConfig:
    """Optimisation settings of one stage; the budget is in steps, as every rule's."""

    steps: int
    lr: float
    batch_size: int = 128
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    eval_points: int = 10
    schedule: str = "constant"  # "cosine": lr decays to 0 over the steps

    def __post_init__(self) -> None:
        self.steps = check_int("steps", self.steps, 1, 10**7)
        self.batch_size = check_int("batch_size", self.batch_size, 1, 2**16)
        self.eval_points = check_int("eval_points", self.eval_points, 1, 1000)
        self.schedule = check_choice("schedule", self.schedule, SCHEDULES)
        self.optimizer = check_choice("optimizer", self.optimizer, OPTIMIZERS)
        self.momentum = check_float("momentum", self.momentum, 0.0, 1.0)
        self.weight_decay = check_float("weight_decay", self.weight_decay, 0.0, 1e3)
        self.lr = check_float("lr", self.lr, 0.0, 1e6, low_open=True)


# Settings every rule shares unless its recipe says otherwise.
BASE = {"steps": 5000, "batch_size": 128, "optimizer": "sgd", "momentum": 0.9,
        "weight_decay": 0.0, "eval_points": 10, "schedule": "constant"}
TRAIN_FIELDS = tuple(f.name for f in fields(TrainConfig))


@dataclass
class History:
    """Learning curve: one entry per evaluation point (None where a stage has no readout)."""

    step: list[int] = field(default_factory=list)
    epoch: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float | None] = field(default_factory=list)
    test_accuracy: list[float | None] = field(default_factory=list)

    def extend(self, other: History) -> None:
        """Append ``other``'s points, its steps counted after this curve's last one."""
        offset = self.step[-1] if self.step else 0
        self.step += [offset + step for step in other.step]
        for key in ("epoch", "loss", "train_accuracy", "test_accuracy"):
            getattr(self, key).extend(getattr(other, key))


@dataclass
class ExperimentResult:
    """What ``run_experiment`` returns: final accuracies, curve, config and the model."""

    config: dict
    test_accuracy: float | None
    train_accuracy: float
    history: History
    seconds: float
    model: LayeredNet | None = field(default=None, repr=False)
    # Accuracy on held-out inputs disjoint from training and test: what choosing
    # hyper-parameters may look at (None when n_val is 0).
    val_accuracy: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready record (without the model)."""
        return {
            "config": self.config,
            "test_accuracy": self.test_accuracy,
            "train_accuracy": self.train_accuracy,
            "val_accuracy": self.val_accuracy,
            "history": asdict(self.history),
            "seconds": self.seconds,
        }


@contextlib.contextmanager
def flush_denormal() -> Iterator[None]:
    """Flush denormals to zero inside the block, restoring the previous setting after.

    Weight decay drives weights into denormals, which are 5-12x slower on CPU.
    """
    previous = _denormal_state()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(bool(previous))


def _denormal_state() -> bool:
    """Whether denormals are flushed now (torch has no getter: test a tiny number)."""
    tiny = torch.tensor([1e-40], dtype=torch.float32)
    return bool((tiny * 1.0 == 0).item())


@torch.inference_mode()
def evaluate(model: LayeredNet, x: torch.Tensor, y: torch.Tensor,
             batch_size: int = 8192) -> tuple[float, int]:
    """Accuracy of ``model`` on one-hot inputs ``x`` and the number of classes it predicts."""
    predicted = torch.cat([model(x[i : i + batch_size]).argmax(1)
                           for i in range(0, len(x), batch_size)])
    return int((predicted == y).sum()) / len(y), int(predicted.unique().numel())


def _show_progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else bool(progress)


def _check_weights(rule: Rule, model: LayeredNet, step: int, lr: float) -> None:
    for name, p in model.named_parameters():
        size = float(p.detach().abs().max())
        if not size <= WEIGHT_BOUND:  # also catches NaN
            raise Diverged(f"rule {rule.name!r} diverged at step {step}: weights {name} reached "
                           f"{size:.3g} (bound {WEIGHT_BOUND:g}); lower lr={lr}")


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
    needs: frozenset[str] | None = None,
) -> History:
    """Train ``model`` with ``rule`` (one stage) on ``train_data``; returns the learning curve.

    ``seed`` fixes the batch order and the rule's own random stream; ``needs`` (default:
    the rule's) says what the batches carry. A stage without labels records only its
    loss. ``callback(step, rule, batch)`` runs at every evaluation point, for probes that
    follow training (update angles, sensitivities). Raises :class:`Diverged` when the
    loss is not finite, the weights run away or accuracy collapses to one class.
    """
    config = config or TrainConfig(**{**BASE, **rule.defaults})
    needs = rule.needs if needs is None else frozenset(needs)
    n = len(train_data)
    if n == 0:
        raise ValueError("train_data must not be empty")
    labelled = "labels" in needs
    order_gen, rule_gen = generator(seed, "order"), generator(seed, "rule")
    rule.setup(model, rule_gen)
    lr = config.lr
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(rule.parameters(), lr=lr, momentum=config.momentum,
                              weight_decay=config.weight_decay)
    else:
        opt = torch.optim.AdamW(rule.parameters(), lr=lr, weight_decay=config.weight_decay)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.steps)
                 if config.schedule == "cosine" else None)

    batch_size = min(config.batch_size, n)
    if batch_size < rule.min_batch:
        raise ValueError(f"rule {rule.name!r} compares each input with others of its batch, so "
                         f"it needs batches of at least {rule.min_batch} inputs; got "
                         f"batch_size={config.batch_size} with P={n} training inputs")
    eval_at = {round(config.steps * (k + 1) / config.eval_points)
               for k in range(config.eval_points)}
    # Evaluation sets are encoded once; intermediate train accuracy uses a fixed subset.
    subset = torch.randperm(n, generator=generator(seed, "probe"))[:EVAL_SUBSET]
    sets = {}
    if labelled:
        sets["train_part"] = (rhm.one_hot(train_data.x[subset]), train_data.y[subset])
        sets["train"] = (rhm.one_hot(train_data.x), train_data.y)
        if test_data is not None and len(test_data):
            sets["test"] = (rhm.one_hot(test_data.x), test_data.y)
    history, best = History(), 0.0
    order = torch.randperm(n, generator=order_gen)
    cursor, running_loss, running_count = 0, 0.0, 0
    model.train()
    with flush_denormal():
        for step in tqdm(range(1, config.steps + 1), disable=not _show_progress(progress),
                         desc=f"train {rule.name}", leave=False):
            if cursor + batch_size > n:  # a new epoch: reshuffle, drop the ragged end
                order, cursor = torch.randperm(n, generator=order_gen), 0
            part = train_data[order[cursor : cursor + batch_size]]
            cursor += batch_size
            batch = Batch.of(part, rhm, rule_gen, needs)
            opt.zero_grad(set_to_none=True)
            loss = rule.loss(batch)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise Diverged(f"rule {rule.name!r} diverged at step {step} "
                               f"(loss {value}); lower lr={lr}")
            loss.backward()
            opt.step()
            if scheduler is not None:
                scheduler.step()
            running_loss += value * len(part)
            running_count += len(part)
            if step not in eval_at:
                continue
            _check_weights(rule, model, step, lr)
            history.step.append(step)
            history.epoch.append(step * batch_size / n)
            history.loss.append(running_loss / running_count)
            running_loss, running_count = 0.0, 0
            model.eval()
            if labelled:
                final = step == config.steps
                train_acc, classes = evaluate(model, *sets["train" if final else "train_part"])
                test_acc = evaluate(model, *sets["test"])[0] if "test" in sets else None
                history.train_accuracy.append(train_acc)
                history.test_accuracy.append(test_acc)
                n_classes = model.readout.out_features
                if classes == 1 and best >= 2 / n_classes:
                    raise Diverged(f"rule {rule.name!r} diverged at step {step}: every input "
                                   f"is given one class after a train accuracy of {best:.2f}; "
                                   f"lower lr={lr}")
                best = max(best, train_acc)
            else:
                history.train_accuracy.append(None)
                history.test_accuracy.append(None)
            if callback is not None:
                callback(step, rule, batch)
            model.train()
    model.eval()
    return history


def _rule_class(rule: object) -> type[Rule]:
    if not isinstance(rule, str) or rule not in RULES:
        raise ValueError(f"rule must be one of {sorted(RULES)}, got {rule!r}")
    return RULES[rule]


def resolve(config: dict) -> dict:
    """The full config of a run: every setting ``config`` leaves out, from the rule's recipe.

    ``config`` holds ``run_experiment``'s arguments; the result is what the run's record
    stores (``run_experiment(**config).config == resolve(config)``), JSON-ready.
    """
    config = dict(config)
    rule = config.pop("rule", "bp")
    cls = _rule_class(rule)
    grammar = {k: check_int(k, config.pop(k), 1) for k in ("v", "n_c", "m", "s", "L")}
    P = check_int("P", config.pop("P"), 1)
    seed = check_int("seed", config.pop("seed", 0), 0, 2**63 - 1)
    grammar_seed = config.pop("grammar_seed", None)
    grammar_seed = seed if grammar_seed is None else check_int(
        "grammar_seed", grammar_seed, 0, 2**63 - 1)
    width = check_int("width", config.pop("width", 64), 1, 4096)
    model = check_choice("model", config.pop("model", "cnn"), tuple(MODELS))
    n_test = check_int("n_test", config.pop("n_test", 4000), 0)
    n_val = config.pop("n_val", None)
    n_val = n_test // 4 if n_val is None else check_int("n_val", n_val, 0)
    options = config.pop("rule_options", None) or {}
    if not isinstance(options, dict):
        raise TypeError(f"rule_options must be a dict, got {options!r}")
    unknown = set(config) - set(TRAIN_FIELDS)
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)}; allowed: {sorted(TRAIN_FIELDS)}, "
                        "or rule_options={...} for the rule's own")
    settings = asdict(TrainConfig(**{**BASE, **cls.defaults, **config}))
    return {**grammar, "P": P, "rule": rule, "width": width, "seed": seed,
            "grammar_seed": grammar_seed, "model": model, "n_test": n_test, "n_val": n_val,
            "rule_options": get_rule(rule, **options).options(), **settings}


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
    n_val: int | None = None,
    grammar_seed: int | None = None,
    progress: bool | None = None,
    rule_options: dict | None = None,
    callback: Callable[[int, Rule, Batch], None] | None = None,
    device: str = "cpu",
    **train_options: object,
) -> ExperimentResult:
    """Draw an RHM, train a model on ``P`` points with ``rule``, test on a disjoint set.

    Every setting left out comes from the rule's tuned recipe (:func:`resolve`). A
    validation set of ``n_val`` inputs (default ``n_test // 4``), disjoint from both, gives
    the accuracy that hyper-parameter choices use, so that the test set never does.
    ``seed`` fixes the data, the initial weights, the batches and the rule's own draws,
    each from its own stream (:mod:`rhmlib.streams`); ``grammar_seed`` (default:
    ``seed``) fixes the production rules. ``train_options`` are the fields of
    :class:`TrainConfig` (``steps``, ``lr``, ``optimizer``, ...). ``device="cpu"``
    only for now.
    """
    start = time.perf_counter()
    if device not in ("cpu", "auto"):
        raise ValueError(f"device must be 'cpu' or 'auto', got {device!r}")
    config = resolve({"v": v, "n_c": n_c, "m": m, "s": s, "L": L, "P": P, "rule": rule,
                      "width": width, "seed": seed, "grammar_seed": grammar_seed,
                      "model": model, "n_test": n_test, "n_val": n_val,
                      "rule_options": rule_options,
                      **train_options})
    rhm = RHM(v, n_c, m, s, L, seed=config["grammar_seed"])
    train_data, test_data, val_data = rhm.splits(P, config["n_test"], config["n_val"], seed)
    net = build_model(model, v, s, L, config["width"], n_c, seed=derive(seed, "init"))
    settings = TrainConfig(**{k: config[k] for k in TRAIN_FIELDS})
    history = History()
    for stage in get_rule(rule, **config["rule_options"]).stages(net):
        data = train_data
        if stage.unlabelled:
            extra = rhm.sample_distinct(stage.unlabelled, seed=derive(seed, "unlabelled"),
                                        exclude=Sample.cat([test_data, val_data, train_data]),
                                        name="unlabelled")
            data = Sample.cat([train_data, extra])
        history.extend(train(stage.model, stage.rule, rhm, data, test_data,
                             replace(settings, **stage.settings), seed, progress, callback,
                             stage.needs))
        net = stage.model
    val_accuracy = (evaluate(net, rhm.one_hot(val_data.x), val_data.y)[0]
                    if len(val_data) else None)
    return ExperimentResult(
        config=config,
        test_accuracy=history.test_accuracy[-1],
        train_accuracy=history.train_accuracy[-1],
        history=history,
        seconds=time.perf_counter() - start,
        model=net,
        val_accuracy=val_accuracy,
    )
