"""The reference network on NEST built from its neurosim description: ``build(description, engine="nest")``.

Where :mod:`.engine_nest` writes the NEST script by hand, this engine hands NEST the very description the
neurosim engine builds (``BenchmarkNetwork.description()``): the NEST backend draws the same positions,
synapses and delays from the seed and maps the models and rules itself (``iaf_psc_exp``, E→E pair STDP as
``stdp_synapse``). So the row compares one description on both engines, and the gap to the hand-written
script is the cost of the backend. Case (c) (STP + STDP + eligibility on one synapse) has no NEST synapse
model and fails at build, naming the rules.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import second

from neurosim import build

from .network import PROJECTIONS
from .timing import RunSpec, cpu_s, fastest_of, peak_rss_mb, per_synapse, rss_mb, spike_summary
from .wiring import Wiring, pruned


def run_nest_description(spec: RunSpec, w: Wiring, work: Path) -> dict[str, Any]:
    """Build ``spec.network``'s description on NEST with ``spec.threads`` threads and run it; its figures
    (see :mod:`.timing`)."""
    net = spec.network
    used = pruned(w, net.keep, net.seed) if net.keep < 1 else w
    given = None
    if net.keep < 1:  # the pruned network: the kept synapses, as every engine gets them
        given = {n: (c[0], c[1], used.distances(n)) for n, c in used.connections.items()}
    res: dict[str, Any] = {}
    rss0 = rss_mb()
    start = time.perf_counter()
    sim = build(net.description(), engine="nest", threads=spec.threads, connections=given)
    res["build_s"] = time.perf_counter() - start
    res["n_synapses"] = used.n_synapses
    n_built = sum(sim.n_synapses(name) for name, _, _ in PROJECTIONS)
    if n_built != res["n_synapses"]:
        raise RuntimeError(
            f"the NEST backend built {n_built} synapses, the shared wiring has {res['n_synapses']}"
        )
    cpu0, start = cpu_s(), time.perf_counter()
    sim.run(0 * second)  # NEST prepares its kernel on the first run
    res["compile_s"] = time.perf_counter() - start
    start = time.perf_counter()
    sim.run(spec.duration)
    first = time.perf_counter() - start
    res["sim_cpu_s"] = cpu_s() - cpu0
    trains = {}
    for p in ("E", "I"):
        i, t = sim.spikes(p)
        trains[p] = (np.asarray(i), np.asarray(t / second))

    def rerun() -> float:  # the network goes on for another duration: same size, same statistics
        start = time.perf_counter()
        sim.run(spec.duration)
        return time.perf_counter() - start

    res.update(fastest_of(first, spec.repeat, rerun))
    res["peak_rss_mb"] = peak_rss_mb()
    res["bytes_per_synapse"] = per_synapse(rss_mb() - rss0, res["n_synapses"])
    return {**res, **spike_summary(trains, spec, used)}
