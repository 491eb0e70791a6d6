"""Plasticity rules: the rule API (:mod:`.base`) and the built-in rules, which use exactly that API."""

from .base import ROLES, SHARED_SYMBOLS, ComposedSynapse, Rule, RuleCode, RuleError, compose
from .stdp import PairSTDP, TripletSTDP
from .stp import TsodyksMarkram

__all__ = [
    "ROLES",
    "SHARED_SYMBOLS",
    "ComposedSynapse",
    "PairSTDP",
    "Rule",
    "RuleCode",
    "RuleError",
    "TripletSTDP",
    "TsodyksMarkram",
    "compose",
]
