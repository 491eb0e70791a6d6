"""Learners that run the tasks of :mod:`neurosim.tasks` and report one :class:`ResultRecord`.

The protocol and its helper base live in :mod:`neurosim.learners.base`; the conventional learners (LSTM,
GRU and a small causal Transformer, sharing :mod:`neurosim.learners.torch_sequence`; they need torch:
``pip install .[lstm]``) are imported on first use, so the package works without torch. Beside the spiking
learner (:mod:`neurosim.learners.spiking`), :mod:`neurosim.learners.episodic` stores self-contained episodes
(novelty recall) in one pass, with or without bottom-up salience.
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

_TORCH = {
    "LSTMLearner": "lstm",
    "hidden_size_for_parameters": "lstm",
    "GRULearner": "gru",
    "TransformerLearner": "transformer",
    "TorchSequenceLearner": "torch_sequence",
    "size_for_parameters": "torch_sequence",
}
_SPIKING = {"SpikingLearner", "SpikingParams"}
_EPISODIC = {"EpisodicMemory", "EpisodicParams"}


def __getattr__(name: str) -> Any:
    if name in _TORCH:
        from . import gru, lstm, torch_sequence, transformer

        modules = {"lstm": lstm, "gru": gru, "transformer": transformer, "torch_sequence": torch_sequence}
        return getattr(modules[_TORCH[name]], name)
    if name in _SPIKING:
        from . import spiking

        return getattr(spiking, name)
    if name in _EPISODIC:
        from . import episodic

        return getattr(episodic, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EpisodicMemory",
    "EpisodicParams",
    "EvalResult",
    "Fit",
    "GRULearner",
    "LSTMLearner",
    "Learner",
    "LearnerBase",
    "Prediction",
    "ResultRecord",
    "SpikingLearner",
    "SpikingParams",
    "TorchSequenceLearner",
    "TrainLog",
    "TransformerLearner",
    "check_compatible",
    "hidden_size_for_parameters",
    "run_continual",
    "run_task",
    "size_for_parameters",
]
