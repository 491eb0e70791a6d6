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
5. ``modifier`` rules (consolidation, reward modulation, pruning masks).

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
    {"w", "w_min", "w_max", "J", "dw", "t", "dt", "lastupdate", "i", "j", "N_incoming", "N_outgoing",
     "N", "t_in_timesteps", "True", "False", "and", "or", "not"}
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
    ``pathways``: extra presynaptic pathways ``{name: (statements, extra_delay)}`` (see the module docstring).
    """

    equations: str = ""
    on_pre: str = ""
    on_post: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    initial: Mapping[str, Any] = field(default_factory=dict)
    efficacy: str = ""
    weight: str = ""
    consumes_dw: bool = False
    pathways: Mapping[str, tuple[str, Any]] = field(default_factory=dict)


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
        raise RuleError(f"{context}: incompatible rules {names}: only one rule may take over the weight update")

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

    by_role = {role: [t for t, r in translated if r.role == role] for role in ROLES}
    efficacy = " * ".join(f"({t.efficacy})" for t in by_role["efficacy"] if t.efficacy) or "1"
    consume = any(t.consumes_dw for t, _ in translated)

    def pathway(kind: str) -> str:
        lines = []
        lines += [getattr(t, kind) for t in by_role["efficacy"] if getattr(t, kind)]
        if kind == "on_pre":
            lines.append(transmission.replace("EFFICACY", efficacy))
        contributions = []
        for t in by_role["weight"]:
            code = getattr(t, kind)
            if code:
                lines.append(code)
                if _assigns_code(code, t.dw_name):
                    contributions.append(t.dw_name)
        modifiers = [getattr(t, kind) for t in by_role["modifier"] if getattr(t, kind)]
        if contributions:
            lines.append(f"dw = {' + '.join(contributions)}")
            if not consume:
                lines.append("w = clip(w + dw, w_min, w_max)")
        elif consume and modifiers:
            lines.append("dw = 0")
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
    )


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
    statements = [code.on_pre, code.on_post, *(spec[0] for spec in code.pathways.values())]
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

    def sub(text: str) -> str:
        return _IDENT.sub(lambda m: rename.get(m.group(1), m.group(1)), text)

    renamed_eqs = _rename_equations(code.equations, rename)
    texts = {
        "on_pre": sub(code.on_pre),
        "on_post": sub(code.on_post),
        "efficacy": sub(code.efficacy),
        "weight": sub(code.weight),
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
    initial = {rename.get(k, k): v for k, v in code.initial.items()}
    unknown_init = [k for k in code.initial if k not in eqs.names]
    if unknown_init:
        raise RuleError(f"{owner}: initial values for undeclared variables {unknown_init}")
    return _Translated(
        equations=renamed_eqs,
        parameters={rename[k]: v for k, v in params.items()},
        initial=initial,
        consumes_dw=code.consumes_dw,
        dw_name=rename.get("dw", "dw"),
        pathways=pathways,
        **texts,
    )


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
