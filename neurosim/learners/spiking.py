"""Spiking learner: a 3D E/I network that learns the memory tasks through plasticity and reward only.

No gradient and no backpropagation anywhere: synapses change only through local rules composed with the
rule API (:mod:`neurosim.plasticity`) and the third factor sent by the frontal controller
(:class:`~neurosim.controller.FrontalController` + :class:`~neurosim.plasticity.reward.RewardModulated`).

Architecture (populations placed in 3D boxes; recurrent, inhibitory and readout synapses drawn from distance
kernels; topographic input as explicit connections)::

    input ─topographic─▶ mem (E) ◀──▶ mem_inh (I)           feedback inhibition bounds the active assembly
                          ⟲ mem_mem: CoActivityHebb + TsodyksMarkram (facilitating)
    [STORE + channel ─▶ gate (E, AND) ─▶ mem; gate ─▶ mem_inh]   write gate (store-recall only)
                          │ mem_out: CoActivityHebb → eligibility → RewardModulated (dopamine)
    [RECALL ─▶]           ▼
                         out (E, one group per class, self-excitation) ◀──▶ out_inh (I): winner-take-all

* **Input**: each task channel drives ``neurons_per_input`` spike sources (one ``SpikeGeneratorGroup``) with
  :class:`~neurosim.encoding.PoissonEncoder` rate coding; channel c drives memory *unit* c
  (``neurons_per_unit`` neurons; :meth:`SpikingLearner.for_task` makes one stored item ~20 neurons).
* **Long-term memory (weights)**: the recurrent synapses ``mem_mem`` start at w = 0 and learn with a symmetric
  co-activity rule (:class:`CoActivityHebb`; Hebb 1949): each presented pattern writes a clipped Hebbian
  assembly (Willshaw et al. 1969) that a partial cue later completes (pattern completion; Hopfield 1982).
* **Working memory (activity + short-term facilitation)**: an ignited assembly keeps firing through silent
  steps. Its synapses are facilitating Tsodyks–Markram synapses (U 0.19, τ_f 1.5 s: Mongillo, Barak & Tsodyks
  2008; τ_d shortened to 50 ms so that depression does not end the state in assemblies this small) and the
  memory neurons have slow (NMDA-like, τ 50 ms) excitatory synapses, which persistent states need (Wang
  1999): unfacilitated synapses transmit only U, so silent assemblies do not ignite from stray spikes.
* **Write gate** (``write_channel``, the STORE of store-recall): content reaches memory only through ``gate``
  neurons that need their channel AND the write channel (each alone is subthreshold); a gated unit ignites its
  assembly and, through the inhibition, silences the previous item, which is how a new STORE overwrites.
  A ``read_channel`` (RECALL) adds a nonspecific drive to the readout.
* **Readout learned by reward**: ``mem_out`` synapses turn co-activity into eligibility (the same rule; a
  presynaptic spike onto a silent readout neuron makes it negative); after each scored step the frontal
  controller reads the decision (the readout group with the most spikes in that step,
  :class:`~neurosim.encoding.SpikeCountDecoder`), compares it with the target and sends dopamine (``correct``
  / ``wrong``; optionally minus a running baseline per target, Frémaux & Gerstner 2016): the chosen group's
  synapses from the active memory neurons grow after a correct answer and shrink after a wrong one, the others
  move the other way (three-factor rule; Izhikevich 2007). Learning is trial and error: the answer is never
  injected into the network. Exploration comes from perturbation (Fiete & Seung 2006): while learning, each
  readout group gets a random bias per trial (``explore``), so groups that no pattern has claimed yet still
  win sometimes; the reward signal is the reward minus a running mean per stimulus (``baseline_alpha``).
* **Teacher patterns**: in training, pattern tasks may drive the memory units with ``target_patterns`` (what
  should be active at each scored step, ``teacher=True``) -- the experienced pattern, not the answer class.

Running: the network is built once and reused. A training trial is one ``sim.run`` per scored step (the
controller needs the decision before the reward), the first one led by an inter-trial interval during
which the previous trial's dopamine acts on its eligibility; a test trial is one ``sim.run`` with the
rules' ``gate`` off. Between trials, activity, traces and short-term plasticity are reset in numpy (a
global reset). The per-trial ``sim.run`` costs ~0.2 s of Brian2 preparation; per simulated second the
numpy target costs ~1 s CPU here, dominated by per-time-step object overhead rather than network size.
Cython (measured on the associative recall network, 300 neurons, 48k synapses, a loaded 2-core machine)
was ~20% faster per step once compiled but needed ~6 CPU-minutes to compile cold, so ``numpy`` is the
default for every size used here; pass ``target="cython"`` for long runs of one model.

Counting: ``n_parameters`` = plastic synapses (``mem_mem`` + ``mem_out``) not pruned; ``ops`` = synaptic
events (every spike, input sources included, × the out-degree of its neuron, all projections); energy =
events × 23.6 pJ + plastic weight updates (spikes reaching plastic synapses while learning) × 120 pJ (Loihi,
Davies et al. 2018; :func:`neurosim.metrics.snn_energy_j`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from brian2 import Hz, Quantity, ms, mV, second, um

from ..build import Simulation, build, default_target
from ..connectivity import GaussianKernel
from ..controller import CorrectWrong, FrontalController, RunningBaseline
from ..encoding import PoissonEncoder, SpikeCountDecoder, spike_counts
from ..metrics import E_SYNOP_LOIHI_J, snn_energy_j
from ..network import (
    ExplicitConnections,
    NetworkDescription,
    PoissonBackground,
    Population,
    Projection,
    SpikeRecording,
)
from ..neurons import LIF, SpikeSource
from ..plasticity.base import Rule, RuleCode
from ..plasticity.reward import RewardModulated, clear_eligibility
from ..plasticity.stp import TsodyksMarkram
from ..pruning import SynapseStats, WeightMagnitude, select
from ..serialization import Describable, encode
from ..space import UniformBox
from ..tasks import StoreRecall, Task, Trial
from ..validation import check_number, check_quantity, fail
from .base import Fit, LearnerBase, Prediction

#: The plastic projections: what ``n_parameters`` counts and :meth:`SpikingLearner.prune` prunes.
PLASTIC = ("mem_mem", "mem_out")


@dataclass(frozen=True)
class CoActivityHebb(Rule):
    """Symmetric co-activity Hebbian rule (a symmetric STDP window; Hebb 1949).

    Event-driven traces ``apre`` and ``apost`` jump by 1 at each pre- / postsynaptic spike (at the
    synapse) and decay with ``tau``. A postsynaptic spike adds ``eta·apre``, a presynaptic spike adds
    ``eta·apost − depress``: a pair Δt apart potentiates by ``eta·exp(−|Δt|/tau)`` in either order; a
    presynaptic spike whose target is silent depresses by ``depress``. ``gate`` (a shared synapse
    variable, 1 by default) switches learning on and off between runs without recompiling
    (``synapses.<name>_gate = 0``). As a weight rule it changes ``w``; under
    :class:`~neurosim.plasticity.reward.RewardModulated` its ``dw`` becomes eligibility instead.
    """

    role = "weight"
    namespace = "hebb"

    eta: float = 0.05  # potentiation per unit of the partner's trace
    tau: Quantity = 20 * ms  # coincidence window (decay of the traces)
    depress: float = 0.0  # depression per presynaptic spike (>= 0)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("CoActivityHebb", "eta", self.eta, low=0)
        check_number("CoActivityHebb", "depress", self.depress, low=0)
        self.check_positive(ms, "tau")

    def code(self) -> RuleCode:
        return RuleCode(
            equations=(
                "gate : 1 (shared)\n"
                "dapre/dt = -apre/tau : 1 (event-driven)\n"
                "dapost/dt = -apost/tau : 1 (event-driven)"
            ),
            initial={"gate": 1.0},
            on_pre="apre += 1\ndw = gate*(eta*apost - depress)",
            on_post="apost += 1\ndw = gate*eta*apre",
        )


@dataclass(frozen=True)
class SpikingParams(Describable):
    """Hyperparameters of :class:`SpikingLearner` (all documented in the results' config)."""

    dt: Quantity = 1 * ms  # simulation step (Bellec et al. 2018 and Izhikevich 2007 use 1 ms)
    input_rate: Quantity = 50 * Hz  # rate of an active input channel's sources (Bellec et al.: 50 Hz)
    neurons_per_input: int = 8  # spike sources per task channel
    neurons_per_unit: int = 2  # memory neurons per content channel (unit)
    neurons_per_output: int = 6  # readout neurons per answer class
    inh_fraction: float = 0.25  # inhibitory neurons per excitatory neuron (mem_inh and out_inh)
    box: Quantity = 200 * um  # edge of the cube holding the memory population
    connection_p: float = 0.8  # peak probability of the distance kernels
    rec_in_degree: float = 0.7  # mean recurrent in-degree as a fraction of the memory population
    # memory population: LIF (τ_m 20 ms, threshold 20 mV above rest), exponential current synapses
    tau_m: Quantity = 20 * ms
    tau_exc: Quantity = 50 * ms  # slow (NMDA-like) excitation: persistent states need it (Wang 1999)
    tau_inh: Quantity = 10 * ms
    J_in: Quantity = (
        1.6 * mV
    )  # topographic input per spike (input weights: for 8 sources, scaled by 8 / their number)
    J_rec: Quantity = 6.5 * mV  # recurrent E→E at w = 1 (times the STP efficacy u·x)
    J_ei: Quantity = 2.0 * mV  # memory → inhibition
    J_ie: Quantity = 2.0 * mV  # inhibition → memory (for 50 inhibitory neurons; scaled by 50 / their number)
    # write gate (only with a write channel): channel AND write → gate unit → memory unit
    neurons_per_gate: int = 8  # gate neurons per content unit
    J_gate_in: Quantity = 1.8 * mV  # channel → gate and write → gate, per spike (each alone subthreshold)
    J_gate_mem: Quantity = 5.0 * mV  # gate unit → its memory unit
    J_gate_inh: Quantity = 4.0 * mV  # gate → memory inhibition (silences the previous item)
    # short-term plasticity of mem_mem (Mongillo et al. 2008: U 0.19, τ_f 1.5 s, τ_d 200 ms)
    U: float = 0.19
    tau_f: Quantity = 1500 * ms
    tau_d: Quantity = 50 * ms
    # Hebbian imprinting of mem_mem
    hebb_eta: float = 0.05  # per unit trace: ~1 per 200 ms of co-activity at 40 Hz (one-shot imprint)
    hebb_tau: Quantity = 20 * ms
    hebb_depress: float = 0.0
    # readout
    J_out: Quantity = 5.0 * mV  # memory → readout at w = 1
    J_read: Quantity = 1.5 * mV  # read gate (RECALL) → readout, per spike
    J_self: Quantity = 8.0 * mV  # excitation within a readout group (winner-take-all with out_inh)
    J_oi: Quantity = 6.0 * mV  # readout → its inhibition
    J_io: Quantity = (
        15.0 * mV
    )  # inhibition → readout (for 15 inhibitory neurons; scaled by 15 / their number)
    w_out_init: tuple[float, float] = (0.3, 0.5)  # initial readout weights, uniform in this range
    noise_rate: Quantity = 100 * Hz  # Poisson background to the readout (one fibre per neuron)
    J_noise: Quantity = 2.0 * mV
    # reward learning (three-factor rule)
    elig_eta: float = 0.1  # co-activity → eligibility
    elig_tau: Quantity = 20 * ms
    elig_depress: float = 0.02  # per presynaptic spike: silent readout neurons get negative eligibility
    reward_eta: Quantity = 20 * Hz  # dw/dt = η·da·c
    tau_c: Quantity = 100 * ms  # eligibility decay
    tau_da: Quantity = 50 * ms  # dopamine decay
    correct: float = 1.0  # reward for a correct decision
    wrong: float = -0.5  # punishment for a wrong (or missing) decision (smaller: exploration survives)
    # reward-prediction error: the running mean reward per stimulus (target) is subtracted (Frémaux &
    # Gerstner 2016; Schultz et al. 1997); 0 = raw reward. Measured on associative recall (10 patterns,
    # 250 trials, seed 0): 0.80 test accuracy with 0.2 vs 0.72 without
    baseline_alpha: float = 0.2
    # exploration by perturbation (Fiete & Seung 2006; LMAN-driven song variability, Ölveczky et al. 2005): in
    # training, each readout group gets a random bias (I_ext, N(0, explore) per group and trial), so groups
    # that no pattern drives yet still win sometimes and can be rewarded; off at test (as when LMAN is
    # inactivated). Without it, groups no pattern has claimed never win (patterns share units, which drive the
    # claimed groups), and their patterns are never learned (measured: 3 of 10 patterns stuck at chance)
    explore: Quantity = 6 * mV
    iti: Quantity = 300 * ms  # inter-trial interval in training (the previous reward acts)
    teacher: bool = True  # pattern tasks: drive memory units with target_patterns while training
    recall_rate: Quantity = 10 * Hz  # a unit counts as recalled above this rate in a step

    def __post_init__(self) -> None:
        owner = "SpikingParams"
        check_quantity(owner, "dt", self.dt, ms, positive=True)
        for name in ("neurons_per_input", "neurons_per_unit", "neurons_per_output", "neurons_per_gate"):
            check_number(owner, name, getattr(self, name), low=1, integer=True)
        check_number(owner, "inh_fraction", self.inh_fraction, low=0, low_open=True, high=1)
        check_number(owner, "connection_p", self.connection_p, low=0, low_open=True, high=1)
        check_number(owner, "baseline_alpha", self.baseline_alpha, low=0, high=1)
        check_number(owner, "rec_in_degree", self.rec_in_degree, low=0, low_open=True, high=1)
        check_number(owner, "U", self.U, low=0, low_open=True, high=1)
        for name in (
            "tau_m",
            "tau_exc",
            "tau_inh",
            "tau_f",
            "tau_d",
            "hebb_tau",
            "elig_tau",
            "tau_c",
            "tau_da",
        ):
            check_quantity(owner, name, getattr(self, name), ms, positive=True)
        check_quantity(owner, "iti", self.iti, ms, nonnegative=True)
        check_quantity(owner, "explore", self.explore, mV, nonnegative=True)
        lo, hi = self.w_out_init
        if not 0 <= lo <= hi <= 1:
            fail(owner, "w_out_init", self.w_out_init, "expected 0 <= low <= high <= 1")


def _active_units(task: Task) -> int:
    """Active units of one stored item of a pattern task (1 when the task has no coding level)."""
    level = getattr(task, "coding_level", None)
    n = getattr(task, "n_units", None)
    if level is None or n is None:
        return 1
    return max(1, int(math.floor(level * n + 0.5)))


class SpikingLearner(LearnerBase):
    """A neurosim network that learns memory tasks through plasticity and reward (see the module docstring).

    ``write_channel`` / ``read_channel``: task channels acting as gates (STORE / RECALL of store-recall)
    instead of content; ``step_duration``: the task's step (encoder and decoder clock); ``target``: Brian2
    code generation target (default :func:`neurosim.build.default_target`). Use :meth:`for_task`.
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
        self._n_initial = {name: len(self.sim.synapses[name]) for name in PLASTIC}
        self.train_plastic_updates = 0
        self._offsets = {pop: 0 for pop in self._recorded}
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
        params = params if params is not None else SpikingParams()
        if isinstance(task, StoreRecall):
            kwargs.setdefault("write_channel", task.store_channel)
            kwargs.setdefault("read_channel", task.recall_channel)
            # few channels: more sources per channel make the write gate's AND sharp (less input noise)
            params = replace(params, neurons_per_input=max(params.neurons_per_input, 32))
        kwargs.setdefault("step_duration", task.step_duration)
        if assembly_size is not None:
            check_number(cls.__name__, "assembly_size", assembly_size, low=1, integer=True)
            active = task.n_bits if isinstance(task, StoreRecall) else _active_units(task)
            params = replace(params, neurons_per_unit=max(1, math.ceil(assembly_size / active)))
        return cls(task.n_inputs, task.n_outputs, params=params, **kwargs)

    @property
    def n_units(self) -> int:
        return int(self.content.size)

    def description(self) -> NetworkDescription:
        """The network as a plain neurosim description (built once by the constructor)."""
        p = self.params
        g_in, g_mem, g_out, g_gate = (
            p.neurons_per_input,
            p.neurons_per_unit,
            p.neurons_per_output,
            p.neurons_per_gate,
        )
        n_in = self.n_inputs * g_in
        n_mem = self.n_units * g_mem
        n_out = self.n_outputs * g_out
        n_mi = max(2, math.ceil(p.inh_fraction * n_mem))
        n_oi = max(2, math.ceil(p.inh_fraction * n_out))
        box = float(p.box / um)
        per8 = 8 / g_in  # input weights are given for 8 sources per channel: same mean drive, less noise
        exc = LIF(tau_m=p.tau_m, tau_exc=p.tau_exc, tau_inh=p.tau_inh)
        fast = LIF(tau_m=p.tau_m, synapse="delta")
        inh = LIF(tau_m=10 * ms, refractory=1 * ms, synapse="delta")

        def placed(z0: float, size: float = box) -> UniformBox:
            return UniformBox(size=(size * um,) * 3, origin=(0 * um, 0 * um, z0 * um))

        populations = [
            Population("input", n_in, SpikeSource(), placement=placed(-1.5 * box)),
            Population("mem", n_mem, exc, placement=placed(0.0)),
            Population("mem_inh", n_mi, inh, placement=placed(0.0), sign="inhibitory"),
            Population("out", n_out, fast, placement=placed(1.5 * box, box / 2)),
            Population("out_inh", n_oi, inh, placement=placed(1.5 * box, box / 2), sign="inhibitory"),
        ]

        def block(sources: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            i, j = np.meshgrid(sources, targets, indexing="ij")
            return i.ravel(), j.ravel()

        def channel(c: int) -> np.ndarray:
            return np.arange(c * g_in, (c + 1) * g_in)

        def topographic(g: int) -> ExplicitConnections:
            pairs = [
                block(channel(int(c)), np.arange(u * g, (u + 1) * g)) for u, c in enumerate(self.content)
            ]
            return ExplicitConnections(
                np.concatenate([i for i, _ in pairs]), np.concatenate([j for _, j in pairs])
            )

        dense = GaussianKernel(p_max=p.connection_p, sigma=4 * p.box)  # ~p everywhere within the box
        stp = TsodyksMarkram(U=p.U, tau_d=p.tau_d, tau_f=p.tau_f)
        hebb = CoActivityHebb(eta=p.hebb_eta, tau=p.hebb_tau, depress=p.hebb_depress)
        elig = CoActivityHebb(eta=p.elig_eta, tau=p.elig_tau, depress=p.elig_depress, name="elig")
        reward = RewardModulated(tau_c=p.tau_c, tau_da=p.tau_da, eta=p.reward_eta, period=10 * ms)
        lo, hi = p.w_out_init
        projections = [
            Projection(
                "mem_mem",
                "mem",
                "mem",
                p.J_rec,
                rules=(stp, hebb),
                w_init=0.0,
                connectivity=GaussianKernel(p_max=p.connection_p, in_degree=p.rec_in_degree * (n_mem - 1)),
            ),
            Projection("mem_inh_e", "mem", "mem_inh", p.J_ei, connectivity=dense),
            Projection("inh_mem", "mem_inh", "mem", p.J_ie * 50 / n_mi, connectivity=dense),
            Projection(
                "mem_out",
                "mem",
                "out",
                p.J_out,
                rules=(elig, reward),
                w_init=f"{lo} + {hi - lo}*rand()",
                connectivity=GaussianKernel(p_max=1.0, sigma=10 * p.box),
            ),
            Projection(
                "out_self", "out", "out", p.J_self, connectivity=ExplicitConnections(*self._within_groups())
            ),
            Projection("out_oinh", "out", "out_inh", p.J_oi, connectivity=dense),
            Projection("oinh_out", "out_inh", "out", p.J_io * 15 / n_oi, connectivity=dense),
        ]
        if self.write_channel is None:
            projections.insert(
                0, Projection("in_mem", "input", "mem", p.J_in * per8, connectivity=topographic(g_mem))
            )
        else:
            # write gate: gate unit u fires only while its channel AND the write channel are on (each alone is
            # subthreshold); it ignites memory unit u and, through the inhibition, silences the old item.
            n_gate = self.n_units * g_gate
            populations.append(Population("gate", n_gate, fast, placement=placed(-0.75 * box, box / 2)))
            gi, gj = block(np.arange(self.n_units * g_gate), np.arange(n_mem))
            same_unit = gi // g_gate == gj // g_mem
            projections += [
                Projection("in_gate", "input", "gate", p.J_gate_in * per8, connectivity=topographic(g_gate)),
                Projection(
                    "write_gate",
                    "input",
                    "gate",
                    p.J_gate_in * per8,
                    connectivity=ExplicitConnections(*block(channel(self.write_channel), np.arange(n_gate))),
                ),
                Projection(
                    "gate_mem",
                    "gate",
                    "mem",
                    p.J_gate_mem,
                    connectivity=ExplicitConnections(gi[same_unit], gj[same_unit]),
                ),
                Projection("gate_inh", "gate", "mem_inh", p.J_gate_inh, connectivity=dense),
            ]
        if self.read_channel is not None:
            projections.append(
                Projection(
                    "read_out",
                    "input",
                    "out",
                    p.J_read * per8,
                    connectivity=ExplicitConnections(*block(channel(self.read_channel), np.arange(n_out))),
                )
            )
        inputs = (PoissonBackground("noise_out", "out", p.noise_rate, 1, p.J_noise),)
        recordings = tuple(SpikeRecording(pop.name) for pop in populations if pop.name != "input")
        return NetworkDescription(
            populations=tuple(populations),
            projections=tuple(projections),
            inputs=inputs,
            recordings=recordings,
            seed=self.seed,
            dt=p.dt,
        )

    @property
    def _recorded(self) -> tuple[str, ...]:
        return ("mem", "mem_inh", "out", "out_inh") + (("gate",) if self.write_channel is not None else ())

    def _within_groups(self) -> tuple[np.ndarray, np.ndarray]:
        """Every pair of distinct neurons inside each readout group (the groups' self-excitation)."""
        g = self.params.neurons_per_output
        i, j = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
        keep = i != j
        base = np.arange(self.n_outputs)[:, None] * g
        return (base + i[keep]).ravel(), (base + j[keep]).ravel()

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
            "synapses": {name: len(syn) for name, syn in self.sim.synapses.items()},
            "target": self.target,
            "seed": self.seed,
            "learning": "CoActivityHebb (mem_mem, Hebbian) + RewardModulated via FrontalController (mem_out)",
            "pruned_fraction": self.pruned_fraction,
        }

    # -- sizes and pruning --------------------------------------------------------------------------------
    @property
    def n_parameters(self) -> int:
        """Plastic synapses in use (``mem_mem`` + ``mem_out``)."""
        return int(sum(len(self.sim.synapses[name]) for name in PLASTIC))

    @property
    def n_parameters_initial(self) -> int:
        return int(sum(self._n_initial.values()))

    @property
    def pruned_fraction(self) -> float:
        return 1.0 - self.n_parameters / self.n_parameters_initial

    def prune(self, fraction: float) -> int:
        """Remove plastic synapses until ``fraction`` of the initial ones are gone: global minimal-value
        deletion (weakest ``|w|`` first; Chechik, Meilijson & Ruppin 1998) with
        :func:`neurosim.pruning.select` + :class:`~neurosim.pruning.WeightMagnitude`, compacted with
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
        mon = self.sim.monitors[f"spikes:{pop}"]
        k = self._offsets[pop]
        return np.asarray(mon.i[k:]), np.asarray(mon.t_[k:])

    def _reset(self, eligibility: bool = True) -> None:
        """Start a trial from rest (a global inhibitory reset): membrane potentials, the rules' neuron traces,
        short-term plasticity and (unless a reward is still due) the readout's eligibility."""
        self._reset_activity()
        for name in PLASTIC:
            syn = self.sim.synapses[name]
            prefix = "hebb" if name == "mem_mem" else "elig"
            setattr(syn, f"{prefix}_apre", 0.0)
            setattr(syn, f"{prefix}_apost", 0.0)
        self.sim.synapses["mem_mem"].stp_x = 1.0
        if eligibility:
            clear_eligibility(self.sim, "mem_out")

    def _set_learning(self, on: bool) -> None:
        self.sim.synapses["mem_mem"].hebb_gate = 1.0 if on else 0.0
        self.sim.synapses["mem_out"].elig_gate = 1.0 if on else 0.0

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
            self._offsets[pop] = len(self.sim.monitors[f"spikes:{pop}"].i)
        before = self._spike_totals()
        lead = p.iti if learn else 0 * ms
        t0 = self.sim.t + lead
        seed = int(self._rng.integers(2**31))
        spikes = self.encoder.encode(self._inputs(trial, learn), seed=seed)
        self.sim.groups["input"].set_spikes(spikes.indices, spikes.times + t0)
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
        self.sim.groups["out"].I_ext = np.repeat(bias, g) * mV

    def _reset_activity(self) -> None:
        for name, group in self.sim.groups.items():
            if name != "input":
                group.v = group.namespace["E_L"]
                for var in ("I_exc", "I_inh"):
                    if var in group.variables:
                        setattr(group, var, 0 * mV)
        self.sim.synapses["mem_mem"].stp_u = 0.0

    def _spike_totals(self) -> dict[str, np.ndarray]:
        return {pop: np.asarray(self.sim.monitors[f"spikes:{pop}"].count[:]).copy() for pop in self._recorded}

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
                if (
                    proj in PLASTIC
                ):  # presynaptic spikes reach the synapses; postsynaptic spikes update them too
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


__all__ = ["PLASTIC", "CoActivityHebb", "SpikingLearner", "SpikingParams"]
