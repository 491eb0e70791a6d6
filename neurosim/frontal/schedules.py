"""Pruning schedules: how many synapses go at each pruning step.

Every schedule is a cumulative fraction ``F(s)`` of the *initial* synapses removed after step ``s``; step
``s`` removes ``round(n0·F(s)) − round(n0·F(s−1))`` synapses, so the counts add up exactly.
:class:`ConstantRate` removes the same number per step, :class:`DecreasingRate` many early and few late
(Navlakha, Barth & Bar-Joseph 2015), :class:`TargetSparsity` follows the cubic ramp of gradual magnitude
pruning (Zhu & Gupta 2017).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..serialization import Describable
from ..validation import check_number


class PruningSchedule(Describable):
    """Base of schedules: :meth:`cumulative` fraction of the initial synapses removed after each step."""

    steps: int

    def cumulative(self, step: int) -> float:
        raise NotImplementedError  # pragma: no cover - abstract

    def count(self, step: int, n_initial: int) -> int:
        """Synapses to remove at ``step`` (1-based) from a projection that started with ``n_initial``."""
        if step < 1:
            return 0
        return max(0, round(n_initial * self.cumulative(step)) - round(n_initial * self.cumulative(step - 1)))

    def counts(self, n_initial: int) -> np.ndarray:
        """The count of every step, 1 … ``steps``."""
        return np.array([self.count(s, n_initial) for s in range(1, self.steps + 1)], dtype=int)

    def _check(self, owner: str, total_name: str) -> None:
        check_number(owner, "steps", self.steps, low=1, integer=True)
        check_number(owner, total_name, getattr(self, total_name), low=0, high=1)


@dataclass(frozen=True)
class ConstantRate(PruningSchedule):
    """The same number each step: ``total`` of the initial synapses over ``steps`` steps."""

    total: float = 0.5  # fraction of the initial synapses removed in all
    steps: int = 10  # number of pruning steps

    def __post_init__(self) -> None:
        self._check("ConstantRate", "total")

    def cumulative(self, step: int) -> float:
        return self.total * min(max(step, 0), self.steps) / self.steps


@dataclass(frozen=True)
class DecreasingRate(PruningSchedule):
    """Geometrically decreasing counts (step s ∝ ``ratio``^(s−1)), ``total`` over ``steps`` steps: the
    developmental schedule of Navlakha, Barth & Bar-Joseph 2015, which builds more efficient and robust
    networks than constant or increasing rates."""

    total: float = 0.5  # fraction of the initial synapses removed in all
    steps: int = 10  # number of pruning steps
    ratio: float = 0.7  # each step removes this fraction of the previous step's count

    def __post_init__(self) -> None:
        self._check("DecreasingRate", "total")
        check_number("DecreasingRate", "ratio", self.ratio, low=0, high=1, low_open=True, high_open=True)

    def cumulative(self, step: int) -> float:
        s = min(max(step, 0), self.steps)
        return self.total * (1 - self.ratio**s) / (1 - self.ratio**self.steps)


@dataclass(frozen=True)
class TargetSparsity(PruningSchedule):
    """Gradual ramp to a ``final`` sparsity: s(k) = final + (initial − final)(1 − k/steps)^exponent
    (Zhu & Gupta 2017 use exponent 3: fast early, gentle late)."""

    final: float = 0.9  # fraction of the initial synapses removed at the end
    steps: int = 10  # number of pruning steps
    initial: float = 0.0  # sparsity at step 0
    exponent: float = 3.0  # shape of the ramp

    def __post_init__(self) -> None:
        self._check("TargetSparsity", "final")
        check_number("TargetSparsity", "initial", self.initial, low=0, high=self.final)
        check_number("TargetSparsity", "exponent", self.exponent, low=0, low_open=True)

    def cumulative(self, step: int) -> float:
        s = min(max(step, 0), self.steps)
        if s == 0:
            return 0.0
        return self.final + (self.initial - self.final) * (1 - s / self.steps) ** self.exponent


__all__ = ["ConstantRate", "DecreasingRate", "PruningSchedule", "TargetSparsity"]
