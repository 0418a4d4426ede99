"""Helpers of the chapters' pages: claims, small tables, glued texts, ranges and record summaries.

A chapter's page module (``rhmlib.pages.chNN``) holds what its notebook shows and states:
its tables and figures, ``numbers()`` (the numbers its prose cites, loaded from the cached
results: a glued number under its glue name, a number only checked under a plain name),
``TEXTS`` (glue name -> how the page writes the number) and ``CLAIMS`` (the sentences of
its prose, each with its check on those numbers). The notebook checks and glues them in
one short hidden cell, and ``tests/test_page_claims.py`` runs the same checks::

    numbers = ch02.numbers()
    check_claims(ch02.CLAIMS, numbers)
    glue_texts(texts(ch02.TEXTS, numbers))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import check_list, check_real, check_records
from ..models import LayeredNet
from ..probes import synonymic_sensitivity
from ..rhm import RHM, Sample
from ..tables import Table

__all__ = ["Claim", "check_claims", "texts", "results_table", "cosine_range", "join", "lost_at",
           "final_losses", "glue_texts", "sensitivity_table"]


@dataclass(frozen=True)
class Claim:
    """A sentence of a page and its check: ``check(numbers)`` is true while the sentence holds.

    ``name`` identifies the sentence (the glue name it cites, or a short id); ``text`` says
    what it claims, as the prose does.
    """

    name: str
    text: str
    check: Callable[[Mapping[str, Any]], bool]


def check_claims(claims: Iterable[Claim], numbers: Mapping[str, Any]) -> None:
    """Check every claim on ``numbers``; an AssertionError names each one that does not hold.

    A check that raises counts as failed (its error beside the claim).
    """
    failed = []
    for claim in claims:
        if not isinstance(claim, Claim):
            raise TypeError(f"claims must be Claim objects, got {claim!r:.80}")
        try:
            holds = claim.check(numbers)
        except Exception as err:  # reported with the claim it broke
            failed.append(f"{claim.name}: {claim.text} ({type(err).__name__}: {err})")
            continue
        if not holds:
            failed.append(f"{claim.name}: {claim.text}")
    if failed:
        raise AssertionError("the prose no longer holds on these numbers:\n" + "\n".join(failed))


def texts(formats: Mapping[str, str | Callable[[Any], str]],
          numbers: Mapping[str, Any]) -> dict[str, str]:
    """The glued texts: per glue name, its number in ``numbers`` written with its format.

    A format is a format spec (``"{:.2f}"``) or a function of the number returning text.
    """
    out = {}
    for name, fmt in formats.items():
        if name not in numbers:
            raise KeyError(f"no number named {name!r} to glue; numbers has {sorted(numbers)}")
        out[name] = fmt(numbers[name]) if callable(fmt) else fmt.format(numbers[name])
    return out


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
    from ..plots import angle_means, check_angle_records

    reached = [low + pad, high - pad]
    for recs in check_angle_records(angle_sets, "angle_sets").values():
        for row in angle_means(recs)[1]:
            reached += [v for mean, sem, _ in row if not math.isnan(mean)
                        for v in (mean - sem, mean + sem)]
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


def sensitivity_table(models: Mapping[str, LayeredNet], rhm: RHM, sample: Sample) -> Table:
    """Synonymic sensitivity (:func:`rhmlib.probes.synonymic_sensitivity`) per layer and network."""
    rows = []
    for name, model in models.items():
        values = synonymic_sensitivity(model, rhm, sample)
        rows.append({"network": name, **{f"layer {k + 1}": v for k, v in enumerate(values)}})
    return Table(rows, caption="Synonymic sensitivity per layer (0: invariant to synonyms, "
                               "1: reacts to them as to a new input)", digits=2)
