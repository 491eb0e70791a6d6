"""Small networks shared by the rule tests: spike trains driven onto probe neurons."""

from __future__ import annotations

import numpy as np
from brian2 import ms, mV, second

from neurosim import (
    LIF,
    NetworkDescription,
    OneToOne,
    Population,
    Projection,
    SpikeSource,
    StateRecording,
    build,
)

#: A neuron that only integrates: delta synapses, no leak on the time scale of a test, no spikes.
INTEGRATOR = LIF(
    synapse="delta", tau_m=1e6 * second, E_L=0 * mV, v_reset=0 * mV, v_threshold=1e9 * mV, refractory=0 * ms
)


def psc_amplitudes(rules, times, *, dt=0.1 * ms, target=None):
    """Drive one synapse with presynaptic spikes at ``times`` onto an integrator; return each spike's PSC
    (the jump of v, in units of the weight scale J = 1 mV)."""
    times = np.asarray(times / ms)
    desc = NetworkDescription(
        populations=(
            Population("pre", 1, SpikeSource(indices=(0,) * len(times), times=times * ms)),
            Population("post", 1, target or INTEGRATOR),
        ),
        projections=(
            Projection("syn", "pre", "post", weight=1 * mV, connectivity=OneToOne(), rules=tuple(rules)),
        ),
        recordings=(StateRecording("post", ("v",)),),
        dt=dt,
    )
    sim = build(desc)
    sim.run((times.max() + 5) * ms)
    mon = sim.state("post")
    v = np.asarray(mon.v[0] / mV)
    t = np.asarray(mon.t / ms)
    delay = float(sim.synapses["syn"].delay[0] / ms)
    out = []
    for tk in times + delay:
        k = int(round(tk / float(dt / ms)))
        out.append(v[k + 1] - v[k - 1])
    return np.array(out), t


def forced_pairing(
    projections,
    pre_times,
    post_times,
    *,
    delay=1 * ms,
    dt=0.1 * ms,
    w_init=0.5,
    w_min=0.0,
    w_max=1.0,
    duration=None,
):
    """Independent synapses k = 0..n-1 (pre neuron k → post neuron k) with exactly chosen spike times.

    Pre neuron k emits at ``pre_times[k]`` (ms); its spikes reach the synapse ``delay`` later (a known
    conduction delay: ``base=delay`` and a velocity so large that distance adds nothing). Post neuron k is
    forced to fire at ``post_times[k]`` (ms) by a 100 mV delta kick arriving one step earlier (a neuron
    crosses threshold on the step after its input). Each ``{name: rules}`` entry of ``projections`` is a
    plastic projection pre → post with J = 0 mV, so plasticity never feeds back on the spike times.
    ``w_init``: a number or one value per synapse. Returns ``({name: final w}, [post spike times of neuron k,
    ms])``; the recorded post spikes are checked against the requested ones.
    """
    from brian2 import metre

    from neurosim import ConductionDelay, SpikeRecording

    step = float(dt / ms)

    def flatten(trains, shift=0.0):
        idx, tms = [], []
        for k, train in enumerate(trains):
            for tk in np.atleast_1d(np.asarray(train, dtype=float)):
                steps = (tk - shift) / step
                assert abs(steps - round(steps)) < 1e-6 and steps >= 0, f"{tk} ms is off the {step} ms grid"
                idx.append(k)
                tms.append(round(steps) * step)
        return tuple(idx), np.asarray(tms)

    n = len(pre_times)
    assert len(post_times) == n
    instant = 1e9 * metre / second  # distance adds ~1e-9 ms: the delay is exactly `base`
    pre_idx, pre_t = flatten(pre_times)
    kick_idx, kick_t = flatten(post_times, shift=step)
    plastic = tuple(
        Projection(
            name,
            "pre",
            "post",
            weight=0 * mV,
            connectivity=OneToOne(),
            rules=tuple(rules),
            w_min=w_min,
            w_max=w_max,
            delay=ConductionDelay(base=delay, velocity=instant),
        )
        for name, rules in projections.items()
    )
    kick = Projection(
        "kick_syn",
        "kick",
        "post",
        weight=100 * mV,
        connectivity=OneToOne(),
        delay=ConductionDelay(base=0 * ms, velocity=instant),
    )
    desc = NetworkDescription(
        populations=(
            Population("pre", n, SpikeSource(indices=pre_idx, times=pre_t * ms)),
            Population("kick", n, SpikeSource(indices=kick_idx, times=kick_t * ms)),
            Population("post", n, LIF(synapse="delta", refractory=0 * ms)),
        ),
        projections=(*plastic, kick),
        recordings=(SpikeRecording("post"),),
        dt=dt,
    )
    sim = build(desc)
    for name in projections:
        sim.synapses[name].w = w_init
    last = max(np.max(pre_t, initial=0.0) + float(delay / ms), np.max(kick_t, initial=0.0))
    sim.run(duration if duration is not None else (last + 5 * step) * ms, progress=False)
    i, t = sim.spikes("post")
    t = np.asarray(t / ms)
    got = [np.sort(t[i == k]) for k in range(n)]
    for k in range(n):
        want = np.sort(np.atleast_1d(np.asarray(post_times[k], dtype=float)))
        np.testing.assert_allclose(got[k], want, atol=1e-9, err_msg=f"post neuron {k} did not fire as forced")
    return {name: sim.weights(name) for name in projections}, got
