"""Building and running: the only place where Brian2 objects are made.

:func:`build` turns a :class:`~neurosim.network.NetworkDescription` into a :class:`Simulation`: neuron groups
with their 3D positions, synapses drawn from the distance kernels (sampled in numpy with a KD-tree and passed
to Brian2 as index arrays), the rules composed into one synapse model per projection, inputs and monitors.
Brian2 generates the code for every time step; Python only runs between ``run`` calls.

Code generation target (``target=``): ``"cython"`` (default when a C compiler works: compiled once per model
and cached in ``~/.cython``, 3-4× faster than numpy; later runs of the same model reuse the cache),
``"numpy"`` (no compiler, no compile wait: best for small, short runs and the test suite) or
``"cpp_standalone"`` (whole network compiled to C++, fastest for large runs, one ``run`` per build). The
environment variable ``NEUROSIM_TARGET`` overrides the default.

cpp_standalone builds go to a project folder that is reused (``directory=``, default one folder per network
structure under ``$NEUROSIM_CACHE`` or ``~/.cache/neurosim/cpp_standalone``): Brian2 rewrites only files whose
content changed and ``make`` recompiles only those, so rebuilding the same network costs no compilation and
another size or seed recompiles a few files. A lock lets one process at a time build in a folder; results go
to ``results_<pid>``. ``threads=`` (or ``$NEUROSIM_THREADS``) sets OpenMP threads. The device is
:mod:`neurosim.standalone`'s: Brian2's, with a faster spike queue and thresholder (same results).

Layout for speed and memory: a sampled projection's synapses are ordered by source, then by distance (so by
delay), which makes the synapses that one spike reaches in the same step neighbours in memory; a pathway
with one delay for all synapses (the postsynaptic one) stores it once; in cpp_standalone the arrays that
only serve construction are freed once used (see :func:`_release_construction_arrays`).
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import brian2 as b2
import numpy as np
from brian2 import Quantity, metre, ms, second, um
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

from . import standalone
from .background import SEED_VARIABLE, background_operation, set_seed
from .connectivity import sample_connections
from .network import (
    AllToAll,
    ExplicitConnections,
    NetworkDescription,
    OneToOne,
    PoissonBackground,
    Population,
    Projection,
    RateRecording,
    SpikeRecording,
    StateRecording,
    duration_steps,
)
from .neurons import PoissonSource, SpikeSource
from .plasticity.base import ComposedSynapse, PostCode, compose, compose_post, compose_pre
from .validation import ParameterError, check_choice, same_dimensions

if TYPE_CHECKING:
    from .controller import FrontalController

TARGETS = ("numpy", "cython", "cpp_standalone")

b2.BrianLogger.suppress_name("resolution_conflict")
b2.BrianLogger.suppress_name("unused_brian_object")
logging.getLogger("brian2").setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def _compiler_works() -> bool:
    try:
        from brian2.codegen.cpp_prefs import get_compiler_and_args
        from setuptools._distutils.ccompiler import new_compiler  # noqa: F401

        get_compiler_and_args()
        import shutil

        return shutil.which(os.environ.get("CC", "cc")) is not None or shutil.which("gcc") is not None
    except Exception:  # noqa: BLE001
        return False


def default_target() -> str:
    """``$NEUROSIM_TARGET`` if set, else ``"cython"`` when a C compiler works, else ``"numpy"``."""
    env = os.environ.get("NEUROSIM_TARGET")
    if env:
        return check_choice("NEUROSIM_TARGET", "NEUROSIM_TARGET", env, TARGETS)
    return "cython" if _compiler_works() else "numpy"


def stream(seed: int, *keys: str | int) -> np.random.Generator:
    """An independent random stream for one named random choice (stable when other parts change)."""
    words = [int(seed)] + [zlib.crc32(str(k).encode()) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


@dataclass
class Simulation:
    """A built network: Brian2 objects, positions and connectivity, plus access to what was recorded."""

    description: NetworkDescription
    target: str
    network: b2.Network
    groups: dict[str, Any]
    synapses: dict[str, b2.Synapses]
    positions: dict[str, np.ndarray]  # µm, shape (n, 3)
    distances: dict[str, np.ndarray]  # µm, one per synapse (in Brian2's synapse order)
    composed: dict[str, ComposedSynapse]
    monitors: dict[str, Any] = field(default_factory=dict)
    _standalone_ran: bool = False
    directory: Path | None = None  # cpp_standalone build folder (reused: only changed files recompile)

    # -- running ---------------------------------------------------------------------------------------
    @property
    def t(self) -> Quantity:
        """Current simulated time."""
        return self.network.t

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
            _build_standalone(self.directory or Path(b2.device.project_dir or "."))
            self._standalone_ran = True
        return self

    # -- reading results -------------------------------------------------------------------------------
    def spikes(self, population: str) -> tuple[np.ndarray, Quantity]:
        """Indices and times of every recorded spike of ``population``."""
        mon = self._monitor("spikes", population)
        return np.asarray(mon.i[:]), mon.t[:]

    def spike_counts(self, population: str) -> np.ndarray:
        return np.asarray(self._monitor("spikes", population).count[:])

    def rate(self, population: str) -> tuple[Quantity, Quantity]:
        """Times and instantaneous population rate."""
        mon = self._monitor("rate", population)
        return mon.t[:], mon.rate[:]

    def state(self, target: str) -> Any:
        """The Brian2 ``StateMonitor`` of a population or projection (``.t``, ``.v``, ``.w`` …)."""
        return self._monitor("state", target)

    def weights(self, projection: str) -> np.ndarray:
        """Current dimensionless weights ``w`` of a projection, one per synapse."""
        return np.asarray(self.synapses[projection].w[:])

    def connections(self, projection: str) -> tuple[np.ndarray, np.ndarray]:
        """Source and target indices of every synapse of ``projection``."""
        syn = self.synapses[projection]
        return np.asarray(syn.i[:]), np.asarray(syn.j[:])

    def compact(self, projection: str, keep: Any) -> np.ndarray:
        """Prune: keep only the synapses ``keep`` (bool mask or indices) of ``projection``, with their whole
        state; the others cost nothing any more. Returns the survivors' old indices (see neurosim.pruning)."""
        from .pruning import compact

        return compact(self, projection, keep)

    # -- saving and loading (see neurosim.state) -------------------------------------------------------
    def save(
        self, path: str | Path, *, compress: bool = False, controller: FrontalController | None = None
    ) -> Path:
        """Write the whole state (description, connectivity, every variable, time, RNG, scheduled rewards;
        optionally a FrontalController's learned state) to one file."""
        from .state import save

        return save(self, path, compress=compress, controller=controller)

    @classmethod
    def load(cls, path: str | Path, target: str | None = None) -> Simulation:
        """Rebuild a saved network and restore its state: running it on continues as if never stopped."""
        from .state import load

        return load(path, target=target)

    def _monitor(self, kind: str, name: str) -> Any:
        key = f"{kind}:{name}"
        if key not in self.monitors:
            have = sorted(self.monitors)
            raise KeyError(
                f"nothing records {kind} of '{name}'; add a recording to the description (have {have})"
            )
        return self.monitors[key]


class _ProgressBar:
    """Brian2 ``report`` callback drawing a tqdm bar in simulated seconds."""

    def __init__(self, total_s: float) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=round(total_s, 3), unit="s (sim)", desc="simulating", leave=False)

    def __call__(self, elapsed: Any, completed: float, start: Any, duration: Any) -> None:
        self.bar.n = round(completed * float(duration / second), 3)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def build(
    description: NetworkDescription,
    *,
    target: str | None = None,
    directory: str | Path | None = None,
    connections: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
    threads: int | None = None,
) -> Simulation:
    """Make the Brian2 network for ``description`` (the only place Brian2 objects are created).

    ``target``: code generation target, see the module docstring. ``directory``: build folder for
    ``cpp_standalone`` (reused between runs so that only changed files recompile; default: one folder per
    network structure under ``$NEUROSIM_CACHE`` or ``~/.cache/neurosim/cpp_standalone``). ``threads``:
    OpenMP threads for ``cpp_standalone`` (default ``$NEUROSIM_THREADS``, else 1: no OpenMP; other
    targets are single-threaded). ``connections``:
    ``{projection: (i, j, distances_um)}`` used instead of sampling (loading a saved state, see
    :mod:`neurosim.state`).
    """
    target = target or default_target()
    check_choice("build", "target", target, TARGETS)
    d = description
    _prepare_device(target, directory, threads)
    b2.defaultclock.dt = d.dt
    b2.seed(d.seed)

    groups: dict[str, Any] = {}
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

    for inp in d.inputs:  # a run_regularly operation of its group: the network gets it with the group
        _make_background(inp, d.population(inp.target), groups[inp.target], d.seed)

    monitors: dict[str, Any] = {}
    for rec in d.recordings:
        key, mon = _make_monitor(rec, groups, synapses)
        monitors[key] = mon

    net = b2.Network(*groups.values(), *synapses.values(), *monitors.values())
    sim = Simulation(d, target, net, groups, synapses, positions, distances, composed, monitors)
    if target == "cpp_standalone":
        sim.directory = Path(directory) if directory else _standalone_directory(d)
    return sim


def _standalone_directory(d: NetworkDescription) -> Path:
    """The default cpp_standalone build folder: one per network *structure* (names, models, rules), so a
    network rebuilt with other sizes, seeds or parameter values recompiles only the files that changed."""
    import json

    structure = [
        [(p.name, type(p.model).__name__, p.model.synapse) for p in d.populations],
        [(p.name, p.source, p.target, [r.to_dict()["type"] for r in p.rules]) for p in d.projections],
        [(i.name, i.target) for i in d.inputs],
        [r.to_dict() for r in d.recordings],
    ]
    key = f"{zlib.crc32(json.dumps(structure, sort_keys=True, default=str).encode()):08x}"
    root = Path(os.environ.get("NEUROSIM_CACHE") or Path.home() / ".cache" / "neurosim") / "cpp_standalone"
    return root / key


def _build_standalone(directory: Path) -> None:
    """Compile (only what changed) and run the standalone project in ``directory``, one process at a time.

    Results go to a folder of this process (``results_<pid>``), so concurrent runs of the same project do not
    overwrite each other's results; folders of finished processes are removed."""
    from filelock import FileLock

    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("results_*"):
        pid = old.name.removeprefix("results_")
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    device = b2.get_device()
    with FileLock(str(directory / ".neurosim.lock")):
        device.build(
            directory=str(directory),
            results_directory=f"results_{os.getpid()}",
            compile=True,
            run=True,
            clean=False,
            with_output=False,
        )


#: Added to Brian2's C++ flags. Generated loops touch many arrays (a neuron update: ~7); GCC vectorises such a
#: loop only after run-time alias checks, and by default gives up beyond 10 of them, so the state update of a
#: LIF population ran scalar. With a higher limit it vectorises (AVX2: ~4 doubles per instruction).
ALIAS_CHECKS_FLAG = "--param=vect-max-version-for-alias-checks=64"


def _prepare_device(target: str, directory: str | Path | None, threads: int | None = None) -> None:
    flags = b2.prefs.codegen.cpp.extra_compile_args_gcc
    if ALIAS_CHECKS_FLAG not in flags:
        b2.prefs.codegen.cpp.extra_compile_args_gcc = [*flags, ALIAS_CHECKS_FLAG]
    if target == "cpp_standalone":
        # Brian2's cpp_standalone device with neurosim's spike queue and thresholder (neurosim.standalone)
        b2.set_device(standalone.device, directory=str(directory) if directory else None, build_on_run=False)
        b2.device.reinit()  # forget any network built before in this process
        _free_names()
        b2.device.activate(directory=str(directory) if directory else None, build_on_run=False)
        if threads is None:
            threads = int(os.environ.get("NEUROSIM_THREADS") or 1)
        b2.prefs.devices.cpp_standalone.openmp_threads = int(threads) if threads > 1 else 0  # 1: no OpenMP
    else:
        if b2.get_device().__class__.__name__ != "RuntimeDevice":
            b2.device.reinit()
            b2.set_device("runtime")
        _free_names()
        b2.prefs.codegen.target = target


def _free_names() -> None:
    """Free the Brian2 objects of networks no longer referenced, so that this network's objects get the same
    names as before ("E", not "E_1"): names are part of the generated code, and unchanged code is what the
    cython cache and a reused standalone folder avoid recompiling. (A full collection takes ~0.2 s once sympy
    is loaded: skipped while no Brian2 object exists.)"""
    from brian2.core.base import BrianObject

    if len(BrianObject.__instances__()):
        gc.collect()


#: Refractoriness as a comparison of times, not Brian2's ``timestep(t - lastspike) >= timestep(t_ref)``:
#: same steps (see :func:`_refractory_window`), but without a float-to-int64 conversion per neuron and step,
#: which AVX2 cannot vectorise; the state update loop then vectorises (≈4× faster per neuron on this machine).
_REFRACTORY = "t - lastspike < neurosim_refractory_window"


def _refractory_window(refractory: Any, dt: Any) -> Any:
    """A neuron that spiked at step m is refractory at steps n with n - m < R, R = ``refractory`` in whole
    steps (Brian2's rounding); the window ends half a step before R·dt so that rounding of t cannot move
    it. R = 0: never refractory."""
    return (_refractory_steps(refractory, dt) - 0.5) * dt


def _refractory_steps(refractory: Any, dt: Any) -> int:
    """The refractory period in whole time steps, as Brian2 rounds it."""
    return int((float(refractory) + 1e-3 * float(dt)) / float(dt))


def _make_group(pop: Population, pos: np.ndarray, d: NetworkDescription, post: PostCode | None = None) -> Any:
    model = pop.model
    name = f"{pop.name}*"
    if model.is_source and post is not None and post != PostCode():
        raise ParameterError(
            f"Population '{pop.name}': its projections' rules keep per-neuron state (e.g. FastPairSTDP's "
            f"traces), which a {type(model).__name__} cannot hold; use a rule with per-synapse state "
            "(PairSTDP) or a neuron population"
        )
    if isinstance(model, PoissonSource):
        return b2.PoissonGroup(pop.n, rates=model.rate, name=name)
    if isinstance(model, SpikeSource):
        times = model.times
        if len(model.indices) and float(np.max(model.indices)) >= pop.n:
            raise ParameterError(
                f"Population '{pop.name}': SpikeSource index {max(model.indices)} is not allowed; "
                f"indices must lie in [0, {pop.n - 1}]"
            )
        return b2.SpikeGeneratorGroup(pop.n, np.asarray(model.indices, dtype=int), times, name=name)
    post = post or PostCode()
    eqs = model.equations() + "\nx : metre (constant)\ny : metre (constant)\nz : metre (constant)"
    eqs += "\n" + post.equations if post.equations else ""
    if any(inp.target == pop.name for inp in d.inputs):  # the background's seed: data, not compiled code
        eqs += f"\n{SEED_VARIABLE} : integer (shared, constant)"
    group = b2.NeuronGroup(
        pop.n,
        eqs,
        threshold=model.threshold,
        reset=model.reset + ("\n" + post.on_spike if post.on_spike else ""),
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
    groups: Mapping[str, Any],
    positions: Mapping[str, np.ndarray],
    given: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[b2.Synapses, np.ndarray, ComposedSynapse]:
    src, tgt = d.population(proj.source), d.population(proj.target)
    owner = f"Projection '{proj.name}'"
    channel = tgt.model.channel(src.sign)
    if not same_dimensions(proj.weight, channel.unit):
        raise ParameterError(
            f"{owner}: parameter 'weight' = {proj.weight!r} has the wrong unit; target '{tgt.name}' "
            f"({type(tgt.model).__name__}, synapse='{tgt.model.synapse}') needs a weight in {channel.unit!s}"
        )
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
    namespace = {**comp.namespace, "J": proj.weight, "w_min": proj.w_min, "w_max": proj.w_max}
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
    i, j, dist = given if given is not None else _connect(proj, src, tgt, positions, d.seed)
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
    for code, every in comp.regularly:  # rules' slow per-synapse updates (see plasticity.base)
        syn.run_regularly(code, dt=every, when="start", order=-1)
    if standalone and len(i):
        _release_construction_arrays(syn, set(b2.get_device().static_arrays) - static_before, len(i))
    return syn, dist, comp


def _fit_pre_history(proj: Projection, src: Population, delays: Any, dt: Any) -> Any:
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


def _connect(
    proj: Projection, src: Population, tgt: Population, positions: Mapping[str, np.ndarray], seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    conn = proj.connectivity
    ps, pt = positions[src.name], positions[tgt.name]
    same = proj.source == proj.target
    if isinstance(conn, (AllToAll, OneToOne, ExplicitConnections)):
        if isinstance(conn, AllToAll):
            i, j = (a.ravel() for a in np.meshgrid(np.arange(src.n), np.arange(tgt.n), indexing="ij"))
            if same and not proj.autapses:
                keep = i != j
                i, j = i[keep], j[keep]
        elif isinstance(conn, OneToOne):
            i = j = np.arange(src.n)
        else:
            i, j = np.asarray(conn.i, dtype=int), np.asarray(conn.j, dtype=int)
        return i, j, np.linalg.norm(ps[i] - pt[j], axis=1) if len(i) else np.zeros(0)
    box = tgt.placement.bounds() if proj.periodic else None
    # Synapse order: by source, then by distance (so by delay). A spike's synapses that arrive in the same
    # step are then neighbours in memory, and their state is read a cache line at a time, not a line per
    # synapse (benchmark case c, 10,000 × 1,000: the E→E arrival pass got faster, see README).
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


def _make_background(inp: PoissonBackground, pop: Population, group: Any, seed: int) -> Any:
    channel = pop.model.channel(inp.sign)
    if not same_dimensions(inp.weight, channel.unit):
        raise ParameterError(
            f"PoissonBackground '{inp.name}': parameter 'weight' = {inp.weight!r} has the wrong unit; "
            f"'{pop.name}' needs {channel.unit!s}"
        )
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
    rec: Any, groups: Mapping[str, Any], synapses: Mapping[str, b2.Synapses]
) -> tuple[str, Any]:
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


__all__ = ["Simulation", "build", "default_target", "stream", "TARGETS", "metre"]
