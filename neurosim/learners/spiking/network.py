"""The spiking learner's network: a 3D E/I network that learns memory tasks through plasticity and reward.

No gradient and no backpropagation anywhere: synapses change only through local rules composed with the
rule API (:mod:`neurosim.plasticity`) and the third factor sent by the frontal controller
(:class:`~neurosim.frontal.FrontalController` + :class:`~neurosim.plasticity.reward.RewardModulated`).
This module says *what the network is* (:class:`SpikingParams`, :class:`CoActivityHebb`,
:func:`network_description`); :mod:`~neurosim.learners.spiking.learner` runs trials on it.

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
  (``neurons_per_unit`` neurons; :func:`params_for_task` makes one stored item ~20 neurons).
* **Long-term memory (weights)**: the recurrent synapses ``mem_mem`` start at w = 0 and learn with a symmetric
  co-activity rule (:class:`CoActivityHebb`; Hebb 1949): each presented pattern writes a clipped Hebbian
  assembly (Willshaw et al. 1969) that a partial cue later completes (pattern completion; Hopfield 1982);
  it imprints only while input arrives (``imprint_only_with_input``: encoding vs retrieval, Hasselmo 2006).
* **Working memory (activity + short-term facilitation)**: an ignited assembly keeps firing through silent
  steps. Its synapses are facilitating Tsodyks–Markram synapses (U 0.19, τ_f 1.5 s: Mongillo, Barak & Tsodyks
  2008; τ_d shortened to 50 ms so that depression does not end the state in assemblies this small) and the
  memory neurons have slow (NMDA-like, τ 50 ms) excitatory synapses, which persistent states need (Wang
  1999): unfacilitated synapses transmit only U, so silent assemblies do not ignite from stray spikes.
* **Write gate** (``write_channel``, the STORE of store-recall): content reaches memory only through ``gate``
  neurons that need their channel AND the write channel (each alone is subthreshold); a gated unit ignites its
  assembly and, through the inhibition, silences the previous item, which is how a new STORE overwrites.
  A ``read_channel`` (RECALL) adds a nonspecific drive to the readout.
* **Learned gating** (``learned_gating``): no ``write_gate`` and no ``read_out``; the STORE and RECALL
  channels reach nothing. The frontal controller opens the gate (a bias on the gate neurons that makes their
  content input sufficient) and reads (a bias on the readout; only then is its answer emitted) per step, as
  Go/NoGo policies learned from reward (:mod:`~neurosim.learners.spiking.gating`).
* **Readout learned by reward**: ``mem_out`` synapses turn co-activity into eligibility (the same rule; a
  presynaptic spike onto a silent readout neuron makes it negative); the frontal controller rewards the
  readout's decisions (see :mod:`~neurosim.learners.spiking.learner`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from brian2 import Hz, Quantity, ms, mV, second, um

from ...connectivity import GaussianKernel
from ...network import (
    ExplicitConnections,
    NetworkDescription,
    PoissonBackground,
    Population,
    Projection,
    SpikeRecording,
)
from ...neurons import LIF, SpikeSource
from ...plasticity.reward import RewardModulated
from ...plasticity.reward_consolidation import RewardConsolidation
from ...plasticity.rule import Rule, RuleCode
from ...plasticity.stp import TsodyksMarkram
from ...serialization import Describable
from ...space import UniformBox
from ...tasks import StoreRecall, Task
from ...validation import check_number, check_quantity, fail

#: The plastic projections: what ``n_parameters`` counts and pruning prunes.
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
            rest={"apre": 0.0, "apost": 0.0},
        )


@dataclass(frozen=True)
class SpikingParams(Describable):
    """Hyperparameters of the spiking learner's network and learning (documented in the results' config)."""

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
    J_in: Quantity = 1.6 * mV  # topographic input per spike (for 8 sources; scaled by 8 / their number)
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
    # encoding vs retrieval (acetylcholine; Hasselmo et al. 1995, Hasselmo 2006): in training mem_mem imprints
    # only while input (cue or teacher) arrives, not in silent stretches, where a cue completed to the union
    # of overlapping patterns would imprint the union
    imprint_only_with_input: bool = True
    # readout
    J_out: Quantity = 5.0 * mV  # memory → readout at w = 1
    J_read: Quantity = 1.5 * mV  # read gate (RECALL) → readout, per spike
    J_self: Quantity = 8.0 * mV  # excitation within a readout group (winner-take-all with out_inh)
    J_oi: Quantity = 6.0 * mV  # readout → its inhibition
    J_io: Quantity = 15.0 * mV  # inhibition → readout (for 15 inhibitory neurons; scaled by 15 / their n)
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
    # Gerstner 2016; Schultz et al. 1997), so stimuli already answered right stop moving the weights;
    # 0 = raw reward
    baseline_alpha: float = 0.2
    # exploration by perturbation (Fiete & Seung 2006; LMAN-driven song variability, Ölveczky et al. 2005): in
    # training, each readout group gets a random bias (I_ext, N(0, explore) per group and trial), so groups
    # that no pattern drives yet still win sometimes and can be rewarded; off at test (as when LMAN is
    # inactivated). Without it, groups no pattern has claimed never win (patterns share units, which drive the
    # claimed groups), and their patterns are never learned
    explore: Quantity = 6 * mV
    # readout excitability homeostasis (DeSieno 1988's conscience; intrinsic plasticity, Turrigiano 1999):
    # after each judged training decision a group's bias moves by this × (1/K − won); training only; 0: off
    readout_homeostasis: Quantity = 1 * mV
    iti: Quantity = 300 * ms  # inter-trial interval in training (the previous reward acts)
    teacher: bool = True  # pattern tasks: drive memory units with target_patterns while training
    # ... from this long after a scored step's onset: the training answer is read before it (prequential)
    teacher_onset: Quantity = 100 * ms
    recall_rate: Quantity = 10 * Hz  # a unit counts as recalled above this rate in a step
    # the frontal controller in the learning loop: switches, all off by default (immediate reward only)
    delayed_reward: bool = False  # the reward arrives reward_delay after the decision, through eligibility
    reward_delay: Quantity = 1 * second  # Izhikevich 2007's distal reward (1-3 s); tau_c must cover it
    prune_during_learning: bool = False  # weak plastic synapses pruned while training, compacted
    prune_every: int = 40  # training trials between pruning steps
    prune_final: float = 0.8  # fraction of each plastic projection pruned at the end of the schedule
    prune_steps: int = 8  # pruning steps of the ramp (TargetSparsity: fast early, gentle late)
    prune_weak: float = 0.05  # |w| below which a synapse is weak (never imprinted, or depressed)
    prune_silent: Quantity = 0 * Hz  # also prune synapses whose source fired below this since the run began
    consolidation: bool = False  # reward-driven mem_out changes fade unless captured (RewardConsolidation)
    consolidate_above: float = 0.5  # a reward-prediction error at least this large makes proteins
    # divides the consolidation time constants: early changes fade over 6884 s / 300 = 23 s, so what a
    # later task does to an earlier task's synapses fades within that task unless it is rewarded there
    consolidation_time_scale: float = 300.0
    # readout neurons also make proteins from their own summed early changes (RewardConsolidation's
    # theta_pro); off: only the controller's judgement does, in the decided readout group, so a later task's
    # rewarded changes cannot capture the synapses it overwrites in other groups
    self_proteins: bool = False
    # learned gating (write and read channels, blocks): no write_gate and no read_out projection; a Go/NoGo
    # policy per step's input learns from reward when to open the write gate and when to drive the readout
    # (frontal.GatingPolicy; PBWM, O'Reilly & Frank 2006); see learners.spiking.gating
    learned_gating: bool = False
    gating_epsilon: float = 0.1  # probability of a random gate action per step in training (none at test)
    gating_alpha: float = 0.1  # step of the policy's values toward each reward
    gating_bias: Quantity = 15 * mV  # I_ext of the gate neurons while the write gate is open
    gating_hold: int = 16  # training trials per write configuration (0: per-step epsilon-greedy, no search)
    gating_settle: int = 6  # first trials of each held configuration, not judged (the network adapts)
    read_bias: Quantity = 12 * mV  # I_ext of the readout when the controller reads (hand-wired RECALL's mean)
    test_copies: int = 0  # test trials side by side on this many network copies (0: by size; 1: one by one)
    # training trials in one cpp_standalone run per training call, the controller's judgement compiled too
    # (learners.spiking.compiled; the built-in controller only: other switches train on the runtime target)
    compiled_training: bool = False

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
        check_quantity(owner, "teacher_onset", self.teacher_onset, ms, positive=True)
        check_quantity(owner, "explore", self.explore, mV, nonnegative=True)
        check_quantity(owner, "readout_homeostasis", self.readout_homeostasis, mV, nonnegative=True)
        lo, hi = self.w_out_init
        if not 0 <= lo <= hi <= 1:
            fail(owner, "w_out_init", self.w_out_init, "expected 0 <= low <= high <= 1")
        self._check_switches(owner)

    def _check_switches(self, owner: str) -> None:
        """The controller's switches and the settings they need (combinations named in the error)."""
        check_quantity(owner, "reward_delay", self.reward_delay, ms, nonnegative=True)
        if self.delayed_reward:
            if self.tau_c < self.reward_delay:
                fail(
                    owner,
                    "tau_c",
                    self.tau_c,
                    f"with delayed_reward the eligibility must outlast reward_delay ({self.reward_delay}): "
                    "set tau_c >= reward_delay (Izhikevich 2007: tau_c 1 s for 1-3 s delays)",
                )
            if self.reward_delay >= 60 * second:
                fail(
                    owner, "reward_delay", self.reward_delay, "must be shorter than 60 s (the dopamine table)"
                )
        for name in ("prune_every", "prune_steps"):
            check_number(owner, name, getattr(self, name), low=1, integer=True)
        check_number(owner, "prune_final", self.prune_final, low=0, high=1)
        check_quantity(owner, "prune_silent", self.prune_silent, Hz, nonnegative=True)
        check_number(owner, "prune_weak", self.prune_weak, low=0)
        check_number(owner, "consolidate_above", self.consolidate_above)
        check_number(owner, "consolidation_time_scale", self.consolidation_time_scale, low=0, low_open=True)
        check_number(owner, "gating_epsilon", self.gating_epsilon, low=0, high=1)
        check_number(owner, "gating_alpha", self.gating_alpha, low=0, high=1, low_open=True)
        check_quantity(owner, "gating_bias", self.gating_bias, mV, nonnegative=True)
        check_number(owner, "gating_hold", self.gating_hold, low=0, integer=True)
        check_number(
            owner, "gating_settle", self.gating_settle, low=0, high=max(self.gating_hold - 1, 0), integer=True
        )
        check_quantity(owner, "read_bias", self.read_bias, mV, nonnegative=True)
        check_number(owner, "test_copies", self.test_copies, low=0, integer=True)


def _active_units(task: Task) -> int:
    """Active units of one stored item of a pattern task (1 when the task has no coding level)."""
    level = getattr(task, "coding_level", None)
    n = getattr(task, "n_units", None)
    if level is None or n is None:
        return 1
    return max(1, int(math.floor(level * n + 0.5)))


def params_for_task(
    task: Task, params: SpikingParams, assembly_size: int | None, *, owner: str = "SpikingLearner"
) -> SpikingParams:
    """``params`` sized for ``task``: ``neurons_per_unit`` chosen so that one stored item (the active units of
    a pattern, or one bit value) is an assembly of about ``assembly_size`` neurons (None: keep it), and for
    :class:`~neurosim.tasks.StoreRecall` at least 32 sources per channel (few channels: more sources make
    the write gate's AND sharp, with less input noise)."""
    if isinstance(task, StoreRecall):
        params = replace(params, neurons_per_input=max(params.neurons_per_input, 32))
    if assembly_size is not None:
        check_number(owner, "assembly_size", assembly_size, low=1, integer=True)
        active = task.n_bits if isinstance(task, StoreRecall) else _active_units(task)
        params = replace(params, neurons_per_unit=max(1, math.ceil(assembly_size / active)))
    return params


def network_description(
    params: SpikingParams,
    *,
    n_inputs: int,
    n_outputs: int,
    content: np.ndarray,
    write_channel: int | None,
    read_channel: int | None,
    seed: int,
) -> NetworkDescription:
    """The learner's network as a plain neurosim description: ``n_inputs`` task channels, of which
    ``content`` drive memory units and ``write_channel`` / ``read_channel`` (or None) act as STORE / RECALL
    gates, and ``n_outputs`` readout groups."""
    p = params
    n_units = int(content.size)
    g_in, g_mem, g_out, g_gate = (
        p.neurons_per_input,
        p.neurons_per_unit,
        p.neurons_per_output,
        p.neurons_per_gate,
    )
    n_in = n_inputs * g_in
    n_mem = n_units * g_mem
    n_out = n_outputs * g_out
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
        pairs = [block(channel(int(c)), np.arange(u * g, (u + 1) * g)) for u, c in enumerate(content)]
        return ExplicitConnections(
            np.concatenate([i for i, _ in pairs]), np.concatenate([j for _, j in pairs])
        )

    dense = GaussianKernel(p_max=p.connection_p, sigma=4 * p.box)  # ~p everywhere within the box
    stp = TsodyksMarkram(U=p.U, tau_d=p.tau_d, tau_f=p.tau_f)
    hebb = CoActivityHebb(eta=p.hebb_eta, tau=p.hebb_tau, depress=p.hebb_depress)
    elig = CoActivityHebb(eta=p.elig_eta, tau=p.elig_tau, depress=p.elig_depress, name="elig")
    # a long dopamine table: blocks of training trials up to ~2 minutes run as one (learner.trials)
    reward = RewardModulated(
        tau_c=p.tau_c, tau_da=p.tau_da, eta=p.reward_eta, period=10 * ms, horizon=120 * second
    )
    mem_out_rules: tuple[Rule, ...] = (elig, reward)
    if p.consolidation:  # reward-driven changes are early phase; captured ones last (tagging and capture)
        own = {} if p.self_proteins else {"theta_pro": 1e9}  # a sum of early changes no neuron reaches
        mem_out_rules += (RewardConsolidation(time_scale=p.consolidation_time_scale, **own),)
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
            rules=mem_out_rules,
            w_init=f"{lo} + {hi - lo}*rand()",
            connectivity=GaussianKernel(p_max=1.0, sigma=10 * p.box),
        ),
        Projection(
            "out_self",
            "out",
            "out",
            p.J_self,
            connectivity=ExplicitConnections(*_within_groups(n_outputs, p.neurons_per_output)),
        ),
        Projection("out_oinh", "out", "out_inh", p.J_oi, connectivity=dense),
        Projection("oinh_out", "out_inh", "out", p.J_io * 15 / n_oi, connectivity=dense),
    ]
    if write_channel is None:
        projections.insert(
            0, Projection("in_mem", "input", "mem", p.J_in * per8, connectivity=topographic(g_mem))
        )
    else:
        # write gate: gate unit u fires only while its channel AND the write channel are on (each alone is
        # subthreshold); it ignites memory unit u and, through the inhibition, silences the old item.
        n_gate = n_units * g_gate
        populations.append(Population("gate", n_gate, fast, placement=placed(-0.75 * box, box / 2)))
        gi, gj = block(np.arange(n_units * g_gate), np.arange(n_mem))
        same_unit = gi // g_gate == gj // g_mem
        projections.append(
            Projection("in_gate", "input", "gate", p.J_gate_in * per8, connectivity=topographic(g_gate))
        )
        if not p.learned_gating:  # else the controller's bias opens the gate (learners.spiking.gating)
            projections.append(
                Projection(
                    "write_gate",
                    "input",
                    "gate",
                    p.J_gate_in * per8,
                    connectivity=ExplicitConnections(*block(channel(write_channel), np.arange(n_gate))),
                )
            )
        projections += [
            Projection(
                "gate_mem",
                "gate",
                "mem",
                p.J_gate_mem,
                connectivity=ExplicitConnections(gi[same_unit], gj[same_unit]),
            ),
            Projection("gate_inh", "gate", "mem_inh", p.J_gate_inh, connectivity=dense),
        ]
    if read_channel is not None and not p.learned_gating:
        projections.append(
            Projection(
                "read_out",
                "input",
                "out",
                p.J_read * per8,
                connectivity=ExplicitConnections(*block(channel(read_channel), np.arange(n_out))),
            )
        )
    inputs = (PoissonBackground("noise_out", "out", p.noise_rate, 1, p.J_noise),)
    recordings = tuple(SpikeRecording(pop.name) for pop in populations if pop.name != "input")
    return NetworkDescription(
        populations=tuple(populations),
        projections=tuple(projections),
        inputs=inputs,
        recordings=recordings,
        seed=seed,
        dt=p.dt,
    )


def _within_groups(n_outputs: int, g: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of distinct neurons inside each of ``n_outputs`` readout groups of ``g`` neurons (the
    groups' self-excitation)."""
    i, j = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
    keep = i != j
    base = np.arange(n_outputs)[:, None] * g
    return (base + i[keep]).ravel(), (base + j[keep]).ravel()


__all__ = [
    "PLASTIC",
    "CoActivityHebb",
    "SpikingParams",
    "network_description",
    "params_for_task",
]
