"""neurosim's spike queue for cpp_standalone (neurosim/standalone/spikequeue.h) against Brian2's own.

Reference: Brian2's ``CSpikeQueue`` (an independent implementation of the same interface). neurosim's queue
must hold exactly the same synapses in the same order at every step (only the way they get there differs), so
a recurrent network with distance-dependent delays, STP, STDP and an eligibility trace gives bit-identical
spikes and synaptic state with either queue; and synapses in an order that is not sorted by delay (runs of
one) must be handled too.
"""

import importlib

import numpy as np
import pytest
from brian2 import second

from neurosim import build
from neurosim.benchmark import BenchmarkNetwork

build_module = importlib.import_module("neurosim.build")  # the module (neurosim.build is also the function)


def _run(directory, queue, order=None):
    net = BenchmarkNetwork(n=400, k=20, case="c")
    given = None
    if order is not None:  # the same synapses in another order
        probe = build(net.description(), target="numpy")
        given = {}
        for name, syn in probe.synapses.items():
            i, j, d = np.asarray(syn.i[:]), np.asarray(syn.j[:]), probe.distances[name]
            perm = order(len(i))
            given[name] = (i[perm], j[perm], d[perm])
    saved = build_module.SPIKE_QUEUE
    build_module.SPIKE_QUEUE = queue
    try:
        sim = build(net.description(), target="cpp_standalone", directory=directory, connections=given)
        net.set_stp_state(sim)
        sim.run(0.3 * second, progress=False)
    finally:
        build_module.SPIKE_QUEUE = saved
    ee = sim.synapses["EE"]
    key = np.lexsort((np.asarray(ee.j[:]), np.asarray(ee.i[:])))  # compare synapses by (i, j)
    return (
        np.asarray(sim.spikes("E")[0]),
        np.asarray(sim.spikes("E")[1] / second),
        np.asarray(ee.w[:])[key],
        np.asarray(ee.reward_c[:])[key],
    )


@pytest.fixture(scope="module")
def brian2_queue(tmp_path_factory):
    directory = tmp_path_factory.mktemp("brian2_queue")
    return directory, _run(directory, None)


def test_same_spikes_and_state_as_brian2_queue(brian2_queue):
    # In the same build folder: objects compiled with Brian2's queue class must not be linked with
    # neurosim's (Brian2's make.deps does not make code objects depend on the header; the build does).
    directory, reference = brian2_queue
    ours = _run(directory, build_module.SPIKE_QUEUE)
    assert len(reference[0]) > 100  # the network is active
    for a, b in zip(ours, reference, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_synapses_not_sorted_by_delay(tmp_path):
    # The same synapses in random order: runs of equal delay have length ~1. Both queues get that order.
    ours = _run(tmp_path, build_module.SPIKE_QUEUE, order=lambda n: np.random.default_rng(0).permutation(n))
    reference = _run(tmp_path / "ref", None, order=lambda n: np.random.default_rng(0).permutation(n))
    for a, b in zip(ours, reference, strict=True):
        np.testing.assert_array_equal(a, b)
