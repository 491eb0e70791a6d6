"""The spiking learner's encoding/retrieval switch (``imprint_only_with_input``) and its readout
excitability homeostasis (``readout_homeostasis``)."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import mV, second

from neurosim.learners.spiking import SpikingLearner, SpikingParams
from neurosim.learners.spiking.homeostasis import conscience_step
from neurosim.learners.spiking.trials import imprint_changes
from neurosim.tasks import AssociativeRecall, PairedAssociation
from neurosim.validation import ParameterError

#: A small paired association: a cue step with input, then a silent choice step (no teacher).
PAIRED = PairedAssociation(n_pairs=2, n_units=20, coding_level=0.2)


class _Probe:
    """Reads ``mem_mem``'s weights at the given time steps of each plan, through the hook that learned gating
    uses to act at step starts (``actions(plan, learn)``)."""

    def __init__(self, learner: SpikingLearner) -> None:
        self.learner, self.weights = learner, []

    def actions(self, plan, learn):
        step = plan.n_steps // plan.trial.n_steps
        ticks = [0, plan.lead, plan.lead + step, plan.length]  # ITI, cue step, silent step, end
        return [(x, self._read) for x in ticks], None

    def _read(self) -> None:
        self.weights.append(self.learner.sim.weights("mem_mem").copy())


def _imprinting(only_with_input: bool) -> tuple[list[np.ndarray], int]:
    """``mem_mem``'s weights at the start of the inter-trial interval, the cue step, the silent choice step
    and the end of one training trial, and the memory's spikes in the silent step."""
    params = SpikingParams(imprint_only_with_input=only_with_input, readout_homeostasis=0 * mV)
    learner = SpikingLearner.for_task(PAIRED, params, seed=0, target="numpy")
    learner.gates = probe = _Probe(learner)
    learner.train(PAIRED.trials(1, seed=0, split="train"))
    p, step = learner.params, learner.step_duration
    _, t = learner.sim.spikes_since("mem", 0)
    silent_start = float((p.iti + step) / second)
    in_silent = int(np.sum((t >= silent_start) & (t < silent_start + float(step / second))))
    return probe.weights, in_silent


@pytest.mark.integration  # two learners on numpy, one trial each: ~3 s
def test_imprinting_only_in_steps_with_input():
    """Encoding vs retrieval (acetylcholine; Hasselmo et al. 1995, Hasselmo 2006): with the switch on,
    ``mem_mem`` learns in the cue step, which has input, and not in the silent choice step, although the cued
    assembly keeps firing there (recall); with it off the same activity in the silent step imprints more.
    The inter-trial interval (no input, memory at rest) changes nothing either way."""
    (iti, cue, silent, end), fired = _imprinting(True)
    assert fired > 0, "the memory recalls (fires) in the silent step"
    np.testing.assert_array_equal(cue, iti)
    assert np.abs(silent - cue).max() > 0.1, "the cue step imprints"
    np.testing.assert_array_equal(end, silent)
    (iti_off, cue_off, silent_off, end_off), fired_off = _imprinting(False)
    assert fired_off > 0
    np.testing.assert_array_equal(cue_off, iti_off)
    np.testing.assert_array_equal(silent_off, silent)  # the same run up to the silent step
    assert np.abs(end_off - silent_off).max() > 0.01, "with the switch off the silent step imprints"


def test_imprint_changes_follow_the_inputs():
    """The gate is off through the inter-trial interval, on in steps with input, off in silent ones; only
    the changes are listed (the first entry sets the gate at the trial's start)."""
    x = np.array([[1, 0], [0, 1], [0, 0], [0, 0], [1, 1]])
    assert imprint_changes(x, 300, 200) == ((0, 0.0), (300, 1.0), (700, 0.0), (1100, 1.0))
    assert imprint_changes(x, 0, 200) == ((0, 1.0), (400, 0.0), (800, 1.0))


def test_the_teacher_is_input_too():
    """Encoding while external input arrives: in a training trial of associative recall (the full pattern,
    then a silent recall step whose answer window is followed by the teacher, the experienced pattern),
    imprinting is on in the cue step, off in the answer window and on again when the teacher comes on."""
    task = AssociativeRecall(n_patterns=2, n_units=20, coding_level=0.2, cue_fraction=0.5)
    learner = SpikingLearner.for_task(task, seed=0, target="numpy")
    plan = learner.plan(task.trials(1, seed=0, split="train")[0], learn=True)
    p = learner.params
    lead, step, onset = (int(round(float(q / p.dt))) for q in (p.iti, learner.step_duration, p.teacher_onset))
    assert plan.imprint == ((0, 0.0), (lead, 1.0), (lead + step, 0.0), (lead + step + onset, 1.0))
    assert learner.plan(task.trials(1, seed=0, split="test")[0], learn=False).imprint == ()


def test_conscience_bias_has_the_closed_form():
    """After decisions d_1..d_T among K groups (−1: none) each group's bias is η·Σ_t (1/K − won_k,t) =
    η·(T/K − wins_k) (DeSieno 1988)."""
    decisions = [0, 0, 2, -1, 0, 1, 2, 0]
    eta, k = 1.5, 4
    bias = np.zeros(k)
    for d in decisions:
        bias = conscience_step(bias, d, eta)
    wins = np.bincount([d for d in decisions if d >= 0], minlength=k)
    np.testing.assert_allclose(bias, eta * (len(decisions) / k - wins), rtol=0, atol=1e-12)


def test_conscience_equalises_how_often_groups_win():
    """DeSieno's (1988) result: with a conscience every competitor wins about 1/K of the time, however
    unequal their drives (here winner-take-all over fixed drives 6, 3, 1, 0 mV; without it group 0 always
    wins)."""
    drive = np.array([6.0, 3.0, 1.0, 0.0])
    bias, wins = np.zeros(4), np.zeros(4)
    for _ in range(4000):
        d = int(np.argmax(drive + bias))
        wins[d] += 1
        bias = conscience_step(bias, d, 0.5)
    np.testing.assert_allclose(wins / wins.sum(), 0.25, atol=0.01)


@pytest.mark.integration  # one learner on numpy, 5 + 2 trials: ~4 s
def test_homeostasis_follows_the_judged_decisions_in_training_only():
    """In training the excitability after the judged decisions (the controller's record, an independent
    count) is η·(T/K − wins_k) and joins the exploration bias at the next trial's start; at test the
    readout gets no bias at all; 0 mV switches it off."""
    learner = SpikingLearner.for_task(PAIRED, seed=0, target="numpy")
    learner.train(PAIRED.trials(5, seed=0, split="train"))  # odd: two groups cannot win equally often
    outputs = [int(r.output) for r in learner.controller.trials]
    k, eta = learner.n_outputs, float(learner.params.readout_homeostasis / mV)
    wins = np.bincount([o for o in outputs if o >= 0], minlength=k)
    expected = eta * (len(outputs) / k - wins)
    np.testing.assert_allclose(learner.excitability, expected, rtol=0, atol=1e-12)
    assert np.abs(expected).max() > 0
    g = learner.params.neurons_per_output
    trial = PAIRED.trials(1, seed=1, split="train")[0]
    plan = learner.plan(trial, learn=True)
    learner._start_trial(plan, learn=True)
    applied = np.asarray(learner.sim.groups["out"].I_ext[:] / mV)
    np.testing.assert_allclose(applied, np.repeat(plan.bias + expected, g), rtol=0, atol=1e-9)
    learner._start_trial(learner.plan(trial, learn=False), learn=False)
    assert np.all(np.asarray(learner.sim.groups["out"].I_ext[:] / mV) == 0)
    off = SpikingLearner.for_task(PAIRED, SpikingParams(readout_homeostasis=0 * mV), seed=0, target="numpy")
    off.train(PAIRED.trials(2, seed=0, split="train"))
    assert np.all(off.excitability == 0)


def test_bad_homeostasis_is_refused_with_its_name():
    with pytest.raises(ParameterError, match="'readout_homeostasis'.*>= 0"):
        SpikingParams(readout_homeostasis=-1 * mV)
    with pytest.raises(ParameterError, match="'readout_homeostasis'.*mV"):
        SpikingParams(readout_homeostasis=1.0)
