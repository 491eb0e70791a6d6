"""A block of trials compiled whole: a runtime simulation's state, run on cpp_standalone on a schedule.

:func:`run_compiled_block` takes a runtime simulation (numpy or cython) and a :class:`BlockSchedule` and runs
the block as one ``cpp_standalone`` run with nothing in Python between steps:

* the simulation's description is built again on the standalone device with the same connectivity, its
  reward-modulated rules reading dopamine as a level (:func:`level_description`), and every variable of
  every group and projection is copied in (the input's spikes are the block's);
* the trial protocol runs from schedules on the tick grid (``TimedArray`` s): at a reset tick activity
  returns to rest (``var = var·(1 − s) + s·rest``, exact for s ∈ {0, 1}; refractory neurons too, as a
  runtime assignment does), at a bias tick the readout's bias is set to the tick's exploration plus the
  judge's excitability and held, and a shared gate (the Hebbian imprinting) follows its switches;
* a :class:`~neurosim.backend.readout_judge.ReadoutJudge` judges the answer windows and sends the dopamine;
* afterwards every variable is copied back into the runtime simulation, whose time moves to the block's end.

Schedules count ticks from time 0 and are padded to power-of-two lengths, the input spikes too, and the
device reads the run's start and length when the binary starts: a later block of similar length compiles
nothing. Each network structure and seed has its own build folder (Brian2 compiles the sizes of the arrays
that build the synapses into the code); a new seed's folder starts as a copy of another seed's, so only the
files holding those sizes recompile.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import brian2 as b2
import numpy as np
from brian2 import Quantity, mV, second
from brian2.groups.group import CodeRunner

from ..network import NetworkDescription, Projection
from ..plasticity.composer import RestState
from ..plasticity.reward import RewardModulated
from .device import names_of_its_own, prepare_device, standalone_directory
from .readout_judge import JUDGE_ORDER, Judged, JudgePolicy, ReadoutJudge, padded_length
from .simulation import Simulation, build

#: Scheduling order of the protocol in the ``start`` slot: after the judgement of a window that closes on
#: the same tick (as the Python callbacks' ranks), before the rules' periodic updates (−2, −1).
PROTOCOL_ORDER = JUDGE_ORDER + 5


@dataclass(frozen=True)
class BlockSchedule:
    """A block of trials on a grid of ticks (``tick`` time steps each, counted from time 0)."""

    tick: int
    end: int  # the time step at which the block ends
    resets: np.ndarray  # 1 at ticks where activity returns to rest, else 0 (one entry per tick)
    bias_starts: np.ndarray  # 1 at ticks where the readout's bias is set anew, else 0
    bias: np.ndarray  # (ticks, groups): the exploration bias (mV) set at those ticks
    gate: np.ndarray  # the shared gate's value from each tick on (nan: unchanged)
    opens: Sequence[int]  # answer windows: opening ticks, in order
    closes: Sequence[tuple[int, int]]  # (closing tick, target), in tick order
    input_indices: np.ndarray  # the input population's spikes in the block
    input_times: np.ndarray  # (s)


@dataclass(frozen=True)
class AtRest:
    """What a reset sets: per population the membrane potential at rest and the synaptic currents to zero,
    per projection its rules' activity at rest (:func:`~neurosim.plasticity.composer.rest_state`)."""

    neurons: Sequence[tuple[str, Quantity, Sequence[str]]]
    projections: Sequence[tuple[Projection, RestState]]


@dataclass(frozen=True)
class Readout:
    """The readout the judge reads, its policy, and the judge's state at the block's start."""

    population: str
    n_groups: int
    per_group: int
    policy: JudgePolicy
    dopamine: str  # the reward-modulated projection whose dopamine the judge sends
    baseline: np.ndarray  # per target
    excitability: np.ndarray  # per group (mV)
    dopamine_level: float  # still decaying from earlier rewards


@dataclass
class BlockResult:
    judged: Judged
    baseline: np.ndarray
    excitability: np.ndarray
    spikes: dict[str, tuple[np.ndarray, np.ndarray]]  # population -> (indices, times in s)


def level_description(d: NetworkDescription) -> NetworkDescription:
    """``d`` with every reward-modulated rule reading its dopamine as a level (set by the judge)."""

    def leveled(proj: Projection) -> Projection:
        rules = tuple(
            replace(r, dopamine_source="level") if isinstance(r, RewardModulated) else r for r in proj.rules
        )
        return replace(proj, rules=rules)

    return replace(d, projections=tuple(leveled(p) for p in d.projections))


def run_compiled_block(
    sim: Simulation,
    schedule: BlockSchedule,
    at_rest: AtRest,
    readout: Readout,
    *,
    input_population: str,
    gate: tuple[str, str],
    recorded: Sequence[str],
) -> BlockResult:
    """Run ``schedule`` on ``sim``'s network compiled whole (see the module docstring); ``gate``: the shared
    variable the schedule's gate switches (projection, variable); ``recorded``: the populations whose spikes
    come back."""
    state = _state(sim)
    start = sim.t
    leveled = level_description(sim.description)
    connections = {name: (*sim.connections(name), sim.distances[name]) for name in sim.distances}
    compiled = build(leveled, target="cpp_standalone", directory=_directory(leveled), connections=connections)
    try:
        _set_state(compiled, state)
        compiled.network.t_ = float(start / second)
        indices, times = _padded_spikes(schedule, float(sim.description.dt / second))
        compiled.set_spike_times(input_population, indices, times * second)
        with names_of_its_own():  # the same names, so the same compiled code, in every block
            judge = ReadoutJudge(
                compiled,
                readout.population,
                readout.n_groups,
                readout.per_group,
                tick=schedule.tick,
                opens=schedule.opens,
                closes=schedule.closes,
                policy=readout.policy,
                dopamine=readout.dopamine,
                baseline=readout.baseline,
                excitability=readout.excitability,
                dopamine_level=readout.dopamine_level,
            )
            protocol = _protocol(compiled, schedule, at_rest, readout, judge, state, gate)
            compiled.network.add(*judge.objects, *protocol)
            compiled.run((schedule.end - int(round(float(start / sim.description.dt)))) * sim.description.dt)
        after = _state(compiled)
        result = BlockResult(
            judge.judged(),
            judge.baseline,
            judge.excitability,
            {pop: _spikes(compiled, pop) for pop in recorded},
        )
    finally:
        prepare_device(sim.target, None)
    _set_state(sim, after)
    sim.network.t_ = schedule.end * float(sim.description.dt / second)
    return result


def _protocol(
    sim: Simulation,
    schedule: BlockSchedule,
    at_rest: AtRest,
    readout: Readout,
    judge: ReadoutJudge,
    state: Mapping[str, Mapping[str, np.ndarray]],
    gate: tuple[str, str],
) -> list[b2.BrianObject]:
    """The trial protocol's objects: resets, the readout's bias, the gate's switches."""
    period = schedule.tick * sim.description.dt
    n = padded_length(len(schedule.resets))
    resets = {"reset_at": b2.TimedArray(_padded(schedule.resets, n, 0.0), dt=period)}
    # the readout's bias: exploration + excitability (the judge's), held from each bias tick on
    held = b2.NeuronGroup(
        readout.n_groups,
        "held : 1\nexcitability : 1 (linked)",
        namespace={
            "bias_start": b2.TimedArray(_padded(schedule.bias_starts, n, 0.0), dt=period),
            "bias_at": b2.TimedArray(_padded(schedule.bias, n, 0.0), dt=period),
        },
        name="trial_bias",
    )
    held.excitability = b2.linked_var(judge.group, "excitability")
    held.held = np.asarray(state[readout.population]["I_ext"])[:: readout.per_group] / float(mV)
    held.run_regularly(
        "held = held*(1 - bias_start(t)) + bias_start(t)*(bias_at(t, i) + excitability)",
        dt=period,
        when="start",
        order=PROTOCOL_ORDER,
        name="trial_bias_starts",
    )
    target = sim.groups[readout.population]
    bias = b2.Synapses(held, target, "I_ext_post = held_pre*mV : volt (summed)", name="trial_bias_readout")
    bias.connect(i=np.arange(len(target)) // readout.per_group, j=np.arange(len(target)))
    bias.summed_updaters["I_ext_post"].when = "start"
    bias.summed_updaters["I_ext_post"].order = PROTOCOL_ORDER + 1
    # resets to rest
    for pop, rest, currents in at_rest.neurons:
        group = sim.groups[pop]
        group.namespace.update({**resets, f"{pop}_rest_v": rest})
        code = [f"v = v*(1 - reset_at(t)) + reset_at(t)*{pop}_rest_v"]
        code += [f"{var} = {var}*(1 - reset_at(t))" for var in currents]
        for proj, rest_state in at_rest.projections:
            for side, values in ((proj.source, rest_state.source), (proj.target, rest_state.target)):
                if side == pop:
                    code += _assignments(group, values, f"{pop}_{proj.name}")
        # as an assignment between runs: refractory neurons too (Brian2 skips their "unless refractory"
        # variables in generated code unless told otherwise)
        runner = CodeRunner(
            group,
            "stateupdate",
            code="\n".join(code),
            dt=period,
            when="start",
            order=PROTOCOL_ORDER,
            name=f"{pop}_trial_reset",
            override_conditional_write=["not_refractory"],
        )
        group.contained_objects.append(runner)
    for proj, rest_state in at_rest.projections:
        if rest_state.synapses:
            syn = sim.synapses[proj.name]
            syn.namespace.update(resets)
            code = _assignments(syn, rest_state.synapses, proj.name)
            name = f"{proj.name}_trial_reset"
            syn.run_regularly("\n".join(code), dt=period, when="start", order=PROTOCOL_ORDER, name=name)
    # the shared gate, held between its switches
    projection, variable = gate
    if not np.isnan(schedule.gate).all():
        before = float(np.ravel(state[projection][variable])[0])
        filled = _padded(_forward_fill(schedule.gate, before), n, None)
        syn = sim.synapses[projection]
        syn.namespace["gate_at"] = b2.TimedArray(filled, dt=period)
        code = f"{variable} = gate_at(t)"
        syn.run_regularly(code, dt=period, when="start", order=PROTOCOL_ORDER, name=f"{projection}_gate")
    return [held, bias]


def _assignments(owner: Any, values: Mapping[str, Any], key: str) -> list[str]:
    """``var = var·(1 − s) + s·rest`` for each rest value (constants in ``owner``'s namespace)."""
    code = []
    for var, value in values.items():
        name = f"{key}_rest_{var}"
        owner.namespace[name] = value
        code.append(f"{var} = {var}*(1 - reset_at(t)) + reset_at(t)*{name}")
    return code


def _padded(values: np.ndarray, n: int, fill: float | None) -> np.ndarray:
    """``values`` (ticks first) lengthened to ``n`` ticks with ``fill`` (None: the last value)."""
    values = np.asarray(values, dtype=float)
    shape = (n - len(values), *values.shape[1:])
    extra = np.repeat(values[-1:], shape[0], axis=0) if fill is None else np.full(shape, fill)
    return np.concatenate([values, extra])


def _spikes(sim: Simulation, population: str) -> tuple[np.ndarray, np.ndarray]:
    i, t = sim.spikes(population)
    return np.asarray(i), np.asarray(t / second)


def _forward_fill(values: np.ndarray, first: float) -> np.ndarray:
    out, last = np.array(values, dtype=float), first
    for k, v in enumerate(out):
        last = last if np.isnan(v) else v
        out[k] = last
    return out


def _padded_spikes(schedule: BlockSchedule, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The block's input spikes padded to a power-of-two count with spikes after the block's end (never
    emitted), so that the generated code, which holds the count, stays the same."""
    indices = np.asarray(schedule.input_indices, dtype=int)
    pad = padded_length(len(indices)) - len(indices)
    end = schedule.end * dt_s
    return (
        np.concatenate([indices, np.zeros(pad, dtype=int)]),
        np.concatenate([np.asarray(schedule.input_times, dtype=float), end + dt_s * (1 + np.arange(pad))]),
    )


def _directory(d: NetworkDescription) -> Path:
    """The build folder of ``d``'s structure and seed (a new one starts as a copy of another seed's)."""
    structure = standalone_directory(d)
    own = structure.with_name(f"{structure.name}-seed{d.seed}")
    if not own.exists():
        siblings = sorted(structure.parent.glob(f"{structure.name}-seed*"))
        if siblings:
            shutil.copytree(siblings[0], own, ignore=shutil.ignore_patterns("results*", ".neurosim.lock"))
    return own


#: Variables not copied between the runtime and the standalone network: sizes, indices, clocks and delays
#: (the same by construction).
_NOT_STATE = frozenset({"N", "i", "j", "t", "dt", "t_in_timesteps", "N_incoming", "N_outgoing", "delay"})


def _state(sim: Simulation) -> dict[str, dict[str, np.ndarray]]:
    """Every variable of every group and projection (SI units), but the input's (its spikes are set anew)."""
    out = {}
    for name, obj in [*sim.groups.items(), *sim.synapses.items()]:
        if isinstance(obj, b2.SpikeGeneratorGroup):
            continue
        values = obj.get_states(units=False)
        out[name] = {k: np.array(v, copy=True) for k, v in values.items() if k not in _NOT_STATE}
    return out


def _set_state(sim: Simulation, state: Mapping[str, Mapping[str, np.ndarray]]) -> None:
    for name, values in state.items():
        obj = sim.groups[name] if name in sim.groups else sim.synapses[name]
        own = {k: v for k, v in values.items() if k in obj.variables and not obj.variables[k].read_only}
        obj.set_states(own, units=False)


__all__ = ["AtRest", "BlockResult", "BlockSchedule", "Readout", "level_description", "run_compiled_block"]
