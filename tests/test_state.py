"""Saving and loading a network's whole state (neurosim.backend.statefile).

The invariance checked here is the one Brian2's own ``Network.store``/``restore`` promises (Brian2 docs,
"Running a simulation: continuing and restoring"): a network stopped, saved, rebuilt from the file and run
on produces exactly what the uninterrupted run produces, spikes in flight, refractoriness, rule traces and
random numbers included.
"""

import dataclasses
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from brian2 import Hz, metre, ms, mV, second, um

from neurosim import (
    LIF,
    AllToAll,
    ConductionDelay,
    GaussianKernel,
    NetworkDescription,
    PairSTDP,
    PoissonBackground,
    PoissonSource,
    Population,
    Projection,
    RateRecording,
    SpikeRecording,
    SpikeSource,
    StateRecording,
    TsodyksMarkram,
    build,
)
from neurosim.backend import Simulation, load, read_description, save

REPO = Path(__file__).resolve().parents[1]
build_module = importlib.import_module("neurosim.backend.construct")  # the module that samples connections


def recurrent(seed=7, dt=0.5 * ms):
    """40 E + 10 I LIF neurons in a 1 mm cube, Poisson background, E→E with facilitating STP and pair STDP.

    Slow axons (0.1 m/s: up to ~17 ms delays) keep spikes in flight at any moment; the random initial
    potentials and weights come from the seeded generator.
    """
    lif = LIF(synapse="delta")
    slow = ConductionDelay(base=0.5 * ms, velocity=0.1 * metre / second)
    kernel = GaussianKernel(p_max=0.3, sigma=400 * um)
    return NetworkDescription(
        populations=(
            Population("E", 40, lif, initial={"v": "E_L + rand()*15*mV"}),
            Population("I", 10, lif, sign="inhibitory"),
        ),
        projections=(
            Projection(
                "EE",
                "E",
                "E",
                weight=0.5 * mV,
                connectivity=kernel,
                delay=slow,
                w_init="0.3 + 0.4*rand()",
                rules=(
                    TsodyksMarkram(U=0.2, tau_d=200 * ms, tau_f=500 * ms),
                    PairSTDP(A_plus=0.05, A_minus=0.05),
                ),
            ),
            Projection("EI", "E", "I", weight=0.3 * mV, connectivity=kernel, delay=slow),
            Projection(
                "IE", "I", "E", weight=0.5 * mV, connectivity=GaussianKernel(p_max=0.5, sigma=400 * um)
            ),
        ),
        inputs=(
            PoissonBackground("bg_E", "E", rate=20 * Hz, n_sources=200, weight=0.5 * mV),
            PoissonBackground("bg_I", "I", rate=20 * Hz, n_sources=200, weight=0.45 * mV),
        ),
        recordings=(
            SpikeRecording("E"),
            SpikeRecording("I"),
            RateRecording("E"),
            StateRecording("EE", ("w", "stp_u"), indices=(0, 1, 2), dt=1 * ms),
            StateRecording("E", ("v",), indices=(0, 5)),
        ),
        seed=seed,
        dt=dt,
    )


def _pending(sim, projection):
    """Number of spikes travelling along a projection's presynaptic pathway (not yet delivered)."""
    dt_state, slots = sim.synapses[projection].pre.queue._full_state()
    return sum(len(s) for s in slots)


def _assert_same(a, b):
    for pop in ("E", "I"):
        (ia, ta), (ib, tb) = a.spikes(pop), b.spikes(pop)
        np.testing.assert_array_equal(ia, ib)
        np.testing.assert_array_equal(np.asarray(ta), np.asarray(tb))
    for var in ("w", "stp_u", "stp_x", "stdp_apre", "stdp_apost", "lastupdate", "delay"):
        np.testing.assert_array_equal(
            getattr(a.synapses["EE"], var)[:], getattr(b.synapses["EE"], var)[:], var
        )
    for var in ("v", "lastspike", "not_refractory"):
        np.testing.assert_array_equal(getattr(a.groups["E"], var)[:], getattr(b.groups["E"], var)[:], var)
    np.testing.assert_array_equal(a.state("EE").w, b.state("EE").w)
    np.testing.assert_array_equal(np.asarray(a.state("E").v), np.asarray(b.state("E").v))
    np.testing.assert_array_equal(np.asarray(a.rate("E")[1]), np.asarray(b.rate("E")[1]))


def test_save_load_continue_equals_uninterrupted_run(tmp_path):
    # Invariance (Brian2 store/restore semantics): 200 ms, save, load in a fresh build, 200 ms more gives
    # bit-identical spikes, weights, rule traces and recordings to one uninterrupted 400 ms run.
    desc = recurrent()
    whole = build(desc).run(400 * ms, progress=False)

    first = build(desc)
    w0 = first.weights("EE").copy()
    first.run(200 * ms, progress=False)
    assert _pending(first, "EE") > 0, "the test should save with spikes in flight"
    path = first.save(tmp_path / "net.npz")
    del first
    loaded = Simulation.load(path)
    assert float(loaded.t / ms) == pytest.approx(200.0)
    loaded.run(200 * ms, progress=False)

    assert len(whole.spikes("E")[0]) > 200  # the network is active: the comparison means something
    assert not np.allclose(whole.weights("EE"), w0)  # and STDP changed the weights
    _assert_same(whole, loaded)


def test_spike_sources_continue_after_loading(tmp_path):
    # The same invariance for input populations: a SpikeSource (Brian2 SpikeGeneratorGroup: its read
    # position in the spike list is state) with spikes before and after the save, and a PoissonSource.
    times = np.arange(5, 200, 7.5)
    desc = NetworkDescription(
        populations=(
            Population("cue", 3, SpikeSource(indices=tuple(np.arange(len(times)) % 3), times=times * ms)),
            Population("poi", 10, PoissonSource(rate=40 * Hz)),
            Population("E", 5, LIF(synapse="delta")),
        ),
        projections=(
            Projection("cueE", "cue", "E", weight=6 * mV, connectivity=AllToAll()),
            Projection("poiE", "poi", "E", weight=3 * mV, connectivity=AllToAll(), rules=(PairSTDP(),)),
        ),
        recordings=(SpikeRecording("E"), SpikeRecording("cue"), SpikeRecording("poi")),
        dt=0.5 * ms,
    )
    whole = build(desc).run(200 * ms, progress=False)
    first = build(desc).run(100 * ms, progress=False)
    loaded = load(save(first, tmp_path / "net.npz"))
    loaded.run(100 * ms, progress=False)
    for pop in ("E", "cue", "poi"):
        np.testing.assert_array_equal(whole.spikes(pop)[0], loaded.spikes(pop)[0])
        np.testing.assert_array_equal(np.asarray(whole.spikes(pop)[1]), np.asarray(loaded.spikes(pop)[1]))
    assert len(loaded.spikes("cue")[0]) == len(times)  # every cue spike, none lost or repeated
    np.testing.assert_array_equal(whole.weights("poiE"), loaded.weights("poiE"))


def test_loaded_network_keeps_positions_connectivity_and_description(tmp_path):
    # The file alone rebuilds the network: description, positions and connectivity are stored.
    sim = build(recurrent())
    path = save(sim, tmp_path / "net.npz")
    with np.load(path, allow_pickle=False) as data:  # no pickle: loading runs no code
        np.testing.assert_array_equal(data["positions/E"], sim.positions["E"])
        np.testing.assert_array_equal(data["connections/EE/i"], sim.connections("EE")[0])
        np.testing.assert_array_equal(data["connections/EE/j"], sim.connections("EE")[1])
        assert json.loads(str(data["__meta__"]))["t"] == 0.0
    assert read_description(path) == sim.description
    loaded = load(path)
    assert loaded.description == sim.description
    for name in ("E", "I"):
        np.testing.assert_array_equal(loaded.positions[name], sim.positions[name])
        np.testing.assert_array_equal(loaded.groups[name].x[:], sim.groups[name].x[:])
    for name in ("EE", "EI", "IE"):
        for a, b in zip(loaded.connections(name), sim.connections(name), strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(loaded.distances[name], sim.distances[name])


def test_load_uses_stored_connectivity_without_resampling(tmp_path, monkeypatch):
    # "Rebuilt with the saved connectivity": a network whose EE synapses differ from what the kernel would
    # sample (only every third of them kept) loads with exactly those synapses, and loading never samples.
    desc = recurrent()
    sampled = build(desc)
    i, j = sampled.connections("EE")
    keep = np.arange(0, len(i), 3)
    sim = build(desc, connections={"EE": (i[keep], j[keep], sampled.distances["EE"][keep])})
    path = save(sim, tmp_path / "net.npz")

    def no_sampling(*args, **kwargs):
        raise AssertionError("load must not sample connections")

    monkeypatch.setattr(build_module, "connect", no_sampling)
    loaded = load(path)
    np.testing.assert_array_equal(loaded.connections("EE")[0], i[keep])
    np.testing.assert_array_equal(loaded.connections("EE")[1], j[keep])
    assert len(loaded.weights("EE")) == len(keep)


def test_state_of_every_rule_variable_round_trips(tmp_path):
    # Every per-synapse and per-neuron variable equals its saved value after loading (set to distinct
    # values first so that a variable left at its initial value would show).
    sim = build(recurrent())
    rng = np.random.default_rng(0)
    syn = sim.synapses["EE"]
    for var in ("w", "stp_u", "stp_x", "stdp_apre", "stdp_apost"):
        setattr(syn, var, rng.random(len(syn)))
    sim.groups["E"].v = (-70 + 10 * rng.random(40)) * mV
    loaded = load(save(sim, tmp_path / "net.npz"))
    for var in ("w", "stp_u", "stp_x", "stdp_apre", "stdp_apost", "lastupdate", "delay"):
        np.testing.assert_array_equal(getattr(loaded.synapses["EE"], var)[:], getattr(syn, var)[:], var)
    np.testing.assert_array_equal(loaded.groups["E"].v[:], sim.groups["E"].v[:])


def test_save_refuses_standalone_and_load_refuses_foreign_files(tmp_path):
    sim = build(recurrent())
    with pytest.raises(RuntimeError, match="cpp_standalone"):
        save(dataclasses.replace(sim, target="cpp_standalone"), tmp_path / "x.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a neurosim state file"):
        load(tmp_path / "other.npz")


def test_save_is_atomic_and_overwrites(tmp_path):
    # neurosim.io.atomic_write: the file is replaced whole; no temporary file is left behind.
    sim = build(recurrent())
    path = tmp_path / "net.npz"
    save(sim, path)
    sim.run(20 * ms, progress=False)
    save(sim, path, compress=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]
    assert float(load(path).t / ms) == pytest.approx(20.0)


_CHILD = """
import sys
sys.path.insert(0, {repo!r})
from brian2 import ms
from neurosim.backend import Simulation
sim = Simulation.load({path!r})
sim.run(100 * ms, progress=False)
import numpy as np
i, t = sim.spikes("E")
np.savez({out!r}, i=i, t=np.asarray(t / ms), w=sim.weights("EE"))
"""


@pytest.mark.slow
def test_continuation_in_a_fresh_process_at_full_resolution(tmp_path):
    # Same invariance at dt = 0.1 ms, the state loaded by a separate Python process (Brian2 names and
    # memory differ there; objects are matched by their role in the description).
    desc = recurrent(dt=0.1 * ms)
    whole = build(desc).run(300 * ms, progress=False)
    first = build(desc).run(200 * ms, progress=False)
    path = first.save(tmp_path / "net.npz")
    out = tmp_path / "child.npz"
    code = _CHILD.format(repo=str(REPO), path=str(path), out=str(out))
    env = {**os.environ, "NEUROSIM_TARGET": "numpy"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=600)
    child = np.load(out)
    i, t = whole.spikes("E")
    np.testing.assert_array_equal(child["i"], i)
    np.testing.assert_array_equal(child["t"], np.asarray(t / ms))
    np.testing.assert_array_equal(child["w"], whole.weights("EE"))


@pytest.mark.slow
def test_continuation_on_cython_target(tmp_path):
    # The cython target draws random numbers through a 20000-number buffer (Brian2's cython generator);
    # the buffer's unused numbers are saved too, so continuation stays exact there as well.
    desc = recurrent()
    whole = build(desc, target="cython").run(300 * ms, progress=False)
    first = build(desc, target="cython").run(150 * ms, progress=False)
    path = first.save(tmp_path / "net.npz")
    loaded = Simulation.load(path, target="cython")
    loaded.run(150 * ms, progress=False)
    _assert_same(whole, loaded)


def test_reward_modulated_network_loads_beside_its_original_and_from_older_files(tmp_path):
    # Brian2 lists a Synapses with run_regularly (RewardModulated's tick) among its source group's contained
    # objects. The state keys follow the description, not Brian2's names (which get suffixes when a process
    # holds several networks), and files of earlier versions, which stored such a projection a second time
    # under the source group with its Brian2 name, still load: continuation is exact both ways.
    from tests.test_controller import network

    whole = build(network()).run(200 * ms, progress=False)
    first = build(network()).run(100 * ms, progress=False)  # Brian2 names this one's synapses "ff_1"
    path = first.save(tmp_path / "now.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(str(arrays["__meta__"]))
    assert not any(key.startswith("group/inp/ff") for key in meta["states"])
    # the earlier layout: a duplicate under the source group, and the tick's clock keyed there
    meta["states"]["group/inp/ff_1"] = meta["states"]["synapses/ff"]
    meta["clocks"] = {
        key.replace("synapses/ff/", "group/inp/ff_1/"): value for key, value in meta["clocks"].items()
    }
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "older.npz", **arrays)
    for file in (path, tmp_path / "older.npz"):
        loaded = load(file).run(100 * ms, progress=False)
        np.testing.assert_array_equal(whole.weights("ff"), loaded.weights("ff"))
        np.testing.assert_array_equal(whole.spikes("out")[0], loaded.spikes("out")[0])
