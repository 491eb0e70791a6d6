"""Neuron-level code of plasticity rules: per-neuron state, slow processes and per-neuron traces.

Some rules keep state on neurons rather than synapses. ``RuleCode.post_equations`` declares per-neuron
variables that the builder adds to the postsynaptic population as ``<prefix>_<name>``; the rule's synapse
code uses them as ``name_post`` (consolidation's protein pool). ``RuleCode.pre_equations`` does the same on
the *presynaptic* population (``name_pre``; the traces of
:class:`~neurosim.plasticity.fast_stdp.FastPairSTDP`, the state of
:class:`~neurosim.plasticity.fast_stp.FastTsodyksMarkram`). ``pre_on_spike`` / ``post_on_spike`` are
statements run in the pre- / postsynaptic population whenever one of its neurons spikes (appended to its
reset, so after that time step's synaptic pathways).

Such variables are shared by every projection from (onto) that population whose rule has the same
namespace -- a neuron has one protein pool for all its inputs, one trace for all its outputs -- so such
rules must then be equal. ``RuleCode.regularly`` (per synapse) and ``RuleCode.post_regularly`` (per
postsynaptic neuron, run just before) are statements executed every ``RuleCode.regularly_dt`` rather than
every time step, so slow processes cost nothing in between; ``regularly`` may accumulate into a neuron
variable (``total_post += x``) to form a per-neuron sum over incoming synapses.

:func:`compose_post` / :func:`compose_pre` collect this code for one population, renamed into each rule's
namespace and checked as the synapse code is (:mod:`~neurosim.plasticity.naming`), plus the per-neuron sum
of deferred potentiation (:mod:`~neurosim.plasticity.deferral`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .deferral import deferral
from .naming import (
    BUILTINS,
    check_defined,
    namespaced,
    post_names,
    pre_names,
    rename_code,
    rename_equations,
    temporaries,
)
from .rule import SHARED_SYMBOLS, Rule, RuleError, constants


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
                plan_equations, plan_namespace, plan_initial, plan_on_spike = plan.neuron_code()
                equations.append(plan_equations)
                namespace.update(plan_namespace)
                initial.update(plan_initial)
                on_spike.append(plan_on_spike)
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
            params = constants(rule, code)
            names = post_names(code, owner, set())
            if side == "pre":
                names = pre_names(code, owner, set(), names)
            temps = temporaries((regular_text, spike_text), names | SHARED_SYMBOLS)
            rename = namespaced(p, names | set(params) | temps)
            eqs = rename_equations(eq_text, rename)
            statements, spike = (rename_code(text, rename) for text in (regular_text, spike_text))
            allowed = set(rename.values()) | SHARED_SYMBOLS | BUILTINS
            checked = (
                (f"{side}_equations", eqs),
                ("post_regularly", statements),
                (f"{side}_on_spike", spike),
            )
            check_defined(owner, checked, allowed)
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
