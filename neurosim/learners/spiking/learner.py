"""The spiking learner's trial loop: fit and predict on task trials, reward by the frontal controller.

The network (:mod:`~neurosim.learners.spiking.network`) is built once and reused. A training trial is one
``sim.run`` per scored step (the controller needs the decision before the reward), the first one led by an
inter-trial interval during which the previous trial's dopamine acts on its eligibility; a test trial is one
``sim.run`` with the rules' ``gate`` off. Inputs: each trial's channels are Poisson-encoded into the input
sources (in training, pattern tasks may add the experienced pattern, ``target_patterns``, as a teacher:
never the answer class).

Reward: after each scored step the frontal controller reads the decision (the readout group with the most
spikes in that step, :class:`~neurosim.encoding.SpikeCountDecoder`), compares it with the target and sends
dopamine (``correct`` / ``wrong``; optionally minus a running baseline per target, Frémaux & Gerstner 2016):
the chosen group's synapses from the active memory neurons grow after a correct answer and shrink after a
wrong one, the others move the other way (three-factor rule; Izhikevich 2007). Learning is trial and error.
Exploration comes from perturbation (Fiete & Seung 2006): while learning, each readout group gets a random
bias per trial (``explore``), so groups that no pattern has claimed yet still win sometimes.

Reset between trials, in numpy (a global reset): membrane potentials and synaptic currents, and whatever
the rules of each projection declare as their activity at rest (``RuleCode.rest``, e.g. Tsodyks–Markram's
``x = 1``, ``u = 0`` and the co-activity traces): the loop names no rule variable, so a user's rule takes
part too. The readout's eligibility is cleared by :func:`~neurosim.backend.clear_eligibility` unless a
reward is still due. The loop reads and writes the network only through the
:class:`~neurosim.backend.Simulation`'s methods (numpy arrays in, numpy arrays out).

Cost: each ``sim.run`` pays Brian2's preparation, and at these sizes the time per step is dominated by
per-step overhead rather than by the network, so compiled code (``target="cython"``) pays for its compile
time only in long runs of one model; ``numpy`` is the default.

Counting: ``n_parameters`` = plastic synapses (``mem_mem`` + ``mem_out``) not pruned; ``ops`` = synaptic
events (every spike, input sources included, × the out-degree of its neuron, all projections); energy =
events × 23.6 pJ + plastic weight updates (spikes reaching plastic synapses while learning) × 120 pJ (Loihi,
Davies et al. 2018; :func:`neurosim.metrics.snn_energy_j`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from brian2 import Quantity, ms, mV, second

from ...backend import Simulation, build, clear_eligibility, default_target
from ...encoding import PoissonEncoder, SpikeCountDecoder, spike_counts
from ...frontal import CorrectWrong, FrontalController, RunningBaseline, SynapseStats, WeightMagnitude, select
from ...metrics import E_SYNOP_LOIHI_J, snn_energy_j
from ...network import NetworkDescription
from ...plasticity.composer import rest_state
from ...serialization import encode
from ...tasks import StoreRecall, Task, Trial
from ...validation import check_number, check_quantity, fail
from ..base import Fit, LearnerBase, Prediction
from .network import PLASTIC, SpikingParams, network_description, params_for_task


class SpikingLearner(LearnerBase):
    """A neurosim network that learns memory tasks through plasticity and reward: the network of
    :mod:`~neurosim.learners.spiking.network`, run trial by trial as the module docstring describes.

    ``write_channel`` / ``read_channel``: task channels acting as gates (STORE / RECALL of store-recall)
    instead of content; ``step_duration``: the task's step (encoder and decoder clock); ``target``: Brian2
    code generation target (default :func:`neurosim.backend.default_target`). Use :meth:`for_task`.
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
        p = self.params
        self.encoder = PoissonEncoder(
            rate_max=p.input_rate, neurons_per_input=p.neurons_per_input, step_duration=step_duration, dt=p.dt
        )
        self.decoder = SpikeCountDecoder(self.n_outputs, p.neurons_per_output, tie="none")
        self.sim = build(self.description(), target=self.target)
        self.controller = FrontalController(
            self.sim,
            projections=("mem_out",),
            policy=CorrectWrong(p.correct, p.wrong),
            baseline=RunningBaseline(alpha=p.baseline_alpha) if p.baseline_alpha > 0 else None,
            readout=self._readout,
            seed=self.seed,
        )
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
        self._degrees()

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

    def _degrees(self) -> None:
        """Out-degree of every neuron in every projection (for counting synaptic events)."""
        self._out_degree: dict[str, dict[str, np.ndarray]] = {}
        self._in_degree: dict[str, np.ndarray] = {}
        for proj in self.sim.description.projections:
            i, j = self.sim.connections(proj.name)
            n = self.sim.description.population(proj.source).n
            self._out_degree.setdefault(proj.source, {})[proj.name] = np.bincount(i, minlength=n)
            if proj.name in PLASTIC:
                self._in_degree[proj.name] = np.bincount(
                    j, minlength=self.sim.description.population(proj.target).n
                )

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
            "seed": self.seed,
            "learning": "CoActivityHebb (mem_mem, Hebbian) + RewardModulated via FrontalController (mem_out)",
            "pruned_fraction": self.pruned_fraction,
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
            self._degrees()
        return target

    # -- running trials -----------------------------------------------------------------------------------
    def _readout(self, sim: Simulation, start: Quantity, stop: Quantity) -> int:
        """The controller's readout: the decision in the last step of the run segment."""
        lo = float((stop - self.step_duration) / second)
        i, t = self._new_spikes("out")
        inside = (t >= lo - 1e-9) & (t < float(stop / second) - 1e-9)
        counts = np.bincount(i[inside], minlength=self.n_outputs * self.params.neurons_per_output)
        return int(self.decoder.decode(counts[None, :])[0])

    def _new_spikes(self, pop: str) -> tuple[np.ndarray, np.ndarray]:
        return self.sim.spikes_since(pop, self._offsets[pop])

    def _reset(self, eligibility: bool = True) -> None:
        """Start a trial from rest (a global inhibitory reset): membrane potentials and synaptic currents, the
        variables of activity that the rules of each projection declare (``RuleCode.rest``: traces,
        short-term plasticity), and (unless a reward is still due) the readout's eligibility."""
        self._reset_neurons()
        for proj, rest in self._rest:
            for var, value in rest.synapses.items():
                self.sim.set_variable(proj.name, var, value)
            for pop, values in ((proj.source, rest.source), (proj.target, rest.target)):
                for var, value in values.items():
                    self.sim.set_variable(pop, var, value)
        if eligibility:
            clear_eligibility(self.sim, "mem_out")

    def _set_learning(self, on: bool) -> None:
        self.sim.set_variable("mem_mem", "hebb_gate", 1.0 if on else 0.0)
        self.sim.set_variable("mem_out", "elig_gate", 1.0 if on else 0.0)

    def _inputs(self, trial: Trial, learn: bool) -> np.ndarray:
        x = np.array(trial.inputs, dtype=float)
        if learn and self.params.teacher and trial.target_patterns is not None:
            teacher = np.asarray(trial.target_patterns)
            if teacher.shape == x.shape:
                x = np.maximum(x, teacher)
        return x

    def _run_trial(self, trial: Trial, learn: bool) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Simulate one trial; returns (decisions per step, recalled units per step, events, plastic updates).

        Learning: the run starts with the inter-trial interval (the network at rest while the previous
        trial's dopamine acts on its eligibility), then one controller trial per scored step (the reward
        follows the decision at the end of that step). Testing: one run, plasticity off."""
        p = self.params
        self._reset(eligibility=not learn)
        self._set_learning(learn)
        for pop in self._recorded:
            self._offsets[pop] = self.sim.n_spikes(pop)
        before = self._spike_totals()
        lead = p.iti if learn else 0 * ms
        t0 = self.sim.t + lead
        seed = int(self._rng.integers(2**31))
        spikes = self.encoder.encode(self._inputs(trial, learn), seed=seed)
        self.sim.set_spike_times("input", spikes.indices, spikes.times + t0)
        self._perturb(learn)
        step = self.step_duration
        done = 0
        if learn:
            for k in trial.reward_steps:
                target = int(trial.targets[k])
                self.controller.trial(lead + (k + 1 - done) * step, target, context=target)
                done, lead = k + 1, 0 * ms
        if trial.n_steps > done:
            self.sim.run(lead + (trial.n_steps - done) * step, progress=False)
        decisions, recalled = self._decode(trial, t0)
        after = self._spike_totals()
        events, updates = self._events(before, after, spikes.indices)
        return decisions, recalled, events, (updates if learn else 0)

    def _perturb(self, learn: bool) -> None:
        """Exploration: a random bias per readout group while learning (``params.explore``), none at test."""
        g, sd = self.params.neurons_per_output, float(self.params.explore / mV)
        bias = self._rng.normal(0.0, sd, self.n_outputs) if learn and sd > 0 else np.zeros(self.n_outputs)
        self.sim.set_variable("out", "I_ext", np.repeat(bias, g) * mV)

    def _reset_neurons(self) -> None:
        """Membrane potentials to rest and synaptic currents to zero in every population except the input."""
        for pop in self.sim.description.populations:
            if pop.name != "input":
                self.sim.set_variable(pop.name, "v", pop.model.E_L)
                have = self.sim.variable_names(pop.name)
                for var in ("I_exc", "I_inh"):
                    if var in have:
                        self.sim.set_variable(pop.name, var, 0 * mV)

    def _spike_totals(self) -> dict[str, np.ndarray]:
        return {pop: self.sim.spike_counts(pop).copy() for pop in self._recorded}

    def _events(
        self, before: Mapping[str, np.ndarray], after: Mapping[str, np.ndarray], input_indices: np.ndarray
    ) -> tuple[int, int]:
        counts = {pop: after[pop] - before[pop] for pop in self._recorded}
        n_in = self.sim.description.population("input").n
        counts["input"] = np.bincount(np.asarray(input_indices, dtype=int), minlength=n_in)
        events = plastic = 0
        for pop, degrees in self._out_degree.items():
            for proj, deg in degrees.items():
                e = int(np.dot(counts[pop], deg))
                events += e
                # plastic synapses: presynaptic spikes reach them and postsynaptic spikes update them too
                if proj in PLASTIC:
                    target = self.sim.description.projection(proj).target
                    plastic += e + int(np.dot(counts[target], self._in_degree[proj]))
        return events, plastic

    def _decode(self, trial: Trial, t0: Quantity) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        start = float(t0 / second)
        i, t = self._new_spikes("out")
        counts = spike_counts(
            i, t - start, self.n_outputs * p.neurons_per_output, trial.n_steps, self.step_duration
        )
        decisions = self.decoder.decode(counts)
        i, t = self._new_spikes("mem")
        g = p.neurons_per_unit
        mem = spike_counts(i, t - start, self.n_units * g, trial.n_steps, self.step_duration)
        per_unit = mem.reshape(trial.n_steps, self.n_units, g).sum(axis=2)
        threshold = float(p.recall_rate * self.step_duration) * g
        recalled = np.zeros((trial.n_steps, self.n_inputs))
        recalled[:, self.content] = per_unit >= threshold
        return decisions, recalled

    # -- the learner protocol -------------------------------------------------------------------------------
    def _fit(self, trials: Sequence[Trial]) -> Fit:
        predictions, events, updates = [], 0, 0
        for trial in trials:
            d, _, e, u = self._run_trial(trial, learn=True)
            predictions.append(d)
            events += e
            updates += u
        if self.params.iti > 0 * ms:  # let the last reward act before anything else runs
            self._reset(eligibility=False)
            self.sim.run(self.params.iti, progress=False)
        self.train_plastic_updates += updates
        return Fit(list(range(len(trials))), predictions, events, {"plastic_updates": updates})

    def _predict(self, trials: Sequence[Trial]) -> Prediction:
        predictions, recalled, events = [], [], 0
        for trial in trials:
            d, r, e, _ = self._run_trial(trial, learn=False)
            predictions.append(d)
            recalled.append(r)
            events += e
        pattern = self.n_units == self.n_inputs and all(t.target_patterns is not None for t in trials)
        return Prediction(predictions, events, recalled if pattern else None)

    def energy(self, ops: int, extra: Mapping[str, Any]) -> float:
        """Synaptic events × 23.6 pJ + plastic weight updates during learning × 120 pJ (Loihi)."""
        return snn_energy_j(ops, self.train_plastic_updates)


__all__ = ["SpikingLearner"]
