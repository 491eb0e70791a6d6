"""Short-term plasticity: the Tsodyks–Markram model of synaptic depression and facilitation.

Convention (ODE form of Maass & Markram 2002, identical to NEST ``tsodyks2_synapse``): the utilisation ``u``
decays to 0 with ``tau_f`` and jumps by ``U(1 - u)`` at each presynaptic spike; the resources ``x`` recover
to 1 with ``tau_d`` and lose ``u x`` at each spike. The spike is transmitted with efficacy ``u⁺ x⁻`` (``u``
after its jump, ``x`` before its loss), so the first PSC of a rested synapse is ``U`` times the weight.
With ``tau_f=None`` there is no facilitation: ``u = U`` at every spike (pure depression).

How it runs: like NEST's ``tsodyks2_synapse``, the state is brought up to date only when a spike arrives,
with the exact solution since the previous arrival ``t_last`` (``x ← 1 − (1 − x)·e^{−Δt/τ_d}``,
``u ← u·e^{−Δt/τ_f}``). So ``x`` and ``u`` hold their values just after the last arrival (at ``t_last``), and
no other pathway of the synapse (an STDP rule's postsynaptic one, say) touches them: Brian2 brings
``(event-driven)`` variables up to date in *every* pathway, which made a postsynaptic spike pay for STP at
each of its incoming synapses. :func:`resources` gives ``x`` and ``u`` at the simulation's current time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from brian2 import Quantity, ms, second

from ..validation import check_number, check_quantity, fail
from .rule import Rule, RuleCode


@dataclass(frozen=True)
class TsodyksMarkram(Rule):
    """Tsodyks–Markram short-term depression and facilitation (scales transmission, role ``efficacy``)."""

    role = "efficacy"
    namespace = "stp"

    U: float = 0.5  # utilisation increment (the first spike's release probability)
    tau_d: Quantity = 800 * ms  # recovery time of resources (depression)
    tau_f: Quantity | None = None  # decay time of utilisation (facilitation); None: no facilitation

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("TsodyksMarkram", "U", self.U, low=0, high=1, low_open=True)
        self.check_positive(ms, "tau_d")
        if self.tau_f is not None:
            check_quantity("TsodyksMarkram", "tau_f", self.tau_f, ms, positive=True)

    @classmethod
    def depressing(cls, **overrides: object) -> TsodyksMarkram:
        """Depressing synapse: U=0.5, τ_d=800 ms, no facilitation (Tsodyks, Pawelzik & Markram 1998)."""
        return cls(**{"U": 0.5, "tau_d": 800 * ms, "tau_f": None, **overrides})

    @classmethod
    def facilitating(cls, **overrides: object) -> TsodyksMarkram:
        """Facilitating synapse: U=0.03, τ_d=130 ms, τ_f=530 ms (Tsodyks, Pawelzik & Markram 1998)."""
        return cls(**{"U": 0.03, "tau_d": 130 * ms, "tau_f": 530 * ms, **overrides})

    def code(self) -> RuleCode:
        recover = "x = 1 - (1 - x)*exp(-(t - t_last)/tau_d)\n"
        if self.tau_f is None:
            return RuleCode(
                equations="x : 1\nt_last : second",
                on_pre=f"{recover}t_last = t\nr = U*x\nx -= r",
                efficacy="r",
                initial={"x": 1.0},
                rest={"x": 1.0},
            )
        return RuleCode(
            equations="u : 1\nx : 1\nt_last : second",
            on_pre=f"u = u*exp(-(t - t_last)/tau_f)\n{recover}t_last = t\nu += U*(1 - u)\nr = u*x\nx -= r",
            efficacy="r",
            initial={"u": 0.0, "x": 1.0},
            rest={"u": 0.0, "x": 1.0},
        )


class BuiltSimulation(Protocol):
    """What :func:`resources` reads of a built :class:`~neurosim.backend.Simulation` (a protocol: the
    backend builds on this package, not the reverse)."""

    description: Any  # its NetworkDescription
    t: Quantity

    def connections(self, projection: str) -> tuple[np.ndarray, np.ndarray]: ...

    def variable(self, target: str, name: str) -> np.ndarray: ...


def resources(sim: BuiltSimulation, projection: str) -> dict[str, np.ndarray]:
    """``x`` (and ``u`` with facilitation) of every synapse of ``projection`` at the simulation's time
    ``sim.t`` (the stored values are those just after each synapse's last arrival)."""
    carriers = [
        p.name for p in sim.description.projections if any(isinstance(r, TsodyksMarkram) for r in p.rules)
    ]
    if projection not in carriers:
        fail("resources", "projection", projection, f"projections with a TsodyksMarkram rule: {carriers}")
    rules = [r for r in sim.description.projection(projection).rules if isinstance(r, TsodyksMarkram)]
    rule, p = rules[0], rules[0].prefix
    if rule.code().pre_history:  # FastTsodyksMarkram: the state after each recent spike, on the neuron
        t_last, x, u = _last_received(sim, projection, rule)
    else:
        t_last = sim.variable(projection, f"{p}_t_last")
        x = sim.variable(projection, f"{p}_x")
        u = sim.variable(projection, f"{p}_u") if rule.tau_f is not None else None
    age = float(sim.t / second) - t_last
    out = {"x": 1 - (1 - x) * np.exp(-age / float(rule.tau_d / second))}
    if rule.tau_f is not None:
        out["u"] = u * np.exp(-age / float(rule.tau_f / second))
    return out


def _last_received(sim: BuiltSimulation, projection: str, rule: TsodyksMarkram) -> tuple[Any, Any, Any]:
    """Per synapse of a FastTsodyksMarkram projection: the time of its last update and ``x``, ``u`` then
    (what TsodyksMarkram stores per synapse). A synapse with delay ``d`` is at time ``t`` where its neuron
    was at ``t - d``. After a received spike: its arrival time and the neuron's state just after emitting it.
    Nothing received yet: every spike the neuron emitted is still travelling, hence in the ring, and the
    oldest slot is its first spike; the state just before it is the initial state recovered until then (at
    emission + d). A neuron that never spiked: its own, initial, state (at its t_last + d)."""
    p, source = rule.prefix, sim.description.projection(projection).source
    pre = sim.connections(projection)[0]
    delay = sim.variable(projection, "delay")
    now, dt = float(sim.t / second), float(sim.description.dt / second)

    def neuron(name: str) -> np.ndarray:
        return sim.variable(source, f"{p}_{name}")[pre]

    t_last, x = neuron("t_last") + delay, neuron("x")
    u = neuron("u") if rule.tau_f is not None else None
    received, seen = np.zeros(len(pre), bool), np.zeros(len(pre), bool)
    for k in reversed(range(rule.ring)):  # oldest slot first: newer arrivals overwrite
        emitted = neuron(f"e{k}")
        filled = emitted > -1.0  # an empty slot holds -1e9 s
        arrived = filled & (emitted + delay < now - 0.5 * dt)
        first = filled & ~arrived & ~seen & ~received  # the neuron's first spike, still travelling
        xa, r = neuron(f"xa{k}"), neuron(f"r{k}")
        t_last = np.where(arrived | first, emitted + delay, t_last)
        x = np.where(arrived, xa, np.where(first, xa + r, x))
        if u is not None:
            ua = neuron(f"ua{k}")
            before = (ua - rule.U) / (1 - rule.U) if rule.U < 1 else np.zeros_like(ua)  # U = 1: u⁺ = 1 always
            u = np.where(arrived, ua, np.where(first, before, u))
        received |= arrived
        seen |= filled
    return t_last, x, u
