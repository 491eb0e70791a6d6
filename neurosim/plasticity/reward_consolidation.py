"""Reward-gated consolidation: reward-driven weight changes are early LTP/LTD that fade unless captured.

The chain short-term → early → late plasticity under reward. :class:`RewardModulated` turns eligibility and
dopamine into weight changes; on the same synapse, :class:`RewardConsolidation` treats every such change as
the *early phase* of synaptic tagging and capture (Frey & Morris 1997, Nature 385:533): it fades back to the
synapse's rest weight unless proteins are captured, which turn it into a lasting *late phase*. Dopamine is
what makes the change and, when the reward is strong or repeated, what makes it last (Lisman, Grace & Düzel
2011, Trends Neurosci. 34:536; behavioural tagging, Redondo & Morris 2011, Nat. Rev. Neurosci. 12:17).

Per synapse, rest weight ``b`` (``w`` at build), early change ``e``, late change ``z``, tag trace ``q``; per
postsynaptic neuron, protein ``p``::

    w          = b + e + z                 e: whatever the reward rule (or anything else) moved w by
    de/dt      = −e/τ_e − k·e              early changes fade over τ_e (τ_h/0.1 ≈ 1.9 h) ...
    dz/dt      = k·e,   k = p·Θ(|q| − θ_tag)/τ_z       ... or a tagged synapse captures them into z
    dq/dt      = −q/τ_e, q jumps with e    the tag: the early change as it would be without capture
    τ dp/dt    = α·S − p,  τ = τ_rise while S = 1, else τ_decay
    S          = Θ(Σ_j |q_j| − θ_pro) or protein_drive       (sum over the neuron's incoming synapses)

A reward that moves a neuron's synapses by more than ``θ_pro`` in all (one strong reward, or repeated
rewards adding up while earlier changes still count) makes proteins; every tagged synapse of that neuron
captures them, including a weakly rewarded one whose change alone would fade (capture, Frey & Morris 1997).
``protein_drive`` is the outside switch (set, e.g., by the frontal controller's ``consolidate_above``).

Design choices. The early phase, tag, protein threshold and outside switch are those of
:class:`~neurosim.plasticity.consolidation.TaggingCapture` (Luboeinski & Tetzlaff 2021, whose protein pool
this rule shares: same per-neuron variables, same update), with the early change produced by reward instead
of calcium. Capture differs: TaggingCapture's late phase grows towards a fixed quantum (``h0``), whatever
the early change was; here capture moves the early change itself into ``z``, so a consolidated synapse
keeps (nearly all of) the change that reward made, of either sign, and an unconsolidated one returns to
``b``. The tag is the uncaptured early change ``q`` (Luboeinski & Tetzlaff's ``h − h0``), so it lasts as
long as there (``τ_e·ln(|Δw|/θ_tag)``) and also feeds the protein threshold. Capture time constants follow
Clopath et al. 2008 (TagTriC: protein rise 6 min, decay 1 h, τ_z 6 min): with them a tagged synapse whose
neuron makes proteins keeps about 1 − (τ_rise + τ_z)/τ_e ≈ 90 % of its change, while an untagged one, or one
without proteins, keeps e^{−8 h/τ_e} ≈ 1.5 % after 8 h. Thresholds are in units of ``w``: Luboeinski &
Tetzlaff's 0.2·h0 and 0.5·h0 with ``w = 1`` at rest.

Implementation: no per-time-step work. Every ``slow_dt`` (``RuleCode.regularly``) the rule reads
``e = w − b − z`` (so reward changes made since the last update join the early phase), moves ``e``, ``z``
and ``q`` on by their exact exponential solution over the step with ``p`` and the tag held, and writes
``w``; ``w`` stays between ``b + z`` and its value before, so within ``[w_min, w_max]``. The synapse stores
``captured = q − e`` (the captured part that the tag still counts), which no reward change touches.
``time_scale`` divides τ_e, τ_rise, τ_decay and τ_z (not the reward rule's), so hours play out quickly.
Synapse variables: ``capture_base``, ``capture_z``, ``capture_captured``; neuron variables ``capture_p``,
``capture_drive``, ``capture_protein_drive`` (``capture`` = the default name). Projections onto one
population with this rule (same ``name``) share each neuron's protein, as in the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from brian2 import Quantity, ms, second

from ..validation import check_number, check_quantity
from .consolidation import PROTEIN_POOL, protein_synthesis, slow_step
from .rule import Rule, RuleCode

#: the protein's rate: rise while synthesis is on, decay once it is off (Clopath et al. 2008)
_RISE_OR_DECAY = "(p_rise*int(synthesis > 0) + p_decay*int(synthesis <= 0))"


@dataclass(frozen=True)
class RewardConsolidation(Rule):
    """Reward-gated tagging and capture on a :class:`RewardModulated` synapse: reward-driven weight changes
    are early-phase and fade, unless proteins (a strong or repeated reward) make tagged ones late-phase."""

    role = "modifier"
    namespace = "capture"

    tau_early: Quantity = 6884 * second  # decay time of early changes (Luboeinski & Tetzlaff 2021: τ_h/0.1)
    theta_tag: float = 0.2  # |early change| of w that tags a synapse (0.2 h0 with w = 1 at rest)
    theta_pro: float = 0.5  # Σ|early change| of a neuron's synapses that starts protein synthesis (0.5 h0)
    alpha: float = 1.0  # protein synthesis rate (steady-state amount)
    tau_p_rise: Quantity = 360 * second  # protein rise while synthesis is on (Clopath et al. 2008: 6 min)
    tau_p_decay: Quantity = 3600 * second  # protein decay once it is off (Clopath et al. 2008: 1 h)
    tau_z: Quantity = 360 * second  # capture time constant at full protein (Clopath et al. 2008: 6 min)
    time_scale: float = 1.0  # divides the slow time constants (tau_early, tau_p_rise, tau_p_decay, tau_z)
    slow_dt: Quantity | None = None  # step of the slow updates; None: a power of ten <= 1/100 of the fastest

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "RewardConsolidation"
        self.check_positive(ms, "tau_early", "tau_p_rise", "tau_p_decay", "tau_z")
        for name in ("theta_tag", "theta_pro", "time_scale"):
            check_number(owner, name, getattr(self, name), low=0, low_open=True)
        check_number(owner, "alpha", self.alpha, low=0)
        if self.slow_dt is not None:
            check_quantity(owner, "slow_dt", self.slow_dt, ms, positive=True)

    @property
    def step(self) -> Quantity:
        """The step of the slow updates (``slow_dt``, or the default derived from the time constants)."""
        if self.slow_dt is not None:
            return self.slow_dt
        times = (self.tau_early, self.tau_p_rise, self.tau_p_decay, self.tau_z)
        return slow_step(min(float(tau / second) for tau in times), self.time_scale)

    def code(self) -> RuleCode:
        return RuleCode(
            equations=(
                "base : 1  # rest weight: early changes fade back to it\n"
                "z : 1  # late-phase change\n"
                "captured : 1  # captured change that the tag still counts (tag trace = early + captured)"
            ),
            regularly=(
                "elapsed = clip(t, 0*second, step)\n"
                "early = w - base - z\n"
                "trace = (early + captured)*exp(-early_rate*elapsed)\n"
                "k = early_rate + capture_rate*p_post*int(abs(trace) >= theta_tag)\n"
                "kept = early*exp(-k*elapsed)\n"
                "z += (early - kept)*(k - early_rate)/k\n"
                "captured = trace - kept\n"
                "w = base + z + kept\n"
                "drive_post += abs(trace)"
            ),
            regularly_dt=self.step,
            initial={"base": "w"},
            parameters={
                "step": self.step,
                "early_rate": self.time_scale / self.tau_early,
                "capture_rate": self.time_scale / self.tau_z,
                "p_rise": self.time_scale / self.tau_p_rise,
                "p_decay": self.time_scale / self.tau_p_decay,
            },
            post_equations=PROTEIN_POOL.replace("UNIT", "1"),
            post_regularly=protein_synthesis(
                "1", "(p_rise*int(synthesis > 0) + p_decay*int(synthesis <= 0))"
            ),
        )


__all__ = ["RewardConsolidation"]
