"""Reward functions and baselines: what a trial's outcome is worth, and what was expected.

A reward policy is any callable ``policy(output, target) -> float``; :class:`CorrectWrong` is the default
(+1 correct, −1 wrong). :class:`RunningBaseline` keeps a running mean of the reward per context, so that the
signal sent as dopamine is the reward-prediction error ``r − b`` (Frémaux & Gerstner 2016): a reward that is
always the same stops teaching.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..serialization import Describable
from ..validation import check_number

#: ``policy(output, target) -> float``: the reward of a trial.
RewardPolicy = Callable[[Any, Any], float]


@dataclass(frozen=True)
class CorrectWrong(Describable):
    """The default reward policy: ``correct`` when the output equals the target, else ``wrong``."""

    correct: float = 1.0
    wrong: float = -1.0

    def __post_init__(self) -> None:
        check_number("CorrectWrong", "correct", self.correct)
        check_number("CorrectWrong", "wrong", self.wrong)

    def __call__(self, output: Any, target: Any) -> float:
        return self.correct if np.array_equal(np.asarray(output), np.asarray(target)) else self.wrong


class RunningBaseline:
    """Running mean of the reward per context; :meth:`update` returns the reward-prediction error.

    ``b ← b + alpha·(r − b)`` after each trial; the signal sent is ``r − b`` (with ``b`` from before the
    trial), so a reward that is always the same stops teaching (Frémaux & Gerstner 2016).
    """

    def __init__(self, alpha: float = 0.1, initial: float = 0.0) -> None:
        self.alpha = check_number("RunningBaseline", "alpha", alpha, low=0, high=1, low_open=True)
        self.initial = check_number("RunningBaseline", "initial", initial)
        self.values: dict[Any, float] = {}

    def value(self, context: Any = None) -> float:
        return self.values.get(context, self.initial)

    def update(self, reward: float, context: Any = None) -> float:
        b = self.value(context)
        self.values[context] = b + self.alpha * (reward - b)
        return reward - b


__all__ = ["CorrectWrong", "RewardPolicy", "RunningBaseline"]
