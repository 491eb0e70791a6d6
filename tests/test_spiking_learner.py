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
from neurosim.tasks import AssociativeRecall, PairedAssociation, StoreRecall
from neurosim.validation import ParameterError

#: A small associative-recall instance: 2 patterns of 4 active units among 20 (chance = 50%).
SMALL = AssociativeRecall(n_patterns=2, n_units=20, coding_level=0.2, cue_fraction=0.5)
#: A small paired association: a cue step, then a silent choice step.
PAIRED = PairedAssociation(n_pairs=2, n_units=20, coding_level=0.2)


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
    trial = SMALL.trials(1, seed=0)[0]
    plan = learner.plan(trial, learn=True)
    learner._start_trial(plan, learn=True)
    bias = np.asarray(learner.sim.groups["out"].I_ext[:] / mV).reshape(learner.n_outputs, g)
    assert np.all(bias == bias[:, :1]) and np.ptp(plan.bias) > 0
    np.testing.assert_allclose(bias[:, 0], plan.bias + learner.excitability)  # + homeostasis (training)
    learner._start_trial(learner.plan(trial, learn=False), learn=False)
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


def _run_both_ways(
    target: str, n_train: int, n_test: int, params: SpikingParams | None = None, task=SMALL
) -> dict[bool, dict]:
    """The same trials on two learners of one seed: in blocks (one run each) and trial by trial; test trials
    one after another on both (side by side: tests/test_side_by_side.py)."""
    out = {}
    one_by_one = replace(params or SpikingParams(), test_copies=1)
    for blocks in (True, False):
        learner = SpikingLearner.for_task(task, one_by_one, seed=0, target=target, blocks=blocks)
        log = learner.train(task.trials(n_train, seed=0, split="train"))
        evaluation = learner.evaluate(task.trials(n_test, seed=0, split="test"))
        out[blocks] = {
            "train": log.scores,
            "judged": [(r.output, r.target, r.reward, r.signal, r.stop) for r in learner.controller.trials],
            "test": [p.tolist() for p in evaluation.predictions],
            "ops": (log.ops, evaluation.ops, learner.train_plastic_updates),
            "weights": {name: learner.sim.weights(name) for name in PLASTIC},
            "t": float(learner.sim.t / second),
            "delays": [r.delivered_at - r.stop for r in learner.controller.trials],
            "signals": [r.signal for r in learner.controller.trials],
            "late": learner.sim.variable("mem_out", "capture_z") if learner.params.consolidation else None,
            "excitability": learner.excitability.copy(),
        }
    return out


def _assert_same_run(runs: dict[bool, dict]) -> None:
    block, single = runs[True], runs[False]
    # decisions, targets, rewards, signals (after the baseline) and times of every judged answer
    np.testing.assert_allclose(np.array(block["judged"]), np.array(single["judged"]), rtol=0, atol=1e-12)
    assert {r[2] for r in block["judged"]} == {1.0, -0.5}, "both a reward and a punishment were sent"
    assert block["train"] == single["train"] and block["test"] == single["test"]
    assert block["ops"] == single["ops"] and block["t"] == pytest.approx(single["t"])
    np.testing.assert_allclose(block["excitability"], single["excitability"], rtol=0, atol=1e-12)
    for name in PLASTIC:  # the same weights, up to the rounding of the dopamine table's row times
        np.testing.assert_allclose(block["weights"][name], single["weights"][name], rtol=0, atol=1e-12)
    assert np.ptp(block["weights"]["mem_out"]) > 0.1 and block["weights"]["mem_mem"].max() > 0.5  # learned


@pytest.mark.integration  # two learners, one of them trial by trial on numpy: ~8 s
def test_a_block_of_trials_in_one_run_equals_trial_by_trial():
    """Running trials in blocks is an implementation of the same model, not a new one: a block in one run
    (decisions, rewards and resets at step boundaries, dopamine added to the table inside the run) gives
    the same decisions, rewards, operations and weights as one Python-controller trial per answer (numpy
    target, fixed seed; both reward signs sent), up to the rounding of the dopamine table's row times."""
    _assert_same_run(_run_both_ways("numpy", n_train=3, n_test=2))


@pytest.mark.integration  # two learners, one of them trial by trial on numpy: ~11 s
def test_blocks_equal_trial_by_trial_with_imprinting_switched_by_input_and_homeostasis():
    """With ``imprint_only_with_input`` (paired association: the gate goes off in the silent choice step,
    inside a block's run or between the trial-by-trial runs) and ``readout_homeostasis`` (the excitability
    after each judged decision, added at the next trial's start), both ways still give the same decisions,
    weights and excitability."""
    params = SpikingParams(imprint_only_with_input=True, readout_homeostasis=1 * mV)
    runs = _run_both_ways("numpy", n_train=5, n_test=2, params=params, task=PAIRED)
    _assert_same_run(runs)
    assert np.abs(runs[True]["excitability"]).max() > 0


@pytest.mark.compiled
def test_a_block_of_trials_in_one_compiled_run_equals_trial_by_trial():
    """As above on the compiled target (cython), over more trials."""
    _assert_same_run(_run_both_ways("cython", n_train=8, n_test=4))


def test_training_answers_are_read_before_the_teacher_comes_on():
    """Prequential training answers: in training the teacher (the target pattern added to the input) must
    not drive the network while the answer of a scored step is read. The teacher-only input sources fire
    only from ``teacher_onset`` into the step on (and do fire then), and the controller judged the decision
    of the readout's spikes in the window before it."""
    trial = SMALL.trials(1, seed=0, split="train")[0]
    learner = SpikingLearner.for_task(SMALL, seed=4)
    drawn = learner._rng.bit_generator.state
    plan = learner.plan(trial, learn=True)
    learner._rng.bit_generator.state = drawn  # training draws this same plan again
    dt, step = learner.params.dt, learner.step_duration
    onset = int(round(float(learner.params.teacher_onset / dt)))
    (read,) = plan.reads
    assert (read.start, read.stop) == (read.step * round(float(step / dt)), read.start + onset)
    teacher_only = np.flatnonzero((trial.target_patterns[read.step] > 0) & (trial.inputs[read.step] == 0))
    g = learner.params.neurons_per_input
    from_teacher = np.isin(plan.spikes.indices // g, teacher_only)
    bins = np.round(np.asarray(plan.spikes.times / dt)).astype(int)[from_teacher]
    assert len(teacher_only) and np.any((bins >= read.stop) & (bins < read.start + round(float(step / dt))))
    assert not np.any((bins >= read.start) & (bins < read.stop)), "teacher on while the answer is read"
    learner.train([trial])
    judged = learner.controller.trials[-1]
    first = float((learner.params.iti + read.step * step) / second)
    assert judged.start == pytest.approx(first) and judged.stop == pytest.approx(
        first + onset * float(dt / second)
    )
    i, t = learner.sim.spikes_since("out", 0)
    inside = (t >= judged.start - 1e-9) & (t < judged.stop - 1e-9)
    counts = np.bincount(i[inside], minlength=learner.n_outputs * learner.params.neurons_per_output)
    assert judged.output == learner.decoder.decode(counts[None, :])[0]


def test_progress_reports_every_trial_with_the_time_left(trained_small):
    """Progress by trial: one call per finished trial, counting up to the total, the estimate of the time
    left ending at zero."""
    learner, _ = trained_small
    calls = []
    learner.progress = lambda *args: calls.append(args)
    try:
        learner.evaluate(SMALL.trials(3, seed=5, split="test"))
    finally:
        learner.progress = None
    assert [c[:3] for c in calls] == [("test", k, 3) for k in (1, 2, 3)]
    assert all(c[3] >= 0 for c in calls) and calls[-1][3] == 0


def test_blocks_refuse_bad_settings_before_running(trained_small):
    """A block's ticks must fit its duration and the current time; a teacher must start inside the step."""
    from neurosim.backend import run_with_ticks

    learner, _ = trained_small
    t = learner.sim.t
    with pytest.raises(ParameterError, match="'duration'"):
        run_with_ticks(learner.sim, 250 * ms, 100 * ms, lambda k: None)
    every = t + 1 * ms  # the current time does not lie on its grid
    with pytest.raises(ParameterError, match="'every'"):
        run_with_ticks(learner.sim, every, every, lambda k: None)
    assert learner.sim.t == t  # nothing ran
    with pytest.raises(ParameterError, match="'teacher_onset'"):
        SpikingLearner.for_task(SMALL, SpikingParams(teacher_onset=300 * ms))


#: Distal reward (Izhikevich 2007): the reward 1 s after the decision, eligibility lasting as long.
DELAYED = SpikingParams(delayed_reward=True, reward_delay=1 * second, tau_c=1 * second)


@pytest.mark.integration  # two learners, one of them trial by trial on numpy: ~10 s
def test_delayed_reward_in_blocks_equals_the_controllers_delayed_trials():
    """``delayed_reward``: every reward reaches the eligibility ``reward_delay`` after its decision. Sent
    from inside a block's run (added to the running dopamine table) it moves the weights exactly as the
    controller's own delayed delivery between trial-by-trial runs (``DopamineSignal.deliver``, an
    independent path), so the delayed amount acts through eligibility alone; the readout still learns."""
    runs = _run_both_ways("numpy", n_train=4, n_test=2, params=DELAYED)
    _assert_same_run(runs)
    assert runs[True]["delays"] == pytest.approx([1.0] * 4) == runs[False]["delays"]


def test_switches_refuse_bad_combinations_before_building():
    """Each switch names the setting it needs: a delayed reward needs eligibility that outlasts it."""
    with pytest.raises(ParameterError, match="'tau_c'.*reward_delay"):
        SpikingParams(delayed_reward=True, reward_delay=1 * second)  # tau_c 100 ms
    with pytest.raises(ParameterError, match="'reward_delay'"):
        SpikingParams(delayed_reward=True, reward_delay=90 * second, tau_c=100 * second)
    with pytest.raises(ParameterError, match="'prune_final'"):
        SpikingParams(prune_during_learning=True, prune_final=1.5)
    with pytest.raises(ParameterError, match="'consolidation_time_scale'"):
        SpikingParams(consolidation=True, consolidation_time_scale=0)
    SpikingParams(reward_delay=1 * second)  # the delay alone (switch off) needs nothing


@pytest.mark.integration  # two learners on numpy: ~10 s
def test_pruning_during_learning_follows_the_schedule_and_equals_zeroed_synapses():
    """``prune_during_learning``: every ``prune_every`` training trials the controller removes up to the
    schedule's count of weak plastic synapses, weakest first (LTD → pruning), and compacts them. Removing a
    synapse is the same as silencing it: a learner trained alike without pruning, with the same synapses'
    weights set to zero, answers every test trial the same and its populations fire the same spikes."""
    params = SpikingParams(prune_during_learning=True, prune_every=4, prune_steps=2, prune_final=0.8)
    trials = SMALL.trials(4, seed=0, split="train")
    pruned = SpikingLearner.for_task(SMALL, params, seed=0, target="numpy")
    kept = SpikingLearner.for_task(SMALL, seed=0, target="numpy")
    n0 = {name: pruned.sim.n_synapses(name) for name in PLASTIC}
    calls = []
    pruned.progress = lambda *args: calls.append(args[:3])
    pruned.train(trials)
    pruned.progress = None
    kept.train(trials)
    assert calls == [("train", k, 4) for k in (1, 2, 3, 4)]
    events = {e.projection: e for e in pruned.controller.history.events}
    schedule = pruned.controller.pruner.schedule
    for name in PLASTIC:
        w = kept.sim.weights(name)
        weak = np.abs(w) < params.prune_weak
        expected = min(schedule.count(1, n0[name]), int(weak.sum()))
        assert events[name].step == 1 and events[name].count == expected > 0
        assert np.all(np.abs(events[name].weight) < params.prune_weak)
        assert n0[name] - pruned.sim.n_synapses(name) == events[name].count
        i, j = kept.sim.connections(name)
        gone = np.isin(i * 10**6 + j, events[name].pre * 10**6 + events[name].post)
        assert gone.sum() == events[name].count
        np.testing.assert_array_equal(pruned.sim.weights(name), w[~gone])
        kept.sim.set_variable(name, "w", np.where(gone, 0.0, w))
    assert pruned.pruned_fraction == pytest.approx(1 - pruned.n_parameters / kept.n_parameters)
    test = SMALL.trials(4, seed=1, split="test")
    spikes = {}
    for learner in (pruned, kept):
        before = {pop: learner.sim.n_spikes(pop) for pop in ("mem", "out")}
        predictions = learner.evaluate(test).predictions
        spikes[learner is pruned] = (
            [p.tolist() for p in predictions],
            {pop: learner.sim.spikes_since(pop, before[pop])[0].tolist() for pop in before},
        )
    assert spikes[True] == spikes[False]


@pytest.mark.integration  # two learners, one of them trial by trial on numpy: ~12 s
def test_consolidation_captures_rewarded_readout_changes_in_blocks_as_trial_by_trial():
    """``consolidation``: reward-driven ``mem_out`` changes are the early phase of tagging and capture
    (RewardConsolidation, Frey & Morris 1997); a reward-prediction error >= ``consolidate_above`` switches
    protein synthesis on, and tagged synapses move their change into the late phase ``z``. Judged inside a
    block's run, the switch acts exactly as between the controller's trial-by-trial runs (same decisions,
    weights and late phase), and some rewarded change has been captured."""
    params = SpikingParams(consolidation=True, consolidation_time_scale=3000.0)
    runs = _run_both_ways("numpy", n_train=6, n_test=2, params=params)
    _assert_same_run(runs)
    assert max(runs[True]["signals"]) >= params.consolidate_above
    np.testing.assert_allclose(runs[True]["late"], runs[False]["late"], rtol=0, atol=1e-12)
    assert np.abs(runs[True]["late"]).max() > 0.05, "a rewarded change became late phase"
