"""Replicas: independent copies of a built network side by side in one network, for trials that do not learn.

A network whose plasticity is switched off answers each test trial independently of the others once every
trial starts from the same rest state. Running ``copies`` such trials side by side in one network pays
Brian2's per-object cost of a time step once for all of them: at the sizes of the recall tasks' networks
(hundreds to a few thousand neurons) a step costs its ~50 code objects' call overhead more than their work,
so side by side is several times faster than one after another (figures in the learner benchmark).

:func:`replicate` builds the copies from the network as it is now: every population ``copies`` times as
large (copy ``k`` holds neurons ``k*n .. (k+1)*n - 1``), every projection's synapses repeated once per copy
between the copies' own neurons, with their distances (so their delays), and every per-neuron and
per-synapse variable (``w``, each rule's variables, the refractory bookkeeping) copied into each copy;
shared (scalar) variables are copied once, and the new network's clock starts at the original's time, so
variables that hold times (``lastspike``, ``lastupdate``) keep their meaning; spikes still travelling along
delayed synapses travel on every copy. The spike trains that spike
sources and imposed spikes hold go to every copy (give each copy its own with
:meth:`~neurosim.backend.Simulation.set_spike_times`). Copies share no synapse, so they cannot influence
each other; the Poisson background draws its stream per neuron, so the copies differ in their noise.
Rewards still due to the original are not copied; recordings other than spikes and population rates are
left out.
"""

from __future__ import annotations

import dataclasses

import brian2 as b2
import numpy as np
from brian2 import second

from ..network import RateRecording, SpikeRecording
from ..validation import check_number
from .compaction import carry_spikes
from .objects import BuiltNetwork
from .simulation import Simulation, build


def replicate(sim: BuiltNetwork, copies: int) -> Simulation:
    """``copies`` independent copies of ``sim``'s network in its current state, side by side in one new
    network on the same code generation target (see the module docstring)."""
    copies = int(check_number("replicate", "copies", copies, low=1, integer=True))
    d = sim.description
    sizes = {pop.name: pop.n for pop in d.populations}
    wide = dataclasses.replace(
        d,
        populations=tuple(dataclasses.replace(pop, n=pop.n * copies) for pop in d.populations),
        recordings=tuple(r for r in d.recordings if isinstance(r, (SpikeRecording, RateRecording))),
    )
    connections = {}
    for proj in d.projections:
        i, j = (
            np.asarray(x, dtype=int) for x in (sim.synapses[proj.name].i[:], sim.synapses[proj.name].j[:])
        )
        k = np.repeat(np.arange(copies), len(i))
        connections[proj.name] = (
            np.tile(i, copies) + k * sizes[proj.source],
            np.tile(j, copies) + k * sizes[proj.target],
            np.tile(np.asarray(sim.distances[proj.name], dtype=float), copies),
        )
    replica = build(wide, target=sim.target, connections=connections)
    replica.network.t_ = sim.network.t_  # times held in variables (lastspike, lastupdate) stay valid
    generators = {**sim.imposed, **sim.groups}
    for name, group in generators.items():
        copy = replica.imposed.get(name) or replica.groups[name]
        if isinstance(group, b2.SpikeGeneratorGroup):  # spike sources, imposed spikes: the trains they hold
            copy.set_spikes(*_tiled_spikes(group, copies))
        else:
            _copy_variables(group, copy, copies)
    for name, syn in sim.synapses.items():
        _copy_variables(syn, replica.synapses[name], copies)
        n = len(syn)
        carry_spikes(
            list(syn._pathways), replica.synapses[name], np.arange(n)[:, None] + np.arange(copies) * n
        )
    return replica


def _tiled_spikes(generator: b2.SpikeGeneratorGroup, copies: int) -> tuple[np.ndarray, b2.Quantity]:
    """The spikes ``generator`` holds now, on every copy of its neurons (copy ``k``: indices + ``k·N``)."""
    i = np.asarray(generator.neuron_index[:], dtype=int)
    t = np.asarray(generator.spike_time[:], dtype=float)
    offsets = np.repeat(np.arange(copies) * len(generator), len(i))
    return np.tile(i, copies) + offsets, np.tile(t, copies) * second


def _copy_variables(source: b2.Group, target: b2.Group, copies: int) -> None:
    """Every writable variable of ``source`` into ``target``: arrays once per copy, scalars once."""
    n = len(source)
    for name, var in source.variables.items():
        owner = getattr(var, "owner", None)  # a weak proxy: compare by name
        if name.startswith("_") or name in {"i", "j", "N_incoming", "N_outgoing", "N"} or owner is None:
            continue
        if owner.name != source.name or not isinstance(var, b2.core.variables.ArrayVariable):
            continue
        if var.read_only or var.constant:
            continue
        values = np.asarray(var.get_value())
        if var.scalar:
            target.variables[name].set_value(values)
        elif values.shape[:1] == (n,):
            target.variables[name].set_value(np.tile(values, copies))


__all__ = ["replicate"]
