"""The frontal controller: judges each trial, sends reward or punishment, prunes, and selects neurons.

Like the frontal lobe, :class:`FrontalController` sets the goal of a trial and judges its outcome. Each
:meth:`FrontalController.trial`:

1. (optionally) selects which neurons take part: a top-down excitatory bias through the neurons' ``I_ext``
   on one assembly and/or inhibition of the rest, chosen by the user or learned by an :class:`AssemblyBandit`;
2. runs the network for the trial (generated code only: nothing per time step happens in Python);
3. reads the outcome (``readout(sim, start, stop)``, e.g. :class:`SpikeCountReadout`) and computes the
   reward with the ``policy`` (any callable ``policy(output, target) -> float``; default
   :class:`CorrectWrong`, +1 correct / −1 wrong);
4. subtracts a running baseline per context (:class:`RunningBaseline`): the third factor is the
   reward-prediction error (Frémaux & Gerstner 2016), and delivers it as dopamine to every reward-modulated
   projection (:class:`~neurosim.plasticity.reward.RewardModulated`) ``reward_delay`` after the trial (a fixed
   delay or a random one in a range, as Izhikevich 2007's 1–3 s): the rule's generated code applies it;
5. counts a *penalty* for every synapse that a punishment weakens (eligibility above
   ``eligibility_threshold`` when a negative signal is sent), tracks how long synapses stay weak, and every
   ``pruner.every`` trials prunes (and compacts) the synapses its criteria flag, at the rate its schedule
   sets, then optionally regrows synapses (:mod:`neurosim.pruning`);
6. optionally makes rewarded memories last: a signal ≥ ``consolidate_above`` switches on protein synthesis
   (``<name>_protein_drive`` of the synaptic tagging-and-capture rule,
   :class:`~neurosim.plasticity.consolidation.TaggingCapture`) for the next trial, turning tagged early LTP
   into late LTP; unrewarded early changes fade.

All controller work happens between runs, once per trial, with vectorised numpy over synapses.

Saving: ``neurosim.state.save(sim, path, controller=ctrl)`` stores what the controller has learned and
counted with the network (:meth:`FrontalController.state`); after ``sim = load(path)``, construct the
controller again with the same arguments and call :meth:`FrontalController.restore` ``(path)``: the trials
then continue exactly as without the interruption. The arguments (policy, readout: any callables) are code,
not state, and are not stored.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import Quantity, ms, mV, second, volt

from .plasticity.reward import DopamineSignal, _reward_rules, eligibility
from .pruning import (
    LowActivity,
    Pruner,
    PruningEvent,
    PruningHistory,
    SynapseLedger,
    _name,
    draw_regrowth,
    firing_rates,
    record_event,
    resize_projection,
    select,
    synapse_stats,
)
from .serialization import Describable
from .state import read_controller_state
from .validation import ParameterError, check_choice, check_number, check_quantity, fail

__all__ = [
    "AssemblyBandit",
    "CorrectWrong",
    "FrontalController",
    "NeuronSelection",
    "RunningBaseline",
    "SpikeCountReadout",
    "TrialResult",
]

RewardPolicy = Callable[[Any, Any], float]


# ---------------------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class CorrectWrong(Describable):
    """The default reward policy: ``correct`` when the output equals the target, else ``wrong``."""

    correct: float = 1.0
    wrong: float = -1.0

    def __post_init__(self) -> None:
        check_number("CorrectWrong", "correct", self.correct)
        check_number("CorrectWrong", "wrong", self.wrong)

    def __call__(self, output: Any, target: Any) -> float:
        return self.correct if np.array_equal(np.asarray(output), np.asarray(target)) else self.wrong


class RunningBaseline:
    """Running mean of the reward per context; :meth:`update` returns the reward-prediction error.

    ``b ← b + alpha·(r − b)`` after each trial; the signal sent is ``r − b`` (with ``b`` from before the
    trial), so a reward that is always the same stops teaching (Frémaux & Gerstner 2016).
    """

    def __init__(self, alpha: float = 0.1, initial: float = 0.0) -> None:
        self.alpha = check_number("RunningBaseline", "alpha", alpha, low=0, high=1, low_open=True)
        self.initial = check_number("RunningBaseline", "initial", initial)
        self.values: dict[Any, float] = {}

    def value(self, context: Any = None) -> float:
        return self.values.get(context, self.initial)

    def update(self, reward: float, context: Any = None) -> float:
        b = self.value(context)
        self.values[context] = b + self.alpha * (reward - b)
        return reward - b


# ----------------------------------------------------------------------------------------- readout


def _assemblies(owner: str, assemblies: Any, n: int | None = None) -> tuple[tuple[int, ...], ...]:
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
        object.__setattr__(self, "groups", _assemblies("SpikeCountReadout", self.groups))

    def counts(self, sim: Any, start: Quantity, stop: Quantity) -> np.ndarray:
        i, t = sim.spikes(self.population)
        t = np.asarray(t / second)
        inside = (t >= float(start / second)) & (t < float(stop / second))
        n = sim.description.population(self.population).n
        per_neuron = np.bincount(i[inside], minlength=n)
        return np.array([per_neuron[list(g)].sum() / len(g) for g in self.groups])

    def __call__(self, sim: Any, start: Quantity, stop: Quantity) -> int:
        c = self.counts(sim, start, stop)
        return int(np.argmax(c)) if c.max() > 0 else -1


# ------------------------------------------------------------------------------------ selection


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
        object.__setattr__(self, "assemblies", _assemblies(owner, self.assemblies))
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


# -------------------------------------------------------------------------------------------- trials


@dataclass(frozen=True)
class TrialResult:
    """What happened in one trial."""

    index: int
    start: float  # s
    stop: float  # s
    output: Any
    target: Any
    reward: float  # the policy's reward
    signal: float  # what was sent: reward − baseline (the reward-prediction error), times scale
    delivered_at: float | None  # s (None: no reward-modulated projection)
    selected: int | None  # assembly selected for the trial
    pruned: int = 0
    regrown: int = 0


@dataclass
class _ProjectionState:
    ledger: SynapseLedger
    n_initial: int
    steps: int = 0


class FrontalController:
    """Sets the goal of each trial, judges its outcome and sends reward or punishment (see module doc).

    ``projections``: the projections whose synapses it tracks and prunes (default: every reward-modulated
    projection). ``policy``: ``policy(output, target) -> float``. ``baseline``: a :class:`RunningBaseline`
    (default) or None (send the raw reward). ``scale``: dopamine per unit of signal. ``reward_delay``: a delay
    after the trial, or ``(low, high)`` for a uniform random delay. ``readout``: ``readout(sim, start, stop)``
    gives the trial's output. ``pruner``: what and when to prune. ``selection`` + ``bandit``: neuron
    selection (a fixed assembly per trial via ``trial(..., select=k)``, or learned by the bandit).
    ``consolidate_above``: a signal at least this large switches on protein synthesis for the next trial.
    """

    def __init__(
        self,
        sim: Any,
        *,
        projections: Sequence[str] | None = None,
        policy: RewardPolicy | None = None,
        baseline: RunningBaseline | None | str = "running",
        scale: float = 1.0,
        reward_delay: Quantity | tuple[Quantity, Quantity] = 0 * ms,
        readout: Callable[[Any, Quantity, Quantity], Any] | None = None,
        pruner: Pruner | None = None,
        eligibility_threshold: float = 0.0,
        selection: NeuronSelection | None = None,
        bandit: AssemblyBandit | None = None,
        consolidate_above: float | None = None,
        seed: int = 0,
    ) -> None:
        owner = "FrontalController"
        self.sim = sim
        self.rules = _reward_rules(sim)
        known = set(sim.synapses)
        if projections is None:
            projections = list(self.rules)
        self.projections = tuple(projections)
        for name in self.projections:
            if name not in known:
                fail(owner, "projections", name, f"known projections: {sorted(known)}")
        self.policy = policy if policy is not None else CorrectWrong()
        if not callable(self.policy):
            fail(owner, "policy", self.policy, "expected a callable policy(output, target) -> float")
        if isinstance(baseline, str):
            check_choice(owner, "baseline", baseline, ("running",))
            baseline = RunningBaseline()
        if baseline is not None and not isinstance(baseline, RunningBaseline):
            fail(owner, "baseline", baseline, "expected RunningBaseline(...) or None")
        self.baseline = baseline
        self.scale = check_number(owner, "scale", scale)
        self.reward_delay = self._check_delay(reward_delay)
        if readout is not None and not callable(readout):
            fail(owner, "readout", readout, "expected a callable readout(sim, start, stop)")
        self.readout = readout
        self.eligibility_threshold = check_number(
            owner, "eligibility_threshold", eligibility_threshold, low=0
        )
        self.pruner = pruner
        if pruner is not None:
            if not isinstance(pruner, Pruner):
                fail(owner, "pruner", pruner, "expected Pruner(...)")
            targets = pruner.projections if pruner.projections is not None else self.projections
            if not targets:
                fail(owner, "pruner", pruner, "no projection to prune: give Pruner(projections=...)")
            for name in targets:
                if name not in known:
                    fail(owner, "pruner.projections", name, f"known projections: {sorted(known)}")
            if sim.target == "cpp_standalone":
                fail(owner, "pruner", pruner, "pruning needs a runtime target ('numpy' or 'cython')")
            needs_rates = any(isinstance(c, LowActivity) for c in pruner.criteria) or (
                pruner.regrowth is not None and pruner.regrowth.activity_bias > 0
            )
            if needs_rates:
                for name in targets:
                    proj = sim.description.projection(name)
                    for pop in {proj.source, proj.target}:
                        if f"spikes:{pop}" not in sim.monitors:
                            fail(owner, "pruner", pruner, f"activity needs a SpikeRecording of '{pop}'")
            self.prune_projections = tuple(targets)
        else:
            self.prune_projections = ()
        self._state = {
            name: _ProjectionState(SynapseLedger(sim, name), len(sim.synapses[name]))
            for name in dict.fromkeys(self.projections + self.prune_projections)
        }
        self.selection = selection
        self.bandit = bandit
        if selection is not None:
            if not isinstance(selection, NeuronSelection):
                fail(owner, "selection", selection, "expected NeuronSelection(...)")
            self._check_population(selection.population, [k for a in selection.assemblies for k in a])
        if bandit is not None:
            if selection is None:
                fail(owner, "bandit", bandit, "needs a selection=NeuronSelection(...) to choose from")
            if bandit.n_arms != len(selection.assemblies):
                fail(
                    owner,
                    "bandit",
                    f"{bandit.n_arms} arms",
                    f"needs one per assembly ({len(selection.assemblies)})",
                )
        self._drives = self._protein_drives() if consolidate_above is not None else []
        if consolidate_above is not None:
            check_number(owner, "consolidate_above", consolidate_above)
            if not self._drives:
                fail(
                    owner,
                    "consolidate_above",
                    consolidate_above,
                    "no population has a consolidation rule (TaggingCapture) with a protein drive",
                )
        self.consolidate_above = consolidate_above
        self.rng = np.random.default_rng(seed)
        self.history = PruningHistory()
        self.trials: list[TrialResult] = []
        self._window_start: Quantity | None = None  # start of the trials since the last pruning step

    # -- saving and continuing -------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """A snapshot of what the controller has learned and counted: per-projection ledgers (penalties,
        steps spent weak, pruning steps, initial size), the baseline per context, the bandit's estimates, the
        random generators, the pruning history, the trials so far and the open activity window."""
        return {
            "projections": {
                name: {
                    "penalties": st.ledger.penalties.copy(),
                    "weak_steps": st.ledger.weak_steps.copy(),
                    "n_initial": st.n_initial,
                    "steps": st.steps,
                }
                for name, st in self._state.items()
            },
            "baseline": None if self.baseline is None else list(self.baseline.values.items()),
            "bandit": None
            if self.bandit is None
            else {
                "values": self.bandit.values.copy(),
                "counts": self.bandit.counts.copy(),
                "rng": self.bandit.rng.bit_generator.state,
            },
            "rng": self.rng.bit_generator.state,
            "history": [_fields(e) for e in self.history.events],
            "trials": [_fields(t) for t in self.trials],
            "window_start": None if self._window_start is None else float(self._window_start / second),
        }

    def restore(self, source: str | Path | dict[str, Any]) -> None:
        """Continue from a saved state: a file written by ``neurosim.state.save(sim, path, controller=...)``
        or a dict from :meth:`state`. The controller must have the same projections, baseline and bandit
        as the saved one (checked, with the difference named)."""
        owner = "FrontalController.restore"
        if not isinstance(source, dict):
            source = read_controller_state(source)
        saved = source["projections"]
        if set(saved) != set(self._state):
            fail(owner, "projections", sorted(saved), f"this controller tracks {sorted(self._state)}")
        if (source["baseline"] is None) != (self.baseline is None):
            saved_baseline = "a saved baseline" if source["baseline"] is not None else "no saved baseline"
            fail(owner, "baseline", saved_baseline, f"this controller has {self.baseline!r}")
        bandit = source["bandit"]
        if (bandit is None) != (self.bandit is None) or (
            bandit is not None and len(bandit["values"]) != self.bandit.n_arms
        ):
            arms = None if bandit is None else len(bandit["values"])
            fail(owner, "bandit", f"{arms} arms", f"this controller has {self.bandit!r}")
        for name in self._state:  # everything checked before anything changes
            n, n_saved = len(self.sim.synapses[name]), len(saved[name]["penalties"])
            if n_saved != n:
                fail(owner, "projections", name, f"saved for {n_saved} synapses, has {n}")
        for name, st in self._state.items():
            st.ledger.penalties = np.asarray(saved[name]["penalties"], dtype=np.int64).copy()
            st.ledger.weak_steps = np.asarray(saved[name]["weak_steps"], dtype=np.int64).copy()
            st.n_initial, st.steps = int(saved[name]["n_initial"]), int(saved[name]["steps"])
        if self.baseline is not None:
            self.baseline.values = {_key(k): float(v) for k, v in source["baseline"]}
        if self.bandit is not None:
            self.bandit.values = np.asarray(bandit["values"], dtype=float).copy()
            self.bandit.counts = np.asarray(bandit["counts"], dtype=int).copy()
            self.bandit.rng.bit_generator.state = bandit["rng"]
        self.rng.bit_generator.state = source["rng"]
        self.history = PruningHistory([PruningEvent(**e) for e in source["history"]])
        self.trials = [TrialResult(**t) for t in source["trials"]]
        start = source["window_start"]
        self._window_start = None if start is None else start * second

    # -- validation helpers ----------------------------------------------------------------------------------
    def _check_delay(self, delay: Any) -> tuple[float, float]:
        owner = "FrontalController"
        if isinstance(delay, tuple):
            if len(delay) != 2:
                fail(owner, "reward_delay", delay, "expected a delay or a (low, high) pair")
            lo = float(check_quantity(owner, "reward_delay", delay[0], second, nonnegative=True) / second)
            hi = float(check_quantity(owner, "reward_delay", delay[1], second, nonnegative=True) / second)
            if hi < lo:
                fail(owner, "reward_delay", delay, "needs low <= high")
            return lo, hi
        d = float(check_quantity(owner, "reward_delay", delay, second, nonnegative=True) / second)
        return d, d

    def _check_population(self, population: str, neurons: Sequence[int]) -> Any:
        owner = "FrontalController"
        if population not in self.sim.groups:
            fail(owner, "population", population, f"known populations: {sorted(self.sim.groups)}")
        group = self.sim.groups[population]
        if "I_ext" not in group.variables:
            fail(owner, "population", population, "has no I_ext (spike sources cannot be biased)")
        idx = np.asarray(neurons, dtype=int).ravel()
        n = len(group)
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            bad = int(idx.max()) if idx.max() >= n else int(idx.min())
            fail(owner, "neurons", bad, f"'{population}' has neurons 0 … {n - 1}")
        return group

    def _protein_drives(self) -> list[tuple[str, str]]:
        out = []
        for pop, group in self.sim.groups.items():
            for var in group.variables:
                if var.endswith("_protein_drive"):
                    out.append((pop, var))
        return out

    # -- neuron selection ------------------------------------------------------------------------------------
    def select(
        self,
        population: str,
        neurons: Sequence[int],
        *,
        bias: Quantity = 10 * mV,
        inhibition: Quantity = 0 * mV,
    ) -> None:
        """Top-down bias: ``I_ext = bias`` on ``neurons`` of ``population``, ``−inhibition`` on the rest."""
        check_quantity("FrontalController.select", "bias", bias, volt)
        check_quantity("FrontalController.select", "inhibition", inhibition, volt, nonnegative=True)
        group = self._check_population(population, neurons)
        values = np.full(len(group), -float(inhibition / volt))
        values[np.asarray(neurons, dtype=int)] = float(bias / volt)
        group.I_ext = values * volt

    def clear_selection(self, population: str) -> None:
        """Remove every top-down bias from ``population``."""
        group = self._check_population(population, [])
        group.I_ext = 0 * volt

    def _apply_selection(self, arm: int | None) -> int | None:
        sel = self.selection
        if sel is None:
            if arm is not None:
                fail("FrontalController.trial", "select", arm, "needs a selection=NeuronSelection(...)")
            return None
        if arm is None:
            arm = self.bandit.choose() if self.bandit is not None else None
        if arm is None:
            self.clear_selection(sel.population)
            return None
        check_number(
            "FrontalController.trial", "select", arm, low=0, high=len(sel.assemblies) - 1, integer=True
        )
        self.select(sel.population, sel.assemblies[int(arm)], bias=sel.bias, inhibition=sel.inhibition)
        return int(arm)

    # -- reward ----------------------------------------------------------------------------------------------
    def deliver(self, amount: float, at: Quantity | None = None) -> None:
        """Send ``amount`` of dopamine (negative: punishment) at ``at`` (default now) to the reward-modulated
        projections, and count a penalty for every synapse a punishment weakens (eligibility now above
        ``eligibility_threshold``)."""
        check_number("FrontalController.deliver", "amount", amount)
        if self.rules:
            DopamineSignal.of(self.sim).deliver(amount, at=at)
        if amount < 0:
            for name in self.projections:
                if name in self.rules:
                    c = eligibility(self.sim, name)
                    self._state[name].ledger.penalties[c > self.eligibility_threshold] += 1

    def penalties(self, projection: str) -> np.ndarray:
        """Penalties collected by every synapse of ``projection`` (in the current synapse order)."""
        return self._state[projection].ledger.penalties

    def _reward(self, output: Any, target: Any) -> float:
        value = self.policy(output, target)
        try:
            reward = float(value)
        except (TypeError, ValueError):
            reward = math.nan
        if not math.isfinite(reward):
            raise ParameterError(
                f"FrontalController: parameter 'policy' returned {value!r} for output={output!r}, "
                f"target={target!r}; a reward must be a finite number"
            )
        return reward

    # -- the trial -------------------------------------------------------------------------------------------
    def trial(
        self, duration: Quantity, target: Any = None, *, context: Any = None, select: int | None = None
    ) -> TrialResult:
        """Run one trial of ``duration`` and judge it against ``target`` (see the module docstring)."""
        check_quantity("FrontalController.trial", "duration", duration, second, positive=True)
        arm = self._apply_selection(select)
        start = self.sim.t
        # Brian2 runs a full garbage collection at every run (≈0.3 s with sympy's caches loaded): freezing
        # the objects alive now makes it scan only new ones; unfreezing afterwards leaks nothing.
        gc.freeze()
        try:
            self.sim.run(duration, progress=False)
        finally:
            gc.unfreeze()
        stop = self.sim.t
        output = self.readout(self.sim, start, stop) if self.readout is not None else None
        reward = self._reward(output, target)
        signal = self.baseline.update(reward, context) if self.baseline is not None else reward
        signal *= self.scale
        if self.bandit is not None and arm is not None:
            self.bandit.update(arm, reward)
        delivered = None
        lo, hi = self.reward_delay
        delay = lo if hi == lo else float(self.rng.uniform(lo, hi))
        if self.rules:
            delivered = float(stop / second) + delay
        self.deliver(signal, at=delivered * second if delivered is not None else None)
        if self.consolidate_above is not None:
            drive = 1.0 if signal >= self.consolidate_above else 0.0
            for pop, var in self._drives:
                setattr(self.sim.groups[pop], var, drive)
        pruned = regrown = 0
        if self.pruner is not None:
            self._track_weakness()
            if self._window_start is None:
                self._window_start = start
            if (len(self.trials) + 1) % self.pruner.every == 0:
                pruned, regrown = self.prune(window_start=self._window_start)
                self._window_start = None
        result = TrialResult(
            index=len(self.trials),
            start=float(start / second),
            stop=float(stop / second),
            output=output,
            target=target,
            reward=reward,
            signal=signal,
            delivered_at=delivered,
            selected=arm,
            pruned=pruned,
            regrown=regrown,
        )
        self.trials.append(result)
        return result

    # -- pruning ---------------------------------------------------------------------------------------------
    def _track_weakness(self) -> None:
        threshold = self.pruner.weak_threshold if self.pruner is not None else None
        if threshold is None:
            return
        for name in self.prune_projections:
            ledger = self._state[name].ledger
            weak = np.abs(self.sim.weights(name)) < threshold
            ledger.weak_steps = np.where(weak, ledger.weak_steps + 1, 0)

    def prune(self, window_start: Quantity | None = None) -> tuple[int, int]:
        """One pruning step on every pruned projection (criteria, schedule, compaction, history, regrowth);
        neuron rates for activity come from ``window_start`` (default: the start) to now. Returns the
        numbers of synapses removed and regrown."""
        if self.pruner is None:
            fail(
                "FrontalController.prune", "pruner", None, "construct the controller with pruner=Pruner(...)"
            )
        pruner = self.pruner
        start = window_start if window_start is not None else 0 * second
        pops = {
            p
            for name in self.prune_projections
            for p in (
                self.sim.description.projection(name).source,
                self.sim.description.projection(name).target,
            )
        }
        rates = {pop: firing_rates(self.sim, pop, start, self.sim.t) for pop in pops}
        removed = added = 0
        for name in self.prune_projections:
            state = self._state[name]
            state.steps += 1
            stats = synapse_stats(self.sim, name, ledger=state.ledger, rates=rates, rng=self.rng)
            count = (
                pruner.schedule.count(state.steps, state.n_initial) if pruner.schedule is not None else None
            )
            idx = select(pruner.criteria, stats, count)
            if len(idx):
                self.history.record(
                    record_event(
                        self.sim, name, idx, step=state.steps, kind="pruned", reason=_name(pruner.criterion)
                    )
                )
            keep = np.ones(len(stats), dtype=bool)
            keep[idx] = False
            ai = aj = ad = np.zeros(0)
            if pruner.regrowth is not None and pruner.regrowth.per_step:
                proj = self.sim.description.projection(name)
                ai, aj, ad = draw_regrowth(
                    self.sim,
                    name,
                    pruner.regrowth,
                    self.rng,
                    keep=keep,
                    pre_rate=rates.get(proj.source),
                    post_rate=rates.get(proj.target),
                )
            if len(idx) or len(ai):  # one compaction for both
                resize_projection(
                    self.sim,
                    name,
                    keep,
                    add_i=ai,
                    add_j=aj,
                    add_distance=ad,
                    add_w=pruner.regrowth.w_init if pruner.regrowth is not None else None,
                )
            if len(ai):
                n = len(self.sim.synapses[name])
                self.history.record(
                    record_event(
                        self.sim,
                        name,
                        np.arange(n - len(ai), n),
                        step=state.steps,
                        kind="regrown",
                        reason="regrowth",
                    )
                )
            removed += len(idx)
            added += len(ai)
        return removed, added


def _fields(record: Any) -> dict[str, Any]:
    """A dataclass record's fields (not copied) for saving."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _key(key: Any) -> Any:
    """A baseline context read back from a file: lists (JSON) become tuples again, so they hash."""
    return tuple(_key(k) for k in key) if isinstance(key, (list, tuple)) else key
