"""Structural plasticity policy: what the controller prunes and regrows, and the record of it.

:class:`Pruner` says what goes (criteria, :mod:`.criteria`), how many per step (a schedule,
:mod:`.schedules`) and how often; :class:`Regrowth` adds synapses after each step, drawn from the
projection's own distance kernel and preferring active neurons. :class:`PruningHistory` records each step:
how many, which synapses, and where (pre/post positions in µm). :class:`SynapseLedger` keeps per-synapse
counters aligned with the synapses through compaction. The synapses themselves are removed and added by
the backend (:func:`~neurosim.backend.compaction.resize_projection`); this module decides, on numpy arrays.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import Quantity, second

from ..backend import Simulation, draw_synapses, on_resize, resize_projection
from ..connectivity import Kernel
from ..serialization import Describable
from ..validation import check_number, fail
from .criteria import PruningCriterion, SynapseStats, WeightMagnitude
from .schedules import PruningSchedule


@dataclass(frozen=True)
class Regrowth(Describable):
    """Structural plasticity: ``per_step`` new synapses at each pruning step, drawn from the projection's
    own distance kernel (or ``kernel``), preferring active neurons: a candidate pair is chosen with
    probability ∝ ((r_pre + r0)(r_post + r0))^``activity_bias`` (0: no preference); new synapses start at
    ``w_init``."""

    per_step: int = 10  # new synapses per step
    w_init: float = 0.1  # initial weight w of a new synapse
    activity_bias: float = 1.0  # exponent of the preference for active neurons (0: none)
    kernel: Kernel | None = None  # distance kernel to draw from (None: the projection's own)

    def __post_init__(self) -> None:
        check_number("Regrowth", "per_step", self.per_step, low=0, integer=True)
        check_number("Regrowth", "w_init", self.w_init)
        check_number("Regrowth", "activity_bias", self.activity_bias, low=0)
        if self.kernel is not None and not isinstance(self.kernel, Kernel):
            fail("Regrowth", "kernel", self.kernel, "expected a distance kernel such as GaussianKernel(...)")


@dataclass(frozen=True)
class Pruner(Describable):
    """What the controller prunes: synapses flagged by ``criterion`` (one or several: any flags), at most
    ``schedule.count(step)`` per step (None: every candidate), every ``every`` trials, on ``projections``
    (None: the controller's projections); ``regrowth`` optionally adds synapses after each step."""

    criterion: PruningCriterion | tuple[PruningCriterion, ...] = field(default_factory=WeightMagnitude)
    schedule: PruningSchedule | None = None  # how many per step (None: all candidates)
    every: int = 1  # trials between pruning steps
    projections: tuple[str, ...] | None = None  # which projections (None: the controller's)
    regrowth: Regrowth | None = None  # structural plasticity after each pruning step

    def __post_init__(self) -> None:
        crits = self.criteria
        if not crits or not all(isinstance(c, PruningCriterion) for c in crits):
            fail(
                "Pruner",
                "criterion",
                self.criterion,
                "expected a criterion such as WeightMagnitude(threshold=0.1)",
            )
        if self.schedule is not None and not isinstance(self.schedule, PruningSchedule):
            fail(
                "Pruner", "schedule", self.schedule, "expected ConstantRate, DecreasingRate or TargetSparsity"
            )
        check_number("Pruner", "every", self.every, low=1, integer=True)
        if self.projections is not None:
            object.__setattr__(self, "projections", tuple(self.projections))
        if self.regrowth is not None and not isinstance(self.regrowth, Regrowth):
            fail("Pruner", "regrowth", self.regrowth, "expected Regrowth(...)")

    @property
    def criteria(self) -> tuple[PruningCriterion, ...]:
        c = self.criterion
        return (c,) if isinstance(c, PruningCriterion) else tuple(c)

    def count(self, step: int, n_initial: int, removed: int) -> int | None:
        """How many synapses pruning step ``step`` (1-based) may remove from a projection that started with
        ``n_initial`` and has lost ``removed`` so far: up to the schedule's cumulative target
        round(n0·F(step)), so a step that found too few candidates is made up later, as gradual pruning
        sets each step's target sparsity (Zhu & Gupta 2017). None: no schedule, every candidate."""
        if self.schedule is None:
            return None
        return max(0, round(n_initial * self.schedule.cumulative(step)) - int(removed))

    @property
    def weak_threshold(self) -> float | None:
        """The threshold of a WeightMagnitude criterion that counts sustained weakness (else None)."""
        for c in self.criteria:
            if isinstance(c, WeightMagnitude) and c.sustain and c.threshold is not None:
                return c.threshold
        return None


# -------------------------------------------------------------------------------------------- history


@dataclass(frozen=True)
class PruningEvent:
    """One pruning (or regrowth) step of one projection: which synapses, where, how strong."""

    step: int
    time: float  # simulated time (s)
    projection: str
    kind: str  # "pruned" or "regrown"
    pre: np.ndarray  # presynaptic neuron indices
    post: np.ndarray  # postsynaptic neuron indices
    pre_position: np.ndarray  # (n, 3) µm
    post_position: np.ndarray  # (n, 3) µm
    weight: np.ndarray  # w at the time of the event
    reason: str = ""  # the criterion (or "regrowth")

    @property
    def count(self) -> int:
        return len(self.pre)

    @property
    def midpoint(self) -> np.ndarray:
        """Where each synapse was: the middle of its pre- and postsynaptic neurons (µm)."""
        return (self.pre_position + self.post_position) / 2


@dataclass
class PruningHistory:
    """Every pruning and regrowth step, in order."""

    events: list[PruningEvent] = field(default_factory=list)

    def record(self, event: PruningEvent) -> None:
        self.events.append(event)

    def select(self, projection: str | None = None, kind: str = "pruned") -> list[PruningEvent]:
        return [
            e for e in self.events if e.kind == kind and (projection is None or e.projection == projection)
        ]

    def counts(self, projection: str | None = None, kind: str = "pruned") -> tuple[np.ndarray, np.ndarray]:
        """Step numbers and the number of synapses removed (or added) at each."""
        ev = self.select(projection, kind)
        return np.array([e.step for e in ev], dtype=int), np.array([e.count for e in ev], dtype=int)

    def positions(self, projection: str | None = None, kind: str = "pruned") -> np.ndarray:
        """Midpoints (µm, shape (n, 3)) of every pruned (or regrown) synapse."""
        ev = self.select(projection, kind)
        return np.concatenate([e.midpoint for e in ev]) if ev else np.zeros((0, 3))

    def total(self, projection: str | None = None, kind: str = "pruned") -> int:
        return int(self.counts(projection, kind)[1].sum())


# ------------------------------------------------------------------------------------ bookkeeping


class SynapseLedger:
    """Per-synapse counters of one projection (penalties, steps spent weak) that follow it through
    compaction and regrowth (new synapses start at 0)."""

    def __init__(self, sim: Simulation, projection: str) -> None:
        self.projection = projection
        n = sim.n_synapses(projection)
        self.penalties = np.zeros(n, dtype=np.int64)
        self.weak_steps = np.zeros(n, dtype=np.int64)
        on_resize(sim, self._on_resize)

    def _on_resize(self, projection: str, kept: np.ndarray, n_added: int) -> None:
        if projection != self.projection:
            return
        for name in ("penalties", "weak_steps"):
            values = getattr(self, name)[kept]
            setattr(self, name, np.concatenate([values, np.zeros(n_added, dtype=values.dtype)]))


def firing_rates(sim: Simulation, population: str, start: Quantity, stop: Quantity) -> np.ndarray | None:
    """Rate of every neuron of ``population`` (Hz) between ``start`` and ``stop``, from its spike
    recording; None when the population's spikes are not recorded."""
    if not sim.recorded("spikes", population):
        return None
    lo, hi = float(start / second), float(stop / second)
    return sim.spike_counts_between(population, start, stop) / max(hi - lo, 1e-12)


def synapse_stats(
    sim: Simulation,
    projection: str,
    *,
    ledger: SynapseLedger | None = None,
    rates: dict[str, np.ndarray | None] | None = None,
    rng: np.random.Generator | None = None,
) -> SynapseStats:
    """The :class:`SynapseStats` of a projection: its weights, a ledger's counters, neuron rates (Hz)."""
    proj = sim.description.projection(projection)
    i, j = sim.connections(projection)
    rates = rates or {}
    pre, post = rates.get(proj.source), rates.get(proj.target)
    return SynapseStats(
        w=sim.weights(projection),
        penalties=None if ledger is None else ledger.penalties,
        weak_steps=None if ledger is None else ledger.weak_steps,
        pre_rate=None if pre is None else np.asarray(pre)[i],
        post_rate=None if post is None else np.asarray(post)[j],
        rng=rng if rng is not None else np.random.default_rng(),
    )


def record_event(
    sim: Simulation, projection: str, indices: np.ndarray, *, step: int, kind: str, reason: str
) -> PruningEvent:
    """A :class:`PruningEvent` for ``indices`` of ``projection`` as they are now."""
    proj = sim.description.projection(projection)
    pre, post = sim.connections(projection)
    i, j = pre[indices], post[indices]
    return PruningEvent(
        step=step,
        time=float(sim.t / second),
        projection=projection,
        kind=kind,
        pre=i,
        post=j,
        pre_position=np.asarray(sim.positions[proj.source])[i],
        post_position=np.asarray(sim.positions[proj.target])[j],
        weight=sim.weights(projection)[indices],
        reason=reason,
    )


def describe(obj: Any) -> str:
    """A criterion (or several) as its class and parameters, for the pruning history."""
    if isinstance(obj, (list, tuple)):
        return " | ".join(describe(o) for o in obj)
    if dataclasses.is_dataclass(obj):
        fields = ", ".join(f"{f.name}={getattr(obj, f.name)!r}" for f in dataclasses.fields(obj))
        return f"{type(obj).__name__}({fields})"
    return type(obj).__name__


def draw_regrowth(
    sim: Simulation,
    projection: str,
    regrowth: Regrowth,
    rng: np.random.Generator | int | None = None,
    *,
    pre_rate: np.ndarray | None = None,
    post_rate: np.ndarray | None = None,
    keep: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The synapses :func:`regrow` would add, without adding them: ``(pre, post, distance_um)``.
    ``keep``: bool mask of the current synapses that stay (the others are about to be pruned and may
    regrow); default all."""
    return draw_synapses(
        sim,
        projection,
        regrowth.per_step,
        rng,
        kernel=regrowth.kernel,
        activity_bias=regrowth.activity_bias,
        pre_rate=pre_rate,
        post_rate=post_rate,
        keep=keep,
    )


def regrow(
    sim: Simulation,
    projection: str,
    regrowth: Regrowth,
    rng: np.random.Generator | int | None = None,
    *,
    pre_rate: np.ndarray | None = None,
    post_rate: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Add up to ``regrowth.per_step`` synapses to ``projection`` where none exist yet; returns their
    ``(pre, post)`` indices. ``pre_rate``/``post_rate`` (Hz per neuron) steer the choice toward active
    neurons; without them every candidate pair drawn from the kernel is equally likely."""
    ai, aj, ad = draw_regrowth(sim, projection, regrowth, rng, pre_rate=pre_rate, post_rate=post_rate)
    if len(ai):
        keep = np.ones(sim.n_synapses(projection), dtype=bool)
        resize_projection(sim, projection, keep, add_i=ai, add_j=aj, add_distance=ad, add_w=regrowth.w_init)
    return ai, aj


__all__ = [
    "Pruner",
    "PruningEvent",
    "PruningHistory",
    "Regrowth",
    "SynapseLedger",
    "describe",
    "draw_regrowth",
    "firing_rates",
    "record_event",
    "regrow",
    "synapse_stats",
]
