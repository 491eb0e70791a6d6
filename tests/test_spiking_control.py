"""The spiking learner's pruning during learning as :func:`~neurosim.learners.spiking.control.pruner_of`
sets it up: which synapses are candidates."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import Hz

from neurosim.frontal import LowActivity, SynapseStats, select
from neurosim.learners.spiking import SpikingParams
from neurosim.learners.spiking.control import pruner_of
from neurosim.validation import ParameterError


def test_silence_is_judged_on_the_synapse_source():
    """A synapse's input to its target is w times its source's spikes (zero for a silent source), so a
    synapse from a silent source transmits nothing however active its target, while one from an active
    source onto a still quiet readout neuron (a group that has not won yet) carries the signal that group
    will learn from. ``prune_silent`` therefore flags the first and keeps the second; the geometric mean of
    both rates (``side="both"``) would flag both. Weak means below ``prune_weak``."""
    params = SpikingParams(prune_during_learning=True, prune_weak=1e-4, prune_silent=1e-3 * Hz)
    pruner = pruner_of(params)
    stats = SynapseStats(
        w=np.array([0.0, 0.5, 0.5, 0.5, 0.03, 0.5]),
        pre_rate=np.array([4.0, 0.0, 0.0, 4.0, 4.0, 4.0]),  # Hz
        post_rate=np.array([2.0, 0.0, 2.0, 0.0, 2.0, 2.0]),
    )
    # 0: never imprinted (w = 0); 1, 2: silent source; 3: active source, silent target; 4: depressed, not 0
    assert select(pruner.criteria, stats).tolist() == [0, 1, 2]
    both = LowActivity(threshold=1e-3 * Hz, side="both")
    assert select(both, stats).tolist() == [1, 2, 3]
    assert select(LowActivity(threshold=1e-3 * Hz, side="post"), stats).tolist() == [1, 3]
    np.testing.assert_allclose(both.score(stats), np.sqrt(stats.pre_rate * stats.post_rate))
    assert pruner.schedule.cumulative(params.prune_steps) == params.prune_final
    assert pruner_of(SpikingParams()) is None  # the switch off: no pruner


def test_bad_activity_side_is_named():
    with pytest.raises(ParameterError, match="'side'.*'both', 'pre', 'post'"):
        LowActivity(threshold=1 * Hz, side="source")
