"""Pruning criteria: which synapses may go, and in which order, decided on plain arrays.

A **criterion** marks candidates and ranks them (lower score goes first): :class:`WeightMagnitude` (weak
synapses, optionally weak for ``sustain`` consecutive steps), :class:`PenaltyCount` (k penalties from the
controller), :class:`LowActivity` (silent pre and/or post neurons), :class:`RandomDeletion` (control). It
sees a :class:`SynapseStats` of arrays aligned with the synapses, so the same code prunes a spiking network's
projection and a weight matrix (:func:`prune_array`, used for the associative-memory experiment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from brian2 import Hz, Quantity

from ..serialization import Describable
from ..validation import ParameterError, check_choice, check_number, check_quantity, fail


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
    """Synapses between quiet neurons, quietest first; candidates score below ``threshold``. ``side``:
    what is scored, ``"both"`` √(pre rate · post rate), ``"pre"`` the presynaptic rate only (a synapse
    whose source stays silent transmits nothing, however active its target), ``"post"`` the postsynaptic
    rate only."""

    threshold: Quantity | None = None  # rate below which a synapse may go (None: all)
    side: str = "both"  # "both" (geometric mean), "pre" or "post"

    def __post_init__(self) -> None:
        if self.threshold is not None:
            check_quantity("LowActivity", "threshold", self.threshold, Hz, nonnegative=True)
        check_choice("LowActivity", "side", self.side, ("both", "pre", "post"))

    def score(self, stats: SynapseStats) -> np.ndarray:
        sides = ("pre", "post") if self.side == "both" else (self.side,)
        rates = [np.clip(stats.need(f"{s}_rate", "LowActivity"), 0, None) for s in sides]
        return np.prod(rates, axis=0) ** (1 / len(rates))  # the geometric mean of the scored rates

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


__all__ = [
    "LowActivity",
    "PenaltyCount",
    "PruningCriterion",
    "RandomDeletion",
    "SynapseStats",
    "WeightMagnitude",
    "prune_array",
    "select",
]
