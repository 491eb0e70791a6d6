"""Describing a network: populations in space, projections with rules, inputs and recordings.

A :class:`NetworkDescription` is plain data: it validates itself, round-trips through dict / JSON / TOML
and makes no Brian2 objects. :func:`neurosim.build` turns it into a runnable simulation.

Weights are split into a physical scale and a dimensionless state: a projection delivers ``J * w`` per
spike, where ``J`` (``weight``, in the unit the target's synapse kind expects: volt for ``delta`` and
``exponential`` synapses, dimensionless for ``conductance``) is fixed and ``w`` (initially ``w_init``,
bounded to ``[w_min, w_max]``) is what plasticity changes. Dale's law: a population is excitatory or
inhibitory, and every projection from it lands on the matching channel of its target. A weight is a size,
never negative (the source's sign gives the direction); its unit is checked against the target's synapse
kind when the description is written.

Inputs: :class:`PoissonBackground` (noise) and :class:`ImposedSpikes`, which makes chosen neurons of a
population that also receives synapses fire at given times, as their own spikes: they reset, become
refractory and their plasticity rules see them (a pairing protocol's postsynaptic spikes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import Quantity, ms, second, um, volt

from .connectivity import ConductionDelay, GaussianKernel
from .neurons import NeuronModel, SpikeSource, spike_times
from .plasticity.fast_stdp import FastPairSTDP
from .plasticity.fast_stp import FastTsodyksMarkram
from .plasticity.rule import Rule
from .serialization import Describable
from .space import UniformBox
from .validation import (
    ParameterError,
    check_bool,
    check_choice,
    check_name,
    check_number,
    check_quantity,
    fail,
    index_tuple,
    same_dimensions,
)

SIGNS = ("excitatory", "inhibitory")

#: Rules that keep their state on the presynaptic neuron, and the per-synapse rule to use on a spike source.
PER_SYNAPSE_ALTERNATIVE = {FastTsodyksMarkram: "TsodyksMarkram", FastPairSTDP: "PairSTDP"}


def check_weight(owner: str, value: Any) -> None:
    """A weight scale ``J``: a finite size >= 0, a quantity (volt) or a plain number (conductance ratio)."""
    if isinstance(value, Quantity) and not same_dimensions(value, 1):
        if not same_dimensions(value, volt):
            fail(
                owner,
                "weight",
                value,
                "expected volt (delta, exponential synapses) or a plain number (conductance)",
            )
        check_quantity(owner, "weight", value, volt, nonnegative=True)
    else:
        check_number(owner, "weight", value, low=0)


@dataclass(frozen=True)
class Population(Describable):
    """``n`` neurons of one model placed in 3D space, all excitatory or all inhibitory (Dale's law)."""

    name: str  # unique identifier (becomes the Brian2 group name)
    n: int  # number of neurons (>= 1)
    model: NeuronModel  # neuron model or spike source
    placement: Describable = field(default_factory=UniformBox)  # where the neurons sit (see neurosim.space)
    sign: str = "excitatory"  # "excitatory" or "inhibitory"
    initial: Mapping[str, Any] = field(
        default_factory=dict
    )  # initial values: quantities or Brian2 expressions

    def __post_init__(self) -> None:
        check_name("Population", "name", self.name)
        check_number(f"Population '{self.name}'", "n", self.n, low=1, integer=True)
        object.__setattr__(self, "n", int(self.n))
        if not isinstance(self.model, NeuronModel):
            fail(f"Population '{self.name}'", "model", self.model, "expected a neuron model such as LIF()")
        check_choice(f"Population '{self.name}'", "sign", self.sign, SIGNS)
        if isinstance(self.model, SpikeSource) and self.model.indices and max(self.model.indices) >= self.n:
            fail(
                f"Population '{self.name}'",
                "model.indices",
                max(self.model.indices),
                f"SpikeSource indices must lie in [0, {self.n - 1}]",
            )
        if not isinstance(self.initial, Mapping) or not all(isinstance(k, str) for k in self.initial):
            fail(f"Population '{self.name}'", "initial", self.initial, "expected a dict {variable: value}")
        if not hasattr(self.placement, "positions"):
            fail(
                f"Population '{self.name}'",
                "placement",
                self.placement,
                "expected a placement such as UniformBox()",
            )


@dataclass(frozen=True)
class AllToAll(Describable):
    """Connect every source neuron to every target neuron (no autapses unless the projection allows them)."""


@dataclass(frozen=True)
class OneToOne(Describable):
    """Connect source neuron k to target neuron k (both populations must have the same size)."""


@dataclass(frozen=True)
class ExplicitConnections(Describable):
    """Connections given as index pairs: source ``i[k]`` → target ``j[k]``."""

    i: tuple[int, ...]
    j: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "i", index_tuple("ExplicitConnections", "i", self.i))
        object.__setattr__(self, "j", index_tuple("ExplicitConnections", "j", self.j))
        if len(self.i) != len(self.j):
            fail("ExplicitConnections", "j", f"{len(self.j)} indices", f"needs as many as i ({len(self.i)})")


@dataclass(frozen=True)
class Projection(Describable):
    """Synapses from one population to another, placed by a distance kernel, with plasticity rules."""

    name: str  # unique identifier
    source: str  # name of the presynaptic population
    target: str  # name of the postsynaptic population
    weight: Quantity | float  # J: physical size of one spike at w = 1 (unit set by the target's synapse kind)
    connectivity: Describable = field(default_factory=lambda: GaussianKernel(p_max=0.1, sigma=150 * um))
    rules: tuple[Rule, ...] = ()  # plasticity rules composed on every synapse (see neurosim.plasticity)
    w_init: float | str = 1.0  # initial w: a number or a Brian2 expression such as "0.5 + 0.1*rand()"
    w_min: float = 0.0  # lower bound of w under plasticity
    w_max: float = 1.0  # upper bound of w under plasticity
    delay: ConductionDelay = field(default_factory=ConductionDelay)  # base + distance / velocity
    autapses: bool = False  # allow i → i when source and target are the same population
    periodic: bool = False  # distances wrap around the target placement's bounding box

    def __post_init__(self) -> None:
        owner = f"Projection '{getattr(self, 'name', '?')}'"
        check_name("Projection", "name", self.name)
        check_name(owner, "source", self.source)
        check_name(owner, "target", self.target)
        check_weight(owner, self.weight)
        if not isinstance(self.rules, (tuple, list)):
            fail(owner, "rules", self.rules, "expected a tuple of rules, e.g. (PairSTDP(),)")
        object.__setattr__(self, "rules", tuple(self.rules))
        for rule in self.rules:
            if not isinstance(rule, Rule):
                fail(owner, "rules", rule, "each rule must be a neurosim Rule instance (e.g. PairSTDP())")
        check_number(owner, "w_min", self.w_min)
        check_number(owner, "w_max", self.w_max)
        if not self.w_min <= self.w_max:
            fail(owner, "w_max", self.w_max, f"must be >= w_min = {self.w_min}")
        if not isinstance(self.w_init, str):
            check_number(owner, "w_init", self.w_init)
        if not isinstance(self.delay, ConductionDelay):
            fail(owner, "delay", self.delay, "expected a ConductionDelay(base, velocity)")
        check_bool(owner, "autapses", self.autapses)
        check_bool(owner, "periodic", self.periodic)
        if not hasattr(self.connectivity, "probability") and not isinstance(
            self.connectivity, (AllToAll, OneToOne, ExplicitConnections)
        ):
            fail(
                owner,
                "connectivity",
                self.connectivity,
                "expected a kernel, AllToAll, OneToOne or ExplicitConnections",
            )


@dataclass(frozen=True)
class PoissonBackground(Describable):
    """Independent Poisson background: each target neuron receives ``n_sources`` fibres at ``rate``.

    Each step adds ``weight`` × Binomial(``n_sources``, ``rate·dt``) to the target channel (Brian2
    ``PoissonInput``'s model), drawn from a counter-based stream of the seed and the input's name, identical
    on every code generation target (:mod:`neurosim.backend.background`): cheap, not plastic.
    """

    name: str
    target: str  # population receiving the input
    rate: Quantity  # rate of each fibre
    n_sources: int  # fibres per target neuron
    weight: Quantity | float  # J per input spike (units as for projections)
    sign: str = "excitatory"

    def __post_init__(self) -> None:
        owner = f"PoissonBackground '{self.name}'"
        check_name("PoissonBackground", "name", self.name)
        check_name(owner, "target", self.target)
        from brian2 import Hz

        check_quantity(owner, "rate", self.rate, Hz, nonnegative=True)
        check_number(owner, "n_sources", self.n_sources, low=1, integer=True)
        check_weight(owner, self.weight)
        check_choice(owner, "sign", self.sign, SIGNS)


@dataclass(frozen=True)
class ImposedSpikes(Describable):
    """Neuron ``indices[k]`` of ``target`` fires at ``times[k]``, whatever its input, as its own spike.

    For protocols on neurons that also receive synapses (a pairing protocol's postsynaptic neuron): at each
    given time the neuron spikes in the time step that contains it (as a ``SpikeSource`` would), resets and
    becomes refractory as after any spike, and every rule of its incoming and outgoing projections sees the
    spike. Between imposed spikes the neuron follows its own dynamics and may fire on its own.
    """

    name: str
    target: str  # population whose neurons are made to fire (not a spike source)
    indices: tuple[int, ...]  # neuron of each imposed spike
    times: Quantity  # time of each imposed spike (>= 0)

    def __post_init__(self) -> None:
        check_name("ImposedSpikes", "name", self.name)
        owner = f"ImposedSpikes '{self.name}'"
        check_name(owner, "target", self.target)
        indices, times = spike_times(owner, self.indices, self.times)
        object.__setattr__(self, "indices", indices)
        object.__setattr__(self, "times", times)


@dataclass(frozen=True)
class SpikeRecording(Describable):
    """Record every spike of a population."""

    population: str

    def __post_init__(self) -> None:
        check_name("SpikeRecording", "population", self.population)


@dataclass(frozen=True)
class RateRecording(Describable):
    """Record the population rate (spikes per neuron per time step)."""

    population: str

    def __post_init__(self) -> None:
        check_name("RateRecording", "population", self.population)


@dataclass(frozen=True)
class StateRecording(Describable):
    """Record state variables of a population (``v``, ``I_exc`` …) or of a projection's synapses
    (``w``, ``stp_x`` …) for the given indices (None: all) every ``dt`` (None: every step)."""

    target: str  # population or projection name
    variables: tuple[str, ...]
    indices: tuple[int, ...] | None = None
    dt: Quantity | None = None

    def __post_init__(self) -> None:
        check_name("StateRecording", "target", self.target)
        owner = f"StateRecording '{self.target}'"
        if isinstance(self.variables, str):
            object.__setattr__(self, "variables", (self.variables,))
        if not isinstance(self.variables, (tuple, list)) or not self.variables:
            fail(owner, "variables", self.variables, "expected variable names, e.g. ('v',)")
        object.__setattr__(self, "variables", tuple(self.variables))
        for name in self.variables:
            check_name(owner, "variables", name)
        if self.indices is not None:
            object.__setattr__(self, "indices", index_tuple(owner, "indices", self.indices))
        if self.dt is not None:
            check_quantity(f"StateRecording '{self.target}'", "dt", self.dt, ms, positive=True)


@dataclass(frozen=True)
class NetworkDescription(Describable):
    """A whole network: what it is, independent of how it is simulated."""

    populations: tuple[Population, ...]
    projections: tuple[Projection, ...] = ()
    inputs: tuple[PoissonBackground | ImposedSpikes, ...] = ()
    recordings: tuple[Describable, ...] = ()
    seed: int = 0  # fixes every random choice: placement, connectivity, initial values, input spikes
    dt: Quantity = 0.1 * ms  # simulation time step

    def __post_init__(self) -> None:
        kinds = {
            "populations": (Population,),
            "projections": (Projection,),
            "inputs": (PoissonBackground, ImposedSpikes),
            "recordings": (SpikeRecording, RateRecording, StateRecording),
        }
        for name, allowed in kinds.items():
            items = getattr(self, name)
            if not isinstance(items, (tuple, list)):
                fail("NetworkDescription", name, items, f"expected a tuple of {allowed[0].__name__}")
            for item in items:
                if not isinstance(item, allowed):
                    fail(
                        "NetworkDescription", name, item, f"allowed: {', '.join(k.__name__ for k in allowed)}"
                    )
            object.__setattr__(self, name, tuple(items))
        check_number("NetworkDescription", "seed", self.seed, low=0, integer=True)
        check_quantity("NetworkDescription", "dt", self.dt, ms, positive=True)
        if self.dt > 10 * ms:
            fail("NetworkDescription", "dt", self.dt, "must be <= 10 ms")
        if not self.populations:
            fail("NetworkDescription", "populations", self.populations, "needs at least one population")
        names: dict[str, str] = {}
        for kind, items in (
            ("population", self.populations),
            ("projection", self.projections),
            ("input", self.inputs),
        ):
            for item in items:
                if item.name in names:
                    raise ParameterError(
                        f"name '{item.name}' is used by a {names[item.name]} and a {kind}; "
                        "names must be unique"
                    )
                names[item.name] = kind
        pops = {p.name: p for p in self.populations}
        for proj in self.projections:
            owner = f"Projection '{proj.name}'"
            for role in ("source", "target"):
                if getattr(proj, role) not in pops:
                    fail(owner, role, getattr(proj, role), f"known populations: {sorted(pops)}")
            if pops[proj.target].model.is_source:
                fail(owner, "target", proj.target, "a spike source cannot receive synapses")
            self._check_connectivity(proj, pops[proj.source], pops[proj.target])
            self._check_weight_unit(owner, proj.weight, pops[proj.target], pops[proj.source].sign)
            self._check_source_rules(proj, pops[proj.source])
        for inp in self.inputs:
            owner = f"{type(inp).__name__} '{inp.name}'"
            if inp.target not in pops:
                fail(owner, "target", inp.target, f"known populations: {sorted(pops)}")
            target = pops[inp.target]
            if isinstance(inp, PoissonBackground):
                self._check_weight_unit(owner, inp.weight, target, inp.sign)
            elif target.model.is_source:
                fail(owner, "target", inp.target, "a spike source fires only its own spikes; give them to it")
            elif inp.indices and max(inp.indices) >= target.n:
                fail(
                    owner, "indices", max(inp.indices), f"neurons of '{target.name}' are 0 to {target.n - 1}"
                )
            else:
                self._check_one_spike_per_step(owner, inp.indices, inp.times)
        for pop in self.populations:
            if isinstance(pop.model, SpikeSource):
                self._check_one_spike_per_step(f"Population '{pop.name}'", pop.model.indices, pop.model.times)
        projs = {p.name for p in self.projections}
        for rec in self.recordings:
            key = getattr(rec, "population", None) or getattr(rec, "target", None)
            allowed = set(pops) | (projs if isinstance(rec, StateRecording) else set())
            if key not in allowed:
                fail(type(rec).__name__, "target", key, f"known: {sorted(allowed)}")

    def _check_one_spike_per_step(self, owner: str, indices: tuple[int, ...], times: Quantity) -> None:
        """A neuron fires at most once per time step (Brian2 numbers the step as floor(t/dt + 1e-3))."""
        steps = np.floor(np.asarray(times / self.dt, dtype=float) + 1e-3).astype(np.int64)
        pairs = set()
        for k, step in zip(indices, steps, strict=True):
            if (k, step) in pairs:
                fail(
                    owner, "times", step * self.dt, f"neuron {k} has two spikes in the time step at this time"
                )
            pairs.add((k, step))

    @staticmethod
    def _check_weight_unit(owner: str, weight: Any, target: Population, sign: str) -> None:
        channel = target.model.channel(sign)
        if not same_dimensions(weight, channel.unit):
            unit = "volt" if channel.unit == volt else "a plain number (relative conductance)"
            kind = f"{type(target.model).__name__}, synapse='{target.model.synapse}'"
            fail(owner, "weight", weight, f"target '{target.name}' ({kind}) needs a weight in {unit}")

    @staticmethod
    def _check_source_rules(proj: Projection, source: Population) -> None:
        """A spike source has no equations, so it cannot hold a rule's per-neuron presynaptic state."""
        if not source.model.is_source:
            return
        for rule in proj.rules:
            code = rule.code()
            if code.pre_equations or code.pre_on_spike:
                use = next((v for k, v in PER_SYNAPSE_ALTERNATIVE.items() if isinstance(rule, k)), None)
                fail(
                    f"Projection '{proj.name}'",
                    "rules",
                    rule,
                    f"{type(rule).__name__} keeps per-neuron state on the presynaptic neuron, which a "
                    f"{type(source.model).__name__} ('{source.name}') cannot hold; use "
                    + (f"{use}, its per-synapse form" if use else "a rule with per-synapse state"),
                )

    @staticmethod
    def _check_connectivity(proj: Projection, source: Population, target: Population) -> None:
        owner = f"Projection '{proj.name}'"
        conn = proj.connectivity
        if isinstance(conn, OneToOne) and source.n != target.n:
            fail(owner, "connectivity", "OneToOne", f"needs equal sizes, got {source.n} → {target.n}")
        if isinstance(conn, ExplicitConnections) and conn.i:
            if max(conn.i) >= source.n or min(conn.i) < 0:
                fail(owner, "connectivity.i", max(conn.i), f"source indices must lie in [0, {source.n - 1}]")
            if max(conn.j) >= target.n or min(conn.j) < 0:
                fail(owner, "connectivity.j", max(conn.j), f"target indices must lie in [0, {target.n - 1}]")
        k = getattr(conn, "in_degree", None)
        if k is not None:
            possible = source.n - (1 if proj.source == proj.target and not proj.autapses else 0)
            if k > possible:
                fail(owner, "in_degree", k, f"must be <= the {possible} possible sources in '{source.name}'")

    def population(self, name: str) -> Population:
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(name)

    def projection(self, name: str) -> Projection:
        for p in self.projections:
            if p.name == name:
                return p
        raise KeyError(name)


def duration_steps(duration: Quantity, dt: Quantity) -> int:
    """Number of whole time steps in ``duration``."""
    check_quantity("run", "duration", duration, second, nonnegative=True)
    return int(round(float(duration / dt)))
