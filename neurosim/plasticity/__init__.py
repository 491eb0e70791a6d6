"""Plasticity rules: the rule API (:mod:`.rule`), the composer that assembles a synapse's rules
(:mod:`.composer`, with :mod:`.naming`, :mod:`.neuron_code` and :mod:`.deferral`), and the built-in rules,
which use exactly that API."""

from .calcium import GraupnerBrunel, PairingPrediction
from .composer import ComposedSynapse, RestState, compose, rest_state
from .consolidation import TaggingCapture, strong_tetanus, tetanus, weak_tetanus
from .fast_stdp import FastPairSTDP
from .fast_stp import FastTsodyksMarkram
from .reward import RewardModulated
from .reward_consolidation import RewardConsolidation
from .rule import ROLES, SHARED_SYMBOLS, Rule, RuleCode, RuleError, TimeTable
from .salience import SalienceBoost, SalienceGated, SalienceSignal
from .stdp import PairSTDP, TripletSTDP
from .stp import TsodyksMarkram

__all__ = [
    "ROLES",
    "SHARED_SYMBOLS",
    "ComposedSynapse",
    "FastPairSTDP",
    "FastTsodyksMarkram",
    "GraupnerBrunel",
    "PairSTDP",
    "PairingPrediction",
    "RestState",
    "Rule",
    "RuleCode",
    "TimeTable",
    "RuleError",
    "TripletSTDP",
    "TsodyksMarkram",
    "compose",
    "rest_state",
    "TaggingCapture",
    "strong_tetanus",
    "tetanus",
    "weak_tetanus",
    "RewardModulated",
    "RewardConsolidation",
    "SalienceBoost",
    "SalienceGated",
    "SalienceSignal",
]
