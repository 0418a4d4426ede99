"""The hierarchy probe: it only observes, its records validate, its code is fingerprinted."""

import json

import pytest

from rhmlib import run_experiment
from rhmlib.fingerprint import PACKAGE, source_files
from rhmlib.probes import HierarchyRecorder, StageClock
from rhmlib.sweeps.cache import InvalidRecord, check_record
from rhmlib.sweeps.execute import Run, compute
from rhmlib.train import resolve

TINY = {"v": 8, "n_c": 4, "m": 2, "s": 2, "L": 3, "P": 60, "n_test": 40, "width": 8,
        "steps": 40, "eval_every": 20}


@pytest.mark.parametrize("rule", ["bp", "clapp"])
def test_recording_the_probe_leaves_the_run_unchanged(rule: str) -> None:
    options = {"readout_steps": 20} if rule == "clapp" else None
    plain = run_experiment(**TINY, rule=rule, rule_options=options)
    recorder = HierarchyRecorder(resolve({**TINY, "rule": rule, "rule_options": options}))
    probed = run_experiment(**TINY, rule=rule, rule_options=options, callback=recorder)
    assert probed.history == plain.history and probed.val_accuracy == plain.val_accuracy
    record = recorder.to_dict()
    # Self-supervised rules are probed in both stages; steps run on across them.
    assert record["steps"] == sorted(record["steps"]) and len(set(record["steps"])) == len(
        record["steps"])
    assert all(len(row) == TINY["L"] for row in record["sensitivity"])
    # Layer 1 (the level-2 nodes) determines levels 0..2, the top layer only the class.
    assert [sum(x is not None for x in row) for row in record["decodability"][-1]] == [3, 2, 1]


def test_a_probed_record_validates_and_a_broken_one_does_not() -> None:
    record = json.loads(json.dumps(compute(Run(TINY, ("hierarchy",)))))
    check_record(record)
    record["probes"]["hierarchy"]["sensitivity"][0] = "low"
    with pytest.raises(InvalidRecord, match="sensitivity"):
        check_record(record)


def test_only_hierarchy_runs_depend_on_its_file() -> None:
    def probe_files(probe: str) -> set[str]:
        return {f.relative_to(PACKAGE).as_posix() for f in source_files("bp", (probe,))
                if f.parent.name == "probes"}

    assert probe_files("hierarchy") == {"probes/measures.py", "probes/clock.py",
                                        "probes/hierarchy.py"}
    assert "probes/hierarchy.py" not in probe_files("angles")


def test_a_later_stage_is_drawn_after_a_short_earlier_one_and_a_restart_replaces_points() -> None:
    """The readout's points come after the self-supervised stage's last (step 20), though
    its own steps count from 1 again; an abandoned attempt's points are dropped."""

    config = resolve({**TINY, "rule": "clapp", "steps": 20, "eval_every": 10,
                      "rule_options": {"readout_steps": 100}})
    recorder = HierarchyRecorder(config)
    run_experiment(**{**TINY, "steps": 20, "eval_every": 10}, rule="clapp",
                   rule_options={"readout_steps": 100}, callback=recorder)
    assert recorder.steps == [10, 20, *range(30, 121, 10)]
    clock, ssl, readout = StageClock(), object(), object()
    for step, rule in ((10, ssl), (20, ssl), (10, readout), (20, readout), (10, readout)):
        clock.tick(step, rule)
    assert clock.steps == [10, 20, 30]  # the readout restarted: its first attempt is gone


def test_the_untrained_baseline_is_the_first_point_of_a_run_from_the_same_weights() -> None:
    from rhmlib.probes import untrained

    config = resolve({**TINY, "rule": "bp", "lr": 1e-9})  # a rate too small to move it
    recorder = HierarchyRecorder(config)
    run_experiment(**{**TINY, "lr": 1e-9}, rule="bp", callback=recorder)
    baseline = untrained(config)
    assert baseline["sensitivity"] == pytest.approx(recorder.sensitivity[0], abs=1e-5)
    assert len(baseline["decodability"]) == TINY["L"]


def test_the_activity_probe_counts_silent_units_and_only_observes() -> None:
    from rhmlib.probes import ActivityRecorder, layer_activity
    from rhmlib.sweeps.cache import check_record

    plain = run_experiment(**TINY, rule="bp")
    recorder = ActivityRecorder()
    probed = run_experiment(**TINY, rule="bp", callback=recorder)
    assert probed.history == plain.history
    record = recorder.to_dict()
    assert len(record["silent"]) == len(record["steps"]) and len(record["silent"][0]) == 3
    assert all(0 <= x <= 1 for row in record["active"] for x in row)
    # A layer whose weights are all negative on non-negative inputs is silent.
    import torch

    with torch.no_grad():
        for p in probed.model.layers[1].parameters():
            p.fill_(-1.0)
    x = torch.nn.functional.one_hot(torch.zeros(4, 8, dtype=torch.long), 8).float()
    silent, active = layer_activity(probed.model, x)
    assert silent[1] == 1.0 and active[1] == 0.0
    computed = json.loads(json.dumps(compute(Run({**TINY, "rule": "bp"}, ("activity",)))))
    check_record(computed)
