"""Making a checked description's NEST network: nodes, neurosim's own synapses, inputs and recorders.

Placement and connectivity come from the same random streams as :func:`neurosim.build`
(:func:`~neurosim.backend.construct.stream`, :func:`~neurosim.backend.construct.connect`), so the NEST
network has the same positions, synapses and delays (on the time grid, at least one step).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from brian2 import Hz, Quantity, Unit, mV, second
from brian2.units import allunits

from ..backend.construct import Connections, connect, stream
from ..network import PoissonBackground, RateRecording, SpikeRecording
from ..neurons import PoissonSource, SpikeSource
from .dopamine import NestDopamine
from .models import NestNeuron
from .synapses import NestSynapse

_UNITS = {k: v for k, v in vars(allunits).items() if isinstance(v, Unit)}


def evaluate(value: Any, n: int, namespace: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    """``n`` SI values of an initial value: a number, a quantity, an array or a Brian2-style expression
    (``"E_L + rand()*(v_threshold - E_L)"``: parameters, units, ``rand()``, ``randn()``, ``i``)."""
    if isinstance(value, str):
        names = {
            **_UNITS,
            **namespace,
            "rand": lambda: rng.random(n),
            "randn": lambda: rng.standard_normal(n),
            "i": np.arange(n),
            "exp": np.exp,
            "sqrt": np.sqrt,
            "clip": np.clip,
            "abs": np.abs,
        }
        value = eval(value, {"__builtins__": {}}, names)  # noqa: S307 - the description's own expression
    return np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()


def generator_times(indices: Sequence[int], times: Quantity, n: int, dt_ms: float, now: int) -> list[dict]:
    """Per-neuron ``spike_generator`` times (ms) that make the relaying parrots fire at ``times``: one step
    early (the generator-to-parrot delay), at the earliest the step after step ``now``; earlier spikes are
    dropped."""
    steps = np.rint(np.asarray(times / second, dtype=float) * 1e3 / dt_ms).astype(np.int64)
    idx = np.asarray(indices, dtype=np.int64)
    keep = steps >= now
    steps, idx = np.maximum(steps[keep] - 1, now + 1), idx[keep]
    return [{"spike_times": (np.unique(steps[idx == k]) * dt_ms).tolist()} for k in range(n)]


def make_network(
    sim: Any,
    neurons: Mapping[str, NestNeuron],
    synapses: Mapping[str, NestSynapse],
    connections: Mapping[str, Connections] | None,
) -> Any:
    """Reset NEST's kernel and make every node and connection of ``sim.description`` in it; fill ``sim``'s
    tables (nodes, positions, pairs, scales, recorders, generators, dopamine) and return it."""
    nest, d = sim.nest, sim.description
    dt = sim._dt_ms
    nest.ResetKernel()
    nest.SetKernelStatus(
        {
            "resolution": dt,
            "local_num_threads": sim.threads,
            "rng_seed": int(d.seed) % (2**31 - 2) + 1,
            "print_time": False,
        }
    )
    sim.neurons = dict(neurons)
    post: dict[str, dict[str, float]] = {}
    for proj in d.projections:
        post.setdefault(proj.target, {}).update(synapses[proj.name].post)
    for pop in d.populations:
        sim.positions[pop.name] = np.asarray(
            pop.placement.positions(pop.n, stream(d.seed, "placement", pop.name))
        )
        sim.nodes[pop.name] = _make_population(sim, pop, neurons[pop.name], post.get(pop.name, {}))

    rewards, dopamine_generators = {}, {}
    for proj in d.projections:
        syn = synapses[proj.name]
        src, tgt = d.population(proj.source), d.population(proj.target)
        i, j, dist = (connections or {}).get(proj.name) or connect(proj, src, tgt, sim.positions, d.seed)
        sim.pairs[proj.name] = (np.asarray(i), np.asarray(j))
        sim.distances[proj.name] = np.asarray(dist)
        sim.scales[proj.name] = scale = neurons[proj.target].weight(src.sign) * weight_size(proj.weight)
        defaults = dict(syn.defaults)
        if syn.reward is not None:
            vt, dopamine_generators[proj.name] = _make_volume_transmitter(nest, dt)
            defaults["volume_transmitter"] = vt
            rewards[proj.name] = syn.reward
        nest.CopyModel(syn.model, f"neurosim_{proj.name}", defaults)
        if not len(i):
            continue
        steps = np.maximum(np.rint(proj.delay.delays_ms(dist) / dt), 1) if len(dist) else np.ones(0)
        rng = stream(d.seed, "w_init", proj.name)
        w = evaluate(proj.w_init, len(i), {}, rng)
        src_ids = np.asarray(sim.nodes[proj.source].tolist(), dtype=np.int64)
        tgt_ids = np.asarray(sim.nodes[proj.target].tolist(), dtype=np.int64)
        nest.Connect(
            src_ids[np.asarray(i, dtype=np.int64)],
            tgt_ids[np.asarray(j, dtype=np.int64)],
            "one_to_one",
            syn_spec={
                "synapse_model": f"neurosim_{proj.name}",
                "weight": w * scale,
                "delay": steps * dt,
            },
        )
    sim.dopamine = NestDopamine(sim, rewards, dopamine_generators)

    for inp in d.inputs:
        if isinstance(inp, PoissonBackground):
            target = d.population(inp.target)
            gen = nest.Create("poisson_generator", params={"rate": float(inp.n_sources * inp.rate / Hz)})
            weight = weight_size(inp.weight) * neurons[target.name].weight(inp.sign)
            nest.Connect(gen, sim.nodes[target.name], "all_to_all", {"weight": weight, "delay": dt})
    for rec in d.recordings:
        if isinstance(rec, (SpikeRecording, RateRecording)) and rec.population not in sim.recorders:
            sim.recorders[rec.population] = recorder = nest.Create("spike_recorder")
            nest.Connect(sim.nodes[rec.population], recorder)
    return sim


def weight_size(weight: Any) -> float:
    """A weight scale J in NEST's units: mV for voltages, a plain ratio for conductances."""
    if isinstance(weight, Quantity) and not weight.is_dimensionless:
        return float(weight / mV)
    return float(weight)


def _make_population(sim: Any, pop: Any, neuron: NestNeuron, post: Mapping[str, float]) -> Any:
    """The nodes of one population (parrots relaying generators for sources), initial values set."""
    nest, d, dt = sim.nest, sim.description, sim._dt_ms
    model = pop.model
    if isinstance(model, PoissonSource):
        parrots = nest.Create("parrot_neuron", pop.n, params=dict(post) or None)
        gen = nest.Create("poisson_generator", params={"rate": float(model.rate / Hz)})
        nest.Connect(gen, parrots, "all_to_all", {"delay": dt})
        return parrots
    if isinstance(model, SpikeSource):
        parrots = nest.Create("parrot_neuron", pop.n, params=dict(post) or None)
        gens = nest.Create("spike_generator", pop.n)
        gens.set(generator_times(model.indices, model.times, pop.n, dt, 0))
        nest.Connect(gens, parrots, "one_to_one", {"delay": dt})
        sim.generators[pop.name] = gens
        return parrots
    nodes = nest.Create(neuron.model, pop.n, params={**neuron.params, **post})
    initial = {**model.initial_values(), **dict(pop.initial)}
    rng = stream(d.seed, "initial", pop.name)
    namespace = model.parameters()
    for var, value in initial.items():
        nest_name, unit = neuron.variables[var]
        nodes.set({nest_name: (evaluate(value, pop.n, namespace, rng) / unit).tolist()})
    return nodes


def _make_volume_transmitter(nest: Any, dt: float) -> tuple[Any, Any]:
    """A volume transmitter fed by a spike generator through a parrot (no device reaches it directly)."""
    vt = nest.Create("volume_transmitter")
    gen = nest.Create("spike_generator")
    parrot = nest.Create("parrot_neuron")
    nest.Connect(gen, parrot, syn_spec={"delay": dt})
    nest.Connect(parrot, vt, syn_spec={"delay": dt})
    return vt, gen


__all__ = ["evaluate", "generator_times", "make_network", "weight_size"]
