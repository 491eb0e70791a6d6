"""Compaction: removing synapses from a built projection, and adding new ones, with their whole state.

Brian2 cannot delete synapses, so pruning *compacts*: :func:`resize_projection` replaces a projection's
``Synapses`` object by a new one holding only the survivors (plus any new synapses), with the same model,
code, namespace and delays, and copies every per-synapse state variable (``w``, each rule's variables,
``lastupdate``), the spikes still travelling along delayed pathways, and the periodic (``regularly``) code.
Pruned synapses then cost no time: the survivors keep their order, which is the order a fresh build of them
has, so a compacted network runs as a fresh build of its survivors does (same spikes and weights; the
benchmark measures the same speed), and their memory is freed. State monitors of the projection are
re-created for the surviving recorded synapses (the old monitor stays readable in ``sim.monitors`` under
``"<key>#<n>"``). Bookkeeping that follows the synapses (a controller's per-synapse counters) registers
with :func:`on_resize`.

:func:`draw_synapses` draws new synapses where none exist yet, from the projection's own distance kernel
(or another one), optionally preferring active neurons: the construction half of regrowth.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Sequence

import brian2 as b2
import numpy as np
from brian2 import second
from brian2.synapses.synapses import SynapticPathway

from ..connectivity import Kernel, resolve_kernel, sample_connections
from ..network import AllToAll, OneToOne
from ..validation import ParameterError, fail
from .construct import Connections, pattern_pairs
from .objects import BuiltNetwork, ResizeListener

#: Synapse variables rebuilt by ``connect`` rather than copied.
_STRUCTURAL = frozenset({"i", "j", "N_incoming", "N_outgoing"})


def _state_variables(syn: b2.Synapses) -> tuple[list[str], list[str]]:
    """Names of the per-synapse state variables of ``syn`` (w, rule variables, lastupdate) and of its
    shared (scalar) variables."""
    per_synapse, shared = [], []
    for name, var in syn.variables.items():
        owner = getattr(var, "owner", None)  # a weak proxy: compare by name
        if name.startswith("_") or name in _STRUCTURAL or owner is None or owner.name != syn.name:
            continue
        if isinstance(var, b2.core.variables.DynamicArrayVariable) and var.size == len(syn):
            per_synapse.append(name)
        elif isinstance(var, b2.core.variables.ArrayVariable) and var.scalar and not var.read_only:
            shared.append(name)
    return per_synapse, shared


def on_resize(net: BuiltNetwork, listener: ResizeListener) -> None:
    """Call ``listener(projection, kept_old_indices, n_added)`` after every resize of a projection of ``net``
    (to keep per-synapse bookkeeping aligned with the synapses)."""
    net.resize_listeners.append(listener)


def resize_projection(
    sim: BuiltNetwork,
    projection: str,
    keep: np.ndarray | Sequence[int],
    *,
    add_i: np.ndarray | None = None,
    add_j: np.ndarray | None = None,
    add_distance: np.ndarray | None = None,
    add_w: float | str | None = None,
) -> np.ndarray:
    """Replace ``projection``'s synapses by the survivors ``keep`` (a bool mask or index array over the
    current synapses), plus new synapses ``add_i → add_j`` (distances in µm give their delays).

    Survivors keep every state variable, their delays and their spikes in flight; new synapses start from
    the projection's initial values with ``w = add_w`` (default: the projection's ``w_init``). Returns the old
    indices of the survivors, in their new order (the new synapses follow them).
    """
    owner = f"resize_projection('{projection}')"
    if projection not in sim.synapses:
        fail(owner, "projection", projection, f"known projections: {sorted(sim.synapses)}")
    if sim.target == "cpp_standalone":
        raise ParameterError(
            f"{owner}: pruning needs a runtime target ('numpy' or 'cython'), not cpp_standalone"
        )
    old = sim.synapses[projection]
    n_old = len(old)
    kept = _as_index(owner, keep, n_old)
    add_i = np.zeros(0, dtype=np.int32) if add_i is None else np.asarray(add_i, dtype=np.int32)
    add_j = np.zeros(0, dtype=np.int32) if add_j is None else np.asarray(add_j, dtype=np.int32)
    if len(add_i) != len(add_j):
        fail(owner, "add_j", f"{len(add_j)} indices", f"needs as many as add_i ({len(add_i)})")
    n_keep, n_add = len(kept), len(add_i)
    proj = sim.description.projection(projection)
    comp = sim.composed[projection]

    pathways = list(old._pathways)
    on_pre = {p.objname: p.code for p in pathways if p.prepost == "pre"}
    on_post = {p.objname: p.code for p in pathways if p.prepost == "post"}
    scalar_delays = {  # pathways with one delay for all synapses (e.g. a zero-delay emission pathway)
        p.objname: float(np.asarray(p.variables["delay"].get_value()).ravel()[0]) * second
        for p in pathways
        if p.variables["delay"].scalar
    }
    new = b2.Synapses(
        old.source,
        old.target,
        model=comp.model,
        on_pre=on_pre,
        on_post=on_post or None,
        namespace=old.namespace,
        delay=scalar_delays or None,
        name=old.name,  # the same name generates the same code: compiled (cython) code is reused
    )
    i_all = np.concatenate([np.asarray(old.i[:], dtype=np.int32)[kept], add_i])
    j_all = np.concatenate([np.asarray(old.j[:], dtype=np.int32)[kept], add_j])
    if len(i_all):
        new.connect(i=i_all, j=j_all)
    else:  # Brian2 cannot connect empty index arrays
        new.connect(False)

    if add_distance is None:
        add_distance = np.zeros(n_add)
    add_delay = proj.delay.delays_ms(np.asarray(add_distance, dtype=float)) * 1e-3 if n_add else np.zeros(0)
    for p in pathways:
        if p.objname in scalar_delays:
            continue
        old_delay = np.asarray(p.variables["delay"].get_value())
        # a rule's extra pathway lags the conduction delay by a fixed amount (see plasticity.composer)
        extra = getattr(comp, "pathways", {}).get(p.objname, ("", 0 * second))[1] if p.prepost == "pre" else 0
        if len(old_delay) == n_old:
            values = np.concatenate([old_delay[kept], add_delay + float(extra / second if extra else 0.0)])
        else:  # a scalar delay
            values = np.full(n_keep + n_add, float(old_delay[0]) if len(old_delay) else 0.0)
        getattr(new, p.objname).variables["delay"].set_value(values)

    variables, shared = _state_variables(old)
    for name in shared:
        new.variables[name].set_value(old.variables[name].get_value())
    t_now = float(sim.t / second)
    for name in variables:
        values = np.asarray(old.variables[name].get_value())[kept]
        if n_add:
            fill = t_now if name == "lastupdate" else 0.0
            values = np.concatenate([values, np.full(n_add, fill, dtype=values.dtype)])
        new.variables[name].set_value(values)
    if n_add:
        fresh = slice(n_keep, n_keep + n_add)
        if comp.weight_is_state:
            new.w[fresh] = proj.w_init if add_w is None else add_w
        for var, value in comp.initial.items():
            getattr(new, var)[fresh] = value

    _move_spikes(pathways, new, kept, n_old)
    for runner in old.contained_objects:  # rules' periodic code (RuleCode.regularly)
        if isinstance(runner, b2.CodeRunner) and "run_regularly" in runner.name:
            new.run_regularly(
                runner.abstract_code,
                dt=runner.clock.dt,
                when=runner.when,
                order=runner.order,
                name=runner.name,
            )

    old._network = sim.network.id  # as if it had run (Brian2 warns of objects deleted without running)
    sim.network.remove(old)
    # Brian2's run_regularly also lists a Synapses among its source group's contained objects (meant for
    # subgroups): take the old one out there too, else the network would still run it.
    holders = [old.source, *[g for g in sim.groups.values() if old in g.contained_objects]]
    for holder in holders:
        while any(o is old for o in holder.contained_objects):
            holder.contained_objects.remove(old)
    sim.network.add(new)
    new._network = sim.network.id  # it is in the network (what Brian2 notes at the next run; silences a
    # warning should it be replaced again before running)
    sim.synapses[projection] = new
    add_d = np.asarray(add_distance, dtype=float) if n_add else np.zeros(0)
    sim.distances[projection] = np.concatenate([np.asarray(sim.distances[projection])[kept], add_d])
    _replace_monitors(sim, old, new, kept, n_old)
    for listener in list(sim.resize_listeners):
        listener(projection, kept, n_add)
    if n_old - n_keep >= _TRIM_AFTER:
        _release_freed_memory()
    return kept


#: Removing at least this many synapses hands the freed memory back to the operating system.
_TRIM_AFTER = 100_000


def _release_freed_memory() -> None:
    """Return freed heap memory to the operating system (glibc's ``malloc_trim``; elsewhere nothing).

    The old synapses' arrays are freed, but glibc keeps freed heap pages for reuse: measured on the
    benchmark network pruned to 10 %, the process stayed ~360 MB larger than a fresh build of the kept
    synapses until ``malloc_trim(0)``. A few milliseconds, paid only after a large removal.
    """
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (macOS, musl): its allocator decides
        trim = None
    if trim is not None:
        trim(0)


def compact(sim: BuiltNetwork, projection: str, keep: np.ndarray | Sequence[int]) -> np.ndarray:
    """Remove every synapse of ``projection`` not in ``keep`` (bool mask or indices), keeping the survivors'
    state exactly (see :func:`resize_projection`). Returns the old indices of the survivors."""
    return resize_projection(sim, projection, keep)


def _as_index(owner: str, keep: np.ndarray | Sequence[int], n: int) -> np.ndarray:
    keep = np.asarray(keep)
    if keep.dtype == bool:
        if keep.shape != (n,):
            fail(owner, "keep", f"bool mask of shape {keep.shape}", f"needs one entry per synapse ({n})")
        return np.flatnonzero(keep)
    idx = np.asarray(keep, dtype=np.int64).ravel()
    if len(idx) and (idx.min() < 0 or idx.max() >= n):
        fail(owner, "keep", f"indices up to {idx.max()}", f"synapse indices must lie in [0, {n - 1}]")
    if len(np.unique(idx)) != len(idx):
        fail(owner, "keep", "repeated indices", "each synapse may be kept once")
    return np.sort(idx)


def _move_spikes(pathways: list[SynapticPathway], new: b2.Synapses, kept: np.ndarray, n_old: int) -> None:
    """Carry the spikes still in flight on each pathway over to the new synapse indices."""
    remap = np.full(max(n_old, 1), -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    carry_spikes(pathways, new, remap[:, None])


def carry_spikes(pathways: list[SynapticPathway], new: b2.Synapses, targets: np.ndarray) -> None:
    """Carry the spikes still in flight on each of ``pathways`` over to the same pathway of ``new``: a spike
    due at old synapse ``k`` becomes a spike due at each of the new synapses ``targets[k]`` (−1: none), in
    the same step."""
    targets = np.asarray(targets, dtype=np.int64)
    for p in pathways:
        queue = getattr(p, "queue", None)
        if queue is None:
            continue
        state = queue._full_state()
        target = getattr(new, p.objname).queue
        if len(state) == 2:  # C++ queue: (offset, [synapse indices per future step])
            offset, lists = state
            moved = []
            for entries in lists:
                idx = targets[np.asarray(entries, dtype=np.int64)].ravel() if len(entries) else targets[:0, 0]
                moved.append([int(k) for k in idx[idx >= 0]])
            target._restore_from_full_state((offset, moved))
        else:  # Python queue: (dt, [[steps ahead, synapse]], shape)
            dt, spikes, shape = state
            spikes = np.asarray(spikes, dtype=int).reshape(-1, 2)
            idx = targets[spikes[:, 1]] if len(spikes) else targets[:0]
            steps = np.repeat(spikes[:, 0], idx.shape[1])
            idx = idx.ravel()
            spikes = np.column_stack([steps, idx])[idx >= 0]
            target._restore_from_full_state((dt, spikes, shape))


def _replace_monitors(
    sim: BuiltNetwork, old: b2.Synapses, new: b2.Synapses, kept: np.ndarray, n_old: int
) -> None:
    remap = np.full(max(n_old, 1), -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    for key, mon in list(sim.monitors.items()):
        if getattr(mon, "source", None) is not old:
            continue
        record = np.asarray(mon.record)
        if record.dtype == bool:
            rec: bool | list[int] = bool(record)
        else:
            mapped = remap[record[record < n_old]]
            rec = [int(k) for k in mapped[mapped >= 0]]
        sim.network.remove(mon)
        replacement = b2.StateMonitor(
            new, list(mon.record_variables), record=rec, dt=mon.clock.dt, name=mon.name
        )
        sim.network.add(replacement)
        n = 1 + sum(1 for k in sim.monitors if k.startswith(key + "#"))
        sim.monitors[f"{key}#{n}"] = mon
        sim.monitors[key] = replacement


def draw_synapses(
    sim: BuiltNetwork,
    projection: str,
    count: int,
    rng: np.random.Generator | int | None = None,
    *,
    kernel: Kernel | None = None,
    activity_bias: float = 0.0,
    pre_rate: np.ndarray | None = None,
    post_rate: np.ndarray | None = None,
    keep: np.ndarray | None = None,
) -> Connections:
    """Up to ``count`` new synapses of ``projection`` where none exist yet: ``(pre, post, distance_um)``.

    Candidates are drawn from ``kernel`` (default: the projection's own connectivity); with ``pre_rate`` and
    ``post_rate`` (Hz per neuron) a pair is chosen with probability ∝ ((r_pre + r0)(r_post + r0))^
    ``activity_bias``, else uniformly. ``keep``: bool mask of the current synapses that stay (the others are
    about to be removed and may be drawn again); default all."""
    owner = f"regrow('{projection}')"
    rng = np.random.default_rng(rng)
    proj = sim.description.projection(projection)
    src, tgt = sim.description.population(proj.source), sim.description.population(proj.target)
    ps, pt = sim.positions[proj.source], sim.positions[proj.target]
    same = proj.source == proj.target
    kernel = kernel if kernel is not None else proj.connectivity
    box = tgt.placement.bounds() if proj.periodic else None
    syn = sim.synapses[projection]
    existing = np.asarray(syn.i[:], dtype=np.int64) * tgt.n + np.asarray(syn.j[:], dtype=np.int64)
    if keep is not None:
        existing = existing[np.asarray(keep, dtype=bool)]
    if isinstance(kernel, Kernel):
        if not kernel.resolved:
            kernel = resolve_kernel(kernel, ps, pt, box, proj.autapses or not same)
        # Draw from the kernel until there are enough free pairs (several draws: a pair drawn twice counts
        # once, which slightly favours low-probability pairs when p(d) is close to 1).
        pieces: list[Connections] = []
        seen = existing
        for _ in range(20):
            di, dj, dd = sample_connections(
                ps, pt, kernel, rng, periodic_box=box, autapses=proj.autapses, same_population=same
            )
            keys = np.asarray(di, dtype=np.int64) * tgt.n + dj
            fresh = ~np.isin(keys, seen)
            pieces.append((di[fresh], dj[fresh], dd[fresh]))
            seen = np.concatenate([seen, keys[fresh]])
            if sum(len(p[0]) for p in pieces) >= 4 * count or not fresh.any():
                break
        ci, cj, cd = (np.concatenate([p[k] for p in pieces]) for k in range(3))
    elif isinstance(kernel, (AllToAll, OneToOne)):
        ci, cj = pattern_pairs(kernel, proj, src.n, tgt.n)
        cd = np.linalg.norm(ps[ci] - pt[cj], axis=1)
        free = ~np.isin(np.asarray(ci, dtype=np.int64) * tgt.n + cj, existing)
        ci, cj, cd = ci[free], cj[free], cd[free]
    else:
        fail(owner, "kernel", kernel, "regrowth needs a distance kernel (give Regrowth(kernel=...))")
    n = min(count, len(ci))
    if n == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0)
    p = None
    if activity_bias > 0 and pre_rate is not None and post_rate is not None:
        pre_rate, post_rate = np.asarray(pre_rate, dtype=float), np.asarray(post_rate, dtype=float)
        r0 = 0.01 * max(float(np.mean(pre_rate)), float(np.mean(post_rate)), 1e-3)
        weight = ((pre_rate[ci] + r0) * (post_rate[cj] + r0)) ** activity_bias
        p = weight / weight.sum()
    chosen = np.sort(rng.choice(len(ci), size=n, replace=False, p=p))
    return ci[chosen].astype(np.int32), cj[chosen].astype(np.int32), np.asarray(cd, dtype=float)[chosen]


__all__ = ["compact", "draw_synapses", "on_resize", "resize_projection"]
