"""Training compiled whole (neurosim.learners.spiking.compiled) against the block path it replaces.

Reference: the learner's own block path (:func:`neurosim.learners.spiking.trials.run_block`, itself tested
equal to one Python-controller trial per answer in tests/test_spiking_learner.py), on the numpy target, with
the same seed and trials. Compiled on cpp_standalone, with the trial protocol as schedules and the judgement
in generated code, the learner must make the same decisions, receive the same rewards and signals, and end
with the same weights, excitability and baselines (to 1e-12: the dopamine level decays step by step where
the table takes one exponential per row), over two training calls in a row (state, baselines and the
dopamine still decaying carried from the first into the second) and on the test trials that follow.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from brian2 import mV, second

from neurosim.learners.spiking import PLASTIC, SpikingLearner, SpikingParams
from neurosim.learners.spiking.compiled import compiles
from neurosim.tasks import AssociativeRecall, PairedAssociation, StoreRecall

pytestmark = pytest.mark.compiled

#: A paired association (a silent choice step switches the imprinting off), a small store-recall (write
#: gate, delays, several answers per trial) and associative recall with its teacher (the readout still fires
#: when the next trial starts: the reset must reach refractory neurons too, as the runtime reset does); each
#: with homeostasis and a reward baseline.
TASKS = {
    "associative": (AssociativeRecall(n_patterns=3, n_units=30, coding_level=0.2, cue_fraction=0.5), 12),
    "paired": (PairedAssociation(n_pairs=2, n_units=20, coding_level=0.2), 6),
    "store_recall": (StoreRecall(min_delay=0, max_delay=2, p_store=0.5, value_with_store=True), 5),
}


def _train_and_test(task, n_train: int, compiled: bool) -> dict:
    params = SpikingParams(
        compiled_training=compiled, imprint_only_with_input=True, readout_homeostasis=1 * mV, test_copies=1
    )
    learner = SpikingLearner.for_task(task, params, seed=0, target="numpy")
    assert compiles(learner)
    trials = task.trials(2 * n_train, seed=0, split="train")
    first = learner.train(trials[:n_train])
    later = learner.train(trials[n_train:])
    evaluation = learner.evaluate(task.trials(4, seed=0, split="test"))
    return {
        "judged": [(r.output, r.target, r.reward, r.signal, r.stop) for r in learner.controller.trials],
        "train": first.scores + later.scores,
        "test": [p.tolist() for p in evaluation.predictions],
        "ops": (first.ops, later.ops, evaluation.ops, learner.train_plastic_updates),
        "weights": {name: learner.sim.weights(name) for name in PLASTIC},
        "excitability": learner.excitability.copy(),
        "baseline": dict(sorted(learner.controller.baseline.values.items())),
        "t": float(learner.sim.t / second),
    }


@pytest.mark.parametrize("task", sorted(TASKS))
def test_compiled_training_equals_the_block_path(task, tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROSIM_CACHE", str(tmp_path / "cache"))
    task, n_train = TASKS[task]
    block = _train_and_test(task, n_train, False)
    compiled = _train_and_test(task, n_train, True)
    np.testing.assert_allclose(np.array(compiled["judged"]), np.array(block["judged"]), rtol=0, atol=1e-12)
    assert {r[2] for r in block["judged"]} == {1.0, -0.5}, "both a reward and a punishment were sent"
    assert compiled["train"] == block["train"] and compiled["test"] == block["test"]
    assert compiled["ops"] == block["ops"] and compiled["t"] == pytest.approx(block["t"])
    np.testing.assert_allclose(compiled["excitability"], block["excitability"], rtol=0, atol=1e-12)
    assert compiled["baseline"].keys() == block["baseline"].keys()
    np.testing.assert_allclose(
        list(compiled["baseline"].values()), list(block["baseline"].values()), atol=1e-12
    )
    for name in PLASTIC:
        np.testing.assert_allclose(compiled["weights"][name], block["weights"][name], rtol=0, atol=1e-12)
    assert np.ptp(block["weights"]["mem_out"]) > 0.05  # the readout learned


def test_switches_the_compiled_run_cannot_do_train_on_the_runtime_target():
    task, _ = TASKS["paired"]
    for switch in ({"delayed_reward": True, "tau_c": 2 * second}, {"prune_during_learning": True}):
        learner = SpikingLearner.for_task(
            task, replace(SpikingParams(compiled_training=True), **switch), seed=0, target="numpy"
        )
        assert not compiles(learner)
