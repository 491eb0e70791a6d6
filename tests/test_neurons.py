"""Neuron models (neurosim.neurons) against analytic results, an independent integrator and NEST.

* LIF with constant drive I (voltage units, R·I) fires with period t_ref + τ_m ln((I − (v_reset − E_L)) /
  (I − (θ − E_L))) (Gerstner, Kistler, Naud & Paninski 2014, *Neuronal Dynamics*, §1.3.2); a constant
  conductance g turns τ_m into τ_m/(1+g) and the drive into the shifted equilibrium (same book, §1.3).
* AdEx (Brette & Gerstner 2005, Fig. 2 parameters) under a step current shows spike-frequency adaptation;
  cross-checked against NEST ``aeif_psc_exp``.
* Izhikevich (2003) regular spiking: identical spike times to a forward-Euler loop of the same equations.
* Adaptive-threshold LIF (Bellec et al. 2018): the threshold offset jumps by β per spike and decays with
  τ_adapt; checked against its closed form.
* dt invariance: halving dt leaves the LIF rate within tolerance.
"""

import numpy as np
import pytest
from brian2 import ms, mV, nA, second

from neurosim import (
    LIF,
    AdaptiveLIF,
    AdEx,
    Izhikevich,
    NetworkDescription,
    Population,
    SpikeRecording,
    StateRecording,
    build,
)
from neurosim.validation import ParameterError

DRIVES = np.array([22.0, 25.0, 30.0, 40.0])  # mV, R·I above the 20 mV rheobase of the default LIF


def _isis(model, drive_mV, *, initial=None, dt=0.1 * ms, duration=600 * ms):
    """Constant drive I_ext (one value per neuron); returns each neuron's interspike intervals (ms)."""
    desc = NetworkDescription(
        populations=(Population("n", len(drive_mV), model, initial=initial or {}),),
        recordings=(SpikeRecording("n"),),
        dt=dt,
    )
    sim = build(desc)
    sim.groups["n"].I_ext = np.asarray(drive_mV) * mV
    sim.run(duration, progress=False)
    i, t = sim.spikes("n")
    t = np.asarray(t / ms)
    return [np.diff(t[i == k]) for k in range(len(drive_mV))], sim


def _lif_period(drive, *, tau_m=20.0, t_ref=2.0, rest=-70.0, reset=-60.0, theta=-50.0, g=0.0, e_syn=0.0):
    """Analytic LIF period (ms) with drive (mV) and a constant relative conductance g towards e_syn."""
    tau = tau_m / (1 + g)
    v_inf = (rest + g * e_syn + drive) / (1 + g)
    return t_ref + tau * np.log((v_inf - reset) / (v_inf - theta))


@pytest.mark.parametrize("t_ref_ms, steps", [(0.0, 1), (0.04, 1), (0.1, 1), (1.0, 10), (2.0, 20), (2.05, 20)])
def test_refractory_period_in_whole_steps(t_ref_ms, steps):
    # Brian2's rule (NeuronGroup, refractory=Quantity): after a spike at step m the neuron is refractory while
    # timestep(t - lastspike) < timestep(t_ref), timestep(x) = floor(x/dt + 1e-3). neurosim compares times
    # instead (vectorisable); under a drive that crosses threshold within one step the interval must be
    # exactly max(that many steps, 1) for every t_ref, including ones that are not a whole number of steps.
    isis, _ = _isis(LIF(synapse="delta", refractory=t_ref_ms * ms), np.array([1e6]), duration=20 * ms)
    assert len(isis[0]) > 5
    np.testing.assert_allclose(isis[0], steps * 0.1, rtol=0, atol=1e-9)


def test_lif_delta_rate_matches_analytic():
    # Gerstner et al. 2014 §1.3.2: T = t_ref + τ_m ln((I − (v_reset − E_L)) / (I − (θ − E_L))); spikes fall
    # on the dt grid, so every interval is within one step of T.
    isis, _ = _isis(LIF(synapse="delta"), DRIVES)
    for isi, drive in zip(isis, DRIVES, strict=True):
        assert len(isi) > 10
        np.testing.assert_allclose(isi, _lif_period(drive), atol=0.1 + 1e-9)


def test_lif_conductance_rate_matches_analytic():
    # Conductance synapses held at a constant g_exc = 0.3 (τ_exc ≫ run):
    # dv/dt = (E_L − v + g(E_exc − v) + I)/τ_m
    # is an LIF with τ = τ_m/(1+g) and rest (E_L + g E_exc)/(1+g) (Gerstner et al. 2014 §1.3).
    model = LIF(synapse="conductance", tau_exc=1e9 * second)
    drives = np.array([6.0, 10.0, 20.0])  # mV; rest with g = 0.3 is −53.8 mV, so these reach threshold
    isis, _ = _isis(model, drives, initial={"g_exc": 0.3})
    for isi, drive in zip(isis, drives, strict=True):
        assert len(isi) > 10
        np.testing.assert_allclose(isi, _lif_period(drive, g=0.3), atol=0.1 + 1e-9)


@pytest.mark.slow  # Brian2 solves the 3-variable linear system of this model with sympy: ~40 s per process
def test_lif_current_rate_matches_analytic():
    # Exponential (current) synapses held at a constant I_exc (τ_exc ≫ run) act as extra drive: same formula.
    model = LIF(synapse="exponential", tau_exc=1e9 * second)
    isis, _ = _isis(model, DRIVES - 5.0, initial={"I_exc": 5 * mV})
    for isi, drive in zip(isis, DRIVES, strict=True):
        np.testing.assert_allclose(isi, _lif_period(drive), atol=0.1 + 1e-9)


def test_lif_rate_is_dt_invariant():
    # Invariance: halving dt (0.1 → 0.05 ms) moves the rate by less than 1% (spike times are on the grid).
    rates = {}
    for dt in (0.1, 0.05):
        isis, _ = _isis(LIF(synapse="delta"), DRIVES, dt=dt * ms)
        rates[dt] = np.array([1000 / isi.mean() for isi in isis])
    np.testing.assert_allclose(rates[0.05], rates[0.1], rtol=0.01)
    np.testing.assert_allclose(rates[0.05], 1000 / _lif_period(DRIVES), rtol=0.005)


def _adex_step(dt=0.1 * ms):
    model = AdEx(synapse="delta")
    desc = NetworkDescription(
        populations=(Population("n", 1, model),), recordings=(SpikeRecording("n"),), dt=dt
    )
    sim = build(desc)
    sim.run(50 * ms, progress=False)
    sim.groups["n"].I_ext = 1 * nA / model.g_L  # a 1 nA step (the drive is in voltage units: I/g_L)
    sim.run(500 * ms, progress=False)
    return np.asarray(sim.spikes("n")[1] / ms)


def test_adex_step_current_adapts():
    # Brette & Gerstner 2005 (Fig. 2 parameters, a 1 nA step): spike-triggered adaptation b lengthens
    # successive intervals until a steady period is reached.
    t = _adex_step()
    isi = np.diff(t)
    assert t[0] > 50  # nothing before the step
    assert len(isi) > 10
    assert np.all(np.diff(isi[:8]) > 0)  # intervals grow
    assert isi[-1] > 2 * isi[0]  # strongly: ~14 ms → ~36 ms
    assert np.ptp(isi[-4:]) < 0.5  # and settle


@pytest.mark.nest
def test_adex_matches_nest_aeif_psc_exp():
    # Independent simulator: NEST aeif_psc_exp (adaptive RKF45, exact spike detection at V_peak) with the
    # same parameters and step; Brian2 integrates with forward Euler at 0.1 ms, so intervals agree to 0.6 ms.
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.resolution = 0.1
    m = AdEx()
    params = {
        "C_m": float(m.C / 1e-12),
        "g_L": float(m.g_L / 1e-9),
        "E_L": float(m.E_L / mV),
        "V_th": float(m.V_T / mV),
        "Delta_T": float(m.Delta_T / mV),
        "tau_w": float(m.tau_w / ms),
        "a": float(m.a / 1e-9),
        "b": float(m.b / 1e-12),
        "V_reset": float(m.v_reset / mV),
        "V_peak": float(m.v_threshold / mV),
        "t_ref": 0.0,
        "V_m": float(m.E_L / mV),
        "w": 0.0,
    }
    neuron = nest.Create("aeif_psc_exp", params=params)
    recorder = nest.Create("spike_recorder")
    nest.Connect(neuron, recorder)
    nest.Simulate(50.0)
    neuron.I_e = 1000.0
    nest.Simulate(500.0)
    ref = np.asarray(recorder.get("events")["times"], dtype=float)
    ours = _adex_step()
    assert len(ours) == len(ref)
    np.testing.assert_allclose(np.diff(ours), np.diff(ref), atol=0.6)
    assert abs(ours[0] - ref[0]) < 1.0


def test_izhikevich_regular_spiking_equals_euler_reference():
    # Equivalence of two implementations: Izhikevich 2003 (RS: a=0.02, b=0.2, c=−65 mV, d=8, I=10) in
    # Brian2 vs a plain forward-Euler loop of the same equations at the same dt, threshold 30 mV.
    dt = 0.1
    isis, sim = _isis(Izhikevich(), [10.0], dt=dt * ms, duration=1000 * ms)
    t = np.asarray(sim.spikes("n")[1] / ms)
    a, b, c, d = 0.02, 0.2, -65e-3, 8e-3
    v, u, drive, h, mv, msec = -65e-3, 0.2 * -65e-3, 10e-3, dt * 1e-3, 1e-3, 1e-3
    ref = []
    for step in range(int(round(1000 / dt))):
        dv = (0.04 * v**2 / mv + 5 * v + 140 * mv - u + drive) / msec
        du = a * (b * v - u) / msec
        v, u = v + h * dv, u + h * du
        if v > 30e-3:  # a spike is stamped with the time at the start of the step that crossed
            ref.append(step * dt)
            v, u = c, u + d
    assert len(ref) > 15
    np.testing.assert_array_equal(np.round(t / dt).astype(int), np.round(np.array(ref) / dt).astype(int))
    assert isis[0][1] > 1.5 * isis[0][0]  # RS: the first interval is short, then the cell adapts (Fig. 2)


def test_adaptive_lif_threshold_jumps_by_beta_and_decays():
    # Bellec et al. 2018 (LSNN): threshold = θ + a, a += β per spike, da/dt = −a/τ_adapt; so
    # a(t) = β Σ_k exp(−(t − t_k⁺)/τ_adapt), with t_k⁺ the end of the step in which spike k was emitted.
    tau, beta, dt = 200.0, 2.0, 0.1
    model = AdaptiveLIF(synapse="delta", tau_adapt=tau * ms, beta=beta * mV)
    desc = NetworkDescription(
        populations=(Population("n", 1, model),),
        recordings=(SpikeRecording("n"), StateRecording("n", ("a",))),
        dt=dt * ms,
    )
    sim = build(desc)
    sim.groups["n"].I_ext = 25 * mV
    sim.run(300 * ms, progress=False)
    sim.groups["n"].I_ext = 0 * mV  # then no spikes: pure decay
    sim.run(300 * ms, progress=False)
    t_spk = np.asarray(sim.spikes("n")[1] / ms)
    mon = sim.state("n")
    t, a = np.asarray(mon.t / ms), np.asarray(mon.a[0] / mV)
    jumps = t_spk + dt
    expected = np.array([beta * np.sum(np.exp(-(x - jumps[jumps <= x + 1e-9]) / tau)) for x in t])
    assert len(t_spk) >= 4
    np.testing.assert_allclose(a, expected, atol=1e-9)
    isi = np.diff(t_spk)
    assert np.all(np.diff(isi) > 0)  # the rising threshold lengthens intervals (adaptation)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: LIF(tau_m=0 * ms), "tau_m"),
        (lambda: LIF(tau_m=20), "tau_m"),
        (lambda: LIF(v_reset=-40 * mV), "v_reset"),
        (lambda: LIF(synapse="alpha"), "synapse"),
        (lambda: AdaptiveLIF(tau_adapt=-1 * ms), "tau_adapt"),
        (lambda: AdEx(C=0 * mV), "C"),
        (lambda: Izhikevich(a=0.0), "a"),
    ],
)
def test_bad_neuron_parameters_raise(make, name):
    with pytest.raises(ParameterError, match=f"'{name}'"):
        make()
