"""Blocks of trials in one run: a callback at trial-step boundaries, and dopamine that arrives within the run.

A learner that decides, rewards and resets between trials pays Brian2's preparation of every object
(~0.2 s) at each ``sim.run``. :func:`run_with_ticks` runs a whole block of trials in one run instead: a
callback ``on_tick(k)`` is called at ``t0 + k·every`` (``k = 0, 1, ...``), at the start of that time step
and before every other operation of it (the rules' periodic updates run at ``order`` −2 and −1 of the
``start`` slot; the callback at −100), so whatever it sets acts from that step on exactly as if it had been
set between two runs; the last call (``k = duration/every``) comes after the run. With ``every`` a fraction
of a task step (100–200 time steps), Python runs once per 100+ steps, never per time step: a Brian2
``NetworkOperation`` on its own clock. The callback reads and writes the network through the
:class:`~neurosim.backend.Simulation`'s methods as between runs (``set_variable``, ``spike_counts``,
:func:`~neurosim.backend.eligibility`, :func:`~neurosim.backend.clear_eligibility`).

Dopamine inside a run: :meth:`DopamineSignal.deliver <neurosim.backend.DopamineSignal.deliver>` moves the
dopamine table's start to now, which code already running would not see. :func:`deliver_in_run` keeps the
start the code read when the run began and adds the reward's closed-form contribution
(:meth:`~neurosim.plasticity.reward.RewardModulated.table`) to the rows in place, so the result is the one
of a run stopped and continued there (up to rounding). A block that delivers dopamine must end before the
table does: :func:`dopamine_span` is the longest such run (the rules' ``horizon``).
"""

from __future__ import annotations

import gc
from collections.abc import Callable

import brian2 as b2
from brian2 import Quantity, second

from ..network import duration_steps
from ..validation import check_number, fail
from .simulation import Simulation

#: Scheduling order of the tick callback within the ``start`` slot: before the rules' periodic updates.
TICK_ORDER = -100


def run_with_ticks(
    sim: Simulation, duration: Quantity, every: Quantity, on_tick: Callable[[int], None]
) -> int:
    """Advance ``sim`` by ``duration`` in one Brian2 run, calling ``on_tick(k)`` at ``t0 + k·every`` for
    ``k = 0 .. duration/every`` (see the module docstring). ``duration`` must be a whole number of
    ``every`` and ``every`` of ``dt``; ``sim.t`` must lie on the grid of ``every``. Returns the number of
    ticks minus one (the index of the last call). The dopamine table starts at the run's start."""
    owner = "run_with_ticks"
    if sim.target == "cpp_standalone":
        fail(owner, "sim", sim.target, "a runtime target (numpy or cython): the callback is Python")
    dt = sim.description.dt
    n_steps = duration_steps(duration, dt)
    per_tick = duration_steps(every, dt)
    check_number(owner, "every", per_tick, low=1, integer=True)
    if n_steps % per_tick:
        fail(owner, "duration", duration, f"must be a whole number of every = {every}")
    now = int(round(float(sim.t / dt)))
    if now % per_tick:
        fail(owner, "every", every, f"the current time {sim.t} must lie on its grid")
    if sim.dopamine.rules:
        sim.dopamine.refresh()
    ticks = iter(range(n_steps // per_tick))
    op = b2.NetworkOperation(lambda: on_tick(next(ticks)), dt=per_tick * dt, when="start", order=TICK_ORDER)
    sim.network.add(op)
    # Brian2 runs a full garbage collection at every run (slow with sympy's caches loaded): freezing the
    # objects alive now makes it scan only new ones; unfreezing afterwards leaks nothing.
    gc.freeze()
    try:
        sim.network.run(n_steps * dt, report=None)
    finally:
        gc.unfreeze()
        sim.network.remove(op)
    on_tick(n_steps // per_tick)
    return n_steps // per_tick


def deliver_in_run(sim: Simulation, amount: float, at: Quantity | None = None) -> None:
    """Dopamine ``amount`` at ``at`` (default now) to every reward-modulated projection, from inside a
    :func:`run_with_ticks` callback (or between runs): added to the tables in place without moving their
    start (see the module docstring). The tables are rebuilt from every reward at the next run's start."""
    owner = "deliver_in_run"
    signal = sim.dopamine
    if not signal.rules:
        fail(owner, "sim", "no RewardModulated projection", "a network with reward-modulated synapses")
    check_number(owner, "amount", amount)
    now = float(sim.t / second)
    t_r = now if at is None else float(at / second)
    if t_r < now - 1e-12:
        fail(owner, "at", at, f"must not lie in the past (now is {now:.6g} s)")
    for name, rule in signal.rules.items():
        namespace = sim.synapses[name].namespace
        t0 = float(namespace[f"{rule.prefix}_t0"] / second)
        last = t0 + (rule.rows - 1) * float(rule.period / second)
        if t_r >= last:
            fail(
                owner,
                "at",
                at,
                f"lies beyond the dopamine table of '{name}' (ends at {last:.6g} s); "
                "use shorter blocks or raise RewardModulated(horizon=...)",
            )
        signal.events[name].append((t_r, float(amount)))
        namespace[f"{rule.prefix}_D"].values[:] += rule.table(t0, [(t_r, float(amount))])


def dopamine_span(sim: Simulation) -> Quantity | None:
    """The longest run of :func:`run_with_ticks` within which :func:`deliver_in_run` may deliver dopamine
    (the shortest table of the network's reward-modulated projections, less two update periods); None
    when the network has none."""
    rules = sim.dopamine.rules.values()
    if not rules:
        return None
    return min((r.rows - 2) * float(r.period / second) for r in rules) * second


__all__ = ["TICK_ORDER", "deliver_in_run", "dopamine_span", "run_with_ticks"]
