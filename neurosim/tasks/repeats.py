"""How many test trials repeat a training trial: whether a task measures memory or a lookup of seen inputs.

A test trial *repeats* a training trial when its inputs and its due answers are identical to those of some
training trial. A learner that stored every training trial verbatim (a lookup table) answers every repeated
test trial correctly without any generalisation, so a score on repeated trials says nothing about recall
from partial or noisy cues (the train/test overlap problem of memorisation benchmarks; Lewis, Stenetorp &
Riedel 2021, "Question and answer test-train overlap in open-domain question answering datasets").
"""

from __future__ import annotations

from collections.abc import Sequence

from .trial import Trial


def trial_key(trial: Trial) -> tuple[tuple[int, ...], bytes, bytes]:
    """What makes two trials the same: the inputs' shape and values and the due answers."""
    return trial.inputs.shape, trial.inputs.tobytes(), trial.targets.tobytes()


def repeated_trials(train: Sequence[Trial], test: Sequence[Trial]) -> int:
    """The number of ``test`` trials identical (inputs and answers) to at least one ``train`` trial."""
    seen = {trial_key(t) for t in train}
    return sum(trial_key(t) in seen for t in test)


__all__ = ["repeated_trials", "trial_key"]
