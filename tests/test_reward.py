"""Reward-modulated (three-factor) STDP against closed forms and Izhikevich 2007 (docs/references.md)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from brian2 import Hz, metre, ms, mV, second

from neurosim import (
    LIF,
    AllToAll,
    ConductionDelay,
    NetworkDescription,
    OneToOne,
    PairSTDP,
    Population,
    Projection,
    SpikeRecording,
    SpikeSource,
    StateRecording,
    TripletSTDP,
    build,
)
from neurosim.backend import DopamineSignal, eligibility
from neurosim.plasticity import Rule, RuleCode
from neurosim.plasticity.reward import RewardModulated
from neurosim.validation import ParameterError

DELAY = ConductionDelay(base=1 * ms, velocity=1e6 * metre / second)  # 1 ms, whatever the distance
#: Fires exactly one step after a 100 mV kick arrives; a 0.01 mV plastic input never makes it fire.
PROBE = LIF(synapse="delta", E_L=-70 * mV, v_reset=-70 * mV, v_threshold=-50 * mV, refractory=0 * ms)


def pairing_network(plastic, pre_times, kick_times, *, n_pre=1, n_post=1, dt=0.5 * ms, recordings=()):
    """Presynaptic spike trains onto post neurons whose spikes are forced by 100 mV kicks.

    ``plastic``: {projection name: (post population name, rules)}; every post population gets the same
    kicks, so all plastic projections see identical pre and post spikes. ``pre_times``/``kick_times``:
    lists of (neuron, time_ms)."""
    pre_i, pre_t = zip(*pre_times, strict=True)
    kick_i, kick_t = zip(*kick_times, strict=True)
    posts = sorted({post for post, _ in plastic.values()})
    pops = [
        Population("pre", n_pre, SpikeSource(indices=pre_i, times=np.array(pre_t) * ms)),
        Population("kick", n_post, SpikeSource(indices=kick_i, times=np.array(kick_t) * ms)),
    ] + [Population(p, n_post, PROBE) for p in posts]
    projs = [
        Projection(
            name, "pre", post, 0.01 * mV, connectivity=AllToAll(), rules=tuple(rules), w_init=0.5, delay=DELAY
        )
        for name, (post, rules) in plastic.items()
    ] + [Projection(f"kick_{p}", "kick", p, 100 * mV, connectivity=OneToOne(), delay=DELAY) for p in posts]
    desc = NetworkDescription(
        populations=tuple(pops),
        projections=tuple(projs),
        recordings=tuple(SpikeRecording(p) for p in posts) + tuple(recordings),
        dt=dt,
    )
    return build(desc)


def test_eligibility_holds_stdp_change_and_decays_with_tau_c():
    # Izhikevich 2007: the STDP change goes to c (not w), and c decays as exp(-t/tau_c) between spikes;
    # a later post-before-pre pair subtracts A_minus*exp(-lag/tau_minus) from the decayed trace.
    stdp, rule = PairSTDP(), RewardModulated(tau_c=0.5 * second)
    sim = pairing_network({"syn": ("post", (stdp, rule))}, [(0, 10.0), (0, 300.0)], [(0, 14.0)])
    sim.run(100 * ms)
    t_post = float(sim.spikes("post")[1][0] / second)
    t_arrive = 0.011  # pre spike at 10 ms + 1 ms delay
    c0 = stdp.A_plus * np.exp(-(t_post - t_arrive) / 0.020)
    assert eligibility(sim, "syn")[0] == pytest.approx(c0 * np.exp(-(0.1 - t_post) / 0.5), rel=1e-12)
    for t_end in (0.15, 0.25):
        sim.run(t_end * second - sim.t)
        expected = c0 * np.exp(-(t_end - t_post) / 0.5)
        assert eligibility(sim, "syn")[0] == pytest.approx(expected, rel=1e-9)
    sim.run(100 * ms)  # the second pre spike arrives at 301 ms: LTD from the post trace
    t2 = 0.301
    expected = c0 * np.exp(-(t2 - t_post) / 0.5) - stdp.A_minus * np.exp(-(t2 - t_post) / 0.020)
    assert eligibility(sim, "syn")[0] == pytest.approx(expected * np.exp(-(0.35 - t2) / 0.5), rel=1e-9)
    assert sim.weights("syn")[0] == 0.5  # no dopamine, no tonic term: w untouched


def test_delayed_reward_changes_w_by_the_integral_of_dopamine_times_eligibility():
    # Three-factor rule dw/dt = eta*da(t)*c(t): a reward a at T (off the update grid) gives, by t_end,
    # dw = eta*a*c(T)*tau_eff*(1 - exp(-(t_end - T)/tau_eff)), tau_eff = 1/(1/tau_c + 1/tau_DA)
    # (Izhikevich 2007 scheme with the exact per-period integral); before T, w does not move.
    rule = RewardModulated(tau_c=0.5 * second, tau_da=100 * ms, eta=100 * Hz)
    sim = pairing_network({"syn": ("post", (PairSTDP(), rule))}, [(0, 10.0)], [(0, 14.0)])
    sim.run(50 * ms)
    T, amount = 0.4037, 2.0
    DopamineSignal.of(sim).deliver(amount, at=T * second)
    sim.run(400 * ms)  # to 0.45 s: the reward arrived at 0.4037 s
    sim.run(550 * ms)  # to 1.0 s
    c_T = eligibility(sim, "syn")[0] * np.exp((1.0 - T) / 0.5)  # no spike after 14 ms: c decays freely
    tau_eff = 1 / (1 / 0.5 + 1 / 0.1)
    expected = 100 * amount * c_T * tau_eff * (1 - np.exp(-(1.0 - T) / tau_eff))
    assert sim.weights("syn")[0] - 0.5 == pytest.approx(expected, rel=1e-9)
    assert DopamineSignal.of(sim).dopamine("syn", [T - 1e-6, T, T + 0.1]) == pytest.approx(
        [0, amount, amount * np.exp(-1)]
    )


def test_delayed_reward_before_its_time_leaves_w_alone():
    # The reward scheduled for T has no effect before T (no acausal weight change).
    rule = RewardModulated(tau_c=0.5 * second)
    sim = pairing_network({"syn": ("post", (PairSTDP(), rule))}, [(0, 10.0)], [(0, 14.0)])
    sim.run(50 * ms)
    DopamineSignal.of(sim).deliver(1.0, at=0.3 * second)
    sim.run(250 * ms)
    assert sim.weights("syn")[0] == 0.5
    sim.run(20 * ms)
    assert sim.weights("syn")[0] > 0.5


def test_reward_strengthens_punishment_weakens_no_reward_no_change():
    # Izhikevich 2007 / Fremaux & Gerstner 2016: with the same activity, reward (da > 0) moves every
    # eligible synapse in the direction of its eligibility, punishment (da < 0) by exactly the opposite
    # amount (the rule is linear in da), no dopamine changes nothing; the tonic term alone changes w by
    # eta*tonic*c(t1)*tau_c*(1 - exp(-(t2 - t1)/tau_c)) once activity has stopped.
    rng = np.random.default_rng(1)
    pre = [(k, float(t)) for k in range(8) for t in rng.choice(np.arange(5, 280), 8, replace=False)]
    kicks = [(k, float(t)) for k in range(4) for t in rng.choice(np.arange(5, 280), 8, replace=False)]
    stdp, tau_c = PairSTDP(A_plus=0.02, A_minus=0.02), 0.5 * second
    tonic = RewardModulated(tau_c=tau_c, tonic=0.05)
    plastic = {
        "plus": ("post_a", (stdp, RewardModulated(tau_c=tau_c))),
        "minus": ("post_b", (stdp, RewardModulated(tau_c=tau_c))),
        "none": ("post_c", (stdp, RewardModulated(tau_c=tau_c))),
        "tonic": ("post_d", (stdp, tonic)),
    }
    sim = pairing_network(plastic, pre, kicks, n_pre=8, n_post=4, dt=1 * ms)
    sim.run(300 * ms)
    c = eligibility(sim, "plus")
    w_tonic_start = sim.weights("tonic").copy()  # weights() may be a live view
    c_tonic = eligibility(sim, "tonic")
    signal = DopamineSignal.of(sim)
    signal.deliver(1.0, at=0.3 * second, projections=["plus"])
    signal.deliver(-1.0, at=0.3 * second, projections=["minus"])
    sim.run(700 * ms)
    dw_plus, dw_minus, dw_none = (sim.weights(p) - 0.5 for p in ("plus", "minus", "none"))
    eligible = np.abs(c) > 1e-4
    assert eligible.sum() > 10 and (c[eligible] > 0).any() and (c[eligible] < 0).any()
    assert np.all(np.sign(dw_plus[eligible]) == np.sign(c[eligible]))
    assert np.all(np.sign(dw_minus[eligible]) == -np.sign(c[eligible]))
    np.testing.assert_allclose(dw_minus, -dw_plus, rtol=1e-12, atol=1e-15)
    assert np.all(dw_none == 0)
    expected = 100 * 0.05 * c_tonic * 0.5 * (1 - np.exp(-0.7 / 0.5))
    np.testing.assert_allclose(sim.weights("tonic") - w_tonic_start, expected, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("dt_ms", [0.1, 0.5, 1.0])
def test_trust_region_holds_per_window_for_any_step_and_tick(dt_ms):
    # The bound of the trust region (PPO's clipped ratio 1 ± eps, Schulman et al. 2017) applies per
    # clip_window, here ten 10 ms ticks: within each window [kW, (k+1)W) the weight stays within
    # eps·max(|w(kW⁻)|, clip_floor) of its value just before the window's first tick, whatever the
    # simulation step. Read from the recorded weight itself, not from the rule's own reference.
    eps, window, period = 0.05, 100 * ms, 10 * ms
    rule = RewardModulated(tau_c=0.5 * second, period=period, clip_epsilon=eps, clip_window=window)
    dt = dt_ms * ms
    sim = pairing_network(
        {"syn": ("post", (PairSTDP(), rule))},
        [(0, 10.0)],
        [(0, 14.0)],
        dt=dt,
        recordings=(StateRecording("syn", ("w",), dt=dt),),
    )
    sim.run(50 * ms)
    sim.dopamine.deliver(100.0, at=0.1 * second)
    sim.run(550 * ms)
    w = np.asarray(sim.state("syn").w[0])
    per_window = int(round(float(window / dt)))
    reached = 0.0
    for start in range(per_window, len(w) - per_window, per_window):  # windows after the first
        ref = w[start - 1]  # w changes only at ticks: the value just before the window's first tick
        bound = eps * max(abs(ref), rule.clip_floor)
        moved = np.abs(w[start : start + per_window] - ref).max()
        assert moved <= bound + 1e-12, (start * dt_ms, moved, bound)
        reached = max(reached, moved / bound)
    assert reached == pytest.approx(1.0)  # the reward is large enough to meet the bound


def test_clipping_bounds_the_relative_change_per_window():
    # PPO-style trust region (Schulman et al. 2017, clipped ratio 1 +- eps): within each clip_window the
    # weight stays within eps*max(|w_ref|, clip_floor) of its value at the window's start; the same large
    # reward without the bound moves it much further.
    eps, window = 0.05, 100 * ms
    clipped = RewardModulated(tau_c=0.5 * second, clip_epsilon=eps, clip_window=window)
    free = RewardModulated(tau_c=0.5 * second)
    rec = (
        StateRecording("clipped", ("w", "reward_w_ref"), dt=10 * ms),
        StateRecording("free", ("w",), dt=10 * ms),
    )
    sim = pairing_network(
        {"clipped": ("post", (PairSTDP(), clipped)), "free": ("post", (PairSTDP(), free))},
        [(0, 10.0)],
        [(0, 14.0)],
        dt=1 * ms,
        recordings=rec,
    )
    sim.run(50 * ms)
    DopamineSignal.of(sim).deliver(100.0, at=0.1 * second)
    sim.run(550 * ms)
    w = np.asarray(sim.state("clipped").w[0])
    w_ref = np.asarray(sim.state("clipped").reward_w_ref[0])
    bound = eps * np.maximum(np.abs(w_ref), clipped.clip_floor)
    assert np.all(np.abs(w - w_ref) <= bound + 1e-12)
    assert np.max(np.abs(w - w_ref) / bound) == pytest.approx(1.0)  # the bound was reached
    assert w[-1] > 0.5 * (1 + eps) ** 3  # ... and the next windows go on from the new weight
    w_free = np.asarray(sim.state("free").w[0])
    assert np.max(np.abs(np.diff(w_free[:: int(window / (10 * ms))]))) > 2 * eps * w_free.max()


def test_wraps_any_weight_rule_including_a_users_own():
    # The composer routes every weight rule's dw into the eligibility trace: triplet STDP and a rule
    # written inside this test both leave w alone and charge c by exactly their dw.
    class PostHebb(Rule):
        role = "weight"
        namespace = "hebb"

        def code(self) -> RuleCode:
            return RuleCode(
                equations="dx/dt = -x/(20*ms) : 1 (event-driven)", on_pre="x += 1", on_post="dw = 0.3*x"
            )

    from dataclasses import dataclass

    PostHebb = dataclass(frozen=True)(PostHebb)
    rule = RewardModulated()
    sim = pairing_network(
        {"hebb": ("post", (PostHebb(), rule)), "triplet": ("post", (TripletSTDP(), rule))},
        [(0, 10.0)],
        [(0, 14.0)],
    )
    assert "w = clip(w + dw" not in sim.composed["triplet"].on_post
    sim.run(50 * ms)
    t_post = float(sim.spikes("post")[1][0] / second)
    lag = t_post - 0.011
    decay = np.exp(-(0.05 - t_post) / 1.0)  # to sim.t = 50 ms with the default tau_c = 1 s
    assert eligibility(sim, "hebb")[0] == pytest.approx(0.3 * np.exp(-lag / 0.020) * decay, rel=1e-12)
    triplet = TripletSTDP()
    assert eligibility(sim, "triplet")[0] == pytest.approx(
        triplet.A2_plus * np.exp(-lag / float(triplet.tau_plus / second)) * decay, rel=1e-9
    )
    assert sim.weights("hebb")[0] == sim.weights("triplet")[0] == 0.5


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"clip_epsilon": 0.0}, "clip_epsilon"),
        ({"clip_epsilon": -0.1}, "clip_epsilon"),
        ({"tau_c": 0 * ms}, "tau_c"),
        ({"tau_da": -5 * ms}, "tau_da"),
        ({"eta": -1 * Hz}, "eta"),
        ({"period": 10 * ms, "horizon": 15 * ms}, "horizon"),
        ({"clip_epsilon": 0.1, "clip_window": 15 * ms}, "clip_window"),
        ({"tonic": float("nan")}, "tonic"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        RewardModulated(**kwargs)


def test_bad_deliveries_are_refused_before_running():
    rule = RewardModulated(horizon=1 * second)
    sim = pairing_network({"syn": ("post", (PairSTDP(), rule))}, [(0, 10.0)], [(0, 14.0)])
    sim.run(20 * ms)
    signal = DopamineSignal.of(sim)
    with pytest.raises(ParameterError, match="'at'"):
        signal.deliver(1.0, at=10 * ms)  # in the past
    with pytest.raises(ParameterError, match="horizon"):
        signal.deliver(1.0, at=5 * second)  # beyond the dopamine table
    with pytest.raises(ParameterError, match="'amount'"):
        signal.deliver(float("inf"))
    with pytest.raises(ParameterError, match="'projections'"):
        signal.deliver(1.0, projections=["nope"])


def _load_experiment(name: str):
    path = Path(__file__).resolve().parents[1] / "experiments" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"experiment_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_distal_reward_scaled_down():
    # Izhikevich 2007 (Fig. 1), scaled down for speed (experiments/distal_reward.py --quick): 50 excitatory
    # Izhikevich neurons (no inhibitory ones), 8 s, dt = 1 ms, the paper's rule parameters, and the pairing
    # "neuron 0 fires, neuron 1 fires 5 ms later" evoked by stimulation about once a second (instead of
    # waited for); generated code finds each pairing and rewards it (DA += 0.5) 1-3 s later, after plenty
    # of unrelated spikes. The rewarded synapse 0 -> 1 (starting at 0) grows to near its maximum 4; the mean
    # of the other E synapses does not.
    mod = _load_experiment("distal_reward")
    res = mod.simulate(mod.Config(**mod.QUICK), seed=0)
    assert len(res["reward_times_s"]) >= 5
    assert res["n_pairings_generated"] == res["n_pairings"]  # generated code found what the spikes show
    assert res["w_rewarded"][-1] > 3.0
    assert res["w_mean_others"][-1] <= res["w_mean_others"][0] + 0.05


def test_pairings_match_a_spike_by_spike_reading():
    # Independent implementation: a pre spike is paired when some post spike follows it 1 step to `window`
    # later (Izhikevich 2007's "post fires within 10 ms after pre"), read off spike by spike.
    from neurosim.backend.pairing_reward import paired

    rng = np.random.default_rng(3)
    dt, window = 0.001, 0.010
    pre = np.sort(rng.choice(5000, 300, replace=False)) * dt
    post = np.sort(rng.choice(5000, 400, replace=False)) * dt
    steps = np.rint(post / dt)
    expected = [any(1 <= d <= 10 for d in steps - round(s / dt)) for s in pre]
    assert paired(pre, post, window, dt).tolist() == expected
    assert paired([0.1], [0.1, 0.111], window, dt).tolist() == [False]  # same step, 11 steps: no pairing
    assert paired([0.1], [0.110], window, dt).tolist() == [True]


@pytest.mark.integration
def test_distal_reward_generated_rewards_equal_the_python_controller():
    # Equivalence: generated code that finds each pairing and delivers its reward during one run gives the
    # same weights (to rounding) as a Python controller that reads the spikes after each 0.95 s chunk and
    # schedules the same rewards through the dopamine tables (same seed; 6 excitatory neurons, pairings
    # evoked every 0.3 s, rewards 1-1.2 s later, 2.2 s).
    mod = _load_experiment("distal_reward")
    small = dict(n_exc=6, n_inh=0, out_degree=2, minutes=2.2 / 60, evoked_every_s=0.3, target="numpy")
    small.update(delay_max_s=1.2, record_every_s=0.5, chunk_s=0.95)
    fast = mod.simulate(mod.Config(**small), seed=2)
    slow = mod.simulate(mod.Config(**small, rewards="python"), seed=2)
    assert fast["n_pairings_generated"] == fast["n_pairings"] >= 3
    assert len(fast["reward_times_s"]) >= 2  # rewards arrived and moved the weights
    assert fast["reward_times_s"] == slow["reward_times_s"]
    assert fast["w_rewarded"][-1] > 0.1
    np.testing.assert_allclose(fast["w_rewarded"], slow["w_rewarded"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast["final_weights"], slow["final_weights"], rtol=1e-10, atol=1e-12)


@pytest.mark.compiled
def test_distal_reward_standalone_equals_the_python_controller():
    # The same equivalence where it matters for speed: the generated path compiled with cpp_standalone (the
    # experiment's default) against the Python controller on Cython; 100 E + 20 I Izhikevich neurons,
    # pairings evoked every second, 6 s (same seed, same weights to rounding).
    mod = _load_experiment("distal_reward")
    small = dict(n_exc=100, n_inh=20, out_degree=10, minutes=0.1, evoked_every_s=1.0, record_every_s=1.0)
    fast = mod.simulate(mod.Config(**small, target="cpp_standalone"), seed=4)
    slow = mod.simulate(mod.Config(**small, rewards="python", target="cython"), seed=4)
    assert fast["n_pairings_generated"] == fast["n_pairings"] >= 4
    assert fast["reward_times_s"] == slow["reward_times_s"]
    np.testing.assert_allclose(fast["w_rewarded"], slow["w_rewarded"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast["final_weights"], slow["final_weights"], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "field, value",
    [
        ("dopamine", -0.5),
        ("dopamine", float("inf")),
        ("eta_hz", -1.0),
        ("minutes", float("nan")),
        ("noise_mv", -1.0),
        ("noise_mv", float("inf")),
        ("input_rate_hz", float("inf")),
        ("window_ms", -10.0),
        ("delay_min_s", 0.0),
        ("delay_max_s", 0.5),  # below delay_min_s
        ("delay_max_s", float("inf")),
        ("chunk_s", 1.0),  # a chunk longer than the shortest reward delay minus the window
        ("record_every_s", 0.0),
        ("slots", 0),
        ("rewards", "magic"),
        ("target", "gpu"),
    ],
)
def test_distal_reward_config_rejects_bad_values(field, value):
    # Bad input is refused when the config is made, before any network is built, naming the field.
    mod = _load_experiment("distal_reward")
    with pytest.raises(ParameterError, match=field):
        mod.Config(**{field: value})


def test_distal_reward_config_rejects_a_python_controller_on_one_standalone_run():
    # A cpp_standalone network runs once; the Python controller needs a run per chunk.
    mod = _load_experiment("distal_reward")
    with pytest.raises(ParameterError, match="target"):
        mod.Config(rewards="python")
    with pytest.raises(ParameterError, match="noise_mv"):
        mod.Config(noise_mv=0.0, input_rate_hz=0.0)  # no input at all


def test_pairing_reward_refuses_lost_rewards():
    # With one slot, the next pre spike reuses the slot of a pairing whose reward is still due: check() fails.
    mod = _load_experiment("distal_reward")
    small = dict(n_exc=4, n_inh=0, out_degree=1, minutes=1.8 / 60, evoked_every_s=0.2, target="numpy")
    with pytest.raises(ParameterError, match="slots"):
        mod.simulate(mod.Config(**small, slots=1, record_every_s=1.0), seed=0)


#: The shortened protocol of the integration test (simulated minutes; the paper's is 60).
SHORT_MINUTES = 10.0


@pytest.mark.integration
def test_distal_reward_spontaneous_pairings_separate_the_rewarded_synapse():
    # Izhikevich 2007 (Fig. 1) at full size with spontaneous pairings (nothing evoked): 800 E + 200 I
    # neurons, 100 synapses each, noise input, rewards from generated code (cpp_standalone), a shortened
    # protocol (the paper's hour is recorded in docs/results/distal_reward/README.md). The rewarded
    # synapse, started at 0, ends near the maximum 4 and above 97% of the others; the mean does not grow.
    mod = _load_experiment("distal_reward")
    res = mod.simulate(mod.Config(minutes=SHORT_MINUTES, record_every_s=60.0), seed=0)
    assert res["n_pairings_generated"] == res["n_pairings"] >= 5
    others = np.asarray(res["final_weights"])
    assert res["w_rewarded"][-1] > 3.5  # near the maximum (4)
    assert np.mean(others < res["w_rewarded"][-1]) > 0.97  # above nearly all others (median ~0.5)
    assert res["w_mean_others"][-1] <= res["w_mean_others"][0]  # the mean E weight does not grow


@pytest.mark.slow
def test_distal_reward_full_network():
    # Izhikevich 2007 at full size: 800 E + 200 I Izhikevich neurons, 100 synapses per neuron, thalamic
    # 20 mV kicks at 1 Hz (his network without dopamine), the paper's rule parameters; the pairing 0 -> 1 is
    # evoked every ~2 s (the paper waits for it to happen spontaneously) and rewarded 1-3 s later. Within a
    # simulated minute the rewarded synapse is at its maximum 4, while the mean E weight does not grow.
    from neurosim.backend.device import _compiler_works

    mod = _load_experiment("distal_reward")
    target = "cpp_standalone" if _compiler_works() else "numpy"
    kicks = dict(noise_mv=0.0, input_rate_hz=1.0)
    config = mod.Config(minutes=1.0, evoked_every_s=2.0, record_every_s=10.0, target=target, **kicks)
    res = mod.simulate(config, seed=1)
    assert len(res["reward_times_s"]) >= 20
    assert res["w_rewarded"][-1] > 3.5
    assert res["w_mean_others"][-1] <= res["w_mean_others"][0]
