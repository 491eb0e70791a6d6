"""Rewards on NEST: the same :meth:`deliver` as :class:`~neurosim.backend.dopamine.DopamineSignal`, sent
as dopamine spikes to the volume transmitter of each reward-modulated projection.

Each reward-modulated projection has a ``volume_transmitter`` fed by a ``spike_generator`` through a
``parrot_neuron`` (NEST connects no device to a volume transmitter); a reward of amount ``a`` at ``t_r``
becomes ``round(a/q)`` coincident spikes (multiplicity; ``q`` =
:data:`~neurosim.nest.synapses.DOPAMINE_QUANTUM`) timed to reach the synapses at ``t_r`` (a reward due
within the next two steps arrives two steps from now). NEST's dopamine is a spike count, so it cannot be
negative: punishment (``amount < 0``) needs engine ``"brian2"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np
from brian2 import Quantity, second

from ..network import NetworkDescription
from ..plasticity.reward import RewardModulated
from ..validation import ParameterError, check_number, check_quantity, fail
from .synapses import DOPAMINE_QUANTUM


class HasTime(Protocol):
    """What the dopamine signal reads of its simulation."""

    description: NetworkDescription

    @property
    def t(self) -> Quantity: ...


class NestDopamine:
    """Scheduled dopamine for the reward-modulated projections of a NEST simulation (``sim.dopamine``)."""

    def __init__(self, sim: HasTime, rules: dict[str, RewardModulated], generators: dict[str, Any]) -> None:
        self.sim = sim
        self.rules = rules
        self.generators = generators  # projection -> the spike_generator feeding its volume transmitter
        self.events: dict[str, list[tuple[float, float]]] = {name: [] for name in rules}
        self._pending: dict[str, list[tuple[int, int]]] = {name: [] for name in rules}  # (step, spikes)

    @staticmethod
    def of(sim: Any) -> NestDopamine:
        """The simulation's dopamine signal (one per simulation)."""
        return sim.dopamine

    def deliver(
        self, amount: float, at: Quantity | None = None, projections: Iterable[str] | None = None
    ) -> None:
        """Add ``amount`` (> 0) of dopamine at ``at`` (default: now) to ``projections`` (default: all)."""
        owner = "DopamineSignal.deliver"
        if not self.rules:
            raise ParameterError(f"{owner}: the simulation has no projection with a RewardModulated rule")
        check_number(owner, "amount", amount)
        if amount <= 0:
            fail(owner, "amount", amount, "engine 'nest' sends dopamine as spikes: amount must be > 0")
        now = float(self.sim.t / second)
        t_r = now if at is None else float(check_quantity(owner, "at", at, second) / second)
        if t_r < now - 1e-12:
            fail(owner, "at", at, f"must not lie in the past (now is {now:.6g} s)")
        names = list(self.rules) if projections is None else list(projections)
        for name in names:
            if name not in self.rules:
                fail(owner, "projections", name, f"reward-modulated projections: {sorted(self.rules)}")
            self.events[name].append((t_r, float(amount)))
            self._schedule(name, t_r, amount)

    def _schedule(self, name: str, t_r: float, amount: float) -> None:
        """Add a reward to the projection's generator and give it every dopamine spike still to come (in
        steps, two early: generator -> parrot -> volume transmitter take one step each)."""
        dt_ms = float(self.sim.description.dt / second) * 1e3
        now = int(round(float(self.sim.t / second) * 1e3 / dt_ms))
        step = max(int(round(t_r * 1e3 / dt_ms)) - 2, now + 1)
        pending = [(s, m) for s, m in self._pending[name] if s > now] + [
            (step, int(round(amount / DOPAMINE_QUANTUM)))
        ]
        self._pending[name] = pending
        by_step: dict[int, int] = {}
        for s, m in pending:
            by_step[s] = by_step.get(s, 0) + m
        steps = sorted(s for s in by_step if by_step[s] > 0)
        self.generators[name].set(
            spike_times=[s * dt_ms for s in steps], spike_multiplicities=[by_step[s] for s in steps]
        )

    def dopamine(self, projection: str, times: Any) -> np.ndarray:
        """da(t) of ``projection`` at ``times`` (s) from the rewards scheduled so far."""
        return self.rules[projection].dopamine(times, self.events[projection])

    def state(self) -> dict[str, Any]:
        raise NotImplementedError(_UNAVAILABLE.format("state"))

    def restore(self, state: dict[str, Any]) -> None:
        raise NotImplementedError(_UNAVAILABLE.format("restore"))


_UNAVAILABLE = "DopamineSignal.{} is not available on engine 'nest'; build with engine='brian2' for it"


__all__ = ["NestDopamine"]
