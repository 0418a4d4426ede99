"""Small helpers of the chapters on local rules, data efficiency and local versus global."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .models import LayeredNet
from .probes import synonymic_sensitivity
from .rhm import RHM, Sample
from .tables import Table

__all__ = ["glue_texts", "mean_at", "sem_at", "sensitivity_table"]


def glue_texts(values: Mapping[str, object]) -> None:
    """Glue every value as text under its name, hidden (cite with {glue:text}`name`)."""
    from .plots import glue

    for name, value in values.items():
        glue(name, str(value), display=False)


def _row_at(rows: Sequence[dict], x: float, key: str) -> dict:
    """The row of a summarised curve whose ``key`` is ``x``."""
    for row in rows:
        if row[key] == x:
            return row
    raise KeyError(f"no point at {key} = {x} among {[r[key] for r in rows]}")


def mean_at(rows: Sequence[dict], x: float, key: str = "P") -> float:
    """Mean of a summarised curve (:func:`rhmlib.sweeps.stats.summarize`) at ``key == x``."""
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
