"""A learner's result in a unit of the comparison (``experiments/compare_lstm.py``'s ``run_unit``), made from
known test answers, for the report's tests: the record and the costs, with fixed times and sizes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def learner_result(
    right: np.ndarray,
    *,
    n_outputs: int,
    plastic: int = 100,
    counts: Mapping[str, int] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``{"record", "costs"}`` of a learner whose test answers are ``right`` (1 right, 0 wrong), with
    ``plastic`` plastic parameters, energy ``counts`` (default: 1,000 synaptic events) and ``extra`` record
    fields."""
    right = np.asarray(right).astype(int)
    record = {
        "accuracy": float(right.mean()),
        "train_trials": 10,
        "trials_to_criterion": None,
        "train_wall_s": 0.1,
        "test_wall_s": 0.2,
        "parameters": 100,
        "ops": 1000,
        "energy_j": 1e-9,
        "extra": {
            "test_correct": right.tolist(),
            "test_answers": right.size,
            "test_repeats": 0,
            "n_test": right.size,
            "n_outputs": n_outputs,
            "hyperparameters": {},
            **(extra or {}),
        },
    }
    costs = {
        "parameters_plastic": plastic,
        "parameters_total": 150,
        "nonzero_weights": 90,
        "energy_counts": dict(counts or {"synaptic_events": 1000}),
        "energy_breakdown": {"energy_j": 1e-9},
    }
    return {"record": record, "costs": costs}
