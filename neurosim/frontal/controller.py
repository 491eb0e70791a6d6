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
   sets, then optionally regrows synapses (:mod:`neurosim.frontal.pruning`);
6. optionally makes rewarded memories last: a signal ≥ ``consolidate_above`` switches on protein synthesis
   (``<name>_protein_drive`` of a consolidation rule) until the next trial in the neurons that fired in the
   trial (where their spikes are recorded; else in all), as dopamine acts with activity (Redondo & Morris
   2011), or with ``protein_sites`` only in the neurons that took part in the decision
   (:mod:`neurosim.frontal.proteins`), turning their tagged early LTP into late LTP; unrewarded early
   changes fade. With :class:`~neurosim.plasticity.reward_consolidation.RewardConsolidation` the
   reward-driven changes are the early phase, and a strong or repeated reward makes proteins by itself
   (its ``theta_pro``); ``consolidate_above`` adds the controller's judgement (a large reward-prediction
   error) as a second trigger. With :class:`~neurosim.plasticity.consolidation.TaggingCapture` the early
   phase is calcium-driven and the controller's signal is the only reward that reaches it (behavioural
   tagging).

Steps 3–6 are :meth:`FrontalController.judge`, which a loop running many trials in one run calls from its
callback (``in_run=True``; pruning waits for the run's end). Work is vectorised numpy, once per trial.

Saving (:mod:`neurosim.frontal.saving`): ``sim.save(path, extras={"controller": ctrl.state()})`` (or
:func:`~neurosim.frontal.saving.save_with_controller`); after ``sim = Simulation.load(path)``, build the
controller with the same arguments and call :meth:`FrontalController.restore` ``(path)``: trials continue
as without the interruption.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import Quantity, ms, mV, second, volt

from ..backend import Simulation, deliver_in_run, eligibility, resize_projection
from ..validation import ParameterError, check_number, check_quantity, fail
from .assemblies import AssemblyBandit, NeuronSelection
from .config import ControllerConfig, check_population
from .criteria import select as select_synapses
from .proteins import ProteinSites, check_protein_sites, set_protein_drive
from .pruning import (
    Pruner,
    PruningEvent,
    PruningHistory,
    SynapseLedger,
    describe,
    draw_regrowth,
    firing_rates,
    record_event,
    synapse_stats,
)
from .rewards import RewardPolicy, RunningBaseline
from .saving import checked_state, context_key, controller_state, save_with_controller


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
    ``consolidate_above``: a signal this large makes proteins (step 6); ``protein_sites``:
    ``protein_sites(output) -> {population: neurons}``, the neurons that took part in the decision, where
    they are made (default: the neurons that fired; e.g. :class:`~neurosim.frontal.proteins.DecidedGroup`).
    Checked as a ``ControllerConfig``.
    """

    def __init__(
        self,
        sim: Simulation,
        *,
        projections: Sequence[str] | None = None,
        policy: RewardPolicy | None = None,
        baseline: RunningBaseline | None | str = "running",
        scale: float = 1.0,
        reward_delay: Quantity | tuple[Quantity, Quantity] = 0 * ms,
        readout: Callable[[Simulation, Quantity, Quantity], Any] | None = None,
        pruner: Pruner | None = None,
        eligibility_threshold: float = 0.0,
        selection: NeuronSelection | None = None,
        bandit: AssemblyBandit | None = None,
        consolidate_above: float | None = None,
        protein_sites: ProteinSites | None = None,
        seed: int = 0,
    ) -> None:
        config = ControllerConfig(
            projections=None if projections is None else tuple(projections),
            policy=policy,
            baseline=baseline,
            scale=scale,
            reward_delay=reward_delay,
            readout=readout,
            pruner=pruner,
            eligibility_threshold=eligibility_threshold,
            selection=selection,
            bandit=bandit,
            consolidate_above=consolidate_above,
            seed=seed,
        )
        targets = config.targets(sim)
        self.sim = sim
        self.config = config
        self.rules = targets.rules
        self.projections = targets.projections
        self.prune_projections = targets.pruned
        self._drives = targets.drives
        self.policy = config.policy  # never None: the config fills in the default
        self.baseline = config.baseline  # a RunningBaseline or None (the config resolves "running")
        self.scale = config.scale
        self.reward_delay = config.delay_range
        self.readout = config.readout
        self.eligibility_threshold = config.eligibility_threshold
        self.pruner = config.pruner
        self.selection = config.selection
        self.bandit = config.bandit
        self.consolidate_above = config.consolidate_above
        check_protein_sites(protein_sites, config.consolidate_above)
        self.protein_sites = protein_sites
        self._state = {
            name: _ProjectionState(SynapseLedger(sim, name), sim.n_synapses(name))
            for name in dict.fromkeys(self.projections + self.prune_projections)
        }
        self.rng = np.random.default_rng(config.seed)
        self.history = PruningHistory()
        self.trials: list[TrialResult] = []
        self._window_start: Quantity | None = None  # start of the trials since the last pruning step

    # -- saving and continuing -------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """A snapshot of what the controller has learned and counted (:func:`~.saving.controller_state`)."""
        return controller_state(self)

    def restore(self, source: str | Path | dict[str, Any]) -> None:
        """Continue from a saved state: a state file whose extras hold ``"controller"`` (see the module
        docstring) or a dict from :meth:`state`. The controller must have the same projections, baseline and
        bandit as the saved one (checked, with the difference named, before anything changes)."""
        source = checked_state(self, source)
        saved, bandit = source["projections"], source["bandit"]
        for name, st in self._state.items():
            st.ledger.penalties = np.asarray(saved[name]["penalties"], dtype=np.int64).copy()
            st.ledger.weak_steps = np.asarray(saved[name]["weak_steps"], dtype=np.int64).copy()
            st.n_initial, st.steps = int(saved[name]["n_initial"]), int(saved[name]["steps"])
        if self.baseline is not None:
            self.baseline.values = {context_key(k): float(v) for k, v in source["baseline"]}
        if self.bandit is not None:
            self.bandit.values = np.asarray(bandit["values"], dtype=float).copy()
            self.bandit.counts = np.asarray(bandit["counts"], dtype=int).copy()
            self.bandit.rng.bit_generator.state = bandit["rng"]
        self.rng.bit_generator.state = source["rng"]
        self.history = PruningHistory([PruningEvent(**e) for e in source["history"]])
        self.trials = [TrialResult(**t) for t in source["trials"]]
        start = source["window_start"]
        self._window_start = None if start is None else start * second

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
        check_population(self.sim, population, neurons, "FrontalController")
        values = np.full(self.sim.description.population(population).n, -float(inhibition / volt))
        values[np.asarray(neurons, dtype=int)] = float(bias / volt)
        self.sim.set_variable(population, "I_ext", values * volt)

    def clear_selection(self, population: str) -> None:
        """Remove every top-down bias from ``population``."""
        check_population(self.sim, population, [], "FrontalController")
        self.sim.set_variable(population, "I_ext", 0 * volt)

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
    def deliver(self, amount: float, at: Quantity | None = None, *, in_run: bool = False) -> None:
        """Send ``amount`` of dopamine (negative: punishment) at ``at`` (default now) to the reward-modulated
        projections, and count a penalty for every synapse a punishment weakens (eligibility now above
        ``eligibility_threshold``). ``in_run``: from inside a run (added to the running dopamine table)."""
        check_number("FrontalController.deliver", "amount", amount)
        if self.rules:
            if in_run:
                deliver_in_run(self.sim, amount, at=at)
            else:
                self.sim.dopamine.deliver(amount, at=at)
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
        self,
        duration: Quantity,
        target: Any = None,
        *,
        context: Any = None,
        select: int | None = None,
        prune: bool = True,
    ) -> TrialResult:
        """Run one trial of ``duration`` and judge it against ``target`` (:meth:`judge`)."""
        check_quantity("FrontalController.trial", "duration", duration, second, positive=True)
        arm = self._apply_selection(select)
        start = self.sim.t
        # Brian2 runs a full garbage collection at every run (slow with sympy's caches loaded): freezing the
        # objects alive now makes it scan only new ones; unfreezing afterwards leaks nothing.
        gc.freeze()
        try:
            self.sim.run(duration, progress=False)
        finally:
            gc.unfreeze()
        stop = self.sim.t
        output = self.readout(self.sim, start, stop) if self.readout is not None else None
        return self.judge(output, target, context=context, start=start, arm=arm, prune=prune)

    def judge(
        self,
        output: Any,
        target: Any = None,
        *,
        context: Any = None,
        start: Quantity | None = None,
        arm: int | None = None,
        in_run: bool = False,
        prune: bool = True,
    ) -> TrialResult:
        """Judge a trial that ends now (the part of :meth:`trial` after its run).

        The policy's reward for ``output`` against ``target``, minus the baseline of ``context``, times
        ``scale``, is sent as dopamine ``reward_delay`` from now; the bandit learns the reward of ``arm``;
        punished synapses collect penalties; ``consolidate_above`` sets protein synthesis; the pruning
        schedule runs (``prune=False``: the caller calls :meth:`prune`); the record is kept.
        ``start``: the trial's start (default now). ``in_run``: called from inside a run (a
        :func:`~neurosim.backend.run_with_ticks` callback): dopamine joins the running table, and pruning,
        which needs the run to end, is left to the caller."""
        stop = self.sim.t
        start = stop if start is None else start
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
        self.deliver(signal, at=delivered * second if delivered is not None else None, in_run=in_run)
        if self.consolidate_above is not None:  # step 6: in the decision's sites, else where neurons fired
            strong = bool(signal >= self.consolidate_above)
            sites = self.protein_sites(output) if strong and self.protein_sites is not None else None
            set_protein_drive(self.sim, self._drives, strong, start, stop, sites)
        pruned = regrown = 0
        if self.pruner is not None:
            self._track_weakness()
            if self._window_start is None:
                self._window_start = start
            if prune and not in_run and (len(self.trials) + 1) % self.pruner.every == 0:
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
            n_removed, n_added = self._prune_projection(name, self.pruner, rates)
            removed += n_removed
            added += n_added
        return removed, added

    def _prune_projection(
        self, name: str, pruner: Pruner, rates: dict[str, np.ndarray | None]
    ) -> tuple[int, int]:
        """One pruning step of one projection: select, record, draw regrowth, compact once for both."""
        state = self._state[name]
        state.steps += 1
        stats = synapse_stats(self.sim, name, ledger=state.ledger, rates=rates, rng=self.rng)
        count = pruner.count(state.steps, state.n_initial, self.history.total(name))
        idx = select_synapses(pruner.criteria, stats, count)
        if len(idx):
            reason = describe(pruner.criterion)
            self.history.record(
                record_event(self.sim, name, idx, step=state.steps, kind="pruned", reason=reason)
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
            w_init = pruner.regrowth.w_init if pruner.regrowth is not None else None
            resize_projection(self.sim, name, keep, add_i=ai, add_j=aj, add_distance=ad, add_w=w_init)
        if len(ai):
            n = self.sim.n_synapses(name)
            new = np.arange(n - len(ai), n)
            self.history.record(
                record_event(self.sim, name, new, step=state.steps, kind="regrown", reason="regrowth")
            )
        return len(idx), len(ai)


__all__ = ["FrontalController", "TrialResult", "save_with_controller"]
