"""Interactive controls of the book (ipywidgets); each needs a live kernel to update.

Every widget draws its figure for the default values as soon as it is displayed, so
the static book shows a meaningful picture even without a kernel.
"""

from __future__ import annotations

import ipywidgets as W
from IPython.display import display

from . import plots
from .rhm import RHM
from .rules import rule_names
from .train import run_experiment

__all__ = ["rhm_explorer", "train_live"]


def _int_slider(description: str, value: int, low: int, high: int) -> W.IntSlider:
    return W.IntSlider(value=value, min=low, max=high, description=description,
                       continuous_update=False, style={"description_width": "initial"})


def rhm_explorer(v: int = 8, n_c: int = 4, m: int = 2, s: int = 2, L: int = 3,
                 seed: int = 0) -> W.VBox:
    """Sliders over the grammar; shows one sample's hidden tree, the rules and the counts."""
    controls = {
        "v": _int_slider("v (vocabulary)", v, 2, 32),
        "n_c": _int_slider("n_c (classes)", n_c, 2, 32),
        "m": _int_slider("m (synonyms)", m, 1, 16),
        "s": _int_slider("s (branching)", s, 2, 4),
        "L": _int_slider("L (depth)", L, 1, 5),
        "seed": _int_slider("seed", seed, 0, 99),
    }
    out = W.Output()

    def redraw(_: object = None) -> None:
        values = {k: c.value for k, c in controls.items()}
        out.clear_output(wait=True)
        with out:
            try:
                rhm = RHM(**values)
            except ValueError as err:  # an impossible grammar: say why, draw nothing
                print(f"Not a valid RHM: {err}")
                return
            sample = rhm.sample(1, seed=values["seed"])
            print(f"{rhm}: inputs of {rhm.input_length} tokens; "
                  f"{rhm.n_inputs:.3g} distinct inputs; P* = n_c m^L = {rhm.p_star:,}")
            if rhm.input_length <= 64:
                display(plots.tree_figure(rhm, sample))
            else:
                print("(tree not drawn: more than 64 leaves)")
            display(plots.rules_figure(rhm, level=0))

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([W.VBox(list(controls.values())[:3]),
                           W.VBox(list(controls.values())[3:])]), out])


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
    button = W.Button(description="train", button_style="primary", icon="play")
    out = W.Output()

    def run(_: object = None) -> None:
        values = {k: c.value for k, c in controls.items()}
        button.disabled = True
        out.clear_output()
        try:
            with out:
                try:
                    result = run_experiment(
                        v, n_c, m, s, L, values["P"], rule=values["rule"],
                        width=values["width"], seed=values["seed"], model=values["model"],
                        steps=values["steps"], n_test=2000, progress=False,
                    )
                except (ValueError, TypeError, FloatingPointError) as err:
                    print(f"Cannot train: {err}")
                    return
                print(f"test accuracy {result.test_accuracy:.3f} after {values['steps']} "
                      f"steps ({result.seconds:.1f} s)")
                display(plots.learning_curve({values["rule"]: result.history},
                                             title=f"RHM(v={v}, n_c={n_c}, m={m}, s={s}, "
                                                   f"L={L}), P={values['P']}"))
        finally:
            button.disabled = False

    button.on_click(run)
    if autorun:
        run()
    return W.VBox([W.HBox([W.VBox(list(controls.values())[:3]),
                           W.VBox(list(controls.values())[3:])]), button, out])
