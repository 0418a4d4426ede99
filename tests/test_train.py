"""The training loop, run_experiment and the models."""

import math

import pytest
import torch

from rhmlib import RHM, build_model, get_rule, rule_names, run_experiment
from rhmlib.probes import synonymic_sensitivity, update_cosine
from rhmlib.rules import RULES, Batch
from rhmlib.rules.bp import Backprop
from rhmlib.train import Diverged, TrainConfig, pick_device

TINY = {"v": 8, "n_c": 4, "m": 2, "s": 2, "L": 3}


def test_backprop_learns_a_small_grammar() -> None:
    result = run_experiment(**TINY, P=48, width=32, steps=300, n_test=16, seed=0)
    assert result.train_accuracy == 1.0
    assert result.test_accuracy > 0.5  # chance is 0.25
    h = result.history
    assert len(h.step) == 10 and h.step[-1] == 300  # a fixed budget: ten evaluations
    assert h.loss[-1] < h.loss[0]
    assert result.config["lr"] == get_rule("bp").defaults["lr"]


def test_run_experiment_is_deterministic() -> None:
    a = run_experiment(**TINY, P=40, width=16, steps=60, n_test=20, seed=3)
    b = run_experiment(**TINY, P=40, width=16, steps=60, n_test=20, seed=3)
    c = run_experiment(**TINY, P=40, width=16, steps=60, n_test=20, seed=4)
    assert a.history == b.history
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))
    assert a.history != c.history


def test_shallow_network_and_adam() -> None:
    result = run_experiment(**TINY, P=40, width=16, steps=50, n_test=20, model="fcn",
                            optimizer="adam", lr=1e-2)
    assert result.config["model"] == "fcn" and 0 <= result.test_accuracy <= 1


def test_global_rng_is_untouched() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    run_experiment(**TINY, P=20, width=8, steps=5, n_test=10)
    assert torch.equal(torch.rand(3), expected)


def test_divergence_is_reported() -> None:
    with pytest.raises(FloatingPointError, match="diverged"):
        run_experiment(**TINY, P=40, width=16, steps=200, n_test=10, lr=1e5)


# -- the convergence protocol ------------------------------------------------------------

GRAMMAR = {"v": 8, "n_c": 4, "m": 4, "s": 2, "L": 2}  # 256 inputs


def test_a_stage_stops_when_validation_stops_improving_and_keeps_its_best_state() -> None:
    result = run_experiment(**GRAMMAR, P=120, width=16, n_test=60, n_val=60, seed=0,
                            epochs=5000, min_steps=100, max_steps=5000, eval_every=20,
                            patience=4)
    (stage,) = result.stages
    assert stage.stopped == "converged" and result.converged
    assert stage.steps < 5000 and stage.steps % 20 == 0
    scores = result.history.val_score
    # No better score in the last `patience` evaluations; the state kept is the best.
    assert max(scores[-4:]) <= max(scores[:-4])
    assert result.val_accuracy == max(scores)
    assert stage.best_step == result.history.step[max(
        i for i, score in enumerate(scores) if score == max(scores))]


def test_a_budget_in_passes_within_its_bounds_and_a_fixed_budget_runs_to_its_end() -> None:
    config = TrainConfig(lr=0.1, epochs=10, min_steps=50, max_steps=400)
    assert config.budget(1280) == 100  # 10 passes of 10 batches
    assert config.budget(64) == 50 and config.budget(10**6) == 400
    assert TrainConfig(lr=0.1, steps=7).budget(10**6) == 7
    result = run_experiment(**GRAMMAR, P=120, width=16, n_test=60, steps=90, eval_every=10,
                            patience=1)
    assert result.stages[0].steps == 90 and result.stages[0].stopped == "cap"
    assert not result.converged


def test_without_validation_inputs_a_stage_runs_to_its_cap() -> None:
    result = run_experiment(**GRAMMAR, P=120, width=16, n_test=60, n_val=0, min_steps=60,
                            max_steps=60, patience=1)
    assert result.stages[0].stopped == "cap" and result.val_accuracy is None


def test_a_label_free_stage_stops_on_its_own_objective() -> None:
    result = run_experiment(**GRAMMAR, P=120, rule="clapp", width=16, n_test=60, n_val=60,
                            epochs=3000, min_steps=100, max_steps=3000, eval_every=20,
                            patience=3)
    ssl, readout = result.stages
    ssl_scores = result.history.val_score[:len(range(20, ssl.steps + 1, 20))]
    assert all(score <= 0 for score in ssl_scores)  # minus a hinge loss
    assert {ssl.stopped, readout.stopped} <= {"converged", "cap"}
    assert ssl.best_step <= ssl.steps and readout.best_step <= readout.steps


class _FlakyBackprop(Backprop):
    """Backprop whose loss is NaN in its first ``bad`` set-ups: a divergence, restarted."""

    name = "flaky_bp_for_tests"
    bad = 0

    def setup(self, model, generator) -> None:
        super().setup(model, generator)
        type(self).bad -= 1
        self.nan = type(self).bad >= 0

    def loss(self, batch):
        loss = super().loss(batch)
        return loss * math.nan if self.nan else loss


def test_a_divergence_restarts_the_stage_at_half_the_rate(monkeypatch) -> None:
    monkeypatch.setitem(RULES, _FlakyBackprop.name, _FlakyBackprop)
    monkeypatch.setattr(_FlakyBackprop, "bad", 2)
    result = run_experiment(**GRAMMAR, P=60, width=8, n_test=20, steps=20,
                            rule=_FlakyBackprop.name, lr=0.4, retries=2)
    assert result.stages[0].restarts == 2 and result.stages[0].lr == pytest.approx(0.1)
    monkeypatch.setattr(_FlakyBackprop, "bad", 2)
    with pytest.raises(Diverged):
        run_experiment(**GRAMMAR, P=60, width=8, n_test=20, steps=20,
                       rule=_FlakyBackprop.name, lr=0.4, retries=1)


def test_one_training_input_is_no_collapse() -> None:
    """A single input (one class) is fitted, not reported as a collapse to one class."""
    result = run_experiment(16, 16, 4, 2, 3, P=1, steps=100, n_test=100)
    assert result.train_accuracy == 1.0


def test_every_recipe_converges_on_a_grammar_it_never_saw() -> None:
    """With only a rule's name, training ends without diverging and says how it ended;
    the labelled stages stop by convergence (one seed, small grammar)."""
    for rule in ("bp", "fa", "dfa", "clapp"):
        result = run_experiment(8, 8, 3, 2, 3, P=400, rule=rule, n_test=400, width=32)
        assert {stage.stopped for stage in result.stages} <= {"converged", "cap"}
        assert result.stages[-1].stopped == "converged", (rule, result.stages)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rule": "nope"}, ValueError, "rule must be one of"),
        ({"model": "rnn"}, ValueError, "model must be one of"),
        ({"steps": 0}, ValueError, "steps must be in"),
        ({"lr": -1.0}, ValueError, "lr must be a finite number in"),
        ({"lr": True}, TypeError, "lr must be a number"),
        ({"momentum": 1.0}, ValueError, "momentum must be a finite number in"),
        ({"optimizer": "lbfgs"}, ValueError, "optimizer must be one of"),
        ({"width": 0}, ValueError, "width must be in"),
        ({"P": 0}, ValueError, "P must be >= 1"),
        ({"P": 10**6}, ValueError, r"P \+ n_test \+ n_val must be <="),
        ({"stepz": 3}, TypeError, "unknown option"),
        ({"rule_options": {"bogus": 1}}, TypeError, "unknown option.*for rule 'bp'"),
    ],
)
def test_run_experiment_validates(kwargs: dict, error: type, match: str) -> None:
    params = {**TINY, "P": 20, "n_test": 10, "steps": 2, **kwargs}
    with pytest.raises(error, match=match):
        run_experiment(**params)


def test_cnn_shapes_follow_the_tree() -> None:
    model = build_model("cnn", v=8, s=3, L=3, width=5, n_classes=4)
    x = torch.zeros(2, 27, 8)
    assert [h.shape[1] for h in model.features(x)] == [9, 3, 1]
    assert model(x).shape == (2, 4)
    assert "bp" in rule_names()


def _batch(rhm: RHM, n: int = 32) -> Batch:
    return Batch.of(rhm.sample(n, seed=0), rhm, torch.Generator().manual_seed(0))


def test_update_cosine_of_a_rule_with_itself_is_one() -> None:
    rhm = RHM(**TINY)
    model = build_model("cnn", 8, 2, 3, 16, 4)
    a, b = get_rule("bp"), get_rule("bp")
    gen = torch.Generator().manual_seed(0)
    a.setup(model, gen)
    b.setup(model, gen)
    cosines = update_cosine(a, b, _batch(rhm))
    assert len(cosines) == 4 and all(math.isclose(c, 1.0, rel_tol=1e-5) for c in cosines)


def test_synonymic_sensitivity_bounds() -> None:
    rhm = RHM(**TINY)
    model = build_model("cnn", 8, 2, 3, 16, 4)
    sens = synonymic_sensitivity(model, rhm, rhm.sample(200, seed=1))
    assert len(sens) == 3 and all(0 < s < 2 for s in sens)
    with pytest.raises(ValueError, match="one layer per RHM level"):
        synonymic_sensitivity(build_model("fcn", 8, 2, 3, 16, 4), rhm, rhm.sample(5))


def test_devices_cpu_auto_and_a_clear_error_for_an_absent_gpu() -> None:
    assert pick_device("cpu") == "cpu"
    assert pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device must be one of"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda' needs a CUDA GPU"):
            run_experiment(**GRAMMAR, P=40, width=8, steps=5, n_test=10, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
@pytest.mark.parametrize("rule", ["bp", "dfa", "clapp"])
def test_a_run_on_the_gpu_draws_the_same_data_and_learns(rule: str) -> None:
    cpu = run_experiment(**GRAMMAR, P=120, rule=rule, width=16, n_test=60, steps=200)
    gpu = run_experiment(**GRAMMAR, P=120, rule=rule, width=16, n_test=60, steps=200,
                         device="cuda")
    assert next(gpu.model.parameters()).device.type == "cuda"
    assert abs(gpu.test_accuracy - cpu.test_accuracy) < 0.2


def test_bounded_units_for_the_rules_that_allow_them() -> None:
    result = run_experiment(**GRAMMAR, P=120, rule="drtp", width=16, n_test=60, steps=50,
                            activation="tanh")
    assert result.config["activation"] == "tanh"
    assert all(layer.activation == "tanh" for layer in result.model.layers)
    with pytest.raises(ValueError, match="written for ReLU units"):
        run_experiment(**GRAMMAR, P=120, rule="fa", width=16, n_test=60, steps=5,
                       activation="tanh")
    with pytest.raises(ValueError, match="activation must be one of"):
        run_experiment(**GRAMMAR, P=120, width=16, n_test=60, steps=5, activation="gelu")


def test_a_budget_that_ends_after_the_score_stalled_counts_as_converged() -> None:
    """At small P the budget is min_steps alone: a stage that stalled by then converged."""
    stalled = run_experiment(**GRAMMAR, P=120, width=16, n_test=60, n_val=60, epochs=1,
                             min_steps=400, max_steps=400, eval_every=10, patience=3)
    assert stalled.stages[0].steps == 400 and stalled.stages[0].stopped == "converged"
    rising = run_experiment(**GRAMMAR, P=120, width=16, n_test=60, n_val=60, epochs=1,
                            min_steps=20, max_steps=20, eval_every=10, patience=3)
    assert rising.stages[0].stopped == "cap"


def test_the_width_comes_from_the_recipe_unless_given(monkeypatch) -> None:
    from rhmlib.train import DEFAULT_WIDTH, resolve

    assert "width" not in RULES["bp"].defaults
    assert resolve({**TINY, "P": 10, "rule": "bp"})["width"] == DEFAULT_WIDTH
    monkeypatch.setitem(RULES["bp"].defaults, "width", 24)
    assert resolve({**TINY, "P": 10, "rule": "bp"})["width"] == 24
    assert resolve({**TINY, "P": 10, "rule": "bp", "width": 8})["width"] == 8
    result = run_experiment(**TINY, P=20, steps=2, n_test=8, seed=0)
    assert result.config["width"] == 24 and "width" not in TrainConfig.__dataclass_fields__
    with pytest.raises(ValueError, match="width"):
        resolve({**TINY, "P": 10, "rule": "bp", "width": 0})
