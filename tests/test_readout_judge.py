"""The controller's judgement in generated code (neurosim.backend.readout_judge) against the Python one.

Reference: the Python implementations it replaces inside a compiled run, applied to the same spikes:
``SpikeCountDecoder(tie="none")`` on the readout's counts in each answer window, ``CorrectWrong``,
``RunningBaseline`` with the target as context (Frémaux & Gerstner 2016's reward-prediction error) and the
readout homeostasis ``conscience_step`` (DeSieno 1988). Decisions, rewards, signals, baselines and
excitabilities must agree exactly on the numpy target (the same floating-point operations), and to 1e-12 in
compiled code. The readout's
spikes are drawn so that windows with clear winners, ties, silence and too few spikes all occur, with spikes
outside the windows (which must not count) and on the very steps where windows open and close.
"""

import numpy as np
import pytest
from brian2 import ms

from neurosim import NetworkDescription, ParameterError, Population, SpikeRecording, SpikeSource, build
from neurosim.backend.readout_judge import JudgePolicy, ReadoutJudge
from neurosim.encoding import SpikeCountDecoder
from neurosim.frontal import CorrectWrong, RunningBaseline
from neurosim.learners.spiking.homeostasis import conscience_step

K, G, TICK = 3, 2, 5  # readout groups, neurons per group, time steps per tick


def _spikes(rng, n_steps):
    """A readout raster: each neuron fires in ~8% of the steps, with extra bursts so some groups win."""
    fire = rng.random((n_steps, K * G)) < 0.08
    burst = rng.integers(0, K, n_steps // 40)  # a group that fires more for 40 steps
    for b, g in enumerate(burst):
        fire[b * 40 : (b + 1) * 40, g * G : (g + 1) * G] |= rng.random((40, G)) < 0.15
    steps, neurons = np.nonzero(fire)
    return neurons, steps


def _windows(rng, n_ticks):
    """Answer windows of 1-4 ticks, some directly after one another (a close and an open on one tick)."""
    opens, closes, k = [], [], 1
    while k + 4 < n_ticks:
        length = int(rng.integers(1, 5))
        opens.append(k)
        closes.append((k + length, int(rng.integers(0, K))))
        k += length + int(rng.integers(0, 3))
    return opens, closes


@pytest.mark.parametrize(("seed", "min_count"), [(0, 1), (1, 4)])
def test_same_judgement_as_the_python_controller(seed, min_count):
    _check_against_python("numpy", seed, min_count)


@pytest.mark.compiled
@pytest.mark.parametrize("target", ["cython", "cpp_standalone"])
def test_same_judgement_in_compiled_code(target, tmp_path):
    # the point of the judge: a cpp_standalone run decides with no Python between its steps
    # (compiled with -ffast-math, whose reassociation may change the last bit of a signal or a baseline)
    _check_against_python(target, 1, 4, tmp_path, rtol=1e-12)


def _check_against_python(target, seed, min_count, directory=None, rtol=0.0):
    rng = np.random.default_rng(seed)
    n_ticks = 160
    n_steps = n_ticks * TICK
    d = NetworkDescription(populations=(Population("out", K * G, SpikeSource()),), dt=1 * ms, seed=seed)
    sim = build(d, target=target, directory=directory)
    neurons, steps = _spikes(rng, n_steps)
    sim.set_spike_times("out", neurons, steps * ms)
    opens, closes = _windows(rng, n_ticks)
    policy = JudgePolicy(
        correct=1.0,
        wrong=-0.5,
        scale=0.7,
        baseline_alpha=0.2,
        baseline_initial=0.1,
        homeostasis=1.3,
        min_count=min_count,
    )
    judge = ReadoutJudge(sim, "out", K, G, tick=TICK, opens=opens, closes=closes, policy=policy)
    sim.network.add(*judge.objects)
    sim.run(n_steps * ms, progress=False)
    got = judge.judged()

    decoder = SpikeCountDecoder(K, G, tie="none", min_count=policy.min_count)
    reward_of = CorrectWrong(policy.correct, policy.wrong)
    baseline = RunningBaseline(policy.baseline_alpha, policy.baseline_initial)
    excitability = np.zeros(K)
    decisions, rewards, signals = [], [], []
    for start, (stop, target) in zip(opens, closes, strict=True):
        inside = (steps >= start * TICK) & (steps < stop * TICK)  # the steps before the closing tick
        counts = np.bincount(neurons[inside], minlength=K * G)
        decision = int(decoder.decode(counts[None, :])[0])
        reward = reward_of(decision, target)
        decisions.append(decision)
        rewards.append(reward)
        signals.append(policy.scale * baseline.update(reward, target))
        excitability = conscience_step(excitability, decision, policy.homeostasis)

    decisions = np.array(decisions)
    assert {-1, 0, 1, 2} <= set(decisions.tolist())  # ties or silence, and every group winning, occur
    best = [
        np.bincount(neurons[(steps >= a * TICK) & (steps < b * TICK)] // G, minlength=K).max()
        for a, (b, _) in zip(opens, closes, strict=True)
    ]
    assert min_count in best  # a window whose best group has exactly min_count spikes
    np.testing.assert_array_equal(got.decisions, decisions)
    np.testing.assert_array_equal(got.targets, [t for _, t in closes])
    np.testing.assert_array_equal(got.rewards, rewards)
    np.testing.assert_allclose(got.signals, signals, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(judge.excitability, excitability, rtol=rtol, atol=rtol)
    expected_baseline = [baseline.value(k) for k in range(K)]
    np.testing.assert_allclose(judge.baseline, expected_baseline, rtol=rtol, atol=rtol)


def test_bad_windows_are_refused_before_running():
    d = NetworkDescription(populations=(Population("out", K * G, SpikeSource()),), dt=1 * ms)
    sim = build(d, target="numpy")
    kwargs = {"tick": TICK, "opens": [1], "policy": JudgePolicy()}
    with pytest.raises(ParameterError, match="'closes'.*0..2"):
        ReadoutJudge(sim, "out", K, G, closes=[(3, 3)], **kwargs)
    with pytest.raises(ParameterError, match="'closes'.*tick order"):
        ReadoutJudge(sim, "out", K, G, closes=[(5, 0), (3, 1)], **kwargs)
    with pytest.raises(ParameterError, match="'readout'.*not n_groups"):
        ReadoutJudge(sim, "out", 4, G, closes=[(3, 0)], **kwargs)


def _rewarded_network(source, seed=3):
    """Poisson sources onto a readout of K groups through reward-modulated pair STDP (delta synapses), and
    the sources' spikes (the same on both paths)."""
    from brian2 import Hz, mV

    from neurosim import LIF, AllToAll, PairSTDP, Projection, RewardModulated

    rm = RewardModulated(tau_c=100 * ms, tau_da=50 * ms, eta=20 * Hz, period=10 * ms, dopamine_source=source)
    d = NetworkDescription(
        populations=(
            Population("pre", 30, SpikeSource()),
            Population("out", K * G, LIF(synapse="delta", v_threshold=-60 * mV, v_reset=-65 * mV)),
        ),
        projections=(
            Projection(
                "rewarded",
                "pre",
                "out",
                3 * mV,
                rules=(PairSTDP(A_plus=0.05, A_minus=0.05), rm),
                w_init="0.3 + 0.4*rand()",
                connectivity=AllToAll(),
            ),
        ),
        recordings=(SpikeRecording("out"),),
        dt=1 * ms,
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    fire = rng.random((4000, 30)) < 0.03
    steps, neurons = np.nonzero(fire)
    return d, neurons, steps


def test_dopamine_level_gives_the_weights_of_the_python_controllers_dopamine():
    # Reference: the learner's Python path, a run_with_ticks callback that judges each window and delivers
    # the signal into the dopamine table at that tick (deliver_in_run); here the judge's dopamine level
    # (RewardModulated(dopamine_source="level")) must give the same decisions and weights (to rounding: the
    # table's exp(-(t - t_r)/tau) against the level's decay step by step).
    from neurosim.backend import deliver_in_run, run_with_ticks

    tick, n_ticks = 100, 40
    rng = np.random.default_rng(5)
    opens, closes = _windows(rng, n_ticks)
    policy = JudgePolicy(correct=1.0, wrong=-0.5, baseline_alpha=0.2, homeostasis=1.0)

    d, neurons, steps = _rewarded_network("table")
    ref = build(d, target="numpy")
    ref.set_spike_times("pre", neurons, steps * ms)
    decoder = SpikeCountDecoder(K, G, tie="none")
    baseline, opened, decisions = RunningBaseline(policy.baseline_alpha), {}, []
    targets = dict(closes)

    def on_tick(k):
        if k in targets:
            counts = ref.spike_counts("out") - opened.pop("now")
            decision = int(decoder.decode(counts[None, :])[0])
            reward = policy.correct if decision == targets[k] else policy.wrong
            deliver_in_run(ref, baseline.update(reward, targets[k]))
            decisions.append(decision)
        if k in opens:
            opened["now"] = ref.spike_counts("out").copy()

    run_with_ticks(ref, n_ticks * tick * ms, tick * ms, on_tick)

    d, neurons, steps = _rewarded_network("level")
    sim = build(d, target="numpy")
    sim.set_spike_times("pre", neurons, steps * ms)
    judge = ReadoutJudge(
        sim, "out", K, G, tick=tick, opens=opens, closes=closes, policy=policy, dopamine="rewarded"
    )
    sim.network.add(*judge.objects)
    sim.run(n_ticks * tick * ms, progress=False)

    got = judge.judged()
    np.testing.assert_array_equal(got.decisions, decisions)
    assert (
        len(set(got.signals.round(6))) > 3 and len(decisions) > 6
    )  # rewards and punishments of several sizes were sent
    w, w_ref = sim.weights("rewarded"), ref.weights("rewarded")
    assert np.abs(w_ref - build(d, target="numpy").weights("rewarded")).max() > 1e-2  # the weights learned
    np.testing.assert_allclose(w, w_ref, rtol=0, atol=1e-12)
