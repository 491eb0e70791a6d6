"""Training compiled whole: the learner's trials as a schedule, the controller's judgement in generated code.

:func:`~neurosim.learners.spiking.trials.run_block` runs a block of training trials in one run with Python
callbacks at step boundaries, on a runtime target (numpy or cython), whose cost is Brian2's per-object call
at every time step (~50 objects, ~2 µs each, on the store-recall network). :func:`run_compiled` turns the
same block into a :class:`~neurosim.backend.compiled_block.BlockSchedule` and runs it on the
``cpp_standalone`` device (:func:`~neurosim.backend.compiled_block.run_compiled_block`), where a time step
costs ~1 µs, with nothing in Python between steps:

* the trial protocol as schedules on the callbacks' tick grid: each trial's start resets membrane potentials,
  synaptic currents and the rules' activity (``RuleCode.rest``) with ``var = var·(1 − s) + s·rest``
  (exact for s ∈ {0, 1}) and sets the readout's bias to the trial's exploration plus the excitability;
  the Hebbian imprinting of ``mem_mem`` switches where the plans say; the input spikes are the plans';
* the controller's judgement of each answer window, its reward, baseline, homeostasis and dopamine by a
  :class:`~neurosim.backend.readout_judge.ReadoutJudge`, the readout's reward-modulated rule reading its
  dopamine as a level (``RewardModulated(dopamine_source="level")``);
* the learner's state moves in (every variable of every group and projection, the controller's baselines,
  the excitability, the dopamine still decaying) and out again, with the judged decisions, rewards and
  dopamine written into the controller's record, so testing and later training go on from the result.

It gives the decisions and weights of ``run_block`` (tested) for the controller's built-in policy: immediate
reward, a running baseline, readout homeostasis and exploration. Other switches (delayed reward, pruning
during learning, consolidation, learned gating) run on the runtime target (:func:`compiles`). A build costs
~3 s whatever the block's length (code generation and linking), so one block holds the whole training call;
the schedules and input spikes are padded to power-of-two sizes, and the device reads the run's start and
length when the binary starts, so that a later call compiles nothing. Each seed has its own build folder
(its connectivity's sizes are in the code). What the runtime network does not get: the training spikes (its
monitors hold the runs it ran itself) and the controller's penalty counts (used only by penalty pruning,
which trains on the runtime target).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from brian2 import mV, second

from ...backend.compiled_block import AtRest, BlockSchedule, Readout, run_compiled_block
from ...backend.readout_judge import Judged, JudgePolicy
from ...frontal import CorrectWrong, TrialResult
from .trials import Outcome, Read, TrialPlan, spikes_between

#: The :class:`~neurosim.learners.spiking.SpikingLearner` (not imported: it imports this).
SpikingLearner = Any


def compiles(learner: SpikingLearner) -> bool:
    """Whether ``learner``'s training can run compiled whole: the controller's built-in policy only."""
    p, c = learner.params, learner.controller
    built_in = c.selection is None and c.bandit is None and c.pruner is None and c.consolidate_above is None
    return (
        built_in
        and isinstance(c.policy, CorrectWrong)
        and learner.decoder.tie == "none"
        and learner.gates is None
        and not p.delayed_reward
        and not p.prune_during_learning
        and not p.consolidation
        and c.reward_delay == (0.0, 0.0)
    )


def run_compiled(
    learner: SpikingLearner,
    plans: Sequence[TrialPlan],
    *,
    settle: bool = False,
    on_done: Callable[[int], None] | None = None,
) -> list[Outcome]:
    """Run the training ``plans`` in one ``cpp_standalone`` run (see the module docstring); ``settle``: an
    inter-trial interval after the last trial so that its reward acts. ``on_done(i)`` is called for every
    trial once the run is over."""
    sim, p, dt = learner.sim, learner.params, learner.params.dt
    schedule, starts, reads = _schedule(learner, plans, settle)
    learner._set_learning(True)
    at_rest = AtRest(learner._neuron_rest, learner._rest)
    readout = Readout(
        "out",
        learner.n_outputs,
        p.neurons_per_output,
        _policy(learner),
        "mem_out",
        _baselines(learner),
        learner.excitability.copy(),
        _dopamine_level(sim, float(sim.t / second)),
    )
    result = run_compiled_block(
        sim,
        schedule,
        at_rest,
        readout,
        input_population="input",
        gate=("mem_mem", "hebb_gate"),
        recorded=learner._recorded,
    )
    learner.excitability = result.excitability
    _record(learner, result.judged, reads, result.baseline, schedule.tick)
    out = []
    step_s = float(dt / second)
    judged = iter(result.judged.decisions)
    for i, (s, plan) in enumerate(zip(starts, plans, strict=False)):
        lo, hi = s * step_s, (s + plan.length) * step_s
        window = {pop: spikes_between(i_t, lo, hi) for pop, i_t in result.spikes.items()}
        decisions, recalled = learner._decode(plan.trial, window, lo + plan.lead * step_s)
        for r in plan.reads:
            decisions[r.step] = next(judged)
        counts = {pop: learner._count(pop, idx) for pop, (idx, _) in window.items()}
        counts["input"] = learner._count("input", plan.spikes.indices)
        out.append(Outcome(decisions, recalled, counts))
        if on_done is not None:
            on_done(i)
    return out


def _schedule(
    learner: SpikingLearner, plans: Sequence[TrialPlan], settle: bool
) -> tuple[BlockSchedule, np.ndarray, list[Read]]:
    """The plans on the tick grid (ticks count from time 0, so that the compiled code does not hold the
    block's start), the trials' first time steps and the answer windows in order."""
    p, dt = learner.params, learner.params.dt
    now = int(round(float(learner.sim.t / dt)))
    starts = now + np.concatenate([[0], np.cumsum([plan.length for plan in plans])]).astype(int)
    end = int(starts[-1]) + (learner.settle_steps if settle else 0)
    marks = [now, end, *(int(s) for s in starts)]
    for s, plan in zip(starts, plans, strict=False):
        marks += [int(s) + plan.lead + x for r in plan.reads for x in (r.start, r.stop)]
        marks += [int(s) + x for x, _ in plan.imprint]
    tick = math.gcd(*marks)
    n_ticks = end // tick + 1
    resets, bias_starts = np.zeros(n_ticks), np.zeros(n_ticks)
    bias, gate = np.zeros((n_ticks, learner.n_outputs)), np.full(n_ticks, np.nan)
    opens, closes, reads = [], [], []
    for s, plan in zip(starts, plans, strict=False):
        k = int(s) // tick
        resets[k], bias_starts[k], bias[k] = 1.0, 1.0, plan.bias
        for r in plan.reads:
            opens.append((int(s) + plan.lead + r.start) // tick)
            closes.append(((int(s) + plan.lead + r.stop) // tick, r.target))
            reads.append(r)
        for x, on in plan.imprint:
            gate[(int(s) + x) // tick] = on
    if settle:  # the interval after the last trial starts from rest, its reward still due, no imprinting
        resets[int(starts[-1]) // tick] = 1.0
        if p.imprint_only_with_input:
            gate[int(starts[-1]) // tick] = 0.0
    step_s = float(dt / second)
    indices = np.concatenate([plan.spikes.indices for plan in plans]).astype(int)
    times = np.concatenate(
        [
            np.asarray(plan.spikes.times / second) + (s + plan.lead) * step_s
            for s, plan in zip(starts, plans, strict=False)
        ]
    )
    protocol = (resets, bias_starts, bias, gate)
    return BlockSchedule(tick, end, *protocol, sorted(opens), closes, indices, times), starts, reads


def _policy(learner: SpikingLearner) -> JudgePolicy:
    c, p = learner.controller, learner.params
    baseline = c.baseline
    return JudgePolicy(
        correct=c.policy.correct,
        wrong=c.policy.wrong,
        scale=c.scale,
        baseline_alpha=baseline.alpha if baseline is not None else 0.0,
        baseline_initial=baseline.initial if baseline is not None else 0.0,
        homeostasis=float(p.readout_homeostasis / mV),
        min_count=learner.decoder.min_count,
    )


def _baselines(learner: SpikingLearner) -> np.ndarray:
    baseline = learner.controller.baseline
    if baseline is None:
        return np.zeros(learner.n_outputs)
    return np.array([baseline.value(k) for k in range(learner.n_outputs)])


def _dopamine_level(sim: Any, now: float) -> float:
    """The dopamine still decaying now from rewards the runtime network's table holds (mem_out's)."""
    signal = sim.dopamine
    rule = signal.rules.get("mem_out")
    if rule is None:
        return 0.0
    return float(rule.dopamine([now], [(t, a) for t, a in signal.events["mem_out"] if t <= now])[0])


def _record(
    learner: SpikingLearner, result: Judged, reads: Sequence[Read], baseline: np.ndarray, every: int
) -> None:
    """The judged windows into the controller's record, baselines and the runtime network's dopamine."""
    c, dt = learner.controller, float(learner.params.dt / second)
    events = learner.sim.dopamine.events.get("mem_out")
    for tick, decision, reward, signal, read in zip(
        result.ticks, result.decisions, result.rewards, result.signals, reads, strict=True
    ):
        stop = tick * every * dt
        start = stop - (read.stop - read.start) * dt
        c.trials.append(
            TrialResult(
                index=len(c.trials),
                start=start,
                stop=stop,
                output=int(decision),
                target=int(read.target),
                reward=float(reward),
                signal=float(signal),
                delivered_at=stop,
                selected=None,
                pruned=0,
                regrown=0,
            )
        )
        if events is not None:
            events.append((stop, float(signal)))
    if c.baseline is not None:
        for target in {int(r.target) for r in reads}:
            c.baseline.values[target] = float(baseline[target])


__all__ = ["compiles", "run_compiled"]
