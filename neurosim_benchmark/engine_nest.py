"""The reference network on NEST 3 (``iaf_psc_exp``; pair STDP as ``stdp_synapse``, additive), given the
same synapses and delays as every engine (``nest.Connect(pre, post, "one_to_one", syn_spec={arrays})``).

NEST has no synapse combining Tsodyks–Markram STP with STDP, so case (c) has no NEST run: it is compared with
NEST running pair STDP (case b) on the same network. The background is one ``poisson_generator`` at
``n_background·rate`` per neuron: Poisson counts, the same law as the other engines' Binomial(n_background,
rate·dt) per step to within ``rate·dt``. Repeats go on simulating the same network (same size, same
statistics); rates and events come from the first run only, as on the other engines.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import Hz, ms, mV, second

from neurosim import ParameterError

from .network import PROJECTIONS
from .timing import RunSpec, cpu_s, fastest_of, peak_rss_mb, per_synapse, rss_mb, spike_summary
from .wiring import Wiring, pruned

#: NEST ``iaf_psc_exp`` capacitance: a current jump of x mV (neurosim's voltage units) is x·C_m/τ_m pA.
C_M_PF = 250.0


def run_nest(spec: RunSpec, w: Wiring, work: Path) -> dict[str, Any]:
    """Build and run ``spec.network`` on NEST in this process; its figures (see :mod:`.timing`)."""
    import nest

    net = spec.network
    if net.case == "c":
        raise ParameterError(
            "NEST has no synapse model combining Tsodyks–Markram STP with STDP; compare case (c) with NEST's "
            "case (b) (pair STDP on the same network)"
        )
    res: dict[str, Any] = {}
    used = pruned(w, net.keep, net.seed)
    if hasattr(nest, "VerbosityLevel"):  # NEST 3.10; set_verbosity is deprecated there
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    rss0 = rss_mb()
    start = time.perf_counter()
    nest.SetKernelStatus(
        {
            "resolution": float(net.dt / ms),
            "local_num_threads": spec.threads,
            "rng_seed": net.seed + 1,
            "print_time": False,
        }
    )
    to_pA = C_M_PF / 20.0  # pA per mV of current jump (C_m / tau_m)
    params = {
        "C_m": C_M_PF,
        "tau_m": 20.0,
        "E_L": -70.0,
        "V_th": -50.0,
        "V_reset": -60.0,
        "t_ref": 2.0,
        "tau_syn_ex": 5.0,
        "tau_syn_in": 10.0,
        "I_e": 0.0,
        "tau_minus": 20.0,
    }
    pops = {
        "E": nest.Create("iaf_psc_exp", net.n_exc, params),
        "I": nest.Create("iaf_psc_exp", net.n_inh, params),
    }
    rng = np.random.default_rng(net.seed)
    for p in pops.values():
        p.V_m = (-70.0 + 20.0 * rng.random(len(p))).tolist()
    ids = {p: np.asarray(pops[p].tolist(), dtype=np.int64) for p in pops}
    J = net.weights_mV()
    if net.case == "b":
        J_pA = J["EE"] * to_pA
        nest.CopyModel(
            "stdp_synapse",
            "ee_stdp",
            {
                "tau_plus": 20.0,
                "lambda": 0.01,
                "alpha": 0.0105 / 0.01,
                "mu_plus": 0.0,
                "mu_minus": 0.0,
                "Wmax": J_pA,
            },
        )
    for name, src, tgt in PROJECTIONS:
        i, j, steps = used.connections[name]
        if not len(i):  # the floor (keep=0)
            continue
        weight = J[name] * to_pA * (1 if src == "E" else -1)
        model = "static_synapse"
        if name == "EE":
            weight *= net.w_init
            model = "ee_stdp" if net.case == "b" else model
        syn_spec = {
            "synapse_model": model,
            "weight": np.full(len(i), weight),
            "delay": steps.astype(np.float64) * float(net.dt / ms),
        }
        nest.Connect(ids[src][i], ids[tgt][j], "one_to_one", syn_spec=syn_spec)
    noise = nest.Create(
        "poisson_generator", params={"rate": float(net.n_background * net.background_rate / Hz)}
    )
    everyone = pops["E"] + pops["I"]
    nest.Connect(
        noise,
        everyone,
        syn_spec={"weight": float(net.j_background / mV) * to_pA, "delay": float(net.dt / ms)},
    )
    recorder = nest.Create("spike_recorder")
    nest.Connect(everyone, recorder)
    nest.Prepare()
    res["build_s"] = time.perf_counter() - start + w.sampling_s
    res["sampling_s"] = w.sampling_s
    res["n_synapses"] = int(nest.GetKernelStatus("num_connections")) - 2 * (net.n_exc + net.n_inh)
    res["compile_s"] = 0.0
    cpu0, start = cpu_s(), time.perf_counter()
    nest.Run(float(spec.duration / ms))
    first = time.perf_counter() - start
    res["sim_cpu_s"] = cpu_s() - cpu0

    def rerun() -> float:  # the network goes on for another duration: same size, same statistics
        start = time.perf_counter()
        nest.Run(float(spec.duration / ms))
        return time.perf_counter() - start

    res.update(fastest_of(first, spec.repeat, rerun))
    nest.Cleanup()
    events = recorder.get("events")
    senders, times = np.asarray(events["senders"]), np.asarray(events["times"]) / 1000.0
    first_run = times <= float(spec.duration / second)  # rates from the first run, as the other engines
    senders, times = senders[first_run], times[first_run]
    trains = {}
    for p in ("E", "I"):
        mask = np.isin(senders, ids[p])
        trains[p] = (senders[mask] - ids[p][0], times[mask])
    del used
    gc.collect()
    res["peak_rss_mb"] = peak_rss_mb()
    res["bytes_per_synapse"] = per_synapse(rss_mb() - rss0, res["n_synapses"])
    if spec.details:
        res["in_degree"] = {}
        for name, src, tgt in PROJECTIONS:
            targets = np.asarray(nest.GetConnections(pops[src], pops[tgt]).get("target"))
            res["in_degree"][name] = np.bincount(targets - ids[tgt][0], minlength=len(ids[tgt])).tolist()
    used = pruned(w, net.keep, net.seed)
    return {**res, **spike_summary(trains, spec, used)}
