"""Structural plasticity: pruning synapses (criteria, schedules, compaction, history) and regrowing them.

Brian2 cannot delete synapses, so pruning here *compacts*: :func:`resize_projection` replaces a projection's
``Synapses`` object by a new one holding only the survivors (plus any regrown synapses), with the same model,
code, namespace and delays, and copies every per-synapse state variable (``w``, each rule's variables,
``lastupdate``), the spikes still travelling along delayed pathways, and the periodic (``regularly``) code.
Pruned synapses then cost neither memory nor time. State monitors of the projection are re-created for the
surviving recorded synapses (the old monitor stays readable in ``sim.monitors`` under ``"<key>#<n>"``).

What to prune is decided in two steps, on plain arrays, so the same code prunes a spiking network and a
weight matrix (:func:`prune_array`, used for the associative-memory experiment):

* a **criterion** marks candidates and ranks them (lower score goes first): :class:`WeightMagnitude`
  (weak synapses, optionally weak for ``sustain`` consecutive steps), :class:`PenaltyCount` (k penalties
  from the controller), :class:`LowActivity` (silent pre/post neurons), :class:`RandomDeletion` (control);
* a **schedule** says how many go at each step: :class:`ConstantRate` (the same number per step),
  :class:`DecreasingRate` (many early, few late: Navlakha, Barth & Bar-Joseph 2015), :class:`TargetSparsity`
  (the cubic ramp of gradual magnitude pruning, Zhu & Gupta 2017). Without a schedule every candidate goes.

Every schedule is a cumulative fraction ``F(s)`` of the *initial* synapses removed after step ``s``; step
``s`` removes ``round(n0·F(s)) − round(n0·F(s−1))`` synapses, so the counts add up exactly.
:class:`PruningHistory` records each step: how many, which synapses, and where (pre/post positions in µm).
:func:`regrow` adds synapses drawn from the projection's own distance kernel, preferring active neurons.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import brian2 as b2
import numpy as np
from brian2 import Hz, Quantity, second

from .connectivity import Kernel, resolve_kernel, sample_connections
from .network import AllToAll, OneToOne
from .serialization import Describable
from .validation import ParameterError, check_number, check_quantity, fail

__all__ = [
    "ConstantRate",
    "DecreasingRate",
    "LowActivity",
    "PenaltyCount",
    "PruningCriterion",
    "PruningEvent",
    "PruningHistory",
    "Pruner",
    "PruningSchedule",
    "RandomDeletion",
    "Regrowth",
    "SynapseLedger",
    "SynapseStats",
    "TargetSparsity",
    "WeightMagnitude",
    "compact",
    "draw_regrowth",
    "firing_rates",
    "prune_array",
    "regrow",
    "resize_projection",
    "select",
    "synapse_stats",
]


# ------------------------------------------------------------------------------------------- criteria


@dataclass
class SynapseStats:
    """What a pruning criterion sees about a set of synapses: arrays aligned with the synapse order."""

    w: np.ndarray  # weights (dimensionless w of a projection, or any weight array)
    penalties: np.ndarray | None = None  # penalties collected (from the controller)
    weak_steps: np.ndarray | None = None  # consecutive steps spent below the weak threshold
    pre_rate: np.ndarray | None = None  # firing rate of each synapse's presynaptic neuron (Hz)
    post_rate: np.ndarray | None = None  # firing rate of each synapse's postsynaptic neuron (Hz)
    rng: np.random.Generator = field(default_factory=np.random.default_rng)

    def __len__(self) -> int:
        return len(self.w)

    def need(self, name: str, who: str) -> np.ndarray:
        value = getattr(self, name)
        if value is None:
            raise ParameterError(f"{who} needs '{name}' for every synapse, but none was given")
        return np.asarray(value)


class PruningCriterion(Describable):
    """Base of pruning criteria: :meth:`candidates` (may be pruned) and :meth:`score` (lower goes first)."""

    def candidates(self, stats: SynapseStats) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

    def score(self, stats: SynapseStats) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract


@dataclass(frozen=True)
class WeightMagnitude(PruningCriterion):
    """Weakest first (|w|). ``threshold``: only synapses with |w| < threshold are candidates (None: all);
    ``sustain``: ... and only after that many consecutive steps below it (needs ``weak_steps``)."""

    threshold: float | None = None  # |w| below which a synapse counts as weak
    sustain: int = 0  # consecutive steps it must stay weak before it may go

    def __post_init__(self) -> None:
        if self.threshold is not None:
            check_number("WeightMagnitude", "threshold", self.threshold, low=0)
        check_number("WeightMagnitude", "sustain", self.sustain, low=0, integer=True)
        if self.sustain and self.threshold is None:
            fail("WeightMagnitude", "sustain", self.sustain, "needs a threshold")

    def candidates(self, stats: SynapseStats) -> np.ndarray:
        if self.threshold is None:
            return np.ones(len(stats), dtype=bool)
        if self.sustain:
            return stats.need("weak_steps", "WeightMagnitude(sustain>0)") >= self.sustain
        return np.abs(stats.w) < self.threshold

    def score(self, stats: SynapseStats) -> np.ndarray:
        return np.abs(np.asarray(stats.w, dtype=float))


@dataclass(frozen=True)
class PenaltyCount(PruningCriterion):
    """Synapses that collected at least ``k`` penalties (punished while eligible); most penalised first."""

    k: int = 3  # penalties that condemn a synapse

    def __post_init__(self) -> None:
        check_number("PenaltyCount", "k", self.k, low=1, integer=True)

    def candidates(self, stats: SynapseStats) -> np.ndarray:
        return stats.need("penalties", "PenaltyCount") >= self.k

    def score(self, stats: SynapseStats) -> np.ndarray:
        return -stats.need("penalties", "PenaltyCount").astype(float)


@dataclass(frozen=True)
class LowActivity(PruningCriterion):
    """Synapses between quiet neurons: score √(pre rate · post rate); candidates below ``threshold``."""

    threshold: Quantity | None = None  # geometric-mean rate below which a synapse may go (None: all)

    def __post_init__(self) -> None:
        if self.threshold is not None:
            check_quantity("LowActivity", "threshold", self.threshold, Hz, nonnegative=True)

    def score(self, stats: SynapseStats) -> np.ndarray:
        pre = stats.need("pre_rate", "LowActivity")
        post = stats.need("post_rate", "LowActivity")
        return np.sqrt(np.clip(pre, 0, None) * np.clip(post, 0, None))

    def candidates(self, stats: SynapseStats) -> np.ndarray:
        if self.threshold is None:
            return np.ones(len(stats), dtype=bool)
        return self.score(stats) < float(self.threshold / Hz)


@dataclass(frozen=True)
class RandomDeletion(PruningCriterion):
    """Every synapse is a candidate, in random order: the control for the other criteria."""

    def candidates(self, stats: SynapseStats) -> np.ndarray:
        return np.ones(len(stats), dtype=bool)

    def score(self, stats: SynapseStats) -> np.ndarray:
        return stats.rng.random(len(stats))


def select(
    criteria: PruningCriterion | Sequence[PruningCriterion], stats: SynapseStats, count: int | None = None
) -> np.ndarray:
    """Indices of the synapses to prune: candidates of any criterion, ordered by the first criterion's
    score (ties keep synapse order), at most ``count`` of them (None: every candidate)."""
    crits = [criteria] if isinstance(criteria, PruningCriterion) else list(criteria)
    if not crits or not all(isinstance(c, PruningCriterion) for c in crits):
        fail("select", "criteria", criteria, "expected a pruning criterion such as WeightMagnitude()")
    mask = np.zeros(len(stats), dtype=bool)
    for c in crits:
        mask |= np.asarray(c.candidates(stats), dtype=bool)
    idx = np.flatnonzero(mask)
    if count is not None:
        check_number("select", "count", count, low=0, integer=True)
        if len(idx) > count:
            order = np.argsort(np.asarray(crits[0].score(stats))[idx], kind="stable")
            idx = np.sort(idx[order[: int(count)]])
    return idx


def prune_array(
    weights: np.ndarray,
    criterion: PruningCriterion,
    fraction: float,
    *,
    rng: np.random.Generator | int | None = None,
    symmetric: bool = False,
) -> np.ndarray:
    """A copy of ``weights`` with ``fraction`` of its nonzero entries set to 0, chosen by ``criterion``.

    ``symmetric``: a square matrix is pruned pairwise (w_ij and w_ji together), as a Hopfield network needs.
    """
    check_number("prune_array", "fraction", fraction, low=0, high=1)
    w = np.array(weights, dtype=float)
    if symmetric:
        if w.ndim != 2 or w.shape[0] != w.shape[1]:
            fail("prune_array", "weights", f"shape {w.shape}", "symmetric pruning needs a square matrix")
        rows, cols = np.triu_indices(w.shape[0], k=1)
    else:
        rows = cols = None
    flat = w[rows, cols] if symmetric else w.ravel()
    live = np.flatnonzero(flat != 0)
    stats = SynapseStats(w=flat[live], rng=np.random.default_rng(rng))
    gone = live[select(criterion, stats, int(round(fraction * len(live))))]
    if symmetric:
        w[rows[gone], cols[gone]] = 0.0
        w[cols[gone], rows[gone]] = 0.0
        return w
    flat = flat.copy()
    flat[gone] = 0.0
    return flat.reshape(w.shape)


# ------------------------------------------------------------------------------------------- schedules


class PruningSchedule(Describable):
    """Base of schedules: :meth:`cumulative` fraction of the initial synapses removed after each step."""

    steps: int

    def cumulative(self, step: int) -> float:
        raise NotImplementedError  # pragma: no cover - abstract

    def count(self, step: int, n_initial: int) -> int:
        """Synapses to remove at ``step`` (1-based) from a projection that started with ``n_initial``."""
        if step < 1:
            return 0
        return max(0, round(n_initial * self.cumulative(step)) - round(n_initial * self.cumulative(step - 1)))

    def counts(self, n_initial: int) -> np.ndarray:
        """The count of every step, 1 … ``steps``."""
        return np.array([self.count(s, n_initial) for s in range(1, self.steps + 1)], dtype=int)

    def _check(self, owner: str, total_name: str) -> None:
        check_number(owner, "steps", self.steps, low=1, integer=True)
        check_number(owner, total_name, getattr(self, total_name), low=0, high=1)


@dataclass(frozen=True)
class ConstantRate(PruningSchedule):
    """The same number each step: ``total`` of the initial synapses over ``steps`` steps."""

    total: float = 0.5  # fraction of the initial synapses removed in all
    steps: int = 10  # number of pruning steps

    def __post_init__(self) -> None:
        self._check("ConstantRate", "total")

    def cumulative(self, step: int) -> float:
        return self.total * min(max(step, 0), self.steps) / self.steps


@dataclass(frozen=True)
class DecreasingRate(PruningSchedule):
    """Geometrically decreasing counts (step s ∝ ``ratio``^(s−1)), ``total`` over ``steps`` steps: the
    developmental schedule of Navlakha, Barth & Bar-Joseph 2015, which builds more efficient and robust
    networks than constant or increasing rates."""

    total: float = 0.5  # fraction of the initial synapses removed in all
    steps: int = 10  # number of pruning steps
    ratio: float = 0.7  # each step removes this fraction of the previous step's count

    def __post_init__(self) -> None:
        self._check("DecreasingRate", "total")
        check_number("DecreasingRate", "ratio", self.ratio, low=0, high=1, low_open=True, high_open=True)

    def cumulative(self, step: int) -> float:
        s = min(max(step, 0), self.steps)
        return self.total * (1 - self.ratio**s) / (1 - self.ratio**self.steps)


@dataclass(frozen=True)
class TargetSparsity(PruningSchedule):
    """Gradual ramp to a ``final`` sparsity: s(k) = final + (initial − final)(1 − k/steps)^exponent
    (Zhu & Gupta 2017 use exponent 3: fast early, gentle late)."""

    final: float = 0.9  # fraction of the initial synapses removed at the end
    steps: int = 10  # number of pruning steps
    initial: float = 0.0  # sparsity at step 0
    exponent: float = 3.0  # shape of the ramp

    def __post_init__(self) -> None:
        self._check("TargetSparsity", "final")
        check_number("TargetSparsity", "initial", self.initial, low=0, high=self.final)
        check_number("TargetSparsity", "exponent", self.exponent, low=0, low_open=True)

    def cumulative(self, step: int) -> float:
        s = min(max(step, 0), self.steps)
        if s == 0:
            return 0.0
        return self.final + (self.initial - self.final) * (1 - s / self.steps) ** self.exponent


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


# -------------------------------------------------------------------------------------- compaction

#: Synapse variables rebuilt by ``connect`` rather than copied.
_STRUCTURAL = frozenset({"i", "j", "N_incoming", "N_outgoing"})


def _state_variables(syn: b2.Synapses) -> tuple[list[str], list[str]]:
    """Names of the per-synapse state variables of ``syn`` (w, rule variables, lastupdate) and of its
    shared (scalar) variables."""
    per_synapse, shared = [], []
    for name, var in syn.variables.items():
        owner = getattr(var, "owner", None)  # a weak proxy: compare by name
        if name.startswith("_") or name in _STRUCTURAL or owner is None or owner.name != syn.name:
            continue
        if isinstance(var, b2.core.variables.DynamicArrayVariable) and var.size == len(syn):
            per_synapse.append(name)
        elif isinstance(var, b2.core.variables.ArrayVariable) and var.scalar and not var.read_only:
            shared.append(name)
    return per_synapse, shared


def _listeners(sim: Any) -> list[Callable[[str, np.ndarray, int], None]]:
    return sim.__dict__.setdefault("_resize_listeners", [])


def on_resize(sim: Any, listener: Callable[[str, np.ndarray, int], None]) -> None:
    """Call ``listener(projection, kept_old_indices, n_added)`` after every resize of a projection of ``sim``
    (to keep per-synapse bookkeeping aligned with the synapses)."""
    _listeners(sim).append(listener)


def resize_projection(
    sim: Any,
    projection: str,
    keep: np.ndarray,
    *,
    add_i: np.ndarray | None = None,
    add_j: np.ndarray | None = None,
    add_distance: np.ndarray | None = None,
    add_w: float | str | None = None,
) -> np.ndarray:
    """Replace ``projection``'s synapses by the survivors ``keep`` (a bool mask or index array over the
    current synapses), plus new synapses ``add_i → add_j`` (distances in µm give their delays).

    Survivors keep every state variable, their delays and their spikes in flight; new synapses start from
    the projection's initial values with ``w = add_w`` (default: the projection's ``w_init``). Returns the old
    indices of the survivors, in their new order (the new synapses follow them).
    """
    owner = f"resize_projection('{projection}')"
    if projection not in sim.synapses:
        fail(owner, "projection", projection, f"known projections: {sorted(sim.synapses)}")
    if sim.target == "cpp_standalone":
        raise ParameterError(
            f"{owner}: pruning needs a runtime target ('numpy' or 'cython'), not cpp_standalone"
        )
    old = sim.synapses[projection]
    n_old = len(old)
    kept = _as_index(owner, keep, n_old)
    add_i = np.zeros(0, dtype=np.int32) if add_i is None else np.asarray(add_i, dtype=np.int32)
    add_j = np.zeros(0, dtype=np.int32) if add_j is None else np.asarray(add_j, dtype=np.int32)
    if len(add_i) != len(add_j):
        fail(owner, "add_j", f"{len(add_j)} indices", f"needs as many as add_i ({len(add_i)})")
    n_keep, n_add = len(kept), len(add_i)
    proj = sim.description.projection(projection)
    comp = sim.composed[projection]

    pathways = list(old._pathways)
    on_pre = {p.objname: p.code for p in pathways if p.prepost == "pre"}
    on_post = {p.objname: p.code for p in pathways if p.prepost == "post"}
    scalar_delays = {  # pathways with one delay for all synapses (e.g. a zero-delay emission pathway)
        p.objname: float(np.asarray(p.variables["delay"].get_value()).ravel()[0]) * second
        for p in pathways
        if p.variables["delay"].scalar
    }
    new = b2.Synapses(
        old.source,
        old.target,
        model=comp.model,
        on_pre=on_pre,
        on_post=on_post or None,
        namespace=old.namespace,
        delay=scalar_delays or None,
        name=old.name,  # the same name generates the same code: compiled (cython) code is reused
    )
    i_all = np.concatenate([np.asarray(old.i[:], dtype=np.int32)[kept], add_i])
    j_all = np.concatenate([np.asarray(old.j[:], dtype=np.int32)[kept], add_j])
    if len(i_all):
        new.connect(i=i_all, j=j_all)
    else:  # Brian2 cannot connect empty index arrays
        new.connect(False)

    if add_distance is None:
        add_distance = np.zeros(n_add)
    add_delay = proj.delay.delays_ms(np.asarray(add_distance, dtype=float)) * 1e-3 if n_add else np.zeros(0)
    for p in pathways:
        if p.objname in scalar_delays:
            continue
        old_delay = np.asarray(p.variables["delay"].get_value())
        # a rule's extra pathway lags the conduction delay by a fixed amount (see plasticity.base)
        extra = getattr(comp, "pathways", {}).get(p.objname, ("", 0 * second))[1] if p.prepost == "pre" else 0
        if len(old_delay) == n_old:
            values = np.concatenate([old_delay[kept], add_delay + float(extra / second if extra else 0.0)])
        else:  # a scalar delay
            values = np.full(n_keep + n_add, float(old_delay[0]) if len(old_delay) else 0.0)
        getattr(new, p.objname).variables["delay"].set_value(values)

    variables, shared = _state_variables(old)
    for name in shared:
        new.variables[name].set_value(old.variables[name].get_value())
    t_now = float(sim.t / second)
    for name in variables:
        values = np.asarray(old.variables[name].get_value())[kept]
        if n_add:
            fill = t_now if name == "lastupdate" else 0.0
            values = np.concatenate([values, np.full(n_add, fill, dtype=values.dtype)])
        new.variables[name].set_value(values)
    if n_add:
        fresh = slice(n_keep, n_keep + n_add)
        if comp.weight_is_state:
            new.w[fresh] = proj.w_init if add_w is None else add_w
        for var, value in comp.initial.items():
            getattr(new, var)[fresh] = value

    _move_spikes(pathways, new, kept, n_old)
    for runner in old.contained_objects:  # rules' periodic code (RuleCode.regularly)
        if isinstance(runner, b2.CodeRunner) and "run_regularly" in runner.name:
            new.run_regularly(
                runner.abstract_code,
                dt=runner.clock.dt,
                when=runner.when,
                order=runner.order,
                name=runner.name,
            )

    sim.network.remove(old)
    # Brian2's run_regularly also lists a Synapses among its source group's contained objects (meant for
    # subgroups): take the old one out there too, else the network would still run it.
    holders = [old.source, *[g for g in sim.groups.values() if old in g.contained_objects]]
    for holder in holders:
        while any(o is old for o in holder.contained_objects):
            holder.contained_objects.remove(old)
    sim.network.add(new)
    new._network = sim.network.id  # it is in the network (what Brian2 notes at the next run; silences a
    # warning should it be replaced again before running)
    sim.synapses[projection] = new
    add_d = np.asarray(add_distance, dtype=float) if n_add else np.zeros(0)
    sim.distances[projection] = np.concatenate([np.asarray(sim.distances[projection])[kept], add_d])
    _replace_monitors(sim, old, new, kept, n_old)
    for listener in list(_listeners(sim)):
        listener(projection, kept, n_add)
    return kept


def compact(sim: Any, projection: str, keep: np.ndarray) -> np.ndarray:
    """Remove every synapse of ``projection`` not in ``keep`` (bool mask or indices), keeping the survivors'
    state exactly (see :func:`resize_projection`). Returns the old indices of the survivors."""
    return resize_projection(sim, projection, keep)


def _as_index(owner: str, keep: Any, n: int) -> np.ndarray:
    keep = np.asarray(keep)
    if keep.dtype == bool:
        if keep.shape != (n,):
            fail(owner, "keep", f"bool mask of shape {keep.shape}", f"needs one entry per synapse ({n})")
        return np.flatnonzero(keep)
    idx = np.asarray(keep, dtype=np.int64).ravel()
    if len(idx) and (idx.min() < 0 or idx.max() >= n):
        fail(owner, "keep", f"indices up to {idx.max()}", f"synapse indices must lie in [0, {n - 1}]")
    if len(np.unique(idx)) != len(idx):
        fail(owner, "keep", "repeated indices", "each synapse may be kept once")
    return np.sort(idx)


def _move_spikes(pathways: list[Any], new: b2.Synapses, kept: np.ndarray, n_old: int) -> None:
    """Carry the spikes still in flight on each pathway over to the new synapse indices."""
    remap = np.full(max(n_old, 1), -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    for p in pathways:
        queue = getattr(p, "queue", None)
        if queue is None:
            continue
        state = queue._full_state()
        target = getattr(new, p.objname).queue
        if len(state) == 2:  # C++ queue: (offset, [synapse indices per future step])
            offset, lists = state
            moved = []
            for entries in lists:
                idx = (
                    remap[np.asarray(entries, dtype=np.int64)]
                    if len(entries)
                    else np.zeros(0, dtype=np.int64)
                )
                moved.append([int(k) for k in idx[idx >= 0]])
            target._restore_from_full_state((offset, moved))
        else:  # Python queue: (dt, [[steps ahead, synapse]], shape)
            dt, spikes, shape = state
            spikes = np.asarray(spikes, dtype=int).reshape(-1, 2)
            idx = remap[spikes[:, 1]] if len(spikes) else np.zeros(0, dtype=int)
            spikes = np.column_stack([spikes[:, 0], idx])[idx >= 0] if len(spikes) else spikes
            target._restore_from_full_state((dt, spikes, shape))


def _replace_monitors(sim: Any, old: b2.Synapses, new: b2.Synapses, kept: np.ndarray, n_old: int) -> None:
    remap = np.full(max(n_old, 1), -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    for key, mon in list(sim.monitors.items()):
        if getattr(mon, "source", None) is not old:
            continue
        record = np.asarray(mon.record)
        if record.dtype == bool:
            rec: Any = bool(record)
        else:
            mapped = remap[record[record < n_old]]
            rec = [int(k) for k in mapped[mapped >= 0]]
        sim.network.remove(mon)
        replacement = b2.StateMonitor(
            new, list(mon.record_variables), record=rec, dt=mon.clock.dt, name=mon.name
        )
        sim.network.add(replacement)
        n = 1 + sum(1 for k in sim.monitors if k.startswith(key + "#"))
        sim.monitors[f"{key}#{n}"] = mon
        sim.monitors[key] = replacement


# ------------------------------------------------------------------------------------------- regrowth


def regrow(
    sim: Any,
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
        resize_projection(
            sim,
            projection,
            np.ones(len(sim.synapses[projection]), dtype=bool),
            add_i=ai,
            add_j=aj,
            add_distance=ad,
            add_w=regrowth.w_init,
        )
    return ai, aj


def draw_regrowth(
    sim: Any,
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
    owner = f"regrow('{projection}')"
    rng = np.random.default_rng(rng)
    proj = sim.description.projection(projection)
    src, tgt = sim.description.population(proj.source), sim.description.population(proj.target)
    ps, pt = sim.positions[proj.source], sim.positions[proj.target]
    same = proj.source == proj.target
    kernel = regrowth.kernel if regrowth.kernel is not None else proj.connectivity
    box = tgt.placement.bounds() if proj.periodic else None
    syn = sim.synapses[projection]
    existing = np.asarray(syn.i[:], dtype=np.int64) * tgt.n + np.asarray(syn.j[:], dtype=np.int64)
    if keep is not None:
        existing = existing[np.asarray(keep, dtype=bool)]
    if isinstance(kernel, Kernel):
        if not kernel.resolved:
            kernel = resolve_kernel(kernel, ps, pt, box, proj.autapses or not same)
        # Draw from the kernel until there are enough free pairs (several draws: a pair drawn twice counts
        # once, which slightly favours low-probability pairs when p(d) is close to 1).
        pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        seen = existing
        for _ in range(20):
            di, dj, dd = sample_connections(
                ps, pt, kernel, rng, periodic_box=box, autapses=proj.autapses, same_population=same
            )
            keys = np.asarray(di, dtype=np.int64) * tgt.n + dj
            fresh = ~np.isin(keys, seen)
            pieces.append((di[fresh], dj[fresh], dd[fresh]))
            seen = np.concatenate([seen, keys[fresh]])
            if sum(len(p[0]) for p in pieces) >= 4 * regrowth.per_step or not fresh.any():
                break
        ci, cj, cd = (np.concatenate([p[k] for p in pieces]) for k in range(3))
    elif isinstance(kernel, (AllToAll, OneToOne)):
        if isinstance(kernel, OneToOne):
            ci = cj = np.arange(src.n)
        else:
            ci, cj = (a.ravel() for a in np.meshgrid(np.arange(src.n), np.arange(tgt.n), indexing="ij"))
            if same and not proj.autapses:
                ci, cj = ci[ci != cj], cj[ci != cj]
        cd = np.linalg.norm(ps[ci] - pt[cj], axis=1)
        free = ~np.isin(np.asarray(ci, dtype=np.int64) * tgt.n + cj, existing)
        ci, cj, cd = ci[free], cj[free], cd[free]
    else:
        fail(owner, "kernel", kernel, "regrowth needs a distance kernel (give Regrowth(kernel=...))")
    n = min(regrowth.per_step, len(ci))
    if n == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0)
    p = None
    if regrowth.activity_bias > 0 and pre_rate is not None and post_rate is not None:
        pre_rate, post_rate = np.asarray(pre_rate, dtype=float), np.asarray(post_rate, dtype=float)
        r0 = 0.01 * max(float(np.mean(pre_rate)), float(np.mean(post_rate)), 1e-3)
        weight = ((pre_rate[ci] + r0) * (post_rate[cj] + r0)) ** regrowth.activity_bias
        p = weight / weight.sum()
    chosen = np.sort(rng.choice(len(ci), size=n, replace=False, p=p))
    return ci[chosen].astype(np.int32), cj[chosen].astype(np.int32), np.asarray(cd, dtype=float)[chosen]


# ------------------------------------------------------------------------------------ bookkeeping


class SynapseLedger:
    """Per-synapse counters of one projection (penalties, steps spent weak) that follow it through
    compaction and regrowth (new synapses start at 0)."""

    def __init__(self, sim: Any, projection: str) -> None:
        self.projection = projection
        n = len(sim.synapses[projection])
        self.penalties = np.zeros(n, dtype=np.int64)
        self.weak_steps = np.zeros(n, dtype=np.int64)
        on_resize(sim, self._on_resize)

    def _on_resize(self, projection: str, kept: np.ndarray, n_added: int) -> None:
        if projection != self.projection:
            return
        for name in ("penalties", "weak_steps"):
            values = getattr(self, name)[kept]
            setattr(self, name, np.concatenate([values, np.zeros(n_added, dtype=values.dtype)]))


def firing_rates(sim: Any, population: str, start: Quantity, stop: Quantity) -> np.ndarray | None:
    """Rate of every neuron of ``population`` (Hz) between ``start`` and ``stop``, from its spike
    recording; None when the population's spikes are not recorded."""
    if f"spikes:{population}" not in sim.monitors:
        return None
    n = sim.description.population(population).n
    i, t = sim.spikes(population)
    t = np.asarray(t / second)
    lo, hi = float(start / second), float(stop / second)
    inside = (t >= lo) & (t < hi)
    return np.bincount(i[inside], minlength=n) / max(hi - lo, 1e-12)


def synapse_stats(
    sim: Any,
    projection: str,
    *,
    ledger: SynapseLedger | None = None,
    rates: dict[str, np.ndarray | None] | None = None,
    rng: np.random.Generator | None = None,
) -> SynapseStats:
    """The :class:`SynapseStats` of a projection: its weights, a ledger's counters, neuron rates (Hz)."""
    syn = sim.synapses[projection]
    proj = sim.description.projection(projection)
    i, j = np.asarray(syn.i[:]), np.asarray(syn.j[:])
    rates = rates or {}
    pre, post = rates.get(proj.source), rates.get(proj.target)
    return SynapseStats(
        w=np.asarray(syn.w[:]),
        penalties=None if ledger is None else ledger.penalties,
        weak_steps=None if ledger is None else ledger.weak_steps,
        pre_rate=None if pre is None else np.asarray(pre)[i],
        post_rate=None if post is None else np.asarray(post)[j],
        rng=rng if rng is not None else np.random.default_rng(),
    )


def record_event(
    sim: Any, projection: str, indices: np.ndarray, *, step: int, kind: str, reason: str
) -> PruningEvent:
    """A :class:`PruningEvent` for ``indices`` of ``projection`` as they are now."""
    syn = sim.synapses[projection]
    proj = sim.description.projection(projection)
    i = np.asarray(syn.i[:])[indices]
    j = np.asarray(syn.j[:])[indices]
    return PruningEvent(
        step=step,
        time=float(sim.t / second),
        projection=projection,
        kind=kind,
        pre=i,
        post=j,
        pre_position=np.asarray(sim.positions[proj.source])[i],
        post_position=np.asarray(sim.positions[proj.target])[j],
        weight=np.asarray(syn.w[:])[indices],
        reason=reason,
    )


def _name(obj: Any) -> str:
    if isinstance(obj, (list, tuple)):
        return " | ".join(_name(o) for o in obj)
    if dataclasses.is_dataclass(obj):
        fields = ", ".join(f"{f.name}={getattr(obj, f.name)!r}" for f in dataclasses.fields(obj))
        return f"{type(obj).__name__}({fields})"
    return type(obj).__name__
