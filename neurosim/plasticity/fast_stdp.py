"""Pair STDP with per-neuron traces: the all-to-all pair rule with a fraction of the memory traffic.

In pair STDP (Song, Miller & Abbott 2000; all-to-all or nearest-spike pairing as in Morrison, Diesmann &
Gerstner 2008) the presynaptic trace ``apre`` is the same for every synapse leaving one neuron and the
postsynaptic trace ``apost`` the same for every synapse onto one neuron: the traces belong to the neurons.
:class:`~neurosim.plasticity.stdp.PairSTDP` keeps them per synapse (two traces and a timestamp per synapse,
all touched at every spike); :class:`FastPairSTDP` keeps them on the neurons, so a spike touches only the
weight of each of its synapses. With per-synapse traces, memory traffic bounds the rate of synaptic events
(a postsynaptic spike visits its incoming synapses in random memory order, updating traces and a timestamp
at each); with neuron traces that pass reads one per-synapse value.

Equations (``w`` bounded to ``[w_min, w_max]``; with ``bounds="soft"`` the increments are multiplied by
``w_max - w`` and ``w - w_min``)::

    dapre/dt = -apre/tau_plus    (per presynaptic neuron)     apre += 1 at each of its spikes
    dapost/dt = -apost/tau_minus (per postsynaptic neuron)    apost += 1 at each of its spikes
    presynaptic spike:  w -= A_minus*apost        postsynaptic spike:  w += A_plus*apre

Timing convention: both spike times are taken **at the soma**. Depression is applied when the presynaptic
spike is emitted (a zero-delay plasticity pathway, ``RuleCode.pre_timing="emission"``); potentiation at a
postsynaptic spike uses the presynaptic trace counted from emission times. The conduction delay delays
transmission only. Hence ``FastPairSTDP`` on a network with any delays changes the weights exactly as
``PairSTDP`` does on the same spike trains with zero delay -- coincident spikes (one time step) included: they
potentiate, as in ``PairSTDP`` where the presynaptic pathway runs first. ``PairSTDP`` with delays times the
presynaptic spike at its arrival instead, so the two rules see pairing lags that differ by the delay.

With :class:`~neurosim.plasticity.reward.RewardModulated` on the same projection the weight changes only at
the modifier's ticks, so potentiation is *deferred* (:mod:`~neurosim.plasticity.deferral`): no
code runs per synapse at a postsynaptic spike; the postsynaptic neuron sums its spikes, and each synapse
collects its share, exactly, at the next presynaptic spike or tick.

The traces live in the populations as ``<prefix>_apre`` / ``<prefix>_apost`` (``stdp_apre``), shared by all
projections from (onto) the population that carry an equal rule. They are clock-driven (one multiply per
neuron and step), so sources without equations (``SpikeSource``, ``PoissonSource``) cannot be presynaptic to
this rule: use ``PairSTDP`` there.
"""

from __future__ import annotations

from dataclasses import dataclass

from .rule import DeferredPost, RuleCode
from .stdp import PairWindow


@dataclass(frozen=True)
class FastPairSTDP(PairWindow):
    """Pair STDP with the traces on the neurons (somatic timing; see the module docstring).

    Same parameters and defaults as :class:`~neurosim.plasticity.stdp.PairSTDP`.
    """

    def code(self) -> RuleCode:
        up, down = ("(w_max - w)*", "(w - w_min)*") if self.bounds == "soft" else ("", "")
        # The neuron traces are bumped in the reset, after this step's synaptic pathways. A presynaptic spike
        # of this very step is therefore not yet in apre when a postsynaptic spike reads it: count it here
        # (lastspike_pre == t), so that coincident spikes potentiate as in PairSTDP.
        now = "int(lastspike_pre == t)"
        if self.pairing == "all":
            bump, apre = "+= 1", f"(apre_pre + {now})"
        else:
            bump, apre = "= 1", f"(apre_pre + {now}*(1 - apre_pre))"
        return RuleCode(
            pre_equations="dapre/dt = -apre/tau_plus : 1",
            post_equations="dapost/dt = -apost/tau_minus : 1",
            pre_on_spike=f"apre {bump}",
            post_on_spike=f"apost {bump}",
            on_pre=f"dw = -A_minus*{down}apost_post",
            on_post=f"dw = A_plus*{up}{apre}",
            pre_timing="emission",
            # With RewardModulated (w then changes only at its ticks) potentiation can be settled lazily.
            deferred_post=DeferredPost(trace="apre", tau="tau_plus", amplitude=f"A_plus*{up}1"),
            rest={"apre": 0.0, "apost": 0.0},
        )
