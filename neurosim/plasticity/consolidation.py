"""Synaptic consolidation by tagging and capture: early LTP/LTD that fades unless proteins make it last.

Model of Luboeinski & Tetzlaff 2021 (Commun. Biol. 4:275; after Li, Kulvicius & Tetzlaff 2016), the
synaptic tagging and capture hypothesis of Frey & Morris 1997 (Nature 385:533). Each synapse has an
early-phase weight ``h`` driven by postsynaptic calcium ``c`` (Graupner & Brunel 2012 thresholds) and a
late-phase weight ``z``; each postsynaptic neuron has a protein amount ``p``::

    τ_h dh/dt = 0.1 (h0 − h) + γ_p (h_max − h) Θ(c − θ_p) − γ_d h Θ(c − θ_d)
    dc/dt     = −c/τ_c + c_pre Σ δ(t − t_pre − D) + c_post Σ δ(t − t_post)
    τ_p dp/dt = −p + α Θ(Σ_j |h_j − h0| − θ_pro)            (sum over the neuron's incoming synapses)
    τ_z dz/dt = p (1 − z) Θ(h − h0 − θ_tag) − p (z + 0.5) Θ(h0 − h − θ_tag)
    w         = (h + h0 z) / h0                               (1 at baseline; clipped at 0)

A synapse whose early change exceeds ``θ_tag`` is *tagged*; proteins are made when the early changes of
all the neuron's synapses add up to more than ``θ_pro``; a tagged synapse *captures* proteins and
consolidates (``z → 1`` for LTP, ``→ −0.5`` for LTD), while ``h`` relaxes to ``h0`` over ``τ_h/0.1`` ≈ 2 h.
So strong stimulation lasts, weak stimulation alone fades, and weak stimulation shortly before or after
strong stimulation of other synapses of the same neuron is captured and lasts too.

Implementation (no per-time-step work per synapse): between events the calcium decays exponentially, so
the time it spends above each threshold, and thus ``h``, has a closed form; ``h`` and ``c`` are brought up
to date at each pre/post spike. The slow processes (decay of ``h``, proteins, consolidation) run every
``slow_dt`` with exact exponential steps (``RuleCode.regularly``): the update at time t covers
[t − slow_dt, t] (the first, at t = 0, covers nothing), with the protein and tags held at their values at
the update; keep ``slow_dt`` a multiple of the network's ``dt``. Deterministic: the plasticity noise of
the original (σ = 2.9 mV) is left out.

Time scale: ``time_scale`` (default 1) divides the time constants of the slow processes -- the decay of
early-phase changes (``τ_h/0.1``), protein synthesis ``τ_p`` and consolidation ``τ_z`` -- so that hours
of consolidation play out in ``1/time_scale`` of the time. Induction (the γ terms, acting only while the
calcium is high during stimulation) is not scaled, so a protocol induces the same early change; gaps
between stimulations must be divided by ``time_scale`` too (see :func:`strong_tetanus`).

Outside control (reward as the strong signal that makes early changes last): the postsynaptic population
gets the variable ``<name>_protein_drive`` (``stc_protein_drive`` by default), in [0, 1], which switches
protein synthesis on regardless of the tags: ``sim.set_variable("post", "stc_protein_drive", 1)``, or any
Brian2 code that writes it. It also gets ``stc_p`` (protein) and ``stc_drive`` (Σ|h − h0| at the last slow
step). Synapse variables: ``stc_h``, ``stc_z``, ``stc_c``. Every projection onto a population with this rule
(same ``name``) shares the neuron's protein, as in the model. For early changes made by reward rather than
calcium, :class:`~neurosim.plasticity.reward_consolidation.RewardConsolidation` shares this protein pool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from brian2 import Hz, Quantity, ms, mV, second

from ..validation import check_number, check_quantity, fail
from .rule import Rule, RuleCode

_COMMIT = "h = h_now\nc = c*exp(-(t - tl)/tau_c)\ntl = t"  # bring h and c up to time t


@dataclass(frozen=True)
class TaggingCapture(Rule):
    """Synaptic tagging and capture (Luboeinski & Tetzlaff 2021): calcium-driven early phase ``h``,
    protein-dependent late phase ``z``; defines the weight ``w = (h + h0·z)/h0``. Defaults: the paper's."""

    role = "modifier"
    namespace = "stc"

    h0: Quantity = 4.20075 * mV  # early-phase weight at rest (the weight scale; w = 1 there)
    h_max: Quantity = 10 * mV  # upper bound approached by early-phase LTP
    tau_h: Quantity = 688.4 * second  # early-phase time constant (induction; decay is 10× slower)
    tau_c: Quantity = 48.8 * ms  # calcium decay time
    c_pre: float = 1.0  # calcium jump per presynaptic spike
    c_post: float = 0.2758  # calcium jump per postsynaptic spike
    t_ca_delay: Quantity = 18.8 * ms  # lag of the presynaptic calcium jump behind the spike's arrival
    theta_p: float = 3.0  # calcium threshold for potentiation
    theta_d: float = 1.2  # calcium threshold for depression (<= theta_p)
    gamma_p: float = 1645.6  # potentiation rate
    gamma_d: float = 313.1  # depression rate
    theta_tag: Quantity = 0.840075 * mV  # |h − h0| that tags a synapse (0.2 h0)
    theta_pro: Quantity = 2.100375 * mV  # Σ|h − h0| of a neuron that starts protein synthesis (0.5 h0)
    alpha: float = 1.0  # protein synthesis rate (steady-state amount)
    tau_p: Quantity = 3600 * second  # protein time constant (1 h)
    tau_z: Quantity = 3600 * second  # consolidation time constant (1 h)
    time_scale: float = 1.0  # divides the slow time constants (decay of h, tau_p, tau_z)
    slow_dt: Quantity | None = None  # step of the slow updates; None: a power of ten <= 1/100 of the fastest

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "TaggingCapture"
        for name in ("h0", "theta_tag", "theta_pro"):
            check_quantity(owner, name, getattr(self, name), mV, positive=True)
        check_quantity(owner, "h_max", self.h_max, mV)
        if not self.h_max > self.h0:
            fail(owner, "h_max", self.h_max, f"must be > h0 = {self.h0}")
        self.check_positive(ms, "tau_h", "tau_c", "tau_p", "tau_z")
        check_quantity(owner, "t_ca_delay", self.t_ca_delay, ms, nonnegative=True)
        for name in ("c_pre", "c_post", "gamma_p", "gamma_d", "alpha"):
            check_number(owner, name, getattr(self, name), low=0)
        check_number(owner, "theta_d", self.theta_d, low=0, low_open=True)
        check_number(owner, "theta_p", self.theta_p, low=0, low_open=True)
        if not self.theta_p >= self.theta_d:
            fail(owner, "theta_p", self.theta_p, f"must be >= theta_d = {self.theta_d}")
        check_number(owner, "time_scale", self.time_scale, low=0, low_open=True)
        if self.slow_dt is not None:
            check_quantity(owner, "slow_dt", self.slow_dt, ms, positive=True)

    @property
    def step(self) -> Quantity:
        """The step of the slow updates (``slow_dt``, or the default derived from the time constants)."""
        if self.slow_dt is not None:
            return self.slow_dt
        fastest = min(
            float(self.tau_p / second), float(self.tau_z / second), float(self.tau_h / second) / 0.1
        )
        return slow_step(fastest, self.time_scale)

    def code(self) -> RuleCode:
        step = self.step
        rate = self.gamma_p + self.gamma_d
        h_inf = self.gamma_p * self.h_max / rate if rate > 0 else 0 * mV
        calcium = f"{_COMMIT}\nc += c_pre"
        delayed = float(self.t_ca_delay / second) > 0
        return RuleCode(
            equations=(
                "h : volt  # early-phase weight as of tl\n"
                "z : 1  # late-phase weight\n"
                "c : 1  # calcium as of tl\n"
                "tl : second  # last time h and c were brought up to date\n"
                "above_p = clip(tau_c*log(clip(c/theta_p, 1, inf)), 0*second, t - tl) : second\n"
                "above_d = clip(tau_c*log(clip(c/theta_d, 1, inf)), 0*second, t - tl) : second\n"
                "h_now = (h_inf + (h - h_inf)*exp(-k_pd*above_p))*exp(-k_d*(above_d - above_p)) : volt"
            ),
            on_pre="" if delayed else calcium,
            pathways={"calcium": (calcium, self.t_ca_delay)} if delayed else {},
            on_post=f"{_COMMIT}\nc += c_post",
            weight="clip(h_now/h0 + z, 0, inf)",
            initial={"h": self.h0},
            parameters={
                "h_inf": h_inf,
                "k_pd": rate / self.tau_h,
                "k_d": self.gamma_d / self.tau_h,
                "step": step,
                "h_rate": 0.1 * self.time_scale / self.tau_h,  # decay rate of early-phase changes
                "p_rate": self.time_scale / self.tau_p,
                "z_rate": self.time_scale / self.tau_z,
            },
            post_equations=PROTEIN_POOL.replace("UNIT", "volt"),
            post_regularly=protein_synthesis("volt", "p_rate"),
            regularly=(
                f"{_COMMIT}\n"
                "elapsed = clip(t, 0*second, step)\n"
                "h = h0 + (h - h0)*exp(-h_rate*elapsed)\n"
                "up = int(h - h0 >= theta_tag)\n"
                "down = int(h0 - h >= theta_tag)\n"
                "z += (up*(1 - z) - down*(z + 0.5))*(1 - exp(-p_post*z_rate*elapsed))\n"
                "drive_post += abs(h - h0)"
            ),
            regularly_dt=step,
            # no rest values: calcium is settled lazily together with h (_COMMIT), so zeroing it alone would
            # drop induction not yet settled; it decays by itself
        )


#: The protein pool of a neuron (``post_equations``; ``UNIT``: the unit of the early changes).
PROTEIN_POOL = (
    "p : 1  # protein amount\n"
    "drive : UNIT  # sum of the incoming synapses' |early change| at the last slow update\n"
    "protein_drive : 1  # outside trigger of protein synthesis, in [0, 1]"
)


def protein_synthesis(unit: str, rate: str) -> str:
    """The protein pool's slow update (``post_regularly``): synthesis while the summed early change reaches
    ``theta_pro`` or the outside ``protein_drive`` is on; ``p`` relaxes exactly towards the synthesis level
    at ``rate`` (an expression, per second) over the last slow step; then the sum starts again."""
    return (
        "synthesis = alpha*clip(int(drive >= theta_pro) + protein_drive, 0, 1)\n"
        f"p = synthesis + (p - synthesis)*exp(-{rate}*clip(t, 0*second, step))\n"
        f"drive = 0*{unit}"
    )


def slow_step(fastest: float, time_scale: float) -> Quantity:
    """Default step of the slow updates: the largest power of ten (s) at most 1/100 of the fastest slow
    time constant ``fastest`` (s) divided by ``time_scale``."""
    return 10.0 ** math.floor(math.log10(fastest / (100 * time_scale))) * second


def tetanus(n_pulses: int, *, rate: Quantity = 100 * Hz, start: Quantity = 0 * second) -> Quantity:
    """Spike times of a regular train of ``n_pulses`` at ``rate`` from ``start``."""
    check_number("tetanus", "n_pulses", n_pulses, low=1, integer=True)
    check_quantity("tetanus", "rate", rate, Hz, positive=True)
    check_quantity("tetanus", "start", start, second, nonnegative=True)
    return start + np.arange(int(n_pulses)) / rate


def weak_tetanus(start: Quantity = 0 * second) -> Quantity:
    """Weak tetanus: 21 pulses at 100 Hz (Frey & Morris 1997; Clopath et al. 2008)."""
    return tetanus(21, start=start)


def strong_tetanus(start: Quantity = 0 * second, *, time_scale: float = 1.0) -> Quantity:
    """Strong tetanus: 3 trains of 100 pulses at 100 Hz starting 10 min apart (Frey & Morris 1997;
    Clopath et al. 2008); the gaps are divided by ``time_scale`` like the rule's slow time constants."""
    check_number("strong_tetanus", "time_scale", time_scale, low=0, low_open=True)
    gap = 600 * second / time_scale  # 10 min
    if gap < 1 * second:
        fail(
            "strong_tetanus", "time_scale", time_scale, "must be <= 600 so that the 1 s trains do not overlap"
        )
    trains = [tetanus(100, start=start + k * gap) for k in range(3)]
    return np.concatenate([np.asarray(tr / second) for tr in trains]) * second


__all__ = ["TaggingCapture", "strong_tetanus", "tetanus", "weak_tetanus"]
