"""Assemblies of neurons: reading which one answered, selecting which one takes part, learning which to pick.

:class:`SpikeCountReadout` reads a trial's choice as the group of neurons with the highest spike rate;
:class:`NeuronSelection` says which assemblies may take part (a top-down bias through ``I_ext`` on the
selected one, inhibition of the rest); :class:`AssemblyBandit` learns from reward which assembly to select
(epsilon-greedy, or UCB1 after Auer et al. 2002).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import Quantity, mV, volt

from ..backend import Simulation
from ..serialization import Describable
from ..validation import check_choice, check_number, check_quantity, fail


def check_assemblies(owner: str, assemblies: Any, n: int | None = None) -> tuple[tuple[int, ...], ...]:
    """``assemblies`` as a tuple of non-empty tuples of neuron indices (within ``[0, n)`` when given)."""
    try:
        groups = tuple(tuple(int(k) for k in np.atleast_1d(np.asarray(a, dtype=int))) for a in assemblies)
    except (TypeError, ValueError):
        fail(owner, "assemblies", assemblies, "expected a list of neuron index lists")
    if not groups or any(len(g) == 0 for g in groups):
        fail(owner, "assemblies", assemblies, "expected at least one non-empty group of neuron indices")
    if n is not None:
        for g in groups:
            if min(g) < 0 or max(g) >= n:
                bad = max(g) if max(g) >= n else min(g)
                fail(owner, "assemblies", bad, f"neuron indices must lie in [0, {n - 1}]")
    return groups


@dataclass(frozen=True)
class SpikeCountReadout(Describable):
    """Reads the choice of a trial: the index of the group of ``population`` with the highest spike rate
    per neuron in the trial window (−1 when no group fired). Needs a ``SpikeRecording`` of ``population``."""

    population: str
    groups: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", check_assemblies("SpikeCountReadout", self.groups))

    def counts(self, sim: Simulation, start: Quantity, stop: Quantity) -> np.ndarray:
        """Spikes per neuron of each group in the window ``start <= t < stop``."""
        per_neuron = sim.spike_counts_between(self.population, start, stop)
        return np.array([per_neuron[list(g)].sum() / len(g) for g in self.groups])

    def __call__(self, sim: Simulation, start: Quantity, stop: Quantity) -> int:
        c = self.counts(sim, start, stop)
        return int(np.argmax(c)) if c.max() > 0 else -1


@dataclass(frozen=True)
class NeuronSelection(Describable):
    """Which neurons may take part: assemblies of ``population``; the selected one gets ``bias`` through
    ``I_ext``, every other neuron of the population gets ``−inhibition``."""

    population: str
    assemblies: tuple[tuple[int, ...], ...]
    bias: Quantity = 10 * mV  # top-down excitatory drive of the selected assembly (I_ext, volt)
    inhibition: Quantity = 0 * mV  # drive removed from the rest of the population

    def __post_init__(self) -> None:
        owner = "NeuronSelection"
        object.__setattr__(self, "assemblies", check_assemblies(owner, self.assemblies))
        check_quantity(owner, "bias", self.bias, volt)
        check_quantity(owner, "inhibition", self.inhibition, volt, nonnegative=True)


class AssemblyBandit:
    """A multi-armed bandit over assemblies: learns from reward which assembly to select.

    ``strategy="epsilon_greedy"``: the best arm so far, a random one with probability ``epsilon``;
    ``"ucb"``: UCB1, the arm maximising ``value + c·√(ln n / n_arm)`` (Auer et al. 2002). ``step_size``:
    None for sample averages, else a constant (tracks changing rewards).
    """

    def __init__(
        self,
        n_arms: int,
        *,
        strategy: str = "epsilon_greedy",
        epsilon: float = 0.1,
        c: float = 1.0,
        step_size: float | None = None,
        seed: int | None = 0,
    ) -> None:
        owner = "AssemblyBandit"
        self.n_arms = int(check_number(owner, "n_arms", n_arms, low=1, integer=True))
        self.strategy = check_choice(owner, "strategy", strategy, ("epsilon_greedy", "ucb"))
        self.epsilon = check_number(owner, "epsilon", epsilon, low=0, high=1)
        self.c = check_number(owner, "c", c, low=0)
        if step_size is not None:
            check_number(owner, "step_size", step_size, low=0, high=1, low_open=True)
        self.step_size = step_size
        self.rng = np.random.default_rng(seed)
        self.values = np.zeros(self.n_arms)
        self.counts = np.zeros(self.n_arms, dtype=int)

    def choose(self) -> int:
        if self.strategy == "ucb":
            untried = np.flatnonzero(self.counts == 0)
            if len(untried):
                return int(untried[0])
            bonus = self.c * np.sqrt(np.log(self.counts.sum()) / self.counts)
            return int(np.argmax(self.values + bonus))
        if self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.n_arms))
        best = np.flatnonzero(self.values == self.values.max())
        return int(self.rng.choice(best))

    def update(self, arm: int, reward: float) -> None:
        check_number("AssemblyBandit.update", "arm", arm, low=0, high=self.n_arms - 1, integer=True)
        check_number("AssemblyBandit.update", "reward", reward)
        self.counts[arm] += 1
        step = self.step_size if self.step_size is not None else 1.0 / self.counts[arm]
        self.values[arm] += step * (reward - self.values[arm])

    @property
    def best(self) -> int:
        """The arm with the highest estimated value."""
        return int(np.argmax(self.values))


__all__ = ["AssemblyBandit", "NeuronSelection", "SpikeCountReadout", "check_assemblies"]
