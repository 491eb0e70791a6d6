"""Plasticity rules: the rule API (:mod:`.base`) and the built-in rules, which use exactly that API."""

from .base import ROLES, SHARED_SYMBOLS, ComposedSynapse, Rule, RuleCode, RuleError, compose
from .calcium import GraupnerBrunel, PairingPrediction
from .consolidation import TaggingCapture, strong_tetanus, tetanus, weak_tetanus
from .fast_stdp import FastPairSTDP
from .fast_stp import FastTsodyksMarkram
from .reward import DopamineSignal, RewardModulated, clear_eligibility, eligibility
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
    "Rule",
    "RuleCode",
    "RuleError",
    "TripletSTDP",
    "TsodyksMarkram",
    "compose",
    "TaggingCapture",
    "strong_tetanus",
    "tetanus",
    "weak_tetanus",
    "DopamineSignal",
    "RewardModulated",
    "clear_eligibility",
    "eligibility",
]
