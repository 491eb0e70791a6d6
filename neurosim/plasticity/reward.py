"""Reward-modulated (three-factor) plasticity: weight changes wait in an eligibility trace for dopamine.

Izhikevich 2007 (Cereb. Cortex 17:2443, "distal reward"); Frémaux & Gerstner 2016 (review). Per synapse::

    dc/dt = −c/τ_c + Σ_k dw_k δ(t − t_k)              eligibility: the weight rules' changes dw go here
    dw/dt = η·(tonic + da(t))·c(t)                    the weight follows eligibility × dopamine
    da(t) = Σ_r a_r·exp(−(t − t_r)/τ_DA)·H(t − t_r)   dopamine: reward r adds a_r at t_r, then decays

Any ``dw``-emitting weight rule (pair or triplet STDP, a user's rule) is wrapped by adding
``RewardModulated()`` to the same projection: the composer routes ``dw`` into ``c``. Reward (a > 0)
strengthens synapses with positive eligibility, punishment (a < 0) weakens them; with no dopamine only the
tonic term (Izhikevich's 0.002, default 0) acts. Izhikevich 2007 is ``η = 100 Hz`` (his update
``s += (0.002 + DA)·c`` every 10 ms), ``tonic = 0.002``, ``τ_c = 1 s``, ``τ_DA = 200 ms``. Rules that define
the weight themselves (``RuleCode.weight``, e.g. the calcium rule) emit no ``dw`` and cannot be wrapped.

How it runs (no Python per time step, no per-synapse work per time step):

* ``c`` is touched only when a spike reaches the synapse, and then only once: it is stored relative to the
  next update tick ``t_{k+1}`` (``ĉ = c(t_{k+1})`` if no further spike came), so a spike at ``t`` adds
  ``dw·e^{−(t_{k+1}−t)/τ_c}`` (a factor shared by every synapse in that step) and the periodic update moves
  the reference on (``ĉ ← ĉ·e^{−P/τ_c}``). No ``lastupdate`` and no exponential per synapse and spike: an
  ``(event-driven)`` trace would be brought up to date in every pathway of the synapse, so every
  postsynaptic spike paid for it at each incoming synapse. :func:`~neurosim.backend.dopamine.eligibility`
  gives ``c`` at ``sim.t``.
* The weight is updated every ``period`` (Izhikevich's scheme, 10 ms) by generated code, with the *exact*
  integral over the next period: ``Δw = η·c(t_k)·∫_{t_k}^{t_k+P} (tonic + da(s))·e^{−(s−t_k)/τ_c} ds``.
  The dopamine part of that integral does not depend on the synapse; the simulation's
  :class:`~neurosim.backend.dopamine.DopamineSignal` computes it in
  closed form for every period of a window (``horizon``) whenever a reward is scheduled and stores it in a
  table (a :class:`~neurosim.plasticity.TimeTable`, updated in place, so compiled code is reused). So a
  reward may be scheduled at any time, seconds ahead (delayed reward), and arrives exactly then; between
  spikes the result is exact for any ``period``; a spike inside a period only takes part from the next
  update on (a lag ≤ ``period``).
  Cost: one pass over the synapses per period (1/100 of a per-step update at dt = 0.1 ms); a longer
  ``period`` is cheaper and stays exact between spikes.

Dopamine as a level (``dopamine_source="level"``): for runs with no Python in them (``cpp_standalone``), where
no table can be rewritten, the rule instead reads a per-neuron variable ``da`` of the postsynaptic population,
the dopamine level there now, which generated code elsewhere sets (e.g. the controller's judgement of a
readout in :mod:`neurosim.backend.readout_judge`, which decays it with ``τ_DA``). The periodic update is then
``Δw = η·c·(tonic_int + da(t_k)·∫₀ᴾ e^{−s/τ_DA − s/τ_c} ds)``: the table's row for rewards that arrive on the
update grid, exactly.

Optional trust region in the spirit of PPO's clipping (``clip_epsilon``): within each ``clip_window`` the
weight may move at most ``ε·max(|w_ref|, clip_floor)`` from its value ``w_ref`` at the window's start
(``clip_floor`` lets a zero weight grow). It helps when rewards are large or noisy relative to the learning
rate (a single lucky or unlucky trial cannot throw weights to their bounds; learning is slower but steadier);
with clean, small rewards it only slows learning. Without it the rule is plain reward-modulated STDP.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import Hz, Quantity, ms, second

from ..validation import check_choice, check_number, check_quantity, fail
from .rule import Rule, RuleCode, Ticks, TimeTable


@dataclass(frozen=True)
class RewardModulated(Rule):
    """Three-factor modifier: the weight rules' ``dw`` feeds an eligibility trace; dopamine makes it w."""

    role = "modifier"
    namespace = "reward"

    tau_c: Quantity = 1 * second  # eligibility time constant τ_c
    tau_da: Quantity = 200 * ms  # dopamine decay time constant τ_DA
    eta: Quantity = 100 * Hz  # learning rate: dw/dt = η·(tonic + da)·c (Izhikevich 2007: 1/(10 ms))
    tonic: float = 0.0  # tonic dopamine added to da (Izhikevich 2007: 0.002)
    period: Quantity = 10 * ms  # weight update period (exact between spikes; Izhikevich 2007: 10 ms)
    horizon: Quantity = 10 * second  # length of the dopamine table: covers reward delay + decay (≥ 10·τ_DA)
    clip_epsilon: float | None = None  # trust region: max relative weight change per clip_window (None: off)
    clip_window: Quantity = 1 * second  # window of the trust region (e.g. one trial)
    clip_floor: float = 0.05  # |w_ref| below this counts as this in the bound (lets zero weights grow)
    dopamine_source: str = "table"  # "table": scheduled by the DopamineSignal; "level": the target's da

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "RewardModulated"
        self.check_positive(ms, "tau_c", "tau_da", "period", "horizon", "clip_window")
        check_quantity(owner, "eta", self.eta, Hz, nonnegative=True)
        check_number(owner, "tonic", self.tonic)
        if self.horizon < 2 * self.period:
            fail(owner, "horizon", self.horizon, f"must be at least 2 update periods ({2 * self.period})")
        check_number(owner, "clip_floor", self.clip_floor, low=0, low_open=True)
        check_choice(owner, "dopamine_source", self.dopamine_source, ("table", "level"))
        if self.clip_epsilon is not None:
            check_number(owner, "clip_epsilon", self.clip_epsilon, low=0, low_open=True)
            ratio = float(self.clip_window / self.period)
            if abs(ratio - round(ratio)) > 1e-6:
                fail(
                    owner,
                    "clip_window",
                    self.clip_window,
                    f"must be a whole number of periods ({self.period})",
                )

    @property
    def rows(self) -> int:
        """Rows of the dopamine table (one per update period of the horizon)."""
        return int(round(float(self.horizon / self.period)))

    def code(self) -> RuleCode:
        P = float(self.period / second)
        tau_c = float(self.tau_c / second)
        params: dict[str, Any] = {"tonic_int": self.tonic * tau_c * (-math.expm1(-P / tau_c)) * second}
        post = ""
        if self.dopamine_source == "table":
            # ∫ da(s)·e^{-(s - t_k)/τ_c} ds per period, written by the DopamineSignal; t0: first row's time
            params["D"] = TimeTable(self.rows, self.period, second, name=f"{self.prefix}_dopamine_table")
            params["t0"] = 0 * second
            gain = "eta*c*(tonic_int + D(t - t0))"
        else:  # the level at the postsynaptic neuron, decaying with tau_da through the period
            tau_eff = 1.0 / (1.0 / tau_c + 1.0 / float(self.tau_da / second))
            params["da_integral"] = tau_eff * -math.expm1(-P / tau_eff) * second
            post = "da : 1"
            gain = "eta*c*(tonic_int + da_post*da_integral)"
        equations = "c : 1"
        if self.clip_epsilon is None:
            regularly = f"w = clip(w + {gain}, w_min, w_max)"
        else:
            equations += "\nw_ref : 1"
            params["n_window"] = int(round(float(self.clip_window / self.period)))
            regularly = (
                # the tick's index, not the step's: a window is n_window ticks at any simulation dt
                "w_ref = w_ref + (w - w_ref)*int(int(floor(t/period + 0.5)) % n_window == 0)\n"
                "bound = clip_epsilon*clip(abs(w_ref), clip_floor, inf)\n"
                f"w = clip(clip(w + {gain}, w_ref - bound, w_ref + bound), w_min, w_max)"
            )
        regularly += "\nc = c*exp(-period/tau_c)"  # now relative to the next tick
        to_next_tick = "exp(-(period*(floor((t + 0.5*dt)/period) + 1) - t)/tau_c)"
        return RuleCode(
            equations=equations,
            on_pre=f"c += dw*{to_next_tick}",
            on_post=f"c += dw*{to_next_tick}",
            consumes_dw=True,
            ticks=Ticks(eligibility="c", period="period", tau="tau_c"),  # lets weight rules defer
            regularly=regularly,
            regularly_dt=self.period,
            parameters=params,
            post_equations=post,
            initial={"w_ref": "w"} if self.clip_epsilon is not None else {},
        )

    # -- the closed-form dopamine integral -----------------------------------------------------------------
    def table(self, t0: float, events: Iterable[tuple[float, float]]) -> np.ndarray:
        """Dopamine table from time ``t0`` (s) for rewards ``(time_s, amount)``: one value (s) per period.

        Row k is ``∫_{t_k}^{t_k+P} da(s)·e^{−(s−t_k)/τ_c} ds`` with ``t_k = t0 + k·P``; the last row is 0, so
        reading beyond the table gives no dopamine (a reward's tail beyond the horizon is dropped).
        """
        P = float(self.period / second)
        tau_c, tau_da = float(self.tau_c / second), float(self.tau_da / second)
        tau_eff = 1.0 / (1.0 / tau_da + 1.0 / tau_c)
        starts = t0 + P * np.arange(self.rows)
        out = np.zeros(self.rows)
        full = tau_eff * -math.expm1(-P / tau_eff)
        for t_r, amount in events:
            after = starts >= t_r  # the whole period lies after the reward
            out[after] += amount * np.exp(-(starts[after] - t_r) / tau_da) * full
            inside = (starts < t_r) & (starts + P > t_r)  # the reward arrives within the period
            s = starts[inside]
            out[inside] += amount * np.exp(-(t_r - s) / tau_c) * tau_eff * -np.expm1(-(s + P - t_r) / tau_eff)
        out[-1] = 0.0
        return out

    def dopamine(self, times: Any, events: Iterable[tuple[float, float]]) -> np.ndarray:
        """The dopamine level da(t) at ``times`` (s) for rewards ``(time_s, amount)`` (plots, tests)."""
        t = np.asarray(times, dtype=float)
        da = np.zeros(t.shape)
        tau_da = float(self.tau_da / second)
        for t_r, amount in events:
            da += np.where(t >= t_r, amount * np.exp(-np.clip(t - t_r, 0, None) / tau_da), 0.0)
        return da


__all__ = ["RewardModulated"]
