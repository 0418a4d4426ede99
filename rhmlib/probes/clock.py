"""The steps at which a recorder measured, counted across a run's stages."""

from __future__ import annotations

from ..rules import Rule

__all__ = ["StageClock"]


class StageClock:
    """The steps of a recorder's measurements, counted across a run's stages.

    Each stage counts its steps from 1 again, and a stage that diverged restarts (at half
    the rate); :meth:`tick` turns a stage's step into the run's and drops the points of
    an abandoned attempt, so that every recorder draws each stage after the one before.
    """

    def __init__(self) -> None:
        self.steps: list[int] = []
        self._rule: Rule | None = None
        self._offset = 0

    def tick(self, step: int, rule: Rule) -> int:
        """Record ``step`` of ``rule``'s stage; returns how many earlier points stay valid."""
        if rule is not self._rule:  # a new stage starts after the last point
            self._rule, self._offset = rule, (self.steps[-1] if self.steps else 0)
        elif self.steps and step + self._offset <= self.steps[-1]:  # a restart
            del self.steps[sum(s <= self._offset for s in self.steps):]
        keep = len(self.steps)
        self.steps.append(step + self._offset)
        return keep
