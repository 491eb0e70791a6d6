"""The spiking learner: its co-activity rule, associative recall learned through plasticity and reward only,
the shared result-record schema, pruning, and bad input refused before any simulation."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
from brian2 import metre, ms, mV, second

from neurosim import (
    LIF,
    ConductionDelay,
    NetworkDescription,
    OneToOne,
    Population,
    Projection,
    SpikeSource,
    build,
)
from neurosim.learners import ResultRecord, run_task
from neurosim.learners.spiking import PLASTIC, CoActivityHebb, SpikingLearner, SpikingParams
from neurosim.metrics import snn_energy_j
from neurosim.plasticity import Rule, RuleCode
from neurosim.tasks import AssociativeRecall, StoreRecall
from neurosim.validation import ParameterError

#: A small associative-recall instance: 2 patterns of 4 active units among 20 (chance = 50%).
SMALL = AssociativeRecall(n_patterns=2, n_units=20, coding_level=0.2, cue_fraction=0.5)


def _pairing(pre_ms: float, post_ms: float, rule: CoActivityHebb) -> float:
    """Weight change of one synapse between two neurons forced to fire once each (100 mV kicks; J = 0 so
    plasticity cannot feed back on the spikes)."""
    instant = ConductionDelay(base=0 * ms, velocity=1e9 * metre / second)  # distance adds nothing
    kicks = SpikeSource(indices=(0, 1), times=[pre_ms - 1, post_ms - 1] * ms)
    cell = LIF(synapse="delta", refractory=0 * ms)
    desc = NetworkDescription(
        populations=(Population("kick", 2, kicks), Population("pre", 1, cell), Population("post", 1, cell)),
        projections=(
            Projection(
                "kick_pre", "kick", "pre", 100 * mV, connectivity=_explicit((0,), (0,)), delay=instant
            ),
            Projection(
                "kick_post", "kick", "post", 100 * mV, connectivity=_explicit((1,), (0,)), delay=instant
            ),
            Projection(
                "syn",
                "pre",
                "post",
                0 * mV,
                connectivity=OneToOne(),
                rules=(rule,),
                w_init=0.5,
                delay=instant,
            ),
        ),
        dt=0.1 * ms,
    )
    sim = build(desc)
    sim.run((max(pre_ms, post_ms) + 5) * ms, progress=False)
    return float(sim.weights("syn")[0] - 0.5)


def _explicit(i, j):
    from neurosim import ExplicitConnections

    return ExplicitConnections(i, j)


def test_coactivity_rule_is_a_symmetric_window():
    """Hebb's co-activity rule with per-neuron traces: a pair Δt apart changes w by η·exp(−|Δt|/τ) whichever
    neuron fires first (a symmetric STDP window), and the gate switches learning off."""
    rule = CoActivityHebb(eta=0.1, tau=20 * ms)
    expected = 0.1 * np.exp(-10 / 20)
    assert _pairing(20, 30, rule) == pytest.approx(expected, rel=0.02)  # pre then post
    assert _pairing(30, 20, rule) == pytest.approx(expected, rel=0.02)  # post then pre
    assert _pairing(20, 100, rule) == pytest.approx(0.1 * np.exp(-80 / 20), abs=1e-3)  # far apart: ~0
    depressing = CoActivityHebb(eta=0.0, tau=20 * ms, depress=0.05)
    assert _pairing(20, 300, depressing) == pytest.approx(-0.05)  # a presynaptic spike alone depresses
    with pytest.raises(ParameterError, match="'depress'"):
        CoActivityHebb(depress=-1.0)


@pytest.fixture(scope="module")
def trained_small():
    """The small instance learned once (6 full-pattern trials: one-shot Hebbian imprint, reward readout)."""
    learner = SpikingLearner.for_task(SMALL, seed=0)
    record = run_task(learner, SMALL, n_train=6, n_test=6, seed=0)
    return learner, record


def test_spiking_learner_learns_small_associative_recall(trained_small):
    """Willshaw et al. 1969 / Hopfield 1982: 2 sparse patterns in 20 units are far below capacity (a clipped
    Hebbian net of N units holds ~ln2·N²/K² patterns of K active units: ~17 here; Hopfield's 0.138·N ≈ 3 for
    dense patterns), so a 50% cue is completed to its pattern; the reward-trained readout names it. Chance is
    50%; we require ≥ 80% and a completed memory (overlap of the recalled units ≥ 0.8)."""
    learner, record = trained_small
    assert record.accuracy >= 0.8
    assert record.extra["overlap"] >= 0.8 and record.extra["overlap_source"] == "recalled"
    w = learner.sim.weights("mem_mem")
    i, j = learner.sim.connections("mem_mem")
    g = learner.params.neurons_per_unit
    together = np.zeros((SMALL.n_units, SMALL.n_units), dtype=bool)
    for p in SMALL.patterns.astype(bool):
        together |= np.outer(p, p)
    inside = together[i // g, j // g]
    assert w[inside].mean() > 0.5 > 0.05 > w[~inside].mean()  # imprinted assemblies, nothing else
    assert learner.controller.trials, "the readout learned through the frontal controller's rewards"


def test_record_schema_is_identical_for_snn_and_lstm(trained_small):
    torch = pytest.importorskip("torch")  # noqa: F841
    from neurosim.learners import LSTMLearner

    _, snn = trained_small
    lstm = run_task(LSTMLearner.for_task(SMALL, hidden_size=4), SMALL, n_train=6, n_test=6, seed=0)
    dicts = [snn.to_dict(), lstm.to_dict()]
    assert list(dicts[0]) == list(dicts[1]) == list(ResultRecord.FIELDS)
    for key in ResultRecord.FIELDS:
        types = {type(d[key]) for d in dicts}
        assert len(types) == 1 or types <= {int, type(None)}, (key, types)
    common = {
        "backend",
        "op_name",
        "train_ops",
        "test_ops",
        "joules_per_op",
        "task",
        "seed",
        "hyperparameters",
    }
    assert common <= set(dicts[0]["extra"]) and common <= set(dicts[1]["extra"])
    assert snn.extra["backend"] == "snn" and snn.ops == snn.extra["train_ops"] + snn.extra["test_ops"] > 0
    assert snn.train_trials == 6


def test_exploration_bias_is_on_in_training_and_off_at_test(trained_small):
    """Exploration by perturbation (Fiete & Seung 2006; Ölveczky et al. 2005): while learning, each readout
    group gets its own random bias of spread ``explore`` (the same for the neurons of one group); at test the
    perturbation is off, so the answer depends on the learned weights only."""
    learner, _ = trained_small
    g = learner.params.neurons_per_output
    learner._perturb(learn=True)
    bias = np.asarray(learner.sim.groups["out"].I_ext[:] / mV).reshape(learner.n_outputs, g)
    assert np.all(bias == bias[:, :1]) and np.ptp(bias[:, 0]) > 0
    learner._perturb(learn=False)
    assert np.all(np.asarray(learner.sim.groups["out"].I_ext[:] / mV) == 0)
    with pytest.raises(ParameterError, match="'explore'"):
        SpikingParams(explore=-1 * mV)


@pytest.mark.slow
def test_associative_recall_target_ten_patterns_from_half_cues():
    """Target: ≥ 90% correct with 10 stored patterns from 50% cues. 10 patterns of 10 active units
    among 100 are far below the clipped Hebbian capacity (~ln2·N²/K² ≈ 70 patterns; Willshaw et al. 1969),
    so the memory completes a 50% cue (Hopfield 1982); the readout learns which group names each pattern by
    trial and error (reward only; 40 trials per pattern, the compare_lstm default). Several minutes."""
    task = AssociativeRecall(n_patterns=10, n_units=100, coding_level=0.1, cue_fraction=0.5)
    learner = SpikingLearner.for_task(task, seed=0)
    record = run_task(learner, task, n_train=400, n_test=50, seed=0)
    assert record.extra["overlap"] >= 0.9  # the cue is completed to its pattern
    assert record.accuracy >= 0.9


def test_energy_counts_synaptic_events_and_plastic_updates(trained_small):
    """Energy = synaptic events × 23.6 pJ + plastic updates while learning × 120 pJ (Loihi; Davies et al.
    2018)."""
    learner, record = trained_small
    assert learner.train_plastic_updates > 0
    assert record.energy_j == pytest.approx(snn_energy_j(record.ops, learner.train_plastic_updates))


def test_prune_removes_the_weakest_plastic_synapses():
    """Minimal-value deletion (Chechik et al. 1998): prune(f) leaves (1 − f) of the plastic synapses, the
    strongest ones; pruning is permanent (a lower fraction is refused)."""
    learner = SpikingLearner.for_task(SMALL, seed=1)
    n0 = learner.n_parameters
    w = np.concatenate([learner.sim.weights(name) for name in PLASTIC])
    removed = learner.prune(0.5)
    assert removed == round(0.5 * n0) and learner.n_parameters == n0 - removed
    kept = np.concatenate([learner.sim.weights(name) for name in PLASTIC])
    assert kept.min() >= np.sort(w)[removed - 1]
    assert learner.pruned_fraction == pytest.approx(0.5, abs=1 / n0)
    with pytest.raises(ParameterError, match="'fraction'"):
        learner.prune(0.25)


def test_mismatched_sizes_and_bad_settings_fail_before_any_simulation():
    task = StoreRecall(max_delay=1)
    learner = SpikingLearner(5, 2, step_duration=task.step_duration)
    with pytest.raises(ParameterError, match="'n_inputs'"):
        run_task(learner, task, n_train=2, n_test=2)
    with pytest.raises(ParameterError, match="'n_inputs'"):
        learner.train(task.trials(2, seed=0))
    assert learner.trials_seen == 0 and float(learner.sim.t / second) == 0.0  # nothing ran
    with pytest.raises(ParameterError, match="'n_outputs'"):
        SpikingLearner(4, 1).train(task.trials(2, seed=0))
    with pytest.raises(ParameterError, match="'write_channel'"):
        SpikingLearner(4, 2, write_channel=7)
    with pytest.raises(ParameterError, match="'read_channel'"):
        SpikingLearner(4, 2, write_channel=2, read_channel=2)
    with pytest.raises(ParameterError, match="'neurons_per_unit'"):
        SpikingParams(neurons_per_unit=0)
    with pytest.raises(ParameterError, match="'w_out_init'"):
        SpikingParams(w_out_init=(0.6, 0.2))


def _unit_rates(learner: SpikingLearner, trial) -> np.ndarray:
    """Mean rate (Hz) of each memory unit in each step of the trial that just ran, (steps, units)."""
    from neurosim.encoding import spike_counts

    i, t = learner._new_spikes("mem")
    start = float(learner.sim.t / second) - trial.n_steps * float(learner.step_duration / second)
    g = learner.params.neurons_per_unit
    counts = spike_counts(i, t - start, learner.n_units * g, trial.n_steps, learner.step_duration)
    return (
        counts.reshape(trial.n_steps, learner.n_units, g).sum(axis=2)
        / g
        / float(learner.step_duration / second)
    )


def test_gated_memory_holds_the_last_stored_bit_through_distractors():
    """Working memory by persistent activity in facilitating synapses (Mongillo et al. 2008) behind a write
    gate: with the two bit assemblies imprinted, STORE+v ignites assembly v and silences the other, which then
    stays active for 6 distractor steps (1.2 s, the store-recall target; Bellec et al. 2018) until the next
    STORE overwrites it."""
    task = StoreRecall(min_delay=0, max_delay=6, value_with_store=True)
    learner = SpikingLearner.for_task(task, seed=0)
    syn = learner.sim.synapses["mem_mem"]
    g = learner.params.neurons_per_unit
    syn.w = (np.asarray(syn.i[:]) // g == np.asarray(syn.j[:]) // g).astype(float)  # the imprinted assemblies
    symbols = [("STORE", 0), 1, 1, 0, 1, 1, 1, "RECALL", ("STORE", 1), 0, 0, 0, 0, 0, 0, "RECALL"]
    trial = task.trial_from_symbols(symbols)
    learner.evaluate([trial])
    rates = _unit_rates(learner, trial)
    stored = np.array([0] * 8 + [1] * 8)  # the bit held at each step
    held = rates[np.arange(len(stored)), stored]
    other = rates[np.arange(len(stored)), 1 - stored]
    assert np.all(held[1:8] > 20) and np.all(held[9:] > 20), rates.round()  # through 6 distractors + RECALL
    assert np.all(other[1:8] < 2) and np.all(other[9:] < 2), rates.round()  # distractors are not written


@dataclass(frozen=True)
class SpikeCounter(Rule):
    """A user's rule that only counts: spikes arriving at each synapse and spikes of each target neuron.
    Both counts are activity that every trial starts without (``RuleCode.rest``)."""

    role = "modifier"

    def code(self) -> RuleCode:
        return RuleCode(
            equations="arrivals : 1",
            on_pre="arrivals += 1",
            post_equations="fired : 1",
            post_on_spike="fired += 1",
            rest={"arrivals": 0.0, "fired": 0.0},
        )


class CountingLearner(SpikingLearner):
    """The spiking learner with the user's SpikeCounter added to its recurrent synapses."""

    def description(self):
        desc = super().description()
        projections = tuple(
            replace(p, rules=(*p.rules, SpikeCounter())) if p.name == "mem_mem" else p
            for p in desc.projections
        )
        return replace(desc, projections=projections)


def test_reset_between_trials_restores_what_a_users_rule_declares():
    """Extension and reset: the learner names no rule variable when it resets between trials; it restores
    whatever the rules of each projection declare (``RuleCode.rest``). A counting rule defined here is set
    far from rest before a test trial; after the trial its per-neuron count equals the spikes of that trial
    exactly (it restarted from 0 at the trial's start), and its per-synapse count is back below the
    sentinel. The built-in rules of the same synapses are restored too (facilitation u = 0 before the run)."""
    learner = CountingLearner.for_task(SMALL, seed=2)
    syn, mem = learner.sim.synapses["mem_mem"], learner.sim.groups["mem"]
    syn.spikecounter_arrivals = 1000.0
    mem.spikecounter_fired = 1000.0
    learner.evaluate(SMALL.trials(1, seed=0))
    i, _ = learner._new_spikes("mem")
    assert len(i) > 0, "the memory population fired in the trial"
    np.testing.assert_array_equal(np.asarray(mem.spikecounter_fired[:]), np.bincount(i, minlength=len(mem)))
    arrivals = np.asarray(syn.spikecounter_arrivals[:])
    assert arrivals.max() < 1000 and arrivals.sum() > 0
