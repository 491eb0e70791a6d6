"""The reference network as a plain, hand-written Brian2 script: what a Brian2 user writes, with no
neurosim builder and no rule composer, given the same synapses and delays as every engine.

The plastic E→E synapse is written the way a Brian2 user would (w bounded to [0, 1]): with
``stdp="neuron"`` the STDP traces live on the neurons (as :class:`~neurosim.plasticity.FastPairSTDP`),
otherwise they are event-driven per synapse. Case (c) follows the library's formulation: the eligibility c is
stored relative to the next update tick (one write per spike), STP is brought up to date at arrivals only (no
event-driven variables), and a ``run_regularly`` turns eligibility and dopamine (none is delivered) into w.
The background is ``PoissonInput``: per neuron and step Binomial(n_background, rate·dt) input spikes, the law
neurosim draws with its own counter-based generator.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import brian2 as b2
import numpy as np
from brian2 import Hz, NeuronGroup, PoissonInput, SpikeMonitor, Synapses, TimedArray, ms, mV, second
from filelock import FileLock

from .network import PROJECTIONS
from .timing import RunSpec, rss_mb, spike_summary, standalone_prefs, time_runtime, time_standalone
from .wiring import Wiring, pruned


def run_brian2(spec: RunSpec, w: Wiring, work: Path) -> dict[str, Any]:
    """Write and run ``spec.network`` as a plain Brian2 script in this process; its figures (see
    :mod:`.timing`)."""
    net = spec.network
    res: dict[str, Any] = {}
    stats = work / "binary_stats.json"
    standalone = spec.target == "cpp_standalone"
    directory = work / f"build_brian2_{net.case}_{net.stdp}_{spec.threads}t"
    rss0 = rss_mb()
    start = time.perf_counter()
    if standalone:
        b2.set_device("cpp_standalone", build_on_run=False, directory=str(directory))
        b2.device.reinit()
        b2.device.activate(build_on_run=False, directory=str(directory))
        standalone_prefs(spec.threads, stats)
    else:
        if type(b2.get_device()).__name__ != "RuntimeDevice":
            b2.device.reinit()
            b2.set_device("runtime")
        b2.prefs.codegen.target = spec.target
    b2.start_scope()
    b2.defaultclock.dt = net.dt
    b2.seed(net.seed)
    neuron = {
        "tau_m": 20 * ms,
        "E_L": -70 * mV,
        "v_th": -50 * mV,
        "v_reset": -60 * mV,
        "tau_exc": 5 * ms,
        "tau_inh": 10 * ms,
        "tau_plus": 20 * ms,
        "tau_minus": 20 * ms,
    }
    eqs = """dv/dt = (E_L - v + I_exc + I_inh)/tau_m : volt (unless refractory)
             dI_exc/dt = -I_exc/tau_exc : volt
             dI_inh/dt = -I_inh/tau_inh : volt"""
    fast = net.case in ("b", "c") and net.stdp == "neuron"
    eqs_e, reset_e = eqs, "v = v_reset"
    if fast:  # STDP traces on the neurons (as FastPairSTDP)
        eqs_e += "\ndapre/dt = -apre/tau_plus : 1\ndapost/dt = -apost/tau_minus : 1"
        reset_e += "\napre += 1\napost += 1"
    common = dict(threshold="v > v_th", refractory=2 * ms, method="exact", namespace=neuron)
    groups = {
        "E": NeuronGroup(net.n_exc, eqs_e, reset=reset_e, name="E", **common),
        "I": NeuronGroup(net.n_inh, eqs, reset="v = v_reset", name="I", **common),
    }
    for g in groups.values():
        g.v = "E_L + rand()*(v_th - E_L)"
    J = net.weights_mV()
    used = pruned(w, net.keep, net.seed)
    synapses = []
    stdp = {"A_plus": 0.01, "A_minus": 0.0105, "taupre": 20 * ms, "taupost": 20 * ms}
    for name, src, tgt in PROJECTIONS:
        i, j, steps = used.connections[name]
        if not len(i):  # the floor (keep=0): a script has no synapses to create
            continue
        var = "I_exc" if src == "E" else "I_inh"
        sign = "+" if src == "E" else "-"
        ns = {"J": J[name] * mV, **stdp}
        model, on_pre, on_post, extra, delay = "w : 1", f"{var}_post {sign}= J*w", None, {}, None
        if name == "EE" and net.case in ("b", "c"):
            next_tick = "exp(-(P*(floor((t + 0.5*dt)/P) + 1) - t)/tau_c)"
            update = "w = clip(w + dw, 0, 1)" if net.case == "b" else f"c += dw*{next_tick}"
            if fast:
                extra = {"emission": f"dw = -A_minus*apost_post\n{update}"}
                delay = {"emission": 0 * ms}
                on_post = f"dw = A_plus*(apre_pre + int(lastspike_pre == t))\n{update}"
            else:
                model += "\ndapre/dt = -apre/taupre : 1 (event-driven)"
                model += "\ndapost/dt = -apost/taupost : 1 (event-driven)"
                on_pre += f"\napre += 1\ndw = -A_minus*apost\n{update}"
                on_post = f"apost += 1\ndw = A_plus*apre\n{update}"
            if net.case == "c":
                model += "\nx : 1\ntx : second\nc : 1"
                on_pre = on_pre.replace(
                    f"{var}_post {sign}= J*w",
                    "x = 1 - (1 - x)*exp(-(t - tx)/tau_d)\ntx = t\n"
                    f"r = U*x\nx -= r\n{var}_post {sign}= J*w*r",
                )
            if net.case == "c":
                ns.update(
                    U=net.stp_U,
                    tau_d=net.stp_tau_d,
                    tau_c=net.tau_c,
                    eta=100 * Hz,
                    tonic_int=0 * second,
                    P=net.reward_period,
                )
                rows = int(round(float(10 * second / net.reward_period)))
                ns["D"] = TimedArray(np.zeros(rows) * second, dt=net.reward_period, name="dopamine")
        syn = Synapses(
            groups[src],
            groups[tgt],
            model,
            on_pre={"pre": on_pre, **extra},
            on_post=on_post,
            namespace=ns,
            delay=delay,
            name=name,
        )
        syn.connect(i=i, j=j)
        syn.delay = steps * net.dt
        syn.w = net.w_init if name == "EE" else 1.0
        if name == "EE" and net.case == "c":
            syn.x = net.stp_x0
            syn.run_regularly(
                "w = clip(w + eta*c*(tonic_int + D(t)), 0, 1)\nc = c*exp(-P/tau_c)",
                dt=net.reward_period,
                when="start",
                order=-1,
            )
        synapses.append(syn)
    rate = net.background_rate
    inputs = [
        PoissonInput(g, "I_exc", net.n_background, rate, weight=net.j_background) for g in groups.values()
    ]
    monitors = {p: SpikeMonitor(g) for p, g in groups.items()}
    network = b2.Network(*groups.values(), *synapses, *inputs, *monitors.values())
    res["build_s"] = time.perf_counter() - start + w.sampling_s
    res["sampling_s"] = w.sampling_s
    res["n_synapses"] = used.n_synapses
    if standalone:
        network.run(spec.duration)

        def build_and_run() -> None:
            with FileLock(str(directory) + ".lock"):  # one build at a time per folder
                b2.device.build(directory=str(directory), compile=True, run=True, with_output=False)

        figures = time_standalone(
            build_and_run,
            stats=stats,
            directory=directory,
            results="results",
            repeat=spec.repeat,
            n_synapses=res["n_synapses"],
        )
    else:
        figures = time_runtime(network.run, spec.duration, rss_before=rss0, n_synapses=res["n_synapses"])
    res.update(figures)
    trains = {p: (np.asarray(m.i[:]), np.asarray(m.t[:] / second)) for p, m in monitors.items()}
    if spec.details:
        res["in_degree"] = {
            s.name: np.bincount(np.asarray(s.j[:]), minlength=len(s.target)).tolist() for s in synapses
        }
    return {**res, **spike_summary(trains, spec, used)}
