"""Spike-timing-dependent plasticity: pair (Song, Miller & Abbott 2000) and triplet (Pfister & Gerstner 2006).

Traces are per synapse and event-driven (integrated exactly between spikes), and timing is taken where
the spike meets the synapse: presynaptic spikes at their arrival (after the conduction delay), postsynaptic
spikes at the soma. A pre-before-post pair at lag Δt = t_post − t_pre > 0 changes the weight by
``A_plus·exp(−Δt/tau_plus)``; post-before-pre by ``−A_minus·exp(Δt/tau_minus)``. Amplitudes are in units of
the dimensionless weight ``w``, bounded to ``[w_min, w_max]`` by the projection.

Delay convention: the whole conduction delay is *axonal* here, so a pair is timed as
``Δt = t_post − (t_pre + delay)``. NEST's ``stdp_synapse`` treats its delay as *dendritic* instead
(``Δt = t_post + delay − t_pre``); the two agree on identical spike trains once one train is shifted by
the sum of both delays (see ``tests/test_nest_crosscheck.py``). Mapping to NEST for w ∈ [0, 1] (NEST weight
= J·w): ``mu_plus = mu_minus = 0`` for ``bounds="hard"``, ``= 1`` for ``"soft"``; ``Wmax = J``,
``lambda = A_plus``, ``alpha = A_minus/A_plus``, the postsynaptic neuron's ``tau_minus = tau_minus``;
``pairing="nearest"`` is NEST's ``stdp_nn_symm_synapse``; :class:`TripletSTDP` is NEST's
``stdp_triplet_synapse`` (``Aplus = A2_plus``, ``Aplus_triplet = A3_plus``, ``tau_plus_triplet = tau_x``, …).
"""

from __future__ import annotations

from dataclasses import dataclass

from brian2 import Quantity, ms

from ..validation import check_choice, check_number
from .rule import Rule, RuleCode


@dataclass(frozen=True)
class PairWindow(Rule):
    """The parameters of a pair-STDP window and their checks, shared by :class:`PairSTDP` and
    :class:`~neurosim.plasticity.fast_stdp.FastPairSTDP` (which differ only in where the traces live)."""

    role = "weight"
    namespace = "stdp"

    A_plus: float = 0.01  # potentiation amplitude (pre before post)
    A_minus: float = 0.0105  # depression amplitude (post before pre), positive
    tau_plus: Quantity = 20 * ms  # potentiation window
    tau_minus: Quantity = 20 * ms  # depression window
    bounds: str = "hard"  # "hard" (additive) or "soft" (multiplicative)
    pairing: str = "all"  # "all" (all-to-all) or "nearest"

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = type(self).__name__
        check_number(owner, "A_plus", self.A_plus, low=0)
        check_number(owner, "A_minus", self.A_minus, low=0)
        self.check_positive(ms, "tau_plus", "tau_minus")
        check_choice(owner, "bounds", self.bounds, ("hard", "soft"))
        check_choice(owner, "pairing", self.pairing, ("all", "nearest"))


@dataclass(frozen=True)
class PairSTDP(PairWindow):
    """Pair-based STDP.

    ``bounds="hard"``: additive updates clipped to the bounds (Song et al. 2000). ``bounds="soft"``:
    multiplicative updates, potentiation ∝ (w_max − w) and depression ∝ (w − w_min) (van Rossum et al. 2000).
    ``pairing="all"``: every pre spike pairs with every post spike (traces add up); ``"nearest"``: each spike
    pairs only with the nearest earlier spike of the other side (traces reset to 1).
    """

    def code(self) -> RuleCode:
        bump = "+= 1" if self.pairing == "all" else "= 1"
        up, down = ("(w_max - w)*", "(w - w_min)*") if self.bounds == "soft" else ("", "")
        return RuleCode(
            equations=(
                "dapre/dt = -apre/tau_plus : 1 (event-driven)\n"
                "dapost/dt = -apost/tau_minus : 1 (event-driven)"
            ),
            on_pre=f"apre {bump}\ndw = -A_minus*{down}apost",
            on_post=f"apost {bump}\ndw = A_plus*{up}apre",
            rest={"apre": 0.0, "apost": 0.0},
        )


@dataclass(frozen=True)
class TripletSTDP(Rule):
    """Triplet STDP (Pfister & Gerstner 2006).

    Presynaptic traces r1 (tau_plus), r2 (tau_x); postsynaptic traces o1 (tau_minus), o2 (tau_y). At a pre
    spike ``dw = −o1·(A2_minus + A3_minus·r2)``; at a post spike ``dw = r1·(A2_plus + A3_plus·o2)``, each
    using the triplet trace from *before* the current spike. ``pairing="all"``: traces add up (all-to-all
    interactions); ``"nearest"``: every trace is reset to 1 at its spike (Pfister & Gerstner's nearest-spike
    model, which needs its own fitted parameters). Defaults: the visual cortex all-to-all fit (their Table 4),
    which reproduces the frequency dependence of Sjöström et al. 2001.
    """

    role = "weight"
    namespace = "triplet"

    tau_plus: Quantity = 16.8 * ms
    tau_x: Quantity = 101 * ms
    tau_minus: Quantity = 33.7 * ms
    tau_y: Quantity = 125 * ms
    A2_plus: float = 5e-10
    A3_plus: float = 6.2e-3
    A2_minus: float = 7e-3
    A3_minus: float = 2.3e-4
    pairing: str = "all"  # "all" (all-to-all) or "nearest"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_positive(ms, "tau_plus", "tau_x", "tau_minus", "tau_y")
        for name in ("A2_plus", "A3_plus", "A2_minus", "A3_minus"):
            check_number("TripletSTDP", name, getattr(self, name), low=0)
        check_choice("TripletSTDP", "pairing", self.pairing, ("all", "nearest"))

    def code(self) -> RuleCode:
        bump = "+= 1" if self.pairing == "all" else "= 1"
        return RuleCode(
            equations=(
                "dr1/dt = -r1/tau_plus : 1 (event-driven)\n"
                "dr2/dt = -r2/tau_x : 1 (event-driven)\n"
                "do1/dt = -o1/tau_minus : 1 (event-driven)\n"
                "do2/dt = -o2/tau_y : 1 (event-driven)"
            ),
            on_pre=f"dw = -o1*(A2_minus + A3_minus*r2)\nr1 {bump}\nr2 {bump}",
            on_post=f"dw = r1*(A2_plus + A3_plus*o2)\no1 {bump}\no2 {bump}",
            rest={"r1": 0.0, "r2": 0.0, "o1": 0.0, "o2": 0.0},
        )
