"""Learned gating: the Go/NoGo policy (frontal.GatingPolicy) against the analytic results for an
epsilon-greedy contextual bandit with constant step size, bad parameters refused by name, and the spiking
learner whose frontal controller learns from reward when to write store-recall's memory and when to read it
(PBWM; O'Reilly & Frank 2006)."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import mV, second

from neurosim.frontal import GatingPolicy
from neurosim.frontal.gating import ConfigurationSearch
from neurosim.learners.spiking import SpikingLearner, SpikingParams, network_description
from neurosim.tasks import AssociativeRecall, StoreRecall
from neurosim.validation import ParameterError

#: A contextual bandit: mean (Bernoulli) reward of NoGo / Go in each of two contexts.
MEANS = np.array([[0.3, 0.8], [0.6, 0.2]])


def test_a_reward_moves_every_choice_since_the_previous_one_by_the_constant_step():
    """Monte-Carlo credit with constant step alpha: after rewards r_1..r_n, a choice made before each of
    them holds Q_n = (1 - alpha)^n Q_0 + sum_i alpha (1 - alpha)^(n - i) r_i (the exponential
    recency-weighted average; Sutton & Barto 2018, eq. 2.6); choices not made, or made at test, do not
    move."""
    alpha, q0 = 0.3, 0.5
    policy = GatingPolicy(n_contexts=3, epsilon=0.0, alpha=alpha, initial=q0, seed=1)
    rewards = [1.0, 0.6, 1.0, 0.8]  # each keeps the first chosen action above q0: it stays chosen
    chosen = []
    for r in rewards:
        chosen.append((policy.choose(0), policy.choose(1)))
        policy.choose(2, learn=False)  # greedy, not eligible
        assert policy.reward(r) == 2  # the two choices since the previous reward
    assert len(set(chosen)) == 1
    n = len(rewards)
    expected = (1 - alpha) ** n * q0 + sum(
        alpha * (1 - alpha) ** (n - 1 - i) * r for i, r in enumerate(rewards)
    )
    assert policy.values[0, chosen[-1][0]] == pytest.approx(expected)
    assert policy.values[1, chosen[-1][1]] == pytest.approx(expected)
    assert np.all(policy.values[2] == q0) and not policy.visits[2].any()
    policy.choose(0)
    policy.forget()  # an episode that ended without a reward: its choices get no credit
    assert policy.reward(5.0) == 0


def test_policy_on_a_contextual_bandit_learns_the_mean_rewards_and_picks_the_better_arm():
    """Epsilon-greedy on a two-context Bernoulli bandit with known means: each value settles at its arm's
    mean (a constant-step average of i.i.d. rewards fluctuates with variance alpha/(2 - alpha)·p(1 - p)
    around p), the greedy action is the better arm in each context, and the worse arm is chosen with
    probability epsilon/2 (the random choice hits it half the time)."""
    epsilon, alpha, n = 0.4, 0.02, 8000
    policy = GatingPolicy(n_contexts=2, epsilon=epsilon, alpha=alpha, seed=3)
    rng = np.random.default_rng(4)
    for t in range(n):
        c = t % 2
        a = policy.choose(c)
        policy.reward(float(rng.random() < MEANS[c, a]))
    sd = np.sqrt(alpha / (2 - alpha) * MEANS * (1 - MEANS))
    assert np.all(np.abs(policy.values - MEANS) < 4 * sd), (policy.values, sd)
    assert [policy.greedy(c) for c in (0, 1)] == [1, 0]
    worse = np.array([policy.visits[0, 0], policy.visits[1, 1]])
    per_context = n // 2
    tolerance = 4 * np.sqrt(per_context * epsilon / 2 * (1 - epsilon / 2))  # binomial, 4 sd
    assert np.all(np.abs(worse - per_context * epsilon / 2) < tolerance), worse
    assert policy.table({0: "a"})["a"]["greedy"] == 1


def test_a_held_configuration_repeats_until_released():
    """With ``hold`` a context's first choice in training is repeated until ``release``, which may fix the
    next configuration; test choices stay greedy."""
    policy = GatingPolicy(n_contexts=3, epsilon=1.0, hold=True, seed=2)
    first = [policy.choose(c) for c in range(3)]
    assert all([policy.choose(c) for c in range(3)] == first for _ in range(20))
    policy.release({0: 1, 2: 0})
    assert [policy.choose(0), policy.choose(2)] == [1, 0]
    drawn = set()
    for _ in range(30):  # released without actions: drawn anew (epsilon 1: at random)
        policy.release()
        drawn.add(policy.choose(1))
    assert drawn == {0, 1}
    policy.values[1] = [0.0, 1.0]
    assert policy.choose(1, learn=False) == 1
    with pytest.raises(ParameterError, match="'action' = 2"):
        policy.release({0: 2})
    with pytest.raises(ParameterError, match="'actions'"):
        policy.release([1, 0])


def _onemax(search: ConfigurationSearch, start: dict[int, int], best: dict[int, int]) -> int:
    """Proposals until ``search`` keeps ``best`` when a configuration earns its fraction of right actions
    (no noise)."""

    def reward(config: dict[int, int]) -> float:
        return float(np.mean([config[c] == best[c] for c in best]))

    assert search.judge(start, reward(start))
    n = 0
    while search.kept != best:
        config, _ = search.propose()
        search.judge(config, reward(config))
        n += 1
    return n


def test_configuration_search_takes_the_coupon_collectors_time_on_onemax():
    """Random local search with one-flip-or-none proposals (each of the n + 1 as likely) on OneMax without
    noise: every right flip is kept, every wrong one and the re-measured kept one change nothing, so the k
    wrong actions are fixed after (n + 1)·H_k proposals on average (coupon collector; Droste, Jansen &
    Wegener 2002 for the (1+1) EA), with variance sum_j (1 - p_j)/p_j^2, p_j = j/(n + 1)."""
    n, k, runs = 5, 4, 1500
    best = {c: c % 2 for c in range(n)}
    start = {c: best[c] ^ (c < k) for c in range(n)}
    steps = [_onemax(ConfigurationSearch(reference=-1.0, seed=s), start, best) for s in range(runs)]
    p = np.arange(1, k + 1) / (n + 1)
    mean, var = float(np.sum(1 / p)), float(np.sum((1 - p) / p**2))
    assert mean == pytest.approx((n + 1) * sum(1 / j for j in range(1, k + 1)))
    assert abs(np.mean(steps) - mean) < 4 * np.sqrt(var / runs), (np.mean(steps), mean)


def test_configuration_search_keeps_only_a_better_or_the_re_measured_configuration():
    """A configuration is kept if it beats the kept one's mean reward (not at the end of training, when it
    was measured only in part) or is the kept one re-measured (its new mean becomes the bar, so a lucky
    measurement does not stay it); the proposals are the kept one and its one-flip neighbours."""
    search = ConfigurationSearch(reference=0.25, seed=0)
    assert not search.judge({0: 1, 1: 0}, 0.2) and search.kept == {}
    assert search.judge({0: 1, 1: 0}, 0.6) and search.reference == 0.6
    assert not search.judge({0: 0, 1: 0}, 0.5)
    assert not search.judge({0: 0, 1: 0}, 0.9, final=True)
    assert search.judge({0: 1, 1: 0}, 0.4) and search.reference == 0.4  # re-measured: the bar drops
    assert search.judge({0: 1, 1: 0}, None) and search.reference == 0.4  # not measured: kept, same bar
    proposals = [search.propose() for _ in range(600)]
    counts = {tuple(sorted(c.items())): 0 for c, _ in proposals}
    for c, same in proposals:
        counts[tuple(sorted(c.items()))] += 1
        assert same == (c == search.kept)
    assert set(counts) == {((0, 1), (1, 0)), ((0, 0), (1, 0)), ((0, 1), (1, 1))}
    assert all(abs(v - 200) < 4 * np.sqrt(600 * 1 / 3 * 2 / 3) for v in counts.values()), counts
    for kwargs, name in (
        ({"reference": float("nan")}, "reference"),
        ({"reference": 0.0, "seed": -1}, "seed"),
    ):
        with pytest.raises(ParameterError, match=f"'{name}'"):
            ConfigurationSearch(**kwargs)
    with pytest.raises(ParameterError, match="'config'"):
        search.judge([1, 0], 0.5)
    with pytest.raises(ParameterError, match="'action' = 2"):
        search.judge({0: 2}, 0.5)
    three = ConfigurationSearch(reference=0.0, n_actions=3, seed=1)
    assert three.judge({0: 2}, 0.5)
    assert {three.propose()[0][0] for _ in range(60)} == {0, 1, 2}  # flips to either other action
    with pytest.raises(ParameterError, match="'late'"):
        search.judge({0: 1}, float("inf"))


def test_bad_gating_parameters_are_refused_by_name_before_any_simulation():
    for kwargs, name in (
        ({"n_contexts": 0}, "n_contexts"),
        ({"n_contexts": 2, "n_actions": 1}, "n_actions"),
        ({"n_contexts": 2, "epsilon": 1.5}, "epsilon"),
        ({"n_contexts": 2, "alpha": 0.0}, "alpha"),
        ({"n_contexts": 2, "seed": -1}, "seed"),
        ({"n_contexts": 2, "initial": float("inf")}, "initial"),
    ):
        with pytest.raises(ParameterError, match=f"'{name}'"):
            GatingPolicy(**kwargs)
    policy = GatingPolicy(n_contexts=2)
    with pytest.raises(ParameterError, match="'context' = 2 .*\\[0, 1\\]|'context' = 2"):
        policy.choose(2)
    with pytest.raises(ParameterError, match="'reward'"):
        policy.reward(float("nan"))
    for kwargs, name in (
        ({"gating_epsilon": -0.1}, "gating_epsilon"),
        ({"gating_alpha": 0.0}, "gating_alpha"),
        ({"gating_bias": -1 * mV}, "gating_bias"),
        ({"read_bias": 1 * second}, "read_bias"),
    ):
        with pytest.raises(ParameterError, match=f"'{name}'"):
            SpikingParams(**kwargs)
    gated = SpikingParams(learned_gating=True)
    with pytest.raises(ParameterError, match="'learned_gating'.*write_channel"):
        SpikingLearner.for_task(AssociativeRecall(n_patterns=2, n_units=10), gated)
    with pytest.raises(ParameterError, match="'blocks' = False.*blocks=True"):
        SpikingLearner.for_task(StoreRecall(max_delay=1), gated, blocks=False)


def test_learned_gating_removes_the_hand_wired_gates():
    """With learned gating the STORE and RECALL channels reach nothing: no write_gate, no read_out; the
    content channels still reach their gate units."""
    sizes = dict(n_inputs=4, n_outputs=2, content=np.array([0, 1]), write_channel=2, read_channel=3, seed=0)
    wired = {p.name for p in network_description(SpikingParams(), **sizes).projections}
    learned = {p.name for p in network_description(SpikingParams(learned_gating=True), **sizes).projections}
    assert {"write_gate", "read_out"} <= wired
    assert learned == wired - {"write_gate", "read_out"}


def _unit_rates(learner: SpikingLearner, n_steps: int) -> np.ndarray:
    """Mean rate (Hz) of each memory unit in each step of the trial that just ran, (steps, units)."""
    from neurosim.encoding import spike_counts

    i, t = learner._new_spikes("mem")
    step = float(learner.step_duration / second)
    start = float(learner.sim.t / second) - n_steps * step
    g = learner.params.neurons_per_unit
    counts = spike_counts(i, t - start, learner.n_units * g, n_steps, learner.step_duration)
    return counts.reshape(n_steps, learner.n_units, g).sum(axis=2) / g / step


@pytest.mark.integration  # one store-recall trial of 16 steps on a fresh network: ~10 s
def test_the_controllers_write_bias_stands_in_for_the_store_channel():
    """The hand-wired write gate's known behaviour (tests/test_spiking_learner.py: STORE+v ignites assembly
    v, which holds through 6 distractors until the next STORE), reproduced without the STORE channel's
    synapses: the controller's Go bias (gating_bias 15 mV ≈ the STORE input's mean drive, 32 sources × 50 Hz
    × 0.45 mV × τ_m 20 ms = 14.4 mV) makes the content input sufficient only on the steps where it chooses
    Go; and a decision is emitted only where the controller reads."""
    task = StoreRecall(min_delay=0, max_delay=6, value_with_store=True)
    learner = SpikingLearner.for_task(task, SpikingParams(learned_gating=True), seed=0)
    syn = learner.sim.synapses["mem_mem"]
    g = learner.params.neurons_per_unit
    syn.w = (np.asarray(syn.i[:]) // g == np.asarray(syn.j[:]) // g).astype(float)  # imprinted assemblies
    gates = learner.gates
    code = {name: c for c, name in gates.names.items()}
    assert gates.names[int(gates.contexts(task.trial_from_symbols([("STORE", 1)]).inputs)[0])] == "STORE+1"
    gates.write.values[:] = gates.read.values[:] = 0.0  # ties: NoGo
    for name in ("STORE+0", "STORE+1"):  # a learned policy: write on STORE, read on RECALL, else NoGo
        gates.write.values[code[name], 1] = 1.0
    gates.read.values[code["RECALL"], 1] = 1.0
    symbols = [("STORE", 0), 1, 1, 0, 1, 1, 1, "RECALL", ("STORE", 1), 0, 0, 0, 0, 0, 0, "RECALL"]
    trial = task.trial_from_symbols(symbols)
    result = learner.evaluate([trial])
    rates = _unit_rates(learner, trial.n_steps)
    stored = np.array([0] * 8 + [1] * 8)
    held = rates[np.arange(16), stored]
    other = rates[np.arange(16), 1 - stored]
    assert np.all(held[1:8] > 20) and np.all(held[9:] > 20), rates.round()
    assert np.all(other[1:8] < 2) and np.all(other[9:] < 2), rates.round()
    decisions = result.predictions[0]
    assert np.all(decisions[trial.targets < 0] == -1)  # no answer where the controller did not read
    assert not gates.write.eligible and gates.write.visits.sum() == 0  # test choices are greedy, not learned


def test_the_readouts_excitability_acts_under_learned_gating_in_training_only():
    """Readout homeostasis (DeSieno's conscience, learners.spiking.homeostasis) adds each readout group's
    excitability to its bias at every trial start in training; the learned read gate sets the readout's
    ``I_ext`` too, so it must keep that excitability (and, at test, leave it out as the hand-wired path
    does)."""
    task = StoreRecall(max_delay=1)
    learner = SpikingLearner.for_task(task, SpikingParams(learned_gating=True), seed=0, target="numpy")
    learner.excitability = np.arange(1.0, learner.n_outputs + 1.0)
    g = learner.params.neurons_per_output
    for learn, extra in ((True, learner.excitability), (False, 0.0)):
        plan = learner.plan(task.trials(1, 0, "train")[0], learn)
        actions, _ = learner.gates.actions(plan, learn)
        actions[0][1]()  # the trial's start: gates closed, the readout at its bias
        i_ext = np.asarray(learner.sim.variable("out", "I_ext") / mV)
        np.testing.assert_allclose(i_ext, np.repeat(plan.bias + extra, g))
