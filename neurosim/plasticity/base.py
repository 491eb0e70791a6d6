"""TEMPORARY re-export of the names ``neurosim.plasticity.base`` held before it was split into :mod:`.rule`,
:mod:`.composer`, :mod:`.neuron_code` and :mod:`.deferral`; to be removed once importers are rewired."""

from .composer import ComposedSynapse, compose  # TEMPORARY re-export
from .deferral import MAX_DEFERRAL_RATIO, Deferral, deferral  # TEMPORARY re-export
from .neuron_code import PostCode, compose_post, compose_pre  # TEMPORARY re-export
from .rule import ROLES, SHARED_SYMBOLS, DeferredPost, Rule, RuleCode, RuleError, Ticks  # TEMPORARY re-export

__all__ = [
    "MAX_DEFERRAL_RATIO",
    "ROLES",
    "SHARED_SYMBOLS",
    "ComposedSynapse",
    "Deferral",
    "DeferredPost",
    "PostCode",
    "Rule",
    "RuleCode",
    "RuleError",
    "Ticks",
    "compose",
    "compose_post",
    "compose_pre",
    "deferral",
]
