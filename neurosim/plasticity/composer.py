"""The composer: a synapse's rules, each in its namespace, assembled in one fixed order.

At a presynaptic spike, :func:`compose` runs the rules' code in this order:

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
every other rule that changes ``w``. A weight rule whose ``on_pre`` is timed at emission
(``RuleCode.pre_timing="emission"``) runs it -- with the weight update, or the consuming modifier's
``on_pre`` -- when the presynaptic neuron spikes, in a zero-delay pathway; transmission still waits for the
conduction delay. With a matching consuming modifier, potentiation is deferred
(:mod:`~neurosim.plasticity.deferral`). Consolidation rules pair only as :func:`check_pairings` allows: reward
modulation with :class:`~neurosim.plasticity.reward_consolidation.RewardConsolidation`, never with
:class:`~neurosim.plasticity.consolidation.TaggingCapture`.

Extra presynaptic pathways: ``RuleCode.pathways`` maps a name to ``(statements, extra_delay)``; the
statements run when a presynaptic spike arrives ``extra_delay`` after the conduction delay (Brian2 runs
them in its own synaptic pathway, so no Python runs per spike). The calcium rule uses one for the
NMDA-mediated influx that lags the presynaptic spike. Pathway names are namespaced like variables
(``calcium_pre_influx``; the Brian2 object is ``synapses.calcium_pre_influx`` with its own ``delay``).
Pathway statements may only update the rule's own variables (not ``w`` or ``dw``).

:func:`rest_state` gives, for the rules of one projection, the namespaced variables of activity and their
rest values (``RuleCode.rest``), on the synapses and on the source and target populations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from brian2 import Equations

from .consolidation import TaggingCapture
from .deferral import defer, deferral
from .naming import assigns, namespaced, parse_equations, post_names, pre_names, sort_rest, translate
from .reward import RewardModulated
from .reward_consolidation import RewardConsolidation
from .rule import ROLES, Rule, RuleError


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

    check_pairings(rules, context)
    translated = [(translate(rule, known_neuron, context), rule) for rule in rules]
    definers = [r for t, r in translated if t.weight]
    changers = [r for t, r in translated if t.writes_dw or t.consumes_dw]
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
        translated, extra_model = defer(translated, plan)
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
                if assigns(code, t.dw_name):
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


def check_pairings(rules: Sequence[Rule], context: str = "projection") -> None:
    """Refuse the consolidation pairings that cannot share a synapse, naming the rules and what to use.

    Consolidation comes in two forms: :class:`TaggingCapture` (calcium-driven early phase; it defines ``w``,
    so no reward or weight rule may change it) and :class:`RewardConsolidation` (the early phase is what
    :class:`RewardModulated` changes, which it therefore needs on the same synapse). One per synapse."""
    consolidating = [r for r in rules if isinstance(r, (TaggingCapture, RewardConsolidation))]
    names = [type(r).__name__ for r in consolidating]
    rewarded = any(isinstance(r, RewardModulated) for r in rules)
    if len(consolidating) > 1:
        raise RuleError(
            f"{context}: incompatible rules {names}: one consolidation rule per synapse; use "
            "RewardConsolidation() with RewardModulated() for reward-driven early LTP, or TaggingCapture() "
            "alone for calcium-driven early LTP"
        )
    if names == ["TaggingCapture"] and rewarded:
        raise RuleError(
            f"{context}: incompatible rules ['RewardModulated', 'TaggingCapture']: TaggingCapture defines "
            "the weight w from calcium, so reward cannot change it; to consolidate reward-driven changes use "
            "RewardConsolidation() in place of TaggingCapture()"
        )
    if names == ["RewardConsolidation"] and not rewarded:
        raise RuleError(
            f"{context}: RewardConsolidation needs RewardModulated() on the same synapse (it consolidates "
            "the weight changes that reward makes); add RewardModulated() with a weight rule such as "
            "PairSTDP(), or use TaggingCapture() for calcium-driven early LTP without reward"
        )


@dataclass(frozen=True)
class RestState:
    """The rest values that the rules of one projection declare (``RuleCode.rest``), by namespaced name."""

    synapses: dict[str, Any]  # per-synapse variables of the projection
    source: dict[str, Any]  # per-neuron variables of the source population (``pre_equations``)
    target: dict[str, Any]  # per-neuron variables of the target population (``post_equations``)


def rest_state(rules: Sequence[Rule], *, context: str = "projection") -> RestState:
    """Where and to what a reset between trials sets the activity of ``rules`` (one projection's), in the
    order the rules and their ``rest`` entries are given. Assigning these values is the whole reset: no rule
    needs code of its own for it."""
    synapses: dict[str, Any] = {}
    source: dict[str, Any] = {}
    target: dict[str, Any] = {}
    for rule in rules:
        code = rule.code()
        owner = f"{context}: rule '{rule.prefix}' ({type(rule).__name__})"
        synapse_names = set(parse_equations(code.equations, owner, "equations").names)
        post = post_names(code, owner, synapse_names)
        pre = pre_names(code, owner, synapse_names, post)
        sides = sort_rest(code, owner, synapse_names, pre, post)
        for out, values in zip((synapses, source, target), sides, strict=True):
            names = namespaced(rule.prefix, values)
            out.update({names[name]: value for name, value in values.items()})
    return RestState(synapses, source, target)
