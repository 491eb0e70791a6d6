"""Learners that run the tasks of :mod:`neurosim.tasks` and report one :class:`ResultRecord`.

The protocol and its helper base live in :mod:`neurosim.learners.base`; the LSTM learner
(:mod:`neurosim.learners.lstm`, needs torch: ``pip install .[lstm]``) is imported on first use, so the
package works without torch.
"""

from __future__ import annotations

from typing import Any

from .base import (
    EvalResult,
    Fit,
    Learner,
    LearnerBase,
    Prediction,
    ResultRecord,
    TrainLog,
    check_compatible,
    run_continual,
    run_task,
)

_LAZY = {"LSTMLearner", "hidden_size_for_parameters"}
_SPIKING = {"SpikingLearner", "SpikingParams"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import lstm

        return getattr(lstm, name)
    if name in _SPIKING:
        from . import spiking

        return getattr(spiking, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EvalResult",
    "Fit",
    "LSTMLearner",
    "Learner",
    "LearnerBase",
    "Prediction",
    "ResultRecord",
    "SpikingLearner",
    "SpikingParams",
    "TrainLog",
    "check_compatible",
    "hidden_size_for_parameters",
    "run_continual",
    "run_task",
]
