"""neurosim: memory in biologically inspired 3D spiking networks, side by side with an LSTM.

Data flows one way through the packages. *Descriptions* say what a network is and make nothing:
:mod:`neurosim.space`, :mod:`neurosim.neurons`, :mod:`neurosim.connectivity`, :mod:`neurosim.network` and
the plasticity rules of :mod:`neurosim.plasticity`. The *backend*, :mod:`neurosim.backend`, alone makes, runs
and touches Brian2 objects: :func:`build` turns a description into a :class:`Simulation`, which reads and
writes the network as numpy arrays, compacts pruned projections and saves and loads whole states. Above it,
the *frontal* controller and pruning policy (:mod:`neurosim.frontal`) and the *learners*
(:mod:`neurosim.learners`, on the tasks of :mod:`neurosim.tasks`) speak only numpy and the Simulation.
*Experiments* (:mod:`neurosim.experiment`, the command line :mod:`neurosim.cli`, ``experiments/``) run
them and report; :mod:`neurosim.plots` draws a simulation.
"""

from . import backend, frontal, plasticity, plots
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
    "AssemblyBandit",
    "ConductionDelay",
    "ConstantRate",
    "DecreasingRate",
    "DopamineSignal",
    "Explicit",
    "ExplicitConnections",
    "ExponentialKernel",
    "FrontalController",
    "GaussianKernel",
    "GraupnerBrunel",
    "Grid",
    "Izhikevich",
    "LIF",
    "LayeredColumn",
    "LowActivity",
    "NetworkDescription",
    "NeuronSelection",
    "OneToOne",
    "PairSTDP",
    "ParameterError",
    "PenaltyCount",
    "PoissonBackground",
    "PoissonSource",
    "Population",
    "Projection",
    "Pruner",
    "RandomDeletion",
    "RateRecording",
    "Regrowth",
    "RewardModulated",
    "Rule",
    "RuleCode",
    "RunningBaseline",
    "Simulation",
    "Sphere",
    "SpikeCountReadout",
    "SpikeRecording",
    "SpikeSource",
    "StateRecording",
    "TaggingCapture",
    "TargetSparsity",
    "TripletSTDP",
    "TsodyksMarkram",
    "UniformBox",
    "UniformKernel",
    "WeightMagnitude",
    "backend",
    "build",
    "default_target",
    "frontal",
    "plasticity",
    "plots",
]
