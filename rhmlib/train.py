"""The one training loop every rule shares, and ``run_experiment``, the one-call API.

The loop knows no rule family: it asks the rule for its stages (:meth:`Rule.stages`)
and trains each on what the stage needs. Every default of a run comes from the rule's
tuned recipe (:attr:`Rule.defaults`) and then :data:`BASE`, so
``run_experiment(v, n_c, m, s, L, P, rule=name)`` runs the recipe the book reports.

**One convergence protocol for every rule and stage.** A stage's budget is counted in
passes over its training set (``epochs``, kept within ``min_steps`` .. ``max_steps``), or
fixed (``steps``); no stage stops before ``min_steps``, so that a slow start (a plateau at
chance, as feedback alignment has) is not taken for convergence. Every ``eval_every``
steps it scores the validation split: a labelled stage by its accuracy, a label-free
stage by its own objective on the validation inputs.
The learning rate halves when that score has not improved for ``patience // 2``
evaluations (``schedule="plateau"``), the stage stops when it has not improved for
``patience`` (it *converged*) or at the end of the budget (the *cap*; a fixed budget
always runs to its end), and it keeps its best validation state (the latest of equally
good ones). A stage that diverges starts again from its
initial state at half the rate, ``retries`` times. :class:`StageReport` records what
happened.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace

import torch
from tqdm.auto import tqdm

from .checks import check_choice, check_float, check_int
from .models import ACTIVATIONS, MODELS, LayeredNet, build_model
from .rhm import RHM, Sample
from .rules import RULES, Batch, Dataset, Rule, get_rule
from .streams import derive, generator

__all__ = ["TrainConfig", "History", "StageReport", "ExperimentResult", "Diverged", "train",
           "evaluate", "run_experiment", "fit", "resolve", "recipe_settings", "pick_device",
           "BASE", "DEFAULT_WIDTH", "flush_denormal", "STOPS", "DEVICES"]

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "cosine", "plateau")
DEVICES = ("cpu", "cuda", "auto")
# Weights of these networks are of order 1; past this bound a run has blown up even
# when no NaN appeared yet (backprop at lr 1e3 reaches 1e22 at chance accuracy).
WEIGHT_BOUND = 1e6
# Train accuracy at evaluation points is measured on a fixed random subset of this many
# training inputs (on all of them at the end), a label-free objective on this many
# validation inputs.
EVAL_SUBSET = 2048
# Hidden units per position of a run whose rule's recipe names no width.
DEFAULT_WIDTH = 64
# A label-free objective improves when it falls by more than this fraction. Small: the
# objective creeps while the features still change a lot for a readout (VICReg on a deep
# grammar: test accuracy 0.20 when stopped at 1% per evaluation, 0.97 at 0.1%).
MIN_IMPROVEMENT = 1e-3


class Diverged(FloatingPointError):
    """Training blew up: non-finite loss, runaway weights or a collapse to one class."""


@dataclass
class TrainConfig:
    """Optimisation settings and convergence protocol of one stage (see the module doc)."""

    lr: float
    batch_size: int = 128
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "plateau"  # "cosine": decays to 0 over the budget; "plateau": see doc
    epochs: float = 1000.0  # the budget, in passes over the stage's training set ...
    min_steps: int = 2000  # ... but at least this many, and no early stop before them
    max_steps: int = 30000  # ... and at most this many (the cap)
    steps: int | None = None  # a fixed budget instead (a widget's, a probe's)
    eval_every: int | None = None  # None: one pass, within [100, 1000] steps
    patience: int = 10  # evaluations without a better validation score; 0: never stop
    retries: int = 2  # restarts at half the rate after a divergence

    def __post_init__(self) -> None:
        self.lr = check_float("lr", self.lr, 0.0, 1e6, low_open=True)
        self.batch_size = check_int("batch_size", self.batch_size, 1, 2**16)
        self.optimizer = check_choice("optimizer", self.optimizer, OPTIMIZERS)
        self.momentum = check_float("momentum", self.momentum, 0.0, 1.0)
        self.weight_decay = check_float("weight_decay", self.weight_decay, 0.0, 1e3)
        self.schedule = check_choice("schedule", self.schedule, SCHEDULES)
        self.epochs = check_float("epochs", self.epochs, 0.0, 1e6, low_open=True)
        self.min_steps = check_int("min_steps", self.min_steps, 1, 10**7)
        self.max_steps = check_int("max_steps", self.max_steps, self.min_steps, 10**7)
        if self.steps is not None:
            self.steps = check_int("steps", self.steps, 1, 10**7)
        if self.eval_every is not None:
            self.eval_every = check_int("eval_every", self.eval_every, 1, 10**7)
        self.patience = check_int("patience", self.patience, 0, 10**4)
        self.retries = check_int("retries", self.retries, 0, 10)

    def budget(self, n: int) -> int:
        """Steps of a stage on ``n`` training inputs: fixed, or passes within the bounds."""
        if self.steps is not None:
            return self.steps
        per_pass = n / min(self.batch_size, n)
        return min(self.max_steps, max(self.min_steps, math.ceil(self.epochs * per_pass)))

    def interval(self, n: int) -> int:
        """Steps between two evaluations: one pass within [100, 1000], ten per short budget."""
        if self.eval_every is not None:
            return min(self.eval_every, self.budget(n))
        per_pass = math.ceil(n / min(self.batch_size, n))
        return max(1, min(max(100, min(per_pass, 1000)), self.budget(n) // 10))


# Settings every rule shares unless its recipe says otherwise.
BASE = {"batch_size": 128, "optimizer": "sgd", "momentum": 0.9, "weight_decay": 0.0,
        "schedule": "plateau", "epochs": 1000.0, "min_steps": 2000, "max_steps": 30000,
        "steps": None, "eval_every": None, "patience": 10, "retries": 2}
TRAIN_FIELDS = tuple(f.name for f in fields(TrainConfig))


@dataclass
class History:
    """Learning curve: one entry per evaluation point (None where a stage has no readout)."""

    step: list[int] = field(default_factory=list)
    epoch: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float | None] = field(default_factory=list)
    test_accuracy: list[float | None] = field(default_factory=list)
    # What the protocol watches: validation accuracy, or minus the label-free objective.
    val_score: list[float | None] = field(default_factory=list)

    def extend(self, other: History) -> None:
        """Append ``other``'s points, its steps counted after this curve's last one."""
        offset = self.step[-1] if self.step else 0
        self.step += [offset + step for step in other.step]
        for key in ("epoch", "loss", "train_accuracy", "test_accuracy", "val_score"):
            getattr(self, key).extend(getattr(other, key))


STOPS = ("converged", "cap")


@dataclass
class StageReport:
    """How one stage ended: steps run, why it stopped, the step it kept, its restarts."""

    steps: int
    stopped: str  # "converged": no better validation score for `patience` evaluations
    best_step: int
    lr: float  # the initial rate of the attempt that finished
    restarts: int = 0


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
    stages: list[StageReport] = field(default_factory=list)

    @property
    def converged(self) -> bool:
        """Whether every stage stopped by convergence rather than at its cap."""
        return all(stage.stopped == "converged" for stage in self.stages)

    def to_dict(self) -> dict:
        """JSON-ready record (without the model)."""
        return {
            "config": self.config,
            "test_accuracy": self.test_accuracy,
            "train_accuracy": self.train_accuracy,
            "val_accuracy": self.val_accuracy,
            "history": asdict(self.history),
            "stages": [asdict(stage) for stage in self.stages],
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


def _encode(dataset: Dataset, data: Sample,
            device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return dataset.encode(data.x).to(device), data.y.to(device)


class _Scorer:
    """A stage's validation score: accuracy, or minus its label-free objective (fixed draws)."""

    def __init__(self, rule: Rule, dataset: Dataset, val_data: Sample | None, labelled: bool,
                 needs: frozenset[str], seed: int, device: torch.device) -> None:
        self.rule, self.labelled, self.seed, self.device = rule, labelled, seed, device
        self.data = None
        if val_data is not None and len(val_data) > (0 if labelled else 1):
            if labelled:
                self.data = _encode(dataset, val_data, device)
            else:
                self.data = (val_data[torch.arange(min(len(val_data), EVAL_SUBSET))], dataset,
                             needs)

    def __call__(self, model: LayeredNet) -> float | None:
        """The score of ``model`` now (None without validation inputs)."""
        if self.data is None:
            return None
        if self.labelled:
            return evaluate(model, *self.data)[0]
        sample, dataset, needs = self.data
        # The same negatives and views at every evaluation: scores differ by the weights only.
        batch = Batch.of(sample, dataset, generator(self.seed, "validation"), needs)
        with torch.no_grad():
            return -float(self.rule.loss(batch.to(self.device)))

    def better(self, score: float | None, best: float | None) -> bool:
        """Whether ``score`` improves on ``best`` (a label-free one by MIN_IMPROVEMENT)."""
        if score is None or not math.isfinite(score):
            return False
        if best is None:
            return True
        margin = 0.0 if self.labelled else MIN_IMPROVEMENT * abs(best)
        return score > best + margin

    def ties(self, score: float | None, best: float | None) -> bool:
        """Whether ``score`` is at least as good as ``best`` (the state worth keeping)."""
        return score is not None and math.isfinite(score) and (best is None or score >= best)


def train(
    model: LayeredNet,
    rule: Rule,
    dataset: Dataset,
    train_data: Sample,
    test_data: Sample | None = None,
    config: TrainConfig | None = None,
    seed: int = 0,
    progress: bool | None = None,
    callback: Callable[[int, Rule, Batch], None] | None = None,
    needs: frozenset[str] | None = None,
    val_data: Sample | None = None,
) -> tuple[History, StageReport]:
    """Train ``model`` with ``rule`` (one stage) on ``dataset`` under the convergence protocol.

    ``dataset`` turns raw inputs into the model's (:class:`rhmlib.rules.Dataset`: an
    :class:`RHM` one-hot encodes its tokens), so that the loop serves any data set.

    Returns the learning curve and how the stage ended; the model keeps its best
    validation state (its last one without ``val_data``). ``seed`` fixes the batch order
    and the rule's own random stream; ``needs`` (default: the rule's) says what the
    batches carry. ``callback(step, rule, batch)`` runs at every evaluation, for probes
    that follow training. A divergence (non-finite loss, runaway weights, a collapse to
    one class) restarts the stage from its initial state at half the rate, up to
    ``config.retries`` times, then raises :class:`Diverged`.
    """
    config = config or TrainConfig(**{**BASE, **recipe_settings(type(rule))})
    needs = rule.needs if needs is None else frozenset(needs)
    if len(train_data) == 0:
        raise ValueError("train_data must not be empty")
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    lr = config.lr
    for attempt in itertools.count():
        try:
            history, report = _train_stage(model, rule, dataset, train_data, test_data,
                                           replace(config, lr=lr), seed, progress, callback,
                                           needs, val_data)
        except Diverged:
            if attempt >= config.retries:
                raise
            model.load_state_dict(initial)
            lr /= 2
            continue
        report.restarts = attempt
        return history, report


def _train_stage(
    model: LayeredNet, rule: Rule, dataset: Dataset, train_data: Sample,
    test_data: Sample | None,
    config: TrainConfig, seed: int, progress: bool | None,
    callback: Callable[[int, Rule, Batch], None] | None, needs: frozenset[str],
    val_data: Sample | None,
) -> tuple[History, StageReport]:
    """One attempt at a stage (see :func:`train`)."""
    n = len(train_data)
    labelled = "labels" in needs
    device = next(model.parameters()).device
    order_gen, rule_gen = generator(seed, "order"), generator(seed, "rule")
    rule.setup(model, rule_gen)
    # Fused kernels: one pass over all parameters per step (a third less optimiser time).
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(rule.parameters(), lr=config.lr, momentum=config.momentum,
                              weight_decay=config.weight_decay, fused=True)
    else:
        opt = torch.optim.AdamW(rule.parameters(), lr=config.lr,
                                weight_decay=config.weight_decay, fused=True)
    budget, interval = config.budget(n), config.interval(n)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=budget)
                 if config.schedule == "cosine" else None)
    batch_size = min(config.batch_size, n)
    if batch_size < rule.min_batch:
        raise ValueError(f"rule {rule.name!r} compares each input with others of its batch, so "
                         f"it needs batches of at least {rule.min_batch} inputs; got "
                         f"batch_size={config.batch_size} with P={n} training inputs")
    # Evaluation sets are encoded once; train accuracy uses a fixed subset.
    subset = torch.randperm(n, generator=generator(seed, "probe"))[:EVAL_SUBSET]
    sets = {}
    if labelled:
        sets["train"] = _encode(dataset, train_data[subset], device)
        if test_data is not None and len(test_data):
            sets["test"] = _encode(dataset, test_data, device)
    scorer = _Scorer(rule, dataset, val_data, labelled, needs, seed, device)
    # A collapse to one class needs more than one class in the data to be one.
    n_data_classes = int(train_data.y.unique().numel()) if labelled else 0
    history, best_train = History(), 0.0
    best_score, best_step, best_state, since_best = None, 0, None, 0
    improved_to = None  # the score of the last evaluation that counted as progress
    order = torch.randperm(n, generator=order_gen)
    cursor, running_loss, running_count = 0, 0.0, 0
    stopped, step = "cap", 0
    model.train()
    with flush_denormal():
        for step in tqdm(range(1, budget + 1), disable=not _show_progress(progress),
                         desc=f"train {rule.name}", leave=False):
            if cursor + batch_size > n:  # a new epoch: reshuffle, drop the ragged end
                order, cursor = torch.randperm(n, generator=order_gen), 0
            part = train_data[order[cursor : cursor + batch_size]]
            cursor += batch_size
            batch = Batch.of(part, dataset, rule_gen, needs).to(device)
            opt.zero_grad(set_to_none=True)
            loss = rule.loss(batch)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise Diverged(f"rule {rule.name!r} diverged at step {step} "
                               f"(loss {value}); lower lr={config.lr}")
            loss.backward()
            opt.step()
            if scheduler is not None:
                scheduler.step()
            running_loss += value * len(part)
            running_count += len(part)
            if step % interval and step != budget:
                continue
            _check_weights(rule, model, step, config.lr)
            history.step.append(step)
            history.epoch.append(step * batch_size / n)
            history.loss.append(running_loss / running_count)
            running_loss, running_count = 0.0, 0
            model.eval()
            if labelled:
                train_acc, classes = evaluate(model, *sets["train"])
                history.train_accuracy.append(train_acc)
                history.test_accuracy.append(
                    evaluate(model, *sets["test"])[0] if "test" in sets else None)
                if classes == 1 and n_data_classes > 1 and best_train >= 2 / n_data_classes:
                    raise Diverged(f"rule {rule.name!r} diverged at step {step}: every input "
                                   f"is given one class after a train accuracy of "
                                   f"{best_train:.2f}; lower lr={config.lr}")
                best_train = max(best_train, train_acc)
            else:
                history.train_accuracy.append(None)
                history.test_accuracy.append(None)
            score = scorer(model)
            history.val_score.append(score)
            if callback is not None:
                callback(step, rule, batch)
            model.train()
            if score is None:  # nothing to validate on: the budget decides
                continue
            if scorer.ties(score, best_score):  # a later state as good is kept
                best_score, best_step = score, step
                best_state = {k: v.clone() for k, v in _trained_state(rule).items()}
            if scorer.better(score, improved_to):
                improved_to, since_best = score, 0
                continue
            since_best += 1
            if config.schedule == "plateau" and config.patience >= 2 and (
                    since_best % (config.patience // 2) == 0):
                for group in opt.param_groups:
                    group["lr"] /= 2
            # A fixed budget (config.steps) runs to its end.
            if (config.patience and config.steps is None and since_best >= config.patience
                    and step >= config.min_steps):
                stopped = "converged"
                break
        else:
            # The budget ended; a score that had stalled for `patience` evaluations by then
            # had converged all the same (a small set's budget can be min_steps alone).
            if config.patience and config.steps is None and since_best >= config.patience:
                stopped = "converged"
    if best_state is not None:
        _load_trained_state(rule, best_state)
    else:
        best_step = step
    model.eval()
    return history, StageReport(steps=step, stopped=stopped, best_step=best_step, lr=config.lr)


def _trained_state(rule: Rule) -> dict[int, torch.Tensor]:
    """The tensors a rule trains, by position (a restored state is a copy of these)."""
    return {i: p.detach() for i, p in enumerate(rule.parameters())}


def _load_trained_state(rule: Rule, state: dict[int, torch.Tensor]) -> None:
    with torch.no_grad():
        for i, p in enumerate(rule.parameters()):
            p.copy_(state[i])


def _rule_class(rule: object) -> type[Rule]:
    if not isinstance(rule, str) or rule not in RULES:
        raise ValueError(f"rule must be one of {sorted(RULES)}, got {rule!r}")
    return RULES[rule]


def recipe_settings(rule: type[Rule]) -> dict:
    """The training settings of a rule's recipe: all of it but the width it may name."""
    return {k: v for k, v in rule.defaults.items() if k != "width"}


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
    width = config.pop("width", None)
    width = check_int("width", cls.defaults.get("width", DEFAULT_WIDTH) if width is None
                      else width, 1, 4096)
    model = check_choice("model", config.pop("model", "cnn"), tuple(MODELS))
    activation = check_choice("activation", config.pop("activation", "relu"),
                              tuple(ACTIVATIONS))
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
    settings = asdict(TrainConfig(**{**BASE, **recipe_settings(cls), **config}))
    return {**grammar, "P": P, "rule": rule, "width": width, "seed": seed,
            "grammar_seed": grammar_seed, "model": model, "activation": activation,
            "n_test": n_test, "n_val": n_val,
            "rule_options": get_rule(rule, **options).options(), **settings}


def pick_device(device: str) -> str:
    """``"cpu"``, ``"cuda"`` (which must be present) or ``"auto"`` (CUDA where present).

    ``"cuda"`` without a GPU raises, rather than fail every run later.
    """
    device = check_choice("device", device, DEVICES)
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' needs a CUDA GPU, and torch sees none here "
                         "(torch.cuda.is_available() is False): use 'cpu' or 'auto'")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def run_experiment(
    v: int,
    n_c: int,
    m: int,
    s: int,
    L: int,
    P: int,
    rule: str = "bp",
    width: int | None = None,
    seed: int = 0,
    *,
    model: str = "cnn",
    activation: str = "relu",
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

    Every setting left out comes from the rule's tuned recipe (:func:`resolve`), the
    ``width`` (hidden units per position) among them: :data:`DEFAULT_WIDTH` unless the
    recipe names the width its rule needs. A
    validation set of ``n_val`` inputs (default ``n_test // 4``), disjoint from both,
    decides when each stage has converged and which state it keeps, and gives the
    accuracy that hyper-parameter choices use, so that the test set never does.
    ``seed`` fixes the data, the initial weights, the batches and the rule's own draws,
    each from its own stream (:mod:`rhmlib.streams`); ``grammar_seed`` (default:
    ``seed``) fixes the production rules. ``activation``: ``"relu"`` units, or ``"tanh"``
    (bounded; not for the rules whose updates are written with ReLU masks).
    ``train_options`` are the fields of :class:`TrainConfig` (``lr``, ``epochs``,
    ``steps``, ``patience``, ...). ``device``: ``"cpu"``, ``"cuda"`` or ``"auto"``; data
    are always drawn on the CPU from the seeded streams, then moved.
    """
    start = time.perf_counter()
    pick_device(device)  # a bad device is refused before anything is drawn
    config = resolve({"v": v, "n_c": n_c, "m": m, "s": s, "L": L, "P": P, "rule": rule,
                      "width": width, "seed": seed, "grammar_seed": grammar_seed,
                      "model": model, "activation": activation, "n_test": n_test,
                      "n_val": n_val,
                      "rule_options": rule_options,
                      **train_options})
    rhm = RHM(v, n_c, m, s, L, seed=config["grammar_seed"])
    net = build_model(model, v, s, L, config["width"], n_c, seed=derive(seed, "init"),
                      activation=activation)
    return fit(rhm, net, config, rhm.splits(P, config["n_test"], config["n_val"], seed),
               progress=progress, callback=callback, device=device, start=start)


def fit(
    dataset: Dataset,
    net: LayeredNet,
    config: dict,
    data: tuple[Sample, Sample, Sample],
    *,
    progress: bool | None = None,
    callback: Callable[[int, Rule, Batch], None] | None = None,
    device: str = "cpu",
    start: float | None = None,
) -> ExperimentResult:
    """Train ``net`` on ``data = (train, test, validation)`` of ``dataset``: every stage.

    ``config`` is a resolved config (its ``rule``, ``rule_options``, ``seed`` and the
    fields of :class:`TrainConfig`); a stage that asks for unlabelled inputs gets them
    from ``dataset.sample_distinct``, disjoint from ``data``. The one place a run's
    stages are chained, for the RHM (:func:`run_experiment`) and any other data set.
    """
    start = time.perf_counter() if start is None else start
    where = pick_device(device)
    train_data, test_data, val_data = data
    seed = config["seed"]
    net = net.to(where)
    settings = TrainConfig(**{k: config[k] for k in TRAIN_FIELDS})
    history, reports = History(), []
    for stage in get_rule(config["rule"], **config["rule_options"]).stages(net):
        inputs = train_data
        if stage.unlabelled:
            extra = dataset.sample_distinct(
                stage.unlabelled, seed=derive(seed, "unlabelled"),
                exclude=Sample.cat([test_data, val_data, train_data]), name="unlabelled")
            inputs = Sample.cat([train_data, extra])
        curve, report = train(stage.model.to(where), stage.rule, dataset, inputs, test_data,
                              replace(settings, **stage.settings), seed, progress, callback,
                              stage.needs, val_data)
        history.extend(curve)
        reports.append(report)
        net = stage.model

    def accuracy(part: Sample) -> float | None:
        return evaluate(net, *_encode(dataset, part, where))[0] if len(part) else None

    return ExperimentResult(
        config=config,
        test_accuracy=accuracy(test_data),
        train_accuracy=accuracy(train_data),
        history=history,
        seconds=time.perf_counter() - start,
        model=net,
        val_accuracy=accuracy(val_data),
        stages=reports,
    )
