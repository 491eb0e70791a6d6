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
from typing import Any

import numpy as np
from brian2 import Quantity, ms, second

from ..validation import check_number, check_quantity, fail
from .base import Rule, RuleCode


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
            )
        return RuleCode(
            equations="u : 1\nx : 1\nt_last : second",
            on_pre=f"u = u*exp(-(t - t_last)/tau_f)\n{recover}t_last = t\nu += U*(1 - u)\nr = u*x\nx -= r",
            efficacy="r",
            initial={"u": 0.0, "x": 1.0},
        )


def resources(sim: Any, projection: str) -> dict[str, np.ndarray]:
    """``x`` (and ``u`` with facilitation) of every synapse of ``projection`` at the simulation's time
    ``sim.t`` (the stored values are those just after each synapse's last arrival)."""
    carriers = [
        p.name for p in sim.description.projections if any(isinstance(r, TsodyksMarkram) for r in p.rules)
    ]
    if projection not in carriers:
        fail("resources", "projection", projection, f"projections with a TsodyksMarkram rule: {carriers}")
    rules = [r for r in sim.description.projection(projection).rules if isinstance(r, TsodyksMarkram)]
    rule, syn = rules[0], sim.synapses[projection]
    age = float(sim.t / second) - np.asarray(getattr(syn, f"{rule.prefix}_t_last")[:] / second)
    x = np.asarray(getattr(syn, f"{rule.prefix}_x")[:])
    out = {"x": 1 - (1 - x) * np.exp(-age / float(rule.tau_d / second))}
    if rule.tau_f is not None:
        out["u"] = np.asarray(getattr(syn, f"{rule.prefix}_u")[:]) * np.exp(-age / float(rule.tau_f / second))
    return out
