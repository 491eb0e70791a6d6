"""The spiking learner's frontal controller: how :class:`~neurosim.learners.spiking.SpikingParams` set it up.

The controller judges each decision of the readout against the target and sends dopamine to ``mem_out``
(``correct`` / ``wrong``, minus a running baseline per target: a reward-prediction error; Frémaux & Gerstner
2016), ``reward_delay`` later with ``delayed_reward`` (Izhikevich 2007). With ``consolidation`` a strong
enough signal makes proteins in the decided readout group only (:class:`~neurosim.frontal.DecidedGroup`), so
the judgement consolidates the synapses that made the decision and not others that fired. With
``prune_during_learning`` it prunes weak plastic synapses (and optionally those from silent neurons) on a
schedule.
"""

from __future__ import annotations

from collections.abc import Callable

from brian2 import Hz, ms

from ...backend import Simulation
from ...frontal import (
    CorrectWrong,
    DecidedGroup,
    FrontalController,
    LowActivity,
    Pruner,
    RunningBaseline,
    TargetSparsity,
    WeightMagnitude,
)
from .network import PLASTIC, SpikingParams


def controller_of(
    sim: Simulation, params: SpikingParams, n_outputs: int, readout: Callable, seed: int
) -> FrontalController:
    """The controller of a learner's network ``sim`` (``readout``: the decision of a trial by trial run)."""
    p = params
    return FrontalController(
        sim,
        projections=("mem_out",),
        policy=CorrectWrong(p.correct, p.wrong),
        baseline=RunningBaseline(alpha=p.baseline_alpha) if p.baseline_alpha > 0 else None,
        reward_delay=p.reward_delay if p.delayed_reward else 0 * ms,
        readout=readout,
        pruner=pruner_of(p),
        consolidate_above=p.consolidate_above if p.consolidation else None,
        protein_sites=DecidedGroup("out", p.neurons_per_output, n_outputs) if p.consolidation else None,
        seed=seed,
    )


def pruner_of(params: SpikingParams) -> Pruner | None:
    """The controller's pruning during learning (None when ``prune_during_learning`` is off): LTD →
    pruning. Candidates are the weak plastic synapses (|w| < ``prune_weak``): in ``mem_out`` those that
    punishment (and the depression of silent readout neurons) has driven down, in ``mem_mem`` those that no
    pattern imprinted; with ``prune_silent``, also those whose presynaptic neuron stays silent (its rate
    since the run began below ``prune_silent``: readout synapses from memory units that no pattern uses
    transmit nothing). Silence is judged on the source only: a readout group that has not won yet is quiet
    too, but its synapses from the pattern it will answer are needed. Weakest first, each step removes up
    to what a cubic ramp to ``prune_final`` allows (gradual pruning, Zhu & Gupta 2017) from each plastic
    projection."""
    p = params
    if not p.prune_during_learning:
        return None
    weak = WeightMagnitude(threshold=p.prune_weak)
    return Pruner(
        criterion=(weak, LowActivity(threshold=p.prune_silent, side="pre"))
        if p.prune_silent > 0 * Hz
        else weak,
        schedule=TargetSparsity(final=p.prune_final, steps=p.prune_steps),
        every=p.prune_every,
        projections=PLASTIC,
    )


__all__ = ["controller_of", "pruner_of"]
