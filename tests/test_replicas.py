"""Replicas (neurosim.backend.replicas): independent copies of a built network side by side.

Known results they are held to:
* A copy of a deterministic dynamical system in the same state follows the same trajectory: one copy,
  continued, gives bit for bit the spikes and weights of the original continued (the Poisson background is
  a counter-based stream of seed, neuron and step, so it draws the same numbers).
* Copies that share no synapse are independent: copies given the same input spike alike, and a copy's
  input reaches no other copy.
"""

import numpy as np
import pytest
from brian2 import Hz, ms, mV, um

from neurosim import (
    LIF,
    GaussianKernel,
    NetworkDescription,
    PairSTDP,
    ParameterError,
    PoissonBackground,
    Population,
    Projection,
    SpikeRecording,
    SpikeSource,
    TsodyksMarkram,
    build,
)
from neurosim.backend.replicas import replicate

N_IN, N_E = 20, 30


def network(background: bool) -> NetworkDescription:
    """Input spikes into a recurrent population with STP, STDP and (optionally) Poisson background."""
    rng = np.random.default_rng(1)
    periods = rng.integers(8, 20, N_IN)  # each input neuron fires regularly, one spike per step at most
    trains = [(k, float(t)) for k in range(N_IN) for t in np.arange(rng.integers(0, 8), 200, periods[k])]
    indices, times = zip(*trains, strict=True)
    return NetworkDescription(
        populations=(
            Population("inp", N_IN, SpikeSource(indices=indices, times=np.array(times) * ms)),
            Population("E", N_E, LIF(synapse="delta"), initial={"v": "E_L + rand()*10*mV"}),
        ),
        projections=(
            Projection(
                "ff",
                "inp",
                "E",
                weight=4 * mV,
                connectivity=GaussianKernel(p_max=0.6, sigma=400 * um),
                rules=(PairSTDP(),),
                w_init="0.3 + 0.4*rand()",
            ),
            Projection(
                "rec",
                "E",
                "E",
                weight=1 * mV,
                connectivity=GaussianKernel(p_max=0.3, sigma=400 * um),
                rules=(TsodyksMarkram(),),
            ),
        ),
        inputs=(PoissonBackground("bg", "E", rate=20 * Hz, n_sources=50, weight=1 * mV),)
        if background
        else (),
        recordings=(SpikeRecording("E"),),
        seed=3,
        dt=0.5 * ms,
    )


def _spikes(sim, since):
    i, t = sim.spikes_since("E", since)
    return np.asarray(i), np.asarray(t)


def test_one_copy_continues_exactly_as_the_original():
    sim = build(network(background=True), target="numpy")
    sim.run(60 * ms, progress=False)
    copy = replicate(sim, 1)
    marks = sim.n_spikes("E"), copy.n_spikes("E")
    sim.run(60 * ms, progress=False)
    copy.run(60 * ms, progress=False)
    (i0, t0), (i1, t1) = _spikes(sim, marks[0]), _spikes(copy, marks[1])
    assert len(i0) > 20  # the network is active after the copy
    np.testing.assert_array_equal(i0, i1)
    np.testing.assert_array_equal(t0, t1)
    for proj in ("ff", "rec"):
        np.testing.assert_array_equal(sim.weights(proj), copy.weights(proj))
    np.testing.assert_array_equal(sim.variable("rec", "x", rule="stp"), copy.variable("rec", "x", rule="stp"))


def test_copies_hold_the_state_and_synapses_of_the_original():
    sim = build(network(background=True), target="numpy")
    sim.run(60 * ms, progress=False)
    copies = replicate(sim, 3)
    i, j = sim.connections("ff")
    ci, cj = copies.connections("ff")
    for k in range(3):
        part = slice(k * len(i), (k + 1) * len(i))
        np.testing.assert_array_equal(ci[part], i + k * N_IN)
        np.testing.assert_array_equal(cj[part], j + k * N_E)
    np.testing.assert_array_equal(copies.weights("ff"), np.tile(sim.weights("ff"), 3))
    np.testing.assert_array_equal(copies.variable("rec", "delay"), np.tile(sim.variable("rec", "delay"), 3))
    np.testing.assert_array_equal(copies.variable("E", "v"), np.tile(sim.variable("E", "v"), 3))
    assert copies.t == sim.t


def test_copies_are_independent():
    """Without background noise: copies 0 and 2 get the same input and spike alike; copy 1 gets none, and
    the others' input does not reach it (it stays silent: no drive without input)."""
    sim = build(network(background=False), target="numpy")
    copies = replicate(sim, 3)
    own = sim.groups["inp"]
    i, t = np.asarray(own.neuron_index[:]), np.asarray(own.spike_time[:])
    copies.set_spike_times("inp", np.concatenate([i, i + 2 * N_IN]), np.concatenate([t, t]) * 1000 * ms)
    copies.run(200 * ms, progress=False)
    ids, times = _spikes(copies, 0)
    per_copy = [(ids[(ids // N_E) == k] % N_E, times[(ids // N_E) == k]) for k in range(3)]
    assert len(per_copy[0][0]) > 20
    np.testing.assert_array_equal(per_copy[0][0], per_copy[2][0])
    np.testing.assert_array_equal(per_copy[0][1], per_copy[2][1])
    assert len(per_copy[1][0]) == 0


def test_copies_must_be_a_positive_integer():
    sim = build(network(background=False), target="numpy")
    with pytest.raises(ParameterError, match="copies"):
        replicate(sim, 0)


def test_a_replica_runs_the_code_of_its_original():
    """Brian2 writes object names into the code it generates (``_array_E_v``) and the cython cache is keyed by
    that code: built beside its original, a replica gets the original's names (not ``E_1``), so it runs
    the same generated code and a cached model needs no compile at test."""
    sim = build(network(background=True), target="numpy")
    sim.run(1 * ms, progress=False)
    copy = replicate(sim, 3)
    copy.run(1 * ms, progress=False)

    def code(s):
        return sorted(str(c.code) for obj in s.network.sorted_objects for c in obj._code_objects)

    assert {o.name for o in copy.network.objects} == {o.name for o in sim.network.objects}
    assert code(copy) == code(sim)
