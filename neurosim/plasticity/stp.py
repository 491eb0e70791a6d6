"""Short-term plasticity: the Tsodyks–Markram model of synaptic depression and facilitation.

Convention (ODE form of Maass & Markram 2002, identical to NEST ``tsodyks2_synapse``): the utilisation ``u``
decays to 0 with ``tau_f`` and jumps by ``U(1 - u)`` at each presynaptic spike; the resources ``x`` recover
to 1 with ``tau_d`` and lose ``u x`` at each spike. The spike is transmitted with efficacy ``u⁺ x⁻`` (``u``
after its jump, ``x`` before its loss), so the first PSC of a rested synapse is ``U`` times the weight.
With ``tau_f=None`` there is no facilitation: ``u = U`` at every spike (pure depression).
"""

from __future__ import annotations

from dataclasses import dataclass

from brian2 import Quantity, ms

from ..validation import check_number, check_quantity
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
        if self.tau_f is None:
            return RuleCode(
                equations="dx/dt = (1 - x)/tau_d : 1 (event-driven)",
                on_pre="r = U*x\nx -= r",
                efficacy="r",
                initial={"x": 1.0},
            )
        return RuleCode(
            equations="du/dt = -u/tau_f : 1 (event-driven)\ndx/dt = (1 - x)/tau_d : 1 (event-driven)",
            on_pre="u += U*(1 - u)\nr = u*x\nx -= r",
            efficacy="r",
            initial={"u": 0.0, "x": 1.0},
        )
