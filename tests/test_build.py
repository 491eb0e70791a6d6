"""The builder (neurosim.backend): seeding, Dale's law, delays, given connectivity, code generation targets.

* One seed fixes every random choice: placement, connectivity, initial values, input spikes.
* Dale's law: a population's sign decides the channel, so an inhibitory population's spikes lower the
  target's membrane potential for every synapse kind (Dale 1935; Eccles 1976 formulation).
* Conduction delay = base + distance / velocity (neurosim.connectivity.ConductionDelay).
* Cross-mode equivalence (performance.md: Brian2 targets gave bit-identical spikes from one seed).
"""

import numpy as np
import pytest
from brian2 import Hz, metre, ms, mV, second, um

from neurosim import (
    LIF,
    ConductionDelay,
    GaussianKernel,
    NetworkDescription,
    OneToOne,
    PairSTDP,
    ParameterError,
    PoissonBackground,
    PoissonSource,
    Population,
    Projection,
    SpikeRecording,
    SpikeSource,
    StateRecording,
    TsodyksMarkram,
    build,
)

DELTA = LIF(synapse="delta")


def random_network(seed):
    """Every random choice in one network: positions, kernel sampling, initial v and w, Poisson sources
    (a PoissonGroup) and Poisson background (neurosim.backend.background)."""
    return NetworkDescription(
        populations=(
            Population("inp", 30, PoissonSource(rate=20 * Hz)),
            Population("E", 30, DELTA, initial={"v": "E_L + rand()*15*mV"}),
        ),
        projections=(
            Projection(
                "ff",
                "inp",
                "E",
                weight=1.5 * mV,
                connectivity=GaussianKernel(p_max=0.5, sigma=300 * um),
                w_init="0.5 + 0.5*rand()",
            ),
            Projection(
                "rec", "E", "E", weight=0.5 * mV, connectivity=GaussianKernel(p_max=0.3, sigma=300 * um)
            ),
        ),
        inputs=(PoissonBackground("bg", "E", rate=10 * Hz, n_sources=100, weight=1 * mV),),
        recordings=(SpikeRecording("E"), SpikeRecording("inp")),
        seed=seed,
        dt=0.2 * ms,
    )


def _run(desc, duration=100 * ms, target=None):
    sim = build(desc, target=target)
    sim.run(duration, progress=False)
    return sim


def test_one_seed_fixes_every_random_choice():
    a, b, c = (_run(random_network(seed)) for seed in (3, 3, 4))
    for pop in ("E", "inp"):
        np.testing.assert_array_equal(a.spikes(pop)[0], b.spikes(pop)[0])
        np.testing.assert_array_equal(np.asarray(a.spikes(pop)[1]), np.asarray(b.spikes(pop)[1]))
        np.testing.assert_array_equal(a.positions[pop], b.positions[pop])
    for proj in ("ff", "rec"):
        for x, y in zip(a.connections(proj), b.connections(proj), strict=True):
            np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(a.weights(proj), b.weights(proj))
    assert len(a.spikes("E")[0]) > 50
    # a different seed changes each random choice
    assert not np.array_equal(a.positions["E"], c.positions["E"])
    assert len(a.connections("rec")[0]) != len(c.connections("rec")[0]) or not np.array_equal(
        a.connections("rec")[0], c.connections("rec")[0]
    )
    assert not np.array_equal(a.spikes("inp")[0], c.spikes("inp")[0])
    assert not np.array_equal(a.spikes("E")[0], c.spikes("E")[0])


def test_run_in_pieces_equals_one_run():
    # Invariance under splitting a run: 4 × 25 ms = 100 ms (the random streams continue across run calls).
    desc = random_network(5)
    whole = _run(desc)
    pieces = build(desc)
    for _ in range(4):
        pieces.run(25 * ms, progress=False)
    np.testing.assert_array_equal(whole.spikes("E")[0], pieces.spikes("E")[0])
    np.testing.assert_array_equal(np.asarray(whole.spikes("E")[1]), np.asarray(pieces.spikes("E")[1]))


@pytest.mark.parametrize(
    "synapse, weight",
    [
        ("delta", 2 * mV),
        ("conductance", 0.2),
        pytest.param("exponential", 2 * mV, marks=pytest.mark.slow),  # sympy needs ~40 s for this model
    ],
)
def test_dales_law_sign_follows_the_source_population(synapse, weight):
    # Dale's law: the same positive weight J from an inhibitory population lowers v, from an excitatory one
    # raises it (conductance synapses: E_inh = −80 mV lies below rest, E_exc = 0 mV above).
    target = LIF(synapse=synapse)
    desc = NetworkDescription(
        populations=(
            Population("exc", 1, SpikeSource(indices=(0,), times=[10.0] * ms)),
            Population("inh", 1, SpikeSource(indices=(0,), times=[200.0] * ms), sign="inhibitory"),
            Population("post", 1, target),
        ),
        projections=(
            Projection("e", "exc", "post", weight=weight, connectivity=OneToOne()),
            Projection("i", "inh", "post", weight=weight, connectivity=OneToOne()),
        ),
        recordings=(StateRecording("post", ("v",)),),
    )
    sim = _run(desc, 260 * ms)
    t = np.asarray(sim.state("post").t / ms)
    v = np.asarray(sim.state("post").v[0] / mV)
    rest = -70.0
    assert np.all(np.abs(v[t < 10] - rest) < 1e-9)
    after_exc, after_inh = v[(t > 10) & (t < 40)], v[(t > 200) & (t < 230)]
    before_inh = v[np.argmin(np.abs(t - 200))]
    assert abs(before_inh - rest) < 1e-3  # the excitation has decayed (e^-9.5) before the inhibitory spike
    assert after_exc.max() > rest + 0.05  # excitation: depolarisation
    assert after_inh.min() < rest - 0.05  # inhibition: hyperpolarisation
    assert np.all(after_inh <= before_inh + 1e-9)


def test_delay_is_base_plus_distance_over_velocity():
    delay = ConductionDelay(base=0.7 * ms, velocity=0.4 * metre / second)
    desc = NetworkDescription(
        populations=(Population("a", 20, DELTA), Population("b", 20, DELTA)),
        projections=(
            Projection(
                "ab",
                "a",
                "b",
                weight=1 * mV,
                delay=delay,
                connectivity=GaussianKernel(p_max=0.5, sigma=400 * um),
            ),
        ),
    )
    sim = build(desc)
    i, j = sim.connections("ab")
    distance_um = np.linalg.norm(sim.positions["a"][i] - sim.positions["b"][j], axis=1)
    np.testing.assert_allclose(sim.distances["ab"], distance_um, rtol=1e-12)
    expected_ms = 0.7 + distance_um / 400.0  # 0.4 m/s = 400 µm/ms
    np.testing.assert_allclose(np.asarray(sim.synapses["ab"].delay[:] / ms), expected_ms, rtol=1e-9)
    assert len(i) > 20 and np.ptp(expected_ms) > 0.5  # delays really vary with distance


def test_given_connections_replace_sampling():
    # build(connections=...) is how a saved network is rebuilt from its state file without re-sampling.
    desc = NetworkDescription(
        populations=(Population("a", 5, DELTA), Population("b", 4, DELTA)),
        projections=(Projection("ab", "a", "b", weight=1 * mV),),
    )
    i, j, d = np.array([0, 4, 4]), np.array([3, 0, 1]), np.array([10.0, 20.0, 30.0])
    sim = build(desc, connections={"ab": (i, j, d)})
    np.testing.assert_array_equal(sim.connections("ab")[0], i)
    np.testing.assert_array_equal(sim.connections("ab")[1], j)
    np.testing.assert_allclose(np.asarray(sim.synapses["ab"].delay[:] / ms), 0.5 + d / 500.0)


def test_unknown_target_is_refused():
    desc = NetworkDescription(populations=(Population("a", 2, DELTA),))
    with pytest.raises(ParameterError, match="'target' = 'gpu'.*'numpy', 'cython', 'cpp_standalone'"):
        build(desc, target="gpu")


def deterministic_network():
    """No random draws while running (precomputed Poisson trains; random initial values are drawn at build
    from numpy's generator, the same on every target): recurrent LIF with STP + STDP."""
    rng = np.random.default_rng(1)
    n_in, rate, duration = 30, 20.0, 300.0
    counts = rng.poisson(rate * duration / 1000, size=n_in)
    indices = np.repeat(np.arange(n_in), counts)
    times = np.round(rng.uniform(0, duration, size=indices.size), 1)
    return NetworkDescription(
        populations=(
            Population("inp", n_in, SpikeSource(indices=tuple(indices), times=times * ms)),
            Population("E", 30, DELTA, initial={"v": "E_L + rand()*15*mV", "I_ext": "17*mV + rand()*6*mV"}),
        ),
        projections=(
            Projection(
                "ff",
                "inp",
                "E",
                weight=2 * mV,
                connectivity=GaussianKernel(p_max=0.5, sigma=300 * um),
                rules=(TsodyksMarkram(U=0.3, tau_d=200 * ms, tau_f=300 * ms), PairSTDP(A_plus=0.02)),
            ),
            Projection(
                "rec",
                "E",
                "E",
                weight=0.5 * mV,
                connectivity=GaussianKernel(p_max=0.3, sigma=300 * um),
                rules=(PairSTDP(A_plus=0.02),),
                w_init="rand()",
            ),
        ),
        recordings=(SpikeRecording("E"),),
        seed=2,
    )


@pytest.mark.slow  # cython compiles each new model (20–80 s, minutes on a loaded machine)
def test_numpy_and_cython_targets_give_identical_spikes():
    # Cross-mode equivalence: the same description on two code generation targets.
    desc = deterministic_network()
    a = _run(desc, 300 * ms, target="numpy")
    b = _run(desc, 300 * ms, target="cython")
    assert len(a.spikes("E")[0]) > 100
    np.testing.assert_array_equal(a.spikes("E")[0], b.spikes("E")[0])
    np.testing.assert_allclose(
        np.asarray(a.spikes("E")[1] / second), np.asarray(b.spikes("E")[1] / second), rtol=0, atol=1e-12
    )
    for proj in ("ff", "rec"):
        np.testing.assert_allclose(a.weights(proj), b.weights(proj), rtol=0, atol=1e-9)


def test_a_projection_that_draws_no_synapse_builds_and_runs():
    # A kernel can draw nothing (here p_max = 0; a fully pruned projection is the same case): the projection
    # still exists, with its rules, and the network runs; earlier Brian2 refused to connect empty arrays.
    d = NetworkDescription(
        populations=(
            Population("src", 5, PoissonSource(rate=50 * Hz)),
            Population("E", 5, DELTA),
        ),
        projections=(
            Projection(
                "none",
                "src",
                "E",
                1 * mV,
                connectivity=GaussianKernel(p_max=0.0, sigma=100 * um),
                rules=(TsodyksMarkram(), PairSTDP()),
            ),
        ),
        recordings=(SpikeRecording("E"),),
        seed=3,
    )
    sim = build(d).run(20 * ms, progress=False)
    assert len(sim.synapses["none"]) == 0 and len(sim.weights("none")) == 0
    assert len(sim.spikes("E")[0]) == 0


@pytest.mark.compiled
def test_cpp_standalone_run_keeps_every_synapse_array_readable(tmp_path):
    # cpp_standalone frees the arrays that only built the synapses (file copies of indices and delays,
    # connect's index arrays: 24 B/synapse) and stores the post pathway's zero delay once. What a user reads
    # back after the run must be intact: indices in build order (by source, then distance), per-synapse
    # delays, STP and STDP state; and the activity matches the numpy run of the same description (the
    # background is the same stream on both targets; rates within sampling noise).
    lif = LIF(v_threshold=-55 * mV)
    d = NetworkDescription(
        populations=(Population("E", 120, lif, initial={"v": "E_L"}),),
        projections=(
            Projection(
                "EE",
                "E",
                "E",
                0.5 * mV,
                connectivity=GaussianKernel(in_degree=10),
                rules=(TsodyksMarkram(), PairSTDP()),
                delay=ConductionDelay(base=0.5 * ms, velocity=0.5 * metre / second),
            ),
        ),
        inputs=(PoissonBackground("bg", "E", 80 * Hz, 50, 1.0 * mV),),
        recordings=(SpikeRecording("E"),),
        seed=5,
    )
    ref = build(d, target="numpy").run(200 * ms, progress=False)
    sim = build(d, target="cpp_standalone", directory=tmp_path / "standalone").run(200 * ms, progress=False)
    syn, ref_syn = sim.synapses["EE"], ref.synapses["EE"]
    np.testing.assert_array_equal(np.asarray(syn.i[:]), np.asarray(ref_syn.i[:]))
    np.testing.assert_array_equal(np.asarray(syn.j[:]), np.asarray(ref_syn.j[:]))
    np.testing.assert_allclose(np.asarray(syn.delay[:]), np.asarray(ref_syn.delay[:]))
    assert np.all(np.diff(sim.distances["EE"])[np.diff(np.asarray(syn.i[:])) == 0] >= 0)
    for var in ("w", "stp_x", "stdp_apre"):
        values = np.asarray(getattr(syn, var)[:])
        assert values.shape == (len(syn),) and np.all(np.isfinite(values)), var
    assert np.any(np.asarray(syn.w[:]) != 0.5) or np.any(np.asarray(syn.stp_x[:]) < 1)  # the rules acted
    rates = [len(s.spikes("E")[0]) / 120 / 0.2 for s in (ref, sim)]
    assert rates[0] > 2 and abs(rates[1] - rates[0]) < 0.2 * rates[0]


def test_cpp_standalone_main_source_does_not_change_with_the_run(tmp_path):
    # Brian2 writes a run's start (each clock's, in the order of a set of clock objects, which changes between
    # processes) and its duration into main.cpp, so every rebuild recompiled it. neurosim's device reads them
    # from the environment when the binary starts: two builds of one network with six clocks (five
    # run_regularly periods and the default clock), run from other starts for other lengths, give the same
    # main.cpp.
    # Only code is generated here (no compiler needed).
    import brian2 as b2

    def main_source(periods, start_s, duration):
        desc = NetworkDescription(populations=(Population("a", 3, DELTA),), dt=0.1 * ms)
        sim = build(desc, target="cpp_standalone", directory=tmp_path)
        for period in periods:
            g = b2.NeuronGroup(1, "x : 1", name=f"timer_{int(period * 10)}")
            g.run_regularly("x += 1", dt=period * ms)
            sim.network.add(g)
        sim.network.t_ = start_s
        sim.network.run(duration)
        device = b2.get_device()
        device.build(directory=str(tmp_path), compile=False, run=False, with_output=False)
        env = dict(device.run_environment_variables)
        return (tmp_path / "main.cpp").read_text(), env

    first, env_first = main_source((0.5, 0.2, 0.7, 0.3, 0.9), 0.0, 1 * ms)
    second, env_second = main_source((0.5, 0.2, 0.7, 0.3, 0.9), 0.25, 3.5 * ms)
    assert first == second
    assert "NEUROSIM_RUN_DURATION" in first and "timer_9_run_regularly_clock.set_interval" in first
    assert (env_first["NEUROSIM_RUN_START"], env_first["NEUROSIM_RUN_DURATION"]) == ("0.0", "0.001")
    assert (env_second["NEUROSIM_RUN_START"], env_second["NEUROSIM_RUN_DURATION"]) == ("0.25", "0.0035")
