"""Test trials side by side: many trials at once on copies of the trained network.

At test the learner's plasticity is off and every trial starts from rest, so a test trial's answer depends
only on the trained network and the trial. :func:`run_side_by_side` runs ``copies`` test trials at the same
time, one on each copy of the network (:func:`neurosim.backend.replicas.replicate`: copies share no
synapse), in rounds: round ``r`` gives trial ``r·copies + k`` to copy ``k``, every copy is reset to rest
at the round's start (as the trial-by-trial path resets at each trial), and all rounds run in one
``sim.run`` (:func:`~neurosim.backend.run_with_ticks`). The learner's own network is not touched.

Why: a time step of these small networks costs Brian2's per-object call overhead more than the neurons'
and synapses' work, so copies side by side share that overhead. Measured (CPU time per test trial,
comparison's full config): store-recall 0.173 s one after another, 0.055 s with 32 copies; associative
recall (60k synapses) 0.057 s and 0.042 s with 16 copies. :func:`copies_for` picks the copies from the
network's size. What differs from one after another: each copy draws its own Poisson background (the
stream is per neuron), and a trial follows the previous trial of its copy, not of the whole test.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from brian2 import mV, second

from ...backend import run_with_ticks
from ...backend.replicas import replicate
from .trials import Outcome, SpikingLearner, TrialPlan, spikes_between

#: Synapses the copies may hold together when the learner picks the copies (``test_copies=0``).
SYNAPSE_BUDGET = 1_000_000
#: The most copies the learner picks by itself (the gain levels off beyond: 0.055 s per trial at 32 and 64).
MAX_COPIES = 32


def copies_for(n_synapses: int, n_trials: int) -> int:
    """The copies for ``n_trials`` test trials of a network of ``n_synapses`` synapses: as many as fit
    :data:`SYNAPSE_BUDGET`, at most :data:`MAX_COPIES` and at most one per trial."""
    return max(1, min(MAX_COPIES, n_trials, SYNAPSE_BUDGET // max(1, n_synapses)))


def run_side_by_side(
    learner: SpikingLearner,
    plans: Sequence[TrialPlan],
    copies: int,
    on_done: Callable[[int], None] | None = None,
) -> list[Outcome]:
    """Run the test ``plans`` (no learning) on ``copies`` copies of the learner's network (see the module
    docstring); ``on_done(i)`` is called when trial ``i`` has finished. Outcomes in the order of ``plans``."""
    dt = learner.params.dt
    step_s = float(dt / second)
    sizes = {pop.name: pop.n for pop in learner.sim.description.populations}
    rounds = [list(plans[a : a + copies]) for a in range(0, len(plans), copies)]
    lengths = [max(p.length for p in r) for r in rounds]
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(int)

    sim = replicate(learner.sim, copies)
    learner._set_learning(False, sim=sim)
    learner._reset(sim=sim)
    sim.set_variable("out", "I_ext", 0 * mV)  # no exploration bias at test
    t0 = float(sim.t / second)
    now = int(round(float(sim.t / dt)))
    every = math.gcd(now, *(int(s) for s in starts))
    indices = np.concatenate(
        [p.spikes.indices + k * sizes["input"] for r in rounds for k, p in enumerate(r)]
    ).astype(int)
    times = np.concatenate(
        [
            np.asarray(p.spikes.times / second) + t0 + s * step_s
            for s, r in zip(starts, rounds, strict=False)
            for p in r
        ]
    )
    order = np.argsort(times, kind="stable")
    sim.set_spike_times("input", indices[order], times[order] * second)

    first = {int(s) // every: n for n, s in enumerate(starts)}
    finished = 0

    def on_tick(k: int) -> None:
        nonlocal finished
        n = first.get(k)
        if n is None:
            return
        if n:  # round n - 1 has finished
            learner._reset(sim=sim)
            if on_done is not None:
                for i in range(finished, finished + len(rounds[n - 1])):
                    on_done(i)
            finished += len(rounds[n - 1])

    marks = {pop: sim.n_spikes(pop) for pop in learner._recorded}
    run_with_ticks(sim, int(starts[-1]) * dt, every * dt, on_tick)
    if on_done is not None:
        for i in range(finished, len(plans)):
            on_done(i)
    spikes = {pop: sim.spikes_since(pop, marks[pop]) for pop in learner._recorded}
    out = []
    for s, r in zip(starts, rounds, strict=False):
        lo = t0 + s * step_s
        for k, plan in enumerate(r):
            window = {
                pop: _of_copy(spikes_between(i_t, lo, lo + plan.length * step_s), k, sizes[pop])
                for pop, i_t in spikes.items()
            }
            decisions, recalled = learner._decode(plan.trial, window, lo)
            counts = {pop: learner._count(pop, idx) for pop, (idx, _) in window.items()}
            counts["input"] = learner._count("input", plan.spikes.indices)
            out.append(Outcome(decisions, recalled, counts))
    return out


def _of_copy(spikes: tuple[np.ndarray, np.ndarray], copy: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``spikes`` of copy ``copy`` (neurons ``copy·n .. copy·n + n − 1``), indexed as in one network."""
    i, t = spikes
    mine = (i >= copy * n) & (i < (copy + 1) * n)
    return i[mine] - copy * n, t[mine]


__all__ = ["MAX_COPIES", "SYNAPSE_BUDGET", "copies_for", "run_side_by_side"]
