"""Every learning-rate scan of the book chose a rate inside its grid (cached results).

A rate at an end of its grid is a choice the grid did not test: a rate beyond it might
be better. An end is accepted only where nothing learns at any rate (every mean at
chance level: the choice is arbitrary). A rate at which a run diverged is not eligible
(:func:`rhmlib.stats.best_row`), so a grid whose end diverges ends before it.
"""

from collections.abc import Iterable

import pytest

from rhmlib.stats import best_lr, finished, summarize
from rhmlib.sweeps import backprop, contrast, feedback, load_sweep
from rhmlib.sweeps import mnist1d as mnist

CHANCE_RHM, CHANCE_MNIST = 1 / 16, 1 / 10


def _cells(name: str, key) -> dict[tuple, list[dict]]:
    cells: dict[tuple, list[dict]] = {}
    for record in load_sweep(name):
        cells.setdefault(key(record["config"]), []).append(record)
    return cells


def _scans() -> Iterable[tuple[str, list[dict], tuple[float, ...], float]]:
    """(what, records, grid, chance) for every scan of the book."""
    for name, recs in feedback.by_label(feedback.all_records("feedback_lr")).items():
        yield f"feedback_lr {name}", recs, feedback.LRS[name], CHANCE_RHM
    for name, recs in feedback.by_label(feedback.all_records("masking_lr")).items():
        yield f"masking_lr {name}", recs, feedback.LRS[name], CHANCE_RHM
    for (name, m, L), recs in _cells("grammar_lr", lambda c: (
            feedback.label(c), c["m"], c["L"])).items():
        yield f"grammar_lr {name} m={m} L={L}", recs, feedback.GRAMMAR_LRS[name], CHANCE_RHM
    for (name, m, L), recs in _cells("masking_grammar", lambda c: (
            feedback.label(c), c["m"], c["L"])).items():
        yield (f"masking_grammar {name} m={m} L={L}", recs,
               feedback.MASKING_GRAMMAR_LRS[name], CHANCE_RHM)
    for (m, L), recs in _cells("bp_lr_scan", lambda c: (c["m"], c["L"])).items():
        yield f"bp_lr_scan m={m} L={L}", recs, backprop.BP_LRS, CHANCE_RHM
    for (name, m, L), recs in contrast.scan_records().items():
        grid = tuple(sorted({r["config"]["lr"] for r in recs}))
        yield f"contrast_lr {name} m={m} L={L}", recs, grid, CHANCE_RHM
    for rule, recs in mnist.scan_records().items():
        grid = tuple(sorted({r["config"]["lr"] for r in recs}))
        yield f"mnist1d_lr {rule}", recs, grid, CHANCE_MNIST
    yield "mnist1d_mlp_lr", load_sweep("mnist1d_mlp_lr"), mnist.MLP_LRS, CHANCE_MNIST


def test_every_scan_chose_inside_its_grid() -> None:
    ends = []
    for what, recs, grid, chance in _scans():
        chosen = best_lr(recs)
        if chosen not in (min(grid), max(grid)):
            continue
        means = [row["mean"] for row in summarize(finished(recs), ("lr",), "val_accuracy")]
        if max(means) < 2 * chance:
            continue  # nothing learns at any rate: the choice is arbitrary
        ends.append(f"{what}: {chosen:g} at the end of {grid}")
    print(f"{len(ends)} scans chose an end of their grid")
    assert not ends, "\n".join(ends)


@pytest.mark.parametrize("grid", [feedback.LRS["DFA"], feedback.GRAMMAR_LRS["DFA"]])
def test_dfa_grids_cover_its_recipe(grid: tuple[float, ...]) -> None:
    """DFA trains with Adam (its recipe): its grids hold the recipe's rate, not only SGD's."""
    from rhmlib.rules import RULES

    assert min(grid) < RULES["dfa"].defaults["lr"] < max(grid)
