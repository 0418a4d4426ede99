"""Helpers of the chapters' pages: small tables, glued texts, ranges and curve lookups."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..checks import check_list, check_real, check_records
from ..models import LayeredNet
from ..probes import synonymic_sensitivity
from ..rhm import RHM, Sample
from ..stats import mean_sem
from ..tables import Table

__all__ = ["results_table", "cosine_range", "join", "lost_at", "final_losses", "glue_texts",
           "mean_at", "sem_at", "sensitivity_table"]


def results_table(results: Mapping[str, object], name: str = "rule", caption: str = "") -> Table:
    """Test and training accuracy of named ``run_experiment`` results, one row each."""
    if not isinstance(results, Mapping) or not results:
        raise TypeError(f"results must be a non-empty dict of run_experiment results, got "
                        f"{results!r:.80}")
    for key, r in results.items():
        if not all(hasattr(r, a) for a in ("test_accuracy", "train_accuracy")):
            raise TypeError(f"results[{key!r}] must be a run_experiment result, got {r!r:.80}")
    rows = [{name: key, "test accuracy": f"{r.test_accuracy:.3f}",
             "train accuracy": f"{r.train_accuracy:.3f}"} for key, r in results.items()]
    return Table(rows, [name, "test accuracy", "train accuracy"], caption=caption)


def cosine_range(angle_sets: Mapping[str, Sequence[dict]], low: float = -0.3,
                 high: float = 1.05, pad: float = 0.05) -> list[float]:
    """A y range holding [low, high] and every mean ± sem that ``angles_figure`` draws."""
    from ..plots import check_angle_records

    reached = [low + pad, high - pad]
    for recs in check_angle_records(angle_sets, "angle_sets").values():
        for t in range(len(recs[0]["cosines"])):
            for k in range(len(recs[0]["cosines"][t])):
                mean, sem, _ = mean_sem(r["cosines"][t][k] for r in recs)
                if not math.isnan(mean):
                    reached += [mean - sem, mean + sem]
    return [min(reached) - pad, max(reached) + pad]


def join(items: Iterable[str]) -> str:
    """Items as prose: "a", "a and b", "a, b and c"."""
    items = check_list("items", items)
    if not all(isinstance(item, str) for item in items):
        raise TypeError(f"items must be strings, got {items!r:.80}")
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def lost_at(records: Iterable[dict], lr: float, names: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Per variant of ``names``: (diverged, all) runs of ``records`` at learning rate ``lr``."""
    from ..sweeps.feedback import label

    lr = check_real("lr", lr)
    counts = {name: [0, 0] for name in check_list("names", names)}
    for record in check_records("records", records, allow_empty=True):
        name = label(record["config"])
        if name in counts and record["config"]["lr"] == lr:
            counts[name][0] += "diverged" in record
            counts[name][1] += 1
    return {name: (lost, total) for name, (lost, total) in counts.items()}


def final_losses(records: Iterable[dict], by: Sequence[str]) -> dict[tuple, float]:
    """Per value of the config keys ``by``: the median last training loss of finished runs."""
    by = check_list("by", by)
    losses: dict[tuple, list[float]] = {}
    for i, record in enumerate(check_records("records", records, allow_empty=True)):
        if "result" not in record:  # diverged runs have no history to read
            continue
        try:
            key = tuple(record["config"][k] for k in by)
            loss = record["result"]["history"]["loss"][-1]
        except (KeyError, IndexError, TypeError):
            raise ValueError(f"records[{i}] must have the config fields {by} and a loss "
                             "history") from None
        losses.setdefault(key, []).append(check_real(f"records[{i}]'s last loss", loss))
    # The median: a runaway loss spans orders of magnitude across seeds.
    return {key: float(np.median(values)) for key, values in losses.items()}


def glue_texts(values: Mapping[str, object]) -> None:
    """Glue every value as text under its name, hidden (cite with {glue:text}`name`)."""
    from ..plots import glue

    for name, value in values.items():
        glue(name, str(value), display=False)


def _row_at(rows: Sequence[dict], x: float, key: str) -> dict:
    """The row of a summarised curve whose ``key`` is ``x``."""
    for row in rows:
        if row[key] == x:
            return row
    raise KeyError(f"no point at {key} = {x} among {[r[key] for r in rows]}")


def mean_at(rows: Sequence[dict], x: float, key: str = "P") -> float:
    """Mean of a summarised curve (:func:`rhmlib.stats.summarize`) at ``key == x``."""
    return float(_row_at(rows, x, key)["mean"])


def sem_at(rows: Sequence[dict], x: float, key: str = "P") -> float:
    """Standard error of a summarised curve at ``key == x``."""
    return float(_row_at(rows, x, key)["sem"])


def sensitivity_table(models: Mapping[str, LayeredNet], rhm: RHM, sample: Sample) -> Table:
    """Synonymic sensitivity (:func:`rhmlib.probes.synonymic_sensitivity`) per layer and network."""
    rows = []
    for name, model in models.items():
        values = synonymic_sensitivity(model, rhm, sample)
        rows.append({"network": name, **{f"layer {k + 1}": v for k, v in enumerate(values)}})
    return Table(rows, caption="Synonymic sensitivity per layer (0: invariant to synonyms, "
                               "1: reacts to them as to a new input)", digits=2)
