"""The run-time side of reward-modulated plasticity: dopamine tables, eligibility readers.

:class:`~neurosim.plasticity.reward.RewardModulated` describes the rule; its generated code reads the dopamine
integral of each update period from a table (a Brian2 ``TimedArray`` in the synapses' namespace). The
:class:`DopamineSignal` of a simulation schedules rewards and rewrites those tables in place (compiled code
is reused), so a reward may be scheduled seconds ahead and arrives exactly then. :func:`eligibility` and
:func:`clear_eligibility` read and reset the eligibility trace ``c`` of every synapse, including the part
that deferred potentiation has not yet settled.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np
from brian2 import Quantity, second

from ..network import NetworkDescription
from ..plasticity.reward import RewardModulated
from ..validation import ParameterError, check_number, check_quantity, fail
from .objects import BuiltNetwork


def reward_rules(description: NetworkDescription) -> dict[str, RewardModulated]:
    """Projection name → its RewardModulated rule, for each reward-modulated projection of ``description``."""
    out = {}
    for proj in description.projections:
        for rule in proj.rules:
            if isinstance(rule, RewardModulated):
                out[proj.name] = rule
    return out


class HasDopamine(Protocol):
    """A simulation that holds a dopamine signal."""

    @property
    def dopamine(self) -> DopamineSignal: ...


def eligibility(sim: BuiltNetwork, projection: str) -> np.ndarray:
    """Current eligibility ``c`` of every synapse of a reward-modulated projection (decayed to ``sim.t``)."""
    rules = reward_rules(sim.description)
    if projection not in rules:
        fail("eligibility", "projection", projection, f"reward-modulated projections: {sorted(rules)}")
    rule = rules[projection]
    syn = sim.synapses[projection]
    c = np.asarray(getattr(syn, f"{rule.prefix}_c")[:])
    deferred = sim.composed[projection].deferred
    if deferred:  # potentiation not yet settled (plasticity.rule.DeferredPost), relative to the same tick
        c = c + np.asarray(getattr(syn, f"{deferred}_due")[:])
    # stored relative to the next update tick after the last step run (sim.t - dt)
    P, dt, t = (float(q / second) for q in (rule.period, sim.description.dt, sim.t))
    next_tick = P * (math.floor((t - dt + 0.5 * dt) / P) + 1)
    return c * np.exp((next_tick - t) / float(rule.tau_c / second))


def clear_eligibility(sim: BuiltNetwork, projection: str) -> None:
    """Set the eligibility of every synapse of a reward-modulated projection to zero (e.g. between trials).

    Use this rather than assigning ``<prefix>_c = 0``: with deferred potentiation
    (:class:`~neurosim.plasticity.rule.DeferredPost`) part of the eligibility is not yet in ``c`` but owed by
    the postsynaptic spikes since each synapse's last settlement; clearing also forgives that part."""
    rules = reward_rules(sim.description)
    if projection not in rules:
        fail("clear_eligibility", "projection", projection, f"reward-modulated projections: {sorted(rules)}")
    syn = sim.synapses[projection]
    setattr(syn, f"{rules[projection].prefix}_c", 0.0)
    deferred = sim.composed[projection].deferred
    if deferred:  # settle to "nothing owed": the snapshot takes the current value of the neuron's sum
        period = f"{rules[projection].prefix}_period"
        k = f"floor((t - 0.5*dt)/{period})"
        setattr(syn, f"{deferred}_snap", f"{deferred}_H_post*int({deferred}_period_post == {k})")


class DopamineSignal:
    """Scheduled dopamine for the reward-modulated projections of one simulation.

    :meth:`deliver` adds a reward (``amount`` > 0) or punishment (< 0) at a time ≥ now, for example 1–3 s
    after the activity it rewards; the effect on the weights is computed by generated code during later runs.
    A simulation holds one (``sim.dopamine``, also :meth:`of`), shared by every caller.
    """

    def __init__(self, sim: BuiltNetwork) -> None:
        self.sim = sim
        # rules whose dopamine is a level set by generated code (dopamine_source="level") have no table
        self.rules = {k: r for k, r in reward_rules(sim.description).items() if r.dopamine_source == "table"}
        self.events: dict[str, list[tuple[float, float]]] = {name: [] for name in self.rules}

    @staticmethod
    def of(sim: HasDopamine) -> DopamineSignal:
        """The simulation's dopamine signal (one per simulation, shared by every caller)."""
        return sim.dopamine

    def deliver(
        self, amount: float, at: Quantity | None = None, projections: Iterable[str] | None = None
    ) -> None:
        """Add ``amount`` of dopamine at time ``at`` (default: now) to ``projections`` (default: all)."""
        owner = "DopamineSignal.deliver"
        if not self.rules:
            raise ParameterError(f"{owner}: the simulation has no projection with a RewardModulated rule")
        check_number(owner, "amount", amount)
        now = float(self.sim.t / second)
        t_r = now if at is None else float(check_quantity(owner, "at", at, second) / second)
        if t_r < now - 1e-12:
            fail(owner, "at", at, f"must not lie in the past (now is {now:.6g} s)")
        names = list(self.rules) if projections is None else list(projections)
        for name in names:
            if name not in self.rules:
                fail(owner, "projections", name, f"reward-modulated projections: {sorted(self.rules)}")
            rule = self.rules[name]
            P = float(rule.period / second)
            last = math.floor(now / P + 1e-9) * P + (rule.rows - 1) * P
            if t_r >= last:
                fail(
                    owner,
                    "at",
                    at,
                    f"lies beyond the dopamine table of '{name}' (ends at {last:.6g} s); "
                    "raise RewardModulated(horizon=...)",
                )
            self.events[name].append((t_r, float(amount)))
        self.refresh(names)

    def refresh(self, projections: Iterable[str] | None = None) -> None:
        """Rewrite the dopamine tables from now on (called by :meth:`deliver`)."""
        now = float(self.sim.t / second)
        for name in self.rules if projections is None else projections:
            rule = self.rules[name]
            P, tau_da = float(rule.period / second), float(rule.tau_da / second)
            t0 = math.floor(now / P + 1e-9) * P
            self.events[name] = [(t, a) for t, a in self.events[name] if t > t0 - 40 * tau_da]
            namespace = self.sim.synapses[name].namespace
            table = namespace[f"{rule.prefix}_D"]
            table.values[:] = rule.table(t0, self.events[name])
            namespace[f"{rule.prefix}_t0"] = t0 * second

    def dopamine(self, projection: str, times: Any) -> np.ndarray:
        """da(t) of ``projection`` at ``times`` (s) from the rewards scheduled so far."""
        return self.rules[projection].dopamine(times, self.events[projection])

    def state(self) -> dict[str, Any]:
        """The scheduled rewards and the dopamine tables as the generated code reads them now (saved with
        the network by
        ``Simulation.save``: a reward scheduled before a save arrives after a load)."""
        out = {}
        for name, rule in self.rules.items():
            namespace = self.sim.synapses[name].namespace
            out[name] = {
                "events": [tuple(e) for e in self.events[name]],
                "table": np.array(namespace[f"{rule.prefix}_D"].values, dtype=float),
                "t0": float(namespace[f"{rule.prefix}_t0"] / second),
            }
        return out

    def restore(self, state: dict[str, Any]) -> None:
        """Put back what :meth:`state` returned (same projections), tables and all, bit for bit."""
        if set(state) != set(self.rules):
            fail(
                "DopamineSignal.restore",
                "state",
                sorted(state),
                f"the reward-modulated projections of this network: {sorted(self.rules)}",
            )
        for name, rule in self.rules.items():
            namespace = self.sim.synapses[name].namespace
            self.events[name] = [(float(t), float(a)) for t, a in state[name]["events"]]
            namespace[f"{rule.prefix}_D"].values[:] = state[name]["table"]
            namespace[f"{rule.prefix}_t0"] = state[name]["t0"] * second


__all__ = ["DopamineSignal", "HasDopamine", "clear_eligibility", "eligibility", "reward_rules"]
