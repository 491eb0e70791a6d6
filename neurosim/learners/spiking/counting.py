"""What the spiking learner's trials cost: synaptic events and plastic weight updates, from spike counts.

A spike of neuron i makes one synaptic event per outgoing synapse, in every projection (its out-degree); at
a plastic synapse both a presynaptic spike arriving and a postsynaptic spike (the in-degree of its neuron)
update the weight. The learner turns them into ``ops`` and energy (events × 23.6 pJ + updates × 120 pJ;
Loihi, Davies et al. 2018; :func:`neurosim.metrics.snn_energy_j`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ...backend import Simulation


@dataclass(frozen=True)
class EventCounter:
    """Degrees of the network's neurons in each projection, as built now (count again after pruning)."""

    out_degree: Mapping[str, Mapping[str, np.ndarray]]  # source population → projection → per neuron
    in_degree: Mapping[str, np.ndarray]  # plastic projection → per target neuron
    targets: Mapping[str, str]  # plastic projection → its target population

    @classmethod
    def of(cls, sim: Simulation, plastic: Sequence[str]) -> EventCounter:
        """The degrees of every projection of ``sim``; in-degrees of the ``plastic`` ones."""
        out: dict[str, dict[str, np.ndarray]] = {}
        into, targets = {}, {}
        for proj in sim.description.projections:
            i, j = sim.connections(proj.name)
            n = sim.description.population(proj.source).n
            out.setdefault(proj.source, {})[proj.name] = np.bincount(i, minlength=n)
            if proj.name in plastic:
                into[proj.name] = np.bincount(j, minlength=sim.description.population(proj.target).n)
                targets[proj.name] = proj.target
        return cls(out, into, targets)

    def events(self, counts: Mapping[str, np.ndarray]) -> tuple[int, int]:
        """Synaptic events and plastic updates from the spike ``counts`` per neuron of each population."""
        events = plastic = 0
        for pop, degrees in self.out_degree.items():
            for proj, deg in degrees.items():
                e = int(np.dot(counts[pop], deg))
                events += e
                if proj in self.in_degree:  # presynaptic arrivals and postsynaptic spikes both update
                    plastic += e + int(np.dot(counts[self.targets[proj]], self.in_degree[proj]))
        return events, plastic


__all__ = ["EventCounter"]
