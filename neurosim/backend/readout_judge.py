"""The controller's judgement of a readout in generated code: decision, reward, baseline, homeostasis.

In a block of training trials the Python controller judges every answer window from a callback
(:func:`~neurosim.backend.run_with_ticks`). A ``cpp_standalone`` run has no Python between its steps, so
there the judgement has to be Brian2 objects of the network itself. :class:`ReadoutJudge` adds them: the same
judgement as :class:`~neurosim.encoding.SpikeCountDecoder` (``tie="none"``),
:class:`~neurosim.frontal.CorrectWrong`, :class:`~neurosim.frontal.RunningBaseline` (one context per target)
and the readout homeostasis (:func:`~neurosim.learners.spiking.homeostasis.conscience_step`), in the same
floating-point operations, at the same time steps:

* a group of one *judge* neuron per readout group; a zero-delay pathway from the readout adds each spike to
  its group's ``count``, which an answer window's opening tick sets to 0;
* a summed ranking between the judge neurons, ``beaten = Σ_other int(count_other >= count)``, brought up to
  date at the end of every time step (after the spikes were counted): a group wins if nothing ties or beats it
  (``beaten = 0``) and it has at least ``min_count`` spikes, so a tie or a silent readout decides nothing;
* at a closing tick (a :class:`~brian2.TimedArray` holds target + 1 at the tick, 0 elsewhere), before it
  opens the next window: the target's neuron scores ``correct`` if its group won, else ``wrong``, sends
  ``signal = scale·(reward − baseline)`` and moves its ``baseline`` by ``alpha·(reward − baseline)``; every
  neuron moves its ``excitability`` by ``eta·(1/K − won)``;
* with ``dopamine`` (a projection whose :class:`~neurosim.plasticity.reward.RewardModulated` rule reads the
  dopamine as a level, ``dopamine_source="level"``): the signal is that projection's dopamine. Each judge
  neuron holds a level ``da`` that the signal raises and that decays with the rule's ``τ_DA``; a summed
  pathway sets the level of every neuron of the projection's target to the sum, in each time step before the
  rule's periodic update, so the update at the closing tick already includes the reward, as a reward delivered
  by the Python controller at that tick does.

Ticks are the Python callbacks' grid: ``tick`` time steps, counted from time 0, at the start of a time step;
the counts a tick sees are the spikes of the time steps before it, as a spike monitor read there. The
schedules' lengths are rounded up to a power of two, so that the generated code (which holds them) stays the
same for runs of similar length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import brian2 as b2
import numpy as np

from ..plasticity.reward import RewardModulated
from ..validation import check_number, fail
from .dopamine import reward_rules
from .objects import BuiltNetwork

#: Scheduling order of the judgement in the ``start`` slot: before the rules' periodic updates (−2, −1).
JUDGE_ORDER = -20


def _level_rules(sim: BuiltNetwork) -> list[tuple[str, RewardModulated]]:
    return [(name, r) for name, r in reward_rules(sim.description).items() if r.dopamine_source == "level"]


@dataclass(frozen=True)
class JudgePolicy:
    """What a judged decision is worth and what it changes (the controller's built-in policy)."""

    correct: float = 1.0  # reward when the decided group is the target
    wrong: float = -1.0  # reward otherwise (no decision included)
    scale: float = 1.0  # the signal sent is scale·(reward − baseline)
    baseline_alpha: float = 0.0  # running baseline per target (0: none, the signal is scale·reward)
    baseline_initial: float = 0.0
    homeostasis: float = 0.0  # excitability step per judged decision: eta·(1/K − won)
    min_count: int = 1  # fewest spikes a winning group needs

    def __post_init__(self) -> None:
        owner = "JudgePolicy"
        for name in ("correct", "wrong", "scale", "baseline_initial", "homeostasis"):
            check_number(owner, name, getattr(self, name))
        check_number(owner, "baseline_alpha", self.baseline_alpha, low=0, high=1)
        check_number(owner, "min_count", self.min_count, low=0, integer=True)


@dataclass(frozen=True)
class Judged:
    """What the judge decided at each closing tick, in tick order."""

    ticks: np.ndarray  # closing ticks
    targets: np.ndarray
    decisions: np.ndarray  # decided group, -1 for none
    rewards: np.ndarray
    signals: np.ndarray  # scale·(reward − baseline before the update)


class ReadoutJudge:
    """Brian2 objects that judge the readout ``readout`` of ``sim`` (``n_groups`` groups of ``per_group``
    neurons, in index order) at the answer windows given as ticks; add :attr:`objects` to the network.
    ``baseline``, ``excitability`` and ``dopamine_level``: the state to start from (default: the policy's
    initial baseline, no excitability, no dopamine)."""

    def __init__(
        self,
        sim: BuiltNetwork,
        readout: str,
        n_groups: int,
        per_group: int,
        *,
        tick: int,
        opens: Sequence[int],
        closes: Sequence[tuple[int, int]],
        policy: JudgePolicy,
        dopamine: str | None = None,
        baseline: np.ndarray | None = None,
        excitability: np.ndarray | None = None,
        dopamine_level: float = 0.0,
    ) -> None:
        owner = "ReadoutJudge"
        check_number(owner, "n_groups", n_groups, low=1, integer=True)
        check_number(owner, "per_group", per_group, low=1, integer=True)
        check_number(owner, "tick", tick, low=1, integer=True)
        group = sim.groups.get(readout)
        if group is None:
            fail(owner, "readout", readout, f"populations: {sorted(sim.groups)}")
        if len(group) != n_groups * per_group:
            fail(owner, "readout", readout, f"has {len(group)} neurons, not n_groups·per_group")
        if list(closes) != sorted(closes) or len({k for k, _ in closes}) != len(closes):
            fail(owner, "closes", closes, "expected (tick, target) pairs in tick order, one per tick")
        targets = [target for _, target in closes]
        if any(not 0 <= t < n_groups for t in targets):
            fail(owner, "closes", targets, f"targets must lie in 0..{n_groups - 1}")
        n_ticks = padded_length(max([0, *opens, *(k for k, _ in closes)]) + 2)
        open_at, close_at = np.zeros(n_ticks), np.zeros(n_ticks)
        open_at[list(opens)] = 1.0
        for k, target in closes:
            close_at[k] = target + 1.0
        dt = sim.description.dt
        period = tick * dt
        self.n_groups = n_groups
        self._closes = np.array([k for k, _ in closes], dtype=int)
        self._targets = np.array(targets, dtype=int)
        namespace = {
            "open_at": b2.TimedArray(open_at, dt=period),
            "close_at": b2.TimedArray(close_at, dt=period),
            "n_groups": float(n_groups),
            "min_count": float(policy.min_count),
            "correct": policy.correct,
            "wrong": policy.wrong,
            "scale": policy.scale,
            "alpha": policy.baseline_alpha,
            "eta": policy.homeostasis,
        }
        rule = None
        if dopamine is not None:
            rule = next((r for r in _level_rules(sim) if r[0] == dopamine), None)
            if rule is None:
                known = [name for name, _ in _level_rules(sim)]
                fail(owner, "dopamine", dopamine, f"projections whose dopamine is a level: {known}")
            namespace["tau_da"] = rule[1].tau_da
        model = "count : 1\nbeaten : 1\nclosing : 1\nwon : 1\nreward : 1\nsignal : 1\nbaseline : 1\n"
        model += "excitability : 1\n" + ("dda/dt = -da/tau_da : 1" if rule else "da : 1")
        judge = b2.NeuronGroup(n_groups, model, method="exact", namespace=namespace, name="readout_judge")
        # the state it starts from: baselines per target, excitability per group, dopamine still decaying
        judge.baseline = policy.baseline_initial if baseline is None else np.asarray(baseline, dtype=float)
        if excitability is not None:
            judge.excitability = np.asarray(excitability, dtype=float)
        judge.da = np.r_[float(dopamine_level), np.zeros(n_groups - 1)]
        judge.run_regularly(
            "closing = int(close_at(t) > 0)\n"
            "is_target = closing*int(abs(i - (close_at(t) - 1)) < 0.5)\n"
            "won = closing*int(beaten < 0.5)*int(count >= min_count)\n"
            "reward = is_target*(won*correct + (1 - won)*wrong)\n"
            "signal = is_target*scale*(reward - baseline)\n"
            "baseline = baseline + is_target*alpha*(reward - baseline)\n"
            "excitability = excitability + closing*eta*(1.0/n_groups - won)\n"
            "da = da + signal\n"
            "count = count*(1 - open_at(t))",
            dt=period,
            when="start",
            order=JUDGE_ORDER,
            name="readout_judge_decides",
        )
        tally = b2.Synapses(group, judge, on_pre="count_post += 1", name="readout_tally")
        tally.connect(i=np.arange(len(group)), j=np.arange(len(group)) // per_group)
        rank = b2.Synapses(
            judge, judge, "beaten_post = int(count_pre >= count_post) : 1 (summed)", name="readout_rank"
        )
        rank.connect(condition="i != j")
        rank.summed_updaters["beaten_post"].when = "end"
        objects: list[b2.BrianObject] = [judge, tally, rank]
        if rule is not None:
            proj = sim.description.projection(dopamine)
            target = sim.groups[proj.target]
            level = b2.Synapses(
                judge, target, f"{rule[1].prefix}_da_post = da_pre : 1 (summed)", name="readout_dopamine"
            )
            level.connect()
            level.summed_updaters[f"{rule[1].prefix}_da_post"].when = "start"
            level.summed_updaters[f"{rule[1].prefix}_da_post"].order = JUDGE_ORDER + 1
            objects.append(level)
        self._record = b2.StateMonitor(
            judge,
            ["closing", "won", "reward", "signal"],
            record=True,
            dt=period,
            when="start",
            order=JUDGE_ORDER + 1,
            name="readout_judged",
        )
        objects.append(self._record)
        self.group = judge
        self.objects = tuple(objects)

    @property
    def baseline(self) -> np.ndarray:
        """The running baseline per target (its neuron's)."""
        return np.asarray(self.group.baseline[:])

    @property
    def excitability(self) -> np.ndarray:
        return np.asarray(self.group.excitability[:])

    def judged(self) -> Judged:
        """The decisions, rewards and signals of the closing ticks run so far."""
        rec = self._record
        closing = np.asarray(rec.closing[0]) > 0.5
        won = np.asarray(rec.won[:])[:, closing].T  # (closes, groups)
        n = len(won)
        decided = np.where(won.any(axis=1), won.argmax(axis=1), -1)
        rows, targets = np.arange(n), self._targets[:n]
        reward = np.asarray(rec.reward[:])[:, closing].T[rows, targets]
        signal = np.asarray(rec.signal[:])[:, closing].T[rows, targets]
        return Judged(self._closes[:n], targets, decided, reward, signal)


def padded_length(n: int) -> int:
    """``n`` rounded up to a power of two."""
    return 1 << max(0, n - 1).bit_length()


__all__ = ["JUDGE_ORDER", "JudgePolicy", "Judged", "ReadoutJudge", "padded_length"]
