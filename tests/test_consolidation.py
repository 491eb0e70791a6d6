"""Synaptic tagging and capture (TaggingCapture, Luboeinski & Tetzlaff 2021) against the published results.

Results (docs/references.md): strong tetanus → late LTP lasting hours; weak tetanus alone → early LTP that
decays to baseline; weak tetanus shortly after (Frey & Morris 1997, Nature 385:533) or before (Frey &
Morris 1998, Neuropharmacology 37:545) strong tetanus of other synapses of the same neurons → the weak
pathway is captured and lasts. Reproduced by Clopath et al. 2008 (PLoS Comput. Biol. 4:e1000248) and
Li, Kulvicius & Tetzlaff 2016 / Luboeinski & Tetzlaff 2021 (Commun. Biol. 4:275), whose model this is.

The protocol tests compress hours with ``time_scale`` (the rule's documented time-scale factor) and use a
10 ms step: the rule is event-driven and exact at the spike times (checked against dt = 0.1 ms below).
"""

import gc

import numpy as np
import pytest
from brian2 import ms, mV, second
from scipy.integrate import solve_ivp

from neurosim import (
    LIF,
    ExplicitConnections,
    NetworkDescription,
    OneToOne,
    PairSTDP,
    Population,
    Projection,
    SpikeRecording,
    SpikeSource,
    StateRecording,
    TaggingCapture,
    TsodyksMarkram,
    build,
)
from neurosim.plasticity import RuleError
from neurosim.plasticity.consolidation import strong_tetanus, weak_tetanus
from neurosim.validation import ParameterError

from .helpers import INTEGRATOR

HOUR = 3600 * second
S = 300.0  # time_scale: 8 h of consolidation in 96 s of simulated time
RULE = TaggingCapture(time_scale=S)
H0 = float(RULE.h0 / mV)


def _source(name, trains):
    """A SpikeSource population whose neuron k fires the spike times ``trains[k]``."""
    idx = np.concatenate([[k] * len(tr) for k, tr in enumerate(trains)]).astype(int)
    times = np.concatenate([np.asarray(tr / ms) for tr in trains])
    order = np.argsort(times, kind="stable")
    return Population(name, len(trains), SpikeSource(indices=tuple(idx[order]), times=times[order] * ms))


@pytest.fixture(scope="module")
def protocols():
    """One network, five independent postsynaptic neurons (biological times, compressed by S):

    0: strong tetanus at 0.5 h;  1: weak tetanus at 0.5 h;  2: strong at 0.5 h, weak at 1 h (weak after
    strong);  3: weak at 0.5 h, strong at 1 h (weak before strong);  4: weak at 0.5 h, outside protein drive
    from 0.55 h to 1.55 h.
    Pathway S (strong) and pathway W (weak) are separate projections: the neuron's protein is shared.
    """
    at = lambda hours: hours * HOUR / S  # noqa: E731
    strong = _source(
        "S",
        [
            strong_tetanus(at(0.5), time_scale=S),
            strong_tetanus(at(0.5), time_scale=S),
            strong_tetanus(at(1.0), time_scale=S),
        ],
    )
    weak = _source(
        "W", [weak_tetanus(at(0.5)), weak_tetanus(at(1.0)), weak_tetanus(at(0.5)), weak_tetanus(at(0.5))]
    )
    every = 0.1 * HOUR / S
    desc = NetworkDescription(
        populations=(strong, weak, Population("post", 5, INTEGRATOR)),
        projections=(
            Projection(
                "S_post", "S", "post", 1 * mV, ExplicitConnections((0, 1, 2), (0, 2, 3)), rules=(RULE,)
            ),
            Projection(
                "W_post", "W", "post", 1 * mV, ExplicitConnections((0, 1, 2, 3), (1, 2, 3, 4)), rules=(RULE,)
            ),
        ),
        recordings=(
            StateRecording("S_post", ("w", "stc_h", "stc_z"), dt=every),
            StateRecording("W_post", ("w", "stc_h", "stc_z"), dt=every),
            StateRecording("post", ("stc_p",), dt=every),
        ),
        dt=10 * ms,  # exact: 100 Hz spikes fall on the grid and the rule is event-driven (see the dt test)
    )
    sim = build(desc)
    sim.run(at(0.55))
    sim.groups["post"].stc_protein_drive[4] = 1.0  # an outside signal (reward) switches protein synthesis on
    sim.run(at(1.0))
    sim.groups["post"].stc_protein_drive[4] = 0.0
    sim.run(at(6.45))  # until 8 h
    hours = np.asarray(sim.state("S_post").t / HOUR) * S

    def trace(projection, post, var):
        syn = sim.synapses[projection]
        k = int(np.flatnonzero(np.asarray(syn.j[:]) == post)[0])
        values = getattr(sim.state(projection), var)[k]
        return np.asarray(values / mV) if var == "stc_h" else np.asarray(values)

    return hours, trace, sim


def test_strong_tetanus_gives_late_ltp_lasting_hours(protocols):
    # Frey & Morris 1997; Clopath et al. 2008; Luboeinski & Tetzlaff 2021: strong tetanus (3 x 100 pulses at
    # 100 Hz, 10 min apart) -> protein synthesis -> late LTP that outlasts the early phase (still up at 8 h).
    hours, trace, _ = protocols
    w, h, z = trace("S_post", 0, "w"), trace("S_post", 0, "stc_h"), trace("S_post", 0, "stc_z")
    assert h.max() - H0 > float(RULE.theta_pro / mV)  # early phase alone crosses the protein threshold
    assert w[-1] > 1.6 and z[-1] > 0.6  # consolidated: weight ~ 1 + z at 8 h
    assert h[-1] - H0 < 0.1 * (h.max() - H0)  # the early phase itself has largely decayed by 8 h


def test_weak_tetanus_alone_gives_early_ltp_that_decays(protocols):
    # Frey & Morris 1997; Clopath et al. 2008: weak tetanus (21 pulses at 100 Hz) -> early LTP only, which
    # decays back to baseline within hours; no proteins are made, nothing is consolidated.
    hours, trace, sim = protocols
    w, z = trace("W_post", 1, "w"), trace("W_post", 1, "stc_z")
    peak = w.max() - 1
    # potentiated enough to be tagged, but below the protein threshold
    assert float(RULE.theta_tag / RULE.h0) < peak < float(RULE.theta_pro / RULE.h0)
    assert w[-1] - 1 < 0.05 * peak  # back to baseline at 8 h
    assert np.all(z == 0) and np.all(np.asarray(sim.state("post").stc_p[1]) == 0)


def test_weak_after_strong_on_another_pathway_is_captured(protocols):
    # Frey & Morris 1997 (synaptic tagging): weak tetanus on pathway W 30 min after strong tetanus on pathway
    # S of the same neurons -> W's tag captures S-triggered proteins -> W's LTP lasts (Clopath et al. 2008).
    _, trace, _ = protocols
    captured, alone = trace("W_post", 2, "w")[-1] - 1, trace("W_post", 1, "w")[-1] - 1
    assert trace("W_post", 2, "stc_z")[-1] > 0.4
    assert captured > 0.4 and captured > 10 * alone


def test_weak_before_strong_is_captured(protocols):
    # Frey & Morris 1998: weak tetanus 30 min *before* strong tetanus of other synapses is captured too, here
    # partly: the tag (~1 h) fades while the proteins build up (tau_p = 1 h), so z ends lower than above.
    _, trace, _ = protocols
    assert trace("W_post", 3, "stc_z")[-1] > 0.1
    assert trace("W_post", 3, "w")[-1] - 1 > 10 * (trace("W_post", 1, "w")[-1] - 1)


def test_outside_protein_drive_consolidates_weak_ltp(protocols):
    # The documented outside-control variable (stc_protein_drive, e.g. reward; cf. neuromodulator-dependent
    # protein synthesis, Lehr, Luboeinski & Tetzlaff 2022): switched on after a weak tetanus it turns the
    # tagged early LTP into late LTP.
    _, trace, sim = protocols
    p = np.asarray(sim.state("post").stc_p[4])
    assert p.max() > 0.5
    assert trace("W_post", 4, "stc_z")[-1] > 0.3


def _late_phase_reference(h_init, p_rule, t_end):
    """Independent implementation: the slow ODEs of Luboeinski & Tetzlaff 2021 (no spikes) with solve_ivp."""
    r = p_rule
    s, h0 = r.time_scale, float(r.h0 / mV)
    tau_h, tau_p, tau_z = (float(getattr(r, n) / second) / s for n in ("tau_h", "tau_p", "tau_z"))
    tag, pro = float(r.theta_tag / mV), float(r.theta_pro / mV)
    n = len(h_init)

    def rhs(_t, y):
        h, p, z = y[:n], y[n], y[n + 1 :]
        dh = 0.1 * (h0 - h) / tau_h
        dp = (r.alpha * (np.sum(np.abs(h - h0)) >= pro) - p) / tau_p
        dz = p * ((1 - z) * (h - h0 >= tag) - (z + 0.5) * (h0 - h >= tag)) / tau_z
        return np.concatenate([dh, [dp], dz])

    y0 = np.concatenate([h_init, [0.0], np.zeros(n)])
    return solve_ivp(rhs, (0, t_end), y0, max_step=tau_p / 500, rtol=1e-9, atol=1e-12, dense_output=True)


def test_late_phase_matches_solve_ivp():
    # Equivalence of two formulations: Brian2 (exact exponential steps every slow_dt, per-neuron protein from
    # the summed early changes) vs scipy's solve_ivp of the ODEs. Three synapses onto one neuron: a strong LTP
    # tag, a weak LTP tag that lasts only ~20 min and an LTD tag (z -> -0.5); their summed change makes
    # protein.
    rule = TaggingCapture(time_scale=3600, slow_dt=2 * ms)  # 1 h -> 1 s; 1800 slow steps per hour
    h_init = H0 + np.array([3.0, 1.0, -1.5])
    desc = NetworkDescription(
        populations=(Population("pre", 3, SpikeSource()), Population("post", 1, INTEGRATOR)),
        projections=(
            Projection(
                "syn", "pre", "post", 1 * mV, ExplicitConnections((0, 1, 2), (0, 0, 0)), rules=(rule,)
            ),
        ),
        recordings=(
            StateRecording("syn", ("stc_h", "stc_z"), dt=100 * ms),
            StateRecording("post", ("stc_p",), dt=100 * ms),
        ),
        dt=2 * ms,
    )
    sim = build(desc)
    sim.synapses["syn"].stc_h = h_init * mV
    sim.run(6 * second)  # 6 h
    mon, post = sim.state("syn"), sim.state("post")
    t = np.asarray(mon.t / second)
    ref = _late_phase_reference(h_init, rule, t[-1]).sol(t)
    np.testing.assert_allclose(np.asarray(mon.stc_h / mV), ref[:3], rtol=1e-9)  # exact decay
    np.testing.assert_allclose(np.asarray(post.stc_p[0]), ref[3], atol=2.5e-3)  # first order in slow_dt
    np.testing.assert_allclose(np.asarray(mon.stc_z), ref[4:], atol=2.5e-3)
    assert ref[4, -1] > 0.5 and ref[5, -1] > 0.02 and ref[6, -1] < -0.1  # all three branches were exercised


def _early_phase_reference(rule, events, times):
    """Independent implementation: integrate the calcium and early-phase ODEs of Luboeinski & Tetzlaff 2021
    with solve_ivp between calcium jumps (``events``: (time s, jump) pairs), stopping where c falls through a
    threshold (found by solve_ivp's root finding) to switch the gates; h is evaluated at ``times`` (s)."""
    tau_h, tau_c = float(rule.tau_h / second), float(rule.tau_c / second)
    h0, h_max = float(rule.h0 / mV), float(rule.h_max / mV)

    def rhs(_t, y, up, down):
        c, h = y
        dh = (
            0.1 * rule.time_scale * (h0 - h) + rule.gamma_p * (h_max - h) * up - rule.gamma_d * h * down
        ) / tau_h
        return [-c / tau_c, dh]

    crossings = [lambda _t, y, *_: y[0] - rule.theta_p, lambda _t, y, *_: y[0] - rule.theta_d]
    for event in crossings:
        event.terminal, event.direction = True, -1
    y, t0, pieces = np.array([0.0, h0]), 0.0, []
    for t1, jump in [*events, (times[-1] + 1e-9, 0.0)]:
        while t1 > t0:
            gates = (y[0] > rule.theta_p * (1 + 1e-12), y[0] > rule.theta_d * (1 + 1e-12))
            active = [e for e, g in zip(crossings, gates, strict=True) if g]
            sol = solve_ivp(
                rhs, (t0, t1), y, args=gates, events=active or None, rtol=1e-11, atol=1e-13, dense_output=True
            )
            pieces.append((t0, sol.t[-1], sol.sol))
            y, t0 = sol.y[:, -1].copy(), sol.t[-1]
            if sol.status == 1:  # stopped at a threshold crossing: continue with the gate switched off
                y[0] = min(y[0], (rule.theta_p if gates[0] else rule.theta_d) * (1 - 1e-12))
        y[0] += jump
    out = np.empty(len(times))
    for k, tk in enumerate(times):
        out[k] = next(f for a, b, f in pieces if a <= tk <= b)(tk)[1]
    return out


def test_early_phase_matches_numerical_integration_with_pre_and_post_spikes():
    # Equivalence of two formulations: the rule's closed-form, event-driven early phase (time above each
    # calcium threshold between spikes) vs direct numerical integration of the calcium/early-phase ODEs.
    # Weak tetanus onto a neuron that fires after each input, so both c_pre (delayed 18.8 ms) and c_post act.
    rule = TaggingCapture()
    pre_times = weak_tetanus(20 * ms)
    fire = LIF(synapse="delta", E_L=-70 * mV, v_threshold=-50 * mV, v_reset=-70 * mV, refractory=0 * ms)
    desc = NetworkDescription(
        populations=(
            Population("pre", 1, SpikeSource((0,) * len(pre_times), pre_times)),
            Population("post", 1, fire),
        ),
        projections=(Projection("syn", "pre", "post", 25 * mV, OneToOne(), rules=(rule,)),),
        recordings=(StateRecording("syn", ("w",)), SpikeRecording("post")),
        dt=0.1 * ms,
    )
    sim = build(desc).run(450 * ms)
    step = 1e-4  # Brian2 rounds delays to whole time steps
    ca_delay = round(float((sim.synapses["syn"].delay[0] + rule.t_ca_delay) / second) / step) * step
    _, post_times = sim.spikes("post")
    assert len(post_times) == len(pre_times)  # every input fired the neuron
    events = [(t + ca_delay, rule.c_pre) for t in np.asarray(pre_times / second)]
    events += [(t, rule.c_post) for t in np.asarray(post_times / second)]
    mon = sim.state("syn")
    times = np.asarray(mon.t / second)
    h_brian = np.asarray(mon.w[0]) * H0
    h_ref = _early_phase_reference(rule, sorted(events), times)
    np.testing.assert_allclose(h_brian - H0, h_ref - H0, atol=2e-3 * abs(h_ref[-1] - H0))
    assert h_ref[-1] - H0 > float(rule.theta_tag / mV)  # the weak tetanus tags the synapse


def test_early_phase_is_independent_of_dt():
    # Invariance: a 20x coarser step leaves the early change induced by a weak tetanus (Frey & Morris 1997
    # protocol) unchanged, since calcium and h are integrated exactly between spike times; so does dropping
    # the calcium delay (it only shifts the calcium trace of a presynaptic-only protocol).
    def induced(dt, rule):
        times = weak_tetanus(10 * ms)
        desc = NetworkDescription(
            populations=(
                Population("pre", 1, SpikeSource((0,) * len(times), times)),
                Population("post", 1, INTEGRATOR),
            ),
            projections=(Projection("syn", "pre", "post", 1 * mV, OneToOne(), rules=(rule,)),),
            dt=dt,
        )
        return build(desc).run(500 * ms).weights("syn")[0] - 1

    fine = induced(0.1 * ms, TaggingCapture())
    # potentiated enough to be tagged, but below the protein threshold
    assert float(RULE.theta_tag / RULE.h0) < fine < float(RULE.theta_pro / RULE.h0)
    assert induced(2 * ms, TaggingCapture()) == pytest.approx(fine, rel=1e-9)
    assert induced(2 * ms, TaggingCapture(t_ca_delay=0 * ms)) == pytest.approx(fine, rel=1e-9)


def test_save_load_continue_equals_uninterrupted_run(tmp_path):
    # Invariance: saving mid-consolidation (tags set, protein rising) and continuing a loaded copy gives the
    # same early/late weights and protein as never stopping (slow-update clocks, neuron variables restored).
    from neurosim import backend

    times = strong_tetanus(0.2 * second, time_scale=S)
    desc = NetworkDescription(
        populations=(
            Population("pre", 1, SpikeSource((0,) * len(times), times)),
            Population("post", 1, INTEGRATOR),
        ),
        projections=(Projection("syn", "pre", "post", 1 * mV, OneToOne(), rules=(RULE,)),),
        dt=10 * ms,
    )

    def final(sim):
        syn = sim.synapses["syn"]
        return [float(getattr(syn, v)[0]) for v in ("w", "stc_z", "stc_c")] + [
            float(sim.groups["post"].stc_p[0])
        ]

    whole = final(build(desc).run(8 * second))
    gc.collect()  # one network at a time, so that the reloaded objects get the saved names
    backend.save(build(desc).run(5 * second), tmp_path / "stc.npz")
    gc.collect()
    resumed = final(backend.load(tmp_path / "stc.npz", target="numpy").run(3 * second))
    assert resumed == pytest.approx(whole, rel=1e-12)
    assert whole[1] > 0.1 and whole[3] > 0.1  # consolidating, proteins present


def test_rule_round_trips_through_json_and_toml():
    # Descriptions are plain data: the rule with every parameter survives JSON and TOML.
    rule = TaggingCapture(time_scale=60, slow_dt=5 * ms, name="stc2", theta_pro=3 * mV)
    assert TaggingCapture.from_json(rule.to_json()) == rule
    assert TaggingCapture.from_toml(rule.to_toml()) == rule


def test_composes_with_short_term_plasticity():
    # Composition: an efficacy rule (Tsodyks-Markram) scales transmission of the consolidation-defined weight:
    # the first PSC of a rested synapse is J * w * U with w = 1 at baseline (docs/references.md:
    # first PSC = U).
    from .helpers import psc_amplitudes

    psc, _ = psc_amplitudes([TsodyksMarkram.depressing(), TaggingCapture()], np.array([10.0, 60.0]) * ms)
    assert psc[0] == pytest.approx(0.5, rel=1e-6)


def test_excludes_other_weight_rules():
    # TaggingCapture defines w itself, so a second rule that changes w on the same synapse is an error.
    desc = NetworkDescription(
        populations=(Population("pre", 1, SpikeSource()), Population("post", 1, INTEGRATOR)),
        projections=(
            Projection("syn", "pre", "post", 1 * mV, OneToOne(), rules=(TaggingCapture(), PairSTDP())),
        ),
    )
    with pytest.raises(RuleError, match="TaggingCapture"):
        build(desc)


def test_projections_onto_one_population_share_protein_only_with_equal_rules():
    # The protein pool is per neuron: two projections with the same namespace but different parameters would
    # make it ambiguous -> error naming both projections; a different name= gives each its own pool.
    def desc(rule_b):
        return NetworkDescription(
            populations=(
                Population("a", 1, SpikeSource()),
                Population("b", 1, SpikeSource()),
                Population("post", 1, INTEGRATOR),
            ),
            projections=(
                Projection("pa", "a", "post", 1 * mV, OneToOne(), rules=(TaggingCapture(),)),
                Projection("pb", "b", "post", 1 * mV, OneToOne(), rules=(rule_b,)),
            ),
        )

    with pytest.raises(RuleError, match=r"'pa' and 'pb'.*stc"):
        build(desc(TaggingCapture(time_scale=10)))
    sim = build(desc(TaggingCapture(time_scale=10, name="stc2")))
    assert {"stc_p", "stc2_p", "stc_protein_drive", "stc2_protein_drive"} <= set(sim.groups["post"].variables)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"h0": -1 * mV}, "h0"),
        ({"h0": 4.2}, "h0"),
        ({"h_max": 3 * mV}, "h_max"),
        ({"tau_h": 0 * second}, "tau_h"),
        ({"tau_p": 3600}, "tau_p"),
        ({"tau_c": -1 * ms}, "tau_c"),
        ({"theta_p": 1.0}, "theta_p"),  # below theta_d = 1.2
        ({"theta_d": 0.0}, "theta_d"),
        ({"gamma_p": -1.0}, "gamma_p"),
        ({"c_pre": -0.5}, "c_pre"),
        ({"theta_tag": 0 * mV}, "theta_tag"),
        ({"theta_pro": 2.1}, "theta_pro"),
        ({"time_scale": 0}, "time_scale"),
        ({"slow_dt": -1 * ms}, "slow_dt"),
        ({"t_ca_delay": -1 * ms}, "t_ca_delay"),
    ],
)
def test_bad_parameters_are_named(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        TaggingCapture(**kwargs)


def test_bad_protocol_time_scale_is_named():
    with pytest.raises(ParameterError, match="time_scale"):
        strong_tetanus(time_scale=1000)  # 10 min / 1000 < 1 s: the 1 s trains would overlap
