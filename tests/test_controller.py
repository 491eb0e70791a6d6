"""The frontal controller: reward policies and baselines, delivery timing, penalties and pruning, neuron
selection with a bandit, consolidation hook, bad input."""

import numpy as np
import pytest
from brian2 import Hz, ms, mV, second

from neurosim import (
    LIF,
    AllToAll,
    NetworkDescription,
    PairSTDP,
    PoissonSource,
    Population,
    Projection,
    SpikeRecording,
    build,
)
from neurosim.backend import DopamineSignal, Simulation, eligibility
from neurosim.frontal import (
    AssemblyBandit,
    ConstantRate,
    CorrectWrong,
    FrontalController,
    NeuronSelection,
    PenaltyCount,
    Pruner,
    Regrowth,
    RunningBaseline,
    SpikeCountReadout,
    WeightMagnitude,
    save_with_controller,
)
from neurosim.plasticity.reward import RewardModulated
from neurosim.validation import ParameterError

NEURON = LIF(synapse="delta", refractory=2 * ms)
ASSEMBLIES = ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9), (10, 11, 12, 13, 14), (15, 16, 17, 18, 19))


def network(*, rate=40 * Hz, weight=3 * mV, seed=0):
    """20 Poisson inputs onto 20 LIF neurons (all-to-all, reward-modulated STDP), every spike recorded."""
    rules = (PairSTDP(), RewardModulated(tau_c=200 * ms))
    return NetworkDescription(
        populations=(Population("inp", 20, PoissonSource(rate=rate)), Population("out", 20, NEURON)),
        projections=(
            Projection("ff", "inp", "out", weight, connectivity=AllToAll(), rules=rules, w_init=0.5),
        ),
        recordings=(SpikeRecording("inp"), SpikeRecording("out")),
        seed=seed,
        dt=1 * ms,
    )


def test_default_policy_and_running_baseline():
    # Default reward: +1 correct, -1 wrong. Reward-prediction error (Fremaux & Gerstner 2016): the signal is
    # reward minus its running mean per context, so a reward that is always the same stops teaching, while
    # another context keeps its own baseline.
    policy = CorrectWrong()
    assert policy(2, 2) == 1.0 and policy(1, 2) == -1.0 and policy([0, 1], [0, 1]) == 1.0
    baseline = RunningBaseline(alpha=0.2)
    signals = [baseline.update(1.0, context="A") for _ in range(40)]
    assert signals[0] == 1.0 and abs(signals[-1]) < 1e-3
    assert np.all(np.diff(signals) < 0)
    assert baseline.update(1.0, context="B") == 1.0  # a new context starts from scratch
    assert baseline.value("A") == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("strategy", ["epsilon_greedy", "ucb"])
def test_bandit_converges_to_the_rewarded_arm(strategy):
    # Multi-armed bandit (Sutton & Barto 2018, ch. 2; UCB1: Auer, Cesa-Bianchi & Fischer 2002): with
    # Bernoulli rewards the arm with the highest mean is found and chosen most of the time.
    rng = np.random.default_rng(0)
    p = np.array([0.2, 0.3, 0.8, 0.4])
    bandit = AssemblyBandit(4, strategy=strategy, epsilon=0.1, seed=1)
    choices = []
    for _ in range(600):
        arm = bandit.choose()
        bandit.update(arm, float(rng.random() < p[arm]))
        choices.append(arm)
    assert bandit.best == 2
    assert np.mean(np.array(choices[-200:]) == 2) > 0.75


def test_controller_learns_to_select_the_rewarded_assembly():
    # Neuron selection learned from reward: each trial the bandit picks one of 4 assemblies, the controller
    # biases it through I_ext (top-down excitation, the rest inhibited), the readout reports the assembly that
    # fired most, and only assembly 2 is rewarded. The bandit converges to it.
    desc = NetworkDescription(
        populations=(Population("pfc", 20, NEURON),),
        recordings=(SpikeRecording("pfc"),),
        dt=1 * ms,
    )
    sim = build(desc)
    selection = NeuronSelection("pfc", ASSEMBLIES, bias=30 * mV, inhibition=5 * mV)
    ctrl = FrontalController(
        sim,
        selection=selection,
        bandit=AssemblyBandit(4, epsilon=0.2, seed=3),
        readout=SpikeCountReadout("pfc", ASSEMBLIES),
    )
    results = [ctrl.trial(30 * ms, target=2) for _ in range(40)]
    assert all(r.output == r.selected for r in results)  # the bias decides which assembly fires
    assert ctrl.bandit.best == 2
    assert np.mean([r.selected == 2 for r in results[-15:]]) > 0.6
    group = sim.groups["pfc"]
    last = results[-1].selected
    np.testing.assert_allclose(group.I_ext[list(ASSEMBLIES[last])] / mV, 30)
    others = [k for k in range(20) if k not in ASSEMBLIES[last]]
    np.testing.assert_allclose(group.I_ext[others] / mV, -5)


def test_trial_delivers_the_prediction_error_after_the_delay():
    # The signal (reward minus baseline) is scheduled reward_delay after the trial: with a random delay in
    # [1, 3] s (Izhikevich 2007) it lands in that range; wrong trials send a negative signal.
    sim = build(network())
    ctrl = FrontalController(
        sim,
        reward_delay=(1 * second, 3 * second),
        readout=lambda s, a, b: 0,
        baseline=RunningBaseline(alpha=0.5),
    )
    r1 = ctrl.trial(50 * ms, target=0)
    r2 = ctrl.trial(50 * ms, target=1)
    assert r1.reward == 1.0 and r1.signal == 1.0  # baseline starts at 0
    assert r2.reward == -1.0 and r2.signal == pytest.approx(-1.0 - 0.5)  # baseline moved to 0.5
    for r in (r1, r2):
        assert r.stop + 1 <= r.delivered_at <= r.stop + 3
    events = DopamineSignal.of(sim).events["ff"]
    assert [a for _, a in events] == [1.0, -1.5]


def test_punished_synapses_collect_penalties_and_are_pruned_after_k():
    # The controller counts a penalty for every synapse a punishment weakens (eligibility > threshold);
    # PenaltyCount(k) prunes a synapse at its k-th penalty, compacting the projection and recording where
    # each pruned synapse was. Unpunished synapses never collect penalties.
    sim = build(network())
    ctrl = FrontalController(
        sim,
        policy=lambda output, target: -1.0,  # always wrong
        baseline=None,
        eligibility_threshold=1e-3,
        pruner=Pruner(PenaltyCount(k=3)),
    )
    n0 = len(sim.synapses["ff"])
    pruned = []
    for _ in range(5):
        before = ctrl.penalties("ff").copy()
        res = ctrl.trial(100 * ms)
        pruned.append(res.pruned)
        assert np.all(ctrl.penalties("ff") < 3)  # whoever reached 3 is gone
        if res.pruned == 0:
            assert np.all(ctrl.penalties("ff") - before >= 0)
    total = ctrl.history.total("ff")
    assert total > 0 and len(sim.synapses["ff"]) == n0 - total == n0 - sum(pruned)
    assert sum(pruned[:2]) == 0  # nobody can reach 3 penalties in 2 trials
    event = ctrl.history.select("ff")[0]
    np.testing.assert_array_equal(event.pre_position, sim.positions["inp"][event.pre])
    np.testing.assert_array_equal(event.post_position, sim.positions["out"][event.post])
    assert ctrl.history.positions("ff").shape == (total, 3)


def test_a_penalty_goes_exactly_to_the_synapses_a_punishment_weakens():
    # A punishment (negative dopamine) weakens the synapses with positive eligibility (Izhikevich 2007):
    # exactly those above the threshold get a penalty; rewards give none.
    sim = build(network())
    ctrl = FrontalController(sim, policy=lambda o, t: 1.0, baseline=None, eligibility_threshold=1e-3)
    for _ in range(3):
        ctrl.trial(50 * ms)
    assert np.all(ctrl.penalties("ff") == 0)
    c = eligibility(sim, "ff")
    ctrl.deliver(-1.0)
    np.testing.assert_array_equal(ctrl.penalties("ff"), (c > 1e-3).astype(int))
    assert 0 < ctrl.penalties("ff").sum() < len(c)


def test_scheduled_pruning_follows_the_schedule_and_regrowth_refills():
    # A target schedule with weight-magnitude pruning: each pruning step removes exactly the scheduled
    # number of the weakest synapses (gradual magnitude pruning, Zhu & Gupta 2017).
    sim = build(network())
    schedule = ConstantRate(total=0.5, steps=4)
    ctrl = FrontalController(
        sim, policy=lambda o, t: 0.0, pruner=Pruner(WeightMagnitude(), schedule, every=2)
    )
    n0 = len(sim.synapses["ff"])
    w_sorted = np.sort(sim.weights("ff"))
    results = [ctrl.trial(20 * ms) for _ in range(8)]
    assert schedule.counts(n0).tolist() == [50, 50, 50, 50]
    assert [r.pruned for r in results] == [0, 50, 0, 50, 0, 50, 0, 50]  # every 2nd trial
    assert len(sim.synapses["ff"]) == n0 // 2
    assert sim.weights("ff").min() >= w_sorted[0]
    sim2 = build(network(seed=1))
    regrow = Regrowth(per_step=10, w_init=0.05, activity_bias=1.0)
    ctrl2 = FrontalController(
        sim2, policy=lambda o, t: 0.0, pruner=Pruner(WeightMagnitude(), ConstantRate(0.2, 2), regrowth=regrow)
    )
    r = ctrl2.trial(20 * ms)
    assert r.pruned == 40 and r.regrown == 10
    assert len(sim2.synapses["ff"]) == 400 - 40 + 10
    assert ctrl2.history.total("ff", kind="regrown") == 10


def test_a_step_short_of_candidates_is_made_up_at_the_next_step():
    # Gradual pruning sets each step's target sparsity s_t (Zhu & Gupta 2017): the schedule's cumulative
    # fraction F(s) of the initial synapses is the target after step s. A step that finds fewer weak
    # synapses than its share removes what it finds; the next step prunes up to round(n0·F(s)), not its own
    # share only, so the schedule's sparsity is reached as soon as the candidates are there.
    sim = build(network())
    n0 = sim.n_synapses("ff")  # 400
    pruner = Pruner(WeightMagnitude(threshold=0.1), ConstantRate(total=0.5, steps=2))
    ctrl = FrontalController(sim, policy=lambda o, t: 0.0, pruner=pruner)
    w = np.full(n0, 0.5)
    w[:30] = 0.01  # 30 weak synapses: step 1 may remove 100
    sim.set_variable("ff", "w", w)
    assert ctrl.prune() == (30, 0)
    w = sim.weights("ff")
    w[:250] = 0.02  # now plenty: step 2 reaches F(2) = 0.5, i.e. 200 in all (170, not its share of 100)
    sim.set_variable("ff", "w", w)
    assert ctrl.prune() == (170, 0)
    assert sim.n_synapses("ff") == n0 // 2
    assert ctrl.prune() == (0, 0)  # past the last step the target stays 0.5


def test_non_finite_reward_is_refused_before_anything_is_sent():
    sim = build(network())
    ctrl = FrontalController(sim, policy=lambda output, target: float("nan"))
    with pytest.raises(ParameterError, match="'policy'"):
        ctrl.trial(10 * ms)
    assert DopamineSignal.of(sim).events["ff"] == []
    ctrl = FrontalController(sim, policy=lambda output, target: "good")
    with pytest.raises(ParameterError, match="'policy'"):
        ctrl.trial(10 * ms)


def test_bad_controller_input_names_the_parameter():
    sim = build(network())
    sel = NeuronSelection("out", ((0, 1), (2, 3)))
    cases = [
        (dict(policy=3), "policy"),
        (dict(reward_delay=-1 * ms), "reward_delay"),
        (dict(reward_delay=(2 * second, 1 * second)), "reward_delay"),
        (dict(projections=["nope"]), "projections"),
        (dict(pruner=Pruner(projections=("nope",))), "pruner.projections"),
        (dict(selection=NeuronSelection("out", ((0, 1), (2, 30)))), "neurons"),
        (dict(selection=NeuronSelection("inp", ((0, 1),))), "population"),
        (dict(selection=sel, bandit=AssemblyBandit(3)), "bandit"),
        (dict(bandit=AssemblyBandit(2)), "bandit"),
        (dict(consolidate_above=0.5), "consolidate_above"),
        (dict(eligibility_threshold=-1.0), "eligibility_threshold"),
    ]
    for kwargs, name in cases:
        with pytest.raises(ParameterError, match=f"'{name}'"):
            FrontalController(sim, **kwargs)
    ctrl = FrontalController(sim)
    with pytest.raises(ParameterError, match="'neurons'"):
        ctrl.select("out", [3, 20])
    with pytest.raises(ParameterError, match="'population'"):
        ctrl.select("nowhere", [0])
    with pytest.raises(ParameterError, match="'select'"):
        ctrl.trial(10 * ms, select=1)  # no selection configured
    with pytest.raises(ParameterError, match="'epsilon'"):
        AssemblyBandit(3, epsilon=1.5)
    with pytest.raises(ParameterError, match="'strategy'"):
        AssemblyBandit(3, strategy="thompson")
    with pytest.raises(ParameterError, match="'assemblies'"):
        NeuronSelection("out", ())
    with pytest.raises(ParameterError, match="'alpha'"):
        RunningBaseline(alpha=0)


def test_reward_switches_on_consolidation_for_the_next_trial():
    # Reward as the strong signal that turns early into late LTP (Frey & Morris 1997 tagging and capture;
    # Luboeinski & Tetzlaff 2021): a rewarded trial sets the tagging-and-capture rule's protein drive for the
    # next trial; an unrewarded one clears it.
    from neurosim.plasticity.consolidation import TaggingCapture

    desc = NetworkDescription(
        populations=(Population("inp", 5, PoissonSource(rate=10 * Hz)), Population("out", 5, NEURON)),
        projections=(
            Projection("ff", "inp", "out", 1 * mV, connectivity=AllToAll(), rules=(TaggingCapture(),)),
        ),
        dt=1 * ms,
    )
    sim = build(desc)
    ctrl = FrontalController(
        sim, projections=["ff"], consolidate_above=0.5, baseline=None, readout=lambda s, a, b: 1
    )
    ctrl.trial(20 * ms, target=1)
    np.testing.assert_array_equal(sim.groups["out"].stc_protein_drive[:], 1.0)
    ctrl.trial(20 * ms, target=0)
    np.testing.assert_array_equal(sim.groups["out"].stc_protein_drive[:], 0.0)


def _controller(sim):
    """Every piece of controller state at once: a random reward delay (the controller's generator), a
    running baseline per context, a bandit over assemblies (its own generator), penalties and pruning
    every 2 trials."""
    return FrontalController(
        sim,
        policy=lambda output, target: 1.0 if output == target else -1.0,
        readout=SpikeCountReadout("out", ASSEMBLIES),
        reward_delay=(5 * ms, 40 * ms),
        eligibility_threshold=1e-4,
        pruner=Pruner(PenaltyCount(k=1), every=2),
        selection=NeuronSelection("out", ASSEMBLIES, bias=20 * mV, inhibition=2 * mV),
        bandit=AssemblyBandit(4, epsilon=0.3, seed=5),
        seed=11,
    )


def _trials(ctrl, n, start):
    return [ctrl.trial(30 * ms, target=(start + k) % 4, context=(start + k) % 2) for k in range(n)]


def test_save_load_continue_equals_uninterrupted_controller(tmp_path):
    # The continuation invariance of state files (Brian2 store/restore semantics) extended to the
    # controller: 3 trials, save with the controller, load into a fresh build, restore, 3 more trials gives
    # the same trials, weights, penalties, baseline, bandit estimates and pruning history as 6 trials without
    # stopping. The save falls 5-40 ms before a reward arrives (random delay), so the scheduled dopamine
    # must survive it too.
    whole = _controller(build(network()))
    _trials(whole, 6, 0)

    ctrl = _controller(build(network()))
    _trials(ctrl, 3, 0)
    assert ctrl.trials[-1].delivered_at > ctrl.trials[-1].stop  # a reward is still on its way
    path = ctrl.sim.save(tmp_path / "run.npz", extras={"controller": ctrl.state()})
    loaded = _controller(Simulation.load(path))
    loaded.restore(path)
    _trials(loaded, 3, 3)

    assert [t.output for t in whole.trials] == [t.output for t in loaded.trials]
    assert [t.selected for t in whole.trials] == [t.selected for t in loaded.trials]
    assert [t.signal for t in whole.trials] == [t.signal for t in loaded.trials]
    assert [t.delivered_at for t in whole.trials] == [t.delivered_at for t in loaded.trials]
    assert sum(t.pruned for t in whole.trials) > 0  # pruning happened: the comparison covers it
    np.testing.assert_array_equal(whole.sim.weights("ff"), loaded.sim.weights("ff"))
    np.testing.assert_array_equal(whole.penalties("ff"), loaded.penalties("ff"))
    np.testing.assert_array_equal(whole.bandit.values, loaded.bandit.values)
    assert whole.baseline.values == loaded.baseline.values
    assert len(whole.history.events) == len(loaded.history.events)
    for a, b in zip(whole.history.events, loaded.history.events, strict=True):
        np.testing.assert_array_equal(a.pre, b.pre)
        assert a.step == b.step and a.time == b.time
    assert DopamineSignal.of(whole.sim).events == DopamineSignal.of(loaded.sim).events


def test_restore_refuses_a_different_controller_or_a_file_without_one(tmp_path):
    sim = build(network())
    ctrl = _controller(sim)
    _trials(ctrl, 1, 0)
    snapshot = ctrl.state()  # a copy: later trials do not change it
    penalties = snapshot["projections"]["ff"]["penalties"].copy()
    ctrl.deliver(-1.0)
    assert ctrl.penalties("ff").sum() > penalties.sum()
    np.testing.assert_array_equal(snapshot["projections"]["ff"]["penalties"], penalties)
    path = sim.save(tmp_path / "run.npz", extras={"controller": ctrl.state()})
    plain = FrontalController(sim)
    with pytest.raises(ParameterError, match="bandit"):
        plain.restore(path)
    bare = sim.save(tmp_path / "bare.npz")
    with pytest.raises(ParameterError, match="saved without a controller"):
        ctrl.restore(bare)
    other = FrontalController(build(network()))
    with pytest.raises(ParameterError, match="'controller'"):
        save_with_controller(sim, tmp_path / "x.npz", other)


def test_judge_inside_a_run_equals_trial_and_waits_for_the_delay():
    # judge() is the part of trial() after its run: judging from inside one run (a run_with_ticks callback,
    # dopamine added to the running table) sends the same delayed signal as trial() followed by a run
    # (dopamine scheduled by DopamineSignal.deliver, table rebuilt at the run's start), so the weights end
    # equal. Reward-modulated STDP (Izhikevich 2007): with no tonic dopamine nothing moves before the reward.
    from neurosim.backend import run_with_ticks

    delay, trial, after = 0.5 * second, 100 * ms, 1 * second
    sim_a = build(network(seed=3))
    ctrl_a = FrontalController(sim_a, reward_delay=delay, readout=lambda s, a, b: 0)
    result_a = ctrl_a.trial(trial, target=0)
    sim_a.run(after, progress=False)
    sim_b = build(network(seed=3))
    ctrl_b = FrontalController(sim_b, reward_delay=delay, readout=lambda s, a, b: 0)
    before_reward = {}

    def on_tick(k):
        if k == 1:
            ctrl_b.judge(0, target=0, start=0 * second, in_run=True)
        if k == 5:  # 500 ms: the reward (due at 600 ms) has not arrived
            before_reward["w"] = sim_b.weights("ff").copy()

    run_with_ticks(sim_b, trial + after, 100 * ms, on_tick)
    result_b = ctrl_b.trials[-1]
    assert (result_b.reward, result_b.signal) == (result_a.reward, result_a.signal) == (1.0, 1.0)
    assert result_b.delivered_at == pytest.approx(result_a.delivered_at) == pytest.approx(0.6)
    assert result_b.start == result_a.start and result_b.stop == pytest.approx(result_a.stop)
    np.testing.assert_array_equal(before_reward["w"], 0.5)
    w_a, w_b = sim_a.weights("ff"), sim_b.weights("ff")
    assert np.ptp(w_a) > 1e-3, "the delayed reward moved the eligible synapses"
    np.testing.assert_allclose(w_b, w_a, rtol=0, atol=1e-12)
