"""TEMPORARY re-export: state files moved to :mod:`neurosim.backend` (``statefile``, ``simulation``)."""

from .backend.simulation import load, save  # TEMPORARY re-export
from .backend.statefile import FORMAT, VERSION, read_description, read_extras  # TEMPORARY re-export

__all__ = ["FORMAT", "VERSION", "load", "read_description", "read_extras", "save"]
