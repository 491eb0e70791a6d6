"""Neuron models and spike sources, described as plain data and turned into Brian2 equations.

Every model receives synaptic input through one of three synapse kinds, chosen with ``synapse=``:

* ``"delta"``: a spike moves the membrane potential by the weight (weights in volt).
* ``"exponential"``: current-based exponential synapses written in voltage units (as NEST ``iaf_psc_exp``
  with the membrane resistance folded in): ``dI_exc/dt = -I_exc/tau_exc``; weights in volt.
* ``"conductance"``: conductance-based exponential synapses, conductances relative to the leak conductance
  (dimensionless, as in Song, Miller & Abbott 2000); weights are dimensionless.

All models carry ``I_ext`` (volt), a per-neuron external drive in voltage units; the frontal controller
uses it
for top-down bias. Units are Brian2 units; defaults are documented on each class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from brian2 import Hz, Quantity, Unit, ms, mV, nS, pA, pF, volt

from .serialization import Describable
from .validation import check_choice, check_number, check_quantity, fail, index_tuple

SYNAPSE_KINDS = ("delta", "exponential", "conductance")


@dataclass(frozen=True)
class Channel:
    """Where a projection's spikes land: the variable, the unit of the weight and the sign applied."""

    variable: str
    unit: Unit
    sign: int


class NeuronModel(Describable):
    """Base for neuron models: equations, threshold, reset, refractoriness and synaptic channels."""

    is_source: ClassVar[bool] = False
    synapse: str

    def parameters(self) -> dict[str, Any]:
        """Constants used in the equations (the dataclass fields that are numbers or quantities)."""
        out = {}
        for name, value in vars(self).items():
            if (
                name != "synapse"
                and isinstance(value, (int, float, Quantity))
                and not isinstance(value, bool)
            ):
                out[name] = value
        return out

    def membrane_equations(self, synaptic_input: str) -> str:
        raise NotImplementedError  # pragma: no cover - abstract

    threshold: ClassVar[str] = "v > v_threshold"
    reset: ClassVar[str] = "v = v_reset"

    def equations(self) -> str:
        return self.membrane_equations(_input_terms(self.synapse)) + "\n" + _synapse_equations(self.synapse)

    def refractory_period(self) -> Any:
        return getattr(self, "refractory", 0 * ms)

    def channel(self, sign: str) -> Channel:
        """The input channel for excitatory (``sign="excitatory"``) or inhibitory spikes."""
        exc = sign == "excitatory"
        if self.synapse == "delta":
            return Channel("v", volt, 1 if exc else -1)
        if self.synapse == "exponential":
            return Channel("I_exc" if exc else "I_inh", volt, 1 if exc else -1)
        return Channel("g_exc" if exc else "g_inh", Unit(1), 1)  # dimensionless (get_unit(1) fails checks)

    def initial_values(self) -> dict[str, Any]:
        """Initial state; the membrane starts at rest unless the population overrides it."""
        return {"v": "E_L"}

    def _check_common(self) -> None:
        owner = type(self).__name__
        check_choice(owner, "synapse", self.synapse, SYNAPSE_KINDS)
        for name in ("tau_m", "tau_exc", "tau_inh"):
            if hasattr(self, name):
                check_quantity(owner, name, getattr(self, name), ms, positive=True)
        if hasattr(self, "refractory"):
            check_quantity(owner, "refractory", self.refractory, ms, nonnegative=True)
        for name in ("E_L", "v_threshold", "v_reset", "E_exc", "E_inh"):
            if hasattr(self, name):
                check_quantity(owner, name, getattr(self, name), mV)
        if hasattr(self, "v_threshold") and hasattr(self, "v_reset"):
            if not self.v_reset < self.v_threshold:
                fail(owner, "v_reset", self.v_reset, f"must be below v_threshold = {self.v_threshold}")


def _input_terms(synapse: str) -> str:
    if synapse == "delta":
        return "I_ext"
    if synapse == "exponential":
        return "(I_exc + I_inh + I_ext)"
    return "(g_exc*(E_exc - v) + g_inh*(E_inh - v) + I_ext)"


def _synapse_equations(synapse: str) -> str:
    common = "I_ext : volt"
    if synapse == "delta":
        return common
    if synapse == "exponential":
        return common + "\ndI_exc/dt = -I_exc/tau_exc : volt\ndI_inh/dt = -I_inh/tau_inh : volt"
    return common + "\ndg_exc/dt = -g_exc/tau_exc : 1\ndg_inh/dt = -g_inh/tau_inh : 1"


@dataclass(frozen=True)
class LIF(NeuronModel):
    """Leaky integrate-and-fire: ``tau_m dv/dt = E_L - v + input``; spike and reset at threshold.

    Defaults are generic cortical values (Gerstner et al. 2014, *Neuronal Dynamics*, ch. 1).
    """

    tau_m: Quantity = 20 * ms  # membrane time constant
    E_L: Quantity = -70 * mV  # resting potential
    v_threshold: Quantity = -50 * mV  # spike threshold
    v_reset: Quantity = -60 * mV  # reset potential
    refractory: Quantity = 2 * ms  # absolute refractory period
    synapse: str = "exponential"  # "delta", "exponential" or "conductance"
    tau_exc: Quantity = 5 * ms  # excitatory synaptic time constant
    tau_inh: Quantity = 10 * ms  # inhibitory synaptic time constant
    E_exc: Quantity = 0 * mV  # excitatory reversal potential (conductance synapses)
    E_inh: Quantity = -80 * mV  # inhibitory reversal potential (conductance synapses)

    def __post_init__(self) -> None:
        self._check_common()

    def membrane_equations(self, synaptic_input: str) -> str:
        return f"dv/dt = (E_L - v + {synaptic_input})/tau_m : volt (unless refractory)"


@dataclass(frozen=True)
class AdaptiveLIF(LIF):
    """LIF with an adaptive threshold (Bellec et al. 2018, LSNN): each spike raises the threshold by
    ``beta``, which decays back with ``tau_adapt``. Gives spike-frequency adaptation and a memory trace
    lasting ~``tau_adapt`` (Bellec et al. use 1200 ms)."""

    tau_adapt: Quantity = 1200 * ms  # adaptation time constant
    beta: Quantity = 1.7 * mV  # threshold increase per spike

    threshold: ClassVar[str] = "v > v_threshold + a"
    reset: ClassVar[str] = "v = v_reset; a += beta"

    def __post_init__(self) -> None:
        self._check_common()
        check_quantity("AdaptiveLIF", "tau_adapt", self.tau_adapt, ms, positive=True)
        check_quantity("AdaptiveLIF", "beta", self.beta, mV, nonnegative=True)

    def membrane_equations(self, synaptic_input: str) -> str:
        return (
            f"dv/dt = (E_L - v + {synaptic_input})/tau_m : volt (unless refractory)\n"
            "da/dt = -a/tau_adapt : volt"
        )


@dataclass(frozen=True)
class AdEx(NeuronModel):
    """Adaptive exponential integrate-and-fire (Brette & Gerstner 2005; defaults are their Fig. 2 values).

    ``C dv/dt = -g_L (v - E_L) + g_L Δ_T exp((v - V_T)/Δ_T) - w + g_L·input``;
    ``tau_w dw/dt = a (v - E_L) - w``.
    """

    C: Quantity = 281 * pF  # membrane capacitance
    g_L: Quantity = 30 * nS  # leak conductance
    E_L: Quantity = -70.6 * mV  # resting potential
    V_T: Quantity = -50.4 * mV  # exponential threshold
    Delta_T: Quantity = 2 * mV  # slope factor
    v_threshold: Quantity = 0 * mV  # spike detection (peak)
    v_reset: Quantity = -70.6 * mV  # reset
    tau_w: Quantity = 144 * ms  # adaptation time constant
    a: Quantity = 4 * nS  # subthreshold adaptation
    b: Quantity = 80.5 * pA  # spike-triggered adaptation
    refractory: Quantity = 0 * ms
    synapse: str = "exponential"
    tau_exc: Quantity = 5 * ms
    tau_inh: Quantity = 10 * ms
    E_exc: Quantity = 0 * mV
    E_inh: Quantity = -80 * mV

    reset: ClassVar[str] = "v = v_reset; w_ad += b"

    def __post_init__(self) -> None:
        self._check_common()
        owner = "AdEx"
        check_quantity(owner, "C", self.C, pF, positive=True)
        check_quantity(owner, "V_T", self.V_T, mV)
        check_quantity(owner, "b", self.b, pA)
        check_quantity(owner, "g_L", self.g_L, nS, positive=True)
        check_quantity(owner, "Delta_T", self.Delta_T, mV, positive=True)
        check_quantity(owner, "tau_w", self.tau_w, ms, positive=True)
        check_quantity(owner, "a", self.a, nS)

    def membrane_equations(self, synaptic_input: str) -> str:
        return (
            "dv/dt = (-g_L*(v - E_L) + g_L*Delta_T*exp((v - V_T)/Delta_T) - w_ad"
            f" + g_L*{synaptic_input})/C : volt (unless refractory)\n"
            "dw_ad/dt = (a*(v - E_L) - w_ad)/tau_w : amp"
        )


@dataclass(frozen=True)
class Izhikevich(NeuronModel):
    """Izhikevich (2003) simple model: ``dv/dt = 0.04 v² + 5 v + 140 − u + I`` (v in mV, t in ms),
    ``du/dt = a (b v − u)``; at v ≥ 30 mV: v ← c, u ← u + d. Defaults: regular spiking (a=0.02, b=0.2,
    c=−65, d=8). Synaptic input defaults to ``delta`` (a spike moves v by the weight), as in Izhikevich 2007.
    """

    a: float = 0.02  # recovery rate (1/ms)
    b: float = 0.2  # recovery sensitivity
    c: Quantity = -65 * mV  # reset potential
    d: Quantity = 8 * mV  # recovery increment
    v_threshold: Quantity = 30 * mV  # spike cut-off
    synapse: str = "delta"
    tau_exc: Quantity = 5 * ms
    tau_inh: Quantity = 10 * ms
    E_exc: Quantity = 0 * mV
    E_inh: Quantity = -80 * mV
    E_L: Quantity = -65 * mV  # initial membrane potential

    reset: ClassVar[str] = "v = c; u += d"

    def __post_init__(self) -> None:
        self._check_common()
        check_number("Izhikevich", "a", self.a, low=0, low_open=True)
        check_number("Izhikevich", "b", self.b)
        check_quantity("Izhikevich", "c", self.c, mV)
        check_quantity("Izhikevich", "d", self.d, mV)

    def membrane_equations(self, synaptic_input: str) -> str:
        return (
            f"dv/dt = (0.04*v**2/mV + 5*v + 140*mV - u + {synaptic_input})/ms : volt\n"
            "du/dt = a*(b*v - u)/ms : volt"
        )

    def initial_values(self) -> dict[str, Any]:
        return {"v": "E_L", "u": "b*E_L"}


@dataclass(frozen=True)
class PoissonSource(NeuronModel):
    """Independent Poisson spike trains at ``rate`` (a population of input fibres)."""

    rate: Quantity = 10 * Hz
    is_source: ClassVar[bool] = True
    synapse: str = field(default="delta", metadata={"serialize": False})

    def __post_init__(self) -> None:
        check_quantity("PoissonSource", "rate", self.rate, Hz, nonnegative=True)
        check_choice("PoissonSource", "synapse", self.synapse, ("delta",))

    def initial_values(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class SpikeSource(NeuronModel):
    """Fixed spike times: spike ``k`` is emitted by neuron ``indices[k]`` at ``times[k]``."""

    indices: tuple[int, ...] = ()
    times: Quantity = field(default_factory=lambda: [] * ms)
    is_source: ClassVar[bool] = True
    synapse: str = field(default="delta", metadata={"serialize": False})

    def __post_init__(self) -> None:
        check_choice("SpikeSource", "synapse", self.synapse, ("delta",))
        indices, times = spike_times("SpikeSource", self.indices, self.times)
        object.__setattr__(self, "indices", indices)
        object.__setattr__(self, "times", times)

    def initial_values(self) -> dict[str, Any]:
        return {}


def spike_times(owner: str, indices: Any, times: Any) -> tuple[tuple[int, ...], Quantity]:
    """Checked spike trains given as index and time lists: non-negative integer indices, one finite time
    (>= 0) per index; plain numbers are read as ms (``SpikeSource``, ``ImposedSpikes``)."""
    import numpy as np

    indices = index_tuple(owner, "indices", indices)
    if not isinstance(times, Quantity):
        try:
            values = np.atleast_1d(np.asarray(times))
        except (TypeError, ValueError):
            values = np.asarray(None)
        if values.dtype.kind not in "iuf":  # numbers only: no bools, strings or objects
            fail(owner, "times", times, "expected spike times, e.g. [1, 5] * ms")
        times = values.astype(float) * ms
    check_quantity(owner, "times", Quantity(0, dim=times.dim), ms)
    times = np.atleast_1d(times)
    if times.ndim != 1 or len(indices) != len(times):
        fail(owner, "times", times, f"needs one time per index ({len(indices)})")
    if len(times) and not np.all(np.isfinite(np.asarray(times))):
        fail(owner, "times", times, "spike times must be finite")
    if len(times) and float(np.min(times)) < 0:
        fail(owner, "times", float(np.min(times / ms)) * ms, "spike times must be >= 0")
    return indices, times
