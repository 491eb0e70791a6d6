"""Surprise-gated plasticity: a salience trace, raised by a novelty detector, scales the learning rate.

Memory favours what is unexpected (the von Restorff effect; Ranganath & Rainer 2003). In the brain a
novelty or surprise signal is broadcast by neuromodulatory nuclei -- noradrenaline from the locus coeruleus
(Sara 2009), acetylcholine for expected and unexpected uncertainty (Yu & Dayan 2005), dopamine from the
hippocampus–VTA loop (Lisman & Grace 2005) -- and acts on plasticity as a third factor beside pre- and
postsynaptic activity (Frémaux & Gerstner 2016). Two rules make it, composed with the rule API:

:class:`SalienceSignal` sits on a *neuromodulatory projection* from a detector population to the neurons
whose plasticity it gates. Each detector spike raises the salience trace ``s`` of every target neuron::

    ds/dt = −s/τ_s + κ Σ_k δ(t − t_k)          t_k: detector spikes reaching the neuron

so with all-to-all wiring ``s(t) = κ Σ_k e^{−(t − t_k)/τ_s}`` is one global signal (the same in every
target neuron); wiring onto one assembly makes it assembly-specific. The projection delivers nothing else
(give it ``w_init = 0``, ``w_max = 0``; :class:`~neurosim.salience.NoveltyDetector` builds it so).

:class:`SalienceGated` (role ``modifier``, like :class:`~neurosim.plasticity.reward.RewardModulated`) takes
over the weight update of the weight rules on its synapse (pair, triplet STDP, a co-activity rule, a user's
rule) and scales it by the postsynaptic neuron's salience, the three-factor form without eligibility
(neuromodulators gate STDP as it happens; Frémaux & Gerstner 2016, eq. 2 with an immediate factor)::

    Δw = (g_0 + g·s(t))·Δw_rule          w clipped to [w_min, w_max]

With ``g_0 = 0`` (the default) nothing is learned without surprise; ``g_0 = 1, g = 0`` is the plain rule.
One rule per synapse may take over ``dw``, so a synapse is either salience-gated or reward-modulated;
a network may use both on different projections (see docs/salience.md).

:class:`SalienceBoost` (role ``efficacy``) lets the same signal raise the *input*: each spike is transmitted
with efficacy ``1 + g_in·s`` of the postsynaptic neuron's salience, the gain increase that noradrenaline and
acetylcholine give sensory responses during surprise (Sara 2009; Hasselmo 2006); it composes with
short-term plasticity (the efficacies multiply).
"""

from __future__ import annotations

from dataclasses import dataclass

from brian2 import Quantity, ms

from ..validation import check_name, check_number
from .rule import Rule, RuleCode


@dataclass(frozen=True)
class SalienceSignal(Rule):
    """A neuromodulatory projection's rule: each presynaptic (detector) spike adds ``kick`` to the target
    neuron's salience trace ``s``, which decays with ``tau_s`` (read by :class:`SalienceGated`)."""

    role = "modifier"
    namespace = "salience"

    tau_s: Quantity = 300 * ms  # decay of the salience trace (phasic LC/ACh responses: a few 100 ms)
    kick: float = 0.2  # rise of s per detector spike reaching the neuron

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_positive(ms, "tau_s")
        check_number("SalienceSignal", "kick", self.kick, low=0, low_open=True)

    def code(self) -> RuleCode:
        return RuleCode(
            post_equations="ds/dt = -s/tau_s : 1",
            on_pre="s_post += kick",
            rest={"s": 0.0},
        )


@dataclass(frozen=True)
class SalienceGated(Rule):
    """Three-factor gate: the weight rules' ``dw`` reaches ``w`` scaled by ``baseline + gain·s``, where ``s``
    is the salience trace of the postsynaptic neuron, raised by a :class:`SalienceSignal` named ``signal``
    on a projection onto the same population."""

    role = "modifier"
    namespace = "gated"

    gain: float = 1.0  # learning-rate multiplier per unit of salience (g)
    baseline: float = 0.0  # multiplier without salience (g_0; 0: no surprise, no learning)
    signal: str = "salience"  # namespace (name=) of the SalienceSignal whose trace gates this synapse

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("SalienceGated", "gain", self.gain, low=0)
        check_number("SalienceGated", "baseline", self.baseline, low=0)
        check_name("SalienceGated", "signal", self.signal)

    def code(self) -> RuleCode:
        update = f"w = clip(w + (baseline + gain*{self.signal}_s_post)*dw, w_min, w_max)"
        return RuleCode(on_pre=update, on_post=update, consumes_dw=True)


@dataclass(frozen=True)
class SalienceBoost(Rule):
    """Input gain: a spike reaches the postsynaptic neuron with efficacy ``1 + gain·s``, ``s`` the salience
    trace of that neuron raised by the :class:`SalienceSignal` named ``signal``."""

    role = "efficacy"
    namespace = "boost"

    gain: float = 1.0  # efficacy increase per unit of salience (g_in)
    signal: str = "salience"  # namespace (name=) of the SalienceSignal whose trace sets the gain

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("SalienceBoost", "gain", self.gain, low=0)
        check_name("SalienceBoost", "signal", self.signal)

    def code(self) -> RuleCode:
        return RuleCode(efficacy=f"(1 + gain*{self.signal}_s_post)")


__all__ = ["SalienceBoost", "SalienceGated", "SalienceSignal"]
