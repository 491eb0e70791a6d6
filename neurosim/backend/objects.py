"""The record of a built network: its Brian2 objects, keyed by the names of its description.

:class:`BuiltNetwork` is what compaction (:mod:`.compaction`), state files (:mod:`.statefile`) and the
dopamine signal (:mod:`.dopamine`) operate on. The user-facing
:class:`~neurosim.backend.simulation.Simulation` extends it with running, reading, compacting, saving and
loading; keeping the record below those modules lets the dependencies run one way (record <- operations <-
Simulation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import brian2 as b2
import numpy as np
from brian2 import Quantity

from ..network import NetworkDescription
from ..plasticity.composer import ComposedSynapse

#: Called after a projection was resized: ``listener(projection, kept_old_indices, n_added)``.
ResizeListener = Callable[[str, np.ndarray, int], None]

#: A neuron group of any kind (Brian2's NeuronGroup, PoissonGroup or SpikeGeneratorGroup).
Group = b2.NeuronGroup | b2.PoissonGroup | b2.SpikeGeneratorGroup

#: A recording (spike, population-rate or state monitor).
Monitor = b2.SpikeMonitor | b2.PopulationRateMonitor | b2.StateMonitor


@dataclass
class BuiltNetwork:
    """A built network: Brian2 objects, positions and connectivity, and what must follow its synapses."""

    description: NetworkDescription
    target: str  # code generation target: "numpy", "cython" or "cpp_standalone"
    network: b2.Network
    groups: dict[str, Group]  # population name -> its group
    synapses: dict[str, b2.Synapses]  # projection name -> its synapses
    positions: dict[str, np.ndarray]  # µm, shape (n, 3)
    distances: dict[str, np.ndarray]  # µm, one per synapse (in Brian2's synapse order)
    composed: dict[str, ComposedSynapse]  # projection name -> its rules composed into one synapse model
    monitors: dict[str, Monitor] = field(default_factory=dict)  # "<kind>:<name>" -> its monitor
    _standalone_ran: bool = False  # a cpp_standalone network runs once
    directory: Path | None = None  # cpp_standalone build folder (reused: only changed files recompile)
    # called after every resize of a projection, to keep per-synapse bookkeeping aligned (see compaction)
    resize_listeners: list[ResizeListener] = field(default_factory=list, repr=False)

    @property
    def t(self) -> Quantity:
        """Current simulated time."""
        return self.network.t


__all__ = ["BuiltNetwork", "Group", "Monitor", "ResizeListener"]
