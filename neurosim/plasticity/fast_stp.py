"""Tsodyks–Markram short-term plasticity with the state on the presynaptic neuron.

With one set of parameters (``U``, ``tau_d``, ``tau_f``) on a projection, ``u`` and ``x`` of a synapse depend
only on the train of spikes it receives, and every synapse of one presynaptic neuron receives the same train,
shifted by its own conduction delay. The TM update is invariant under that shift (it depends only on the
intervals between spikes), so the ``n``-th spike arrives at every synapse of the neuron with the same
efficacy ``u⁺x⁻``: the one :class:`~neurosim.plasticity.stp.TsodyksMarkram` computes at the synapse. This
rule computes it once, on the neuron, when the spike is emitted, and keeps the efficacies of the neuron's last
``ring`` spikes with their emission times; a synapse looks up the spike it is receiving (emitted one delay
ago) when it arrives. The result equals ``TsodyksMarkram``'s for every delay (tested), with no per-synapse
state and no exponential per synaptic event: the recovery is computed per spike, not per spike and synapse,
which matters when synapses outnumber neurons a thousandfold.

The ring must hold every spike still travelling on the slowest synapse plus the last one it received:
``ring ≥ 1 + ceil(D / m)`` with ``D`` the longest delay and ``m`` the shortest interval between two spikes
of a source neuron, both in time steps (``m`` is the refractory period in steps, at least 1). The builder
checks this and names the smallest ring that fits; delays must be at least one time step (the ring is
filled after the synaptic pathways of the step in which the neuron spikes), and the builder puts the
projection's delays on the time grid (which Brian2 does anyway when it delivers spikes) so that a spike is
matched by its emission time exactly. Each slot costs one comparison per synaptic event; the default fits
delays up to twice the refractory period (a 1 mm cube at 0.5 m/s, 2 ms refractoriness).

Initial state: the rule's state is the soma's, so a synapse with delay ``d`` is at time ``t`` where its neuron
was at ``t - d``. From the rested state (``x = 1``, ``u = 0``, the default) that is the same as
``TsodyksMarkram``; a neuron started elsewhere (``stp_x = 0.4`` on the population) corresponds to per-synapse
state that has had ``d`` less time to recover at ``t = 0`` (``x(0) = 1 - (1 - 0.4)·exp(d/tau_d)``).

The state lives in the presynaptic population as ``<prefix>_x``, ``<prefix>_u``, ``<prefix>_t_last`` and
the ring ``<prefix>_e<k>`` (emission times), ``<prefix>_r<k>`` (efficacies), ``<prefix>_xa<k>`` and
``<prefix>_ua<k>`` (``x`` and ``u`` just after spike ``k``, for :func:`~neurosim.plasticity.stp.resources`),
shared by all projections from that population that carry an equal rule. Sources without equations
(``SpikeSource``, ``PoissonSource``) cannot hold it: use ``TsodyksMarkram`` there.
"""

from __future__ import annotations

from dataclasses import dataclass

from brian2 import second

from ..validation import check_number
from .rule import RuleCode
from .stp import TsodyksMarkram

_NEVER = -1e9 * second  # emission time of an empty ring slot: matches no arriving spike


@dataclass(frozen=True)
class FastTsodyksMarkram(TsodyksMarkram):
    """Tsodyks–Markram STP computed per presynaptic spike, on the neuron (see the module docstring).

    Same parameters, defaults and presets as :class:`~neurosim.plasticity.stp.TsodyksMarkram`, plus ``ring``:
    how many recent spikes of each presynaptic neuron are kept (checked against the delays at build).
    """

    ring: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("FastTsodyksMarkram", "ring", self.ring, low=1, high=16, integer=True)

    def default_parameters(self) -> dict[str, object]:
        params = super().default_parameters()
        params.pop("ring", None)  # a build-time size, not a constant of the generated code
        return params

    def code(self) -> RuleCode:
        facilitation = self.tau_f is not None
        slots = range(self.ring)
        ring_vars = ["e{k} : second", "r{k} : 1", "xa{k} : 1"] + (["ua{k} : 1"] if facilitation else [])
        equations = ["x : 1", "t_last : second", *(["u : 1"] if facilitation else [])]
        equations += [v.format(k=k) for k in slots for v in ring_vars]
        spike = ["x = 1 - (1 - x)*exp(-(t - t_last)/tau_d)"]
        if facilitation:
            spike += ["u = u*exp(-(t - t_last)/tau_f)", "u += U*(1 - u)"]
        spike.append("t_last = t")
        for k in reversed(slots[1:]):  # shift the ring: slot 0 holds the newest spike
            spike += [f"e{k} = e{k - 1}", f"r{k} = r{k - 1}", f"xa{k} = xa{k - 1}"]
            spike += [f"ua{k} = ua{k - 1}"] if facilitation else []
        spike += [f"r0 = {'u' if facilitation else 'U'}*x", "x -= r0", "e0 = t", "xa0 = x"]
        spike += ["ua0 = u"] if facilitation else []
        # The spike arriving now was emitted one (grid-aligned) delay ago: exactly one slot matches.
        pick = " + ".join(f"r{k}_pre*int(abs(e{k}_pre - (t - delay)) < 0.5*dt)" for k in slots)
        initial: dict[str, object] = {"x": 1.0, **{f"e{k}": _NEVER for k in slots}}
        initial.update({f"xa{k}": 1.0 for k in slots})
        if facilitation:
            initial["u"] = 0.0
        return RuleCode(
            pre_equations="\n".join(equations),
            pre_on_spike="\n".join(spike),
            on_pre=f"r = {pick}",
            efficacy="r",
            initial=initial,
            pre_history=self.ring,
            # at rest the neuron's resources are full; spikes already travelling keep their efficacy
            rest={"x": 1.0, "u": 0.0} if facilitation else {"x": 1.0},
        )
