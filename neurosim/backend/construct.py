"""Making the Brian2 objects of a network description: groups, synapses, inputs, monitors.

:func:`make_objects` turns a :class:`~neurosim.network.NetworkDescription` into Brian2 objects: neuron groups
with their 3D positions, synapses drawn from the distance kernels (sampled in numpy with a KD-tree and passed
to Brian2 as index arrays), the rules composed into one synapse model per projection, inputs and monitors.
Brian2 generates the code for every time step; Python only runs between ``run`` calls.

Imposed spikes (:class:`~neurosim.network.ImposedSpikes`): a ``SpikeGeneratorGroup`` and a zero-delay
pathway that run before the thresholds of the step; the pathway raises a flag of the target neuron that its
threshold condition includes (and ends its refractoriness), so the neuron spikes in that very step, resets,
and its rules' postsynaptic and presynaptic code runs as for any spike.

Layout for speed and memory: a sampled projection's synapses are ordered by source, then by distance (so by
delay), which makes the synapses that one spike reaches in the same step neighbours in memory; a pathway
with one delay for all synapses (the postsynaptic one) stores it once; in cpp_standalone the arrays that
only serve construction are freed once used (see :func:`_release_construction_arrays`).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import brian2 as b2
import numpy as np
from brian2 import Quantity, ms, um
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

from ..connectivity import sample_connections
from ..network import (
    AllToAll,
    ExplicitConnections,
    ImposedSpikes,
    NetworkDescription,
    OneToOne,
    PoissonBackground,
    Population,
    Projection,
    RateRecording,
    SpikeRecording,
    StateRecording,
)
from ..neurons import PoissonSource, SpikeSource
from ..plasticity.composer import ComposedSynapse, compose
from ..plasticity.neuron_code import PostCode, compose_post, compose_pre
from ..plasticity.rule import TimeTable
from ..validation import ParameterError, fail
from .background import background_operation, set_seed
from .objects import Group, Monitor
from .poisson_stream import SEED_VARIABLE

#: Given connectivity of a projection: presynaptic and postsynaptic indices and distances (µm).
Connections = tuple[np.ndarray, np.ndarray, np.ndarray]


def stream(seed: int, *keys: str | int) -> np.random.Generator:
    """An independent random stream for one named random choice (stable when other parts change)."""
    words = [int(seed)] + [zlib.crc32(str(k).encode()) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


@dataclass
class Objects:
    """The Brian2 objects of one network and the arrays that describe them (see :func:`make_objects`)."""

    network: b2.Network
    groups: dict[str, Group]
    synapses: dict[str, b2.Synapses]
    positions: dict[str, np.ndarray]  # µm, shape (n, 3)
    distances: dict[str, np.ndarray]  # µm, one per synapse
    composed: dict[str, ComposedSynapse]
    monitors: dict[str, Monitor]
    imposed: dict[str, b2.SpikeGeneratorGroup]  # ImposedSpikes input name -> the generator of its spikes


def make_objects(d: NetworkDescription, connections: Mapping[str, Connections] | None = None) -> Objects:
    """Make every Brian2 object of ``d`` on the device selected before (see :mod:`.device`).

    ``connections``: ``{projection: (i, j, distances_um)}`` used instead of sampling (loading a saved state).
    """
    b2.defaultclock.dt = d.dt
    b2.seed(d.seed)

    groups: dict[str, Group] = {}
    positions: dict[str, np.ndarray] = {}
    for pop in d.populations:
        positions[pop.name] = np.asarray(
            pop.placement.positions(pop.n, stream(d.seed, "placement", pop.name))
        )
        incoming = [(p.name, p.rules) for p in d.projections if p.target == pop.name]
        post = compose_post(incoming, context=f"Population '{pop.name}'")  # rules' per-neuron variables
        outgoing = [(p.name, p.rules) for p in d.projections if p.source == pop.name]
        pre = compose_pre(outgoing, context=f"Population '{pop.name}'")  # e.g. FastPairSTDP's traces
        if pre != PostCode():
            post = PostCode(
                "\n".join(e for e in (post.equations, pre.equations) if e),
                {**post.namespace, **pre.namespace},
                {**post.initial, **pre.initial},
                post.regularly,
                "\n".join(c for c in (post.on_spike, pre.on_spike) if c),
            )
        groups[pop.name] = _make_group(pop, positions[pop.name], d, post)

    synapses: dict[str, b2.Synapses] = {}
    distances: dict[str, np.ndarray] = {}
    composed: dict[str, ComposedSynapse] = {}
    for proj in d.projections:
        syn, dist, comp = _make_synapses(proj, d, groups, positions, (connections or {}).get(proj.name))
        synapses[proj.name], distances[proj.name], composed[proj.name] = syn, dist, comp

    imposed: dict[str, b2.SpikeGeneratorGroup] = {}
    imposing: list[b2.Synapses] = []
    for inp in d.inputs:
        if isinstance(inp, ImposedSpikes):
            imposed[inp.name], pathway = _make_imposed(inp, d.population(inp.target), groups[inp.target])
            imposing.append(pathway)
        else:  # a run_regularly operation of its group: the network gets it with the group
            _make_background(inp, d.population(inp.target), groups[inp.target], d.seed)

    monitors: dict[str, Monitor] = {}
    for rec in d.recordings:
        key, mon = _make_monitor(rec, groups, synapses)
        monitors[key] = mon

    net = b2.Network(*groups.values(), *synapses.values(), *imposed.values(), *imposing, *monitors.values())
    return Objects(net, groups, synapses, positions, distances, composed, monitors, imposed)


#: Refractoriness as a comparison of times, not Brian2's ``timestep(t - lastspike) >= timestep(t_ref)``:
#: same steps (see :func:`_refractory_window`), but without a float-to-int64 conversion per neuron and step,
#: which AVX2 cannot vectorise; the state update loop then vectorises (several times faster per neuron).
_REFRACTORY = "t - lastspike < neurosim_refractory_window"


def _refractory_window(refractory: Quantity, dt: Quantity) -> Quantity:
    """A neuron that spiked at step m is refractory at steps n with n - m < R, R = ``refractory`` in whole
    steps (Brian2's rounding); the window ends half a step before R·dt so that rounding of t cannot move
    it. R = 0: never refractory."""
    return (_refractory_steps(refractory, dt) - 0.5) * dt


def _refractory_steps(refractory: Quantity, dt: Quantity) -> int:
    """The refractory period in whole time steps, as Brian2 rounds it."""
    return int((float(refractory) + 1e-3 * float(dt)) / float(dt))


def _make_group(
    pop: Population, pos: np.ndarray, d: NetworkDescription, post: PostCode | None = None
) -> Group:
    model = pop.model
    name = f"{pop.name}*"
    if isinstance(model, PoissonSource):
        return b2.PoissonGroup(pop.n, rates=model.rate, name=name)
    if isinstance(model, SpikeSource):  # indices and times checked by the description
        return b2.SpikeGeneratorGroup(pop.n, np.asarray(model.indices, dtype=int), model.times, name=name)
    post = post or PostCode()
    eqs = model.equations() + "\nx : metre (constant)\ny : metre (constant)\nz : metre (constant)"
    eqs += "\n" + post.equations if post.equations else ""
    inputs = [inp for inp in d.inputs if inp.target == pop.name]
    if any(isinstance(inp, PoissonBackground) for inp in inputs):  # the seed: data, not compiled code
        eqs += f"\n{SEED_VARIABLE} : integer (shared, constant)"
    threshold, reset = model.threshold, model.reset + ("\n" + post.on_spike if post.on_spike else "")
    if any(isinstance(inp, ImposedSpikes) for inp in inputs):
        eqs += f"\n{_IMPOSED} : boolean"
        threshold, reset = f"({threshold}) or {_IMPOSED}", f"{reset}\n{_IMPOSED} = False"
    group = b2.NeuronGroup(
        pop.n,
        eqs,
        threshold=threshold,
        reset=reset,
        refractory=_REFRACTORY,
        method=("exact", "exponential_euler", "euler"),
        namespace={
            **model.parameters(),
            **post.namespace,
            "neurosim_refractory_window": _refractory_window(model.refractory_period(), d.dt),
        },
        name=name,
    )
    group.x, group.y, group.z = (pos[:, k] * um for k in range(3))
    for code, every in post.regularly:  # rules' slow per-neuron updates, before their synapses' (order -1)
        group.run_regularly(code, dt=every, when="start", order=-2)
    initial = {**model.initial_values(), **post.initial, **dict(pop.initial)}
    for var, value in initial.items():
        if var not in group.variables:
            raise ParameterError(
                f"Population '{pop.name}': initial value for unknown variable '{var}'; "
                f"the model has {sorted(v for v in group.variables if not v.startswith('_'))}"
            )
        setattr(group, var, value)
    return group


def _make_synapses(
    proj: Projection,
    d: NetworkDescription,
    groups: Mapping[str, Group],
    positions: Mapping[str, np.ndarray],
    given: Connections | None = None,
) -> tuple[b2.Synapses, np.ndarray, ComposedSynapse]:
    src, tgt = d.population(proj.source), d.population(proj.target)
    owner = f"Projection '{proj.name}'"
    channel = tgt.model.channel(src.sign)  # the weight's unit is checked by the description
    sign = "-" if channel.sign < 0 else "+"
    transmission = f"{channel.variable}_post {sign}= J*w*EFFICACY"
    pre_group, post_group = groups[proj.source], groups[proj.target]
    comp = compose(
        proj.rules,
        transmission=transmission,
        pre_variables=[v for v in pre_group.variables if not v.startswith("_")],
        post_variables=[v for v in post_group.variables if not v.startswith("_")],
        context=owner,
    )
    namespace = {k: _runtime_value(v) for k, v in comp.namespace.items()}
    namespace.update(J=proj.weight, w_min=proj.w_min, w_max=proj.w_max)
    standalone = isinstance(b2.get_device(), CPPStandaloneDevice)
    static_before = set(b2.get_device().static_arrays) if standalone else set()
    fixed = {"emission": 0 * ms} if comp.on_emit else {}
    if comp.on_post:
        fixed["post"] = 0 * ms  # one scalar: no per-synapse delay array (8 B/synapse) for the post pathway
    syn = b2.Synapses(
        pre_group,
        post_group,
        model=comp.model,
        on_pre={
            "pre": comp.on_pre,
            **{k: code for k, (code, _) in comp.pathways.items()},
            **({"emission": comp.on_emit} if comp.on_emit else {}),  # weight rules timed at emission
        },
        on_post=comp.on_post or None,
        namespace=namespace,
        delay=fixed or None,
        name=f"{proj.name}*",
    )
    i, j, dist = given if given is not None else connect(proj, src, tgt, positions, d.seed)
    if not len(i) == len(j) == len(dist):
        fail(
            owner,
            "connections",
            f"{len(i)} i, {len(j)} j, {len(dist)} distances",
            "needs one i, one j and one distance per synapse",
        )
    if len(i):
        syn.connect(i=i.astype(np.int32), j=j.astype(np.int32))
    else:  # Brian2 cannot connect empty index arrays; the projection exists with no synapse
        syn.connect(False)
    delays = proj.delay.delays_ms(dist) * ms if len(dist) else proj.delay.base
    delays = _fit_pre_history(proj, src, delays, d.dt)
    syn.delay = delays
    for name, (_, extra_delay) in comp.pathways.items():  # a rule's extra pathways lag the conduction delay
        getattr(syn, name).delay = delays + extra_delay
    if comp.weight_is_state:
        syn.w = proj.w_init
    for var, value in comp.initial.items():
        setattr(syn, var, value)
    for code, every in comp.regularly:  # rules' slow per-synapse updates (see plasticity.composer)
        syn.run_regularly(code, dt=every, when="start", order=-1)
    if standalone and len(i):
        _release_construction_arrays(syn, set(b2.get_device().static_arrays) - static_before, len(i))
    return syn, dist, comp


def _fit_pre_history(proj: Projection, src: Population, delays: Quantity, dt: Quantity) -> Quantity:
    """For rules that keep the presynaptic neurons' last spikes (``RuleCode.pre_history``, e.g.
    FastTsodyksMarkram's ring): check that every spike still travelling, plus the last one received, fits --
    ``1 + ceil(D/m)`` spikes for the longest delay ``D`` and the source's refractory period ``m`` (both in
    steps, m ≥ 1) -- and that no delay is under one step; return the delays on the time grid (Brian2 rounds
    them so when it delivers spikes; on the grid a spike's emission time ``t - delay`` is matched exactly).
    Other projections keep their delays as given."""
    held = [(rule, rule.code().pre_history) for rule in proj.rules]
    held = [(rule, n) for rule, n in held if n]
    if not held:
        return delays
    step = float(dt / ms)
    steps = np.floor(np.atleast_1d(np.asarray(delays / ms, dtype=float)) / step + 0.5)
    owner = f"Projection '{proj.name}'"
    if steps.min() < 1:
        rule = held[0][0]
        raise ParameterError(
            f"{owner}: parameter 'delay' = {steps.min() * step:g} ms is not allowed with rule "
            f"'{rule.prefix}' ({type(rule).__name__}), which keeps presynaptic spikes per neuron: every "
            f"delay must be at least one time step ({step:g} ms); use TsodyksMarkram for shorter delays"
        )
    gap = max(1, _refractory_steps(src.model.refractory_period(), dt))
    need = 1 + int(np.ceil(steps.max() / gap))
    for rule, n in held:
        if n < need:
            raise ParameterError(
                f"{owner}: rule '{rule.prefix}' ({type(rule).__name__}) parameter 'ring' = {n} is too small: "
                f"delays up to {steps.max() * step:g} ms with spikes of '{src.name}' at least "
                f"{gap * step:g} ms apart (its refractory period) need ring >= {need}"
            )
    return steps * step * ms if np.ndim(delays) else steps[0] * step * ms


def _release_construction_arrays(syn: b2.Synapses, static: set[str], n: int) -> None:
    """cpp_standalone: free the arrays that only built ``syn`` once they have been used.

    Brian2 keeps every array it was given for the whole run: the file copies of the indices and delays
    (``_static_array_…``) and the index arrays of ``connect`` (``_array_<name>_sources/targets``): 24 bytes
    per synapse that nothing reads after construction. They are freed right after this projection is built;
    the index arrays get fresh, untouched memory back before the end, where Brian2 writes every array to disk
    (their content is not read back). Saves 24 B/synapse of resident memory during the run."""
    index_arrays = [f"_array_{syn.name}_sources", f"_array_{syn.name}_targets"]
    free = "".join(f"delete [] brian::{a}; brian::{a} = 0;\n" for a in [*sorted(static), *index_arrays])
    b2.get_device().insert_code("main", free)
    b2.get_device().insert_code(
        "before_end", "".join(f"brian::{a} = new int32_t[{n}];\n" for a in index_arrays)
    )


def pattern_pairs(
    conn: AllToAll | OneToOne | ExplicitConnections, proj: Projection, n_source: int, n_target: int
) -> tuple[np.ndarray, np.ndarray]:
    """Presynaptic and postsynaptic indices of a connectivity that is a fixed pattern, not a kernel: every
    pair (without i == j for a projection onto its own population without autapses), i → i, or given."""
    if isinstance(conn, AllToAll):
        i, j = (a.ravel() for a in np.meshgrid(np.arange(n_source), np.arange(n_target), indexing="ij"))
        if proj.source == proj.target and not proj.autapses:
            keep = i != j
            i, j = i[keep], j[keep]
        return i, j
    if isinstance(conn, OneToOne):
        return np.arange(n_source), np.arange(n_source)
    return np.asarray(conn.i, dtype=int), np.asarray(conn.j, dtype=int)


def connect(
    proj: Projection, src: Population, tgt: Population, positions: Mapping[str, np.ndarray], seed: int
) -> Connections:
    """The synapses ``(i, j, distance_um)`` of ``proj`` exactly as :func:`build` draws them from ``seed``
    (other engines given the same wiring simulate the same network)."""
    conn = proj.connectivity
    ps, pt = positions[src.name], positions[tgt.name]
    same = proj.source == proj.target
    if isinstance(conn, (AllToAll, OneToOne, ExplicitConnections)):
        i, j = pattern_pairs(conn, proj, src.n, tgt.n)
        return i, j, np.linalg.norm(ps[i] - pt[j], axis=1) if len(i) else np.zeros(0)
    box = tgt.placement.bounds() if proj.periodic else None
    # Synapse order: by source, then by distance (so by delay). A spike's synapses that arrive in the same
    # step are then neighbours in memory, and their state is read a cache line at a time, not a line per
    # synapse.
    # A kernel given by in_degree is solved in the same pass as the draws (see sample_connections). The
    # solve leaves out i == j for a projection onto its own population without autapses.
    return sample_connections(
        ps,
        pt,
        conn,
        stream(seed, "connect", proj.name),
        periodic_box=box,
        autapses=proj.autapses,
        same_population=same,
        order="distance",
    )


#: The flag of a neuron whose spike is imposed in this time step (see the module docstring).
_IMPOSED = "neurosim_imposed"


def _make_imposed(
    inp: ImposedSpikes, pop: Population, group: b2.NeuronGroup
) -> tuple[b2.SpikeGeneratorGroup, b2.Synapses]:
    """The generator of ``inp``'s spikes (one per target neuron) and its zero-delay pathway, both run before
    the thresholds, generator first: the target neuron fires in the step of each imposed time."""
    generator = b2.SpikeGeneratorGroup(
        pop.n,
        np.asarray(inp.indices, dtype=int),
        inp.times,
        when="before_thresholds",
        order=0,
        name=f"{inp.name}_generator*",
    )
    pathway = b2.Synapses(
        generator, group, on_pre=f"{_IMPOSED}_post = True\nnot_refractory_post = True", name=f"{inp.name}*"
    )
    neurons = np.unique(np.asarray(inp.indices, dtype=np.int32))
    if len(neurons):
        pathway.connect(i=neurons, j=neurons)
    else:
        pathway.connect(False)
    pathway.pre.when, pathway.pre.order = "before_thresholds", 1
    return generator, pathway


def _make_background(
    inp: PoissonBackground, pop: Population, group: b2.NeuronGroup, seed: int
) -> b2.CodeRunner:
    channel = pop.model.channel(inp.sign)  # the weight's unit is checked by the description
    p = float(inp.rate * group.clock.dt)
    if p > 1:
        raise ParameterError(
            f"PoissonBackground '{inp.name}': parameter 'rate' = {inp.rate!r} is too high for dt; "
            "rate·dt must be at most 1 (one spike per fibre and step)"
        )
    set_seed(group, seed)
    return background_operation(
        group, channel.variable, channel.sign * inp.weight, int(inp.n_sources), p, inp.name
    )


def _make_monitor(
    rec: SpikeRecording | RateRecording | StateRecording,
    groups: Mapping[str, Group],
    synapses: Mapping[str, b2.Synapses],
) -> tuple[str, Monitor]:
    if isinstance(rec, SpikeRecording):
        return f"spikes:{rec.population}", b2.SpikeMonitor(groups[rec.population])
    if isinstance(rec, RateRecording):
        return f"rate:{rec.population}", b2.PopulationRateMonitor(groups[rec.population])
    if isinstance(rec, StateRecording):
        source = groups.get(rec.target) or synapses[rec.target]
        for var in rec.variables:
            if var not in source.variables:
                known = sorted(v for v in source.variables if not v.startswith("_"))
                raise ParameterError(
                    f"StateRecording '{rec.target}': unknown variable '{var}'; known: {known}"
                )
        record = True if rec.indices is None else list(rec.indices)
        kwargs = {"dt": rec.dt} if rec.dt is not None else {}
        return f"state:{rec.target}", b2.StateMonitor(source, list(rec.variables), record=record, **kwargs)
    raise ParameterError(f"unknown recording {rec!r}")


__all__ = ["Connections", "Objects", "make_objects", "pattern_pairs", "stream"]


def _runtime_value(value: Any) -> Any:
    """A rule's namespace value as Brian2 takes it: a declared :class:`TimeTable` becomes a ``TimedArray``
    of zeros (the runtime writes its values in place)."""
    if isinstance(value, TimeTable):
        return b2.TimedArray(np.zeros(value.rows) * value.unit, dt=value.dt, name=value.name)
    return value
