"""The user-facing simulation: :func:`build` a description, run it, read it, compact, save and load it.

:func:`build` selects the code generation target (:mod:`.device`), makes the Brian2 objects
(:mod:`.construct`) and returns a :class:`Simulation`: the record of those objects (:mod:`.objects`) with
running, readers that return numpy arrays, compaction (:mod:`.compaction`), state files (:mod:`.statefile`)
and the dopamine signal of reward-modulated projections (:mod:`.dopamine`). Code above the backend (the
controller, the learners) reads and writes the network only through these methods and the backend's
functions, never through Brian2 objects.

Reading and writing state (the protocol author's interface): :meth:`Simulation.variable` and
:meth:`Simulation.set_variable` take any variable of a population (``"v"``) or projection (``"w"``) by name,
as numpy arrays in SI units. A rule's variables are namespaced by the rule's prefix (``calcium_rho``,
``stp_x``); pass ``rule=`` (the rule object or its prefix) to use the rule's own name instead::

    rho = sim.variable("EE", "rho", rule=gb)        # the same as sim.variable("EE", "calcium_rho")
    sim.set_variable("EE", "rho", 1.0, rule=gb)

A rule's per-neuron variables (``post_equations``, ``pre_equations``) are read through the projection, one
value per synapse (its neuron's). An unknown name is a :class:`~neurosim.validation.ParameterError` that
lists the variables there are. Spikes at given times: a ``SpikeSource`` population for input neurons, an
:class:`~neurosim.network.ImposedSpikes` input for neurons that also receive synapses;
:meth:`Simulation.set_spike_times` replaces either's spikes between runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import brian2 as b2
import numpy as np
from brian2 import Quantity, second

from ..network import ImposedSpikes, NetworkDescription, duration_steps
from ..neurons import spike_times
from ..plasticity.rule import Rule
from ..validation import check_choice, fail
from .compaction import compact
from .construct import Connections, make_objects
from .device import (
    TARGETS,
    build_standalone,
    default_target,
    names_of_its_own,
    prepare_device,
    project_directory,
    standalone_directory,
)
from .dopamine import DopamineSignal
from .objects import BuiltNetwork, Group, Monitor
from .statefile import StateFile, write


class Recording:
    """A snapshot of a state recording: ``t`` (shape ``(n_t,)``), each recorded variable by name with shape
    ``(n_recorded, n_t)`` and its unit (``rec.v``, ``rec.w``), ``record`` (the recorded neuron or synapse
    indices) and ``record_variables``. Copies: later runs do not change it."""

    def __init__(self, monitor: b2.StateMonitor) -> None:
        self.t: Quantity = monitor.t[:].copy()
        self.record = np.array(monitor.record, copy=True)
        self.record_variables = tuple(monitor.record_variables)
        self._values = {name: getattr(monitor, name)[:].copy() for name in self.record_variables}

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"nothing records '{name}' here; recorded: {sorted(values)}")


@dataclass
class Simulation(BuiltNetwork):
    """A built network: Brian2 objects, positions and connectivity, plus access to what was recorded."""

    # the rewards scheduled for its reward-modulated projections (DopamineSignal.deliver)
    dopamine: DopamineSignal = field(init=False, repr=False)
    # ImposedSpikes input name -> the generator of its spikes
    imposed: dict[str, b2.SpikeGeneratorGroup] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.dopamine = DopamineSignal(self)

    # -- running ---------------------------------------------------------------------------------------
    def run(self, duration: Quantity, *, progress: bool | None = None) -> Simulation:
        """Advance the network by ``duration`` (a progress bar shows for runs of a second or longer)."""
        steps = duration_steps(duration, self.description.dt)
        if self.target == "cpp_standalone" and self._standalone_ran:
            raise RuntimeError(
                "a cpp_standalone simulation runs once; build again, or use target='cython' to continue"
            )
        report = None
        standalone = self.target == "cpp_standalone"  # standalone takes no Python callback
        auto = progress is None and duration >= 1 * second and os.environ.get("CI") is None
        if not standalone and (progress or auto):
            report = _ProgressBar(float(duration / second))
        self.network.run(steps * self.description.dt, report=report, report_period=1 * second)
        if report is not None:
            report.close()
        if standalone:
            build_standalone(self.directory or project_directory())
            self._standalone_ran = True
        return self

    # -- reading results -------------------------------------------------------------------------------
    def spikes(self, population: str) -> tuple[np.ndarray, Quantity]:
        """Indices and times of every recorded spike of ``population``."""
        mon = self._monitor("spikes", population)
        return np.asarray(mon.i[:]), mon.t[:]

    def spike_counts(self, population: str) -> np.ndarray:
        """Recorded spikes of every neuron of ``population`` since the start."""
        return np.asarray(self._monitor("spikes", population).count[:])

    def spike_counts_between(self, population: str, start: Quantity, stop: Quantity) -> np.ndarray:
        """Recorded spikes of every neuron of ``population`` with ``start <= t < stop``."""
        i, t = self.spikes(population)
        t = np.asarray(t / second)
        inside = (t >= float(start / second)) & (t < float(stop / second))
        return np.bincount(i[inside], minlength=self.description.population(population).n)

    def n_spikes(self, population: str) -> int:
        """The number of spikes of ``population`` recorded so far (a mark for :meth:`spikes_since`)."""
        return len(self._monitor("spikes", population).i)

    def spikes_since(self, population: str, first: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices and times (s) of the spikes of ``population`` recorded after the first ``first`` ones
        (``first`` from an earlier :meth:`n_spikes`): the latest spikes without copying the whole record."""
        mon = self._monitor("spikes", population)
        return np.asarray(mon.i[first:]), np.asarray(mon.t_[first:])

    def recorded(self, kind: str, name: str, variable: str | None = None) -> bool:
        """Whether the description records ``kind`` ("spikes", "rate" or "state") of ``name``; for "state"
        with ``variable`` given, whether that variable is among the recorded ones."""
        key = f"{kind}:{name}"
        if key not in self.monitors:
            return False
        return variable is None or variable in self.monitors[key].record_variables

    def rate(self, population: str) -> tuple[Quantity, Quantity]:
        """Times and instantaneous population rate."""
        mon = self._monitor("rate", population)
        return mon.t[:], mon.rate[:]

    def state(self, target: str) -> Recording:
        """What the description's StateRecording of a population or projection recorded until now, as
        arrays (``.t``, ``.v``, ``.w`` …; see :class:`Recording`)."""
        return Recording(self._monitor("state", target))

    def weights(self, projection: str) -> np.ndarray:
        """Current dimensionless weights ``w`` of a projection, one per synapse."""
        return np.asarray(self.synapses[projection].w[:])

    def connections(self, projection: str) -> tuple[np.ndarray, np.ndarray]:
        """Source and target indices of every synapse of ``projection``."""
        syn = self.synapses[projection]
        return np.asarray(syn.i[:]), np.asarray(syn.j[:])

    def n_synapses(self, projection: str) -> int:
        """The number of synapses ``projection`` has now."""
        return len(self.synapses[projection])

    def variable_names(self, target: str) -> list[str]:
        """The variables of a population or projection (its model's and its rules', e.g. ``reward_c``; a
        projection's ``delay``)."""
        names = [v for v in self._object(target).variables if not v.startswith("_")]
        return names + ["delay"] if target in self.synapses else names

    def variable(self, target: str, name: str, *, rule: Rule | str | None = None) -> np.ndarray:
        """Current values of variable ``name`` of a population or projection (SI units, one per neuron or
        synapse; a shared variable gives one value; ``delay`` gives a projection's conduction delays).
        ``rule``: one of the projection's rules (or its prefix); ``name`` is then the rule's own name."""
        return np.asarray(getattr(self._object(target), self._variable_name(target, name, rule))[:])

    def set_variable(
        self,
        target: str,
        name: str,
        value: Any,
        *,
        indices: np.ndarray | Sequence[int] | int | None = None,
        rule: Rule | str | None = None,
    ) -> None:
        """Set variable ``name`` of a population or projection: a quantity, an array (one value per neuron or
        synapse) or a Brian2 expression string. ``indices``: only these neurons or synapses (default: all).
        ``rule``: as for :meth:`variable`."""
        obj, name = self._object(target), self._variable_name(target, name, rule)
        if indices is None:
            setattr(obj, name, value)
        else:
            getattr(obj, name)[indices] = value

    def set_spike_times(self, name: str, indices: np.ndarray | Sequence[int], times: Quantity) -> None:
        """Replace the spikes of a :class:`~neurosim.neurons.SpikeSource` population or of an
        :class:`~neurosim.network.ImposedSpikes` input: neuron ``indices[k]`` fires at ``times[k]``
        (simulation time; spikes before the current time are not emitted)."""
        owner = f"set_spike_times('{name}')"
        generator = self.imposed.get(name) or self.groups.get(name)
        if not isinstance(generator, b2.SpikeGeneratorGroup):
            sources = [
                p.name
                for p in self.description.populations
                if isinstance(self.groups[p.name], b2.SpikeGeneratorGroup)
            ]
            inputs = [i.name for i in self.description.inputs if isinstance(i, ImposedSpikes)]
            fail(
                "set_spike_times", "name", name, f"SpikeSource populations {sources}, ImposedSpikes {inputs}"
            )
        indices, times = spike_times(owner, indices, times)
        if indices and max(indices) >= generator.N:
            fail(owner, "indices", max(indices), f"neurons are 0 to {generator.N - 1}")
        generator.set_spikes(indices, times)

    # -- structure -------------------------------------------------------------------------------------
    def compact(self, projection: str, keep: np.ndarray | Sequence[int]) -> np.ndarray:
        """Prune: keep only the synapses ``keep`` (bool mask or indices) of ``projection``, with their whole
        state; the others cost nothing any more. Returns the survivors' old indices (see .compaction)."""
        return compact(self, projection, keep)

    # -- saving and loading (see .statefile) -----------------------------------------------------------
    def save(
        self, path: str | Path, *, compress: bool = False, extras: Mapping[str, Any] | None = None
    ) -> Path:
        """Write the whole state (description, connectivity, every variable, time, RNG, scheduled rewards)
        to one file, with ``extras`` (any plain mapping, e.g. ``{"controller": ctrl.state()}``) beside it."""
        return save(self, path, compress=compress, extras=extras)

    @classmethod
    def load(cls, path: str | Path, target: str | None = None) -> Simulation:
        """Rebuild a saved network and restore its state: running it on continues as if never stopped."""
        return load(path, target=target)

    def _monitor(self, kind: str, name: str) -> Monitor:
        key = f"{kind}:{name}"
        if key not in self.monitors:
            have = sorted(self.monitors)
            raise KeyError(
                f"nothing records {kind} of '{name}'; add a recording to the description (have {have})"
            )
        return self.monitors[key]

    def _variable_name(self, target: str, name: str, rule: Rule | str | None) -> str:
        """The Brian2 name of a variable: ``name`` itself, or with ``rule`` its namespaced name (a per-neuron
        variable of the rule through the projection's ``_pre``/``_post`` view); unknown names fail."""
        known = have = self.variable_names(target)
        owner = f"Simulation '{target}'"
        if rule is None:
            candidates = [name]
        else:
            if target not in self.synapses:
                fail(owner, "rule", rule, "rules belong to projections; give a projection's name")
            rules = self.description.projection(target).rules
            prefixes = [r.prefix for r in rules]
            prefix = rule if isinstance(rule, str) else rule.prefix if rule in rules else None
            if prefix not in prefixes:
                fail(owner, "rule", rule, f"the projection's rules have prefixes {prefixes}")
            candidates = [f"{prefix}_{name}{side}" for side in ("", "_post", "_pre")]
            known = [v for v in known if v.startswith(f"{prefix}_")]
        found = next((c for c in candidates if c in have), None)
        if found is None or not isinstance(name, str):
            fail(owner, "name", name, f"known variables: {sorted(known)}")
        return found

    def _object(self, target: str) -> Group | b2.Synapses:
        if target in self.groups:
            return self.groups[target]
        if target in self.synapses:
            return self.synapses[target]
        known = sorted([*self.groups, *self.synapses])
        fail("Simulation", "target", target, f"known populations and projections: {known}")


class _ProgressBar:
    """Brian2 ``report`` callback drawing a tqdm bar in simulated seconds."""

    def __init__(self, total_s: float) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=round(total_s, 3), unit="s (sim)", desc="simulating", leave=False)

    def __call__(self, elapsed: Any, completed: float, start: Any, duration: Quantity) -> None:
        self.bar.n = round(completed * float(duration / second), 3)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def build(
    description: NetworkDescription,
    *,
    target: str | None = None,
    directory: str | Path | None = None,
    connections: Mapping[str, Connections] | None = None,
    threads: int | None = None,
) -> Simulation:
    """Make the Brian2 network for ``description``.

    ``target``: code generation target, see :mod:`.device`. ``directory``: build folder for
    ``cpp_standalone`` (reused between runs so that only changed files recompile; default: one folder per
    network structure under ``$NEUROSIM_CACHE`` or ``~/.cache/neurosim/cpp_standalone``). ``threads``:
    OpenMP threads for ``cpp_standalone`` (default ``$NEUROSIM_THREADS``, else 1: no OpenMP; other
    targets are single-threaded). ``connections``: ``{projection: (i, j, distances_um)}`` used instead of
    sampling (loading a saved state, see :func:`load`).
    """
    target = target or default_target()
    check_choice("build", "target", target, TARGETS)
    prepare_device(target, directory, threads)
    with names_of_its_own():  # the same names, so the same compiled code, whatever else lives
        o = make_objects(description, connections)
    sim = Simulation(
        description,
        target,
        o.network,
        o.groups,
        o.synapses,
        o.positions,
        o.distances,
        o.composed,
        o.monitors,
    )
    sim.imposed = o.imposed
    if target == "cpp_standalone":
        sim.directory = Path(directory) if directory else standalone_directory(description)
    return sim


def save(
    sim: Simulation, path: str | Path, *, compress: bool = False, extras: Mapping[str, Any] | None = None
) -> Path:
    """Write the whole state of ``sim`` to ``path`` (:meth:`Simulation.save`; see :mod:`.statefile`)."""
    dopamine = sim.dopamine.state() if sim.dopamine.rules else None
    return write(sim, path, compress=compress, extras=extras, dopamine=dopamine)


def load(path: str | Path, *, target: str | None = None) -> Simulation:
    """Rebuild the network stored in ``path`` and restore its whole state (see :mod:`.statefile`).

    ``target``: code generation target (default: :func:`~neurosim.backend.device.default_target`);
    continuation is exact on the target that saved the file.
    """
    target = target or default_target()
    if target == "cpp_standalone":
        raise RuntimeError("a state file cannot be loaded into a cpp_standalone build; use target='cython'")
    saved = StateFile.read(path)
    description = saved.description()
    sim = build(description, target=target, connections=saved.connections(description))
    saved.restore(sim)
    dopamine = saved.dopamine()
    if dopamine is not None:
        sim.dopamine.restore(dopamine)
    saved.restore_layout(sim)
    return sim


__all__ = ["Recording", "Simulation", "build", "load", "save"]
