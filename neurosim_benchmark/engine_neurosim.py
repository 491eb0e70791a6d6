"""The reference network on neurosim itself: ``build(description)`` (which places and samples on its own)
then ``Simulation.run``; pruned networks are pruned by :meth:`neurosim.Simulation.compact` on runtime targets,
or (``RunSpec.pruning == "fresh"``, and always on cpp_standalone) built with only the kept synapses.

A pruned run keeps exactly the synapses the other engines keep (:func:`~neurosim_benchmark.wiring.pruned`);
the number of synapses neurosim built is checked against the shared wiring, so every engine runs the same
network.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import ms, second

from neurosim import build

from .network import PROJECTIONS
from .timing import RunSpec, rss_mb, spike_summary, standalone_prefs, time_runtime, time_standalone
from .wiring import Wiring, pruned


def run_neurosim(spec: RunSpec, w: Wiring, work: Path) -> dict[str, Any]:
    """Build and run ``spec.network`` with neurosim in this process; its figures (see :mod:`.timing`)."""
    net = spec.network
    res: dict[str, Any] = {}
    stats = work / "binary_stats.json"
    if spec.target == "cpp_standalone":
        directory = work / f"build_neurosim_{net.case}_{net.stdp}_{spec.threads}t"
    else:
        directory = None
    rss0 = rss_mb()
    start = time.perf_counter()
    if net.keep < 1:  # the pruned network: the same synapses as the other engines' subset
        kept = pruned(w, net.keep, net.seed)
        given = {n: (c[0], c[1], kept.distances(n)) for n, c in kept.connections.items()}
        # compaction needs a runtime target: cpp_standalone always builds the kept synapses only
        compacting = spec.pruning == "compact" and spec.target != "cpp_standalone"
        sim = build(
            net.description(),
            target=spec.target,
            directory=directory,
            threads=spec.threads,
            connections=None if compacting else given,
        )
        if compacting:  # the whole network, then pruned for real
            for name in sim.synapses:
                i, j = sim.connections(name)
                gi, gj = given[name][0], given[name][1]
                keep = np.isin(i.astype(np.int64) * net.n + j, gi.astype(np.int64) * net.n + gj)
                sim.compact(name, keep)
        res["pruning"] = "compact" if compacting else "fresh"
    else:
        sim = build(net.description(), target=spec.target, directory=directory, threads=spec.threads)
    if net.case == "c":
        net.set_stp_state(sim)
    res["build_s"] = time.perf_counter() - start
    res["n_synapses"] = pruned(w, net.keep, net.seed).n_synapses  # checked against Brian2's count below
    if spec.target == "cpp_standalone":
        standalone_prefs(spec.threads, stats)
        figures = time_standalone(
            lambda: sim.run(spec.duration, progress=False),
            stats=stats,
            directory=sim.directory,
            results=f"results_{os.getpid()}",
            repeat=spec.repeat,
            n_synapses=res["n_synapses"],
        )
    else:
        figures = time_runtime(
            lambda t: sim.run(t, progress=False),
            spec.duration,
            rss_before=rss0,
            n_synapses=res["n_synapses"],
        )
    res.update(figures)
    n_built = int(sum(len(s) for s in sim.synapses.values()))
    if n_built != res["n_synapses"]:
        raise RuntimeError(f"neurosim built {n_built} synapses, the shared wiring has {res['n_synapses']}")
    trains = {p: (np.asarray(sim.spikes(p)[0]), np.asarray(sim.spikes(p)[1] / second)) for p in ("E", "I")}
    if spec.details:
        res["in_degree"] = {
            n: np.bincount(sim.connections(n)[1], minlength=sim.description.population(t).n).tolist()
            for n, _, t in PROJECTIONS
        }
        res["delay_steps"] = {
            n: np.rint(np.asarray(sim.synapses[n].delay[:] / ms) / float(net.dt / ms)).astype(int).tolist()
            for n, _, _ in PROJECTIONS
        }
    used = pruned(w, net.keep, net.seed) if net.keep < 1 else w
    return {**res, **spike_summary(trains, spec, used)}
