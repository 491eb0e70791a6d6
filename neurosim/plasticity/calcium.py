"""Calcium-based LTP/LTD: the bistable synapse of Graupner & Brunel 2012 (PNAS 109:3991).

Per synapse, a calcium trace ``c`` drives an efficacy ``ρ`` that is bistable (DOWN ρ=0, UP ρ=1)::

    τ dρ/dt = −ρ(1−ρ)(ρ*−ρ) + γ_p(1−ρ)Θ(c−θ_p) − γ_d ρ Θ(c−θ_d) + σ√τ √(Θ(c−θ_p) + Θ(c−θ_d)) ξ(t)
    dc/dt = −c/τ_Ca;  c += C_pre a delay D after a presynaptic spike arrives;  c += C_post at a post spike
    w = w0 + ρ (w1 − w0)

The noise term is the one of the authors' correction (doi:10.1073/pnas.1220044110): active only while
calcium is above a threshold; ``noise=False`` (default) keeps runs deterministic. The "DP" parameter set
(the defaults) depresses when the postsynaptic spike leads and potentiates when the presynaptic one leads.

Design choices:

* **The rule defines the weight** (``RuleCode.weight``): ``w = w0 + ρ (w1 − w0)`` is dimensionless, in
  units of the projection's ``J`` (defaults w0 = 0.2, w1 = 1: UP transmits ``J``, DOWN ``J/5``, the
  paper's w1/w0 = 5). A ``dw``-emitting weight rule would not fit: ``dw`` is applied only at spikes, while
  ρ changes continuously for tens of ms after each spike as long as calcium stays above threshold, and ρ
  (not w) carries the bistable state. So the rule excludes every other rule that changes ``w`` (the
  composer enforces this; the projection's ``w_min``/``w_max`` do not apply); efficacy rules such as
  short-term plasticity still compose with it.
* **Calcium is exact**: ``c = c_last·exp(−age/τ_Ca)``, where ``age`` (integrated exactly, ``dage/dt = 1``)
  is the time since the last calcium event; nothing depends on absolute time (a reloaded network continues).
* **The delayed presynaptic influx** runs in its own Brian2 pathway (``RuleCode.pathways``) with delay
  ``conduction delay + D``: no Python per spike. Brian2 rounds delays to whole steps (D = 13.7 ms becomes
  13.5 ms at dt = 0.5 ms, 14 ms at dt = 1 ms).
* **Θ integrated exactly over each step**: spikes fall on step boundaries and calcium decays exponentially
  in between, so the fraction of a step that calcium spends above θ is ``clip(τ_Ca ln(c/θ)/dt, 0, 1)``
  with ``c`` its value at the start of the step (``frac_p``, ``frac_d``). ρ is integrated with Euler
  (Brian2's choice; τ = 150 s makes it accurate) and hardly depends on dt. Brian2 updates state before it
  delivers a step's spikes, so the update at time ``t`` covers ``[t−dt, t]`` (ρ lags one step). Recorded
  ``calcium_c`` (sampled at the start of a step) is one step late; event code sees it exact.
* **Noise** (``noise=True``) uses Brian2's ``xi``. Its amplitude depends on calcium, so Brian2 integrates
  with Heun, whose second stage does not see a calcium jump of the current step: about dt/2 of
  above-threshold time is lost per jump (a few % of ρ's drift and variance at dt = 1 ms; use dt <= 0.5 ms
  for noisy runs). Without noise (the default) the result is dt-independent up to the rounding of D.

Reading out a protocol as the paper does: synapses start DOWN (ρ=0) or UP (ρ=1) and have switched if ρ ends
on the other side of ρ*. :meth:`GraupnerBrunel.transition_probabilities` turns final ρ into switching
probabilities, :meth:`GraupnerBrunel.synaptic_change` those into the ratio of mean synaptic strength
after/before, and :meth:`GraupnerBrunel.pairing_prediction` is the paper's closed-form prediction for
spike-pair protocols (periodic calcium + Ornstein–Uhlenbeck ρ, the analysis behind its Fig. 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from brian2 import Hz, Quantity, ms, second
from scipy.special import erf

from ..validation import check_number, check_quantity, fail
from .rule import Rule, RuleCode


@dataclass(frozen=True)
class PairingPrediction:
    """Graupner & Brunel's analytic prediction for a spike-pair protocol (see :meth:`pairing_prediction`)."""

    alpha_d: float  # fraction of time calcium spends above theta_d
    alpha_p: float  # fraction of time calcium spends above theta_p
    rho_bar: float  # fixed point of the averaged ρ dynamics, Γ_p/(Γ_p+Γ_d)
    tau_eff: Quantity  # relaxation time of the averaged ρ dynamics, τ/(Γ_p+Γ_d)
    mean_from_down: float  # mean ρ at the end, starting from ρ = 0
    mean_from_up: float  # mean ρ at the end, starting from ρ = 1
    spread: float  # standard deviation of ρ at the end (noise)
    p_up: float  # probability of a DOWN → UP switch
    p_down: float  # probability of an UP → DOWN switch
    change: float  # mean synaptic strength after / before


@dataclass(frozen=True)
class GraupnerBrunel(Rule):
    """Calcium-based bistable plasticity (Graupner & Brunel 2012); defaults: the paper's "DP" set."""

    role = "weight"
    namespace = "calcium"

    tau_ca: Quantity = 20 * ms  # calcium decay time constant τ_Ca
    C_pre: float = 1.0  # calcium jump caused by a presynaptic spike (after the delay D)
    C_post: float = 2.0  # calcium jump caused by a postsynaptic spike
    D: Quantity = 13.7 * ms  # delay of the presynaptic calcium influx after the spike's arrival
    theta_d: float = 1.0  # depression threshold θ_d
    theta_p: float = 1.3  # potentiation threshold θ_p
    gamma_d: float = 200.0  # depression rate γ_d
    gamma_p: float = 321.808  # potentiation rate γ_p
    tau: Quantity = 150 * second  # time constant τ of ρ
    rho_star: float = 0.5  # boundary between the basins of DOWN and UP, ρ*
    sigma: float = 2.8284  # noise amplitude σ (used when noise=True)
    noise: bool = False  # add the activity-dependent noise term (Brian2 xi)
    w0: float = 0.2  # weight in the DOWN state (ρ = 0), in units of the projection's J
    w1: float = 1.0  # weight in the UP state (ρ = 1), in units of J
    rho_init: float | str = 0.0  # initial ρ: a number or a Brian2 expression such as "1.0*(rand() < 0.5)"

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "GraupnerBrunel"
        self.check_positive(ms, "tau_ca", "tau")
        check_quantity(owner, "D", self.D, ms, nonnegative=True)
        for name in ("C_pre", "C_post", "gamma_d", "gamma_p", "sigma"):
            check_number(owner, name, getattr(self, name), low=0)
        for name in ("theta_d", "theta_p"):
            check_number(owner, name, getattr(self, name), low=0, low_open=True)
        check_number(owner, "rho_star", self.rho_star, low=0, high=1, low_open=True, high_open=True)
        check_number(owner, "w0", self.w0, low=0)
        check_number(owner, "w1", self.w1, low=self.w0)
        if not isinstance(self.noise, bool):
            fail(owner, "noise", self.noise, "expected True or False")
        if not isinstance(self.rho_init, str):
            check_number(owner, "rho_init", self.rho_init, low=0, high=1)

    def code(self) -> RuleCode:
        noise = " + sigma*sqrt((frac_p + frac_d)/tau)*xi" if self.noise else ""
        return RuleCode(
            equations=(
                "drho/dt = (-rho*(1 - rho)*(rho_star - rho) + gamma_p*(1 - rho)*frac_p"
                f" - gamma_d*rho*frac_d)/tau{noise} : 1 (clock-driven)\n"
                "dage/dt = 1 : second (clock-driven)\n"
                "c = c_last*exp(-age/tau_ca) : 1\n"
                "c_last : 1\n"
                "frac_p = clip(tau_ca*log(clip(c/theta_p, 1, inf))/dt, 0, 1) : 1\n"
                "frac_d = clip(tau_ca*log(clip(c/theta_d, 1, inf))/dt, 0, 1) : 1"
            ),
            on_post="c_last = c + C_post\nage = 0*second",
            pathways={"pre_influx": ("c_last = c + C_pre\nage = 0*second", self.D)},
            weight="w0 + rho*(w1 - w0)",
            initial={"rho": self.rho_init, "c_last": 0.0, "age": 0 * second},
            rest={"c_last": 0.0},  # no calcium at rest; rho is the synapse's learned state
        )

    # -- reading out a protocol ------------------------------------------------------------------------
    def transition_probabilities(
        self,
        rho_from_down: np.ndarray | float,
        rho_from_up: np.ndarray | float,
        *,
        spread: np.ndarray | float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Switching probabilities ``(p_up, p_down)`` from final ρ of synapses that started DOWN / UP.

        ``spread`` is the standard deviation of the final ρ around the given values (which are then the mean
        of a Gaussian, as in the paper's analysis). ``spread=0`` is the zero-noise limit: a synapse switches
        exactly when its deterministic ρ ends across ρ*.
        """
        down, up = np.asarray(rho_from_down, dtype=float), np.asarray(rho_from_up, dtype=float)
        spread = np.asarray(spread, dtype=float)
        if np.any(spread < 0) or not np.all(np.isfinite(spread)):
            fail("GraupnerBrunel.transition_probabilities", "spread", spread, "must be finite and >= 0")
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.sqrt(2) * spread
            p_up = np.where(spread > 0, 0.5 * (1 + erf((down - self.rho_star) / z)), down > self.rho_star)
            p_down = np.where(spread > 0, 0.5 * (1 + erf((self.rho_star - up) / z)), up < self.rho_star)
        return p_up.astype(float), p_down.astype(float)

    def synaptic_change(
        self, p_up: np.ndarray | float, p_down: np.ndarray | float, *, beta: float = 0.5
    ) -> np.ndarray:
        """Mean synaptic strength after / before a protocol, for a population of synapses of which a fraction
        ``beta`` starts UP (weights w1) and the rest DOWN (w0): the paper's readout (β = 0.5, w1/w0 = 5;
        the authors' analysis code names the DOWN fraction β, which is the same thing at β = 0.5).
        """
        check_number("GraupnerBrunel.synaptic_change", "beta", beta, low=0, high=1)
        p_up, p_down = np.asarray(p_up, dtype=float), np.asarray(p_down, dtype=float)
        up_after = (1 - beta) * p_up + beta * (1 - p_down)
        before = (1 - beta) * self.w0 + beta * self.w1
        return ((1 - up_after) * self.w0 + up_after * self.w1) / before

    def pairing_prediction(
        self, delta_t: Quantity, *, n_pairs: int = 60, frequency: Quantity = 1 * Hz, beta: float = 0.5
    ) -> PairingPrediction:
        """The paper's analytic prediction for ``n_pairs`` pre/post pairs at ``frequency`` with lag
        ``delta_t = t_post − t_pre`` (as in its Fig. 2): calcium is taken periodic, giving the fractions of
        time above threshold α_d, α_p; ρ then follows an Ornstein–Uhlenbeck process (the cubic term neglected)
        with Γ = γ·α, fixed point ρ̄ = Γ_p/(Γ_p+Γ_d), time constant τ/(Γ_p+Γ_d), and noise σ²(α_p+α_d)/τ.
        """
        owner = "GraupnerBrunel.pairing_prediction"
        check_quantity(owner, "delta_t", delta_t, ms)
        check_quantity(owner, "frequency", frequency, Hz, positive=True)
        check_number(owner, "n_pairs", n_pairs, low=1, integer=True)
        period = float(1 / frequency / second)
        alpha_d, alpha_p = (
            self._time_above(float(delta_t / second), period, theta) / period
            for theta in (self.theta_d, self.theta_p)
        )
        gamma_p, gamma_d = self.gamma_p * alpha_p, self.gamma_d * alpha_d
        duration = n_pairs * period
        tau = float(self.tau / second)
        if gamma_p + gamma_d == 0:  # calcium never crosses a threshold: nothing changes
            return PairingPrediction(
                alpha_d=alpha_d,
                alpha_p=alpha_p,
                rho_bar=self.rho_star,
                tau_eff=np.inf * second,
                mean_from_down=0.0,
                mean_from_up=1.0,
                spread=0.0,
                p_up=0.0,
                p_down=0.0,
                change=1.0,
            )
        rho_bar = gamma_p / (gamma_p + gamma_d)
        tau_eff = tau / (gamma_p + gamma_d)
        decay = math.exp(-duration / tau_eff)
        variance = self.sigma**2 * (alpha_p + alpha_d) / (2 * (gamma_p + gamma_d)) * (1 - decay**2)
        mean_down, mean_up = rho_bar * (1 - decay), rho_bar + (1 - rho_bar) * decay
        p_up, p_down = self.transition_probabilities(mean_down, mean_up, spread=math.sqrt(variance))
        change = float(self.synaptic_change(p_up, p_down, beta=beta))
        return PairingPrediction(
            alpha_d=alpha_d,
            alpha_p=alpha_p,
            rho_bar=rho_bar,
            tau_eff=tau_eff * second,
            mean_from_down=mean_down,
            mean_from_up=mean_up,
            spread=math.sqrt(variance),
            p_up=float(p_up),
            p_down=float(p_down),
            change=change,
        )

    def _time_above(self, delta_t: float, period: float, theta: float) -> float:
        """Time per period (s) that periodic calcium from pre (at D) and post (at delta_t) spikes spends above
        ``theta``: between events calcium decays exponentially from its steady-state value just after each."""
        tau_ca, lag = float(self.tau_ca / second), float(self.D / second)
        phases: dict[float, float] = {}
        for phase, amplitude in ((lag % period, self.C_pre), (delta_t % period, self.C_post)):
            key = round(phase, 12)
            phases[key] = phases.get(key, 0.0) + amplitude
        times = sorted(phases)
        total = 0.0
        for k, s in enumerate(times):
            after = sum(a * math.exp(-((s - sj) % period) / tau_ca) for sj, a in phases.items())
            after /= 1 - math.exp(-period / tau_ca)
            length = (times[(k + 1) % len(times)] - s) % period or period
            if after > theta:
                total += min(length, tau_ca * math.log(after / theta))
        return total
