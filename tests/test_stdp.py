"""Pair STDP against its defining window and pairing schemes, and the Song, Miller & Abbott 2000 result.

The window (Song, Miller & Abbott 2000, Nat. Neurosci. 3:919; Bi & Poo 1998): one pre/post pair at lag
Δt = t_post − t_pre_arrival changes w by ``A+·exp(−Δt/τ+)`` for Δt > 0 and ``−A−·exp(Δt/τ−)`` for Δt < 0.
Soft bounds (van Rossum, Bi & Turrigiano 2000): potentiation ∝ (w_max − w), depression ∝ (w − w_min).
Pairing schemes (Morrison, Diesmann & Gerstner 2008, Biol. Cybern. 98:459): all-to-all vs nearest-spike
(symmetric). Timing is taken at the synapse: a presynaptic spike counts when it arrives, ``delay`` after
emission. Every test drives many independent synapses in one simulation (see ``helpers.forced_pairing``).
"""

import numpy as np
import pytest
from brian2 import ms, second

from neurosim import (
    PairSTDP,
    build,
)
from neurosim.validation import ParameterError

from .helpers import forced_pairing

A_PLUS, A_MINUS, TAU_PLUS, TAU_MINUS = 0.01, 0.012, 16.8, 33.7  # distinct, so mix-ups show
DELAY = 1.0  # ms, conduction delay of the plastic synapses
LAGS = np.array([-100, -50, -20, -10, -5, -2, 2, 5, 10, 20, 50, 100], dtype=float)  # Δt at the synapse, ms


def _rule(**kwargs):
    return PairSTDP(
        A_plus=A_PLUS, A_minus=A_MINUS, tau_plus=TAU_PLUS * ms, tau_minus=TAU_MINUS * ms, **kwargs
    )


def _single_pairs(lags, t0=150.0):
    """One pre spike per synapse (emitted at t0) and one post spike at t0 + DELAY + lag."""
    return [[t0]] * len(lags), [[t0 + DELAY + lag] for lag in lags]


def _window(lags):
    return np.where(lags > 0, A_PLUS * np.exp(-lags / TAU_PLUS), -A_MINUS * np.exp(lags / TAU_MINUS))


def test_additive_window_matches_exponential_stdp_curve():
    # Song, Miller & Abbott 2000 (Fig. 1a): Δw = A+ exp(-Δt/τ+) for Δt > 0, -A- exp(Δt/τ-) for Δt < 0,
    # for Δt = ±2 ... ±100 ms taken at the synapse (pre arrival = emission + 1 ms delay).
    pre, post = _single_pairs(LAGS)
    w, _ = forced_pairing({"stdp": [_rule()]}, pre, post, delay=DELAY * ms)
    np.testing.assert_allclose(w["stdp"] - 0.5, _window(LAGS), rtol=1e-9, atol=1e-15)


def test_timing_is_taken_at_pre_arrival_not_emission():
    # Conduction delay convention (module docstring of neurosim.plasticity.stdp): with a 3 ms delay, a post
    # spike 1.5 ms after the pre *emission* comes 1.5 ms before its *arrival*: depression, -A- exp(-1.5/τ-).
    w, _ = forced_pairing({"stdp": [_rule()]}, [[100.0]], [[101.5]], delay=3 * ms)
    assert w["stdp"][0] - 0.5 == pytest.approx(-A_MINUS * np.exp(-1.5 / TAU_MINUS), rel=1e-9)


def test_soft_bounds_scale_with_distance_to_the_bound():
    # van Rossum, Bi & Turrigiano 2000 (multiplicative STDP): Δw = A+ (w_max - w) exp(-Δt/τ+) for Δt > 0,
    # -A- (w - w_min) exp(Δt/τ-) for Δt < 0; checked for several starting weights within [0.1, 1.2].
    w_min, w_max = 0.1, 1.2
    lags = np.tile(LAGS, 3)
    w0 = np.repeat([0.2, 0.65, 1.1], len(LAGS))
    pre, post = _single_pairs(lags)
    w, _ = forced_pairing(
        {"soft": [_rule(bounds="soft")]}, pre, post, delay=DELAY * ms, w_init=w0, w_min=w_min, w_max=w_max
    )
    scale = np.where(lags > 0, w_max - w0, w0 - w_min)
    np.testing.assert_allclose(w["soft"] - w0, scale * _window(lags), rtol=1e-9, atol=1e-15)


def test_hard_bounds_clip():
    # Song, Miller & Abbott 2000: additive updates are clipped to [0, w_max].
    pre, post = _single_pairs(np.array([5.0, -5.0]))
    w, _ = forced_pairing(
        {"stdp": [PairSTDP(A_plus=0.5, A_minus=0.5)]},
        pre,
        post,
        delay=DELAY * ms,
        w_init=np.array([0.9, 0.1]),
    )
    np.testing.assert_allclose(w["stdp"], [1.0, 0.0])


def test_nearest_and_all_to_all_pairing_on_spike_triplets():
    # Morrison, Diesmann & Gerstner 2008 (Fig. 7): all-to-all sums over every earlier spike of the other
    # side; symmetric nearest-spike pairs each spike only with the latest one. Expected values by hand,
    # times at the synapse in ms (a = e^(-10/τ+), b = e^(-20/τ+), c = e^(-10/τ-), d = e^(-20/τ-)):
    #   pre 0, pre 10, post 20:  all  A+(a + b)      nearest  A+ a
    #   post 0, post 10, pre 20: all -A-(c + d)      nearest -A- c
    #   pre 0, post 10, pre 20:  both  A+ a - A- c   (each spike has one partner on each side)
    #   post 0, pre 10, post 20: both -A- c + A+ a
    a, b = np.exp(-10 / TAU_PLUS), np.exp(-20 / TAU_PLUS)
    c, d = np.exp(-10 / TAU_MINUS), np.exp(-20 / TAU_MINUS)
    t0 = 100.0
    pre_rel = [[0, 10], [20], [0, 20], [10]]
    post_rel = [[20], [0, 10], [10], [0, 20]]
    pre = [[t0 + x - DELAY for x in p] for p in pre_rel]  # emission = arrival - delay
    post = [[t0 + x for x in p] for p in post_rel]
    w, _ = forced_pairing(
        {"all": [_rule(pairing="all")], "nearest": [_rule(pairing="nearest")]}, pre, post, delay=DELAY * ms
    )
    both = A_PLUS * a - A_MINUS * c
    np.testing.assert_allclose(w["all"] - 0.5, [A_PLUS * (a + b), -A_MINUS * (c + d), both, both], rtol=1e-9)
    np.testing.assert_allclose(w["nearest"] - 0.5, [A_PLUS * a, -A_MINUS * c, both, both], rtol=1e-9)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"A_plus": -0.1}, "A_plus"),
        ({"A_minus": -1}, "A_minus"),
        ({"tau_plus": 0 * ms}, "tau_plus"),
        ({"tau_minus": 20.0}, "tau_minus"),
        ({"bounds": "medium"}, "bounds"),
        ({"pairing": "some"}, "pairing"),
    ],
)
def test_bad_parameters_are_named(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        PairSTDP(**kwargs)


# --- Song, Miller & Abbott 2000: competitive Hebbian learning through STDP ---------------------------------


def song_abbott(duration, *, a_plus=0.01, dt=0.1 * ms, seed=1):
    """The Song, Miller & Abbott 2000 setup as experiments/song_abbott_2000.py builds it (parameters from
    docs/references.md): 1000 Poisson fibres at 15 Hz onto one conductance-based LIF (τ_m 10 ms, E_L −74 mV,
    threshold −54 mV, reset −60 mV, E_e 0 mV, τ_e 5 ms); g_max 0.01 (w ∈ [0, 1], initially uniform); additive
    all-to-all STDP with τ± 20 ms, A− = 1.05·A+. Returns (final weights, output spike times in s)."""
    from experiments.song_abbott_2000 import Config, description

    config = Config(a_plus=a_plus, dt_ms=float(dt / ms), duration_s=float(duration / second))
    sim = build(description(config, seed)).run(duration, progress=False)
    return sim.weights("inputs_to_neuron"), np.asarray(sim.spikes("neuron")[1] / second)


def _bimodality(w):
    """Fractions of weights in the outer 20% of [0, 1] at each end and in the middle 20%."""
    return np.mean(w < 0.2), np.mean((w >= 0.4) & (w < 0.6)), np.mean(w >= 0.8)


def _rates(spikes, duration_s, window_s):
    """Output rates (Hz) in the first and the last ``window_s`` seconds."""
    return np.sum(spikes < window_s) / window_s, np.sum(spikes >= duration_s - window_s) / window_s


def test_song_abbott_weights_become_bimodal_scaled():
    # Song, Miller & Abbott 2000 (Fig. 2): under additive STDP with A-/A+ = 1.05 the 1000 inputs compete, the
    # initially uniform weights become U-shaped and the output rate falls. Scaled to run in seconds on the
    # numpy target: A+ 2.5x larger (0.025), dt 0.25 ms, 15 s simulated (the published setup, 100 s at
    # dt 0.1 ms, is test_song_abbott_full_run). Initially each fifth of [0, 1] holds ~20% of the weights.
    duration = 15.0
    w, spikes = song_abbott(duration * second, a_plus=0.025, dt=0.25 * ms)
    low, middle, high = _bimodality(w)
    assert low > middle + 0.05 and high > middle + 0.04, (low, middle, high)  # U-shaped
    assert middle < 0.18  # the middle emptied (from 0.20; binomial sd 0.013)
    early, late = _rates(spikes, duration, 3.0)
    assert late < 0.9 * early, (early, late)  # the output rate falls


@pytest.mark.slow
def test_song_abbott_full_run():
    # Song, Miller & Abbott 2000, the published setup (docs/references.md): 1000 Poisson inputs at 15 Hz,
    # g_max 0.01, A+ = 0.01, A- = 1.05 A+, τ± 20 ms, 100 s at dt 0.1 ms -> bimodal weight distribution (most
    # weights in the outer fifths of [0, 1], few in the middle) and a falling output rate.
    duration = 100.0
    w, spikes = song_abbott(duration * second)
    low, middle, high = _bimodality(w)
    assert low > 2 * middle and high > 1.5 * middle, (low, middle, high)
    assert low + high > 0.5
    early, late = _rates(spikes, duration, 5.0)
    assert late < 0.8 * early, (early, late)
