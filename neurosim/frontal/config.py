"""The frontal controller's configuration: one frozen, validated record of its arguments.

:class:`ControllerConfig` checks every argument on its own when it is made (errors name parameter, value
and range); :meth:`ControllerConfig.targets` checks it against a simulation (projections, populations,
recordings and consolidation rules that must exist) and says what the controller acts on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import Quantity, ms, second

from ..backend import Simulation, reward_rules
from ..plasticity.reward import RewardModulated
from ..validation import check_choice, check_number, check_quantity, fail
from .assemblies import AssemblyBandit, NeuronSelection
from .criteria import LowActivity
from .pruning import Pruner
from .rewards import CorrectWrong, RewardPolicy, RunningBaseline

#: ``readout(sim, start, stop)``: the output of a trial.
Readout = Callable[[Simulation, Quantity, Quantity], Any]

_OWNER = "FrontalController"


@dataclass(frozen=True)
class ControllerConfig:
    """What a :class:`~neurosim.frontal.controller.FrontalController` does (see its docstring)."""

    projections: tuple[str, ...] | None = None  # tracked and pruned (None: every reward-modulated one)
    policy: RewardPolicy | None = None  # policy(output, target) -> reward (None: CorrectWrong())
    baseline: RunningBaseline | None | str = "running"  # "running": a fresh RunningBaseline; None: raw reward
    scale: float = 1.0  # dopamine per unit of signal
    # after the trial: a delay, or (low, high) for a uniform random one
    reward_delay: Quantity | tuple[Quantity, Quantity] = field(default_factory=lambda: 0 * ms)
    readout: Readout | None = None  # gives the trial's output
    pruner: Pruner | None = None  # what and when to prune
    eligibility_threshold: float = 0.0  # a punished synapse above this eligibility collects a penalty
    selection: NeuronSelection | None = None  # assemblies that may take part
    bandit: AssemblyBandit | None = None  # learns which assembly to select
    consolidate_above: float | None = None  # a signal at least this large switches on protein synthesis
    # (the protein_drive of every consolidation rule: RewardConsolidation, TaggingCapture)
    seed: int = 0  # of the controller's random generator (reward delays, random pruning)
    delay_range: tuple[float, float] = field(init=False)  # reward_delay as (low, high) in seconds

    def __post_init__(self) -> None:
        if self.projections is not None:
            object.__setattr__(self, "projections", tuple(self.projections))
        policy = self.policy if self.policy is not None else CorrectWrong()
        if not callable(policy):
            fail(_OWNER, "policy", policy, "expected a callable policy(output, target) -> float")
        object.__setattr__(self, "policy", policy)
        baseline = self.baseline
        if isinstance(baseline, str):
            check_choice(_OWNER, "baseline", baseline, ("running",))
            baseline = RunningBaseline()
        if baseline is not None and not isinstance(baseline, RunningBaseline):
            fail(_OWNER, "baseline", baseline, "expected RunningBaseline(...) or None")
        object.__setattr__(self, "baseline", baseline)
        object.__setattr__(self, "scale", check_number(_OWNER, "scale", self.scale))
        object.__setattr__(self, "delay_range", _delay_range(self.reward_delay))
        if self.readout is not None and not callable(self.readout):
            fail(_OWNER, "readout", self.readout, "expected a callable readout(sim, start, stop)")
        threshold = check_number(_OWNER, "eligibility_threshold", self.eligibility_threshold, low=0)
        object.__setattr__(self, "eligibility_threshold", threshold)
        if self.pruner is not None and not isinstance(self.pruner, Pruner):
            fail(_OWNER, "pruner", self.pruner, "expected Pruner(...)")
        if self.selection is not None and not isinstance(self.selection, NeuronSelection):
            fail(_OWNER, "selection", self.selection, "expected NeuronSelection(...)")
        if self.bandit is not None:
            if self.selection is None:
                fail(_OWNER, "bandit", self.bandit, "needs a selection=NeuronSelection(...) to choose from")
            if self.bandit.n_arms != len(self.selection.assemblies):
                arms = len(self.selection.assemblies)
                fail(_OWNER, "bandit", f"{self.bandit.n_arms} arms", f"needs one per assembly ({arms})")
        if self.consolidate_above is not None:
            check_number(_OWNER, "consolidate_above", self.consolidate_above)

    def targets(self, sim: Simulation) -> Targets:
        """Check this configuration against ``sim`` and name what the controller acts on there."""
        rules = reward_rules(sim.description)
        known = {p.name for p in sim.description.projections}
        projections = self.projections if self.projections is not None else tuple(rules)
        for name in projections:
            if name not in known:
                fail(_OWNER, "projections", name, f"known projections: {sorted(known)}")
        pruned: tuple[str, ...] = ()
        if self.pruner is not None:
            pruned = self._pruned(sim, projections, known)
        if self.selection is not None:
            assemblies = self.selection.assemblies
            check_population(sim, self.selection.population, [k for a in assemblies for k in a], _OWNER)
        drives: tuple[tuple[str, str], ...] = ()
        if self.consolidate_above is not None:
            drives = protein_drives(sim)
            if not drives:
                fail(
                    _OWNER,
                    "consolidate_above",
                    self.consolidate_above,
                    "it switches on the protein synthesis of a consolidation rule and this network has none: "
                    "add RewardConsolidation() beside RewardModulated() (reward-driven early LTP) or "
                    "TaggingCapture() (calcium-driven early LTP) to a projection",
                )
        return Targets(rules, projections, pruned, drives)

    def _pruned(self, sim: Simulation, projections: tuple[str, ...], known: set[str]) -> tuple[str, ...]:
        pruner = self.pruner
        assert pruner is not None
        targets = pruner.projections if pruner.projections is not None else projections
        if not targets:
            fail(_OWNER, "pruner", pruner, "no projection to prune: give Pruner(projections=...)")
        for name in targets:
            if name not in known:
                fail(_OWNER, "pruner.projections", name, f"known projections: {sorted(known)}")
        if sim.target == "cpp_standalone":
            fail(_OWNER, "pruner", pruner, "pruning needs a runtime target ('numpy' or 'cython')")
        needs_rates = any(isinstance(c, LowActivity) for c in pruner.criteria) or (
            pruner.regrowth is not None and pruner.regrowth.activity_bias > 0
        )
        if needs_rates:
            for name in targets:
                proj = sim.description.projection(name)
                for pop in {proj.source, proj.target}:
                    if not sim.recorded("spikes", pop):
                        fail(_OWNER, "pruner", pruner, f"activity needs a SpikeRecording of '{pop}'")
        return tuple(targets)


@dataclass(frozen=True)
class Targets:
    """What a controller acts on in one simulation (from :meth:`ControllerConfig.targets`)."""

    rules: dict[str, RewardModulated]  # reward-modulated projections and their rules
    projections: tuple[str, ...]  # tracked (penalties)
    pruned: tuple[str, ...]  # pruned by the pruner
    drives: tuple[tuple[str, str], ...]  # (population, protein-drive variable) of consolidation rules


def check_population(sim: Simulation, population: str, neurons: Sequence[int], owner: str) -> None:
    """Check that ``population`` can be biased (it has ``I_ext``) and holds ``neurons``."""
    known = [p.name for p in sim.description.populations]
    if population not in known:
        fail(owner, "population", population, f"known populations: {sorted(known)}")
    if "I_ext" not in sim.variable_names(population):
        fail(owner, "population", population, "has no I_ext (spike sources cannot be biased)")
    idx = np.asarray(neurons, dtype=int).ravel()
    n = sim.description.population(population).n
    if len(idx) and (idx.min() < 0 or idx.max() >= n):
        bad = int(idx.max()) if idx.max() >= n else int(idx.min())
        fail(owner, "neurons", bad, f"'{population}' has neurons 0 … {n - 1}")


def protein_drives(sim: Simulation) -> tuple[tuple[str, str], ...]:
    """``(population, variable)`` of every protein-synthesis switch of a consolidation rule."""
    return tuple(
        (pop.name, var)
        for pop in sim.description.populations
        for var in sim.variable_names(pop.name)
        if var.endswith("_protein_drive")
    )


def _delay_range(delay: Any) -> tuple[float, float]:
    """``reward_delay`` as ``(low, high)`` in seconds (equal for a fixed delay)."""
    if isinstance(delay, tuple):
        if len(delay) != 2:
            fail(_OWNER, "reward_delay", delay, "expected a delay or a (low, high) pair")
        lo = float(check_quantity(_OWNER, "reward_delay", delay[0], second, nonnegative=True) / second)
        hi = float(check_quantity(_OWNER, "reward_delay", delay[1], second, nonnegative=True) / second)
        if hi < lo:
            fail(_OWNER, "reward_delay", delay, "needs low <= high")
        return lo, hi
    d = float(check_quantity(_OWNER, "reward_delay", delay, second, nonnegative=True) / second)
    return d, d


__all__ = ["ControllerConfig", "Readout", "Targets", "check_population", "protein_drives"]
