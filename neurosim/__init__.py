"""neurosim: memory in biologically inspired 3D spiking networks, side by side with an LSTM.

Describe a network (:mod:`neurosim.network`), build and run it on Brian2 (:mod:`neurosim.build`), attach
plasticity rules (:mod:`neurosim.plasticity`), and record, plot and save it.
"""

from . import controller, plasticity, plots, pruning, state
from .backend import DopamineSignal, Simulation, build, default_target
from .connectivity import ConductionDelay, ExponentialKernel, GaussianKernel, UniformKernel
from .frontal import (
    AssemblyBandit,
    ConstantRate,
    DecreasingRate,
    FrontalController,
    LowActivity,
    NeuronSelection,
    PenaltyCount,
    Pruner,
    RandomDeletion,
    Regrowth,
    RunningBaseline,
    SpikeCountReadout,
    TargetSparsity,
    WeightMagnitude,
)
from .network import (
    AllToAll,
    ExplicitConnections,
    NetworkDescription,
    OneToOne,
    PoissonBackground,
    Population,
    Projection,
    RateRecording,
    SpikeRecording,
    StateRecording,
)
from .neurons import LIF, AdaptiveLIF, AdEx, Izhikevich, PoissonSource, SpikeSource
from .plasticity import GraupnerBrunel, PairSTDP, Rule, RuleCode, TaggingCapture, TripletSTDP, TsodyksMarkram
from .plasticity.reward import RewardModulated
from .space import Explicit, Grid, LayeredColumn, Sphere, UniformBox
from .validation import ParameterError

__version__ = "0.1.0"

__all__ = [
    "AdEx",
    "AdaptiveLIF",
    "AllToAll",
    "ConductionDelay",
    "Explicit",
    "ExplicitConnections",
    "ExponentialKernel",
    "GaussianKernel",
    "GraupnerBrunel",
    "Grid",
    "Izhikevich",
    "LIF",
    "LayeredColumn",
    "NetworkDescription",
    "OneToOne",
    "PairSTDP",
    "ParameterError",
    "PoissonBackground",
    "PoissonSource",
    "Population",
    "Projection",
    "RateRecording",
    "Rule",
    "RuleCode",
    "Simulation",
    "SpikeRecording",
    "SpikeSource",
    "Sphere",
    "StateRecording",
    "TripletSTDP",
    "TsodyksMarkram",
    "UniformBox",
    "UniformKernel",
    "build",
    "default_target",
    "plasticity",
    "plots",
    "state",
    "plots",
    "state",
    "TaggingCapture",
    "AssemblyBandit",
    "ConstantRate",
    "DecreasingRate",
    "DopamineSignal",
    "FrontalController",
    "LowActivity",
    "NeuronSelection",
    "PenaltyCount",
    "Pruner",
    "RandomDeletion",
    "Regrowth",
    "RewardModulated",
    "RunningBaseline",
    "SpikeCountReadout",
    "TargetSparsity",
    "WeightMagnitude",
    "controller",
    "pruning",
]
