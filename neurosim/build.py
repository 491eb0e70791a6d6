"""TEMPORARY re-export: the builder moved to :mod:`neurosim.backend`."""

from .backend.construct import _connect, stream  # TEMPORARY re-export
from .backend.device import TARGETS, default_target  # TEMPORARY re-export
from .backend.simulation import Simulation, build  # TEMPORARY re-export

__all__ = ["TARGETS", "Simulation", "_connect", "build", "default_target", "stream"]
