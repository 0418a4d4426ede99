"""Interactive controls of the book (ipywidgets); each needs a live kernel to update.

Every widget draws its figure for the default values as soon as it is displayed, so
the static book shows a meaningful picture even without a kernel.

Two rules every widget follows:

- What an action shows goes into its ``W.Output`` by setting the widget's ``outputs``
  (:func:`_show`), never by capturing (``with out:``, ``out.clear_output()``). Under
  nbclient (the book build, jupyter-cache) a capture makes the client echo each captured
  output back to the kernel on the shell channel; jupyter_client sends that echo through a
  blocking twin of its asyncio socket, which can swallow the wake-up for the cell's
  ``execute_reply`` already waiting in that socket, and the cell then sits until the
  execution timeout (nbclient#312, jupyter_client#1059).
- Every training action runs in :func:`_torch_threads`: a thread count the process can
  actually get, whatever torch guessed from the host's cores.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import ipywidgets as W
import plotly.graph_objects as go
import plotly.io as pio

# torch's optimisers import torch._dynamo on their first step (1.5-2.5 s); importing it
# with the widgets moves that wait from a reader's first click to the page's first cell.
import torch._dynamo  # noqa: F401
from IPython import get_ipython

from . import plots
from .checks import check_float, check_int, check_records
from .rhm import RHM
from .rules import rule_names
from .stats import mean_sem
from .sweeps.variants import Variant, rule_label
from .train import run_experiment

__all__ = ["rhm_explorer", "train_live", "masking_live", "ssl_live", "playground", "sweep_explorer",
           "linear_live"]


# Threads for one widget action. These networks are tiny (widths up to 256, batches of
# 128): one thread per process is as fast as more (dev.sh), and on a busy 2-core machine
# 6 to 10 times faster than two (benchmarks/bench_widgets.py), whose second OpenMP worker
# spins for a core it cannot get. An action may ask for more; it never gets more threads
# than the CPUs the process may use.
_ACTION_THREADS = 1


def _cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup"),
                      membership: Path = Path("/proc/self/cgroup")) -> float | None:
    """CPUs' worth of time the process's cgroups allow (quota / period); None if unlimited.

    cgroup v2 (``cpu.max``: ``"<quota> <period>"`` or ``"max <period>"``) in the process's
    own group and every group above it, and cgroup v1 (``cpu.cfs_quota_us``, ``-1`` when
    unlimited). The smallest limit found wins; unreadable files count as no limit.
    """
    limits: list[float] = []
    groups = [""]
    try:
        for line in membership.read_text().splitlines():
            hierarchy, _, path = line.split(":", 2)
            if hierarchy == "0" and path.strip("/"):
                parts = path.strip("/").split("/")
                groups = ["/".join(parts[:k]) for k in range(len(parts), -1, -1)]
    except (OSError, ValueError):
        pass
    for group in groups:
        try:
            quota, period = (root / group / "cpu.max").read_text().split()[:2]
            if quota != "max" and float(period) > 0:
                limits.append(float(quota) / float(period))
        except (OSError, ValueError):
            continue
    for v1 in ("cpu", "cpu,cpuacct"):
        try:
            quota = float((root / v1 / "cpu.cfs_quota_us").read_text())
            period = float((root / v1 / "cpu.cfs_period_us").read_text())
            if quota > 0 and period > 0:
                limits.append(quota / period)
        except (OSError, ValueError):
            continue
    return min(limits) if limits else None


def _usable_cpus() -> int | None:
    """CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota.

    None when neither is known (no ``os.sched_getaffinity``, no quota). ``os.cpu_count()``
    is not used: in a container (Binder) it counts every core of the host.
    """
    try:
        cpus: float | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = None
    quota = _cgroup_cpu_limit()
    if quota is not None:
        cpus = quota if cpus is None else min(cpus, quota)
    return None if cpus is None else max(1, int(cpus))  # 1.5 CPUs of quota: one thread


@contextlib.contextmanager
def _torch_threads(wanted: int = _ACTION_THREADS) -> Iterator[int]:
    """Run the body with torch on ``min(wanted, usable CPUs)`` threads, then restore.

    Unknown usable CPUs count as one. Yields the thread count used.
    """
    import torch

    threads = max(1, min(wanted, _usable_cpus() or 1))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(before)


def _in_kernel() -> bool:
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _text(text: str) -> dict:
    """A stdout output (one line) for :func:`_show`."""
    return {"output_type": "stream", "name": "stdout", "text": text + "\n"}


def _figure(fig: go.Figure) -> dict:
    """The output ``display(fig)`` would produce: the bundle of plotly's default renderers.

    Built the way ``plotly.io.show`` builds it, which activates a pending default renderer
    once (``fig._repr_mimebundle_`` would activate it again for every figure).
    """
    bundle = pio.renderers._build_mime_bundle(fig.to_dict())
    return {"output_type": "display_data", "data": bundle, "metadata": {}}


def _show(out: W.Output, *outputs: dict, keep: bool = False) -> None:
    """Set what ``out`` shows, in one update: ``outputs``, after the current ones if ``keep``.

    Outside a kernel the text is printed as well (scripts and tests read it there).
    """
    out.outputs = (tuple(out.outputs) if keep else ()) + outputs
    if not _in_kernel():
        for output in outputs:
            if output["output_type"] == "stream":
                print(output["text"], end="", file=sys.stdout)


def _int_slider(description: str, value: int, low: int, high: int) -> W.IntSlider:
    return W.IntSlider(value=value, min=low, max=high, description=description,
                       continuous_update=False, style={"description_width": "initial"})


_TRAINING_ERRORS = (ValueError, TypeError, FloatingPointError)

# What one live action may ask for. Memory: one-hot inputs and hidden activity, in floats
# (400 MB); time: multiply-adds (about a minute on one laptop thread). A deep grammar with
# a large P or width would otherwise ask for gigabytes, or train for many minutes.
_MAX_FLOATS = 10**8
_MAX_WORK = 10**12
_EVAL_BATCH = 8192  # rhmlib.train.evaluate's batch: the most inputs held at once
# Longest message a panel shows: one short line, never a traceback.
_MESSAGE_CHARS = 300
_KEPT = "(the figure below is from the last setting that worked)"
_KERNEL_NOTE = ("<small style='color: #666'>Without a running kernel (on the static page) the "
                "controls change nothing: launch Binder or Colab from the rocket button at the "
                "top of the page.</small>")


def _kernel_note() -> W.HTML:
    """A short line beside a widget: moving its controls needs a live kernel."""
    return W.HTML(_KERNEL_NOTE)


def _reason(err: BaseException) -> str:
    """Why an action failed, in one short line: the error's first line, clipped."""
    text = str(err).strip()
    text = text.splitlines()[0] if text else "no reason given"
    if not isinstance(err, _TRAINING_ERRORS):  # not a setting we checked: name the kind
        text = f"{type(err).__name__}: {text}"
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"


def _message(err: BaseException, verb: str = "train") -> str:
    """The line a panel shows when its action failed: "Cannot train: <reason>"."""
    return f"Cannot {verb}: {_reason(err)}"


def _count_text(n: int) -> str:
    """A count of any size in scientific notation ("2.62e+05"), past floats' range too."""
    try:
        return f"{n:.3g}"
    except OverflowError:  # m**341 and the like: no float holds them
        exponent = math.log10(n)
        return f"{10 ** (exponent % 1):.2f}e+{int(exponent)}"


def _check_lr(lr: float, allow_default: bool = False) -> float:
    """A learning rate a widget trains with: in (0, 10]; 0 keeps the rule's own if allowed."""
    if allow_default and lr == 0:
        return lr
    own = " or 0 for the rule's own" if allow_default else ""
    try:
        return check_float("lr", lr, 0.0, 10.0, low_open=True, high_open=False)
    except ValueError:
        raise ValueError(f"lr must be between 0 and 10{own}, got {lr!r}") from None


def _check_seed(seed: int) -> int:
    return check_int("seed", seed, 0, 2**31 - 1)


def _cost(rhm: RHM, width: int, model: str) -> tuple[int, int]:
    """Multiply-adds of one input's forward pass, and the floats of its hidden activity."""
    if model == "fcn":
        return rhm.input_length * rhm.v * width, width
    macs = activity = 0
    for level in range(1, rhm.L + 1):  # layer l: one unit group per node of level L - l
        nodes = rhm.s ** (rhm.L - level)
        macs += nodes * rhm.s * (rhm.v if level == 1 else width) * width
        activity += nodes * width
    return macs, activity


def _check_load(rhm: RHM, P: int, n_test: int, width: int, model: str = "cnn",
                steps: int = 1, probe: int = 0) -> None:
    """Refuse a setting a live widget cannot hold or train in about a minute.

    Counts the one-hot inputs, the hidden activity of one evaluation batch (and of a
    probe on ``probe`` inputs, three copies), and the multiply-adds of training (forward
    and backward, three passes) and of ten evaluation points. A P beyond the grammar's
    distinct inputs is left to :meth:`RHM.train_test`, which says so before drawing.
    """
    P = check_int("P", P, 1)
    n = P + n_test
    if n > rhm.n_inputs:
        return
    macs, activity = _cost(rhm, width, model)
    floats = n * rhm.input_length * rhm.v + (min(n, _EVAL_BATCH) + 3 * probe) * activity
    if floats > _MAX_FLOATS:
        raise ValueError(f"P={P:,} with width {width} on inputs of {rhm.input_length} tokens "
                         f"needs about {4 * floats / 1e9:.1f} GB, too much for a live widget: "
                         "lower P, the width, s or L")
    passes = 3 * steps * min(128, P) + 10 * (min(P, 2048) + n_test + (rhm.L + 2) * probe) + P
    if macs * passes > _MAX_WORK:
        raise ValueError(f"this setting would train for minutes ({macs * passes:.1e} "
                         "multiply-adds): lower the steps, the width, s or L")


def _panel(controls: dict[str, W.Widget], action: Callable[[dict, W.Output], None],
           autorun: bool, columns: Sequence[int] = (3,),
           check: Callable[[dict], None] | None = None) -> W.VBox:
    """Controls, a train button and an output area; ``action(values, out)`` does the work.

    ``check(values)`` validates the controls first. The action runs in
    :func:`_torch_threads` and shows its results with :func:`_show`. Any error, a bad
    setting or a divergence, is shown as one short line above the figures of the last
    action that worked, never as a traceback; the button comes back in every case.
    ``columns`` are the indices where a new column of controls starts.
    """
    button = W.Button(description="train", button_style="primary", icon="play")
    out = W.Output()
    good: list[dict] = []  # the figures of the last action that worked

    def run(_: object = None) -> None:
        button.disabled = True
        _show(out, _text("training..."), *good)
        try:
            values = {k: c.value for k, c in controls.items()}
            if check is not None:
                check(values)
            with _torch_threads():
                action(values, out)
            good[:] = [o for o in out.outputs if o["output_type"] == "display_data"]
        except Exception as err:  # a reader's setting must never end in a traceback
            _show(out, _text(_message(err)), *([_text(_KEPT), *good] if good else []))
        finally:
            button.disabled = False

    button.on_click(run)
    if autorun:
        run()
    boxes = list(controls.values())
    cuts = [0, *columns, len(boxes)]
    return W.VBox([W.HBox([W.VBox(boxes[a:b]) for a, b in zip(cuts, cuts[1:])]), button,
                   _kernel_note(), out])


def _grammar_sliders(v: int, n_c: int, m: int, s: int, L: int) -> dict[str, W.IntSlider]:
    return {
        "v": _int_slider("v (vocabulary)", v, 2, 32),
        "n_c": _int_slider("n_c (classes)", n_c, 2, 32),
        "m": _int_slider("m (synonyms)", m, 1, 16),
        "s": _int_slider("s (branching)", s, 2, 4),
        "L": _int_slider("L (depth)", L, 1, 5),
    }


def _slider_over(figures: list[go.Figure], labels: list[str], prefix: str) -> go.Figure:
    """One figure showing one of ``figures`` at a time, chosen by a slider (no kernel needed)."""
    combined = go.Figure(layout=figures[0].layout)
    owner = []  # owner[k]: the figure that trace k comes from
    for i, fig in enumerate(figures):
        combined.add_traces(fig.data)
        owner += [i] * len(fig.data)
    for trace, i in zip(combined.data, owner):
        trace.visible = i == 0
    steps = [{"label": labels[i], "method": "update",
              "args": [{"visible": [j == i for j in owner]}, {"title.text": fig.layout.title.text}]}
             for i, fig in enumerate(figures)]
    combined.update_layout(sliders=[{"active": 0, "steps": steps, "pad": {"t": 30},
                                     "currentvalue": {"prefix": prefix}}],
                           height=(figures[0].layout.height or 450) + 90)
    return combined


def sweep_explorer(records: list[dict], by: str = "P", title: str = "") -> go.Figure:
    """Static twin of a training widget: cached learning curves, a slider over ``by``.

    ``records`` come from :func:`rhmlib.sweeps.run_sweep` and may differ only in ``by``
    and the seed; each slider position shows the mean curve over seeds of one value.
    Diverged runs have no curve: they are counted in the label, not averaged. A run that
    converged early leaves the mean from its last step on.
    """
    from .train import History

    def mean(values: object) -> float | None:
        """Mean of the values present (a stage without labels has none: None)."""
        value = mean_sem(values)[0]
        return None if math.isnan(value) else value

    def rest(record: dict) -> dict:
        # The grammar's seed defaults to the run's: it varies with the seed too.
        return {k: v for k, v in record["config"].items()
                if k not in (by, "seed", "grammar_seed")}

    records = check_records("records", records)
    if not isinstance(by, str) or any(by not in r["config"] for r in records):
        raise ValueError(f"by must be a config field of every record, got {by!r}")
    if any(rest(r) != rest(records[0]) for r in records):
        raise ValueError(f"records must be non-empty and differ only in {by!r} and the seed")
    groups: dict = {}
    lost: dict = {}
    for record in records:
        value = record["config"][by]
        if "result" in record:
            groups.setdefault(value, []).append(record["result"]["history"])
        else:
            lost[value] = lost.get(value, 0) + 1
    if not groups:
        raise ValueError("records: every run diverged, there is no curve to show")
    figures, labels = [], []
    for value in sorted(groups):
        runs = groups[value]
        try:
            # Runs stop when they converge, each at its own step: the mean at a step is
            # over the runs still training there.
            at = [dict(zip(h["step"], zip(h["train_accuracy"], h["test_accuracy"],
                                          strict=True), strict=True)) for h in runs]
            steps = sorted({step for run in at for step in run})
            curve = History(step=steps, **{
                key: [mean(run[step][k] for run in at if step in run) for step in steps]
                for k, key in enumerate(("train_accuracy", "test_accuracy"))})
        except (KeyError, IndexError, TypeError, ValueError):
            raise ValueError(f"records at {by} = {value} must have histories with an "
                             "accuracy at each evaluation step") from None
        diverged = f", {lost[value]} diverged" if value in lost else ""
        figures.append(plots.learning_curve(
            {f"{by} = {value}, {len(runs)} seeds{diverged}": curve}, title=title))
        labels.append(f"{value:,}" if isinstance(value, int) else str(value))
    return _slider_over(figures, labels, f"{by} = ")


def rhm_explorer(v: int = 8, n_c: int = 4, m: int = 2, s: int = 2, L: int = 3,
                 seed: int = 0) -> W.VBox:
    """Sliders over the grammar; shows one sample's hidden tree, the rules and the counts."""
    controls = {
        **_grammar_sliders(v, n_c, m, s, L),
        "seed": _int_slider("seed", seed, 0, 99),
    }
    out = W.Output()
    good: list[dict] = []  # the figures of the last grammar that could be drawn

    def redraw(_: object = None) -> None:
        try:
            with _torch_threads():
                shown = draw({k: c.value for k, c in controls.items()})
            good[:] = [o for o in shown if o["output_type"] == "display_data"]
        except ValueError as err:  # an impossible grammar: say why
            shown = [_text(f"Not a valid RHM: {_reason(err)}")]
            shown += [_text(_KEPT), *good] if good else []
        except Exception as err:  # a reader's setting must never end in a traceback
            shown = [_text(_message(err, "draw")), *([_text(_KEPT), *good] if good else [])]
        _show(out, *shown)  # replaces the previous drawing in one update: no flicker

    def draw(values: dict) -> list[dict]:
        rhm = RHM(**values)
        sample = rhm.sample(8, seed=values["seed"])
        shown = [_text(f"{rhm}: inputs of {rhm.input_length} tokens; "
                       f"{_count_text(rhm.n_inputs)} distinct inputs; "
                       f"P* = n_c m^L = {rhm.p_star:,}")]
        if rhm.input_length <= 64:
            # A slider over several inputs: explorable in the static page too.
            shown.append(_figure(_slider_over([plots.tree_figure(rhm, sample, i)
                                               for i in range(len(sample))],
                                              [str(i) for i in range(len(sample))], "input ")))
        else:
            shown.append(_text("(tree not drawn: more than 64 leaves)"))
        shown.append(_figure(plots.rules_figure(rhm, level=0)))
        return shown

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([W.VBox(list(controls.values())[:3]),
                           W.VBox(list(controls.values())[3:])]), _kernel_note(), out])


def train_live(
    v: int = 16, n_c: int = 16, m: int = 4, s: int = 2, L: int = 3, P: int = 2000,
    rule: str = "bp", width: int = 64, steps: int = 600, seed: int = 0,
    autorun: bool = True,
) -> W.VBox:
    """Train a small configuration on demand and plot its learning curve as it trains."""
    controls = {
        "P": W.IntText(value=P, description="P (train)"),
        "width": W.Dropdown(options=[16, 32, 64, 128, 256], value=width, description="width"),
        "steps": W.IntSlider(value=steps, min=100, max=5000, step=100, description="steps",
                             continuous_update=False),
        "rule": W.Dropdown(options=rule_names(), value=rule, description="rule"),
        "model": W.Dropdown(options=["cnn", "fcn"], value="cnn", description="model"),
        "seed": W.IntText(value=seed, description="seed"),
    }

    def check(values: dict) -> None:
        # run_experiment draws the grammar from the run's seed: the same one here.
        _check_load(RHM(v, n_c, m, s, L, seed=_check_seed(values["seed"])), values["P"], 2000,
                    values["width"], values["model"], values["steps"])

    def action(values: dict, out: W.Output) -> None:
        result = run_experiment(
            v, n_c, m, s, L, values["P"], rule=values["rule"], width=values["width"],
            seed=values["seed"], model=values["model"], steps=values["steps"], n_test=2000,
            progress=False,
        )
        _show(out, _text(f"test accuracy {result.test_accuracy:.3f} after {values['steps']} "
                         f"steps ({result.seconds:.1f} s)"),
              _figure(plots.learning_curve({rule_label(values["rule"]): result.history},
                                           title=f"RHM(v={v}, n_c={n_c}, m={m}, s={s}, "
                                                 f"L={L}), P={values['P']}")))

    return _panel(controls, action, autorun, check=check)


def masking_live(P: int = 2000, steps: int = 600, own: str = "other", down: str = "own",
                 transport: str = "exact", lr: float = 0.03, seed: int = 0,
                 autorun: bool = True) -> W.VBox:
    """Train backprop with chosen substitute masks and plot its learning curve beside BP's."""
    from .rules.masking import MASKS, TRANSPORTS

    setting = {"v": 16, "n_c": 16, "m": 4, "s": 2, "L": 3}
    controls = {
        "own": W.Dropdown(options=MASKS, value=own, description="own mask"),
        "down": W.Dropdown(options=MASKS, value=down, description="masks above"),
        "transport": W.Dropdown(options=TRANSPORTS, value=transport, description="transport"),
        "lr": W.FloatLogSlider(value=lr, base=10, min=-3, max=0, step=0.25,
                               description="lr", continuous_update=False),
        "P": W.IntText(value=P, description="P (train)"),
        "steps": W.IntSlider(value=steps, min=100, max=5000, step=100, description="steps",
                             continuous_update=False),
    }
    bp_cache: dict[tuple, object] = {}
    rhm = RHM(**setting, seed=seed)  # the grammar run_experiment draws from this seed

    def check(values: dict) -> None:
        _check_lr(values["lr"])
        _check_load(rhm, values["P"], 2000, 64, "cnn", values["steps"])

    def action(values: dict, out: W.Output) -> None:
        common = {**setting, "P": values["P"], "steps": values["steps"], "seed": seed,
                  "n_test": 2000, "progress": False}
        key = (values["P"], values["steps"])
        if key not in bp_cache:  # BP's curve does not depend on the mask choice
            bp_cache[key] = run_experiment(**common, rule="bp", lr=0.2)
        options = {k: values[k] for k in ("own", "down", "transport")}
        variant = run_experiment(**common, rule="bp_masked", lr=values["lr"],
                                 rule_options=options)
        name = Variant(f"own: {values['own']}, above: {values['down']}, "
                       f"transport: {values['transport']}", "bp_masked", options)
        _show(out, _text(f"test accuracy after {values['steps']} steps: BP (lr 0.2) "
                         f"{bp_cache[key].test_accuracy:.3f}, {name} (lr {values['lr']:.3g}) "
                         f"{variant.test_accuracy:.3f}"),
              _figure(plots.learning_curve(
                  {rule_label("bp"): bp_cache[key].history, name: variant.history},
                  title=f"P = {values['P']}, one seed")))

    return _panel(controls, action, autorun, check=check)


def ssl_live(P: int = 2000, rule: str = "clapp", pairs: str = "sibling", width: int = 64,
             steps: int = 300, lr: float = 2e-2, seed: int = 0, autorun: bool = True) -> W.VBox:
    """Train a self-supervised rule without labels; plot each layer's synonymic sensitivity."""
    from .models import build_model
    from .probes import synonymic_sensitivity
    from .rules import RULES, get_rule
    from .rules.local import PAIRS, LocalRule
    from .train import BASE, TrainConfig, recipe_settings, train

    rhm = RHM(16, 16, 4, 2, 3, seed=seed)
    probe = rhm.sample(500, seed=seed + 1)
    controls = {
        "rule": W.Dropdown(options=sorted(n for n, c in RULES.items()
                                          if issubclass(c, LocalRule)),
                           value=rule, description="rule"),
        "pairs": W.Dropdown(options=PAIRS, value=pairs, description="pairs"),
        "P": W.IntText(value=P, description="P (inputs)"),
        "steps": W.IntSlider(value=steps, min=50, max=2000, step=50, description="steps",
                             continuous_update=False),
        "lr": W.FloatLogSlider(value=lr, base=10, min=-4, max=-1, step=0.25,
                               description="lr (Adam)", continuous_update=False),
        "width": W.Dropdown(options=[16, 32, 64, 128], value=width, description="width"),
    }

    def check(values: dict) -> None:
        if values["P"] < 2:
            raise ValueError(f"P must be at least 2: a pair's negative comes from another "
                             f"input, got P={values['P']}")
        _check_lr(values["lr"])
        _check_load(rhm, values["P"], 0, values["width"], "cnn", 3 * values["steps"],
                    len(probe))

    def action(values: dict, out: W.Output) -> None:
        data, _ = rhm.train_test(values["P"], 0, seed=seed)
        net = build_model("cnn", 16, 2, 3, values["width"], 16, seed=seed)
        learner = get_rule(values["rule"], pairs=values["pairs"])
        steps_seen, curve = [0], [synonymic_sensitivity(net, rhm, probe)]

        def record(step: int, *_: object) -> None:
            steps_seen.append(step)
            curve.append(synonymic_sensitivity(net, rhm, probe))

        # The weight decay of the rule's recipe: what the book's sweeps train with.
        recipe = {**BASE, **recipe_settings(RULES[values["rule"]])}
        config = TrainConfig(steps=values["steps"], optimizer="adam", lr=values["lr"],
                             weight_decay=recipe["weight_decay"])
        # The self-supervised stage sees what it needs (the tree, for oracle pairs).
        stage = next(learner.stages(net))
        train(net, learner, rhm, data, None, config, seed, False, record, stage.needs)
        where = "uses the generator" if values["pairs"] == "oracle" else "no labels"
        names = [f"layer {k + 1}" for k in range(learner.n_ssl)]
        names.append(f"layer {learner.n_ssl + 1} (no signal yet: trained later with labels)")
        _show(out, _figure(plots.layer_curves(
            steps_seen, curve, names=names,
            title=f"{values['rule']}, {values['pairs']} pairs ({where}), "
                  f"P = {values['P']}, one seed: 0 = invariant to synonyms")))

    return _panel(controls, action, autorun, check=check)


def playground(
    v: int = 8, n_c: int = 8, m: int = 4, s: int = 2, L: int = 3, P: int = 1024,
    width: int = 32, model: str = "cnn", rule: str = "bp", steps: int = 300,
    seed: int = 0, autorun: bool = True,
) -> W.VBox:
    """Every knob in one place; trains live, redrawing the learning curve and layer probe."""
    from .probes import synonymic_sensitivity
    from .rules import Batch, Rule
    from .train import History, evaluate

    controls = {
        **_grammar_sliders(v, n_c, m, s, L),
        "model": W.Dropdown(options=[("hierarchical CNN (depth L)", "cnn"),
                                     ("shallow FCN (depth 1)", "fcn")],
                            value=model, description="network"),
        "width": W.Dropdown(options=[8, 16, 32, 64, 128, 256], value=width,
                            description="width"),
        "rule": W.Dropdown(options=rule_names(), value=rule, description="rule"),
        "lr": W.FloatText(value=0.0, description="lr (0: rule's)"),
        "P": W.IntText(value=P, description="P (train)"),
        "steps": W.IntSlider(value=steps, min=50, max=5000, step=50, description="steps",
                             continuous_update=False),
        "seed": W.IntText(value=seed, description="seed"),
    }

    def prepare(c: dict) -> tuple[RHM, int]:
        """The grammar and test-set size of a setting; a ValueError says what is wrong."""
        _check_lr(c["lr"], allow_default=True)
        # run_experiment draws the same grammar and test set from the same seed, so the
        # probes below measure exactly the data the network is tested on.
        rhm = RHM(c["v"], c["n_c"], c["m"], c["s"], c["L"], seed=_check_seed(c["seed"]))
        # Up to 1,000 test inputs: as many as a small grammar has left after the P. The
        # probe compares inputs with one another: it needs two at least.
        if rhm.n_inputs < 3:
            raise ValueError(f"this grammar has only {rhm.n_inputs} distinct inputs, too few "
                             "to train and test on: raise n_c, m or L")
        n_test = min(1000, max(rhm.n_inputs - c["P"], 0))
        if n_test < 2:
            raise ValueError(f"P must be below the grammar's {rhm.n_inputs} distinct inputs, "
                             f"leaving at least 2 to test on, got P={c['P']}")
        _check_load(rhm, c["P"], n_test, c["width"], c["model"], c["steps"],
                    min(500, n_test))
        return rhm, n_test

    def action(c: dict, out: W.Output) -> None:
        grammar = (c["v"], c["n_c"], c["m"], c["s"], c["L"])
        rhm, n_test = prepare(c)
        train_data, test_data = rhm.train_test(c["P"], n_test, seed=c["seed"])
        if train_data.y.unique().numel() < 2:  # one class: nothing to learn, nor to test
            raise ValueError(f"the training set (P={c['P']}) holds one class only: raise P")
        title = (f"{c['rule']} on RHM(v={c['v']}, n_c={c['n_c']}, m={c['m']}, "
                 f"s={c['s']}, L={c['L']}), P={c['P']}, P*={rhm.p_star:,}")
        train_part = train_data[:2000]
        encoded = {"train": (rhm.one_hot(train_part.x), train_part.y),
                   "test": (rhm.one_hot(test_data.x), test_data.y)}
        curve = History()
        probe_steps: list[int] = []
        probe: list[list[float]] = []
        stage: list[object] = [None, 0]  # the rule of the stage being trained; its first step

        def redraw(step: int, learner: Rule, _batch: Batch) -> None:
            if learner is not stage[0]:  # a new stage (the readout) counts from 1 again
                stage[:] = [learner, curve.step[-1] if curve.step else 0]
            offset = stage[1]
            if curve.step and step + offset <= curve.step[-1]:
                # The stage diverged and restarts at half the rate: its points so far go.
                keep = sum(s <= offset for s in curve.step)
                del curve.step[keep:], curve.train_accuracy[keep:], curve.test_accuracy[keep:]
                kept = sum(s <= offset for s in probe_steps)
                del probe_steps[kept:], probe[kept:]
            net = learner.model
            curve.step.append(step + offset)
            curve.train_accuracy.append(evaluate(net, *encoded["train"])[0])
            curve.test_accuracy.append(evaluate(net, *encoded["test"])[0])
            if net.depth == rhm.L:
                probe_steps.append(step + offset)
                probe.append(synonymic_sensitivity(net, rhm, test_data[:500], seed=c["seed"]))
            shown = [_text(f"step {curve.step[-1]}: test accuracy {curve.test_accuracy[-1]:.3f}"),
                     _figure(plots.learning_curve({rule_label(c["rule"]): curve}, title=title))]
            if probe:
                shown.append(_figure(plots.layer_curves(
                    probe_steps, probe, title="hidden structure: 0 = synonyms grouped, "
                    "1 = seen as different inputs")))
            else:
                shown.append(_text("(per-layer probe: needs the CNN, one layer per level "
                                   "of the tree)"))
            _show(out, *shown)  # replaces the previous drawing in one update

        result = run_experiment(
            *grammar, c["P"], rule=c["rule"], width=c["width"], seed=c["seed"],
            model=c["model"], n_test=n_test, n_val=0, progress=False, callback=redraw,
            steps=c["steps"],
            **({"lr": c["lr"]} if c["lr"] else {}),  # 0: the rule's own learning rate
        )
        _show(out, _text(f"done: test accuracy {result.test_accuracy:.3f} "
                         f"({result.seconds:.1f} s, lr {result.config['lr']:g})"), keep=True)

    return _panel(controls, action, autorun, columns=(5, 9), check=prepare)


def linear_live(depth: int = 4, width: int = 16, skew: float = 0.2, shrink: float = 0.0,
                b_noise: float = 0.0, loss: str = "hinge", autorun: bool = True) -> W.VBox:
    """Break the deep-linear theorem's conditions; plot how far local and global updates part."""
    from .linear import LOSSES, broken

    def slider(description: str, value: float, high: float) -> W.FloatSlider:
        return W.FloatSlider(value=value, min=0.0, max=high, step=0.01, description=description,
                             continuous_update=False, style={"description_width": "initial"})

    controls = {
        "loss": W.Dropdown(options=LOSSES, value=loss, description="loss f"),
        "depth": _int_slider("depth", depth, 1, 8),
        "width": _int_slider("width", width, 4, 64),
        "skew": slider("weights off orthonormal", skew, 1.0),
        "shrink": slider("width shrink per layer", shrink, 0.5),
        "b_noise": slider("B off its optimum", b_noise, 1.0),
    }

    def action(values: dict, out: W.Output) -> None:
        exact = broken(values["depth"], values["width"], loss=values["loss"])
        parted = broken(values["depth"], values["width"], values["skew"], values["shrink"],
                        values["b_noise"], values["loss"])
        _show(out, _figure(plots.per_layer(
            {"theorem's conditions": exact, "as set above": parted},
            y_title="|local - global| / |global|",
            title="Local against global update per layer (the top layer's are the same)")))

    return _panel(controls, action, autorun)

