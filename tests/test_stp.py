"""Tsodyks–Markram short-term plasticity against the published numbers (docs/references.md)."""

import numpy as np
import pytest
from brian2 import ms, mV

from neurosim import TsodyksMarkram
from neurosim.validation import ParameterError

from .helpers import psc_amplitudes


def event_based(U, tau_d, tau_f, isi, n):
    """Independent implementation: the event-based update of Maass & Markram 2002
    (as NEST tsodyks2_synapse)."""
    u, x, out, first = 0.0, 1.0, [], True
    for _ in range(n):
        if not first:
            u = u * np.exp(-isi / tau_f) if tau_f else 0.0
            x = 1 + (x - 1) * np.exp(-isi / tau_d)
        first = False
        u = u + U * (1 - u)
        out.append(u * x)
        x -= u * x
    return np.array(out)


def test_depressing_20hz_matches_tsodyks_pawelzik_markram_1998():
    # Tsodyks, Pawelzik & Markram 1998: U=0.5, tau_d=800 ms at 20 Hz -> PSC5/PSC1 = 0.157, PSC10/PSC1 = 0.115
    psc, _ = psc_amplitudes([TsodyksMarkram.depressing()], np.arange(10) * 50 * ms + 10 * ms)
    assert psc[0] == pytest.approx(0.5, rel=1e-6)  # first PSC = U (documented convention)
    assert psc[4] / psc[0] == pytest.approx(0.157, abs=0.01)
    assert psc[9] / psc[0] == pytest.approx(0.115, abs=0.01)


def test_depressing_10hz():
    # docs/references.md: U=0.5, tau_d=0.8 s at 10 Hz -> PSC5/PSC1 = 0.240
    psc, _ = psc_amplitudes([TsodyksMarkram.depressing()], np.arange(5) * 100 * ms + 10 * ms)
    assert psc[4] / psc[0] == pytest.approx(0.240, abs=0.01)


def test_facilitating_20hz_matches_published_ratios():
    # Tsodyks, Pawelzik & Markram 1998: U=0.03, tau_d=130 ms, tau_f=530 ms, 20 Hz
    # -> PSC2/PSC1 = 1.84, PSC5/PSC1 = 3.48
    psc, _ = psc_amplitudes([TsodyksMarkram.facilitating()], np.arange(5) * 50 * ms + 10 * ms)
    assert psc[1] / psc[0] == pytest.approx(1.84, abs=0.05)
    assert psc[4] / psc[0] == pytest.approx(3.48, abs=0.05)


def test_irregular_train_equals_event_based_formulation():
    # Equivalence of two formulations: Brian2 ODE form vs the closed-form event-based update.
    rng = np.random.default_rng(3)
    isis = rng.uniform(5, 200, size=12).round(1)
    times = np.cumsum(isis) * ms
    rule = TsodyksMarkram(U=0.2, tau_d=300 * ms, tau_f=700 * ms)
    psc, _ = psc_amplitudes([rule], times)
    ref = [event_based(0.2, 300.0, 700.0, None, 1)[0]]
    u, x = 0.0, 1.0
    ref, last = [], None
    for tk in np.asarray(times / ms):
        if last is not None:
            u *= np.exp(-(tk - last) / 700.0)
            x = 1 + (x - 1) * np.exp(-(tk - last) / 300.0)
        u += 0.2 * (1 - u)
        ref.append(u * x)
        x -= u * x
        last = tk
    np.testing.assert_allclose(psc, ref, rtol=1e-6)


def test_steady_state_matches_analytic():
    # docs/references.md: regular train of interval D -> u* = U/(1-(1-U)e^{-D/tf}),
    # x* = (1-e^{-D/td})/(1-(1-u*)e^{-D/td})
    U, td, tf, isi = 0.1, 100.0, 1000.0, 25.0
    psc, _ = psc_amplitudes(
        [TsodyksMarkram(U=U, tau_d=td * ms, tau_f=tf * ms)], np.arange(200) * isi * ms + 10 * ms
    )
    u_star = U / (1 - (1 - U) * np.exp(-isi / tf))
    x_star = (1 - np.exp(-isi / td)) / (1 - (1 - u_star) * np.exp(-isi / td))
    assert psc[-1] == pytest.approx(u_star * x_star, rel=1e-3)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"U": 0.0}, "U"),
        ({"U": 1.5}, "U"),
        ({"tau_d": -1 * ms}, "tau_d"),
        ({"tau_d": 5.0}, "tau_d"),
        ({"tau_f": 0 * ms}, "tau_f"),
    ],
)
def test_bad_parameters_are_named(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        TsodyksMarkram(**kwargs)


def test_resources_between_arrivals_follow_the_exact_recovery():
    # The state is brought up to date only at arrivals (as NEST tsodyks2_synapse); between them x recovers as
    # 1 − (1 − x)·e^{−Δt/τ_d} and u decays as u·e^{−Δt/τ_f} (Tsodyks, Pawelzik & Markram 1998), which
    # stp.resources() applies at sim.t. Reference: the event-based update written out here.
    from neurosim import NetworkDescription, OneToOne, Population, Projection, SpikeSource, build
    from neurosim.plasticity.stp import resources

    from .helpers import INTEGRATOR

    rule = TsodyksMarkram.facilitating()
    desc = NetworkDescription(
        populations=(
            Population("pre", 1, SpikeSource(indices=(0, 0, 0), times=[10.0, 30.0, 50.0] * ms)),
            Population("post", 1, INTEGRATOR),
        ),
        projections=(
            Projection("syn", "pre", "post", weight=1 * mV, connectivity=OneToOne(), rules=(rule,)),
        ),
        dt=0.1 * ms,
    )
    sim = build(desc).run(200 * ms)
    delay = round(float(sim.synapses["syn"].delay[0] / ms) / 0.1) * 0.1  # arrival on the time grid
    tau_d, tau_f = float(rule.tau_d / ms), float(rule.tau_f / ms)
    u, x, last = 0.0, 1.0, None
    for t in np.array([10.0, 30.0, 50.0]) + delay:
        if last is not None:
            u, x = u * np.exp(-(t - last) / tau_f), 1 - (1 - x) * np.exp(-(t - last) / tau_d)
        u += rule.U * (1 - u)
        x -= u * x
        last = t
    now = resources(sim, "syn")
    assert now["u"][0] == pytest.approx(u * np.exp(-(200 - last) / tau_f), rel=1e-9)
    assert now["x"][0] == pytest.approx(1 - (1 - x) * np.exp(-(200 - last) / tau_d), rel=1e-9)
    with pytest.raises(ParameterError, match="projection"):
        resources(sim, "nothing")
