"""Reward for a spike pairing, delivered after a delay, found and delivered by generated code.

Izhikevich 2007 (Cereb. Cortex 17:2443, distal reward): every time a chosen presynaptic neuron fires and a
chosen postsynaptic neuron fires within ``window`` after it, dopamine ``amount`` arrives 1–3 s later. A
Python controller that looks at the spikes between runs pays a run's preparation per chunk of time, an hour
needs thousands of runs; :class:`PairingReward` does the same inside one run:

* ``<name>_slots``: ``slots`` synapses from the pre neuron to a one-neuron dopamine group, a ring of slots.
  The ``n``-th spike of the pre neuron (``n`` from 0) takes slot ``n mod slots``, storing its time ``t_first``
  and its reward time ``t_first + delays[n]``. The delays are a table drawn beforehand (seeded), so a Python
  controller that gives the ``n``-th pre spike the same ``delays[n]`` delivers the same rewards.
* ``<name>_post``: one synapse from the post neuron that records the time of its latest spike. Every step a
  slot becomes *paired* if that spike lies 1 step to ``window`` after its ``t_first`` (see :func:`paired`).
* Every update period ``P`` of the reward-modulated rule each paired slot computes its reward's part of the
  rule's dopamine integral for the next period, ``∫ da(s)·e^{−(s−t_k)/τ_c} ds`` (the closed form of
  :meth:`~neurosim.plasticity.reward.RewardModulated.table`), and a summed variable adds the parts into the
  dopamine group at ``t_k − P``. The rule's weight update at ``t_k`` reads it beside its own table (where
  :class:`~neurosim.backend.dopamine.DopamineSignal` puts rewards scheduled from Python).

A slot is reused ``slots`` pre spikes later; a reward that is then still pending or decaying (younger than
40 τ_DA) would be lost, so :meth:`PairingReward.check` fails after the run if that happened, or if the pre
neuron fired more often than there were delays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import brian2 as b2
import numpy as np
from brian2 import Quantity, second
from brian2.units.fundamentalunits import have_same_dimensions

from ..validation import check_number, check_quantity, fail
from .dopamine import reward_rules
from .objects import BuiltNetwork

# the pathways from the network's neurons into the dopamine group (clock: one update period) run on the
# neurons' clock, as they should; Brian2 warns about the differing clocks
b2.BrianLogger.suppress_name("synapses_dt_mismatch")

#: A reward older than this many τ_DA no longer counts (the dopamine tables forget it, too).
FORGET_TAU_DA = 40.0


def paired(pre_times: np.ndarray, post_times: np.ndarray, window: float, dt: float) -> np.ndarray:
    """For each presynaptic spike time (s), whether a postsynaptic spike follows 1 step to ``window`` later
    (times on the ``dt`` grid; half a step of margin on both sides, as in the generated code)."""
    pre, post = np.asarray(pre_times, dtype=float), np.sort(np.asarray(post_times, dtype=float))
    first_after = np.searchsorted(post, pre + 0.5 * dt, side="right")
    inside = first_after < len(post)
    out = np.zeros(len(pre), dtype=bool)
    out[inside] = post[first_after[inside]] < pre[inside] + window + 0.5 * dt
    return out


class PairingReward:
    """Dopamine ``amount`` at ``t_first + delays[n]`` for every pairing of the ``n``-th spike of neuron
    ``pre`` with a spike of neuron ``post`` 1 step to ``window`` later, in generated code (see the module
    docs). ``pre``/``post``: ``(population, index)``; ``projections``: the reward-modulated projections that
    receive it (default: all; their rules must share ``period``, ``tau_c`` and ``tau_da``). Make it after
    :func:`~neurosim.backend.build` and before the first run."""

    def __init__(
        self,
        sim: BuiltNetwork,
        pre: tuple[str, int],
        post: tuple[str, int],
        *,
        window: Quantity,
        delays: Quantity,
        amount: float,
        slots: int = 64,
        projections: Iterable[str] | None = None,
        name: str = "pairing",
    ) -> None:
        owner = "PairingReward"
        if float(sim.t / second) > 0:
            fail(owner, "sim", f"t = {sim.t}", "a network that has not run yet")
        rules = reward_rules(sim.description)
        names = list(rules) if projections is None else list(projections)
        for proj in names:
            if proj not in rules:
                fail(owner, "projections", proj, f"reward-modulated projections: {sorted(rules)}")
        if not names:
            fail(owner, "projections", names, "at least one reward-modulated projection")
        rule = rules[names[0]]
        timing = [(rules[p].period, rules[p].tau_c, rules[p].tau_da) for p in names]
        if any(t != timing[0] for t in timing):
            fail(owner, "projections", names, "rules with the same period, tau_c and tau_da")
        (pre_pop, pre_i), (post_pop, post_i) = pre, post
        for label, (pop, index) in (("pre", pre), ("post", post)):
            if pop not in sim.groups:
                fail(owner, label, pop, f"populations: {sorted(sim.groups)}")
            check_number(owner, f"{label} index", index, low=0, high=sim.groups[pop].N - 1, integer=True)
        dt = float(sim.description.dt / second)
        window_s = float(check_quantity(owner, "window", window, second, positive=True) / second)
        if window_s < dt:
            fail(owner, "window", window, f"at least one step ({sim.description.dt})")
        if not isinstance(delays, Quantity) or not have_same_dimensions(delays, second):
            fail(owner, "delays", delays, "an array of times (e.g. [1.5, 2.1]*second)")
        delay_s = np.asarray(delays / second, dtype=float).ravel()
        soonest = window_s + 2 * float(rule.period / second)  # known a period before it is due
        if not len(delay_s) or not np.all(np.isfinite(delay_s)) or delay_s.min() <= soonest:
            fail(
                owner, "delays", delays, f"finite delays longer than window + 2 update periods ({soonest} s)"
            )
        check_number(owner, "amount", amount)
        check_number(owner, "slots", slots, low=1, integer=True)
        self.sim, self.rule, self.projections, self.name = sim, rule, names, name
        self.pre, self.post = (pre_pop, pre_i), (post_pop, post_i)
        self.window, self.delays = window_s, delay_s
        self.amount, self.n_slots = float(amount), int(slots)
        self._make_objects()
        for proj in names:
            self._feed(proj)

    # -- the generated code ------------------------------------------------------------------------------
    def _make_objects(self) -> None:
        rule, n = self.rule, self.name
        P, tau_c, tau_da = (float(q / second) for q in (rule.period, rule.tau_c, rule.tau_da))
        tau_eff = 1.0 / (1.0 / tau_da + 1.0 / tau_c)
        half = 0.5 * float(self.sim.description.dt / second)
        ns = {
            "amount": self.amount,
            "n_slots": self.n_slots,
            "P_": P * second,
            "tau_c_": tau_c * second,
            "tau_da_": tau_da * second,
            "tau_eff_": tau_eff * second,
            "full": tau_eff * -math.expm1(-P / tau_eff) * second,  # a period after the reward, per unit da
            "forget": FORGET_TAU_DA * tau_da * second,
            "lo": half * second,
            "hi": (self.window + half) * second,
            f"{n}_delay": b2.TimedArray(self.delays * second, dt=1 * second, name=f"{n}_delay_table"),
        }
        self.dopamine = b2.NeuronGroup(
            1, "D : second\nt_latest : second", dt=rule.period, name=f"{n}_dopamine", namespace={}
        )
        self.dopamine.t_latest = -1e9 * second
        slot_model = """
            n_seen : integer          # spikes of the pre neuron so far (the same in every slot)
            t_first : second          # the pre spike this slot holds
            t_reward : second         # when its reward arrives (if paired)
            is_paired : integer       # 1: the post neuron fired in the window after t_first
            n_paired : integer        # pairings this slot held (over the run)
            n_lost : integer          # rewards still due or decaying when the slot was reused
            part : second             # this slot's dopamine integral over the next period
            D_post = part : second (summed)
        """
        take = "int(k == n_seen % n_slots)"  # this pre spike takes this slot
        on_pre = f"""
            n_lost += {take}*is_paired*int(t_reward > t - forget)
            is_paired = is_paired*(1 - {take})
            t_first = t*{take} + t_first*(1 - {take})
            t_reward = (t + {n}_delay(n_seen*second))*{take} + t_reward*(1 - {take})
            n_seen += 1
        """
        self.slots = b2.Synapses(
            self.sim.groups[self.pre[0]],
            self.dopamine,
            slot_model,
            on_pre=on_pre,
            multisynaptic_index="k",
            namespace=ns,
            name=f"{n}_slots",
        )
        self.slots.connect(i=self.pre[1], j=0, n=self.n_slots)
        self.slots.t_first = -1e9 * second
        self.slots.t_reward = -1e9 * second
        self.post_spike = b2.Synapses(
            self.sim.groups[self.post[0]], self.dopamine, on_pre="t_latest_post = t", name=f"{n}_post"
        )
        self.post_spike.connect(i=self.post[1], j=0)
        new = "(1 - is_paired)*int(t_latest_post > t_first + lo)*int(t_latest_post < t_first + hi)"
        self.slots.run_regularly(f"n_paired += {new}\nis_paired += {new}", when="end", name=f"{n}_pairs")
        # the next period [T, T + P): whole-period decay after the reward, or the part after it arrives
        part = """
            T = t + P_
            old = int(t_reward <= T)*int(T - t_reward < forget)
            after = old*exp(-clip(T - t_reward, 0*second, forget)/tau_da_)*full
            inside_w = int(t_reward > T)*int(t_reward < T + P_)
            lag = clip(t_reward - T, 0*second, P_)
            inside = inside_w*exp(-lag/tau_c_)*tau_eff_*(-expm1(-(P_ - lag)/tau_eff_))
            part = is_paired*amount*(after + inside)
        """
        self.slots.run_regularly(part, dt=rule.period, when="start", order=-10, name=f"{n}_parts")
        self.sim.network.add(self.dopamine, self.slots, self.post_spike)

    def _feed(self, projection: str) -> None:
        """Make the weight update of ``projection`` read the dopamine group's integral beside its table:
        ``D(t - t0)`` becomes ``(D(t - t0) + D_pairing)`` in its generated code."""
        rule = reward_rules(self.sim.description)[projection]
        syn, p = self.sim.synapses[projection], rule.prefix
        extra = f"{p}_{self.name}_D"
        syn.variables.add_reference(extra, self.dopamine, "D", index="0")
        table = f"{p}_D(t - {p}_t0)"
        runners = [o for o in syn.contained_objects if table in (getattr(o, "abstract_code", "") or "")]
        if len(runners) != 1:
            fail("PairingReward", "projections", projection, f"a weight update that reads {table}")
        runners[0].abstract_code = runners[0].abstract_code.replace(table, f"({table} + {extra})")

    # -- after the run -----------------------------------------------------------------------------------
    def check(self) -> None:
        """Fail if a reward was lost (too few ``slots``) or the pre neuron outran the ``delays`` table."""
        lost = int(np.sum(self.slots.n_lost[:]))
        if lost:
            fail("PairingReward", "slots", self.n_slots, f"more slots: {lost} rewards were overwritten")
        seen = int(self.slots.n_seen[:][0])
        if seen > len(self.delays):
            fail("PairingReward", "delays", f"{len(self.delays)} delays", f"one per pre spike ({seen})")

    def n_rewards(self) -> int:
        """Pairings found (rewards delivered or still due) so far."""
        return int(np.sum(self.slots.n_paired[:]))


__all__ = ["FORGET_TAU_DA", "PairingReward", "paired"]
