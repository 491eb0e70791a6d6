"""Surprise-gated plasticity: the novelty detector's response against the Tsodyks–Markram recursion and its
steady state (Tsodyks, Pawelzik & Markram 1998), the salience trace against its closed form, the gate's
weight change against the plain rule's, the novelty task against its own specification, bad parameters,
the episodic memory (a learner like the others; salience on beats off on novel items, the von Restorff
effect) and the experiment's quick run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from brian2 import metre, ms, mV, second

import neurosim as ns
from neurosim.learners import run_task
from neurosim.learners.episodic import EpisodicMemory, EpisodicParams
from neurosim.plasticity.rule import RuleError
from neurosim.plasticity.salience import SalienceBoost, SalienceGated, SalienceSignal
from neurosim.salience import NoveltyDetector, resources, steady_state_resources
from neurosim.statistics import mcnemar_exact
from neurosim.tasks import TASKS
from neurosim.tasks.novelty import NoveltyRecall
from neurosim.validation import ParameterError

ROOT = Path(__file__).resolve().parents[1]
REPEATED = np.arange(0.0, 700.0, 50.0)  # ms: a familiar stimulus, one spike every 50 ms (14 spikes)
NEW = 700.0  # ms: a new stimulus, its first spike
DT = 0.5  # ms: the time step


def _detector_network():
    """One repeated and one new stimulus (two sources) onto two one-neuron detectors that differ only in
    their input weight: 'sub' never fires (its membrane shows each spike's efficacy), 'det' fires when
    J·U·x crosses threshold; det's salience goes to a population of 2 neurons."""
    times = np.r_[REPEATED, NEW]
    order = np.argsort(times, kind="stable")
    index = np.r_[np.zeros(len(REPEATED), int), 1][order]
    stim = ns.Population("stim", 2, ns.SpikeSource(indices=index, times=times[order] * ms))
    common = dict(n=1, U=0.5, tau_d=1 * second, kick=0.1, tau_s=200 * ms, delay=1 * ms)
    fast = ns.LIF(tau_m=1 * ms, synapse="delta")  # at rest again long before the next spike
    sub = NoveltyDetector(name="sub", weight=30 * mV, neuron=fast, **common)  # J·U = 15 mV < 20 mV
    slow = ns.LIF(tau_m=10 * ms, synapse="delta")  # a jump decays by 5% before the threshold sees it
    det = NoveltyDetector(name="det", weight=50 * mV, neuron=slow, **common)  # fires while 25·x·0.95 > 20
    target = ns.Population("target", 2, ns.LIF(synapse="delta"))
    p_sub, sub_in, _ = sub.parts("stim", "target")
    p_det, det_in, det_out = det.parts("stim", "target")
    desc = ns.NetworkDescription(
        populations=(stim, target, p_sub, p_det),
        projections=(sub_in, det_in, det_out),
        recordings=(
            ns.SpikeRecording("det"),
            ns.SpikeRecording("sub"),
            ns.StateRecording("sub", ("v",)),
            ns.StateRecording("target", ("salience_s",)),
        ),
        dt=DT * ms,
    )
    return ns.build(desc, target="numpy").run(900 * ms, progress=False)


@pytest.fixture(scope="module")
def detector_sim():
    return _detector_network()


def test_steady_state_resources_by_hand():
    """x_∞ = (1 − E)/(1 − (1 − U)E) with E = e^{−50/1000} = 0.951229, U = 0.5: 0.048771/0.524385 = 0.093006,
    and the recursion from a rested synapse converges to it (factor (1 − U)E per spike)."""
    assert steady_state_resources(50 * ms, 0.5, 1 * second) == pytest.approx(0.093006, abs=2e-6)
    x = resources(20, 50 * ms, 0.5, 1 * second)
    assert x[0] == 1.0 and x[1] == pytest.approx(1 - 0.5 * 0.951229, abs=1e-6)
    assert x[-1] == pytest.approx(0.093006, abs=2e-6)


def test_detector_drive_is_the_tsodyks_markram_efficacy_repeated_vs_new(detector_sim):
    """Each input spike moves the subthreshold detector's membrane by J·U·x_n (delta synapse, recorded at
    the step it lands): the repeated stimulus's n-th spike by 15 mV·x_n, down to 15 mV·x_∞ = 1.395 mV at
    steady state, the new stimulus's first spike by the full 15 mV. A familiar stimulus drives the detector
    x_∞ = 0.093 times as strongly as a new one."""
    rec = detector_sim.state("sub")
    t, v = np.asarray(rec.t / ms), np.asarray(rec.v[0] / mV) + 70.0  # above rest
    arrivals = np.r_[REPEATED, NEW] + 1.0  # the projection's 1 ms delay
    peaks = np.array([v[(t >= a) & (t < a + 2)].max() for a in arrivals])  # tau_m = 1 ms: back at rest
    expected = 15.0 * np.r_[resources(len(REPEATED), 50 * ms, 0.5, 1 * second), 1.0]
    np.testing.assert_allclose(peaks, expected, rtol=1e-6)
    assert peaks[len(REPEATED) - 1] / peaks[-1] == pytest.approx(0.093006, abs=1e-4)


def test_salience_trace_rises_for_the_new_stimulus_and_not_the_familiar_one(detector_sim):
    """The firing detector (J·U = 25 mV, 5% lost before the threshold test) fires only for spikes with
    25·0.95·x_n > 20 mV: the first of the repeated train (x_2 = 0.524 falls short) and the new stimulus.
    The salience of every target neuron is then s(t) = κ Σ_k e^{−(t − t_k − 1 ms − dt)/τ_s} over those
    detector spikes t_k (delay 1 ms; a jump made in a step's synaptic phase shows from the next step on)."""
    x = resources(len(REPEATED), 50 * ms, 0.5, 1 * second)
    assert (25 * math.exp(-DT / 10) * x > 20).sum() == 1
    _, spikes = detector_sim.spikes("det")
    spikes = np.asarray(spikes / ms)
    assert len(spikes) == 2
    assert spikes[0] < 5 and NEW < spikes[1] < NEW + 5
    rec = detector_sim.state("target")
    t, s = np.asarray(rec.t / ms), np.asarray(rec.salience_s)
    arrive = spikes + 1.0 + DT  # 1 ms delay; a jump in the synapses' phase is seen from the next step
    expected = sum(0.1 * np.exp(-(t - a) / 200.0) * (t > a - DT / 2) for a in arrive)
    np.testing.assert_allclose(s, np.broadcast_to(expected, s.shape), atol=1e-9)


def _gated_pairing(salience: np.ndarray) -> dict[str, np.ndarray]:
    """Pre neuron k fires at 10 ms, post neuron k is made to fire at 15 ms (a potentiating pair), onto
    three projections: plain PairSTDP, PairSTDP gated by 2·s, and the gate with g_0 = 1, g = 0. Each post
    neuron's salience is set to ``salience[k]`` before the run (τ_s so long that it stays)."""
    n = len(salience)
    pre = ns.Population("pre", n, ns.SpikeSource(indices=range(n), times=[10.0] * n * ms))
    quiet = ns.Population("quiet", 1, ns.SpikeSource())
    post = ns.Population("post", n, ns.LIF(synapse="delta"))
    one_to_one = ns.ExplicitConnections(range(n), range(n))
    stdp = ns.PairSTDP()
    delay = ns.ConductionDelay(base=1 * ms, velocity=1e9 * metre / second)
    projections = [
        ns.Projection(
            "signal", "quiet", "post", 1 * mV, ns.AllToAll(), (SalienceSignal(tau_s=1e6 * second),), 0.0
        )
    ]
    for name, rules in (
        ("plain", (stdp,)),
        ("gated", (stdp, SalienceGated(gain=2.0))),
        ("unity", (stdp, SalienceGated(gain=0.0, baseline=1.0))),
    ):
        projections.append(ns.Projection(name, "pre", "post", 0 * mV, one_to_one, rules, 0.5, delay=delay))
    desc = ns.NetworkDescription(
        populations=(pre, quiet, post),
        projections=tuple(projections),
        inputs=(ns.ImposedSpikes("force", "post", range(n), [15.0] * n * ms),),
        dt=0.5 * ms,
    )
    sim = ns.build(desc, target="numpy")
    sim.set_variable("post", "salience_s", salience)
    sim.run(40 * ms, progress=False)
    return {name: sim.weights(name) - 0.5 for name in ("plain", "gated", "unity")}


def test_gate_scales_the_weight_change_by_the_salience_gain():
    """Δw_gated = (g_0 + g·s)·Δw_plain with g_0 = 0, g = 2: no change without salience, 1× at s = 0.5, 4× at
    s = 2; g_0 = 1, g = 0 gives the plain rule back."""
    salience = np.array([0.0, 0.5, 2.0])
    dw = _gated_pairing(salience)
    assert np.all(dw["plain"] > 1e-3)
    np.testing.assert_allclose(dw["gated"], 2.0 * salience * dw["plain"], rtol=1e-6, atol=1e-12)
    assert dw["gated"][0] == 0.0
    np.testing.assert_allclose(dw["unity"], dw["plain"], rtol=1e-9)


def test_gate_without_a_signal_is_refused_by_name():
    """A SalienceGated synapse whose target population receives no SalienceSignal fails at build time,
    naming the missing salience variable."""
    desc = ns.NetworkDescription(
        populations=(ns.Population("a", 2, ns.SpikeSource()), ns.Population("b", 2, ns.LIF(synapse="delta"))),
        projections=(ns.Projection("ab", "a", "b", 1 * mV, ns.AllToAll(), (ns.PairSTDP(), SalienceGated())),),
    )
    with pytest.raises(RuleError, match="salience_s_post"):
        ns.build(desc, target="numpy")


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: SalienceSignal(tau_s=0 * ms), "tau_s"),
        (lambda: SalienceSignal(kick=0.0), "kick"),
        (lambda: SalienceGated(gain=-1.0), "gain"),
        (lambda: SalienceGated(baseline=-0.1), "baseline"),
        (lambda: SalienceGated(signal="2x"), "signal"),
        (lambda: NoveltyDetector(U=0.0), "U"),
        (lambda: NoveltyDetector(n=0), "n"),
        (lambda: NoveltyDetector(tau_d=-1 * second), "tau_d"),
        (lambda: NoveltyDetector().parts("a", "b", target_neurons=[]), "target_neurons"),
        (lambda: NoveltyRecall(n_items=4), "n_items"),
        (lambda: NoveltyRecall(repeats=1), "repeats"),
        (lambda: NoveltyRecall(n_familiar=1, n_novel=2), "n_familiar"),
        (lambda: EpisodicParams(batch=0), "batch"),
        (lambda: EpisodicParams(neurons=0), "neurons"),
        (lambda: EpisodicParams(J_in=-1 * mV), "J_in"),
        (lambda: EpisodicParams(detector="novelty"), "detector"),
        (lambda: EpisodicMemory(NoveltyRecall(), salience=1), "salience"),
        (lambda: EpisodicMemory(NoveltyRecall(), target="gpu"), "target"),
    ],
)
def test_bad_parameters_are_refused_by_name(make, name):
    with pytest.raises(ParameterError, match=f"'{name}'"):
        make()


def test_novelty_task_follows_its_specification():
    """Familiar items are shown `repeats` times and novel ones once, each always with the same tag; novel
    items come after the first n_familiar steps; every novel item and as many familiar ones are cued alone,
    and the target is the tag the item was shown with (recomputed here from the inputs)."""
    task = NoveltyRecall()
    for trial in task.trials(20, seed=3, split="test"):
        stream = trial.inputs[: task.stream_steps]
        items, tags = stream[:, : task.n_items].argmax(1), stream[:, task.n_items :].argmax(1)
        assert np.all(stream.sum(1) == 2)
        tag_of = {}
        for item, tag in zip(items, tags, strict=True):
            assert tag_of.setdefault(item, tag) == tag
        count = {item: int((items == item).sum()) for item in tag_of}
        assert sorted(count.values()) == [1] * task.n_novel + [task.repeats] * task.n_familiar
        assert all(count[items[k]] == 1 for k in trial.metadata["novel_steps"])
        assert min(trial.metadata["novel_steps"]) >= task.n_familiar
        cued = trial.inputs[trial.reward_steps]
        assert np.all(cued.sum(1) == 1) and np.all(cued[:, task.n_items :] == 0)
        for k, novel in zip(trial.reward_steps, trial.metadata["novel"], strict=True):
            item = int(trial.inputs[k].argmax())
            assert trial.targets[k] == tag_of[item] and novel == (count[item] == 1)
        assert sum(trial.metadata["novel"]) == task.n_novel == len(trial.reward_steps) // 2
        assert trial.inputs[task.stream_steps : trial.reward_steps[0]].sum() == 0  # the silent delay


@pytest.mark.integration
def test_experiment_quick_run(tmp_path, monkeypatch):
    """`experiments/salience.py --quick` completes, writes its figure and reports recall of novel and
    familiar items for every learner with Wilson intervals and the on-vs-off test."""
    import json

    from neurosim.registry import find_experiment

    monkeypatch.setenv("NEUROSIM_TARGET", "numpy")
    monkeypatch.delenv("NEUROSIM_EXPERIMENTS", raising=False)
    out = tmp_path / "run"
    assert find_experiment("salience").main(["--quick", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for name in ("snn_salience", "snn_plain", "lstm", "gru", "transformer"):
        for kind in ("novel", "familiar"):
            m = metrics[f"{name}_{kind}"]
            assert m["low"] <= m["accuracy"] <= m["high"] and m["n"] > 0
    assert "verdict" in metrics["on_vs_off_novel"]
    assert (out / "salience.png").is_file()


def test_novelty_recall_is_a_library_task_that_round_trips():
    """In the task library by its result key; the description survives to_dict/from_dict."""
    task = NoveltyRecall(n_items=8, n_familiar=2, n_novel=2, repeats=3)
    assert TASKS["novelty_recall"] is NoveltyRecall and "NoveltyRecall" in ns.tasks.__all__
    assert NoveltyRecall.from_dict(task.to_dict()) == task


SMALL_TASK = NoveltyRecall(n_items=4, n_tags=2, n_familiar=1, repeats=2, n_novel=1, step_duration=100 * ms)


@pytest.mark.integration
def test_episodic_memory_follows_the_learner_protocol():
    """Through run_task like every learner: the record with the test's facts and the energy figures the
    comparison reads, one 1/0 per scored test answer; sizes are those of one episode's network,
    counted by hand: item → tag synapses (4 items × 2 tags, 2 neurons each: 8 × 4 = 32 plastic), plus input
    (6 channels × 2 × 2 = 24), detector input (8 item sources × 10) and broadcast (10 × 4 tag neurons):
    176 in all, whatever the batch. No training trial is presented: nothing carries over between episodes."""
    task = SMALL_TASK
    learner = EpisodicMemory(task, EpisodicParams(neurons=2, batch=3), salience=True, seed=0)
    record = run_task(learner, task, n_train=2, n_test=4, seed=0)  # 4 episodes: a batch of 3, then 1
    assert record.parameters == learner.n_parameters == 32 and record.extra["parameters_total"] == 176
    assert record.train_trials == 0 and record.extra["train_ops"] == 0
    answers = sum(int(t.scored.sum()) for t in task.trials(4, 0, "test"))
    assert record.extra["test_answers"] == len(record.extra["test_correct"]) == answers == 8
    counts = record.extra["energy_counts"]
    assert set(counts) == {"synaptic_events", "neuron_updates", "plastic_updates"}
    assert counts["synaptic_events"] == record.ops > 0 and counts["plastic_updates"] > 0
    # 4 episodes × 6 steps × 100 time steps of 1 ms × (12 memory + 10 detector neurons)
    assert counts["neuron_updates"] == 4 * 6 * 100 * (12 + 10)
    assert record.energy_j == pytest.approx(record.extra["energy_breakdown"]["energy_j"])
    # what every learner's record carries (run_task's test facts) and what the comparison reads of the
    # learners that count their own operations (the conventional ones: neurosim.comparison.learners.costs)
    for key in (
        "test_correct",
        "test_repeats",
        "train_wall_s_per_trial",
        "test_wall_s_per_trial",
        "n_outputs",
    ):
        assert key in record.extra, key
    assert {"nonzero_weights", "energy_breakdown", "hyperparameters"} <= set(record.extra)


@pytest.mark.integration
def test_salience_on_beats_off_on_novel_items():
    """The von Restorff effect (von Restorff 1933) in the episodic memory: on the same 25 episodes (50 novel,
    50 familiar answers), salience on recalls more novel items than the plain rule, significantly (exact
    McNemar), while familiar items, shown four times, are recalled either way (the recorded run:
    novel 0.77 vs 0.34, familiar 0.975 vs 0.99; docs/results/salience)."""
    task = NoveltyRecall()
    test = task.trials(25, seed=1, split="test")
    novel = np.concatenate([t.metadata["novel"] for t in test]).astype(bool)
    correct = {}
    for on in (True, False):
        learner = EpisodicMemory(task, EpisodicParams(batch=25), salience=on, seed=1)
        predictions = learner.evaluate(test).predictions
        correct[on] = np.concatenate(
            [p[t.scored] == t.targets[t.scored] for t, p in zip(test, predictions, strict=True)]
        )
    result = mcnemar_exact(correct[True][novel], correct[False][novel], names=("on", "off"))
    assert result.significant and result.difference > 0.2, result.verdict
    assert correct[True][~novel].mean() >= 0.8 and correct[False][~novel].mean() >= 0.8


@pytest.mark.parametrize("s", [0.0, 0.5, 2.0])
def test_boost_scales_each_transmitted_spike_by_one_plus_gain_times_salience(s):
    # SalienceBoost on a delta synapse onto a leak-free, non-firing neuron: one spike moves v by exactly
    # J·(1 + g·s) (hand-computed: J = 1 mV, g = 1.5), alone and composed with Tsodyks–Markram, whose first
    # spike has efficacy U (the efficacies multiply).
    src = ns.Population("src", 1, ns.SpikeSource(indices=[0], times=[10.0] * ms))
    quiet = ns.Population("quiet", 1, ns.SpikeSource())
    target = ns.LIF(synapse="delta", tau_m=1e9 * ms, v_threshold=1e6 * mV, refractory=0 * ms)
    post = ns.Population("post", 2, target, initial={"v": target.E_L})
    signal = SalienceSignal(tau_s=1e6 * second)
    tm = ns.TsodyksMarkram(U=0.3)
    projections = (
        ns.Projection("signal", "quiet", "post", 1 * mV, ns.AllToAll(), (signal,), 0.0),
        ns.Projection(
            "plain", "src", "post", 1 * mV, ns.ExplicitConnections([0], [0]), (SalienceBoost(1.5),)
        ),
        ns.Projection(
            "with_stp", "src", "post", 1 * mV, ns.ExplicitConnections([0], [1]), (tm, SalienceBoost(1.5))
        ),
    )
    sim = ns.build(
        ns.NetworkDescription(populations=(src, quiet, post), projections=projections), target="numpy"
    )
    sim.set_variable("post", "salience_s", s)
    sim.run(20 * ms, progress=False)
    jump = (np.asarray(sim.variable("post", "v")) - float(target.E_L)) / 1e-3
    np.testing.assert_allclose(jump, [1 + 1.5 * s, 0.3 * (1 + 1.5 * s)], rtol=1e-6)


def test_boost_refuses_a_negative_gain():
    with pytest.raises(ns.ParameterError, match=r"SalienceBoost.*'gain' = -1"):
        SalienceBoost(gain=-1.0)
