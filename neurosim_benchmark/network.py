"""The reference network of the benchmark: its size, its plasticity case and its neurosim description.

``N`` LIF neurons, 80 % excitatory (E) and 20 % inhibitory (I), current-based exponential synapses (NEST
``iaf_psc_exp``), placed uniformly in a 1 mm cube. Each of the four projections (E→E, E→I, I→E, I→I) draws
synapses with a Gaussian distance kernel whose width is solved for the wanted mean in-degree (``0.8 K`` from
E, ``0.2 K`` from I); delays are 0.5 ms + distance/(0.5 m/s); each neuron receives an independent Poisson
background. E→E synapses carry

* (a) no plasticity;
* (b) pair STDP (additive, all-to-all; :class:`~neurosim.plasticity.FastPairSTDP` by default, or the
  per-synapse-trace :class:`~neurosim.PairSTDP` with ``stdp="synapse"``);
* (c) Tsodyks–Markram STP + pair STDP + an eligibility trace (:class:`~neurosim.RewardModulated`: STDP's dw
  feeds the trace, dopamine turns it into w; no dopamine is delivered). By default STP keeps its state on the
  presynaptic neuron (:class:`~neurosim.plasticity.FastTsodyksMarkram`: one update per spike, not per spike
  and synapse; ``stdp="synapse"``: per-synapse ``TsodyksMarkram`` and ``PairSTDP``), and the eligibility is
  settled once per presynaptic spike and tick, so a postsynaptic spike does not pay for either at each of its
  incoming synapses.

Scaling with K (balanced-network scaling, van Vreeswijk & Sompolinsky 1996, Science 274:1724):
``J_E = j_exc·sqrt(100/K)`` keeps the recurrent fluctuations independent of K, inhibitory weights are
``g·J_E``, and the background rate rises with K to cancel the growing net inhibition at the target rate
(mean-field), so every size fires at about the same rate (≈7 Hz, irregular). In case (c) the E→E weight
scale is divided by the STP efficacy expected at that rate, so all cases get the same mean input. A pruned
network (``keep=0.1``: a random 10 % of every projection's synapses) is scaled the same way for its remaining
in-degree ``K·keep``, so it fires at the same rate and the speed comparison is at matched activity.
``keep=0`` is the *floor*: the same neurons, rules and background with no recurrent synapse at all (driven by
the background alone, so it fires less): the time no pruning can go below, which bounds the pruned speed-up
of that engine (``T_unpruned / T_floor``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from brian2 import Hz, Quantity, ms, mV, second

from neurosim import (
    LIF,
    GaussianKernel,
    NetworkDescription,
    PairSTDP,
    ParameterError,
    PoissonBackground,
    Population,
    Projection,
    RewardModulated,
    SpikeRecording,
    TsodyksMarkram,
)
from neurosim.plasticity import FastPairSTDP, FastTsodyksMarkram
from neurosim.serialization import Describable
from neurosim.validation import check_choice, check_number

CASES = {
    "a": "no plasticity",
    "b": "pair STDP",
    "c": "TM STP + pair STDP + eligibility trace",
}
SIZES = ((2_000, 100), (10_000, 100), (10_000, 1_000), (20_000, 1_000))
PROJECTIONS = (("EE", "E", "E"), ("EI", "E", "I"), ("IE", "I", "E"), ("II", "I", "I"))


@dataclass(frozen=True)
class BenchmarkNetwork(Describable):
    """The reference network for one size and plasticity case (see the module docstring)."""

    n: int = 2_000  # neurons (80 % E, 20 % I)
    k: int = 100  # mean in-degree (all inputs of one neuron)
    case: str = "a"  # "a" (static), "b" (pair STDP), "c" (STP + STDP + eligibility trace)
    # "neuron": FastPairSTDP and FastTsodyksMarkram (state per neuron); "synapse": PairSTDP, TsodyksMarkram
    stdp: str = "neuron"
    seed: int = 1
    dt: Quantity = 0.1 * ms
    exc_fraction: float = 0.8
    j_exc: Quantity = 2 * mV  # E current jump at K = 100 (PSP ≈ 0.31 mV); scales as sqrt(100/K)
    g: float = 4.0  # inhibitory / excitatory weight ratio (inhibition-dominated with tau_inh = 2 tau_exc)
    target_rate: Quantity = 7 * Hz  # rate assumed by the mean-field background tuning
    drive: Quantity = (
        16 * mV
    )  # net mean input (background + recurrent) aimed for; threshold is 20 mV above rest
    n_background: int = 100  # Poisson fibres per neuron
    j_background: Quantity = 1 * mV  # current jump per background spike
    w_init: float = 0.5  # initial E→E w (w_max = 1): room for potentiation and depression
    stp_U: float = 0.2  # Tsodyks–Markram utilisation (case c)
    stp_tau_d: Quantity = 200 * ms  # Tsodyks–Markram recovery (case c)
    tau_c: Quantity = 1 * second  # eligibility time constant (case c)
    reward_period: Quantity = 100 * ms  # RewardModulated weight-update period (case c)
    keep: float = 1.0  # fraction of synapses kept (pruned: 0.1; 0: the floor); weights scaled for K·keep

    def __post_init__(self) -> None:
        check_number("BenchmarkNetwork", "n", self.n, low=10, integer=True)
        check_number("BenchmarkNetwork", "k", self.k, low=1, integer=True)
        check_choice("BenchmarkNetwork", "case", self.case, tuple(CASES))
        check_choice("BenchmarkNetwork", "stdp", self.stdp, ("neuron", "synapse"))
        check_number("BenchmarkNetwork", "keep", self.keep, low=0, high=1)
        if self.k * self.exc_fraction >= self.n_exc or self.k * (1 - self.exc_fraction) >= self.n_inh:
            raise ParameterError(
                f"BenchmarkNetwork: parameter 'k' = {self.k} is too large for n = {self.n}; "
                "each population must offer more sources than the in-degree it provides"
            )

    # -- derived parameters ----------------------------------------------------------------------------
    @property
    def n_exc(self) -> int:
        return int(round(self.n * self.exc_fraction))

    @property
    def n_inh(self) -> int:
        return self.n - self.n_exc

    @property
    def sizes(self) -> dict[str, int]:
        """Neurons per population."""
        return {"E": self.n_exc, "I": self.n_inh}

    @property
    def k_eff(self) -> float:
        """In-degree left after pruning, which sets the weights and the background."""
        return self.k * self.keep

    @property
    def J_E(self) -> Quantity:
        """Excitatory current jump (volt) of a static synapse (the floor, ``keep=0``, has none: K's jump)."""
        return self.j_exc * math.sqrt(100.0 / (self.k_eff or self.k))

    @property
    def stp_efficacy(self) -> float:
        """Mean Tsodyks–Markram efficacy U·x at the target rate (steady state of pure depression)."""
        rate_tau = float(self.target_rate * self.stp_tau_d)
        return self.stp_U / (1.0 + self.stp_U * rate_tau)

    @property
    def stp_x0(self) -> float:
        """Steady-state resources at the target rate, ``1/(1 + U·r·τ_d)`` (the mean x at the spikes of a
        Poisson train): every engine starts there, so no start-up transient distorts short runs."""
        return self.stp_efficacy / self.stp_U

    def set_stp_state(self, sim: Any) -> None:
        """Start case (c)'s E→E resources at :attr:`stp_x0` (on the E neurons with FastTsodyksMarkram)."""
        if self.stdp == "neuron":
            sim.groups["E"].stp_x = self.stp_x0
        else:
            sim.synapses["EE"].stp_x = self.stp_x0

    @property
    def J_EE(self) -> float:
        """E→E weight scale J (mV) such that J·w_init·efficacy = J_E."""
        eff = self.stp_efficacy if self.case == "c" else 1.0
        return float(self.J_E / mV) / (self.w_init * eff)

    def weights_mV(self) -> dict[str, float]:
        """J per projection in mV (positive; the sign comes from the source population)."""
        je = float(self.J_E / mV)
        return {"EE": self.J_EE, "EI": je, "IE": self.g * je, "II": self.g * je}

    @property
    def background_rate(self) -> Quantity:
        """Rate per background fibre: the drive minus the recurrent mean input at the target rate."""
        tau_exc, tau_inh = 5 * ms, 10 * ms
        f = self.exc_fraction
        recurrent = self.target_rate * self.k_eff * self.J_E * (f * tau_exc - (1 - f) * self.g * tau_inh)
        return (self.drive - recurrent) / (self.n_background * self.j_background * tau_exc)

    def rules(self) -> tuple[Any, ...]:
        """The E→E plasticity rules of this case."""
        if self.case == "a":
            return ()
        stdp = FastPairSTDP() if self.stdp == "neuron" else PairSTDP()
        if self.case == "b":
            return (stdp,)
        stp = FastTsodyksMarkram if self.stdp == "neuron" else TsodyksMarkram
        return (
            stp(U=self.stp_U, tau_d=self.stp_tau_d, tau_f=None),
            stdp,
            RewardModulated(tau_c=self.tau_c, period=self.reward_period),
        )

    def description(self) -> NetworkDescription:
        """The neurosim :class:`~neurosim.NetworkDescription` of this network."""
        lif = LIF()  # tau_m 20 ms, rest -70, threshold -50, reset -60, 2 ms refractory, exponential synapses
        init = {"v": "E_L + rand()*(v_threshold - E_L)"}
        pops = (
            Population("E", self.n_exc, lif, sign="excitatory", initial=init),
            Population("I", self.n_inh, lif, sign="inhibitory", initial=init),
        )
        J = self.weights_mV()
        projs = []
        for name, src, tgt in PROJECTIONS:
            share = self.exc_fraction if src == "E" else 1 - self.exc_fraction
            plastic = name == "EE"
            projs.append(
                Projection(
                    name,
                    src,
                    tgt,
                    weight=J[name] * mV,
                    connectivity=GaussianKernel(in_degree=self.k * share),
                    rules=self.rules() if plastic else (),
                    w_init=self.w_init if plastic else 1.0,
                    w_max=1.0,
                )
            )
        inputs = tuple(
            PoissonBackground(f"bg{p}", p, self.background_rate, self.n_background, self.j_background)
            for p in ("E", "I")
        )
        return NetworkDescription(
            populations=pops,
            projections=tuple(projs),
            inputs=inputs,
            recordings=(SpikeRecording("E"), SpikeRecording("I")),
            seed=self.seed,
            dt=self.dt,
        )
