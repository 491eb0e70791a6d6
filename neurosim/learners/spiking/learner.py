"""The spiking learner's trial loop: fit and predict on task trials, reward by the frontal controller.

The network (:mod:`~neurosim.learners.spiking.network`) is built once and reused. Trials run in blocks, one
``sim.run`` per block, or trial by trial (``blocks=False``, or a controller that selects neurons), with the
same decisions and weights (:mod:`~neurosim.learners.spiking.trials`). A training trial is led by an
inter-trial interval during which the previous trial's dopamine acts on its eligibility; test trials run
with the rules' ``gate`` off, side by side on copies of the network (``test_copies``;
:mod:`~neurosim.learners.spiking.side_by_side`). The controller's switches in
:class:`~neurosim.learners.spiking.SpikingParams` work both ways: ``delayed_reward`` (dopamine
``reward_delay`` after each decision, through eligibility; Izhikevich 2007), ``prune_during_learning``
(every ``prune_every`` training trials, between runs, weak plastic synapses are pruned and compacted),
``consolidation`` (reward-driven ``mem_out`` changes are early phase; a reward-prediction error ≥
``consolidate_above`` makes proteins that capture tagged ones).

Inputs: each trial's channels are Poisson-encoded into the input sources; in training, pattern tasks add the
experienced pattern (``target_patterns``, never the answer class) as a teacher from ``teacher_onset`` into
each step on, after a scored step's answer has been read, so training answers are the network's own.
Encoding vs retrieval (``imprint_only_with_input``; acetylcholine's two modes, Hasselmo et al. 1995,
Hasselmo 2006): in training ``mem_mem`` imprints only while external input arrives (a cue, or the
teacher after the answer window); silent stretches and the inter-trial interval recall without writing,
so a cue completed to the union of two overlapping patterns does not imprint the union.

Reward: at the end of each answer window (the scored step, or its part before the teacher) the controller
judges the decision (the readout group with the most spikes, :class:`~neurosim.encoding.SpikeCountDecoder`)
and sends dopamine (``correct`` / ``wrong``, minus a running baseline per target; Frémaux & Gerstner 2016):
the chosen group's synapses from the active memory neurons grow after a correct answer and shrink after a
wrong one (three-factor rule; Izhikevich 2007). Learning is trial and error. Exploration: while learning,
each readout group gets a random bias per trial (``explore``; perturbation, Fiete & Seung 2006), plus its
excitability, which homeostasis raises for groups that seldom win (``readout_homeostasis``;
:mod:`~neurosim.learners.spiking.homeostasis`), so that unclaimed groups win sometimes.

Reset between trials (global): membrane potentials, synaptic currents and whatever the rules of each
projection declare as their activity at rest (``RuleCode.rest``, e.g. Tsodyks–Markram's ``x = 1``, ``u = 0``
and the co-activity traces), so a user's rule takes part too; the readout's eligibility unless a reward is
still due. The loop reads and writes the network only through the :class:`~neurosim.backend.Simulation`.

Cost: Brian2's preparation is paid once per block and Python runs only at step boundaries; the compiled
target (``"cython"``) is the default wherever a compiler works (:func:`~neurosim.backend.default_target`).
There a time step still costs Brian2's call of every object (~2 µs each, ~100 µs on the store-recall
network); ``compiled_training`` runs each training call as one cpp_standalone run instead, the trial
protocol and the controller's judgement in generated code (:mod:`~neurosim.learners.spiking.compiled`;
~1 µs per step, plus ~3 s per call to generate and link the code, and a first compile per network and seed),
for the controller's built-in policy.
``progress(phase, done, total, eta_s)`` is called as trials finish.

Counting: ``n_parameters`` = plastic synapses (``mem_mem`` + ``mem_out``) not pruned; ``ops`` = synaptic
events (every spike, input sources included, × the out-degree of its neuron, all projections); energy =
events × 23.6 pJ + plastic weight updates (spikes reaching plastic synapses while learning) × 120 pJ (Loihi,
Davies et al. 2018; :func:`neurosim.metrics.snn_energy_j`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from brian2 import Quantity, ms, mV, second

from ...backend import Simulation, build, clear_eligibility, default_target
from ...encoding import PoissonEncoder, SpikeCountDecoder, spike_counts
from ...frontal import SynapseStats, WeightMagnitude, select
from ...metrics import E_SYNOP_LOIHI_J, snn_energy_j
from ...network import NetworkDescription
from ...plasticity.composer import rest_state
from ...serialization import encode
from ...tasks import StoreRecall, Task, Trial
from ...validation import check_number, check_quantity, fail
from ..base import Fit, LearnerBase, Prediction
from .compiled import compiles, run_compiled
from .control import controller_of
from .counting import EventCounter
from .gating import LearnedGates
from .homeostasis import conscience_step
from .network import PLASTIC, SpikingParams, network_description, params_for_task
from .side_by_side import copies_for, run_side_by_side
from .trials import (
    Outcome,
    Progress,
    Read,
    Reporter,
    TrialPlan,
    blocks,
    imprint_changes,
    run_block,
    run_trial_by_trial,
)


class SpikingLearner(LearnerBase):
    """A neurosim network that learns memory tasks through plasticity and reward: the network of
    :mod:`~neurosim.learners.spiking.network`, run trial by trial as the module docstring describes.

    ``write_channel`` / ``read_channel``: task channels acting as gates (STORE / RECALL of store-recall)
    instead of content; ``step_duration``: the task's step (encoder and decoder clock); ``target``: Brian2
    code generation target (default :func:`neurosim.backend.default_target`: cython where a compiler works);
    ``blocks``: run trials in blocks (default) or trial by trial; ``progress``: called as trials finish
    (:data:`~neurosim.learners.spiking.trials.Progress`). Use :meth:`for_task`.
    """

    name = "snn"
    op_name = "synaptic events"
    joules_per_op = E_SYNOP_LOIHI_J

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        *,
        params: SpikingParams | None = None,
        write_channel: int | None = None,
        read_channel: int | None = None,
        step_duration: Quantity = 200 * ms,
        seed: int = 0,
        target: str | None = None,
        criterion: float = 0.95,
        criterion_window: int = 50,
        blocks: bool = True,
        progress: Progress | None = None,
    ) -> None:
        super().__init__(n_inputs, n_outputs, criterion=criterion, criterion_window=criterion_window)
        owner = type(self).__name__
        self.params = params if params is not None else SpikingParams()
        if not isinstance(self.params, SpikingParams):
            fail(owner, "params", self.params, "expected SpikingParams(...)")
        gates = [c for c in (write_channel, read_channel) if c is not None]
        for name, c in (("write_channel", write_channel), ("read_channel", read_channel)):
            if c is not None:
                check_number(owner, name, c, low=0, high=self.n_inputs - 1, integer=True)
        if len(set(gates)) != len(gates):
            fail(owner, "read_channel", read_channel, "must differ from write_channel")
        if len(gates) >= self.n_inputs:
            fail(owner, "n_inputs", self.n_inputs, "needs at least one content channel besides the gates")
        self.write_channel = None if write_channel is None else int(write_channel)
        self.read_channel = None if read_channel is None else int(read_channel)
        self.content = np.array([c for c in range(self.n_inputs) if c not in gates], dtype=int)
        self.step_duration = check_quantity(owner, "step_duration", step_duration, second, positive=True)
        self.seed = int(check_number(owner, "seed", seed, low=0, integer=True))
        self.target = target or default_target()
        self.blocks = bool(blocks)
        self.progress = progress
        p = self.params
        steps, onset = (int(round(float(q / p.dt))) for q in (self.step_duration, p.teacher_onset))
        if p.teacher and not 0 < onset < steps:
            fail(
                owner, "teacher_onset", p.teacher_onset, f"must lie inside the step (0, {self.step_duration})"
            )
        sub = math.gcd(steps, onset) if p.teacher else steps  # encoder resolution: the teacher's onset
        self._per_step = steps // sub
        self.encoder = PoissonEncoder(
            rate_max=p.input_rate, neurons_per_input=p.neurons_per_input, step_duration=sub * p.dt, dt=p.dt
        )
        self.decoder = SpikeCountDecoder(self.n_outputs, p.neurons_per_output, tie="none")
        self.gates = LearnedGates(self) if p.learned_gating else None  # the controller's gate policies
        self.sim = build(self.description(), target=self.target)
        self.controller = controller_of(self.sim, p, self.n_outputs, self._readout, self.seed)
        self._trials_trained = 0  # training trials so far (the pruning schedule counts them)
        self.excitability = np.zeros(self.n_outputs)  # readout homeostasis: bias per group (mV, training)
        self._rng = np.random.default_rng(self.seed)
        self._trial_counter = 0
        self._n_initial = {name: self.sim.n_synapses(name) for name in PLASTIC}
        self.train_plastic_updates = 0
        self._offsets = {pop: 0 for pop in self._recorded}
        self._rest = [
            (proj, rest_state(proj.rules, context=f"Projection '{proj.name}'"))
            for proj in self.sim.description.projections
            if proj.rules
        ]
        self._neuron_rest = [
            (
                pop.name,
                pop.model.E_L,
                [v for v in ("I_exc", "I_inh") if v in self.sim.variable_names(pop.name)],
            )
            for pop in self.sim.description.populations
            if pop.name != "input"
        ]
        self._window = self.step_duration  # the answer window the trial-by-trial readout counts
        self._event_counter = EventCounter.of(self.sim, PLASTIC)

    # -- construction -------------------------------------------------------------------------------------
    @classmethod
    def for_task(
        cls, task: Task, params: SpikingParams | None = None, *, assembly_size: int | None = 20, **kwargs: Any
    ) -> SpikingLearner:
        """A learner sized for ``task``: its channels (STORE/RECALL of :class:`~neurosim.tasks.StoreRecall`
        act as write/read gates), its step duration, and ``neurons_per_unit`` chosen so that one stored item
        (the active units of a pattern, or one bit value) is an assembly of about ``assembly_size`` neurons
        (None: keep ``params.neurons_per_unit``)."""
        if isinstance(task, StoreRecall):
            kwargs.setdefault("write_channel", task.store_channel)
            kwargs.setdefault("read_channel", task.recall_channel)
        kwargs.setdefault("step_duration", task.step_duration)
        params = params if params is not None else SpikingParams()
        params = params_for_task(task, params, assembly_size, owner=cls.__name__)
        return cls(task.n_inputs, task.n_outputs, params=params, **kwargs)

    @property
    def n_units(self) -> int:
        return int(self.content.size)

    def description(self) -> NetworkDescription:
        """The network as a plain neurosim description (built once by the constructor)."""
        return network_description(
            self.params,
            n_inputs=self.n_inputs,
            n_outputs=self.n_outputs,
            content=self.content,
            write_channel=self.write_channel,
            read_channel=self.read_channel,
            seed=self.seed,
        )

    @property
    def _recorded(self) -> tuple[str, ...]:
        return ("mem", "mem_inh", "out", "out_inh") + (("gate",) if self.write_channel is not None else ())

    def hyperparameters(self) -> dict[str, Any]:
        p = self.params
        sizes = {pop.name: pop.n for pop in self.sim.description.populations}
        return {
            **encode(p.to_dict()),
            "write_channel": self.write_channel,
            "read_channel": self.read_channel,
            "step_duration_ms": float(self.step_duration / ms),
            "populations": sizes,
            "synapses": {p.name: self.sim.n_synapses(p.name) for p in self.sim.description.projections},
            "target": self.target,
            "trials_in_blocks": self.runs_blocks,
            "seed": self.seed,
            "learning": "CoActivityHebb (mem_mem, Hebbian) + RewardModulated via FrontalController (mem_out)",
            "pruned_fraction": self.pruned_fraction,
            "gating": self.gates.table() if self.gates is not None else None,
        }

    # -- sizes and pruning --------------------------------------------------------------------------------
    @property
    def n_parameters(self) -> int:
        """Plastic synapses in use (``mem_mem`` + ``mem_out``)."""
        return int(sum(self.sim.n_synapses(name) for name in PLASTIC))

    @property
    def n_parameters_initial(self) -> int:
        return int(sum(self._n_initial.values()))

    @property
    def pruned_fraction(self) -> float:
        return 1.0 - self.n_parameters / self.n_parameters_initial

    def prune(self, fraction: float) -> int:
        """Remove plastic synapses until ``fraction`` of the initial ones are gone: global minimal-value
        deletion (weakest ``|w|`` first; Chechik, Meilijson & Ruppin 1998) with
        :func:`neurosim.frontal.select` + :class:`~neurosim.frontal.WeightMagnitude`, compacted with
        ``sim.compact`` so pruned synapses cost nothing. Returns the number pruned in total."""
        fraction = check_number(type(self).__name__, "fraction", fraction, low=0.0, high=1.0)
        target = int(round(fraction * self.n_parameters_initial))
        already = self.n_parameters_initial - self.n_parameters
        if target < already:
            fail(
                type(self).__name__,
                "fraction",
                fraction,
                f"must be >= the fraction already pruned ({self.pruned_fraction:.3f}); pruning is permanent",
            )
        if target > already:
            weights = [self.sim.weights(name) for name in PLASTIC]
            w = np.concatenate(weights)
            gone = select(WeightMagnitude(), SynapseStats(w=w, rng=self._rng), target - already)
            start = 0
            for name, wk in zip(PLASTIC, weights, strict=True):
                mine = gone[(gone >= start) & (gone < start + len(wk))] - start
                if len(mine):
                    keep = np.ones(len(wk), dtype=bool)
                    keep[mine] = False
                    self.sim.compact(name, keep)
                start += len(wk)
            self._event_counter = EventCounter.of(self.sim, PLASTIC)
        return target

    # -- running trials (see .trials) -----------------------------------------------------------------------
    @property
    def iti_steps(self) -> int:
        """Time steps of the inter-trial interval in training."""
        return int(round(float(self.params.iti / self.params.dt)))

    @property
    def runs_blocks(self) -> bool:
        """Whether trials run in blocks: asked for (``blocks=True``) and the controller does only what a
        block can do in its callback (everything but neuron selection: reward, delayed reward, baseline,
        consolidation; the learner takes the pruning steps between runs), else trial by trial."""
        c = self.controller
        return self.blocks and c.selection is None and c.bandit is None

    def plan(self, trial: Trial, learn: bool) -> TrialPlan:
        """Everything about ``trial`` that does not depend on the network's answers (draws the input seed,
        then the exploration bias, from the learner's generator): inputs with the teacher after each
        answer window (training, pattern tasks), the exploration bias, the inter-trial interval, the answer
        windows, where the imprinting of ``mem_mem`` switches (``imprint_only_with_input``)."""
        p, dt = self.params, self.params.dt
        seed = int(self._rng.integers(2**31))
        x, teacher = self._inputs(trial, learn)
        spikes = self.encoder.encode(x, seed=seed)
        sd = float(p.explore / mV)
        bias = self._rng.normal(0.0, sd, self.n_outputs) if learn and sd > 0 else np.zeros(self.n_outputs)
        step = int(round(float(self.step_duration / dt)))
        window = int(round(float(p.teacher_onset / dt))) if teacher else step
        reads = (
            tuple(
                Read(int(k), int(trial.targets[k]), int(k) * step, int(k) * step + window)
                for k in trial.reward_steps
            )
            if learn
            else ()
        )
        lead = self.iti_steps if learn else 0
        imprint = (
            imprint_changes(x, lead, step // self._per_step) if learn and p.imprint_only_with_input else ()
        )
        return TrialPlan(trial, lead, trial.n_steps * step, reads, spikes, bias, imprint)

    def _inputs(self, trial: Trial, learn: bool) -> tuple[np.ndarray, bool]:
        """The input of every sub-step (``teacher_onset`` resolution) and whether a teacher joins it: in
        training, pattern tasks add the experienced pattern (``target_patterns``) from ``teacher_onset``
        into each step on, after the answer window, so training answers are the network's own."""
        x = np.repeat(np.asarray(trial.inputs, dtype=float), self._per_step, axis=0)
        teacher = trial.target_patterns is not None and learn and self.params.teacher
        teacher = teacher and np.shape(trial.target_patterns) == np.shape(trial.inputs)
        if teacher:
            onset = int(round(float(self.params.teacher_onset / self.encoder.step_duration)))
            late = np.arange(x.shape[0]) % self._per_step >= onset
            pattern = np.repeat(np.asarray(trial.target_patterns, dtype=float), self._per_step, axis=0)
            x[late] = np.maximum(x[late], pattern[late])
        return x, bool(teacher)

    def _start_trial(self, plan: TrialPlan, learn: bool) -> None:
        """A trial starts from rest, with its exploration bias on the readout groups, plus in training their
        excitability (:mod:`~neurosim.learners.spiking.homeostasis`)."""
        self._reset(eligibility=not learn)
        bias = plan.bias + self.excitability if learn else plan.bias
        self.sim.set_variable("out", "I_ext", np.repeat(bias, self.params.neurons_per_output) * mV)

    def _decided(self, decision: int) -> None:
        """After a judged training decision: readout homeostasis (``readout_homeostasis``; 0 mV: off)."""
        eta = float(self.params.readout_homeostasis / mV)
        if eta > 0:
            self.excitability = conscience_step(self.excitability, decision, eta)

    def _imprint(self, on: float) -> None:
        """Switch the Hebbian imprinting of ``mem_mem`` (its rule's gate) on (1) or off (0)."""
        self.sim.set_variable("mem_mem", "hebb_gate", on)

    def _settle(self) -> None:
        """Start the interval after the last training trial: from rest, its reward still due, no input."""
        self._reset(eligibility=False)
        if self.params.imprint_only_with_input:
            self._imprint(0.0)

    def _readout(self, sim: Simulation, start: Quantity, stop: Quantity) -> int:
        """The controller's readout (trial by trial): the decision in the answer window ending at ``stop``."""
        lo = float((stop - self._window) / second)
        i, t = self._new_spikes("out")
        inside = (t >= lo - 1e-9) & (t < float(stop / second) - 1e-9)
        counts = np.bincount(i[inside], minlength=self.n_outputs * self.params.neurons_per_output)
        return int(self.decoder.decode(counts[None, :])[0])

    def _new_spikes(self, pop: str) -> tuple[np.ndarray, np.ndarray]:
        return self.sim.spikes_since(pop, self._offsets[pop])

    def _reset(self, eligibility: bool = True, sim: Simulation | None = None) -> None:
        """Start a trial from rest (a global inhibitory reset): membrane potentials and synaptic currents, the
        variables of activity that the rules of each projection declare (``RuleCode.rest``: traces,
        short-term plasticity), and (unless a reward is still due) the readout's eligibility. ``sim``: the
        network to reset (default the learner's; test copies side by side)."""
        sim = self.sim if sim is None else sim
        for pop, rest, currents in self._neuron_rest:
            sim.set_variable(pop, "v", rest)
            for var in currents:
                sim.set_variable(pop, var, 0 * mV)
        for proj, rest in self._rest:
            for var, value in rest.synapses.items():
                sim.set_variable(proj.name, var, value)
            for pop, values in ((proj.source, rest.source), (proj.target, rest.target)):
                for var, value in values.items():
                    sim.set_variable(pop, var, value)
        if eligibility:
            clear_eligibility(sim, "mem_out")

    def _set_learning(self, on: bool, sim: Simulation | None = None) -> None:
        sim = self.sim if sim is None else sim
        sim.set_variable("mem_mem", "hebb_gate", 1.0 if on else 0.0)
        sim.set_variable("mem_out", "elig_gate", 1.0 if on else 0.0)

    def _count(self, pop: str, indices: np.ndarray) -> np.ndarray:
        n = self.sim.description.population(pop).n
        return np.bincount(np.asarray(indices, dtype=int), minlength=n)

    def _decode(
        self, trial: Trial, spikes: Mapping[str, tuple[np.ndarray, np.ndarray]], t0: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Decisions and recalled units per step from the trial's spikes (times in s; ``t0``: first step)."""
        p = self.params
        i, t = spikes["out"]
        counts = spike_counts(
            i, t - t0, self.n_outputs * p.neurons_per_output, trial.n_steps, self.step_duration
        )
        decisions = self.decoder.decode(counts)
        i, t = spikes["mem"]
        g = p.neurons_per_unit
        mem = spike_counts(i, t - t0, self.n_units * g, trial.n_steps, self.step_duration)
        per_unit = mem.reshape(trial.n_steps, self.n_units, g).sum(axis=2)
        threshold = float(p.recall_rate * self.step_duration) * g
        recalled = np.zeros((trial.n_steps, self.n_inputs))
        recalled[:, self.content] = per_unit >= threshold
        return decisions, recalled

    @property
    def settle_steps(self) -> int:
        """Time steps after the last training trial: the inter-trial interval and any reward delay, so that
        the last reward reaches the eligibility before the test."""
        p = self.params
        delay = p.reward_delay if p.delayed_reward else 0 * ms
        return int(round(float((p.iti + delay) / p.dt)))

    def _run(self, trials: Sequence[Trial], learn: bool) -> list[Outcome]:
        """Run ``trials`` (see :mod:`.trials`); with ``prune_during_learning``, training stops every
        ``prune_every`` trials for a pruning step of the controller (compacted), then goes on."""
        report = Reporter(self.progress, "train" if learn else "test", len(trials))
        if not (learn and self.params.prune_during_learning):
            return self._run_part(trials, learn, learn and self.settle_steps > 0, report)
        outcomes: list[Outcome] = []
        every = self.params.prune_every
        while len(outcomes) < len(trials):
            take = every - self._trials_trained % every
            part = trials[len(outcomes) : len(outcomes) + take]
            last = len(outcomes) + len(part) == len(trials)
            outcomes += self._run_part(part, learn, last and self.settle_steps > 0, report)
            self._trials_trained += len(part)
            if self._trials_trained % every == 0:
                self.controller.prune()
                self._event_counter = EventCounter.of(self.sim, PLASTIC)
        return outcomes

    def _run_part(
        self, trials: Sequence[Trial], learn: bool, settle: bool, report: Reporter
    ) -> list[Outcome]:
        """Run ``trials`` in blocks (one run each) or trial by trial; ``settle``: an interval after the last
        trial (:attr:`settle_steps`) lets its reward act; ``report`` is called as trials finish."""
        if not self.runs_blocks:
            outcomes = []
            for trial in trials:
                outcomes.append(run_trial_by_trial(self, self.plan(trial, learn), learn))
                report()
            if settle:
                self._settle()
                self.sim.run(self.settle_steps * self.params.dt, progress=False)
            return outcomes
        plans = [self.plan(trial, learn) for trial in trials]
        synapses = sum(self.sim.n_synapses(proj.name) for proj in self.sim.description.projections)
        copies = self.params.test_copies or copies_for(synapses, len(plans))
        if not learn and self.gates is None and min(copies, len(plans)) > 1:  # test trials side by side
            return run_side_by_side(self, plans, min(copies, len(plans)), on_done=report)
        if learn and self.params.compiled_training and compiles(self):
            return run_compiled(self, plans, settle=settle, on_done=report)
        cut = blocks(self, plans, learn)
        outcomes = []
        for k, block in enumerate(cut):
            outcomes += run_block(self, block, learn, settle=settle and k == len(cut) - 1, on_done=report)
        return outcomes

    # -- the learner protocol -------------------------------------------------------------------------------
    def _fit(self, trials: Sequence[Trial]) -> Fit:
        predictions, events, updates = [], 0, 0
        for outcome in self._run(trials, learn=True):
            predictions.append(outcome.decisions)
            e, u = self._event_counter.events(outcome.counts)
            events += e
            updates += u
        self.train_plastic_updates += updates
        return Fit(list(range(len(trials))), predictions, events, {"plastic_updates": updates})

    def _predict(self, trials: Sequence[Trial]) -> Prediction:
        predictions, recalled, events = [], [], 0
        for outcome in self._run(trials, learn=False):
            predictions.append(outcome.decisions)
            recalled.append(outcome.recalled)
            events += self._event_counter.events(outcome.counts)[0]
        pattern = self.n_units == self.n_inputs and all(t.target_patterns is not None for t in trials)
        return Prediction(predictions, events, recalled if pattern else None)

    def energy(self, ops: int, extra: Mapping[str, Any]) -> float:
        """Synaptic events × 23.6 pJ + plastic weight updates during learning × 120 pJ (Loihi)."""
        return snn_energy_j(ops, self.train_plastic_updates)


__all__ = ["SpikingLearner"]
