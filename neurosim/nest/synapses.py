"""A projection's plasticity rules as one NEST synapse model, with the parameter mappings proven equal to
neurosim's rules on identical spike trains (``tests/test_nest_crosscheck.py``).

==========================================================  ================================================
neurosim rules                                              NEST synapse model
==========================================================  ================================================
none                                                        ``static_synapse``
:class:`~neurosim.TsodyksMarkram`, ``FastTsodyksMarkram``   ``tsodyks2_synapse`` (``u = U``, ``x = 1``)
:class:`~neurosim.PairSTDP`, ``FastPairSTDP``               ``stdp_synapse`` (``pairing="nearest"``:
                                                            ``stdp_nn_symm_synapse``)
:class:`~neurosim.TripletSTDP` (all-to-all)                 ``stdp_triplet_synapse``
pair STDP (all-to-all, hard bounds) + ``RewardModulated``   ``stdp_dopamine_synapse`` + a volume transmitter
==========================================================  ================================================

A NEST weight is ``S·w`` with ``S`` the NEST weight per unit of neurosim's dimensionless ``w`` (``J`` in
NEST units, negative for inhibitory sources). Pair STDP, normalised by NEST to ``Wmax = S·w_max``:
``lambda = A_plus/w_max`` (hard bounds) or ``A_plus`` (soft), ``alpha = A_minus/A_plus``, ``mu = 0`` (hard)
or ``1`` (soft); NEST's lower bound is 0, so ``w_min`` must be 0. Triplet STDP in NEST units:
``Aplus = |S|·A2_plus`` etc. Reward-modulated STDP (Izhikevich 2007): NEST's ``dw_N/dt = c_N·(n − b)``
with dopamine ``n`` rising by ``m/τ_n`` per dopamine spike of multiplicity ``m``; neurosim's
``dw/dt = η·(tonic + da)·c`` follows with ``τ_n = τ_DA``, a reward ``a`` sent as ``m = a/q`` spikes
(``q`` = :data:`DOPAMINE_QUANTUM`), ``b = −tonic/(q·τ_DA)`` and eligibility amplitudes
``A_± = A_±·S·η·q·τ_DA``. The post-synaptic depression trace (``tau_minus``, and the triplet's
``tau_minus_triplet``) belongs to the NEST neuron, so every plastic projection onto one population must agree
on it. Delay convention: NEST times a pair with a *dendritic* delay, neurosim's ``PairSTDP`` with an axonal
one and ``FastPairSTDP`` at the soma: pairing lags differ by up to the delays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brian2 import Hz, ms

from ..network import Projection
from ..plasticity import (
    FastPairSTDP,
    FastTsodyksMarkram,
    PairSTDP,
    RewardModulated,
    TripletSTDP,
    TsodyksMarkram,
)
from ..validation import ParameterError, fail

#: Dopamine per NEST dopamine spike: a reward of amount ``a`` is sent as ``round(a/q)`` coincident spikes.
DOPAMINE_QUANTUM = 1e-4

_PAIR = (PairSTDP, FastPairSTDP)
_STP = (TsodyksMarkram, FastTsodyksMarkram)


@dataclass(frozen=True)
class NestSynapse:
    """A projection's NEST synapse: base model, the defaults of its copy (every synapse of the projection
    shares them), what its postsynaptic neurons need (``tau_minus`` …) and its reward rule, if any."""

    model: str
    defaults: dict[str, Any]
    post: dict[str, float] = field(default_factory=dict)
    reward: RewardModulated | None = None


def _ms(q: Any) -> float:
    return float(q / ms)


def unsupported(proj: Projection, what: str) -> ParameterError:
    """The error for rules NEST has no synapse model for, naming them and the engine that runs them."""
    return ParameterError(
        f"Projection '{proj.name}': {what} has no NEST synapse model; engine 'brian2' runs it "
        "(engine 'nest' runs static synapses, TsodyksMarkram, PairSTDP, TripletSTDP and pair STDP with "
        "RewardModulated)"
    )


def _rule_names(rules: tuple[Any, ...]) -> str:
    return ", ".join(f"'{r.prefix}' ({type(r).__name__})" for r in rules)


def nest_synapse(proj: Projection, scale: float) -> NestSynapse:
    """The NEST synapse of ``proj`` for NEST weight ``scale`` per unit ``w``; rules or combinations NEST
    lacks raise a ParameterError that names them and the engines that can run them."""
    rules = proj.rules
    kinds = tuple(type(r) for r in rules)
    if not rules:
        return NestSynapse("static_synapse", {})
    owner = f"Projection '{proj.name}'"
    foreign = [r for r in rules if type(r) not in (*_PAIR, *_STP, TripletSTDP, RewardModulated)]
    if foreign:
        raise unsupported(proj, f"rule {_rule_names(tuple(foreign))}")
    if len(rules) == 1 and kinds[0] in _STP:
        return _tsodyks(rules[0])
    if len(rules) == 1 and kinds[0] in _PAIR:
        return _pair(proj, rules[0], scale, owner)
    if len(rules) == 1 and kinds[0] is TripletSTDP:
        return _triplet(proj, rules[0], scale, owner)
    if len(rules) == 2 and RewardModulated in kinds:
        stdp = next(r for r in rules if not isinstance(r, RewardModulated))
        reward = next(r for r in rules if isinstance(r, RewardModulated))
        if type(stdp) in _PAIR and stdp.pairing == "all" and stdp.bounds == "hard":
            if reward.clip_epsilon is not None:
                fail(
                    owner,
                    "clip_epsilon",
                    reward.clip_epsilon,
                    "engine 'nest' runs RewardModulated only without",
                )
            return _dopamine(proj, stdp, reward, scale)
    raise unsupported(proj, f"the combination of rules {_rule_names(rules)}")


def _tsodyks(rule: Any) -> NestSynapse:
    tau_fac = 0.0 if rule.tau_f is None else _ms(rule.tau_f)
    return NestSynapse(
        "tsodyks2_synapse",
        {"U": rule.U, "u": rule.U, "x": 1.0, "tau_rec": _ms(rule.tau_d), "tau_fac": tau_fac},
    )


def _pair(proj: Projection, rule: Any, scale: float, owner: str) -> NestSynapse:
    if proj.w_min != 0:
        fail(owner, "w_min", proj.w_min, "NEST's STDP synapses bound weights below by 0; use w_min=0")
    if rule.A_plus == 0 and rule.A_minus != 0:
        fail(owner, "A_plus", rule.A_plus, "NEST's stdp_synapse scales depression by A_plus; give A_plus > 0")
    soft = rule.bounds == "soft"
    lam = rule.A_plus if soft else rule.A_plus / proj.w_max
    mu = 1.0 if soft else 0.0
    model = "stdp_synapse" if rule.pairing == "all" else "stdp_nn_symm_synapse"
    defaults = {
        "tau_plus": _ms(rule.tau_plus),
        "lambda": lam,
        "alpha": rule.A_minus / rule.A_plus if rule.A_plus else 1.0,
        "mu_plus": mu,
        "mu_minus": mu,
        "Wmax": scale * proj.w_max,
    }
    return NestSynapse(model, defaults, {"tau_minus": _ms(rule.tau_minus)})


def _triplet(proj: Projection, rule: TripletSTDP, scale: float, owner: str) -> NestSynapse:
    if rule.pairing != "all":
        raise unsupported(proj, f"rule {_rule_names((rule,))} with pairing='nearest'")
    if proj.w_min != 0:
        fail(owner, "w_min", proj.w_min, "NEST's stdp_triplet_synapse bounds weights below by 0; use w_min=0")
    size = abs(scale)
    defaults = {
        "tau_plus": _ms(rule.tau_plus),
        "tau_plus_triplet": _ms(rule.tau_x),
        "Aplus": size * rule.A2_plus,
        "Aplus_triplet": size * rule.A3_plus,
        "Aminus": size * rule.A2_minus,
        "Aminus_triplet": size * rule.A3_minus,
        "Wmax": scale * proj.w_max,
    }
    post = {"tau_minus": _ms(rule.tau_minus), "tau_minus_triplet": _ms(rule.tau_y)}
    return NestSynapse("stdp_triplet_synapse", defaults, post)


def _dopamine(proj: Projection, stdp: Any, reward: RewardModulated, scale: float) -> NestSynapse:
    tau_n = _ms(reward.tau_da)
    eta_per_ms = float(reward.eta / Hz) / 1000.0
    gain = scale * eta_per_ms * DOPAMINE_QUANTUM * tau_n
    low, high = sorted((scale * proj.w_min, scale * proj.w_max))
    defaults = {
        "A_plus": stdp.A_plus * gain,
        "A_minus": stdp.A_minus * gain,
        "tau_plus": _ms(stdp.tau_plus),
        "tau_c": _ms(reward.tau_c),
        "tau_n": tau_n,
        "b": -reward.tonic / (DOPAMINE_QUANTUM * tau_n),
        "Wmin": low,
        "Wmax": high,
    }
    return NestSynapse("stdp_dopamine_synapse", defaults, {"tau_minus": _ms(stdp.tau_minus)}, reward)


__all__ = ["DOPAMINE_QUANTUM", "NestSynapse", "nest_synapse", "unsupported"]
