"""The plasticity rule API: small declarative rules that compose on one synapse.

A rule is a frozen dataclass inheriting :class:`Rule`. It states its *role* and returns, from
:meth:`Rule.code`, the Brian2 code it adds to a synapse, written with its own short local names::

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
            )

Roles, and the fixed order in which :func:`compose` assembles them at a presynaptic spike:

1. ``efficacy`` rules (short-term plasticity) run their ``on_pre`` and name an ``efficacy`` expression that
   scales this spike's transmission;
2. transmission: the postsynaptic channel receives ``sign * J * w * efficacy``;
3. ``weight`` rules (STDP, calcium rules) assign the temporary ``dw``; contributions are summed;
4. the weight update ``w = clip(w + dw, w_min, w_max)`` -- unless a ``modifier`` rule *consumes* ``dw``
   (reward modulation routes it into an eligibility trace instead);
5. ``modifier`` rules (consolidation, reward modulation, pruning masks). A modifier that consumes ``dw``
   runs only in pathways where a weight rule produces ``dw`` (elsewhere its code would add zero and still
   touch its per-synapse state at every spike).

A postsynaptic spike runs steps 3-5 with the ``on_post`` code. A rule may instead *define* the weight
absolutely (``RuleCode.weight``, e.g. a calcium rule's ``w = w0 + rho*(w1 - w0)``); such a rule excludes
every other rule that changes ``w``.

Extra presynaptic pathways: ``RuleCode.pathways`` maps a name to ``(statements, extra_delay)``; the
statements run when a presynaptic spike arrives ``extra_delay`` after the conduction delay (Brian2 runs
them in its own synaptic pathway, so no Python runs per spike). The calcium rule uses one for the
NMDA-mediated influx that lags the presynaptic spike. Pathway names are namespaced like variables
(``calcium_pre_influx``; the Brian2 object is ``synapses.calcium_pre_influx`` with its own ``delay``).
Pathway statements may only update the rule's own variables (not ``w`` or ``dw``).

Noise: a rule's equations may use Brian2's white noise ``xi`` (or ``xi_name``); it is renamed per rule
(``xi_calcium``) so that two rules never share a noise source.

Namespacing: every name a rule declares (equation variables, parameters, temporaries) is prefixed with the
rule's namespace (``stp_u``, ``stdp_apre``); shared names are left alone. Shared names a rule may use:
``w``, ``w_min``, ``w_max``, ``J`` (the projection's weight scale), ``dw`` (weight rules write it; a consuming
modifier reads it), ``t``, ``dt``, ``lastupdate``, ``i``, ``j``, ``N_incoming``, ``N_outgoing``, any
neuron variable as ``name_pre``/``name_post``, Brian2's functions and units. Anything else is an error at
build time that names the rule and the symbol.

Neuron-level state and slow processes (consolidation's protein synthesis): ``RuleCode.post_equations``
declares per-neuron variables that the builder adds to the postsynaptic population as ``<prefix>_<name>``;
the rule's synapse code uses them as ``name_post``. They are shared by every projection onto that population
whose rule has the same namespace (a neuron has one protein pool for all its inputs), so such rules must then
be equal. ``RuleCode.regularly`` (per synapse) and ``RuleCode.post_regularly`` (per postsynaptic neuron, run
just before) are statements executed every ``RuleCode.regularly_dt`` rather than every time step, so slow
processes cost nothing in between; ``regularly`` may accumulate into a neuron variable (``total_post += x``)
to form a per-neuron sum over incoming synapses.

Per-neuron traces (:class:`~neurosim.plasticity.fast_stdp.FastPairSTDP`): ``RuleCode.pre_equations``
declares per-neuron variables of the *presynaptic* population (``name_pre`` in the synapse code), shared
like ``post_equations``; ``pre_on_spike`` / ``post_on_spike`` are statements run in the pre- / postsynaptic
population whenever one of its neurons spikes (appended to its reset, so after that time step's synaptic
pathways). ``pre_timing="emission"`` runs a weight rule's ``on_pre`` -- with the weight update, or the
consuming modifier's ``on_pre`` -- when the presynaptic neuron spikes, in a zero-delay pathway, instead of
when the spike arrives; transmission still waits for the conduction delay.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from brian2 import Equations, Quantity, second
from brian2.core.functions import DEFAULT_CONSTANTS, DEFAULT_FUNCTIONS

from ..serialization import _UNIT_NAMESPACE, Describable
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
_BUILTINS = frozenset(DEFAULT_FUNCTIONS) | frozenset(DEFAULT_CONSTANTS) | frozenset(_UNIT_NAMESPACE)
_IDENT = re.compile(r"(?<![\w.])([A-Za-z_]\w*)")
_ASSIGN = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:[-+*/]?=)(?!=)")


class RuleError(ParameterError):
    """A rule cannot be built: a clash, an undefined symbol, or an incompatible combination."""


@dataclass(frozen=True)
class RuleCode:
    """The Brian2 code a rule adds to a synapse, in the rule's own local names.

    ``equations``: per-synapse variables (differential equations, parameters, subexpressions); use the
    ``(event-driven)`` flag for traces that only matter at spikes (cheapest), ``(clock-driven)`` otherwise.
    ``on_pre``: statements run when a presynaptic spike arrives (after the conduction delay).
    ``on_post``: statements run when the postsynaptic neuron spikes.
    ``parameters``: extra constants; by default every number/quantity field of the rule is a constant.
    ``initial``: initial values of per-synapse variables (numbers, quantities or Brian2 expression strings).
    ``efficacy``: (efficacy rules) expression evaluated after ``on_pre`` that scales transmission.
    ``weight``: (weight-defining rules) expression that *is* the weight ``w``.
    ``consumes_dw``: (modifiers) take over the weight update: the rule's code reads ``dw`` itself.
    ``post_equations``: per-neuron variables added to the postsynaptic population (``name_post`` in the
    synapse code; see the module docstring). ``initial`` may give their initial values too.
    ``regularly`` / ``post_regularly``: statements run every ``regularly_dt`` on each synapse / on each
    postsynaptic neuron (the neuron code first): slow processes, updated exactly between ticks.
    ``pathways``: extra presynaptic pathways ``{name: (statements, extra_delay)}`` (see the module docstring).
    ``pre_equations``: per-neuron variables added to the presynaptic population (``name_pre``).
    ``pre_on_spike`` / ``post_on_spike``: statements run in the pre- / postsynaptic population at each of
    its spikes, after the synaptic pathways of that time step (e.g. a per-neuron trace ``a += 1``).
    ``pre_timing``: ``"arrival"`` (default) or ``"emission"``: when a weight rule's ``on_pre`` runs.
    ``deferred_post`` (weight rules) / ``ticks`` (consuming modifiers): declare the structure that lets the
    composer settle potentiation lazily instead of at every postsynaptic spike (see :class:`DeferredPost`).
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


@dataclass(frozen=True)
class DeferredPost:
    """A weight rule's promise about its ``on_post``: ``dw = amplitude·trace_pre``, the presynaptic spike of
    the same time step counted in ``trace``, where ``trace`` is one of the rule's ``pre_equations``
    variables that decays as ``exp(-t/tau)`` between the neuron's spikes (``tau``: a parameter name) and
    ``amplitude`` (an expression) stays constant while ``w`` does. Its ``on_pre`` must be timed at emission.

    With a consuming modifier that declares :class:`Ticks`, the composer then never runs ``on_post`` per
    synapse: potentiation is *deferred*. Each postsynaptic neuron j sums its spikes of the current tick
    period k (reference ``T_k = k·period``) into ``H_j = Σ exp(-(t_p - T_k)/tau)·exp(-(T_{k+1} - t_p)/τ_c)``;
    a synapse keeps the value of ``H_j`` at its last settlement (``snap``). Between two presynaptic spikes the
    trace is ``trace(t)·exp((t - t_p)/tau)`` at any earlier ``t_p``, so every postsynaptic spike since the
    last settlement is worth, in total, ``amplitude·trace(t)·exp((t - T_k)/tau)·(H_j - snap)``: added to the
    eligibility at the next presynaptic spike (before its trace jumps) and at each tick (where the modifier
    reads it). Exact, not an approximation; it replaces a pass over ~K scattered synapses per postsynaptic
    spike (a third of benchmark case (c)) by a per-neuron update and per-synapse work that is sequential in
    memory. Used when ``period <= 10·tau`` (rounding then stays below ~1e-12 relative); else ``on_post`` runs
    as written.
    """

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


#: Deferred potentiation only while period / tau stays below this (see DeferredPost).
MAX_DEFERRAL_RATIO = 10.0


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


@dataclass(frozen=True)
class ComposedSynapse:
    """The result of composing a projection's rules: everything Brian2's ``Synapses`` needs."""

    model: str
    on_pre: str
    on_post: str
    namespace: dict[str, Any]
    initial: dict[str, Any]
    weight_is_state: bool  # False when a rule defines ``w`` as an expression
    variables: dict[str, list[str]]  # rule prefix -> its (namespaced) per-synapse variables
    pathways: dict[str, tuple[str, Any]] = field(default_factory=dict)  # name -> (statements, extra delay)
    regularly: tuple[tuple[str, Any], ...] = ()  # (statements, dt): run on every synapse every dt
    on_emit: str = ""  # statements run when the presynaptic neuron spikes (zero-delay pathway), if any
    deferred: str = ""  # prefix of the deferred-potentiation variables (``<prefix>_due``...), if deferred


def compose(
    rules: Sequence[Rule],
    *,
    transmission: str,
    pre_variables: Iterable[str] = (),
    post_variables: Iterable[str] = (),
    context: str = "projection",
) -> ComposedSynapse:
    """Compose ``rules`` on one synapse, in the fixed order described in the module docstring.

    ``transmission`` is the statement delivering a spike, written with ``EFFICACY`` standing for the product
    of the efficacy rules' factors (e.g. ``"I_exc_post += J*w*EFFICACY"``). ``pre_variables`` and
    ``post_variables`` are the neuron variables a rule may read as ``name_pre`` / ``name_post``.
    """
    known_neuron = {f"{v}_pre" for v in pre_variables} | {f"{v}_post" for v in post_variables}
    prefixes: dict[str, Rule] = {}
    for rule in rules:
        if not isinstance(rule, Rule):
            raise RuleError(f"{context}: {rule!r} is not a neurosim Rule (rules must inherit Rule)")
        if rule.role not in ROLES:
            raise RuleError(f"{context}: rule {type(rule).__name__} has role {rule.role!r}; allowed: {ROLES}")
        if rule.prefix in prefixes:
            other = type(prefixes[rule.prefix]).__name__
            raise RuleError(
                f"{context}: rules {other} and {type(rule).__name__} share the namespace '{rule.prefix}'; "
                "give one of them a different name= (e.g. name='stdp2')"
            )
        prefixes[rule.prefix] = rule

    translated = [(_translate(rule, known_neuron, context), rule) for rule in rules]
    definers = [r for t, r in translated if t.weight]
    changers = [r for t, r in translated if _assigns(t, "dw") or t.consumes_dw]
    if definers and (len(definers) > 1 or changers):
        names = sorted({type(r).__name__ for r in definers + changers})
        raise RuleError(
            f"{context}: incompatible rules {names}: {type(definers[0]).__name__} defines the weight w "
            "itself, so no other rule may change it"
        )
    consumers = [r for t, r in translated if t.consumes_dw]
    if len(consumers) > 1:
        names = [type(r).__name__ for r in consumers]
        raise RuleError(
            f"{context}: incompatible rules {names}: only one rule may take over the weight update"
        )

    model: list[str] = []
    namespace: dict[str, Any] = {}
    initial: dict[str, Any] = {}
    variables: dict[str, list[str]] = {}
    for t, rule in translated:
        if t.equations:
            model.append(t.equations)
            variables[rule.prefix] = list(Equations(t.equations).names)
        namespace.update(t.parameters)
        initial.update(t.initial)
    weight_is_state = not definers
    if weight_is_state:
        model.insert(0, "w : 1")
    else:
        model.insert(0, f"w = {next(t.weight for t, _ in translated if t.weight)} : 1")

    plan = deferral(rules)
    if plan is not None:  # potentiation settles lazily: the weight rule's on_post never runs per synapse
        translated, extra_model = _defer(translated, plan)
        model.extend(extra_model)

    by_role = {role: [t for t, r in translated if r.role == role] for role in ROLES}
    efficacy = " * ".join(f"({t.efficacy})" for t in by_role["efficacy"] if t.efficacy) or "1"
    consume = any(t.consumes_dw for t, _ in translated)

    def pathway(kind: str, timing: str = "arrival") -> str:
        lines = []
        if timing == "arrival":
            lines += [getattr(t, kind) for t in by_role["efficacy"] if getattr(t, kind)]
            if kind == "on_pre":
                lines.append(transmission.replace("EFFICACY", efficacy))
        contributions = []
        for t in by_role["weight"]:
            code = getattr(t, kind) if kind != "on_pre" or t.pre_timing == timing else ""
            if code:
                lines.append(code)
                if _assigns_code(code, t.dw_name):
                    contributions.append(t.dw_name)
        modifiers = [getattr(t, kind) for t in by_role["modifier"] if getattr(t, kind)]
        if timing == "emission":  # only the weight update moves to emission time, with its consumer
            if not contributions:
                return ""
            modifiers = [t.on_pre for t in by_role["modifier"] if t.consumes_dw and t.on_pre]
        if contributions:
            lines.append(f"dw = {' + '.join(contributions)}")
            if not consume:
                lines.append("w = clip(w + dw, w_min, w_max)")
        else:  # no dw here: a consumer of dw has nothing to consume
            modifiers = [
                getattr(t, kind) for t in by_role["modifier"] if getattr(t, kind) and not t.consumes_dw
            ]
        lines += modifiers
        return "\n".join(line for line in lines if line.strip())

    return ComposedSynapse(
        model="\n".join(model),
        on_pre=pathway("on_pre"),
        on_post=pathway("on_post"),
        namespace=namespace,
        initial=initial,
        weight_is_state=weight_is_state,
        variables=variables,
        pathways={name: code for t, _ in translated for name, code in t.pathways.items()},
        regularly=tuple((t.regularly, t.regularly_dt) for t, _ in translated if t.regularly),
        on_emit=pathway("on_pre", "emission"),
        deferred=plan.prefix if plan is not None else "",
    )


@dataclass(frozen=True)
class Deferral:
    """A weight rule and a consuming modifier whose potentiation is deferred (see :class:`DeferredPost`)."""

    weight: Rule
    modifier: Rule
    post: DeferredPost
    ticks: Ticks
    period: Any  # the modifier's tick period (a time)
    tau: Any  # the trace time constant
    tau_c: Any  # the eligibility time constant

    @property
    def prefix(self) -> str:
        """Namespace of the deferral's variables: ``<weight prefix>_<modifier prefix>`` (``stdp_reward``)."""
        return f"{self.weight.prefix}_{self.modifier.prefix}"

    def neuron_code(self) -> PostCode:
        """The postsynaptic neurons' part: ``H`` and the period it belongs to, updated at each spike."""
        L = self.prefix
        return PostCode(
            equations=f"{L}_H : 1\n{L}_period : 1",
            namespace={f"{L}_P": self.period, f"{L}_tau": self.tau, f"{L}_tau_c": self.tau_c},
            initial={f"{L}_period": -1.0},
            on_spike=(
                f"{L}_k = floor((t + 0.5*dt)/{L}_P)\n"
                f"{L}_H = {L}_H*int({L}_period == {L}_k)"
                f" + exp(-(t - {L}_P*{L}_k)/{L}_tau - ({L}_P*({L}_k + 1) - t)/{L}_tau_c)\n"
                f"{L}_period = {L}_k"
            ),
        )


def deferral(rules: Sequence[Rule]) -> Deferral | None:
    """The deferred-potentiation plan for ``rules`` on one synapse, or None (see :class:`DeferredPost`):
    exactly one weight rule writes ``dw`` at postsynaptic spikes and declares ``deferred_post`` with its
    ``on_pre`` at emission, exactly one modifier consumes ``dw`` and declares ``ticks``, and the tick period
    is at most :data:`MAX_DEFERRAL_RATIO` trace time constants."""
    codes = [(r, r.code()) for r in rules if isinstance(r, Rule)]
    posts = [(r, c) for r, c in codes if r.role == "weight" and _assigns_code(c.on_post, "dw")]
    consumers = [(r, c) for r, c in codes if r.role == "modifier" and c.consumes_dw]
    if len(posts) != 1 or len(consumers) != 1:
        return None
    (wr, wc), (mr, mc) = posts[0], consumers[0]
    if wc.deferred_post is None or mc.ticks is None or wc.pre_timing != "emission":
        return None
    wp = {**wr.default_parameters(), **dict(wc.parameters)}
    mp = {**mr.default_parameters(), **dict(mc.parameters)}
    period, tau, tau_c = mp[mc.ticks.period], wp[wc.deferred_post.tau], mp[mc.ticks.tau]
    if float(period / tau) > MAX_DEFERRAL_RATIO:
        return None
    return Deferral(wr, mr, wc.deferred_post, mc.ticks, period, tau, tau_c)


def _defer(
    translated: list[tuple[_Translated, Rule]], plan: Deferral
) -> tuple[list[tuple[_Translated, Rule]], list[str]]:
    """Rewrite the translated rules for deferred potentiation: the rules and the synapse equations to add."""
    L = plan.prefix
    wt = next(t for t, r in translated if r is plan.weight)
    mt = next(t for t, r in translated if r is plan.modifier)
    w_names, m_names = wt.names, mt.names
    trace = f"{plan.weight.prefix}_{plan.post.trace}_pre"
    tau, amplitude = w_names[plan.post.tau], wt.sub(plan.post.amplitude)
    c, P = m_names[plan.ticks.eligibility], m_names[plan.ticks.period]

    def due(now: str, k: str) -> str:
        """What the postsynaptic spikes since the last settlement add to c, read at time ``now``."""
        h = f"{L}_H_post*int({L}_period_post == {k})"
        return f"{amplitude}*{trace}*exp(({now} - {P}*{k})/{tau})*({h} - {L}_snap)"

    # At a tick (start of a step, before the traces advance): the period that just ended, trace at t - dt.
    k_tick = f"floor((t - 0.5*dt)/{P})"
    model = [f"{L}_snap : 1", f"{L}_due = {due('t - dt', k_tick)} : 1"]
    # At a presynaptic spike (its emission pathway): this step's period; the trace has not jumped yet.
    settle = (
        f"{L}_k = floor((t + 0.5*dt)/{P})\n"
        f"{c} += {due('t', f'{L}_k')}\n"
        f"{L}_snap = {L}_H_post*int({L}_period_post == {L}_k)"
    )
    new_w = dataclasses.replace(wt, on_post="", on_pre=settle + "\n" + wt.on_pre)
    new_m = dataclasses.replace(mt, regularly=f"{c} += {L}_due\n{mt.regularly}\n{L}_snap = 0")
    out = [(new_w if r is plan.weight else new_m if r is plan.modifier else t, r) for t, r in translated]
    return out, model


@dataclass(frozen=True)
class _Translated:
    equations: str
    on_pre: str
    on_post: str
    parameters: dict[str, Any]
    initial: dict[str, Any]
    efficacy: str
    weight: str
    consumes_dw: bool
    dw_name: str
    pathways: dict[str, tuple[str, Any]] = field(default_factory=dict)
    regularly: str = ""
    regularly_dt: Any = None
    pre_timing: str = "arrival"
    names: dict[str, str] = field(default_factory=dict)  # the rule's local names -> namespaced names

    def sub(self, text: str) -> str:
        """Rename the rule's local names in ``text`` (as its own code was renamed)."""
        return _rename_code(text, self.names)


def _translate(rule: Rule, known_neuron: set[str], context: str) -> _Translated:
    """Rename a rule's local names into its namespace and check that every symbol is defined."""
    owner = f"{context}: rule '{rule.prefix}' ({type(rule).__name__})"
    code = rule.code()
    if not isinstance(code, RuleCode):
        raise RuleError(f"{owner}: code() must return a RuleCode, got {type(code).__name__}")
    params = {**rule.default_parameters(), **dict(code.parameters)}
    try:
        eqs = Equations(code.equations) if code.equations.strip() else Equations("")
    except Exception as err:  # noqa: BLE001 - Brian2 raises several types for syntax errors
        raise RuleError(f"{owner}: cannot parse its equations: {err}") from None
    declared = set(eqs.names) | set(params)
    clash = declared & (SHARED_SYMBOLS | _BUILTINS)
    if clash:
        raise RuleError(f"{owner}: declares {sorted(clash)}, which are shared or built-in names; rename them")
    for name, spec in code.pathways.items():
        if not (isinstance(name, str) and name.isidentifier()) or name in declared:
            raise RuleError(f"{owner}: pathway name {name!r} must be an identifier, not a rule variable")
        if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str)):
            raise RuleError(f"{owner}: pathway '{name}' must be (statements, extra_delay), got {spec!r}")
        check_quantity(f"{owner}: pathway '{name}'", "extra_delay", spec[1], second, nonnegative=True)
        if _assigns_code(spec[0], "w") or _assigns_code(spec[0], "dw"):
            raise RuleError(f"{owner}: pathway '{name}' may not change w or dw, only the rule's variables")
    post_names = _post_names(code, owner, declared)
    pre_names = _pre_names(code, owner, declared, post_names)
    statements = [code.on_pre, code.on_post, code.regularly, *(spec[0] for spec in code.pathways.values())]
    temporaries = set()
    for block in statements:
        for line in block.splitlines():
            m = _ASSIGN.match(line)
            if m and m.group(1) not in declared and m.group(1) not in SHARED_SYMBOLS:
                temporaries.add(m.group(1))
    local = declared | temporaries | {"dw"}
    if rule.role == "modifier" and code.consumes_dw:
        local.discard("dw")
    p = rule.prefix
    rename = {name: f"{p}_{name}" for name in local}
    rename.update({xi: f"xi_{p}{xi[2:]}" for xi in eqs.stochastic_variables})  # own noise per rule
    rename.update({f"{n}_post": f"{p}_{n}_post" for n in post_names})  # the rule's neuron-level variables
    rename.update({f"{n}_pre": f"{p}_{n}_pre" for n in pre_names})

    def sub(text: str) -> str:
        return _IDENT.sub(lambda m: rename.get(m.group(1), m.group(1)), text)

    renamed_eqs = _rename_equations(code.equations, rename)
    texts = {
        "on_pre": sub(code.on_pre),
        "on_post": sub(code.on_post),
        "efficacy": sub(code.efficacy),
        "weight": sub(code.weight),
        "regularly": sub(code.regularly),
    }
    pathways = {f"{p}_{name}": (sub(code_), delay) for name, (code_, delay) in code.pathways.items()}
    allowed = set(rename.values()) | SHARED_SYMBOLS | _BUILTINS | known_neuron | {"EFFICACY"}
    checked = [("equations", renamed_eqs), *texts.items()]
    checked += [(f"pathway '{name}'", code_) for name, (code_, _) in pathways.items()]
    for where, text in checked:
        for ident in _identifiers(text, where == "equations"):
            if ident not in allowed:
                hint = ""
                if ident.endswith(("_pre", "_post")):
                    hint = " (no such neuron variable in the connected populations)"
                raise RuleError(f"{owner}: undefined symbol '{ident}' in {where}{hint}")
    if code.efficacy and rule.role != "efficacy":
        raise RuleError(f"{owner}: only efficacy rules may set RuleCode.efficacy (role is {rule.role!r})")
    if code.consumes_dw and rule.role != "modifier":
        raise RuleError(f"{owner}: only modifier rules may consume dw (role is {rule.role!r})")
    if code.pre_timing not in ("arrival", "emission"):
        raise RuleError(f"{owner}: pre_timing={code.pre_timing!r} not allowed; use 'arrival' or 'emission'")
    if code.pre_timing == "emission" and rule.role != "weight":
        raise RuleError(f"{owner}: only weight rules may set pre_timing='emission' (role is {rule.role!r})")
    neuron_names = post_names | pre_names
    initial = {rename.get(k, k): v for k, v in code.initial.items() if k not in neuron_names}
    unknown_init = [k for k in code.initial if k not in eqs.names and k not in neuron_names]
    if unknown_init:
        raise RuleError(f"{owner}: initial values for undeclared variables {unknown_init}")
    return _Translated(
        equations=renamed_eqs,
        parameters={rename[k]: v for k, v in params.items()},
        initial=initial,
        consumes_dw=code.consumes_dw,
        dw_name=rename.get("dw", "dw"),
        pathways=pathways,
        regularly_dt=code.regularly_dt,
        pre_timing=code.pre_timing,
        names=rename,
        **texts,
    )


def _post_names(code: RuleCode, owner: str, declared: set[str]) -> set[str]:
    """Names of the per-neuron variables a rule declares; checks its slow-update settings."""
    try:
        names = set(Equations(code.post_equations).names) if code.post_equations.strip() else set()
    except Exception as err:  # noqa: BLE001 - Brian2 raises several types for syntax errors
        raise RuleError(f"{owner}: cannot parse its post_equations: {err}") from None
    clash = names & (declared | SHARED_SYMBOLS | _BUILTINS)
    if clash:
        raise RuleError(f"{owner}: post_equations declare {sorted(clash)}: synapse, shared or built-in names")
    if code.regularly.strip() or code.post_regularly.strip():
        check_quantity(owner, "regularly_dt", code.regularly_dt, second, positive=True)
    return names


def _pre_names(code: RuleCode, owner: str, declared: set[str], post_names: set[str]) -> set[str]:
    """Names of the per-neuron variables a rule declares on its presynaptic population."""
    try:
        names = set(Equations(code.pre_equations).names) if code.pre_equations.strip() else set()
    except Exception as err:  # noqa: BLE001 - Brian2 raises several types for syntax errors
        raise RuleError(f"{owner}: cannot parse its pre_equations: {err}") from None
    clash = names & (declared | post_names | SHARED_SYMBOLS | _BUILTINS)
    if clash:
        raise RuleError(
            f"{owner}: pre_equations declare {sorted(clash)}, already synapse, post_equations, shared or "
            "built-in names"
        )
    return names


@dataclass(frozen=True)
class PostCode:
    """Neuron-level code that a population's incoming rules add to it (see ``RuleCode.post_equations``)."""

    equations: str = ""
    namespace: dict[str, Any] = field(default_factory=dict)
    initial: dict[str, Any] = field(default_factory=dict)
    regularly: tuple[tuple[str, Any], ...] = ()  # (statements, dt): run on every neuron every dt
    on_spike: str = ""  # statements run at each spike of a neuron (appended to the reset)


def compose_pre(
    projections: Sequence[tuple[str, Sequence[Rule]]], *, context: str = "population"
) -> PostCode:
    """Like :func:`compose_post` for the rules on ``projections`` *from* one population: their
    ``pre_equations`` and ``pre_on_spike``."""
    return compose_post(projections, context=context, side="pre")


def compose_post(
    projections: Sequence[tuple[str, Sequence[Rule]]], *, context: str = "population", side: str = "post"
) -> PostCode:
    """Collect the neuron-level code of the rules on ``projections`` (``(name, rules)`` pairs onto one
    population). Each namespace contributes once, so its variables are shared by all those projections;
    rules sharing a namespace must then be equal, else the per-neuron state would be ambiguous.
    ``side="pre"``: the projections start at the population (see :func:`compose_pre`)."""
    seen: dict[str, tuple[str, Any]] = {}
    equations, namespace, initial, regularly, on_spike = [], {}, {}, [], []
    for proj_name, rules in projections:
        plan = deferral(rules) if side == "post" else None
        if plan is not None:  # deferred potentiation keeps a per-neuron sum of this neuron's spikes
            key = (plan.weight, plan.modifier)
            if plan.prefix in seen and seen[plan.prefix][1] != key:
                raise RuleError(
                    f"{context}: projections '{seen[plan.prefix][0]}' and '{proj_name}' both carry rules "
                    f"with namespaces '{plan.prefix}' but different parameters; they would share per-neuron "
                    "variables: give one of them a different name="
                )
            if plan.prefix not in seen:
                seen[plan.prefix] = (proj_name, key)
                code = plan.neuron_code()
                equations.append(code.equations)
                namespace.update(code.namespace)
                initial.update(code.initial)
                on_spike.append(code.on_spike)
        for rule in rules:
            code = rule.code()
            eq_text = code.post_equations if side == "post" else code.pre_equations
            regular_text = code.post_regularly if side == "post" else ""
            spike_text = code.post_on_spike if side == "post" else code.pre_on_spike
            if not (eq_text.strip() or regular_text.strip() or spike_text.strip()):
                continue
            p = rule.prefix
            if p in seen:
                if seen[p][1] != rule:
                    raise RuleError(
                        f"{context}: projections '{seen[p][0]}' and '{proj_name}' both carry a rule with "
                        f"namespace '{p}' but different parameters; they would share per-neuron variables: "
                        "give one of them a different name="
                    )
                continue
            seen[p] = (proj_name, rule)
            owner = f"{context}: rule '{p}' ({type(rule).__name__}) on projection '{proj_name}'"
            params = {**rule.default_parameters(), **dict(code.parameters)}
            names = _post_names(code, owner, set())
            if side == "pre":
                names = _pre_names(code, owner, set(), names)
            lines = (regular_text + "\n" + spike_text).splitlines()
            temporaries = {m.group(1) for line in lines if (m := _ASSIGN.match(line))}
            temporaries -= names | SHARED_SYMBOLS
            rename = {n: f"{p}_{n}" for n in names | set(params) | temporaries}
            eqs = _rename_equations(eq_text, rename)
            statements, spike = (_rename_code(text, rename) for text in (regular_text, spike_text))
            allowed = set(rename.values()) | SHARED_SYMBOLS | _BUILTINS
            checked = (("equations", eqs), ("post_regularly", statements), ("on_spike", spike))
            for where, text in checked:
                where = f"{side}_{where}" if where != "post_regularly" else where
                for ident in _identifiers(text, where.endswith("equations")):
                    if ident not in allowed:
                        raise RuleError(f"{owner}: undefined symbol '{ident}' in {where}")
            equations.append(eqs)
            namespace.update({rename[k]: v for k, v in params.items()})
            initial.update({rename[k]: v for k, v in code.initial.items() if k in names})
            if statements.strip():
                regularly.append((statements, code.regularly_dt))
            if spike.strip():
                on_spike.append(spike)
    return PostCode(
        "\n".join(e for e in equations if e), namespace, initial, tuple(regularly), "\n".join(on_spike)
    )


def _rename_code(text: str, rename: Mapping[str, str]) -> str:
    return _IDENT.sub(lambda m: rename.get(m.group(1), m.group(1)), text)


def _rename_equations(text: str, rename: Mapping[str, str]) -> str:
    """Rename identifiers in equation strings, leaving each line's unit and flags alone."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        body, sep, tail = line.partition(":")
        lhs, eq, rhs = body.partition("=")
        diff = re.match(r"\s*d([A-Za-z_]\w*)\s*/\s*dt\s*$", lhs)
        if diff:
            lhs = f"d{rename.get(diff.group(1), diff.group(1))}/dt "
        else:
            lhs = _IDENT.sub(lambda m: rename.get(m.group(1), m.group(1)), lhs)
        body = lhs + eq + _IDENT.sub(lambda m: rename.get(m.group(1), m.group(1)), rhs)
        out.append(body + sep + tail)
    return "\n".join(out)


def _identifiers(text: str, equations: bool) -> set[str]:
    if equations:
        # drop the unit/flag part after ':' and the d.../dt of differential equations
        text = "\n".join(line.split(":")[0] for line in text.splitlines())
        text = re.sub(r"\bd([A-Za-z_]\w*)\s*/\s*dt\b", r"\1", text)
    text = re.sub(r"#.*", "", text)
    return set(_IDENT.findall(text))


def _assigns_code(code: str, name: str) -> bool:
    return any((m := _ASSIGN.match(line)) and m.group(1) == name for line in code.splitlines())


def _assigns(t: _Translated, name: str) -> bool:
    return _assigns_code(t.on_pre, t.dw_name) or _assigns_code(t.on_post, t.dw_name)
