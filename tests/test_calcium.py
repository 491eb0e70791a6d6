"""Calcium-based plasticity (Graupner & Brunel 2012, PNAS 109:3991): the paper and an independent integrator.

Protocol (docs/references.md, the paper's Fig. 2): 60 pre/post pairs at 1 Hz with lag Δt = t_post − t_pre,
DP parameter set, synapses starting DOWN (ρ=0) or UP (ρ=1); change of synaptic strength read out with β = 0.5
and w1/w0 = 5. All Δt values run as independent synapses of one network: one presynaptic spike source, one
postsynaptic neuron per Δt (made to fire by a driver source), two plastic synapses per Δt (DOWN and UP).

dt = 2 ms for the 60 s protocol: the rule integrates the time calcium spends above each threshold exactly
within a step, so dt enters only through the rounding of the calcium delay D to whole steps (13.7 ms is
delivered at 14 ms for dt = 2 and 1 ms, at 13.5 ms for dt = 0.5 ms) and the Euler error of ρ (τ = 150 s).
2 ms keeps the fast test well under 20 s on the numpy target; halving it changes ρ by < 1e-3
(``test_halving_dt_*``), and the trajectory matches an independent fine integrator to 1e-3.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from brian2 import Hz, metre, ms, mV, second
from scipy.integrate import solve_ivp

from neurosim import (
    LIF,
    ConductionDelay,
    ExplicitConnections,
    GraupnerBrunel,
    NetworkDescription,
    OneToOne,
    PairSTDP,
    Population,
    Projection,
    Simulation,
    SpikeRecording,
    SpikeSource,
    StateRecording,
    TsodyksMarkram,
    build,
)
from neurosim.plasticity import Rule, RuleCode, RuleError
from neurosim.validation import ParameterError

from .helpers import psc_amplitudes

DELTAS_MS = (-100.0, -20.0, 10.0, 20.0, 100.0)
T0_MS = 200.0  # first presynaptic spike
NO_DELAY = ConductionDelay(base=0 * ms, velocity=1e9 * metre / second)  # conduction delays round to 0 steps
#: Fires at the step after a driver spike arrives (delta synapse far above threshold), never otherwise.
PROBE = LIF(synapse="delta", tau_m=10 * ms, E_L=0 * mV, v_reset=0 * mV, v_threshold=1 * mV, refractory=0 * ms)


def driven_synapse(rule, pre_ms, driver_ms, *, delay, dt, recordings=()):
    """One plastic synapse ``pre → post`` (weight 0) whose postsynaptic PROBE is made to spike by a strong
    ``driver`` input: presynaptic spikes at ``pre_ms``, postsynaptic ones one step after ``driver_ms``."""
    pre_ms, driver_ms = np.atleast_1d(pre_ms), np.atleast_1d(driver_ms)
    return NetworkDescription(
        populations=(
            Population("pre", 1, SpikeSource(indices=(0,) * len(pre_ms), times=pre_ms * ms)),
            Population("driver", 1, SpikeSource(indices=(0,) * len(driver_ms), times=driver_ms * ms)),
            Population("post", 1, PROBE),
        ),
        projections=(
            Projection("drive", "driver", "post", weight=10 * mV, connectivity=OneToOne(), delay=NO_DELAY),
            Projection(
                "syn", "pre", "post", weight=0 * mV, connectivity=OneToOne(), rules=(rule,), delay=delay
            ),
        ),
        recordings=recordings,
        dt=dt,
    )


def run_pairing(rule, deltas_ms, *, dt_ms, n_pairs=60, n_copies=1, record=(), record_dt=100 * ms):
    """Pair protocol at 1 Hz; returns final ρ of the synapses starting DOWN and UP (shape (copies, deltas)),
    the recorded post spikes, the recorded ρ monitor (or None) and the calcium delay Brian2 delivers (ms)."""
    n = len(deltas_ms)
    pre_ms = T0_MS + 1000.0 * np.arange(n_pairs)
    post_ms = np.asarray(deltas_ms)[:, None] + pre_ms[None, :]
    # the probe fires one step after its driver spike arrives
    driver = SpikeSource(indices=np.repeat(np.arange(n), n_pairs), times=(post_ms.ravel() - dt_ms) * ms)
    copies = 2 * n_copies  # DOWN copies first, then UP copies; synapse k goes to post neuron k % n
    syn = Projection(
        "syn",
        "pre",
        "post",
        weight=0 * mV,
        rules=(rule,),
        delay=NO_DELAY,
        connectivity=ExplicitConnections(i=(0,) * (copies * n), j=tuple(range(n)) * copies),
    )
    recordings = [SpikeRecording("post")]
    if record:
        recordings.append(StateRecording("syn", ("calcium_rho",), indices=tuple(record), dt=record_dt))
    desc = NetworkDescription(
        populations=(
            Population("pre", 1, SpikeSource(indices=(0,) * n_pairs, times=pre_ms * ms)),
            Population("driver", n, driver),
            Population("post", n, PROBE),
        ),
        projections=(
            Projection("drive", "driver", "post", weight=10 * mV, connectivity=OneToOne(), delay=NO_DELAY),
            syn,
        ),
        recordings=tuple(recordings),
        dt=dt_ms * ms,
    )
    sim = build(desc)
    synapses = sim.synapses["syn"]
    synapses.calcium_rho = np.repeat([0.0, 1.0], n_copies * n)
    sim.run((T0_MS + 1000.0 * n_pairs) * ms, progress=False)
    rho = np.asarray(synapses.calcium_rho[:]).reshape(2, n_copies, n)
    d_eff = round(float(synapses.calcium_pre_influx.delay[0] / ms) / dt_ms) * dt_ms
    np.testing.assert_allclose(sim.weights("syn"), rule.w0 + rho.ravel() * (rule.w1 - rule.w0))
    mon = sim.state("syn") if record else None
    return rho[0], rho[1], sim.spikes("post"), mon, d_eff


def reference_rho(rule, pre_ms, post_ms, d_ms, rho0, sample_ms):
    """Independent integrator of the same equations: calcium in closed form between events, its threshold
    crossings solved analytically, and ρ integrated by scipy (rtol 1e-10) on each piece with fixed Θ's."""
    tau_ca = float(rule.tau_ca / ms)
    events = sorted([(t + d_ms, rule.C_pre) for t in pre_ms] + [(t, rule.C_post) for t in post_ms])
    events.append((max(sample_ms) + 1.0, 0.0))
    samples = list(np.sort(sample_ms))
    out, rho, c, t_last = [], rho0, 0.0, 0.0
    for t_event, jump in events:
        cuts = {t_last, t_event}
        for theta in (rule.theta_d, rule.theta_p):
            if c > theta:
                cuts.add(min(t_event, t_last + tau_ca * np.log(c / theta)))
        cuts |= {s for s in samples if t_last < s < t_event}
        cuts = sorted(cuts)
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            c_mid = c * np.exp(-((a + b) / 2 - t_last) / tau_ca)
            pot, dep = rule.gamma_p * (c_mid > rule.theta_p), rule.gamma_d * (c_mid > rule.theta_d)

            def f(_, r, pot=pot, dep=dep):
                return (-r * (1 - r) * (rule.rho_star - r) + pot * (1 - r) - dep * r) / float(rule.tau / ms)

            rho = solve_ivp(f, (a, b), [rho], rtol=1e-10, atol=1e-12).y[0, -1]
            while samples and samples[0] <= b:
                out.append(rho)
                samples.pop(0)
        c = c * np.exp(-(t_event - t_last) / tau_ca) + jump
        t_last = t_event
    return np.array(out)


@pytest.fixture(scope="module")
def pairing_60():
    """The full protocol (60 pairs at 1 Hz, dt = 2 ms), recording ρ of two synapses every 500 ms."""
    rule = GraupnerBrunel()
    n = len(DELTAS_MS)
    watched = (DELTAS_MS.index(10.0), n + DELTAS_MS.index(-20.0))  # +10 ms from DOWN, -20 ms from UP
    down, up, spikes, mon, d_eff = run_pairing(rule, DELTAS_MS, dt_ms=2.0, record=watched, record_dt=500 * ms)
    return rule, down[0], up[0], spikes, (np.asarray(mon.t / ms), np.asarray(mon.calcium_rho)), d_eff


def test_pairing_curve_matches_graupner_brunel_2012_fig2(pairing_60):
    # Graupner & Brunel 2012, Fig. 2 (DP set, 60 pairs at 1 Hz): depression for Δt ≈ -20 ms, potentiation
    # for Δt ≈ +10…+20 ms, no change at ±100 ms. Readout as the paper: switching probabilities of synapses
    # starting DOWN/UP, change = mean strength after/before with β = 0.5, w1/w0 = 5. Without noise we take
    # the simulated (deterministic) ρ as the mean of ρ's distribution and its spread from the paper's
    # Ornstein-Uhlenbeck analysis (σ_ρ of pairing_prediction); spread 0 is the zero-noise limit.
    rule, down, up, spikes, _, d_eff = pairing_60
    i, t = spikes
    for k, delta in enumerate(DELTAS_MS):  # the probes fired at the intended lags
        np.testing.assert_allclose(np.asarray(t[i == k] / ms), T0_MS + delta + 1000.0 * np.arange(60))
    same = dataclasses.replace(rule, D=d_eff * ms)  # the model as simulated (D rounded to whole steps)
    predicted = [same.pairing_prediction(d * ms) for d in DELTAS_MS]
    spread = np.array([p.spread for p in predicted])
    change = rule.synaptic_change(*rule.transition_probabilities(down, up, spread=spread))
    limit = rule.synaptic_change(*rule.transition_probabilities(down, up))
    by_delta = dict(zip(DELTAS_MS, change, strict=True))
    assert by_delta[-20.0] < 0.85
    assert by_delta[10.0] > 1.1 and by_delta[20.0] > 1.1
    assert by_delta[-100.0] == pytest.approx(1.0, abs=0.03) and by_delta[100.0] == pytest.approx(
        1.0, abs=0.03
    )
    # the paper's analytic curve (which neglects the cubic term of ρ) agrees to a few percent
    np.testing.assert_allclose(change, [p.change for p in predicted], atol=0.05)
    # zero-noise limit: every DOWN synapse switches up at +10/+20 ms, every UP one down at -20 ms
    np.testing.assert_allclose(limit, [1.0, 1 / 3, 5 / 3, 5 / 3, 1.0])


def test_brian2_trajectory_matches_reference_integrator(pairing_60):
    # Two formulations of one model: Brian2's per-step integration of the rule vs an independent piecewise
    # integration (closed-form calcium, scipy for ρ) of Graupner & Brunel's equations, over all 60 pairs.
    rule, _, _, spikes, (t_rec, rho_rec), d_eff = pairing_60
    i, t = spikes
    pre = T0_MS + 1000.0 * np.arange(60)
    # the monitor samples at the start of a step, before that step's update: ρ one step earlier
    samples = t_rec[t_rec > 0] - 2.0
    for row, (delta, rho0) in enumerate(((10.0, 0.0), (-20.0, 1.0))):
        post = np.asarray(t[i == DELTAS_MS.index(delta)] / ms)
        ref = reference_rho(rule, pre, post, d_eff, rho0, samples)
        np.testing.assert_allclose(rho_rec[row][t_rec > 0], ref, atol=1e-3)


def test_halving_dt_leaves_the_result_scaled_down():
    # Invariance (fast, 5 pairs of the Graupner & Brunel 2012 protocol): dt = 2 ms and 1 ms give the same ρ
    # (both deliver the calcium delay at 14 ms, so this isolates the integration scheme).
    rule = GraupnerBrunel()
    coarse = run_pairing(rule, DELTAS_MS, dt_ms=2.0, n_pairs=5)
    fine = run_pairing(rule, DELTAS_MS, dt_ms=1.0, n_pairs=5)
    assert coarse[-1] == fine[-1] == 14.0
    np.testing.assert_allclose(coarse[0], fine[0], atol=5e-4)  # Euler error of ρ, ∝ dt
    np.testing.assert_allclose(coarse[1], fine[1], atol=5e-4)


@pytest.mark.slow
def test_halving_dt_leaves_the_pairing_curve():
    # Invariance over the full protocol (Graupner & Brunel 2012 Fig. 2 set-up): dt = 2, 1 and 0.5 ms. From 1
    # to 0.5 ms the delivered calcium delay moves from 14 to 13.5 ms, hence the looser tolerance there.
    rule = GraupnerBrunel()
    runs = [run_pairing(rule, DELTAS_MS, dt_ms=dt) for dt in (2.0, 1.0, 0.5)]
    for (a, b), atol in zip(((0, 1), (1, 2)), (1e-3, 3e-3), strict=True):
        np.testing.assert_allclose(runs[a][0], runs[b][0], atol=atol)
        np.testing.assert_allclose(runs[a][1], runs[b][1], atol=atol)
    spread = np.array([rule.pairing_prediction(d * ms).spread for d in DELTAS_MS])
    change = [rule.synaptic_change(*rule.transition_probabilities(r[0], r[1], spread=spread)) for r in runs]
    np.testing.assert_allclose(change[0], change[2], atol=0.02)


def test_noise_spread_matches_ornstein_uhlenbeck_prediction():
    # The noise term σ√τ·√(Θ_p+Θ_d)·ξ (Graupner & Brunel 2012, corrected in PNAS 2013): after 5 pairs at
    # Δt = +10 ms, ρ across identical synapses has the paper's Ornstein-Uhlenbeck standard deviation
    # sqrt(σ²(α_p+α_d)/(2(Γ_p+Γ_d))·(1 − e^{−2T/τ_eff})) and, noise having zero mean, the deterministic mean.
    rule = GraupnerBrunel(noise=True)
    down, up, *_ = run_pairing(rule, (10.0,), dt_ms=1.0, n_pairs=5, n_copies=200)
    predicted = rule.pairing_prediction(10 * ms, n_pairs=5)
    assert np.std(down) == pytest.approx(predicted.spread, rel=0.2)  # 200 samples: s.e. of the std ≈ 5%
    assert np.std(up) == pytest.approx(predicted.spread, rel=0.2)
    assert np.mean(down) == pytest.approx(predicted.mean_from_down, abs=0.03)  # s.e. of the mean ≈ 0.006
    assert np.mean(up) == pytest.approx(predicted.mean_from_up, abs=0.03)


@pytest.mark.slow
def test_noisy_switching_probabilities_match_the_paper_analysis():
    # Graupner & Brunel 2012 (Fig. 2, analysis in Methods): with noise, 60 pairs switch DOWN→UP at +10 ms and
    # UP→DOWN at -20 ms with the probabilities of the Ornstein-Uhlenbeck approximation.
    rule = GraupnerBrunel(noise=True)
    down, up, *_ = run_pairing(rule, (-20.0, 10.0), dt_ms=1.0, n_copies=150)
    p_up, p_down = rule.transition_probabilities(down, up)
    p_up, p_down = p_up.mean(axis=0), p_down.mean(axis=0)
    minus20, plus10 = rule.pairing_prediction(-20 * ms), rule.pairing_prediction(10 * ms)
    assert p_up[1] == pytest.approx(plus10.p_up, abs=0.12)
    assert p_down[0] == pytest.approx(minus20.p_down, abs=0.12)
    assert p_up[1] > p_up[0] and p_down[0] > p_down[1]


def test_calcium_transients_follow_the_delayed_pre_and_the_post_spike():
    # Graupner & Brunel 2012 calcium model: a pre spike adds C_pre after D, a post spike adds C_post, both
    # decay with τ_Ca. One pre spike at 10 ms (arriving after a 2 ms conduction delay), a post spike at 60 ms.
    rule = GraupnerBrunel(D=5 * ms)
    desc = driven_synapse(
        rule,
        10.0,
        59.9,
        delay=ConductionDelay(base=2 * ms, velocity=1e9 * metre / second),
        dt=0.1 * ms,
        recordings=(StateRecording("syn", ("calcium_c",)),),
    )
    sim = build(desc)
    assert float(sim.synapses["syn"].calcium_pre_influx.delay[0] / ms) == pytest.approx(7.0)
    sim.run(100 * ms)
    mon = sim.state("syn")
    t, c = np.asarray(mon.t / ms), np.asarray(mon.calcium_c[0])
    t_true = np.round(t - 0.1, 6)  # recorded calcium is one step late (see the rule's docstring)
    expected = np.where(t_true >= 17.0, rule.C_pre * np.exp(-(t_true - 17.0) / 20.0), 0.0)
    expected += np.where(t_true >= 60.0, rule.C_post * np.exp(-(t_true - 60.0) / 20.0), 0.0)
    np.testing.assert_allclose(c, expected, atol=1e-9)


def test_composes_with_short_term_plasticity_and_defines_the_weight():
    # The weight is w0 + ρ(w1 − w0) (w1/w0 = 5 as in Graupner & Brunel 2012); STP scales transmission on top:
    # the first PSC of a depressing TM synapse is U·J·w (Tsodyks & Markram convention, docs/references.md).
    stp = TsodyksMarkram.depressing()
    up, _ = psc_amplitudes([stp, GraupnerBrunel(rho_init=1.0)], [10.0] * ms)
    down, _ = psc_amplitudes([stp, GraupnerBrunel(rho_init=0.0)], [10.0] * ms)
    assert up[0] == pytest.approx(0.5 * 1.0, rel=1e-6)
    assert down[0] == pytest.approx(0.5 * 0.2, rel=1e-6)


def test_excludes_other_weight_rules():
    # A rule that defines w cannot share the synapse with one that changes it (composer's rule).
    desc = NetworkDescription(
        populations=(Population("pre", 1, SpikeSource()), Population("post", 1, PROBE)),
        projections=(
            Projection(
                "syn",
                "pre",
                "post",
                weight=1 * mV,
                connectivity=OneToOne(),
                rules=(GraupnerBrunel(), PairSTDP()),
            ),
        ),
    )
    with pytest.raises(RuleError, match="GraupnerBrunel"):
        build(desc)


def test_custom_rule_with_an_extra_delayed_pathway():
    # RuleCode.pathways (the API the calcium rule uses): statements run extra_delay after the spike's arrival.
    @dataclasses.dataclass(frozen=True)
    class LateCounter(Rule):
        role = "modifier"
        lag: object = 3 * ms

        def code(self) -> RuleCode:
            return RuleCode(equations="late : 1", pathways={"echo": ("late += 1", self.lag)})

    desc = NetworkDescription(
        populations=(
            Population("pre", 1, SpikeSource(indices=(0,), times=[1.0] * ms)),
            Population("post", 1, PROBE),
        ),
        projections=(
            Projection(
                "syn",
                "pre",
                "post",
                weight=0 * mV,
                connectivity=OneToOne(),
                rules=(LateCounter(),),
                delay=ConductionDelay(base=1 * ms, velocity=1e9 * metre / second),
            ),
        ),
        dt=0.1 * ms,
    )
    sim = build(desc)
    syn = sim.synapses["syn"]
    sim.run(5 * ms)  # arrival at 2 ms, echo due at 5 ms
    assert syn.latecounter_late[0] == 0
    sim.run(0.1 * ms)
    assert syn.latecounter_late[0] == 1

    @dataclasses.dataclass(frozen=True)
    class Cheat(Rule):
        role = "weight"

        def code(self) -> RuleCode:
            return RuleCode(pathways={"late": ("dw = 1", 1 * ms)})

    with pytest.raises(RuleError, match="may not change w or dw"):
        build(
            dataclasses.replace(
                desc, projections=(dataclasses.replace(desc.projections[0], rules=(Cheat(),)),)
            )
        )


def test_save_load_continues_with_calcium_in_flight(tmp_path):
    # Invariance (save/load/continue equals an uninterrupted run), here with a presynaptic calcium
    # influx still travelling along the rule's delayed pathway (D = 13.7 ms) at the moment of saving.
    pre = 10.0 + 100.0 * np.arange(5)
    desc = driven_synapse(GraupnerBrunel(), pre, pre + 9.5, delay=NO_DELAY, dt=0.5 * ms)
    whole = build(desc).run(500 * ms)
    first = build(desc).run(215 * ms)  # the pre spike at 210 ms delivers its calcium at 223.5 ms
    path = first.save(tmp_path / "calcium.npz")
    rest = Simulation.load(path).run(285 * ms)
    for var in ("calcium_rho", "calcium_c_last", "calcium_age"):
        np.testing.assert_array_equal(
            getattr(rest.synapses["syn"], var)[:], getattr(whole.synapses["syn"], var)[:]
        )


def test_round_trips_through_plain_data():
    # Descriptions are plain data: the rule survives dict / JSON / TOML with units and expressions.
    rule = GraupnerBrunel(noise=True, D=10 * ms, rho_init="1.0*(rand() < 0.5)", name="ca2")
    assert GraupnerBrunel.from_dict(rule.to_dict()) == rule
    assert GraupnerBrunel.from_json(rule.to_json()) == rule
    assert GraupnerBrunel.from_toml(rule.to_toml()) == rule


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"tau_ca": 0 * ms}, "tau_ca"),
        ({"tau_ca": 20.0}, "tau_ca"),
        ({"tau": -1 * second}, "tau"),
        ({"D": -1 * ms}, "D"),
        ({"theta_p": 0.0}, "theta_p"),
        ({"theta_d": -1.0}, "theta_d"),
        ({"gamma_p": -1.0}, "gamma_p"),
        ({"C_post": -2.0}, "C_post"),
        ({"rho_star": 1.0}, "rho_star"),
        ({"sigma": -0.1}, "sigma"),
        ({"w0": 1.0, "w1": 0.5}, "w1"),
        ({"rho_init": 1.5}, "rho_init"),
        ({"noise": "yes"}, "noise"),
    ],
)
def test_bad_parameters_are_named(kwargs, name):
    with pytest.raises(ParameterError, match=f"'{name}'"):
        GraupnerBrunel(**kwargs)


def test_bad_readout_arguments_are_named():
    rule = GraupnerBrunel()
    with pytest.raises(ParameterError, match="'beta'"):
        rule.synaptic_change(0.5, 0.5, beta=1.5)
    with pytest.raises(ParameterError, match="'frequency'"):
        rule.pairing_prediction(10 * ms, frequency=0 * Hz)
    with pytest.raises(ParameterError, match="'spread'"):
        rule.transition_probabilities(0.4, 0.6, spread=-1.0)
