"""Translating a rule's local names into its namespace, and checking that every symbol is defined.

A rule writes its code with short local names (``x``, ``apre``, temporaries such as ``r``); on the synapse
they become ``<prefix>_<name>`` (``stp_x``), and its per-neuron variables become ``<prefix>_<name>`` on the
population (read as ``stp_x_pre`` in synapse code). Brian2's white noise ``xi`` (or ``xi_name``) becomes
``xi_<prefix>`` so that two rules never share a noise source. The synapse code (:func:`translate`, used by
the composer) and the neuron-level code (:func:`~neurosim.plasticity.neuron_code.compose_post`) are renamed
and checked by the same functions here: a symbol that is neither the rule's own, nor shared, nor a Brian2
built-in is an error that names the rule, the symbol and where it occurs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from brian2 import Equations, second
from brian2.core.functions import DEFAULT_CONSTANTS, DEFAULT_FUNCTIONS

from ..serialization import _unit_namespace
from ..validation import check_quantity
from .rule import SHARED_SYMBOLS, Rule, RuleCode, RuleError, constants

BUILTINS = frozenset(DEFAULT_FUNCTIONS) | frozenset(DEFAULT_CONSTANTS) | frozenset(_unit_namespace())
_IDENT = re.compile(r"(?<![\w.])([A-Za-z_]\w*)")
_ASSIGN = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:[-+*/]?=)(?!=)")


def rename_code(text: str, rename: Mapping[str, str]) -> str:
    """Rename identifiers in statements or expressions."""
    return _IDENT.sub(lambda m: rename.get(m.group(1), m.group(1)), text)


def rename_equations(text: str, rename: Mapping[str, str]) -> str:
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
            lhs = rename_code(lhs, rename)
        body = lhs + eq + rename_code(rhs, rename)
        out.append(body + sep + tail)
    return "\n".join(out)


def identifiers(text: str, equations: bool) -> set[str]:
    """The identifiers used in ``text`` (equations: without units, flags and the ``d.../dt``)."""
    if equations:
        text = "\n".join(line.split(":")[0] for line in text.splitlines())
        text = re.sub(r"\bd([A-Za-z_]\w*)\s*/\s*dt\b", r"\1", text)
    text = re.sub(r"#.*", "", text)
    return set(_IDENT.findall(text))


def assigns(code: str, name: str) -> bool:
    """Whether a line of ``code`` assigns ``name``."""
    return any((m := _ASSIGN.match(line)) and m.group(1) == name for line in code.splitlines())


def namespaced(prefix: str, names: Iterable[str]) -> dict[str, str]:
    """Each local name with its namespaced name, ``<prefix>_<name>``."""
    return {name: f"{prefix}_{name}" for name in names}


def temporaries(blocks: Iterable[str], exclude: Iterable[str]) -> set[str]:
    """The names that statements in ``blocks`` assign, other than ``exclude``: the code's temporaries."""
    assigned = {m.group(1) for block in blocks for line in block.splitlines() if (m := _ASSIGN.match(line))}
    return assigned - set(exclude)


def check_defined(
    owner: str, checked: Iterable[tuple[str, str]], allowed: set[str], *, neuron_hint: bool = False
) -> None:
    """Raise :class:`RuleError` for the first identifier of the renamed ``(where, text)`` pairs that is not
    ``allowed``. ``where`` ending in ``equations`` marks equation strings. ``neuron_hint``: say that a
    ``*_pre``/``*_post`` symbol is no neuron variable of the connected populations (synapse code)."""
    for where, text in checked:
        for ident in identifiers(text, where.endswith("equations")):
            if ident not in allowed:
                hint = ""
                if neuron_hint and ident.endswith(("_pre", "_post")):
                    hint = " (no such neuron variable in the connected populations)"
                raise RuleError(f"{owner}: undefined symbol '{ident}' in {where}{hint}")


def parse_equations(text: str, owner: str, what: str) -> Equations:
    """Brian2 equations of a rule (empty when ``text`` is blank); a syntax error names the rule."""
    try:
        return Equations(text) if text.strip() else Equations("")
    except Exception as err:  # noqa: BLE001 - Brian2 raises several types for syntax errors
        raise RuleError(f"{owner}: cannot parse its {what}: {err}") from None


def post_names(code: RuleCode, owner: str, declared: set[str]) -> set[str]:
    """Names of the per-neuron variables a rule declares; checks its slow-update settings."""
    names = set(parse_equations(code.post_equations, owner, "post_equations").names)
    clash = names & (declared | SHARED_SYMBOLS | BUILTINS)
    if clash:
        raise RuleError(f"{owner}: post_equations declare {sorted(clash)}: synapse, shared or built-in names")
    if code.regularly.strip() or code.post_regularly.strip():
        check_quantity(owner, "regularly_dt", code.regularly_dt, second, positive=True)
    return names


def pre_names(code: RuleCode, owner: str, declared: set[str], post: set[str]) -> set[str]:
    """Names of the per-neuron variables a rule declares on its presynaptic population."""
    names = set(parse_equations(code.pre_equations, owner, "pre_equations").names)
    clash = names & (declared | post | SHARED_SYMBOLS | BUILTINS)
    if clash:
        raise RuleError(
            f"{owner}: pre_equations declare {sorted(clash)}, already synapse, post_equations, shared or "
            "built-in names"
        )
    return names


def sort_rest(
    code: RuleCode, owner: str, synapse: set[str], pre: set[str], post: set[str]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A rule's ``RuleCode.rest`` split by where each variable lives: (synapse, pre, post), local names."""
    unknown = [k for k in code.rest if k not in synapse | pre | post]
    if unknown:
        raise RuleError(f"{owner}: rest values for undeclared variables {unknown}")
    return tuple({k: v for k, v in code.rest.items() if k in names} for names in (synapse, pre, post))


@dataclass(frozen=True)
class Translated:
    """One rule's synapse code in its namespace (what :func:`translate` returns)."""

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
        return rename_code(text, self.names)

    @property
    def writes_dw(self) -> bool:
        """Whether the rule's spike code assigns its ``dw``."""
        return assigns(self.on_pre, self.dw_name) or assigns(self.on_post, self.dw_name)


def translate(rule: Rule, known_neuron: set[str], context: str) -> Translated:
    """Rename a rule's local names into its namespace and check that every symbol is defined."""
    owner = f"{context}: rule '{rule.prefix}' ({type(rule).__name__})"
    code = rule.code()
    if not isinstance(code, RuleCode):
        raise RuleError(f"{owner}: code() must return a RuleCode, got {type(code).__name__}")
    params = constants(rule, code)
    eqs = parse_equations(code.equations, owner, "equations")
    declared = set(eqs.names) | set(params)
    clash = declared & (SHARED_SYMBOLS | BUILTINS)
    if clash:
        raise RuleError(f"{owner}: declares {sorted(clash)}, which are shared or built-in names; rename them")
    for name, spec in code.pathways.items():
        if not (isinstance(name, str) and name.isidentifier()) or name in declared:
            raise RuleError(f"{owner}: pathway name {name!r} must be an identifier, not a rule variable")
        if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str)):
            raise RuleError(f"{owner}: pathway '{name}' must be (statements, extra_delay), got {spec!r}")
        check_quantity(f"{owner}: pathway '{name}'", "extra_delay", spec[1], second, nonnegative=True)
        if assigns(spec[0], "w") or assigns(spec[0], "dw"):
            raise RuleError(f"{owner}: pathway '{name}' may not change w or dw, only the rule's variables")
    post = post_names(code, owner, declared)
    pre = pre_names(code, owner, declared, post)
    statements = [code.on_pre, code.on_post, code.regularly, *(spec[0] for spec in code.pathways.values())]
    local = declared | temporaries(statements, declared | SHARED_SYMBOLS) | {"dw"}
    if rule.role == "modifier" and code.consumes_dw:
        local.discard("dw")
    p = rule.prefix
    rename = namespaced(p, local)
    rename.update({xi: f"xi_{p}{xi[2:]}" for xi in eqs.stochastic_variables})  # own noise per rule
    rename.update({f"{n}_post": f"{p}_{n}_post" for n in post})  # the rule's neuron-level variables
    rename.update({f"{n}_pre": f"{p}_{n}_pre" for n in pre})

    renamed_eqs = rename_equations(code.equations, rename)
    texts = {
        "on_pre": rename_code(code.on_pre, rename),
        "on_post": rename_code(code.on_post, rename),
        "efficacy": rename_code(code.efficacy, rename),
        "weight": rename_code(code.weight, rename),
        "regularly": rename_code(code.regularly, rename),
    }
    pathways = {
        f"{p}_{name}": (rename_code(code_, rename), delay) for name, (code_, delay) in code.pathways.items()
    }
    allowed = set(rename.values()) | SHARED_SYMBOLS | BUILTINS | known_neuron | {"EFFICACY"}
    checked = [("equations", renamed_eqs), *texts.items()]
    checked += [(f"pathway '{name}'", code_) for name, (code_, _) in pathways.items()]
    check_defined(owner, checked, allowed, neuron_hint=True)
    if code.efficacy and rule.role != "efficacy":
        raise RuleError(f"{owner}: only efficacy rules may set RuleCode.efficacy (role is {rule.role!r})")
    if code.consumes_dw and rule.role != "modifier":
        raise RuleError(f"{owner}: only modifier rules may consume dw (role is {rule.role!r})")
    if code.pre_timing not in ("arrival", "emission"):
        raise RuleError(f"{owner}: pre_timing={code.pre_timing!r} not allowed; use 'arrival' or 'emission'")
    if code.pre_timing == "emission" and rule.role != "weight":
        raise RuleError(f"{owner}: only weight rules may set pre_timing='emission' (role is {rule.role!r})")
    neuron_names = post | pre
    initial = {rename.get(k, k): v for k, v in code.initial.items() if k not in neuron_names}
    unknown_init = [k for k in code.initial if k not in eqs.names and k not in neuron_names]
    if unknown_init:
        raise RuleError(f"{owner}: initial values for undeclared variables {unknown_init}")
    sort_rest(code, owner, set(eqs.names), pre, post)
    return Translated(
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
