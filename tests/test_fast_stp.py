"""FastTsodyksMarkram (STP state on the presynaptic neuron) against TsodyksMarkram (state per synapse).

Known result: the Tsodyks–Markram update (Tsodyks, Pawelzik & Markram 1998; event-based form of Maass &
Markram 2002, as NEST ``tsodyks2_synapse``) depends only on the intervals between the spikes a synapse
receives, and a conduction delay shifts all of them equally. So with one parameter set, the n-th spike of a
presynaptic neuron arrives at each of its synapses with the same efficacy whatever the delay, and keeping
the state on the neuron is an equivalent formulation. ``TsodyksMarkram`` is itself tested against the
published ratios and the event-based update (tests/test_stp.py); here both rules run on the same spike
trains, through delays from one step to the longest the ring allows, with bursts at the refractory limit
(the ring full), and must give the same postsynaptic responses and the same ``resources()``.
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
    Population,
    Projection,
    SpikeSource,
    StateRecording,
    TsodyksMarkram,
    build,
)
from neurosim.plasticity import FastTsodyksMarkram
from neurosim.plasticity.stp import resources
from neurosim.validation import ParameterError

from .helpers import INTEGRATOR

DT_MS = 0.5
REFRACTORY_MS = 1.0  # two steps: the shortest interval between two spikes of a relay neuron
DELAYS_MS = (0.5, 1.5, 3.0)  # one step .. six steps: up to 1 + 6/2 = 4 spikes in the ring
INSTANT = 1e9 * metre / second  # distance adds ~1e-9 ms: delays are exactly `base`
N_PRE = 3
END_MS = 131.0  # some spikes are still travelling at the end


def _trains(rng):
    """Per relay neuron: Poisson spikes plus a burst at the refractory limit (fills the ring)."""
    out = []
    for k in range(N_PRE):
        t = np.cumsum(rng.exponential(12.0, size=20)) + 2.0
        burst = 40.0 + 10 * k + np.arange(5) * REFRACTORY_MS
        t = np.union1d(np.round(t / DT_MS) * DT_MS, burst)
        t = t[t < END_MS - 1]
        keep = [0]
        for n in range(1, len(t)):
            if t[n] - t[keep[-1]] >= REFRACTORY_MS:
                keep.append(n)
        out.append(t[keep])
    out[0] = np.append(out[0][out[0] < END_MS - 4], END_MS - 3.0)  # arrives after the end on slow synapses
    return out


def _description(rng, ring=4, delays=DELAYS_MS):
    trains = _trains(rng)
    idx = tuple(k for k, tr in enumerate(trains) for _ in tr)
    times = np.concatenate(trains)
    relay = LIF(synapse="delta", refractory=REFRACTORY_MS * ms, v_reset=-70 * mV)
    populations = [
        Population("src", N_PRE, SpikeSource(indices=idx, times=times * ms)),
        Population("pre", N_PRE, relay),
    ]
    projections = [
        Projection(
            "drive",
            "src",
            "pre",
            weight=40 * mV,  # one input spike: one relay spike, one step later
            delay=ConductionDelay(base=DT_MS * ms, velocity=INSTANT),
            connectivity=ExplicitConnections(tuple(range(N_PRE)), tuple(range(N_PRE))),
        )
    ]
    recorded = []
    for kind, preset in (("dep", TsodyksMarkram.depressing()), ("fac", TsodyksMarkram.facilitating())):
        for n, delay in enumerate(delays):
            for impl, rule in (
                (
                    "fast",
                    FastTsodyksMarkram(
                        U=preset.U, tau_d=preset.tau_d, tau_f=preset.tau_f, ring=ring, name=f"stp_{kind}"
                    ),
                ),
                ("ref", preset),
            ):
                name = f"{impl}_{kind}{n}"
                populations.append(Population(f"{name}_post", N_PRE, INTEGRATOR))
                projections.append(
                    Projection(
                        name,
                        "pre",
                        f"{name}_post",
                        weight=1 * mV,
                        connectivity=AllToAll(),
                        rules=(rule,),
                        delay=ConductionDelay(base=delay * ms, velocity=INSTANT),
                    )
                )
                recorded.append(f"{name}_post")
    return NetworkDescription(
        populations=tuple(populations),
        projections=tuple(projections),
        recordings=tuple(StateRecording(p, ("v",)) for p in recorded),
        dt=DT_MS * ms,
    )


@pytest.fixture(scope="module")
def sim():
    return build(_description(np.random.default_rng(5))).run(END_MS * ms)


@pytest.mark.parametrize("kind", ["dep", "fac"])
@pytest.mark.parametrize("n", range(len(DELAYS_MS)))
def test_same_responses_and_resources_as_per_synapse_state(sim, kind, n):
    fast, ref = f"fast_{kind}{n}", f"ref_{kind}{n}"
    v_fast = np.asarray(sim.state(f"{fast}_post").v / mV)
    v_ref = np.asarray(sim.state(f"{ref}_post").v / mV)
    assert np.ptp(v_ref) > 1.0  # the trains went through and depressed / facilitated
    np.testing.assert_allclose(v_fast, v_ref, rtol=1e-9, atol=1e-9)
    got, want = resources(sim, fast), resources(sim, ref)
    assert set(got) == set(want) == ({"x", "u"} if kind == "fac" else {"x"})
    for var in want:
        np.testing.assert_allclose(got[var], want[var], rtol=1e-9, atol=1e-12)


def test_no_state_per_synapse():
    syn_vars = set(build(_description(np.random.default_rng(1))).synapses["fast_dep0"].variables)
    own = {v for v in syn_vars if v.startswith("stp_") and not v.endswith(("_pre", "_post"))}
    assert not own  # the synapse only reads its source neuron's ring (stp_dep_r0_pre, ...)
    assert "stp_dep_r0_pre" in syn_vars


def test_ring_too_small_is_named():
    with pytest.raises(ParameterError, match=r"'ring' = 3 .*ring >= 4"):
        build(_description(np.random.default_rng(1), ring=3))


def test_delay_under_one_step_is_refused():
    with pytest.raises(ParameterError, match="'delay'"):
        build(_description(np.random.default_rng(1), delays=(0.0,)))


def test_bad_ring_is_named():
    with pytest.raises(ParameterError, match="ring"):
        FastTsodyksMarkram(ring=0)
