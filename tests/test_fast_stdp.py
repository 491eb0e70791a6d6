"""FastPairSTDP (traces on the neurons) against PairSTDP (traces on the synapses) and the pair-rule sum.

Known results: pair STDP (Song, Miller & Abbott 2000, Nat. Neurosci. 3:919) with all-to-all pairing changes
a weight by Σ_{pre t_i, post t_j} A+·exp(−(t_j − t_i)/τ+) for t_j ≥ t_i and −A−·exp(−(t_i − t_j)/τ−) for
t_j < t_i; the all-to-all pre trace is the same for every synapse of one presynaptic neuron (Morrison,
Diesmann & Gerstner 2008, Biol. Cybern. 98:459, sec. 4.1.1), so keeping it on the neuron is an equivalent
formulation. FastPairSTDP takes both spike times at the soma (module docstring of
``neurosim.plasticity.fast_stdp``): on identical spike trains, with any conduction delay of its own, it must
change every weight exactly as PairSTDP with zero delay -- for both bounds, both pairings, coincident spikes
included -- and feed the same dw into a consuming modifier (RewardModulated's eligibility trace).
"""

import numpy as np
import pytest
from brian2 import metre, ms, mV, second

from neurosim import (
    LIF,
    AllToAll,
    ConductionDelay,
    ExplicitConnections,
    NetworkDescription,
    PairSTDP,
    Population,
    Projection,
    SpikeRecording,
    SpikeSource,
    TsodyksMarkram,
    build,
)
from neurosim.backend import DopamineSignal, clear_eligibility, eligibility
from neurosim.plasticity import FastPairSTDP, compose
from neurosim.plasticity.reward import RewardModulated
from neurosim.validation import ParameterError

N_PRE, N_POST, T_MS, RATE_HZ = 6, 6, 150.0, 60.0
DT_MS = 0.5  # a coarse step keeps the numpy run short; the equivalence holds for any step
DELAY_MS = 2.0  # FastPairSTDP's own conduction delay (PairSTDP runs with zero delay)
INSTANT = 1e9 * metre / second  # distance adds ~1e-9 ms: delays are exactly `base`
VARIANTS = [("hard", "all"), ("soft", "nearest")]  # between them, every bounds and pairing code path
RULE = {"A_plus": 0.01, "A_minus": 0.012, "tau_plus": 16.8 * ms, "tau_minus": 33.7 * ms}
# RewardModulated tick periods (ms): 10 ms lets FastPairSTDP defer its potentiation (period <= 10·tau_plus);
# 200 ms does not, so the per-spike code runs as written. Dopamine arrives at REWARD_MS, moving w.
REWARD_PERIODS = {"deferred": 10.0, "eager": 200.0}
REWARD_MS = 60.0
MID_MS = 97.5  # eligibility is also read here, between ticks


def _trains(rng, n, min_isi_ms=1.0):
    """Poisson trains on the time grid, at least ``min_isi_ms`` apart (so every relay spike goes through)."""
    out = []
    for _ in range(n):
        t = np.cumsum(rng.exponential(1000.0 / RATE_HZ, size=60)) + 5.0
        t = np.round(t[t < T_MS - 20] / DT_MS) * DT_MS
        keep = np.concatenate(([True], np.diff(t) >= min_isi_ms))
        out.append(t[keep])
    return out


def _network(rng):
    """Relay neurons spiking at chosen times (sources cannot hold neuron traces) and plastic projections
    pre → post (J = 0: plasticity never changes the spike times), one per rule variant."""
    pre, post = _trains(rng, N_PRE), _trains(rng, N_POST)
    post[0] = np.union1d(post[0], pre[0][::2])  # coincident pre/post spikes (same time step) on neuron 0
    post[0] = post[0][np.concatenate(([True], np.diff(post[0]) >= 1.0))]
    idx = [k for k, tr in enumerate(pre) for _ in tr] + [N_PRE + k for k, tr in enumerate(post) for _ in tr]
    times = np.concatenate(pre + post)
    relay = LIF(synapse="delta", refractory=0 * ms, v_reset=-70 * mV)
    drive = ConductionDelay(base=DT_MS * ms, velocity=INSTANT)
    projections = [
        Projection(
            "drive_pre",
            "src",
            "pre",
            weight=40 * mV,
            delay=drive,
            connectivity=ExplicitConnections(tuple(range(N_PRE)), tuple(range(N_PRE))),
        ),
        Projection(
            "drive_post",
            "src",
            "post",
            weight=40 * mV,
            delay=drive,
            connectivity=ExplicitConnections(tuple(range(N_PRE, N_PRE + N_POST)), tuple(range(N_POST))),
        ),
    ]
    for k, (bounds, pairing) in enumerate(VARIANTS):
        for kind, rule, delay in (
            ("fast", FastPairSTDP(**RULE, bounds=bounds, pairing=pairing, name=f"f{k}"), DELAY_MS),
            ("pair", PairSTDP(**RULE, bounds=bounds, pairing=pairing, name=f"p{k}"), 0.0),
        ):
            projections.append(
                Projection(
                    f"{kind}{k}",
                    "pre",
                    "post",
                    weight=0 * mV,
                    connectivity=AllToAll(),
                    rules=(rule,),
                    w_init=0.5,
                    delay=ConductionDelay(base=delay * ms, velocity=INSTANT),
                )
            )
    for kind, stdp, delay in (
        ("fast", FastPairSTDP(**RULE, name="fr"), DELAY_MS),
        ("pair", PairSTDP(**RULE, name="pr"), 0.0),
    ):
        for tag, period in REWARD_PERIODS.items():
            rules = (TsodyksMarkram(), stdp, RewardModulated(period=period * ms, name=f"rm_{kind}_{tag}"))
            projections.append(
                Projection(
                    f"{kind}_reward_{tag}",
                    "pre",
                    "post",
                    weight=0 * mV,
                    connectivity=AllToAll(),
                    rules=rules,
                    w_init=0.5,
                    delay=ConductionDelay(base=delay * ms, velocity=INSTANT),
                )
            )
    return NetworkDescription(
        populations=(
            Population("src", N_PRE + N_POST, SpikeSource(indices=tuple(idx), times=times * ms)),
            Population("pre", N_PRE, relay),
            Population("post", N_POST, relay),
        ),
        projections=tuple(projections),
        recordings=(SpikeRecording("pre"), SpikeRecording("post")),
        dt=DT_MS * ms,
    )


@pytest.fixture(scope="module")
def outcome():
    """Run the network once; every test reads plain arrays from it."""
    sim = build(_network(np.random.default_rng(7)), target="numpy")
    DopamineSignal.of(sim).deliver(1.0, at=REWARD_MS * ms)
    sim.run(MID_MS * ms, progress=False)  # mid-period: postsynaptic spikes not yet settled when deferred
    mids = {
        f"c_mid_{kind}_{tag}": eligibility(sim, f"{kind}_reward_{tag}")
        for kind in ("fast", "pair")
        for tag in REWARD_PERIODS
    }
    for kind in ("fast", "pair"):  # clearing between ticks forgives the unsettled part too
        clear_eligibility(sim, f"{kind}_reward_deferred")
        mids[f"c_cleared_{kind}"] = eligibility(sim, f"{kind}_reward_deferred")
    sim.run((T_MS - MID_MS) * ms, progress=False)
    sim.run(100 * ms, progress=False)  # silence (the trains have ended): the 200 ms tick applies dopamine
    out = {name: sim.weights(name) for name in sim.synapses if name.startswith(("fast", "pair"))}
    out["connections"] = sim.connections("fast0")
    out.update(mids)
    out["deferred"] = {name: comp.deferred for name, comp in sim.composed.items()}
    for kind in ("fast", "pair"):
        for tag in REWARD_PERIODS:
            out[f"c_{kind}_{tag}"] = eligibility(sim, f"{kind}_reward_{tag}")
    for pop in ("pre", "post"):
        i, t = sim.spikes(pop)
        out[pop] = [np.asarray(t[i == k] / ms) for k in range(N_PRE if pop == "pre" else N_POST)]
    return out


@pytest.mark.parametrize("k", range(len(VARIANTS)), ids=[f"{b}-{p}" for b, p in VARIANTS])
def test_fast_equals_pair_stdp_with_zero_delay(outcome, k):
    # Equivalence of two formulations of pair STDP (Morrison et al. 2008, sec. 4.1.1): neuron traces with
    # somatic timing (delay 2 ms) vs synapse traces with zero delay, on identical spike trains.
    assert not np.allclose(outcome[f"fast{k}"], 0.5)  # the weights did move
    np.testing.assert_allclose(outcome[f"fast{k}"], outcome[f"pair{k}"], rtol=0, atol=1e-12)


def test_fast_matches_the_pair_rule_sum(outcome):
    # Song, Miller & Abbott 2000: additive all-to-all pair STDP is the sum of the window over all spike pairs,
    # times at the soma; coincident spikes (neuron 0) count as potentiation, as in PairSTDP.
    pre_i, post_j = outcome["connections"]
    coincident = 0
    expected = np.full(len(pre_i), 0.5)
    for s, (i, j) in enumerate(zip(pre_i, post_j, strict=True)):
        lag = outcome["post"][j][None, :] - outcome["pre"][i][:, None]  # t_post - t_pre, ms
        coincident += int(np.sum(np.isclose(lag, 0)))
        ltp = RULE["A_plus"] * np.exp(-lag / float(RULE["tau_plus"] / ms))
        ltd = -RULE["A_minus"] * np.exp(lag / float(RULE["tau_minus"] / ms))
        expected[s] += np.sum(np.where(lag >= -1e-9, ltp, ltd))
    assert coincident >= 3
    assert 0.0 < expected.min() and expected.max() < 1.0  # no clipping: the plain sum applies
    np.testing.assert_allclose(outcome["fast0"], expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("tag", REWARD_PERIODS)
def test_fast_feeds_the_same_dw_into_an_eligibility_trace(outcome, tag):
    # Three-factor rule (Izhikevich 2007): with STP and RewardModulated on the same synapse, the eligibility
    # trace c collects exactly PairSTDP's (zero delay) dw, and dopamine turns it into the same weight change.
    # With 10 ms ticks FastPairSTDP's potentiation is deferred (settled at presynaptic spikes and ticks, see
    # plasticity.rule.DeferredPost); with 200 ms ticks it runs at every postsynaptic spike. Both must match
    # PairSTDP, whose per-synapse traces are the independent reference.
    assert outcome["deferred"][f"fast_reward_{tag}"] == ("fr_rm_fast_deferred" if tag == "deferred" else "")
    assert outcome["deferred"][f"pair_reward_{tag}"] == ""
    assert np.abs(outcome[f"c_fast_{tag}"]).max() > 1e-3
    np.testing.assert_allclose(outcome[f"c_fast_{tag}"], outcome[f"c_pair_{tag}"], rtol=1e-9, atol=1e-12)
    # read between ticks, right after spikes: eligibility() includes what is not yet settled
    mid_fast, mid_pair = outcome[f"c_mid_fast_{tag}"], outcome[f"c_mid_pair_{tag}"]
    np.testing.assert_allclose(mid_fast, mid_pair, rtol=1e-9, atol=1e-12)
    if tag == "deferred":  # eligibility cleared at MID_MS: zero then, and the same afterwards as PairSTDP's
        assert np.abs(mid_fast).max() > 1e-3
        np.testing.assert_array_equal(outcome["c_cleared_fast"], 0.0)
        np.testing.assert_array_equal(outcome["c_cleared_pair"], 0.0)
    assert np.abs(outcome[f"fast_reward_{tag}"] - 0.5).max() > 1e-4  # dopamine moved the weights
    np.testing.assert_allclose(
        outcome[f"fast_reward_{tag}"], outcome[f"pair_reward_{tag}"], rtol=0, atol=1e-12
    )


def test_traces_live_on_the_neurons_and_depression_moves_to_emission():
    # Memory claim (per-neuron traces, docs/performance.md): the synapse keeps only w; depression runs in
    # the zero-delay emission pathway, together with the weight update or the consuming modifier.
    comp = compose(
        [FastPairSTDP()],
        transmission="I_exc_post += J*w*EFFICACY",
        pre_variables=["lastspike"],
        post_variables=[],
    )
    assert comp.model == "w : 1"
    assert "stdp_apost_post" in comp.on_emit and "w = clip(w + dw, w_min, w_max)" in comp.on_emit
    assert "dw" not in comp.on_pre
    assert "stdp_apre_pre" in comp.on_post
    comp = compose(
        [TsodyksMarkram(), FastPairSTDP(), RewardModulated()],
        transmission="I_exc_post += J*w*EFFICACY",
        pre_variables=["lastspike"],
        post_variables=[],
    )
    assert "reward_c += dw" in comp.on_emit and "w = clip" not in comp.on_emit
    assert "stp_x" in comp.on_pre and "stp_x" not in comp.on_emit


def test_spike_source_cannot_hold_presynaptic_traces():
    # refused when the description is written, before anything is built
    with pytest.raises(ParameterError, match="per-neuron state.*SpikeSource"):
        NetworkDescription(
            populations=(
                Population("src", 2, SpikeSource(indices=(0, 1), times=[1, 2] * ms)),
                Population("post", 2, LIF()),
            ),
            projections=(
                Projection(
                    "syn", "src", "post", weight=1 * mV, connectivity=AllToAll(), rules=(FastPairSTDP(),)
                ),
            ),
        )
