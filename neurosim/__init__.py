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

The names below are imported on first use (PEP 562), so that ``import neurosim`` and the ``neurosim``
command start without loading Brian2, SciPy, SymPy or Matplotlib; ``from neurosim import build`` and
``neurosim.build`` work as for any module.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: module (relative to this package) -> the public names it gives to ``neurosim``
_PUBLIC: dict[str, tuple[str, ...]] = {
    ".backend": ("DopamineSignal", "Simulation", "default_target"),
    ".engines": ("build",),
    ".connectivity": ("ConductionDelay", "ExponentialKernel", "GaussianKernel", "UniformKernel"),
    ".frontal": (
        "AssemblyBandit",
        "ConstantRate",
        "DecreasingRate",
        "FrontalController",
        "LowActivity",
        "NeuronSelection",
        "PenaltyCount",
        "Pruner",
        "RandomDeletion",
        "Regrowth",
        "RunningBaseline",
        "SpikeCountReadout",
        "TargetSparsity",
        "WeightMagnitude",
    ),
    ".network": (
        "AllToAll",
        "ExplicitConnections",
        "ImposedSpikes",
        "NetworkDescription",
        "OneToOne",
        "PoissonBackground",
        "Population",
        "Projection",
        "RateRecording",
        "SpikeRecording",
        "StateRecording",
    ),
    ".neurons": ("LIF", "AdaptiveLIF", "AdEx", "Izhikevich", "PoissonSource", "SpikeSource"),
    ".plasticity": (
        "FastPairSTDP",
        "FastTsodyksMarkram",
        "GraupnerBrunel",
        "PairSTDP",
        "RewardConsolidation",
        "Rule",
        "RuleCode",
        "TaggingCapture",
        "TripletSTDP",
        "TsodyksMarkram",
    ),
    ".plasticity.reward": ("RewardModulated",),
    ".plasticity.salience": ("SalienceBoost", "SalienceGated", "SalienceSignal"),
    ".salience": ("NoveltyDetector",),
    ".space": ("Explicit", "Grid", "LayeredColumn", "Sphere", "UniformBox"),
    ".validation": ("ParameterError",),
}
#: subpackages and modules reachable as attributes (``neurosim.plots.raster``)
_SUBMODULES = ("backend", "frontal", "plasticity", "plots")

_MODULE_OF = {name: module for module, names in _PUBLIC.items() for name in names}

__all__ = sorted([*_MODULE_OF, *_SUBMODULES])


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access and keep the name here for later lookups."""
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
