"""How the spiking learner runs trials: a plan per trial, run in blocks (one run each) or trial by trial.

A :class:`TrialPlan` fixes everything about a trial that does not depend on the network's answers: its
input spikes (with the teacher, in training, only after each scored step's answer window), the exploration
bias of the readout groups, the inter-trial interval before it, the answer windows (:class:`Read`) at
whose end the frontal controller judges the decision and sends dopamine, and where the Hebbian imprinting
of ``mem_mem`` switches (``imprint_only_with_input``: on while input, cue or teacher, arrives, off in
silent stretches and the interval; :func:`imprint_changes`). Plans are drawn in trial order from the
learner's random generator, so both ways of running them see the same inputs. After each judged decision
in training the learner's readout homeostasis moves the groups' excitability
(:mod:`~neurosim.learners.spiking.homeostasis`), which the next trial's start adds to its exploration bias.

* :func:`run_block` (default): a block of trials in **one** ``sim.run``
  (:func:`~neurosim.backend.run_with_ticks`). At the step boundaries of the plans, a callback starts each
  trial (the reset to rest, the exploration bias and excitability), switches the imprinting, snapshots
  the readout's spike counts when an answer window opens, and when it closes reads the decision and has the
  controller judge it (:meth:`FrontalController.judge <neurosim.frontal.FrontalController.judge>` with
  ``in_run=True``: reward, baseline, delayed dopamine, penalties, protein synthesis, the record). Python
  runs only at those boundaries (every 100 or 200 time steps), so the network runs at the compiled target's
  speed instead of paying Brian2's preparation at every step of every trial. Training blocks are cut so that
  they fit the dopamine table (:func:`~neurosim.backend.dopamine_span`). With learned gating the callback
  also makes the controller's gate choices at every step start (:mod:`~neurosim.learners.spiking.gating`).
* :func:`run_trial_by_trial`: one :meth:`FrontalController.trial <neurosim.frontal.FrontalController.trial>`
  per answer window, as a Python controller with neuron selection needs, its run split where the imprinting
  switches. Slower (one Brian2 preparation per run); the same decisions, rewards and weights as
  :func:`run_block` for the learner's own controller.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import second

from ...backend import dopamine_span, run_with_ticks
from ...encoding import SpikeTrains
from ...tasks import Trial

#: The :class:`~neurosim.learners.spiking.SpikingLearner` whose trials run (not imported: it imports this).
SpikingLearner = Any

#: ``progress(phase, done, total, eta_s)``: called as trials finish ("train" or "test").
Progress = Callable[[str, int, int, float], None]


@dataclass(frozen=True)
class Read:
    """An answer window: the decision at ``step`` is read from the readout's spikes in ``[start, stop)``
    (time steps from the trial's first step) and judged against ``target``."""

    step: int
    target: int
    start: int
    stop: int


@dataclass(frozen=True)
class TrialPlan:
    """One trial as it will run (time in time steps of the network's ``dt``)."""

    trial: Trial
    lead: int  # inter-trial interval before the first step
    n_steps: int  # time steps of the trial's own steps
    reads: tuple[Read, ...]  # answer windows (training only)
    spikes: SpikeTrains  # input spikes, times from the first step
    bias: np.ndarray  # exploration bias per readout group (mV)
    imprint: tuple[tuple[int, float], ...] = ()  # mem_mem imprinting: (time step from the start, gate)

    @property
    def length(self) -> int:
        return self.lead + self.n_steps


@dataclass
class Outcome:
    """What one trial gave: decisions per step (the judged ones at the scored steps of training), the
    recalled units per step, the spikes of every recorded population and input source in it."""

    decisions: np.ndarray
    recalled: np.ndarray
    counts: dict[str, np.ndarray]


def run_block(
    learner: SpikingLearner,
    plans: Sequence[TrialPlan],
    learn: bool,
    *,
    settle: bool = False,
    on_done: Callable[[int], None] | None = None,
) -> list[Outcome]:
    """Run ``plans`` in one ``sim.run`` (see the module docstring); ``settle``: an inter-trial interval
    after the last trial (reset without clearing eligibility) so that its reward acts. ``on_done(i)`` is
    called when trial ``i`` of the block has finished."""
    sim, dt = learner.sim, learner.params.dt
    starts = np.concatenate([[0], np.cumsum([p.length for p in plans])]).astype(int)
    total = int(starts[-1]) + (learner.settle_steps if settle else 0)
    now = int(round(float(sim.t / dt)))  # ticks lie on a grid through the start and every boundary
    marks = [now, total, *(int(s) for s in starts)]
    # learned gating: the controller's choices at step starts, and which steps it read (emitted answers)
    gating = [learner.gates.actions(p, learn) if learner.gates is not None else ([], None) for p in plans]
    for s, p, (g, _) in zip(starts, plans, gating, strict=False):
        marks += [int(s) + p.lead + x for r in p.reads for x in (r.start, r.stop)]
        marks += [int(s) + x for x, _ in g] + [int(s) + x for x, _ in p.imprint]
    every = math.gcd(*marks)
    actions: dict[int, list[tuple[int, Callable[[], None]]]] = {}

    def at(step: int, rank: int, action: Callable[[], None]) -> None:
        actions.setdefault(step // every, []).append((rank, action))

    opened: dict[tuple[int, int], np.ndarray] = {}
    judged: dict[tuple[int, int], int] = {}
    for i, (s, plan) in enumerate(zip(starts, plans, strict=False)):
        first = s + plan.lead
        at(s, 1, lambda plan=plan: learner._start_trial(plan, learn))
        if i and on_done is not None:
            at(s, 1, lambda i=i: on_done(i - 1))
        for x, action in gating[i][0]:
            at(s + x, 1, action)
        for x, on in plan.imprint:
            at(s + x, 1, lambda on=on: learner._imprint(on))
        for r in plan.reads:
            at(first + r.start, 2, lambda key=(i, r.step): opened.__setitem__(key, _out_counts(learner)))
            at(
                first + r.stop,
                0,
                lambda key=(i, r.step), r=r, reads=gating[i][1]: judged.__setitem__(
                    key, _judge(learner, opened[key], r, reads)
                ),
            )
    if settle:
        at(int(starts[-1]), 1, learner._settle)

    def on_tick(k: int) -> None:
        for _, action in sorted(actions.get(k, ()), key=lambda a: a[0]):
            action()

    learner._set_learning(learn)
    marks_before = {pop: sim.n_spikes(pop) for pop in learner._recorded}
    learner._offsets.update(marks_before)
    t_block = float(sim.t / second)
    indices = np.concatenate([p.spikes.indices for p in plans])
    times = np.concatenate(
        [
            np.asarray(p.spikes.times / second) + (s + p.lead) * float(dt / second)
            for s, p in zip(starts, plans, strict=False)
        ]
    )
    sim.set_spike_times("input", indices, (times + t_block) * second)
    run_with_ticks(sim, total * dt, every * dt, on_tick)
    if on_done is not None:
        on_done(len(plans) - 1)
    spikes = {pop: sim.spikes_since(pop, marks_before[pop]) for pop in learner._recorded}
    out = []
    step_s = float(dt / second)
    for i, (s, plan) in enumerate(zip(starts, plans, strict=False)):
        lo, hi = t_block + s * step_s, t_block + (s + plan.length) * step_s
        window = {pop: spikes_between(i_t, lo, hi) for pop, i_t in spikes.items()}
        decisions, recalled = learner._decode(plan.trial, window, lo + plan.lead * step_s)
        for r in plan.reads:
            decisions[r.step] = judged[(i, r.step)]
        if gating[i][1] is not None:  # learned gating: an answer only where the controller read
            decisions = np.where(gating[i][1] > 0, decisions, -1)
        counts = {pop: learner._count(pop, idx) for pop, (idx, _) in window.items()}
        counts["input"] = learner._count("input", plan.spikes.indices)
        out.append(Outcome(decisions, recalled, counts))
    return out


def run_trial_by_trial(learner: SpikingLearner, plan: TrialPlan, learn: bool) -> Outcome:
    """Run one plan with one :meth:`FrontalController.trial` per answer window (see the module docstring)."""
    sim, dt = learner.sim, learner.params.dt
    learner._start_trial(plan, learn)
    learner._set_learning(learn)
    marks = {pop: sim.n_spikes(pop) for pop in learner._recorded}
    learner._offsets.update(marks)
    t_start = float(sim.t / second)
    first = t_start + plan.lead * float(dt / second)
    sim.set_spike_times("input", plan.spikes.indices, plan.spikes.times + first * second)
    done, decided, switches = 0, {}, list(plan.imprint)  # time steps from the trial's start

    def run_to(tick: int) -> None:  # plain runs up to ``tick``, switching the imprinting on the way
        nonlocal done
        while switches and switches[0][0] < tick:
            x, on = switches.pop(0)
            if x > done:
                sim.run((x - done) * dt, progress=False)
                done = x
            learner._imprint(on)

    for r in plan.reads:
        stop = plan.lead + r.stop
        run_to(stop)
        learner._window = (r.stop - r.start) * dt
        result = learner.controller.trial((stop - done) * dt, r.target, context=r.target, prune=False)
        decided[r.step], done = int(result.output), stop
        learner._decided(decided[r.step])
    run_to(plan.length)
    if plan.length > done:
        sim.run((plan.length - done) * dt, progress=False)
    window = {pop: sim.spikes_since(pop, marks[pop]) for pop in learner._recorded}
    decisions, recalled = learner._decode(plan.trial, window, first)
    for step, d in decided.items():
        decisions[step] = d
    counts = {pop: learner._count(pop, idx) for pop, (idx, _) in window.items()}
    counts["input"] = learner._count("input", plan.spikes.indices)
    return Outcome(decisions, recalled, counts)


def imprint_changes(inputs: np.ndarray, lead: int, step: int) -> tuple[tuple[int, float], ...]:
    """Where a trial switches the Hebbian imprinting of ``mem_mem`` (encoding vs retrieval): (time step from
    the trial's start, gate) at the start (off through an inter-trial interval of ``lead`` time steps, which
    has no input) and wherever it changes: on (1) in rows of ``inputs`` that are not all zero, off (0) in
    silent ones (``step`` time steps per row: the learner's rows are the teacher's onset resolution, so
    the teacher counts as input)."""
    on = np.any(np.asarray(inputs) != 0, axis=1).astype(float)
    ticks = lead + step * np.arange(len(on))
    if lead:
        on, ticks = np.concatenate([[0.0], on]), np.concatenate([[0], ticks])
    change = np.concatenate([[True], on[1:] != on[:-1]])
    return tuple((int(x), float(g)) for x, g in zip(ticks[change], on[change], strict=True))


def blocks(learner: SpikingLearner, plans: Sequence[TrialPlan], learn: bool) -> list[list[TrialPlan]]:
    """``plans`` cut into blocks: at test one block; in training as many trials as fit the dopamine table
    (with the final settling interval), at least one."""
    span = dopamine_span(learner.sim) if learn else None
    if span is None:
        return [list(plans)]
    limit = int(math.floor(float(span / learner.params.dt))) - learner.settle_steps
    out: list[list[TrialPlan]] = [[]]
    used = 0
    for plan in plans:
        if out[-1] and used + plan.length > limit:
            out.append([])
            used = 0
        out[-1].append(plan)
        used += plan.length
    return out


class Reporter:
    """Progress by trial with an estimate of the time left (from the mean wall time per trial so far)."""

    def __init__(self, progress: Progress | None, phase: str, total: int) -> None:
        self.progress, self.phase, self.total = progress, phase, total
        self.done, self.start = 0, time.perf_counter()

    def __call__(self, _: int = 0) -> None:
        self.done += 1
        if self.progress is not None:
            elapsed = time.perf_counter() - self.start
            self.progress(self.phase, self.done, self.total, elapsed / self.done * (self.total - self.done))


def _out_counts(learner: SpikingLearner) -> np.ndarray:
    return learner.sim.spike_counts("out").copy()


def _judge(learner: SpikingLearner, opened: np.ndarray, read: Read, reads: np.ndarray | None = None) -> int:
    """The decision of an answer window, judged by the controller from inside the run
    (:meth:`FrontalController.judge <neurosim.frontal.FrontalController.judge>`). With learned gating
    (``reads``: the controller's read choice per step) the reward also teaches the gate policies, and where
    the controller did not read no answer left (−1): the gate policies get ``wrong``, the readout, which did
    not answer, no dopamine."""
    counts = learner.sim.spike_counts("out") - opened
    output = int(learner.decoder.decode(counts[None, :])[0])
    if reads is not None and not reads[read.step]:
        learner.gates.rewarded(learner.params.wrong)
        return -1
    start = learner.sim.t - (read.stop - read.start) * learner.params.dt
    context = read.target if reads is None else None  # learned gating: one reward prediction for answers
    result = learner.controller.judge(output, read.target, context=context, start=start, in_run=True)
    learner._decided(output)
    if reads is not None:
        learner.gates.rewarded(result.reward)
    return output


def spikes_between(
    spikes: tuple[np.ndarray, np.ndarray], lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """The spikes (indices, times in s; sorted by time) with ``lo <= t < hi``."""
    i, t = spikes
    a, b = np.searchsorted(t, [lo - 1e-9, hi - 1e-9])
    return i[a:b], t[a:b]


__all__ = [
    "Outcome",
    "Progress",
    "Read",
    "Reporter",
    "TrialPlan",
    "blocks",
    "imprint_changes",
    "run_block",
    "run_trial_by_trial",
    "spikes_between",
]
