"""neurosim's neuron models as NEST models: which NEST model, its parameters, and how weights map.

neurosim writes current-based input in voltage units (the membrane resistance folded in) and conductances
relative to the leak conductance; NEST takes currents in pA and conductances in nS. With ``g_L = C_m/τ_m``
(LIF; any ``C_m`` gives the same voltage trace, 250 pF as in NEST's defaults) or the model's own ``g_L``
(AdEx), a neurosim input of ``x`` mV is ``g_L·x`` pA and a relative conductance ``g`` is ``g_L·g`` nS:

=================  ===================  =====================  =====================  ==================
model              ``delta``            ``exponential``        ``conductance``        weight per unit J
=================  ===================  =====================  =====================  ==================
LIF                ``iaf_psc_delta``    ``iaf_psc_exp``        ``iaf_cond_exp``       1 mV, g_L pA/mV, g_L nS
AdEx               ``aeif_psc_delta``   ``aeif_psc_exp``       ``aeif_cond_exp``      as LIF with AdEx's g_L
Izhikevich         ``izhikevich``       --                     --                     1 mV
=================  ===================  =====================  =====================  ==================

Inhibitory weights are negative in NEST (its conductance models route a negative weight to ``g_in``).
NEST's ``izhikevich`` with ``consistent_integration`` is the forward Euler step of Izhikevich (2003), the
scheme Brian2 picks for it; the AdEx models integrate adaptively (RKF45), Brian2 with Euler steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brian2 import ms, mV, nS, pA, pF

from ..neurons import LIF, AdEx, Izhikevich, NeuronModel, PoissonSource, SpikeSource
from ..validation import ParameterError

#: Membrane capacitance given to NEST's LIF models (pF); the voltage dynamics do not depend on it.
LIF_CAPACITANCE_PF = 250.0

#: The neuron models and synapse kinds NEST runs, as ``Model(synapse)`` (for error messages).
SUPPORTED = (
    "LIF(delta|exponential|conductance)",
    "AdEx(delta|exponential|conductance)",
    "Izhikevich(delta)",
    "PoissonSource",
    "SpikeSource",
)


@dataclass(frozen=True)
class NestNeuron:
    """One neuron model on NEST: model name and parameters (NEST units: ms, mV, pF, nS, pA), the NEST
    weight per unit of a projection's ``J`` (J in mV, or a conductance ratio), the NEST ``I_e`` (pA) per mV
    of neurosim's ``I_ext``, and neurosim variable -> (NEST variable, SI value of one NEST unit)."""

    model: str
    params: dict[str, float]
    weight_per_J: float
    drive_per_mV: float
    variables: dict[str, tuple[str, float]] = field(default_factory=dict)

    def weight(self, sign: str) -> float:
        """NEST weight per unit ``J`` of a projection whose source has ``sign``."""
        return self.weight_per_J if sign == "excitatory" else -self.weight_per_J


def _v(q: Any) -> float:
    return float(q / mV)


def _t(q: Any) -> float:
    return float(q / ms)


def nest_neuron(model: NeuronModel, context: str) -> NestNeuron:
    """The NEST form of ``model``; a model or synapse kind NEST lacks is a ParameterError naming it."""
    kind = getattr(model, "synapse", "delta")
    if type(model) is LIF:
        g_l = LIF_CAPACITANCE_PF / _t(model.tau_m)  # nS
        params = {
            "C_m": LIF_CAPACITANCE_PF,
            "tau_m": _t(model.tau_m),
            "E_L": _v(model.E_L),
            "V_th": _v(model.v_threshold),
            "V_reset": _v(model.v_reset),
            "t_ref": _t(model.refractory),
        }
        return _with_synapses(params, kind, g_l, "iaf_psc_delta", "iaf_psc_exp", "iaf_cond_exp", model)
    if type(model) is AdEx:
        g_l = float(model.g_L / nS)
        params = {
            "C_m": float(model.C / pF),
            "g_L": g_l,
            "E_L": _v(model.E_L),
            "V_th": _v(model.V_T),
            "Delta_T": _v(model.Delta_T),
            "V_peak": _v(model.v_threshold),
            "V_reset": _v(model.v_reset),
            "tau_w": _t(model.tau_w),
            "a": float(model.a / nS),
            "b": float(model.b / pA),
            "t_ref": _t(model.refractory),
        }
        out = _with_synapses(params, kind, g_l, "aeif_psc_delta", "aeif_psc_exp", "aeif_cond_exp", model)
        out.variables["w_ad"] = ("w", 1e-12)
        return out
    if type(model) is Izhikevich and kind == "delta":
        params = {
            "a": float(model.a),
            "b": float(model.b),
            "c": _v(model.c),
            "d": _v(model.d),
            "V_th": _v(model.v_threshold),
            "consistent_integration": True,
        }
        variables = {"v": ("V_m", 1e-3), "u": ("U_m", 1e-3), "I_ext": ("I_e", 1e-3)}
        return NestNeuron("izhikevich", params, 1.0, 1.0, variables)
    if isinstance(model, (PoissonSource, SpikeSource)):
        return NestNeuron("parrot_neuron", {}, 1.0, 0.0)
    raise ParameterError(
        f"{context}: neuron model {type(model).__name__}(synapse={kind!r}) has no NEST equivalent; "
        f"engine 'nest' runs {', '.join(SUPPORTED)}; engine 'brian2' runs every model"
    )


def _with_synapses(
    params: dict[str, Any], kind: str, g_l: float, delta: str, exp: str, cond: str, model: Any
) -> NestNeuron:
    """Complete a LIF or AdEx mapping for its synapse kind."""
    variables = {"v": ("V_m", 1e-3), "I_ext": ("I_e", 1e-3 / g_l)}
    if kind == "delta":
        return NestNeuron(delta, params, 1.0, g_l, variables)
    synaptic = {"tau_syn_ex": _t(model.tau_exc), "tau_syn_in": _t(model.tau_inh)}
    if kind == "exponential":
        current = 1e-3 / g_l  # volt per pA
        variables.update(I_exc=("I_syn_ex", current), I_inh=("I_syn_in", current))
        return NestNeuron(exp, {**params, **synaptic}, g_l, g_l, variables)
    reversal = {"E_ex": _v(model.E_exc), "E_in": _v(model.E_inh)}
    if "g_L" not in params:  # LIF: NEST's conductance model takes g_L and C_m instead of tau_m
        params = {**{k: v for k, v in params.items() if k != "tau_m"}, "g_L": g_l}
    variables.update(g_exc=("g_ex", 1.0 / g_l), g_inh=("g_in", 1.0 / g_l))
    return NestNeuron(cond, {**params, **synaptic, **reversal}, g_l, g_l, variables)


__all__ = ["LIF_CAPACITANCE_PF", "NestNeuron", "SUPPORTED", "nest_neuron"]
