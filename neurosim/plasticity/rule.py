"""The plasticity rule API: what a user subclasses to write a rule; the built-in rules use nothing else.

A rule is a frozen dataclass inheriting :class:`Rule`. It states its *role* and returns, from
:meth:`Rule.code`, the Brian2 code it adds to a synapse (a :class:`RuleCode`), written with its own short
local names::

    @dataclass(frozen=True)
    class Hebb(Rule):
        role = "weight"
        eta: float = 0.01          # learning rate
        tau: Quantity = 20 * ms    # presynaptic trace time constant

        def code(self) -> RuleCode:
            return RuleCode(
                equations="dtrace/dt = -trace/tau : 1 (event-driven)",
                on_pre="trace += 1",
                on_post="dw = eta*trace",
                rest={"trace": 0.0},
            )

Roles: ``efficacy`` rules (short-term plasticity) scale the transmission of each spike; ``weight`` rules
(STDP, calcium rules) write the temporary ``dw`` or define ``w`` itself; ``modifier`` rules (consolidation,
reward modulation, pruning masks) run after the weight update and may take it over. The composer
(:mod:`~neurosim.plasticity.composer`) assembles a synapse's rules in that fixed order.

Namespacing: every name a rule declares (equation variables, parameters, temporaries) is prefixed with the
rule's namespace (``stp_u``, ``stdp_apre``); shared names are left alone. Shared names a rule may use:
``w``, ``w_min``, ``w_max``, ``J`` (the projection's weight scale), ``dw`` (weight rules write it; a consuming
modifier reads it), ``t``, ``dt``, ``lastupdate``, ``i``, ``j``, ``N_incoming``, ``N_outgoing``, any
neuron variable as ``name_pre``/``name_post``, Brian2's functions and units. Anything else is an error at
build time that names the rule and the symbol.

Rest: ``RuleCode.rest`` lists the rule's variables of *activity* (traces, short-term resources, calcium) with
the value each takes at rest, per synapse or per neuron. A driver that starts trials from rest (the spiking
learner) resets whatever the rules of a projection declare (:func:`~neurosim.plasticity.composer.rest_state`),
so a user's rule takes part in that reset like a built-in. Learned state (weights, eligibility, ``ρ``) is
not listed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from brian2 import Quantity

from ..serialization import Describable
from ..validation import ParameterError, check_name, check_quantity

ROLES = ("efficacy", "weight", "modifier")

#: Names every rule may use without declaring them (besides ``*_pre``/``*_post`` neuron variables).
SHARED_SYMBOLS = frozenset(
    {
        "w",
        "w_min",
        "w_max",
        "J",
        "dw",
        "t",
        "dt",
        "lastupdate",
        "i",
        "j",
        "N_incoming",
        "N_outgoing",
        "N",
        "t_in_timesteps",
        "delay",
        "True",
        "False",
        "and",
        "or",
        "not",
    }
)


class RuleError(ParameterError):
    """A rule cannot be built: a clash, an undefined symbol, or an incompatible combination."""


@dataclass(frozen=True)
class TimeTable:
    """A function of time that a rule's code reads as ``NAME(t)`` and that the runtime rewrites in place
    (the dopamine table of :class:`~neurosim.RewardModulated`): ``rows`` values, one per ``dt``, starting at
    zero. The backend makes it (a Brian2 ``TimedArray`` named ``name``), so generated code is reused when
    the values change."""

    rows: int
    dt: Quantity
    unit: Any  # the values' unit (a Brian2 unit)
    name: str


@dataclass(frozen=True)
class RuleCode:
    """The Brian2 code a rule adds to a synapse, in the rule's own local names.

    ``equations``: per-synapse variables (differential equations, parameters, subexpressions); use the
    ``(event-driven)`` flag for traces that only matter at spikes (cheapest), ``(clock-driven)`` otherwise.
    ``on_pre``: statements run when a presynaptic spike arrives (after the conduction delay).
    ``on_post``: statements run when the postsynaptic neuron spikes.
    ``parameters``: extra constants; by default every number/quantity field of the rule is a constant.
    ``initial``: initial values of per-synapse variables (numbers, quantities or Brian2 expression strings).
    ``rest``: the rule's variables of activity and their values at rest (per-synapse, ``pre_equations`` or
    ``post_equations`` variables), which a reset between trials restores; see the module docstring.
    ``efficacy``: (efficacy rules) expression evaluated after ``on_pre`` that scales transmission.
    ``weight``: (weight-defining rules) expression that *is* the weight ``w``.
    ``consumes_dw``: (modifiers) take over the weight update: the rule's code reads ``dw`` itself.
    ``post_equations``: per-neuron variables added to the postsynaptic population (``name_post`` in the
    synapse code; see :mod:`~neurosim.plasticity.neuron_code`). ``initial`` may give their initial values too.
    ``regularly`` / ``post_regularly``: statements run every ``regularly_dt`` on each synapse / on each
    postsynaptic neuron (the neuron code first): slow processes, updated exactly between ticks.
    ``pathways``: extra presynaptic pathways ``{name: (statements, extra_delay)}`` (see
    :mod:`~neurosim.plasticity.composer`).
    ``pre_equations``: per-neuron variables added to the presynaptic population (``name_pre``).
    ``pre_on_spike`` / ``post_on_spike``: statements run in the pre- / postsynaptic population at each of
    its spikes, after the synaptic pathways of that time step (e.g. a per-neuron trace ``a += 1``).
    ``pre_timing``: ``"arrival"`` (default) or ``"emission"``: when a weight rule's ``on_pre`` runs.
    ``deferred_post`` (weight rules) / ``ticks`` (consuming modifiers): declare the structure that lets the
    composer settle potentiation lazily instead of at every postsynaptic spike (see
    :mod:`~neurosim.plasticity.deferral`).
    ``pre_history``: the rule keeps the presynaptic neuron's last ``pre_history`` spikes and finds the one
    arriving by its emission time ``t - delay``; the builder checks that the projection's delays and the
    source's refractory period fit (see :mod:`~neurosim.plasticity.fast_stp`) and puts the delays on the
    time grid.
    """

    equations: str = ""
    on_pre: str = ""
    on_post: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    initial: Mapping[str, Any] = field(default_factory=dict)
    efficacy: str = ""
    weight: str = ""
    consumes_dw: bool = False
    post_equations: str = ""
    regularly: str = ""
    post_regularly: str = ""
    regularly_dt: Any = None
    pathways: Mapping[str, tuple[str, Any]] = field(default_factory=dict)
    pre_equations: str = ""
    pre_on_spike: str = ""
    post_on_spike: str = ""
    pre_timing: str = "arrival"
    deferred_post: DeferredPost | None = None
    ticks: Ticks | None = None
    pre_history: int = 0
    rest: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeferredPost:
    """A weight rule's promise about its ``on_post``: ``dw = amplitude·trace_pre``, the presynaptic spike of
    the same time step counted in ``trace``, where ``trace`` is one of the rule's ``pre_equations``
    variables that decays as ``exp(-t/tau)`` between the neuron's spikes (``tau``: a parameter name) and
    ``amplitude`` (an expression) stays constant while ``w`` does. Its ``on_pre`` must be timed at emission.
    With a consuming modifier that declares :class:`Ticks`, potentiation is then settled lazily
    (:mod:`~neurosim.plasticity.deferral`)."""

    trace: str
    tau: str
    amplitude: str


@dataclass(frozen=True)
class Ticks:
    """A consuming modifier's promise: each ``dw`` goes into ``eligibility`` (a per-synapse variable) as
    ``eligibility += dw·exp(-(T_next - t)/tau)`` (``T_next``: the next multiple of ``period``, from
    ``floor((t + dt/2)/period)``), and ``eligibility`` is read only by its ``regularly`` code, run every
    ``period``. ``period`` and ``tau`` are parameter names. See :class:`DeferredPost`."""

    eligibility: str
    period: str
    tau: str


@dataclass(frozen=True)
class Rule(Describable):
    """Base class of every plasticity rule, built-in or the user's own.

    Subclasses set ``role`` (``"efficacy"``, ``"weight"`` or ``"modifier"``), declare their parameters as
    dataclass fields with defaults (quantities with units), and implement :meth:`code`. ``name`` overrides
    the namespace prefix (default: the class attribute ``namespace``, else the class name in lower case),
    which is needed only to put two rules of one class on the same synapse.
    """

    role: ClassVar[str] = ""
    namespace: ClassVar[str] = ""

    name: str | None = field(default=None, kw_only=True)

    def code(self) -> RuleCode:
        raise NotImplementedError(f"{type(self).__name__} must implement code()")  # pragma: no cover

    @property
    def prefix(self) -> str:
        return self.name or self.namespace or type(self).__name__.lower()

    def default_parameters(self) -> dict[str, Any]:
        """Every number or quantity field of the rule, by field name."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "name" and isinstance(value, (int, float, Quantity)) and not isinstance(value, bool):
                out[f.name] = value
        return out

    def check_positive(self, unit: Any, *names: str) -> None:
        """Validate that each named field is a positive quantity in ``unit`` (time constants, say)."""
        for n in names:
            check_quantity(type(self).__name__, n, getattr(self, n), unit, positive=True)

    def __post_init__(self) -> None:
        if self.name is not None:
            check_name(type(self).__name__, "name", self.name)


def constants(rule: Rule, code: RuleCode) -> dict[str, Any]:
    """The constants of a rule's generated code, by local name: its number/quantity fields and
    ``code.parameters`` (which win)."""
    return {**rule.default_parameters(), **dict(code.parameters)}
