"""Encoders from task vectors to spike trains, and a decoder from spike counts to decisions.

All encoders share one clock: a trial's step ``k`` covers ``[k, k+1) * step_duration`` and spike times lie on
the grid of ``dt`` (Brian2's default clock, 0.1 ms), with at most one spike per neuron per ``dt`` bin, as a
Brian2 ``SpikeGeneratorGroup`` requires. Input channel ``c`` drives the group of ``neurons_per_input``
neurons ``c*g .. c*g + g - 1``.

``PoissonEncoder`` (rate code): value ``x`` in [0, 1] → rate ``r = rate_min + x (rate_max − rate_min)``; each
``dt`` bin holds a spike with probability ``r dt`` independently (the discretised Poisson process), so the
spike count of a neuron in one step is Binomial(T/dt, r dt): mean ``r T``, variance ≈ ``r T``.
Store-recall as in Bellec et al. 2018: 4 channels × 25 neurons, ``rate_max = 50 Hz``.

``LatencyEncoder`` (time-to-first-spike code): value ``x`` in (0, 1] → one spike per neuron at latency
``(1 − x) t_max`` after the step onset (stronger → earlier); ``x = 0`` → no spike.

``encode(inputs, seed)`` returns :class:`SpikeTrains` ``(indices, times)``, sorted by time, ready for
``SpikeGeneratorGroup(n_neurons(n_inputs), indices, times)``; the numpy generator ``default_rng(seed)``
makes it reproducible. :func:`spike_counts` bins recorded spikes per step; :class:`SpikeCountDecoder` turns
the counts of the readout groups into one decision per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from brian2 import Hz, Quantity, ms, second

from .serialization import Describable
from .validation import check_choice, check_number, check_quantity, fail


class SpikeTrains(NamedTuple):
    """Spikes for a ``SpikeGeneratorGroup``: neuron ``indices`` (int) and ``times`` (Brian2 quantity)."""

    indices: np.ndarray
    times: Quantity


def _check_inputs(owner: str, inputs: Any) -> np.ndarray:
    x = np.asarray(inputs, dtype=float)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        fail(owner, "inputs", x.shape, "expected an array (steps, n_inputs) or one vector")
    if not np.all(np.isfinite(x)) or x.min(initial=0) < 0 or x.max(initial=0) > 1:
        fail(owner, "inputs", "array", "values must be finite and lie in [0, 1]")
    return x


class SpikeEncoder(Describable):
    """Base for encoders: the shared clock (``step_duration``, ``dt``) and input groups."""

    step_duration: Quantity
    dt: Quantity
    neurons_per_input: int

    def _check_clock(self) -> None:
        owner = type(self).__name__
        check_quantity(owner, "step_duration", self.step_duration, ms, positive=True)
        check_quantity(owner, "dt", self.dt, ms, positive=True)
        ratio = float(self.step_duration / self.dt)
        if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
            fail(owner, "step_duration", self.step_duration, f"must be a whole number of dt = {self.dt}")
        check_number(owner, "neurons_per_input", self.neurons_per_input, low=1, integer=True)

    @property
    def bins_per_step(self) -> int:
        return int(round(float(self.step_duration / self.dt)))

    def n_neurons(self, n_inputs: int) -> int:
        """Number of spike sources needed for ``n_inputs`` channels."""
        return int(n_inputs) * int(self.neurons_per_input)

    def group(self, channel: int) -> slice:
        """The neurons that carry input channel ``channel``."""
        g = int(self.neurons_per_input)
        return slice(channel * g, (channel + 1) * g)

    def duration(self, n_steps: int) -> Quantity:
        return n_steps * self.step_duration

    def encode(self, inputs: Any, seed: int = 0) -> SpikeTrains:
        raise NotImplementedError  # pragma: no cover - abstract

    def _trains(self, neurons: np.ndarray, bins: np.ndarray) -> SpikeTrains:
        order = np.lexsort((neurons, bins))
        times = bins[order].astype(float) * float(self.dt)
        return SpikeTrains(neurons[order].astype(np.int64), times * second)


@dataclass(frozen=True)
class PoissonEncoder(SpikeEncoder):
    """Rate code: value x → Poisson spikes at ``rate_min + x (rate_max − rate_min)`` during the step."""

    rate_max: Quantity = 50 * Hz  # rate for x = 1 (Bellec et al. 2018: 50 Hz)
    rate_min: Quantity = 0 * Hz  # rate for x = 0 (background)
    neurons_per_input: int = 1  # neurons per input channel (Bellec et al.: 25 for 4 channels)
    step_duration: Quantity = 200 * ms  # duration of one task step
    dt: Quantity = 0.1 * ms  # time grid of the spikes (the simulation's dt)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        self._check_clock()
        check_quantity(owner, "rate_min", self.rate_min, Hz, nonnegative=True)
        check_quantity(owner, "rate_max", self.rate_max, Hz, nonnegative=True)
        if self.rate_max < self.rate_min:
            fail(owner, "rate_max", self.rate_max, f"must be >= rate_min = {self.rate_min}")
        if not float(self.rate_max * self.dt) < 1:
            fail(owner, "rate_max", self.rate_max, f"must be < 1/dt = {1 / self.dt} (one spike per bin)")

    def rates(self, inputs: Any) -> Quantity:
        """Firing rate of every neuron at every step, (steps, n_neurons), in Hz."""
        x = np.repeat(_check_inputs(type(self).__name__, inputs), int(self.neurons_per_input), axis=1)
        lo, hi = float(self.rate_min / Hz), float(self.rate_max / Hz)
        return (lo + x * (hi - lo)) * Hz

    def encode(self, inputs: Any, seed: int = 0) -> SpikeTrains:
        """Spikes for ``inputs`` (steps, n_inputs), reproducible for ``seed``."""
        rng = np.random.default_rng(seed)
        p = np.asarray(self.rates(inputs) / Hz) * float(self.dt / second)  # spike probability per bin
        steps, n = p.shape
        nb = self.bins_per_step
        # Poisson counts at the rate that gives P(≥1 spike in a bin) = p, scattered uniformly over bins and
        # merged per bin: exactly a Bernoulli(p) process on the dt grid (Poisson splitting), vectorised.
        counts = rng.poisson(-np.log1p(-p) * nb)
        step_of, neuron_of = np.nonzero(counts)
        reps = counts[step_of, neuron_of]
        step_idx = np.repeat(step_of, reps).astype(np.int64)
        neurons = np.repeat(neuron_of, reps).astype(np.int64)
        bins = step_idx * nb + rng.integers(0, nb, size=step_idx.size)
        key = np.unique(neurons * (steps * nb) + bins)
        return self._trains(key // (steps * nb), key % (steps * nb))


@dataclass(frozen=True)
class LatencyEncoder(SpikeEncoder):
    """Latency code: value x in (0, 1] → one spike at ``(1 − x) t_max`` after step onset; x = 0 → none."""

    t_max: Quantity = 50 * ms  # latency of the weakest input (x → 0); x = 1 fires at step onset
    neurons_per_input: int = 1  # neurons per input channel (all fire together)
    step_duration: Quantity = 200 * ms  # duration of one task step
    dt: Quantity = 0.1 * ms  # time grid of the spikes (the simulation's dt)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        self._check_clock()
        check_quantity(owner, "t_max", self.t_max, ms, nonnegative=True)
        if not self.t_max < self.step_duration:
            fail(owner, "t_max", self.t_max, f"must be < step_duration = {self.step_duration}")

    def latencies(self, inputs: Any) -> Quantity:
        """Latency after step onset for every neuron and step (steps, n_neurons); NaN where no spike."""
        x = np.repeat(_check_inputs(type(self).__name__, inputs), int(self.neurons_per_input), axis=1)
        lat = np.where(x > 0, (1.0 - x) * float(self.t_max / second), np.nan)
        return lat * second

    def encode(self, inputs: Any, seed: int = 0) -> SpikeTrains:
        """Spikes for ``inputs``; deterministic (``seed`` is accepted for a uniform interface)."""
        lat = np.asarray(self.latencies(inputs) / second)
        steps, _ = lat.shape
        step_of, neuron_of = np.nonzero(~np.isnan(lat))
        nb = self.bins_per_step
        offset = np.floor(lat[step_of, neuron_of] / float(self.dt / second) + 1e-9).astype(np.int64)
        bins = step_of.astype(np.int64) * nb + np.minimum(offset, nb - 1)
        return self._trains(neuron_of.astype(np.int64), bins)


def spike_counts(
    indices: Any, times: Any, n_neurons: int, n_steps: int, step_duration: Quantity
) -> np.ndarray:
    """Spike counts per step and neuron, int (n_steps, n_neurons), from recorded ``indices`` and ``times``
    (a Brian2 quantity, or seconds). Spikes at or after ``n_steps * step_duration`` are ignored."""
    check_quantity("spike_counts", "step_duration", step_duration, ms, positive=True)
    idx = np.asarray(indices, dtype=np.int64)
    t = np.asarray(times / second) if isinstance(times, Quantity) else np.asarray(times, dtype=float)
    if idx.shape != t.shape:
        fail("spike_counts", "times", t.shape, f"expected one time per index {idx.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= n_neurons):
        fail("spike_counts", "indices", (int(idx.min()), int(idx.max())), f"must lie in [0, {n_neurons})")
    step = np.floor(t / float(step_duration / second) + 1e-9).astype(np.int64)
    keep = (step >= 0) & (step < n_steps)
    counts = np.zeros((n_steps, n_neurons), dtype=np.int64)
    np.add.at(counts, (step[keep], idx[keep]), 1)
    return counts


@dataclass(frozen=True)
class SpikeCountDecoder(Describable):
    """Decision per step from the spike counts of ``n_outputs`` readout groups: the group with most spikes.

    Counts may be given per neuron, (steps, n_outputs × neurons_per_output), summed per group of consecutive
    neurons, or per group, (steps, n_outputs). No decision (-1) when the winning count is below
    ``min_count`` (a silent readout is not a guess). Ties: ``tie="none"`` gives -1 (no decision: a tied
    readout earns no chance-level credit), ``tie="lowest"`` the lowest tied class.
    """

    n_outputs: int  # number of answer classes (readout groups)
    neurons_per_output: int = 1  # neurons per readout group
    tie: str = "none"  # "none": ties → -1; "lowest": ties → lowest class index
    min_count: int = 1  # fewest spikes the winning group needs for a decision

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_number(owner, "n_outputs", self.n_outputs, low=1, integer=True)
        check_number(owner, "neurons_per_output", self.neurons_per_output, low=1, integer=True)
        check_choice(owner, "tie", self.tie, ("none", "lowest"))
        check_number(owner, "min_count", self.min_count, low=0, integer=True)

    def group_counts(self, counts: Any) -> np.ndarray:
        """Counts per group, (steps, n_outputs)."""
        c = np.asarray(counts)
        if c.ndim == 1:
            c = c[None, :]
        n, g = int(self.n_outputs), int(self.neurons_per_output)
        if c.ndim == 2 and c.shape[1] == n * g:
            return c.reshape(c.shape[0], n, g).sum(axis=2)
        if c.ndim == 2 and c.shape[1] == n:
            return c
        fail(type(self).__name__, "counts", c.shape, f"expected (steps, {n * g}) or (steps, {n})")
        raise AssertionError  # pragma: no cover - fail raises

    def decode(self, counts: Any) -> np.ndarray:
        """Decided class per step, int (steps,), -1 where no decision."""
        c = self.group_counts(counts)
        best = c.max(axis=1)
        winner = c.argmax(axis=1)  # lowest index among ties
        n_best = (c == best[:, None]).sum(axis=1)
        out = np.where(best >= int(self.min_count), winner, -1)
        if self.tie == "none":
            out = np.where(n_best > 1, -1, out)
        return out.astype(np.int64)
