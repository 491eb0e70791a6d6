"""The frontal controller and its parts: reward functions, assemblies, pruning policy, the controller.

Everything here decides on numpy arrays and speaks to the network only through
:class:`~neurosim.backend.Simulation` and the backend's functions. Modules: :mod:`.rewards` (reward
policies and baselines), :mod:`.assemblies` (readout, neuron selection, bandit), :mod:`.criteria` and
:mod:`.schedules` (which synapses are pruned, how many per step), :mod:`.pruning` (pruner, regrowth, history),
:mod:`.config` (the controller's validated configuration), :mod:`.controller` (:class:`FrontalController`),
:mod:`.proteins` (where its judgement makes proteins: consolidation sites), :mod:`.saving` (saving it
beside its network and continuing) and :mod:`.gating` (a Go/NoGo policy that learns from reward when to
open a gate).
"""

from .assemblies import AssemblyBandit, NeuronSelection, SpikeCountReadout
from .config import ControllerConfig
from .controller import FrontalController, TrialResult
from .criteria import (
    LowActivity,
    PenaltyCount,
    PruningCriterion,
    RandomDeletion,
    SynapseStats,
    WeightMagnitude,
    prune_array,
    select,
)
from .gating import ConfigurationSearch, GatingPolicy
from .proteins import DecidedGroup, ProteinSites
from .pruning import (
    Pruner,
    PruningEvent,
    PruningHistory,
    Regrowth,
    SynapseLedger,
    draw_regrowth,
    firing_rates,
    regrow,
    synapse_stats,
)
from .rewards import CorrectWrong, RunningBaseline
from .saving import save_with_controller
from .schedules import ConstantRate, DecreasingRate, PruningSchedule, TargetSparsity

__all__ = [
    "AssemblyBandit",
    "ConstantRate",
    "ControllerConfig",
    "CorrectWrong",
    "DecidedGroup",
    "DecreasingRate",
    "FrontalController",
    "ConfigurationSearch",
    "GatingPolicy",
    "LowActivity",
    "NeuronSelection",
    "PenaltyCount",
    "ProteinSites",
    "Pruner",
    "PruningCriterion",
    "PruningEvent",
    "PruningHistory",
    "PruningSchedule",
    "RandomDeletion",
    "Regrowth",
    "RunningBaseline",
    "SpikeCountReadout",
    "SynapseLedger",
    "SynapseStats",
    "TargetSparsity",
    "TrialResult",
    "WeightMagnitude",
    "draw_regrowth",
    "firing_rates",
    "prune_array",
    "regrow",
    "save_with_controller",
    "select",
    "synapse_stats",
]
