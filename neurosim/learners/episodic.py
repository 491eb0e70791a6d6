"""An episodic spiking memory: each trial's stream stored in one pass, optionally gated by bottom-up salience.

For tasks whose trials are self-contained episodes (:class:`~neurosim.tasks.NoveltyRecall`): a stream of
item-tag pairs, then each item cued alone, the answer being its tag. Channels: the task's first
``n_inputs − n_outputs`` inputs are items, the last ``n_outputs`` tags, tag ``k`` standing for answer ``k``.
Network of one episode::

    input (item + tag channels) ─topographic─▶ mem: one unit of ``neurons`` LIF neurons per channel
                               item units ─assoc─▶ tag units: CoActivityHebb [+ SalienceGated]
    item channels ─TM depressing (τ_d 3 s)─▶ novelty detector ─SalienceSignal─▶ s on the tag units

The co-activity rule (Hebb 1949) learns only during the stream (``store`` steps), from zero weights. A
familiar item reaches the detector (:class:`~neurosim.salience.NoveltyDetector`) through depleted synapses
and barely drives it; a novel one arrives through rested synapses, the detector fires, the salience trace
``s`` rises and multiplies the Hebbian weight change of the item → tag synapses
(:mod:`neurosim.plasticity.salience`; the von Restorff effect, von Restorff 1933, Ranganath & Rainer 2003).
Without salience the same network learns with the plain rule (gain 1). At a cue, the tag unit with most
spikes is the answer (none on a tie or fewer than ``min_count`` spikes).

Episodes are independent (every one starts from rest with zero association weights), so nothing is learned
*across* trials: ``train`` presents nothing and costs nothing, and ``evaluate`` runs ``batch`` episodes at
once as copies of the network side by side in one simulation (block-diagonal wiring, independent noise):
per episode the dynamics of a single network, one simulation run for the batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from brian2 import Hz, Quantity, ms, mV, second

from ..backend import build
from ..encoding import PoissonEncoder, SpikeCountDecoder, spike_counts
from ..metrics import E_SYNOP_LOIHI_J, energy_breakdown
from ..network import (
    ExplicitConnections,
    NetworkDescription,
    PoissonBackground,
    Population,
    Projection,
    SpikeRecording,
    StateRecording,
)
from ..neurons import LIF, SpikeSource
from ..plasticity.composer import rest_state
from ..plasticity.salience import SalienceGated
from ..salience import NoveltyDetector
from ..serialization import Describable
from ..tasks import Task, Trial
from ..validation import check_choice, check_number, check_quantity, fail
from .base import EvalResult, Fit, LearnerBase, Prediction, ResultRecord
from .spiking import CoActivityHebb

#: Names of the memory's parts in its simulation.
INPUT, MEMORY, ASSOC = "input", "mem", "assoc"


@dataclass(frozen=True)
class EpisodicParams(Describable):
    """Settings of :class:`EpisodicMemory` (documented in the results' config)."""

    neurons: int = 8  # memory neurons per channel (one unit), and input sources per channel
    input_rate: Quantity = 50 * Hz  # rate of an active channel's sources (Bellec et al. 2018: 50 Hz)
    tau_m: Quantity = 20 * ms  # membrane time constant of the memory neurons (LIF, delta synapses)
    J_in: Quantity = 3 * mV  # topographic input per spike
    J_assoc: Quantity = 1.2 * mV  # item → tag at w = 1
    hebb_eta: float = 0.004  # co-activity rule's amplitude (one presentation at gain 1 stores little)
    hebb_tau: Quantity = 20 * ms  # its coincidence window
    gain: float = 1.0  # SalienceGated: learning-rate multiplier per unit of salience
    detector: NoveltyDetector = field(
        default_factory=lambda: NoveltyDetector(n=10, weight=12 * mV, kick=0.6)
    )  # the novelty detector: 10 LIF neurons, depressing input (τ_d 3 s), salience trace τ_s 300 ms
    noise_rate: Quantity = 100 * Hz  # background Poisson input to each memory neuron
    noise_weight: Quantity = 4 * mV  # per background spike
    min_count: int = 2  # fewest spikes of the winning tag unit for an answer
    dt: Quantity = 1 * ms  # simulation step
    batch: int = 50  # episodes simulated side by side in one run

    def __post_init__(self) -> None:
        owner = "EpisodicParams"
        check_number(owner, "neurons", self.neurons, low=1, integer=True)
        check_number(owner, "hebb_eta", self.hebb_eta, low=0, low_open=True)
        check_number(owner, "gain", self.gain, low=0, low_open=True)
        check_number(owner, "min_count", self.min_count, low=1, integer=True)
        check_number(owner, "batch", self.batch, low=1, integer=True)
        for name in ("tau_m", "hebb_tau", "dt"):
            check_quantity(owner, name, getattr(self, name), ms, positive=True)
        for name in ("J_in", "J_assoc", "noise_weight"):
            check_quantity(owner, name, getattr(self, name), mV, positive=True)
        for name in ("input_rate", "noise_rate"):
            check_quantity(owner, name, getattr(self, name), Hz, nonnegative=True)
        if not isinstance(self.detector, NoveltyDetector):
            fail(owner, "detector", self.detector, "expected a neurosim.salience.NoveltyDetector")


def _tiled(i: np.ndarray, j: np.ndarray, copies: int, n_source: int, n_target: int) -> ExplicitConnections:
    """Connections ``i → j`` of one copy, repeated in ``copies`` copies laid side by side (block-diagonal)."""
    shift = np.arange(copies)[:, None]
    return ExplicitConnections(
        tuple((i[None, :] + shift * n_source).ravel()), tuple((j[None, :] + shift * n_target).ravel())
    )


class EpisodicMemory(LearnerBase):
    """The episodic spiking memory of the module docstring, with (``salience=True``) or without the gate.

    ``record_salience``: also record the salience trace of the first tag neuron of the first copy
    (:meth:`salience_trace`), for figures.
    """

    name: ClassVar[str] = "snn"
    op_name = "synaptic events"
    joules_per_op = E_SYNOP_LOIHI_J

    def __init__(
        self,
        task: Task,
        params: EpisodicParams | None = None,
        *,
        salience: bool = True,
        seed: int = 0,
        target: str = "numpy",
        record_salience: bool = False,
    ) -> None:
        super().__init__(task.n_inputs, task.n_outputs)
        owner = "EpisodicMemory"
        self.params = EpisodicParams() if params is None else params
        if not isinstance(self.params, EpisodicParams):
            fail(owner, "params", params, "expected EpisodicParams")
        if not isinstance(salience, bool):
            fail(owner, "salience", salience, "expected True or False")
        check_choice(owner, "target", target, ("numpy", "cython"))
        n_items = task.n_inputs - task.n_outputs
        if n_items < 1:
            fail(owner, "task", task.name, "needs item channels before its n_outputs tag channels")
        self.name = "snn" if salience else "snn_no_salience"  # type: ignore[misc]
        self.salience, self.seed, self.n_items = salience, int(seed), n_items
        self.step = task.step_duration
        p, self.g = self.params, int(self.params.neurons)
        self.per_copy = task.n_inputs * self.g  # input sources and memory neurons of one copy
        self.encoder = PoissonEncoder(
            rate_max=p.input_rate, neurons_per_input=self.g, step_duration=self.step, dt=p.dt
        )
        self.decoder = SpikeCountDecoder(task.n_outputs, self.g, tie="none", min_count=p.min_count)
        self.sim = build(self._description(record_salience), target=target)
        self._rest = [(q, rest_state(q.rules)) for q in self.sim.description.projections if q.rules]
        sizes = {pop.name: pop.n for pop in self.sim.description.populations}
        self._out_degree = {  # per source neuron of one copy (every copy has the same)
            q.name: (q.source, np.bincount(self.sim.connections(q.name)[0], minlength=sizes[q.source]))
            for q in self.sim.description.projections
        }
        self._rng = np.random.default_rng(self.seed)
        self.plastic_updates = 0
        self.neuron_updates = 0

    # -- the network ---------------------------------------------------------------------------------------
    def _description(self, record_salience: bool) -> NetworkDescription:
        p, g, B, n = self.params, self.g, int(self.params.batch), self.per_copy
        items, tags = np.arange(self.n_items * g), np.arange(self.n_items * g, n)
        a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        same = a // g == b // g  # channel c's sources → memory unit c
        i, j = (x.ravel() for x in np.meshgrid(items, tags, indexing="ij"))
        rules: tuple = (CoActivityHebb(eta=p.hebb_eta, tau=p.hebb_tau),)
        if self.salience:
            rules += (SalienceGated(gain=p.gain),)
        det = p.detector
        pop, into, out = det.parts(INPUT, MEMORY, source_neurons=items, target_neurons=tags)
        (di, dj), (oi, oj) = (np.asarray((q.connectivity.i, q.connectivity.j)) for q in (into, out))
        recordings: tuple = (SpikeRecording(MEMORY), SpikeRecording(det.name))
        if record_salience:
            recordings += (StateRecording(MEMORY, ("salience_s",), indices=(int(tags[0]),), dt=5 * ms),)
        return NetworkDescription(
            populations=(
                Population(INPUT, B * n, SpikeSource()),
                Population(MEMORY, B * n, LIF(synapse="delta", tau_m=p.tau_m)),
                dataclasses.replace(pop, n=B * det.n),
            ),
            projections=(
                Projection("in_mem", INPUT, MEMORY, p.J_in, _tiled(a[same], b[same], B, n, n)),
                Projection(ASSOC, MEMORY, MEMORY, p.J_assoc, _tiled(i, j, B, n, n), rules, 0.0),
                dataclasses.replace(into, connectivity=_tiled(di, dj, B, n, det.n)),
                dataclasses.replace(out, connectivity=_tiled(oi, oj, B, det.n, n)),
            ),
            inputs=(PoissonBackground("noise", MEMORY, p.noise_rate, 1, p.noise_weight),),
            recordings=recordings,
            seed=self.seed,
            dt=p.dt,
        )

    def _copy_sizes(self) -> dict[str, int]:
        return {
            INPUT: self.per_copy,
            MEMORY: self.per_copy,
            self.params.detector.name: self.params.detector.n,
        }

    @property
    def n_parameters(self) -> int:
        """Plastic synapses of one episode's network (the item → tag associations)."""
        return self.sim.n_synapses(ASSOC) // int(self.params.batch)

    @property
    def n_parameters_total(self) -> int:
        """Every synapse of one episode's network, plastic and fixed."""
        total = sum(self.sim.n_synapses(q.name) for q in self.sim.description.projections)
        return total // int(self.params.batch)

    def hyperparameters(self) -> dict[str, Any]:
        return {"salience": self.salience, **self.params.to_dict()}

    # -- running episodes ----------------------------------------------------------------------------------
    def _reset(self) -> None:
        """Every copy back to rest: potentials, traces, short-term resources, salience; weights to zero."""
        sim = self.sim
        for pop in (MEMORY, self.params.detector.name):
            sim.set_variable(pop, "v", sim.description.population(pop).model.E_L)
        for proj, rest in self._rest:
            for var, value in rest.synapses.items():
                sim.set_variable(proj.name, var, value)
            for pop, values in ((proj.source, rest.source), (proj.target, rest.target)):
                for var, value in values.items():
                    sim.set_variable(pop, var, value)
        sim.set_variable(ASSOC, "w", 0.0)

    def _batch(self, trials: Sequence[Trial]) -> tuple[list[np.ndarray], int, int]:
        """Run up to ``batch`` episodes of the same layout side by side: the stream (``store`` steps) with
        plasticity on, the rest with it off. Returns the answers per trial, the synaptic events (spikes ×
        out-degree) and the plastic updates (spikes at the plastic synapses while learning)."""
        sim, n, n_steps = self.sim, self.per_copy, trials[0].n_steps
        self._reset()
        t0 = float(sim.t / second)
        idx, times = [], []
        for k, trial in enumerate(trials):
            spikes = self.encoder.encode(trial.inputs, seed=int(self._rng.integers(2**31)))
            idx.append(np.asarray(spikes.indices) + k * n)
            times.append(np.asarray(spikes.times / second))
        sources = np.concatenate(idx).astype(int)
        sim.set_spike_times(INPUT, sources, (np.concatenate(times) + t0) * second)
        marks = {pop: sim.n_spikes(pop) for pop in (MEMORY, self.params.detector.name)}
        learn = np.asarray([phase == "store" for phase in trials[0].phase])
        cuts = np.flatnonzero(np.diff(learn.astype(int))) + 1
        for start, stop in zip(np.r_[0, cuts], np.r_[cuts, n_steps], strict=True):
            sim.set_variable(ASSOC, "hebb_gate", 1.0 if learn[start] else 0.0)
            sim.run((stop - start) * self.step, progress=False)
        used = len(trials)
        fired = {INPUT: np.bincount(sources, minlength=self.sim.description.population(INPUT).n)}
        counts = {}
        for pop, mark in marks.items():
            i, t = sim.spikes_since(pop, mark)
            size = sim.description.population(pop).n
            counts[pop] = spike_counts(i, t - t0, size, n_steps, self.step)  # (steps, all copies' neurons)
            fired[pop] = counts[pop].sum(axis=0)
        per = {pop: self._copy_sizes()[pop] for pop in fired}
        events = sum(
            int(np.dot(fired[src][: used * per[src]], degree[: used * per[src]]))
            for src, degree in self._out_degree.values()
        )
        mem = counts[MEMORY][:, : used * n].reshape(n_steps, used, n)
        items = self.n_items * self.g
        stored = mem[learn]
        assoc_in = self.n_items * self.g  # item neurons reaching each tag neuron
        updates = int(stored[:, :, :items].sum()) * (n - items) + int(stored[:, :, items:].sum()) * assoc_in
        self.neuron_updates += (
            used * (n + self.params.detector.n) * int(round(n_steps * self.step / self.params.dt))
        )
        return [self.decoder.decode(mem[:, k, items:]) for k in range(used)], events, updates

    def _episodes(self, trials: Sequence[Trial]) -> tuple[list[np.ndarray], int]:
        """Answers to ``trials`` in order, run in batches of episodes of one layout, and the events spent."""
        groups: dict[tuple[str, ...], list[int]] = {}
        for k, trial in enumerate(trials):
            groups.setdefault(tuple(trial.phase), []).append(k)
        answers: list[np.ndarray] = [np.empty(0)] * len(trials)
        events = 0
        B = int(self.params.batch)
        for members in groups.values():
            for start in range(0, len(members), B):
                chunk = members[start : start + B]
                decided, e, u = self._batch([trials[k] for k in chunk])
                events += e
                self.plastic_updates += u
                for k, answer in zip(chunk, decided, strict=True):
                    answers[k] = answer
        return answers, events

    # -- the learner protocol ------------------------------------------------------------------------------
    def _fit(self, trials: Sequence[Trial]) -> Fit:
        """Nothing carries over between episodes: training trials are not presented."""
        return Fit((), (), 0)

    def _predict(self, trials: Sequence[Trial]) -> Prediction:
        answers, events = self._episodes(trials)
        return Prediction(answers, events)

    def energy(self, ops: int, extra: Mapping[str, Any]) -> float:
        counts = self.energy_counts(ops)
        return energy_breakdown(counts)["energy_j"]

    def energy_counts(self, ops: int) -> dict[str, int]:
        """Synaptic events, neuron updates (every memory and detector neuron of every episode run, at every
        step) and plastic updates (spikes at the plastic synapses while they learn)."""
        return {
            "synaptic_events": int(ops),
            "neuron_updates": int(self.neuron_updates),
            "plastic_updates": int(self.plastic_updates),
        }

    def record(self, evaluation: EvalResult, extra: Mapping[str, Any] | None = None) -> ResultRecord:
        """The result record; ``extra`` adds ``parameters_total`` and ``nonzero_weights`` (of one episode's
        network at the end of the last episode run) and the operations and energy by kind."""
        counts = self.energy_counts(self.train_ops + evaluation.ops)
        sizes, nonzero = self._copy_sizes(), 0
        for q in self.sim.description.projections:  # the first copy's synapses
            first = self.sim.connections(q.name)[0] < sizes[q.source]
            nonzero += int(np.count_nonzero(self.sim.weights(q.name)[first]))
        info = {
            "parameters_total": self.n_parameters_total,
            "nonzero_weights": nonzero,
            "energy_counts": counts,
            "energy_breakdown": energy_breakdown(counts),
        }
        return super().record(evaluation, {**info, **(extra or {})})

    def salience_trace(self, start: float, stop: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Times (s, from ``start``), the salience trace of the first copy's first tag neuron, and the first
        copy's detector spike times (s, from ``start``) between ``start`` and ``stop`` (s of simulated time);
        needs ``record_salience=True``."""
        if not self.sim.recorded("state", MEMORY, "salience_s"):
            fail("EpisodicMemory.salience_trace", "record_salience", False, "build it with True")
        rec = self.sim.state(MEMORY)
        t = np.asarray(rec.t / second)
        keep = (t >= start) & (t < stop)
        i, spikes = self.sim.spikes(self.params.detector.name)
        spikes = np.asarray(spikes / second)
        inside = (spikes >= start) & (spikes < stop) & (i < self.params.detector.n)
        return t[keep] - start, np.asarray(rec.salience_s[0])[keep], spikes[inside] - start


__all__ = ["EpisodicMemory", "EpisodicParams"]
