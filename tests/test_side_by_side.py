"""Test trials side by side (neurosim.learners.spiking.side_by_side) answer as trials one after another.

Known results they are held to: a copy of a deterministic system in the same state follows the same
trajectory (one copy gives, bit for bit, the decisions, recalled units and spike counts of the learner's
own network, Poisson background included: its stream is a function of seed, neuron and step); copies that
share no synapse are independent (with the background off, a trial's outcome on one of several copies
equals its outcome run alone).
"""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import Hz

from neurosim.learners.spiking import SpikingLearner, SpikingParams
from neurosim.learners.spiking.side_by_side import copies_for, run_side_by_side
from neurosim.learners.spiking.trials import run_block
from neurosim.tasks import AssociativeRecall
from neurosim.validation import ParameterError

#: A small associative-recall instance: 2 patterns of 4 active units among 20 (chance = 50%).
SMALL = AssociativeRecall(n_patterns=2, n_units=20, coding_level=0.2, cue_fraction=0.5)


def _trained(**params) -> SpikingLearner:
    learner = SpikingLearner.for_task(SMALL, SpikingParams(**params), seed=0)
    learner.train(SMALL.trials(6, 0, "train"))
    return learner


def _same(a, b) -> None:
    np.testing.assert_array_equal(a.decisions, b.decisions)
    np.testing.assert_array_equal(a.recalled, b.recalled)
    assert a.counts.keys() == b.counts.keys()
    for pop in a.counts:
        np.testing.assert_array_equal(a.counts[pop], b.counts[pop])


@pytest.mark.integration  # a trained learner and 10 test trials: ~5 s
def test_one_copy_answers_as_the_learners_own_network():
    learner = _trained()
    plans = [learner.plan(t, False) for t in SMALL.trials(5, 0, "test")]
    side = run_side_by_side(learner, plans, copies=1)  # leaves the learner's network as it was
    own = run_block(learner, plans, False)
    assert sum(int(o.counts["mem"].sum()) for o in own) > 0
    for a, b in zip(side, own, strict=True):
        _same(a, b)


@pytest.mark.integration  # a trained learner, 6 replicas: ~6 s
def test_a_trial_on_one_of_several_copies_answers_as_on_one_copy():
    """Three copies, two rounds: a first-round trial answers as it does alone; a second-round trial as it
    does after the first-round trial of its copy (its predecessor there, as the module docstring says)."""
    learner = _trained(noise_rate=0 * Hz)
    plans = [learner.plan(t, False) for t in SMALL.trials(5, 0, "test")]
    together = run_side_by_side(learner, plans, copies=3)  # two rounds: 3 trials, then 2
    for k, (plan, outcome) in enumerate(zip(plans, together, strict=True)):
        alone = [plan] if k < 3 else [plans[k - 3], plan]
        _same(outcome, run_side_by_side(learner, alone, copies=1)[-1])


@pytest.mark.integration  # two trained learners: ~7 s
def test_predict_runs_test_trials_side_by_side():
    """Two learners trained alike: one's ``evaluate`` answers as the other's trials side by side on the
    copies that :func:`copies_for` picks for its size."""
    test = SMALL.trials(4, 0, "test")
    a, b = _trained(), _trained()
    evaluation = a.evaluate(test)
    synapses = sum(b.sim.n_synapses(p.name) for p in b.sim.description.projections)
    copies = copies_for(synapses, len(test))
    assert copies == len(test)
    side = run_side_by_side(b, [b.plan(t, False) for t in test], copies)
    for got, outcome in zip(evaluation.predictions, side, strict=True):
        np.testing.assert_array_equal(got, outcome.decisions)


def test_copies_fill_the_synapse_budget():
    assert copies_for(5_000, 200) == 32  # small network: the most copies
    assert copies_for(60_000, 200) == 16  # associative recall's size: 1M synapses in all
    assert copies_for(60_000, 3) == 3  # never more copies than trials
    assert copies_for(5_000_000, 200) == 1
    with pytest.raises(ParameterError, match="test_copies"):
        SpikingParams(test_copies=-1)
