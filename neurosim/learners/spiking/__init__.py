"""The spiking learner: a 3D E/I network that learns memory tasks through plasticity and reward only.

:mod:`.network` describes the network (parameters, its co-activity rule, the description built from a
task's sizes); :mod:`.learner` runs trials on it (:class:`SpikingLearner`: fit, predict, reset, reward);
:mod:`.trials` plans trials and runs them in blocks (one run each) or trial by trial; :mod:`.compiled` runs
a training call compiled whole on cpp_standalone (``SpikingParams.compiled_training``); :mod:`.homeostasis`
keeps the readout groups' excitability fair in training (``SpikingParams.readout_homeostasis``);
:mod:`.counting` counts what trials cost (synaptic events, plastic updates); :mod:`.gating` lets the
frontal controller learn when to write to memory and when to read it (``SpikingParams.learned_gating``).
"""

from .gating import LearnedGates
from .learner import SpikingLearner
from .network import PLASTIC, CoActivityHebb, SpikingParams, network_description, params_for_task

__all__ = [
    "PLASTIC",
    "CoActivityHebb",
    "LearnedGates",
    "SpikingLearner",
    "SpikingParams",
    "network_description",
    "params_for_task",
]
