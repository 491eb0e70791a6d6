"""Deferred potentiation: settling a weight rule's postsynaptic updates lazily, exactly.

Applies to a weight rule that declares :class:`~neurosim.plasticity.rule.DeferredPost` (its ``on_post`` is
``dw = amplitude·trace_pre`` with a per-neuron presynaptic trace decaying as ``exp(-t/tau)``, its ``on_pre``
timed at emission) on one synapse with a consuming modifier that declares
:class:`~neurosim.plasticity.rule.Ticks` (``dw`` goes into an eligibility ``c`` read only every ``period``,
relative to the next tick). :class:`~neurosim.plasticity.fast_stdp.FastPairSTDP` with
:class:`~neurosim.plasticity.reward.RewardModulated` is that pair.

The composer then never runs ``on_post`` per synapse. Each postsynaptic neuron j sums its spikes of the
current tick period k (reference ``T_k = k·period``) into::

    H_j = Σ_p exp(-(t_p - T_k)/tau)·exp(-(T_{k+1} - t_p)/τ_c)

and a synapse keeps the value of ``H_j`` at its last settlement (``snap``). Between two presynaptic spikes
the trace is ``trace(t)·exp((t - t_p)/tau)`` at any earlier ``t_p``, so every postsynaptic spike since the
last settlement is worth, in total, ``amplitude·trace(t)·exp((t - T_k)/tau)·(H_j - snap)``: added to the
eligibility at the next presynaptic spike (before its trace jumps) and at each tick (where the modifier
reads it). This is exact, not an approximation; it replaces a pass over the ~K scattered incoming synapses
of every postsynaptic spike by a per-neuron update and per-synapse work that is sequential in memory. It
is used while ``period <= MAX_DEFERRAL_RATIO·tau`` (rounding of the exponentials then stays below ~1e-12
relative); otherwise ``on_post`` runs as written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .naming import Translated, assigns
from .rule import DeferredPost, Rule, Ticks, constants

#: Deferred potentiation only while period / tau stays below this (see the module docstring).
MAX_DEFERRAL_RATIO = 10.0


@dataclass(frozen=True)
class Deferral:
    """A weight rule and a consuming modifier whose potentiation is deferred (see the module docstring)."""

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

    def neuron_code(self) -> tuple[str, dict[str, Any], dict[str, Any], str]:
        """The postsynaptic neurons' part, ``H`` and the period it belongs to, updated at each spike, as
        ``(equations, namespace, initial values, statements at each spike)``."""
        L = self.prefix
        return (
            f"{L}_H : 1\n{L}_period : 1",
            {f"{L}_P": self.period, f"{L}_tau": self.tau, f"{L}_tau_c": self.tau_c},
            {f"{L}_period": -1.0},
            (
                f"{L}_k = floor((t + 0.5*dt)/{L}_P)\n"
                f"{L}_H = {L}_H*int({L}_period == {L}_k)"
                f" + exp(-(t - {L}_P*{L}_k)/{L}_tau - ({L}_P*({L}_k + 1) - t)/{L}_tau_c)\n"
                f"{L}_period = {L}_k"
            ),
        )


def deferral(rules: Sequence[Rule]) -> Deferral | None:
    """The deferred-potentiation plan for ``rules`` on one synapse, or None: exactly one weight rule writes
    ``dw`` at postsynaptic spikes and declares ``deferred_post`` with its ``on_pre`` at emission, exactly one
    modifier consumes ``dw`` and declares ``ticks``, and the tick period is at most
    :data:`MAX_DEFERRAL_RATIO` trace time constants."""
    codes = [(r, r.code()) for r in rules if isinstance(r, Rule)]
    posts = [(r, c) for r, c in codes if r.role == "weight" and assigns(c.on_post, "dw")]
    consumers = [(r, c) for r, c in codes if r.role == "modifier" and c.consumes_dw]
    if len(posts) != 1 or len(consumers) != 1:
        return None
    (wr, wc), (mr, mc) = posts[0], consumers[0]
    if wc.deferred_post is None or mc.ticks is None or wc.pre_timing != "emission":
        return None
    wp, mp = constants(wr, wc), constants(mr, mc)
    period, tau, tau_c = mp[mc.ticks.period], wp[wc.deferred_post.tau], mp[mc.ticks.tau]
    if float(period / tau) > MAX_DEFERRAL_RATIO:
        return None
    return Deferral(wr, mr, wc.deferred_post, mc.ticks, period, tau, tau_c)


def defer(
    translated: list[tuple[Translated, Rule]], plan: Deferral
) -> tuple[list[tuple[Translated, Rule]], list[str]]:
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
