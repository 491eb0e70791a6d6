"""neurosim's cpp_standalone device (neurosim.backend.standalone) against Brian2's own.

Reference: Brian2's ``CSpikeQueue`` and Brian2's thresholder template (independent implementations of the
same interfaces). neurosim's queue must hold exactly the same synapses in the same order at every step (only
the way they get there differs), and its thresholder must record the same events in the same order, so a
recurrent network with distance-dependent delays, refractoriness, STP, STDP and an eligibility trace gives
bit-identical spikes and synaptic state either way; synapses in an order that is not sorted by delay (runs of
one) must be handled too. The I population (80 neurons) ends in a partial block of the thresholder (blocks of
32), the E population (320) does not.
"""

import numpy as np
import pytest
from brian2 import second

from neurosim import build
from neurosim.backend import standalone
from neurosim_benchmark import BenchmarkNetwork

pytestmark = pytest.mark.compiled

QUEUE, TEMPLATES = standalone.SPIKE_QUEUE, standalone.TEMPLATES


def _run(directory, queue, templates=TEMPLATES, order=None):
    net = BenchmarkNetwork(n=400, k=20, case="c")
    given = None
    if order is not None:  # the same synapses in another order
        probe = build(net.description(), target="numpy")
        given = {}
        for name, syn in probe.synapses.items():
            i, j, d = np.asarray(syn.i[:]), np.asarray(syn.j[:]), probe.distances[name]
            perm = order(len(i))
            given[name] = (i[perm], j[perm], d[perm])
    standalone.SPIKE_QUEUE, standalone.TEMPLATES = queue, templates
    try:
        sim = build(net.description(), target="cpp_standalone", directory=directory, connections=given)
        net.set_stp_state(sim)
        sim.run(0.3 * second, progress=False)
    finally:
        standalone.SPIKE_QUEUE, standalone.TEMPLATES = QUEUE, TEMPLATES
    ee = sim.synapses["EE"]
    key = np.lexsort((np.asarray(ee.j[:]), np.asarray(ee.i[:])))  # compare synapses by (i, j)
    return (
        np.asarray(sim.spikes("E")[0]),
        np.asarray(sim.spikes("E")[1] / second),
        np.asarray(sim.spikes("I")[0]),
        np.asarray(sim.spikes("I")[1] / second),
        np.asarray(ee.w[:])[key],
        np.asarray(ee.reward_c[:])[key],
    )


@pytest.fixture(scope="module")
def brian2_reference(tmp_path_factory):
    directory = tmp_path_factory.mktemp("brian2_reference")
    return directory, _run(directory, None, None)


def test_same_spikes_and_state_as_brian2(brian2_reference):
    # In the same build folder: objects compiled with Brian2's queue class must not be linked with
    # neurosim's (Brian2's make.deps does not make code objects depend on the header; the build does).
    directory, reference = brian2_reference
    ours = _run(directory, QUEUE, TEMPLATES)
    assert len(reference[0]) > 100 and len(reference[2]) > 20  # both populations are active
    # the generated thresholder is neurosim's blocked one (not Brian2's, which the reference used)
    thresholder = directory / "code_objects" / "I_spike_thresholder_codeobject.cpp"
    assert "_conds[_k] = _cond;" in thresholder.read_text()
    for a, b in zip(ours, reference, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_synapses_not_sorted_by_delay(tmp_path):
    # The same synapses in random order: runs of equal delay have length ~1. Both queues get that order.
    shuffle = lambda n: np.random.default_rng(0).permutation(n)  # noqa: E731
    ours = _run(tmp_path, QUEUE, order=shuffle)
    reference = _run(tmp_path / "ref", None, None, order=shuffle)
    for a, b in zip(ours, reference, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_each_replacement_alone(brian2_reference, tmp_path):
    # neurosim's thresholder with Brian2's queue, and neurosim's queue with Brian2's templates.
    _, reference = brian2_reference
    for queue, templates in ((None, TEMPLATES), (QUEUE, None)):
        ours = _run(tmp_path / str(templates is None), queue, templates)
        for a, b in zip(ours, reference, strict=True):
            np.testing.assert_array_equal(a, b)


def test_clocks_of_one_time_step_tick_together_late_in_a_run(tmp_path):
    # Reference: Brian2's runtime, where clocks whose times differ by less than 1e-4 of the smaller dt tick
    # in the same time step (Network._nextclocks). Brian2's C++ network used an absolute 1e-14, and
    # 671 * 0.1 s and 67100 * 1 ms differ by 1.4e-14: from ~64 s on, code on a 100 ms clock ran after
    # the 1 ms step it belongs to. Here code on a 100 ms clock (order 0) raises a flag that code on the
    # 1 ms clock (order 1) must see in the same time step, at every tick from 67 s to 67.5 s.
    import brian2 as b2

    from neurosim import NetworkDescription, Population
    from neurosim.neurons import LIF

    desc = NetworkDescription(populations=(Population("a", 1, LIF(synapse="delta")),), dt=1 * b2.ms)
    sim = build(desc, target="cpp_standalone", directory=tmp_path)
    probe = b2.NeuronGroup(1, "flag : 1\nseen : 1\nticks : 1", name="probe")
    probe.run_regularly("flag = 1\nticks += 1", dt=100 * b2.ms, when="start", order=0, name="probe_tick")
    on_tick = "int(abs(t - 100*ms*floor(t/(100*ms) + 0.5)) < 0.5*dt)"  # this 1 ms step is a 100 ms tick
    step = f"seen += flag*{on_tick}\nflag = 0"
    probe.run_regularly(step, when="start", order=1, name="probe_step")
    sim.network.add(probe)
    sim.network.t_ = 67.0
    sim.run(0.5 * second, progress=False)
    assert probe.ticks[0] == 5 and probe.seen[0] == 5
