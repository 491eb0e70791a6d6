"""The sweeps run on a trained learner after its test: store-recall accuracy at fixed delays, and
associative recall accuracy as more of the learner's trainable synapses or weights are pruned.

Pruning is permanent (:meth:`SpikingLearner.prune <neurosim.learners.spiking.SpikingLearner.prune>` and
the conventional learners' ``prune`` refuse a fraction below the one already pruned), so a learner that
pruned during training (``pruned_fraction`` > 0 after it, e.g. the frontal controller's pruning during
learning) is swept only from its own pruned fraction on; the fractions below it are reported as skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..tasks import Trial


def pruning_sweep(learner: Any, probe: Sequence[Trial], fractions: Iterable[float]) -> dict[str, Any]:
    """Accuracy on ``probe`` and parameters in use after pruning ``learner`` to each of ``fractions`` in
    increasing order: ``{"pruning": {"<f>": {"accuracy", "parameters"}}, "pruning_skipped": [fractions
    below the learner's own], "pruned_in_training": its pruned fraction before the sweep}``."""
    already = float(learner.pruned_fraction)
    points: dict[str, Any] = {}
    skipped: list[float] = []
    for f in sorted(fractions):
        if f < already:  # pruning is permanent: the learner cannot return to fewer pruned synapses
            skipped.append(float(f))
            continue
        learner.prune(f)
        points[f"{f:g}"] = {
            "accuracy": float(learner.evaluate(probe).accuracy),
            "parameters": int(learner.n_parameters),
        }
    return {"pruning": points, "pruning_skipped": skipped, "pruned_in_training": already}


def delay_sweep(learner: Any, trials_at: dict[int, Sequence[Trial]]) -> dict[str, float]:
    """Accuracy at each fixed delay: ``trials_at`` maps a delay (steps) to its test trials."""
    return {str(d): float(learner.evaluate(trials).accuracy) for d, trials in trials_at.items()}


__all__ = ["delay_sweep", "pruning_sweep"]
