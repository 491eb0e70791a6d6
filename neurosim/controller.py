"""TEMPORARY re-export: the controller moved to :mod:`neurosim.frontal`."""

from .frontal import (  # TEMPORARY re-export
    AssemblyBandit,
    CorrectWrong,
    FrontalController,
    NeuronSelection,
    RunningBaseline,
    SpikeCountReadout,
    TrialResult,
)

__all__ = [
    "AssemblyBandit",
    "CorrectWrong",
    "FrontalController",
    "NeuronSelection",
    "RunningBaseline",
    "SpikeCountReadout",
    "TrialResult",
]
