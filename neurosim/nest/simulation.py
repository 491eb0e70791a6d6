"""A network description built and run on NEST, read through the same methods as the Brian2 simulation.

:func:`build_nest` checks the whole description first (every neuron model, rule, input and recording must
have a NEST form, see :mod:`.models` and :mod:`.synapses`; otherwise a ParameterError names the part and the
engine that runs it), then imports NEST and makes the network in its kernel. Placement, connectivity and
delays are neurosim's own: the positions and synapses are drawn exactly as :func:`neurosim.build` draws
them from the seed (:func:`neurosim.backend.construct.connect`) and handed to NEST as explicit arrays
(``one_to_one`` on the expanded source and target lists), so both engines simulate the same network.

Sources: a ``PoissonSource`` population is a set of ``parrot_neuron`` fed by one ``poisson_generator`` (an
independent train per parrot), a ``SpikeSource`` one ``spike_generator`` per neuron relayed by a parrot
(so its spikes leave at their own times and plastic synapses may start there). ``PoissonBackground`` is a
``poisson_generator`` at ``n_sources·rate`` per target neuron (Poisson counts, the law of neurosim's
Binomial(n_sources, rate·dt) per step to within rate·dt). Spike times are reported as neurosim stamps them,
at the start of the step in which the neuron fired (NEST stamps the end of the step).

Differences that remain: NEST's smallest delay is one step (shorter delays become one step); random
initial values (``"rand()"`` expressions) and Poisson input are drawn from other random streams than
Brian2's, so runs agree in distribution, not spike for spike; NEST's STDP synapses time pairs with a
dendritic delay (see :mod:`.synapses`) and apply a post spike's potentiation only at the synapse's next pre
spike, so STDP weights read mid-run lag Brian2's by the potentiation still pending (about
``A_plus·tau_plus·rate_post`` per synapse); Brian2 pairs a pre and a post spike of the same step as
potentiation, NEST does not. One NEST kernel per process: building another network ends the
previous one (its methods then raise).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from brian2 import Hz, Quantity, second

from ..backend.construct import Connections, stream
from ..network import (
    ImposedSpikes,
    NetworkDescription,
    RateRecording,
    SpikeRecording,
    StateRecording,
    duration_steps,
)
from ..neurons import spike_times
from ..validation import ParameterError, check_number, fail
from .construct import evaluate, generator_times, make_network, weight_size
from .dopamine import NestDopamine
from .models import NestNeuron, nest_neuron
from .synapses import NestSynapse, nest_synapse

_KERNEL = {"generation": 0}  # which build owns the NEST kernel of this process


def import_nest() -> Any:
    """NEST, quiet; without it an ImportError that says how to install it."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    try:
        import nest
    except ImportError as err:
        raise ImportError(
            "engine 'nest' needs the NEST simulator: pip install nest-simulator (or neurosim[nest]); "
            "for clusters build NEST with MPI (see docs/scaling.md)"
        ) from err
    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:  # pragma: no cover - NEST < 3.10
        nest.set_verbosity("M_ERROR")
    return nest


def check_description(d: NetworkDescription) -> tuple[dict[str, NestNeuron], dict[str, NestSynapse]]:
    """Every population's and projection's NEST form, or a ParameterError for the first part NEST lacks
    (no NEST needed: a description fails before anything is built)."""
    neurons = {p.name: nest_neuron(p.model, f"Population '{p.name}'") for p in d.populations}
    for inp in d.inputs:
        if isinstance(inp, ImposedSpikes):
            raise ParameterError(
                f"ImposedSpikes '{inp.name}': engine 'nest' cannot make a neuron fire at given times; "
                "engine 'brian2' runs it (on NEST use a SpikeSource population)"
            )
    for rec in d.recordings:
        if isinstance(rec, StateRecording):
            raise ParameterError(
                f"StateRecording '{rec.target}': engine 'nest' records spikes and rates only (read state "
                "with Simulation.variable and weights with Simulation.weights between runs); engine "
                "'brian2' records state"
            )
    for pop in d.populations:
        for var in pop.initial:
            if var not in neurons[pop.name].variables:
                fail(
                    f"Population '{pop.name}'",
                    "initial",
                    var,
                    f"engine 'nest' sets {sorted(neurons[pop.name].variables)}",
                )
    synapses = {p.name: nest_synapse(p, weight_scale(d, p.name, neurons)) for p in d.projections}
    post: dict[str, dict[str, tuple[str, float]]] = {}
    for proj in d.projections:
        for name, value in synapses[proj.name].post.items():
            seen = post.setdefault(proj.target, {}).setdefault(name, (proj.name, value))
            if abs(seen[1] - value) > 1e-12:
                fail(
                    f"Projection '{proj.name}'",
                    name,
                    value,
                    f"NEST keeps it on the neurons of '{proj.target}'; projection '{seen[0]}' sets {seen[1]}",
                )
    return neurons, synapses


def weight_scale(d: NetworkDescription, projection: str, neurons: Mapping[str, NestNeuron]) -> float:
    """NEST weight of one synapse of ``projection`` at ``w = 1`` (signed)."""
    proj = d.projection(projection)
    return weight_size(proj.weight) * neurons[proj.target].weight(d.population(proj.source).sign)


class NestSimulation:
    """A description running on NEST: run it and read spikes, weights and variables as numpy arrays, with
    the method names and conventions of :class:`neurosim.Simulation` (methods NEST cannot offer raise)."""

    engine = "nest"

    def __init__(self, description: NetworkDescription, nest: Any, threads: int) -> None:
        self.description, self.nest, self.threads = description, nest, threads
        _KERNEL["generation"] += 1
        self._generation = _KERNEL["generation"]
        self.nodes: dict[str, Any] = {}
        self.neurons: dict[str, NestNeuron] = {}
        self.positions: dict[str, np.ndarray] = {}
        self.distances: dict[str, np.ndarray] = {}
        self.pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.scales: dict[str, float] = {}
        self.recorders: dict[str, Any] = {}
        self.generators: dict[str, Any] = {}  # SpikeSource population -> its spike generators
        self.dopamine = NestDopamine(self, {}, {})

    # -- running ---------------------------------------------------------------------------------------
    @property
    def t(self) -> Quantity:
        """Current simulated time."""
        self._live()
        return float(self.nest.GetKernelStatus("biological_time")) * 1e-3 * second

    def run(self, duration: Quantity, *, progress: bool | None = None) -> NestSimulation:
        """Advance the network by ``duration`` (``progress`` is accepted for symmetry and ignored)."""
        self._live()
        steps = duration_steps(duration, self.description.dt)
        self.nest.Simulate(steps * self._dt_ms)
        return self

    # -- spikes ----------------------------------------------------------------------------------------
    def spikes(self, population: str) -> tuple[np.ndarray, Quantity]:
        """Indices and times of every recorded spike of ``population``, in time order."""
        i, t = self._events(population)
        return i, t * second

    def spikes_since(self, population: str, first: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices and times (s) of the spikes recorded after the first ``first`` ones (see
        :meth:`n_spikes`)."""
        i, t = self._events(population)
        return i[first:], t[first:]

    def n_spikes(self, population: str) -> int:
        """The number of spikes of ``population`` recorded so far."""
        return int(self._recorder(population).get("n_events"))

    def spike_counts(self, population: str) -> np.ndarray:
        """Recorded spikes of every neuron of ``population`` since the start."""
        return np.bincount(self._events(population)[0], minlength=self.description.population(population).n)

    def spike_counts_between(self, population: str, start: Quantity, stop: Quantity) -> np.ndarray:
        """Recorded spikes of every neuron of ``population`` with ``start <= t < stop``."""
        i, t = self._events(population)
        inside = (t >= float(start / second)) & (t < float(stop / second))
        return np.bincount(i[inside], minlength=self.description.population(population).n)

    def rate(self, population: str) -> tuple[Quantity, Quantity]:
        """Times and population rate per time step (spikes per neuron and step, over the step's length)."""
        _, t = self._events(population)
        dt = float(self.description.dt / second)
        steps = int(round(float(self.t / second) / dt))
        counts = np.bincount(np.rint(t / dt).astype(int), minlength=steps)[:steps]
        n = self.description.population(population).n
        return np.arange(steps) * dt * second, counts / (n * dt) * Hz

    def recorded(self, kind: str, name: str, variable: str | None = None) -> bool:
        """Whether the description records ``kind`` ("spikes" or "rate") of ``name`` (never "state")."""
        wanted = {"spikes": SpikeRecording, "rate": RateRecording}.get(kind)
        return any(
            isinstance(r, wanted) and r.population == name for r in self.description.recordings if wanted
        )

    # -- synapses --------------------------------------------------------------------------------------
    def connections(self, projection: str) -> tuple[np.ndarray, np.ndarray]:
        """Source and target indices of every synapse of ``projection`` (neurosim's sampler order)."""
        self._projection(projection)
        return self.pairs[projection]

    def n_synapses(self, projection: str) -> int:
        """The number of synapses of ``projection``."""
        return len(self.connections(projection)[0])

    def weights(self, projection: str) -> np.ndarray:
        """Current dimensionless weights ``w`` of a projection, one per synapse (sampler order). NEST
        brings a plastic weight up to date at its synapse's presynaptic spikes (and dopamine spikes)."""
        return self._synapse_values(projection, "weight") / self.scales[projection]

    def variable_names(self, target: str) -> list[str]:
        """The variables of a population or projection that engine 'nest' reads and writes."""
        if target in self.neurons:
            return sorted(self.neurons[target].variables)
        self._projection(target)
        return ["delay", "w"]

    def variable(self, target: str, name: str, *, rule: Any = None) -> np.ndarray:
        """Current values (SI) of ``name``: a population's ``v``, ``I_ext`` … or a projection's ``w`` and
        ``delay``. Rule variables live inside NEST's synapse models and are not readable here."""
        self._check_variable(target, name, rule)
        if target in self.neurons:
            nest_name, unit = self.neurons[target].variables[name]
            return np.atleast_1d(np.asarray(self.nodes[target].get(nest_name), dtype=float)) * unit
        if name == "w":
            return self.weights(target)
        return self._synapse_values(target, "delay") * 1e-3

    def set_variable(
        self,
        target: str,
        name: str,
        value: Any,
        *,
        indices: np.ndarray | Sequence[int] | int | None = None,
        rule: Any = None,
    ) -> None:
        """Set ``name`` of a population (``v``, ``I_ext`` …) or a projection's ``w``: a quantity, an array
        or an expression; ``indices``: only these neurons or synapses."""
        self._check_variable(target, name, rule)
        if name == "delay":
            fail(f"Simulation '{target}'", "name", name, "delays are fixed on engine 'nest'")
        values = self.variable(target, name)
        pop = self.description.population(target) if target in self.neurons else None
        namespace = pop.model.parameters() if pop is not None else {}
        rng = stream(self.description.seed, "set_variable", target, name, float(self.t / second))
        new = evaluate(value, len(values), namespace, rng)
        where = slice(None) if indices is None else np.asarray(indices)
        values[where] = new[where]
        if target in self.neurons:
            nest_name, unit = self.neurons[target].variables[name]
            self.nodes[target].set({nest_name: (values / unit).tolist()})
        else:
            conns, order = self._ordered(target)
            out = np.empty(len(values))
            out[order] = values * self.scales[target]
            conns.set(weight=out.tolist())

    def set_spike_times(self, name: str, indices: np.ndarray | Sequence[int], times: Quantity) -> None:
        """Replace the spikes of a SpikeSource population (neuron ``indices[k]`` at ``times[k]``; spikes
        before the current time are not emitted)."""
        if name not in self.generators:
            fail("set_spike_times", "name", name, f"SpikeSource populations {sorted(self.generators)}")
        indices, times = spike_times(f"set_spike_times('{name}')", indices, times)
        n = self.description.population(name).n
        if indices and max(indices) >= n:
            fail(f"set_spike_times('{name}')", "indices", max(indices), f"neurons are 0 to {n - 1}")
        now = int(round(float(self.t / self.description.dt)))
        self.generators[name].set(generator_times(indices, times, n, self._dt_ms, now))

    # -- what NEST cannot offer ------------------------------------------------------------------------
    def state(self, target: str) -> Any:
        raise NotImplementedError(_unavailable("state"))

    def compact(self, projection: str, keep: Any) -> np.ndarray:
        raise NotImplementedError(_unavailable("compact"))

    def save(self, path: Any, **options: Any) -> Any:
        raise NotImplementedError(_unavailable("save"))

    @classmethod
    def load(cls, path: Any, target: str | None = None) -> Any:
        raise NotImplementedError(_unavailable("load"))

    # -- internals -------------------------------------------------------------------------------------
    @property
    def _dt_ms(self) -> float:
        return float(self.description.dt / second) * 1e3

    def _live(self) -> None:
        if self._generation != _KERNEL["generation"]:
            raise RuntimeError("this NEST simulation ended when another network was built in this process")

    def _recorder(self, population: str) -> Any:
        self._live()
        if population not in self.recorders:
            fail(
                "Simulation",
                "population",
                population,
                f"recorded populations: {sorted(self.recorders)}; add a SpikeRecording to the description",
            )
        return self.recorders[population]

    def _events(self, population: str) -> tuple[np.ndarray, np.ndarray]:
        """Recorded neuron indices and times (s, neurosim's stamps) in time order."""
        events = self._recorder(population).get("events")
        senders = np.asarray(events["senders"], dtype=np.int64)
        times = np.asarray(events["times"], dtype=float) * 1e-3
        order = np.argsort(times, kind="stable")
        first = int(self.nodes[population].tolist()[0])
        source = self.description.population(population).model.is_source
        stamp = 0.0 if source else float(self.description.dt / second)  # NEST stamps the step's end
        return senders[order] - first, times[order] - stamp

    def _projection(self, projection: str) -> None:
        self._live()
        if projection not in self.pairs:
            fail("Simulation", "projection", projection, f"projections: {sorted(self.pairs)}")

    def _check_variable(self, target: str, name: str, rule: Any) -> None:
        if target not in self.neurons and target not in self.pairs:
            fail("Simulation", "target", target, f"populations and projections: {sorted(self.nodes)}")
        if rule is not None:
            fail(f"Simulation '{target}'", "rule", rule, "rule variables are not readable on engine 'nest'")
        if name not in self.variable_names(target):
            fail(f"Simulation '{target}'", "name", name, f"known variables: {self.variable_names(target)}")

    def _ordered(self, projection: str) -> tuple[Any, np.ndarray]:
        """The projection's NEST connections and, for each, its index in neurosim's sampler order."""
        self._projection(projection)
        proj = self.description.projection(projection)
        conns = self.nest.GetConnections(synapse_model=f"neurosim_{projection}")
        got = conns.get(["source", "target"])
        src = np.atleast_1d(np.asarray(got["source"], dtype=np.int64)) - self.nodes[proj.source].tolist()[0]
        tgt = np.atleast_1d(np.asarray(got["target"], dtype=np.int64)) - self.nodes[proj.target].tolist()[0]
        n_tgt = self.description.population(proj.target).n
        i, j = self.pairs[projection]
        by_sampler = np.argsort(i.astype(np.int64) * n_tgt + j, kind="stable")
        by_nest = np.argsort(src * n_tgt + tgt, kind="stable")
        order = np.empty(len(src), dtype=np.int64)
        order[by_nest] = by_sampler
        return conns, order

    def _synapse_values(self, projection: str, key: str) -> np.ndarray:
        conns, order = self._ordered(projection)
        out = np.empty(len(order))
        if len(order):
            out[order] = np.atleast_1d(np.asarray(conns.get(key), dtype=float))
        return out


def _unavailable(method: str) -> str:
    return f"Simulation.{method} is not available on engine 'nest'; build with engine='brian2' for it"


def build_nest(
    description: NetworkDescription,
    *,
    threads: int | None = None,
    connections: Mapping[str, Connections] | None = None,
) -> NestSimulation:
    """Build ``description`` on NEST with ``threads`` threads (default 1); see the module docstring.
    ``connections``: ``{projection: (i, j, distances_um)}`` used instead of sampling."""
    threads = 1 if threads is None else int(check_number("build", "threads", threads, low=1, integer=True))
    neurons, synapses = check_description(description)
    return make_network(NestSimulation(description, import_nest(), threads), neurons, synapses, connections)


__all__ = ["NestSimulation", "build_nest", "check_description", "import_nest", "weight_scale"]
