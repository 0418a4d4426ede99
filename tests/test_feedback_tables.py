"""The tables of the feedback chapters (rhmlib.sweeps.feedback and the pages of chapters 03
and 04), on small synthetic records (no cached results needed)."""

import math

import pytest
import torch

from rhmlib import plots
from rhmlib.pages import ch03, ch04
from rhmlib.sweeps import feedback as fb
from rhmlib.sweeps.cache import resolve
from rhmlib.tables import Table, pm

NAN_LOSS = "rule 'dfa' diverged at step 496 (loss nan); lower lr=0.3"
WEIGHTS = ("rule 'fa' diverged at step 2000: weights layers.0.weight reached 1.2e+04 "
           "(bound 1e+04); lower lr=1.0")
ONE_CLASS = ("rule 'bp_masked' diverged at step 2500: every input is given one class after a "
             "train accuracy of 0.40; lower lr=0.3")


def run(name: str, lr: float, seed: int, test: float, train: float | None = None,
        P: int = 4000, **changes: object) -> dict:
    """A finished record of variant ``name``, as the cache returns it."""
    config = resolve(fb._config(name, P, seed, lr, **changes))
    return {"config": config, "result": {"test_accuracy": test, "val_accuracy": test,
                                         "train_accuracy": test if train is None else train}}


def lost(name: str, lr: float, seed: int, message: str, P: int = 4000, **changes: object) -> dict:
    """A diverged record of variant ``name``."""
    return {"config": resolve(fb._config(name, P, seed, lr, **changes)), "diverged": message}


@pytest.fixture
def scan() -> list[dict]:
    """DFA best at lr 0.03 (one run diverged at 0.1); FA best at 0.3."""
    return [run("DFA", 0.01, 0, 0.5), run("DFA", 0.01, 1, 0.6),
            run("DFA", 0.03, 0, 0.8), run("DFA", 0.03, 1, 0.9),
            run("DFA", 0.1, 0, 0.2), lost("DFA", 0.1, 1, NAN_LOSS),
            run("FA", 0.3, 0, 0.7), run("FA", 0.3, 1, 0.75), run("FA", 0.1, 0, 0.4)]


def html(table: Table) -> str:
    out = table._repr_html_()
    assert out.startswith('<table class="rhmlib-table">')
    return out


def test_mean_and_sem_as_text() -> None:
    assert pm(0.91234, 0.00812) == "0.912 ± 0.008"
    assert pm(0.5, 0.25, decimals=2) == "0.50 ± 0.25"
    assert pm(math.nan, math.nan) == "–" and pm(0.5, math.nan) == "0.500"


def test_at_chosen_lr_keeps_each_variants_best_rate(scan: list[dict]) -> None:
    kept = fb.at_chosen_lr(scan)
    assert {(fb.label(r["config"]), r["config"]["lr"]) for r in kept} == {("DFA", 0.03),
                                                                           ("FA", 0.3)}
    assert len(kept) == 4 and all("result" in r for r in kept)
    assert {fb.label(r["config"]) for r in fb.at_chosen_lr(scan, names=["FA"])} == {"FA"}
    assert fb.chosen_lrs(scan) == {"DFA": 0.03, "FA": 0.3}
    assert list(fb.by_label(scan)) == ["DFA", "FA"]
    # A rate at which a seed diverged is not chosen, even if its survivors are best.
    unstable = scan + [run("FA", 1.0, 0, 0.99), lost("FA", 1.0, 1, WEIGHTS)]
    assert {r["config"]["lr"] for r in fb.at_chosen_lr(unstable, names=["FA"])} == {0.3}


def test_divergence_names_the_sign_and_step() -> None:
    assert ch03.divergence(NAN_LOSS) == (496, "loss not finite")
    assert ch03.divergence(WEIGHTS) == (2000, "runaway weights")
    assert ch03.divergence(ONE_CLASS) == (2500, "collapse to one class")
    assert ch03.divergence("something else; lower lr") == (None, "something else")


def test_lr_table_shows_the_scan_the_choice_and_the_diverged_runs(scan: list[dict]) -> None:
    table = ch03.lr_table(scan + [lost("DRTP", 0.1, 0, NAN_LOSS)])
    dfa, fa, drtp = table.rows
    assert dfa["chosen lr"] == "0.03" and dfa["lr"] == 0.03
    assert dfa["test accuracy at the chosen lr"] == "0.850 ± 0.050" and dfa["seeds"] == 2
    assert dfa["validation accuracy per learning rate"] == (
        "0.01: 0.55; 0.03: 0.85; 0.1: 0.20 (1 diverged)")
    assert dfa["diverged runs"] == "1 of 6 (loss not finite)" and dfa["diverged"] == 1
    assert fa["diverged runs"] == "–" and fa["chosen lr"] == "0.3"
    # Every run diverged: no choice, no accuracy.
    assert drtp["chosen lr"] == "–" and drtp["test accuracy at the chosen lr"] == "–"
    assert drtp["validation accuracy per learning rate"] == "0.1: diverged"
    assert "P = 4,000" in table.caption and "0.850 ± 0.050" in html(table)
    assert [r["name"] for r in ch03.lr_table(scan, names=["FA"]).rows] == ["FA"]


def test_diverged_table_lists_each_run_and_says_when_none(scan: list[dict]) -> None:
    grammar = lost("downstream masks: other", 0.3, 2, ONE_CLASS, P=16384, m=8, L=3,
                   schedule="cosine")
    table = ch03.diverged_table(scan, [grammar])
    first, second = table.rows
    assert (first["variant"], first["lr"], first["seed"], first["stopped at step"],
            first["sign"]) == ("DFA", "0.1", 1, 496, "loss not finite")
    assert (second["grammar"], second["P"], second["sign"]) == (
        "m = 8, L = 3", "16,384", "collapse to one class")
    empty = ch03.diverged_table(scan[:4])
    assert empty.rows == [] and empty.caption == "No run diverged"
    assert ">seed</th>" in html(empty)


def test_p90_table_marks_the_ends_of_the_grid() -> None:
    def curve(*means: float) -> list[dict]:
        return [{"P": P, "mean": m, "sem": 0.01, "n": 3} for P, m in zip((2000, 4000, 8000), means)]

    table = ch03.p90_table({"BP": curve(0.95, 1.0, 1.0), "DFA": curve(0.5, 0.8, 1.0),
                          "DRTP": curve(0.06, 0.07, 0.08)}, {"BP": 0.2, "DFA": 0.03, "DRTP": 1e-3})
    bp, dfa, drtp = table.rows
    assert bp["P₉₀"] == "≤ 2,000" and bp["at P"] == "4,000"
    assert 4000 < dfa["p90"] < 8000 and dfa["P₉₀"] == f"{dfa['p90']:,.0f}"
    assert drtp["P₉₀"] == "> 8,000" and math.isinf(drtp["p90"]) and drtp["lr"] == "0.001"
    assert dfa["best test accuracy"] == "1.000 ± 0.010" and dfa["seeds"] == 3
    assert "lr" not in ch03.p90_table({"BP": curve(1, 1, 1)}).columns


def test_width_table_compares_at_the_chosen_rate(scan: list[dict]) -> None:
    wide = [run("DFA", 0.03, 0, 0.95, width=128), lost("DFA", 0.03, 1, NAN_LOSS, width=128),
            run("FA", 0.3, 0, 0.8, width=128), run("FA", 0.3, 1, 0.9, width=128)]
    table = ch03.width_table(wide, scan)
    dfa, fa = table.rows
    assert dfa["width 64"] == "0.850 ± 0.050 (2 seeds)"
    assert dfa["width 128"] == "0.950 ± 0.000 (1 seed)"
    assert dfa["diverged"] == "1 of 2 (loss not finite)" and fa["diverged"] == "–"
    assert fa["wide"]["mean"] == pytest.approx(0.85) and fa["lr"] == "0.3"
    assert table.columns == ["variant", "lr", "width 64", "width 128", "diverged"]


def grammar_curves() -> dict:
    """Two grammars out of the book's order; BP reaches 90% at once, FA never on (4, 4)."""
    def rows(*means: float) -> list[dict]:
        return [{"ratio": r, "P": r * 100, "mean": m, "sem": 0.01, "n": 3}
                for r, m in zip((1, 2, 4, 8), means)]

    return {(8, 3): {"BP": rows(0.95, 0.99, 1.0, 1.0), "FA": rows(0.3, 0.5, 0.8, 0.95)},
            (4, 4): {"BP": rows(0.92, 0.99, 1.0, 1.0), "FA": rows(0.1, 0.15, 0.2, 0.3)}}


def test_grammar_gap_table_reads_2_p_star_and_p90() -> None:
    lrs = {("BP", 8, 3): 0.3, ("FA", 8, 3): 0.1, ("BP", 4, 4): 0.1, ("FA", 4, 4): 1.0}
    table = ch03.grammar_gap_table(grammar_curves(), lrs)
    assert [(r["m"], r["L"], r["name"]) for r in table.rows] == [
        (4, 4, "BP"), (4, 4, "FA"), (8, 3, "BP"), (8, 3, "FA")]
    bp44, fa44, _, fa83 = table.rows
    assert bp44["P₉₀ / P*"] == "≤ 1" and fa44["P₉₀ / P*"] == "> 8" and fa44["lr"] == "1"
    assert 4 < fa83["p90"] < 8 and fa83["test accuracy at 2 P*"] == "0.500 ± 0.010"
    assert fa83["grammar"] == "m = 8, L = 3"


def test_grammar_train_table_reads_the_largest_p() -> None:
    table = ch03.grammar_train_table(grammar_curves())
    row = table.rows[1]
    assert (row["m"], row["L"], row["name"], row["largest P"]) == (4, 4, "FA", "8 P*")
    assert row["train accuracy there"] == "0.300 ± 0.010" and row["mean"] == 0.3


def test_budget_table_pairs_each_long_run_with_the_standard_one() -> None:
    curves = grammar_curves()
    train = {g: {n: [{**r, "mean": r["mean"] + 0.1} for r in rows] for n, rows in by.items()}
             for g, by in curves.items()}
    longer = [run("FA", 1.0, seed, 0.2 + 0.01 * seed, train=0.6, P=2 * 16 * 4**4, m=4, L=4,
                  schedule="cosine", steps=20000) for seed in range(3)]
    converged = [run("FA", 1.0, seed, 0.15, P=2 * 16 * 4**4, m=4, L=4, schedule="cosine")
                 for seed in range(2)]
    for steps, record in zip((3000, 5000), converged):
        record["result"]["stages"] = [{"steps": steps, "best_step": steps, "stopped": "converged",
                                       "lr": 1.0}]
    table = ch03.budget_table(longer, curves, train, converged=converged)
    (row,) = table.rows
    assert (row["name"], row["P"], row["steps"]) == ("FA", "2 P*", 20000)
    assert row["steps_before"] == 4000 and row["steps to convergence"] == "4,000"
    assert row["test_before"] == 0.15 and row["test_after"] == pytest.approx(0.21)
    assert row["train_before"] == pytest.approx(0.25) and row["train_after"] == 0.6
    assert row["test, 20,000 steps"] == "0.210 ± 0.006" and row["seeds"] == 3
    assert "train, to convergence" in table.columns


def test_schedule_table_sets_the_two_protocols_side_by_side() -> None:
    headline = {"FA": [{"P": 8000, "mean": 0.94, "sem": 0.004, "n": 10}], "BP": []}
    table = ch03.schedule_table(headline, {(4, 3): grammar_curves()[(8, 3)]}, ratio=4)
    (row,) = table.rows
    assert row["name"] == "FA" and row["plateau lr, P = 8,000"] == "0.940 ± 0.004"
    assert row["cosine lr, P = 4,096"] == "0.800 ± 0.010"


def test_cosine_table_names_the_layers_and_the_readout() -> None:
    table = ch03.cosine_table({"DFA": [0.123, -0.5, None, 1.0]})
    assert table.columns == ["rule", "layer 1", "layer 2", "layer 3", "readout"]
    assert [table.rows[0][c] for c in table.columns[1:]] == ["+0.12", "-0.50", "–", "+1.00"]


def test_mask_table_counts_blocked_units_and_error_changes() -> None:
    masks = [torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]]]),
             torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]]])]
    bp = [torch.tensor([[[0.5, 0.0], [0.0, -0.2]], [[0.1, 0.1], [0.1, 0.1]]]),
          torch.tensor([[[0.3, 0.0]], [[0.1, 0.1]]])]
    rerouted = [bp[0] + torch.tensor([[[0.25, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]]),
                bp[1]]
    table = ch04.mask_table(masks, {"BP": bp, "BP, masks above from input 2": rerouted})
    first, second = table.rows
    assert (first["blocked"], first["units blocked"], first["changed"]) == (2, "2 of 4", 0.25)
    assert (second["blocked"], second["silent"], second["changed"]) == (1, 0.0, 0.0)


def test_error_growth_table_leaves_missing_layers_empty() -> None:
    table = ch04.error_growth_table({"none": {2: [1.9, 1.0], 3: [2.6, 1.4, 1.0]}})
    assert table.columns == ["downstream masks", "L", "layer 1", "layer 2", "layer 3"]
    assert table.rows[0]["layer 1"] == "1.90" and "layer 3" not in table.rows[0]
    assert ">–</td>" in html(table)


def test_seed_labels_and_bars() -> None:
    rows = {"BP": [{"P": 1, "mean": 0.9, "sem": 0.0, "n": 3}],
            "DFA": [{"P": 1, "mean": 0.5, "sem": 0.1, "n": 3}, {"P": 2, "mean": 0.6, "sem": 0.1,
                                                                "n": 10}]}
    assert list(ch03.seed_labels(rows)) == ["BP (3 seeds)", "DFA (3-10 seeds)"]
    fig = plots.accuracy_bars({"BP": rows["BP"]})
    assert list(fig.data[0].y) == ["BP"] and list(fig.data[0].x) == [0.9]
    with pytest.raises(ValueError, match="one summary row"):
        plots.accuracy_bars(rows)


def test_stopping_table_counts_steps_and_capped_runs() -> None:
    records = [run("DFA", 0.03, seed, 0.5 + seed / 10) for seed in range(2)]
    for seed, record in enumerate(records):
        record["result"]["stages"] = [{"steps": 3000 + 1000 * seed, "best_step": 2000,
                                       "stopped": "cap" if seed else "converged", "lr": 0.03}]
    table = ch03.stopping_table(records)
    (row,) = table.rows
    assert (row["steps"], row["capped"], row["n"]) == (3500, 1, 2)
    assert row["steps run"] == "3,500 ± 500" and row["stopped at the cap"] == "1 of 2"
    assert row["best validation at step"] == "2,000" and ch03.steps_run(records[1]) == 4000


def test_collapse_table_finds_runs_that_fell_back_to_chance() -> None:
    steady, fallen = (run("BP", 0.3, seed, 0.9) for seed in range(2))
    steady["result"]["history"] = {"step": [1, 2, 3], "test_accuracy": [0.3, 0.6, 0.9]}
    fallen["result"]["history"] = {"step": [1, 2, 3], "test_accuracy": [0.8, 0.06, 0.3]}
    assert ch03.collapses([steady, fallen]) == [fallen]
    table = ch03.collapse_table([steady, fallen])
    (row,) = table.rows
    assert (row["name"], row["seed"], row["at the end"]) == ("BP", 1, "0.30")
    assert row["test accuracy: best, then lowest"] == "0.80 (step 1), then 0.06 (step 2)"
    assert ch03.collapse_table([steady]).caption == "No run collapsed"
