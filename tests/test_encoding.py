"""Encoders (rate statistics, latency order, determinism, Brian2 compatibility) and the count decoder."""

import math

import brian2 as b2
import numpy as np
import pytest
from brian2 import Hz, ms, second

from neurosim.encoding import (
    LatencyEncoder,
    PoissonEncoder,
    SpikeCountDecoder,
    spike_counts,
)
from neurosim.tasks import StoreRecall
from neurosim.validation import ParameterError


def test_poisson_mean_counts_match_rate_times_duration():
    """Mean spike count per neuron and step = r T (within 4 standard errors), for r = rate_min + x Δr."""
    enc = PoissonEncoder(rate_max=50 * Hz, rate_min=5 * Hz, neurons_per_input=400)
    x = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.25]])
    idx, t = enc.encode(x, seed=1)
    counts = spike_counts(idx, t, enc.n_neurons(3), 2, enc.step_duration)
    T = float(enc.step_duration / second)
    for k in range(2):
        for c in range(3):
            rate = 5 + x[k, c] * 45
            group = counts[k, enc.group(c)]
            se = math.sqrt(rate * T / group.size)
            assert abs(group.mean() - rate * T) < 4 * se, (k, c, group.mean(), rate * T)


def test_poisson_counts_have_poisson_variability():
    """Fano factor of the counts ≈ 1 (Bernoulli bins: 1 − r dt = 0.995)."""
    enc = PoissonEncoder(rate_max=40 * Hz, neurons_per_input=4000)
    idx, t = enc.encode(np.ones((1, 1)), seed=0)
    counts = spike_counts(idx, t, 4000, 1, enc.step_duration)[0]
    fano = counts.var(ddof=1) / counts.mean()
    assert 0.9 < fano < 1.1


def test_store_recall_encoding_as_bellec_et_al():
    """4 symbols × 25 neurons at 50 Hz: only the shown symbol's group fires, ≈ 10 spikes per 200 ms."""
    task = StoreRecall(max_delay=3)
    trial = task.trials(1, seed=0)[0]
    enc = PoissonEncoder(rate_max=50 * Hz, neurons_per_input=25)
    assert enc.n_neurons(task.n_inputs) == 100
    idx, t = enc.encode(trial.inputs, seed=0)
    counts = spike_counts(idx, t, 100, trial.n_steps, enc.step_duration)
    for k in range(trial.n_steps):
        shown = np.flatnonzero(trial.inputs[k])
        for c in range(4):
            total = counts[k, enc.group(c)].sum()
            assert (total > 0) == (c in shown)
    shown = trial.inputs.argmax(axis=1)
    active = np.array([counts[k, enc.group(int(shown[k]))].mean() for k in range(trial.n_steps)])
    assert abs(active.mean() - 10) < 4 * math.sqrt(10 / (25 * trial.n_steps))


@pytest.mark.parametrize("enc", [PoissonEncoder(neurons_per_input=3), LatencyEncoder(neurons_per_input=3)])
def test_encoders_are_deterministic_and_ready_for_spike_generators(enc):
    """Same seed → same spikes; times on the dt grid, sorted, inside their steps, ≤ 1 spike per neuron
    per dt bin."""
    x = np.random.default_rng(0).random((5, 4))
    a, b = enc.encode(x, seed=2), enc.encode(x, seed=2)
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.times, b.times)
    if isinstance(enc, PoissonEncoder):
        c = enc.encode(x, seed=3)
        assert a.indices.size != c.indices.size or not np.array_equal(a.times, c.times)
    bins = np.asarray(a.times / enc.dt)
    assert np.allclose(bins, np.round(bins))
    assert np.all(np.diff(bins) >= -1e-9)
    assert a.indices.min() >= 0 and a.indices.max() < enc.n_neurons(4)
    assert float(a.times.max() / second) < float(enc.duration(5) / second)
    keys = a.indices * 10**7 + np.round(bins).astype(np.int64)
    assert np.unique(keys).size == keys.size


def test_brian2_replays_the_encoded_spikes_exactly():
    """Equivalence with an independent simulator: SpikeGeneratorGroup + SpikeMonitor give the same spikes."""
    enc = PoissonEncoder(rate_max=80 * Hz, neurons_per_input=5, step_duration=50 * ms)
    x = np.array([[1.0, 0.2], [0.5, 0.0], [0.0, 1.0]])
    idx, t = enc.encode(x, seed=5)
    assert float(b2.defaultclock.dt / ms) == pytest.approx(float(enc.dt / ms))  # Brian2's default 0.1 ms
    gen = b2.SpikeGeneratorGroup(enc.n_neurons(2), idx, t)
    mon = b2.SpikeMonitor(gen)
    net = b2.Network(gen, mon)
    net.run(enc.duration(3))
    expected = spike_counts(idx, t, 10, 3, enc.step_duration)
    got = spike_counts(mon.i[:], mon.t[:], 10, 3, enc.step_duration)
    assert np.array_equal(expected, got)
    assert np.allclose(np.asarray(mon.t / ms), np.asarray(t / ms))


def test_latency_code_stronger_fires_earlier_once_per_step():
    enc = LatencyEncoder(t_max=100 * ms)
    x = np.array([[1.0, 0.5, 0.0, 0.25], [0.0, 0.0, 1.0, 0.0]])
    idx, t = enc.encode(x)
    ms_ = np.asarray(t / ms)
    first = {int(i): float(s) for i, s in zip(idx, ms_, strict=True) if s < 200}
    assert first == pytest.approx({0: 0.0, 1: 50.0, 3: 75.0})
    assert (2, 200.0) in zip(idx.tolist(), np.round(ms_).tolist(), strict=True)
    assert idx.size == 4  # one spike per nonzero input; none for zeros


def test_spike_count_decoder_argmax_ties_and_silence():
    counts = np.array([[3, 1, 0], [2, 2, 0], [0, 0, 0], [0, 1, 5]])
    strict = SpikeCountDecoder(n_outputs=3)
    assert strict.decode(counts).tolist() == [0, -1, -1, 2]
    lowest = SpikeCountDecoder(n_outputs=3, tie="lowest")
    assert lowest.decode(counts).tolist() == [0, 0, -1, 2]
    assert SpikeCountDecoder(n_outputs=3, tie="lowest", min_count=0).decode(counts)[2] == 0
    assert SpikeCountDecoder(n_outputs=3, min_count=4).decode(counts).tolist() == [-1, -1, -1, 2]
    grouped = SpikeCountDecoder(n_outputs=2, neurons_per_output=2)
    assert grouped.decode(np.array([[1, 1, 0, 3], [4, 0, 1, 1]])).tolist() == [1, 0]


def test_decoder_and_encoders_round_trip_as_descriptions():
    for obj in (PoissonEncoder(rate_max=30 * Hz), LatencyEncoder(t_max=20 * ms), SpikeCountDecoder(4, 2)):
        assert type(obj).from_toml(obj.to_toml()) == obj


@pytest.mark.parametrize(
    "make,knob",
    [
        (lambda: PoissonEncoder(rate_max=5 * Hz, rate_min=10 * Hz), "rate_max"),
        (lambda: PoissonEncoder(rate_max=20000 * Hz), "rate_max"),
        (lambda: PoissonEncoder(rate_min=-1 * Hz), "rate_min"),
        (lambda: PoissonEncoder(step_duration=0.25 * ms), "step_duration"),
        (lambda: PoissonEncoder(neurons_per_input=0), "neurons_per_input"),
        (lambda: LatencyEncoder(t_max=300 * ms), "t_max"),
        (lambda: SpikeCountDecoder(3, tie="random"), "tie"),
        (lambda: PoissonEncoder().encode(np.array([[2.0]])), "inputs"),
        (lambda: SpikeCountDecoder(3).decode(np.zeros((2, 4))), "counts"),
    ],
)
def test_bad_encoder_settings_name_the_parameter(make, knob):
    with pytest.raises(ParameterError, match=f"'{knob}'"):
        make()
