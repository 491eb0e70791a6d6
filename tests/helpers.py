"""Small networks shared by the rule tests: spike trains driven onto probe neurons."""

from __future__ import annotations

import numpy as np
from brian2 import mV, ms, second

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
INTEGRATOR = LIF(synapse="delta", tau_m=1e6 * second, E_L=0 * mV, v_reset=0 * mV, v_threshold=1e9 * mV,
                 refractory=0 * ms)


def psc_amplitudes(rules, times, *, dt=0.1 * ms, target=None):
    """Drive one synapse with presynaptic spikes at ``times`` onto an integrator; return each spike's PSC
    (the jump of v, in units of the weight scale J = 1 mV)."""
    times = np.asarray(times / ms)
    desc = NetworkDescription(
        populations=(
            Population("pre", 1, SpikeSource(indices=(0,) * len(times), times=times * ms)),
            Population("post", 1, target or INTEGRATOR),
        ),
        projections=(Projection("syn", "pre", "post", weight=1 * mV, connectivity=OneToOne(), rules=tuple(rules)),),
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
