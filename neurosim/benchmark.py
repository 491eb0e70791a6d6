"""Performance benchmark: one reference network on neurosim, on NEST and as a hand-written Brian2 script.

The network (issue 6; ``shared/performance.md``): ``N`` LIF neurons, 80 % excitatory (E) and 20 % inhibitory
(I), current-based exponential synapses (NEST ``iaf_psc_exp``), placed uniformly in a 1 mm cube. Each of the
four projections (E→E, E→I, I→E, I→I) draws synapses with a Gaussian distance kernel whose width is solved for
the wanted mean in-degree (``0.8 K`` from E, ``0.2 K`` from I); delays are 0.5 ms + distance/(0.5 m/s);
each neuron receives an independent Poisson background. E→E synapses carry

* (a) no plasticity;
* (b) pair STDP (additive, all-to-all; :class:`~neurosim.plasticity.fast_stdp.FastPairSTDP` by default, or
  the per-synapse-trace :class:`~neurosim.plasticity.stdp.PairSTDP` with ``stdp="synapse"``);
* (c) Tsodyks–Markram STP + pair STDP + an eligibility trace
  (:class:`~neurosim.plasticity.reward.RewardModulated`: STDP's dw feeds the trace, dopamine turns it into w;
  no dopamine is delivered). By default STP keeps its state on the presynaptic neuron
  (:class:`~neurosim.plasticity.fast_stp.FastTsodyksMarkram`: one update per spike, not per spike and
  synapse; ``stdp="synapse"``: per-synapse ``TsodyksMarkram`` and ``PairSTDP``), and the eligibility is
  settled once per presynaptic spike and tick, so a postsynaptic spike does not pay for either at each of its
  incoming synapses.

Scaling with K (balanced-network scaling, van Vreeswijk & Sompolinsky 1996): ``J_E = j_exc·sqrt(100/K)``
keeps the recurrent fluctuations independent of K, inhibitory weights are ``g·J_E``, and the background rate
rises with K to cancel the growing net inhibition at the target rate (mean-field), so every size fires at
about the same rate (≈7 Hz, irregular). In case (c) the E→E weight scale is divided by the STP efficacy
expected at that rate, so all cases get the same mean input. A pruned network (``keep=0.1``: a random 10 % of
every projection's synapses) is scaled the same way for its remaining in-degree ``K·keep``, so it fires at the
same rate and the speed comparison is at matched activity. ``keep=0`` is the *floor*: the same neurons, rules
and background with no recurrent synapse at all (driven by the background alone, so it fires less): the time
no pruning can go below, which bounds the pruned speed-up of that engine (``T_unpruned / T_floor``).

Equivalence across engines: positions and synapses are drawn by neurosim's own code (:func:`wiring`: the same
random streams as :func:`neurosim.build.build`), then given to NEST (``nest.Connect(pre, post,
"one_to_one", syn_spec={... arrays ...})``) and to the plain Brian2 script as index arrays with the same
delays (in whole time steps); every engine gets the synapses in the order neurosim uses (by source, then
distance). NEST has no synapse combining STP with STDP: for case (c) the issue's reference is NEST running
pair STDP (case b) on the same network. The background has the same law everywhere (per neuron and step,
Binomial(n_background, rate·dt) input spikes): neurosim draws it with its counter-based generator
(:mod:`neurosim.background`), the plain Brian2 script with ``PoissonInput`` (what a Brian2 user writes);
NEST's ``poisson_generator`` at ``n_background·rate`` gives Poisson counts, the same law to within
``rate·dt``.

Figures per run (:func:`measure`, one engine in one process; :func:`run_isolated` starts that process so
that peak memory is the run's own and a crash loses one row): build seconds (placement + connection + the
engine's objects; ``sampling_s`` is the shared part), compile seconds, simulation seconds per biological
second (wall, and CPU), synaptic events per second (spikes × out-degree, per wall second of simulation),
peak memory, bytes per synapse, firing rates and ISI CV. ``experiments/benchmark.py`` is the command line.
"""

from __future__ import annotations

import gc
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import Hz, Quantity, ms, mV, second

from .io import atomic_write
from .serialization import Describable
from .validation import ParameterError, check_choice, check_number

CASES = {
    "a": "no plasticity",
    "b": "pair STDP",
    "c": "TM STP + pair STDP + eligibility trace",
}
SIZES = ((2_000, 100), (10_000, 100), (10_000, 1_000), (20_000, 1_000))
ENGINES = ("neurosim", "brian2", "nest")
TARGETS = ("numpy", "cython", "cpp_standalone")
PROJECTIONS = (("EE", "E", "E"), ("EI", "E", "I"), ("IE", "I", "E"), ("II", "I", "I"))

#: NEST ``iaf_psc_exp`` capacitance: a current jump of x mV (neurosim's voltage units) is x·C_m/τ_m pA.
C_M_PF = 250.0


@dataclass(frozen=True)
class BenchmarkNetwork(Describable):
    """The reference network for one size and plasticity case (see the module docstring)."""

    n: int = 2_000  # neurons (80 % E, 20 % I)
    k: int = 100  # mean in-degree (all inputs of one neuron)
    case: str = "a"  # "a" (static), "b" (pair STDP), "c" (STP + STDP + eligibility trace)
    # "neuron": FastPairSTDP and FastTsodyksMarkram (state per neuron); "synapse": PairSTDP, TsodyksMarkram
    stdp: str = "neuron"
    seed: int = 1
    dt: Quantity = 0.1 * ms
    exc_fraction: float = 0.8
    j_exc: Quantity = 2 * mV  # E current jump at K = 100 (PSP ≈ 0.31 mV); scales as sqrt(100/K)
    g: float = 4.0  # inhibitory / excitatory weight ratio (inhibition-dominated with tau_inh = 2 tau_exc)
    target_rate: Quantity = 7 * Hz  # rate assumed by the mean-field background tuning
    drive: Quantity = (
        16 * mV
    )  # net mean input (background + recurrent) aimed for; threshold is 20 mV above rest
    n_background: int = 100  # Poisson fibres per neuron
    j_background: Quantity = 1 * mV  # current jump per background spike
    w_init: float = 0.5  # initial E→E w (w_max = 1): room for potentiation and depression
    stp_U: float = 0.2  # Tsodyks–Markram utilisation (case c)
    stp_tau_d: Quantity = 200 * ms  # Tsodyks–Markram recovery (case c)
    tau_c: Quantity = 1 * second  # eligibility time constant (case c)
    reward_period: Quantity = 100 * ms  # RewardModulated weight-update period (case c)
    keep: float = 1.0  # fraction of synapses kept (pruned: 0.1; 0: the floor); weights scaled for K·keep

    def __post_init__(self) -> None:
        check_number("BenchmarkNetwork", "n", self.n, low=10, integer=True)
        check_number("BenchmarkNetwork", "k", self.k, low=1, integer=True)
        check_choice("BenchmarkNetwork", "case", self.case, tuple(CASES))
        check_choice("BenchmarkNetwork", "stdp", self.stdp, ("neuron", "synapse"))
        check_number("BenchmarkNetwork", "keep", self.keep, low=0, high=1)
        if self.k * self.exc_fraction >= self.n_exc or self.k * (1 - self.exc_fraction) >= self.n_inh:
            raise ParameterError(
                f"BenchmarkNetwork: parameter 'k' = {self.k} is too large for n = {self.n}; "
                "each population must offer more sources than the in-degree it provides"
            )

    # -- derived parameters ----------------------------------------------------------------------------
    @property
    def n_exc(self) -> int:
        return int(round(self.n * self.exc_fraction))

    @property
    def n_inh(self) -> int:
        return self.n - self.n_exc

    @property
    def k_eff(self) -> float:
        """In-degree left after pruning, which sets the weights and the background."""
        return self.k * self.keep

    @property
    def J_E(self) -> Quantity:
        """Excitatory current jump (volt) of a static synapse (the floor, ``keep=0``, has none: K's jump)."""
        return self.j_exc * math.sqrt(100.0 / (self.k_eff or self.k))

    @property
    def stp_efficacy(self) -> float:
        """Mean Tsodyks–Markram efficacy U·x at the target rate (steady state of pure depression)."""
        rate_tau = float(self.target_rate * self.stp_tau_d)
        return self.stp_U / (1.0 + self.stp_U * rate_tau)

    @property
    def stp_x0(self) -> float:
        """Steady-state resources at the target rate, ``1/(1 + U·r·τ_d)`` (the mean x at the spikes of a
        Poisson train): every engine starts there, so no start-up transient distorts short runs."""
        return self.stp_efficacy / self.stp_U

    def set_stp_state(self, sim: Any) -> None:
        """Start case (c)'s E→E resources at :attr:`stp_x0` (on the E neurons with FastTsodyksMarkram)."""
        if self.stdp == "neuron":
            sim.groups["E"].stp_x = self.stp_x0
        else:
            sim.synapses["EE"].stp_x = self.stp_x0

    @property
    def J_EE(self) -> float:
        """E→E weight scale J (mV) such that J·w_init·efficacy = J_E."""
        eff = self.stp_efficacy if self.case == "c" else 1.0
        return float(self.J_E / mV) / (self.w_init * eff)

    def weights_mV(self) -> dict[str, float]:
        """J per projection in mV (positive; the sign comes from the source population)."""
        je = float(self.J_E / mV)
        return {"EE": self.J_EE, "EI": je, "IE": self.g * je, "II": self.g * je}

    @property
    def background_rate(self) -> Quantity:
        """Rate per background fibre: the drive minus the recurrent mean input at the target rate."""
        tau_exc, tau_inh = 5 * ms, 10 * ms
        f = self.exc_fraction
        recurrent = self.target_rate * self.k_eff * self.J_E * (f * tau_exc - (1 - f) * self.g * tau_inh)
        return (self.drive - recurrent) / (self.n_background * self.j_background * tau_exc)

    def rules(self) -> tuple[Any, ...]:
        """The E→E plasticity rules of this case."""
        from .plasticity import PairSTDP, TsodyksMarkram
        from .plasticity.fast_stdp import FastPairSTDP
        from .plasticity.fast_stp import FastTsodyksMarkram
        from .plasticity.reward import RewardModulated

        if self.case == "a":
            return ()
        stdp = FastPairSTDP() if self.stdp == "neuron" else PairSTDP()
        if self.case == "b":
            return (stdp,)
        stp = FastTsodyksMarkram if self.stdp == "neuron" else TsodyksMarkram
        return (
            stp(U=self.stp_U, tau_d=self.stp_tau_d, tau_f=None),
            stdp,
            RewardModulated(tau_c=self.tau_c, period=self.reward_period),
        )

    def description(self) -> Any:
        """The neurosim :class:`~neurosim.network.NetworkDescription` of this network."""
        from .connectivity import GaussianKernel
        from .network import NetworkDescription, PoissonBackground, Population, Projection, SpikeRecording
        from .neurons import LIF

        lif = LIF()  # tau_m 20 ms, rest -70, threshold -50, reset -60, 2 ms refractory, exponential synapses
        init = {"v": "E_L + rand()*(v_threshold - E_L)"}
        pops = (
            Population("E", self.n_exc, lif, sign="excitatory", initial=init),
            Population("I", self.n_inh, lif, sign="inhibitory", initial=init),
        )
        J = self.weights_mV()
        projs = []
        for name, src, tgt in PROJECTIONS:
            share = self.exc_fraction if src == "E" else 1 - self.exc_fraction
            plastic = name == "EE"
            projs.append(
                Projection(
                    name,
                    src,
                    tgt,
                    weight=J[name] * mV,
                    connectivity=GaussianKernel(in_degree=self.k * share),
                    rules=self.rules() if plastic else (),
                    w_init=self.w_init if plastic else 1.0,
                    w_max=1.0,
                )
            )
        inputs = tuple(
            PoissonBackground(f"bg{p}", p, self.background_rate, self.n_background, self.j_background)
            for p in ("E", "I")
        )
        return NetworkDescription(
            populations=pops,
            projections=tuple(projs),
            inputs=inputs,
            recordings=(SpikeRecording("E"), SpikeRecording("I")),
            seed=self.seed,
            dt=self.dt,
        )


# ---------------------------------------------------------------------------------------------- wiring


@dataclass
class Wiring:
    """Positions (µm) and synapses shared by every engine: ``connections[name] = (i, j, delay_steps)``."""

    positions: dict[str, np.ndarray]
    connections: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    sampling_s: float  # seconds neurosim's code took to place the neurons and draw the synapses

    @property
    def n_synapses(self) -> int:
        return int(sum(len(c[0]) for c in self.connections.values()))

    def distances(self, name: str) -> np.ndarray:
        """Distances (µm) of one projection's synapses (for building neurosim from this wiring)."""
        src, tgt = next((s, t) for n, s, t in PROJECTIONS if n == name)
        i, j, _ = self.connections[name]
        return np.linalg.norm(self.positions[src][i] - self.positions[tgt][j], axis=1)


def wiring(net: BenchmarkNetwork, cache: str | Path | None = None) -> Wiring:
    """Place the neurons and draw the synapses exactly as :func:`neurosim.build.build` does for
    ``net.description()`` (same random streams), with delays in whole time steps. ``cache``: a folder where
    the result is stored and reused (drawing 10 M synapses takes seconds)."""
    from .build import _connect, stream

    path = None
    if cache is not None:
        path = Path(cache) / f"wiring_n{net.n}_k{net.k}_s{net.seed}.npz"
        if path.exists():
            with np.load(path) as data:
                positions = {p: data[f"pos_{p}"] for p in ("E", "I")}
                conns = {n: (data[f"{n}_i"], data[f"{n}_j"], data[f"{n}_d"]) for n, _, _ in PROJECTIONS}
                return Wiring(positions, conns, float(data["sampling_s"]))
    d = net.description()
    start = time.perf_counter()
    positions = {
        p.name: np.asarray(p.placement.positions(p.n, stream(d.seed, "placement", p.name)))
        for p in d.populations
    }
    dt_ms = float(d.dt / ms)
    conns = {}
    for proj in d.projections:
        src, tgt = d.population(proj.source), d.population(proj.target)
        i, j, dist = _connect(proj, src, tgt, positions, d.seed)
        steps = np.rint(proj.delay.delays_ms(dist) / dt_ms).astype(np.int32)
        conns[proj.name] = (i.astype(np.int32), j.astype(np.int32), steps)
    out = Wiring(positions, conns, time.perf_counter() - start)
    if path is not None:
        arrays = {f"pos_{p}": v for p, v in positions.items()}
        for name, (i, j, s) in conns.items():
            arrays.update({f"{name}_i": i, f"{name}_j": j, f"{name}_d": s})
        atomic_write(path, lambda fh: np.savez(fh, sampling_s=out.sampling_s, **arrays), mode="wb")
    return out


def pruned(w: Wiring, keep: float, seed: int) -> Wiring:
    """A copy keeping a random ``keep`` fraction of each projection's synapses (the same for every engine)."""
    if keep >= 1:
        return w
    rng = np.random.default_rng(np.random.SeedSequence([seed, 90210]))
    conns = {}
    for name, (i, j, s) in w.connections.items():
        idx = np.sort(rng.choice(len(i), size=int(round(keep * len(i))), replace=False))
        conns[name] = (i[idx], j[idx], s[idx])
    return Wiring(w.positions, conns, w.sampling_s)


# --------------------------------------------------------------------------------------------- running


@dataclass(frozen=True)
class RunSpec(Describable):
    """One measurement: an engine running one network."""

    engine: str  # "neurosim", "brian2" (hand-written script) or "nest"
    network: BenchmarkNetwork = field(default_factory=BenchmarkNetwork)
    target: str = "cpp_standalone"  # Brian2 code generation (ignored by NEST)
    threads: int = 1  # OpenMP threads (cpp_standalone) or NEST threads; numpy/cython run single-threaded
    duration: Quantity = 1 * second  # biological time simulated
    directory: str = ""  # folder for the wiring cache and standalone builds ("" = a temporary folder)
    details: bool = False  # also return per-projection in-degrees and per-neuron spike counts (tests)
    # cpp_standalone and NEST: simulate this many times and report the fastest (runtime targets: once)
    repeat: int = 1

    def __post_init__(self) -> None:
        check_choice("RunSpec", "engine", self.engine, ENGINES)
        check_choice("RunSpec", "target", self.target, TARGETS)
        check_number("RunSpec", "threads", self.threads, low=1, integer=True)
        check_number("RunSpec", "repeat", self.repeat, low=1, integer=True)

    @property
    def label(self) -> str:
        mode = "" if self.engine == "nest" else f":{self.target}"
        return f"{self.engine}{mode}:{self.threads}t"


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def _rss_mb() -> float:
    """Current resident memory of this process (MB)."""
    return _status_mb("VmRSS")


def _peak_rss_mb() -> float:
    """Peak resident memory of this process image (MB). ``VmHWM``, not ``ru_maxrss``: the latter carries over
    the parent's memory through fork and exec, so a worker would report at least its parent's size."""
    return _status_mb("VmHWM")


def _per_synapse(mb: float, n_synapses: int) -> float:
    """Bytes per synapse of ``mb`` megabytes (NaN for the floor, which has no synapses)."""
    return mb * 2**20 / n_synapses if n_synapses else float("nan")


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


#: Runs the standalone binary as a child and writes its own peak memory and CPU time (``os.wait4``), so the
#: compiler's memory never mixes in.
_WRAPPER = (
    "import json, os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "_, status, ru = os.wait4(p.pid, 0)\n"
    "stats = {'maxrss_mb': ru.ru_maxrss / 1024, 'cpu_s': ru.ru_utime + ru.ru_stime}\n"
    "json.dump(stats, open(sys.argv[1], 'w'))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def _fastest_of(first: float, repeat: int, rerun: Any) -> dict[str, Any]:
    """``sim_s``: the fastest of ``first`` and ``repeat - 1`` more timings from ``rerun()``; all of them in
    ``sim_s_runs``. Why the minimum: on a shared machine other processes only ever add time, so the fastest of
    a few identical runs is the estimate least disturbed by them (Python's ``timeit`` reports it too)."""
    runs = [first] + [rerun() for _ in range(repeat - 1)]
    return {"sim_s": min(runs), "sim_s_runs": runs}


def _rerun_binary(directory: str | Path, results: str) -> float:
    """Run a built cpp_standalone project once more (same binary, same data): its simulation seconds."""
    import brian2 as b2

    b2.device.run(directory=str(directory), results_directory=results, with_output=False)
    return float(b2.device._last_run_time)


def _standalone_prefs(threads: int, stats: Path) -> None:
    import brian2 as b2

    b2.prefs.devices.cpp_standalone.openmp_threads = threads if threads > 1 else 0  # as neurosim.build
    b2.prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, "-c", _WRAPPER, str(stats), "./main"]


def _spike_summary(
    trains: dict[str, tuple[np.ndarray, np.ndarray]], sizes: dict[str, int], w: Wiring, duration_s: float
) -> dict[str, Any]:
    """Rates, ISI CV and synaptic events (each spike counts once per outgoing synapse)."""
    out: dict[str, Any] = {}
    trains = {p: (np.asarray(i, dtype=np.int64), np.asarray(t, dtype=float)) for p, (i, t) in trains.items()}
    counts = {p: np.bincount(trains[p][0], minlength=sizes[p]) for p in trains}
    events = 0
    for name, src, _ in PROJECTIONS:
        outdeg = np.bincount(w.connections[name][0], minlength=sizes[src])
        events += int(np.dot(counts[src], outdeg))
    cvs = []
    for p, (idx, t) in trains.items():
        out[f"rate_{p}_hz"] = float(counts[p].sum() / sizes[p] / duration_s)
        order = np.lexsort((t, idx))
        idx, t = idx[order], t[order]
        isi = np.diff(t)
        same = idx[1:] == idx[:-1]
        isi, owner = isi[same], idx[1:][same]
        n_isi = np.bincount(owner, minlength=sizes[p])
        ok = n_isi >= 2
        if ok.any():
            mean = np.bincount(owner, weights=isi, minlength=sizes[p])[ok] / n_isi[ok]
            sq = np.bincount(owner, weights=isi**2, minlength=sizes[p])[ok] / n_isi[ok]
            cvs.append(np.sqrt(np.maximum(sq - mean**2, 0)) / mean)
    out["cv_isi"] = float(np.mean(np.concatenate(cvs))) if cvs else float("nan")
    out["events"] = events
    out["counts"] = counts
    return out


def _run_neurosim(spec: RunSpec, w: Wiring, work: Path) -> dict[str, Any]:
    """neurosim's own path: ``build(description)`` (which places and samples itself) then ``run``."""
    import brian2 as b2

    from . import pruning
    from .build import build

    net = spec.network
    res: dict[str, Any] = {}
    stats = work / "binary_stats.json"
    if spec.target == "cpp_standalone":
        directory = work / f"build_neurosim_{net.case}_{net.stdp}_{spec.threads}t"
    else:
        directory = None
    rss0 = _rss_mb()
    start = time.perf_counter()
    if net.keep < 1:  # the pruned network: the same synapses as the other engines' subset
        given = {
            n: (c[0], c[1], w.distances(n)) for n, c in pruned(w, net.keep, net.seed).connections.items()
        }
        sim = build(
            net.description(),
            target=spec.target,
            directory=directory,
            threads=spec.threads,
            connections=given if spec.target == "cpp_standalone" else None,
        )
        if spec.target != "cpp_standalone":  # runtime targets prune for real (neurosim.pruning.compact)
            for name in sim.synapses:
                i, j = sim.connections(name)
                gi, gj = given[name][0], given[name][1]
                keep = np.isin(i.astype(np.int64) * net.n + j, gi.astype(np.int64) * net.n + gj)
                pruning.compact(sim, name, keep)
            res["pruning"] = "neurosim.pruning.compact"
        else:
            res["pruning"] = "built with the kept synapses (pruning.compact needs a runtime target)"
    else:
        sim = build(net.description(), target=spec.target, directory=directory, threads=spec.threads)
    if net.case == "c":
        net.set_stp_state(sim)
    res["build_s"] = time.perf_counter() - start
    res["n_synapses"] = pruned(w, net.keep, net.seed).n_synapses  # checked against Brian2's count below
    if spec.target == "cpp_standalone":
        _standalone_prefs(spec.threads, stats)
        start = time.perf_counter()
        sim.run(spec.duration, progress=False)
        res["standalone_total_s"] = time.perf_counter() - start
        res["compile_s"] = b2.device.timers["compile"]["make"]
        res["binary_s"] = b2.device.timers["run_binary"]
        binary = json.loads(stats.read_text())
        res["sim_cpu_s"] = binary["cpu_s"]  # the whole binary (loading, running, writing results)
        rerun = lambda: _rerun_binary(sim.directory, f"results_{os.getpid()}")  # noqa: E731
        res.update(_fastest_of(float(b2.device._last_run_time), spec.repeat, rerun))
        res["peak_rss_mb"] = binary["maxrss_mb"]
        res["bytes_per_synapse"] = _per_synapse(binary["maxrss_mb"], res["n_synapses"])
        res["python_peak_rss_mb"] = _peak_rss_mb()
    else:
        start = time.perf_counter()
        sim.run(0 * ms, progress=False)  # compiles (cython) and prepares every object
        res["compile_s"] = time.perf_counter() - start
        cpu0, start = _cpu_s(), time.perf_counter()
        sim.run(spec.duration, progress=False)
        res["sim_s"] = time.perf_counter() - start
        res["sim_cpu_s"] = _cpu_s() - cpu0
        gc.collect()
        res["peak_rss_mb"] = _peak_rss_mb()
        res["bytes_per_synapse"] = _per_synapse(_rss_mb() - rss0, res["n_synapses"])
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
    return {
        **res,
        **_spike_summary(trains, {"E": net.n_exc, "I": net.n_inh}, used, float(spec.duration / second)),
    }


def _run_brian2(spec: RunSpec, w: Wiring, work: Path) -> dict[str, Any]:
    """A plain, hand-written Brian2 script of the same network (no neurosim builder, no composer)."""
    import brian2 as b2
    from brian2 import NeuronGroup, PoissonInput, SpikeMonitor, Synapses, TimedArray

    net = spec.network
    res: dict[str, Any] = {}
    stats = work / "binary_stats.json"
    standalone = spec.target == "cpp_standalone"
    directory = work / f"build_brian2_{net.case}_{net.stdp}_{spec.threads}t"
    rss0 = _rss_mb()
    start = time.perf_counter()
    if standalone:
        b2.set_device("cpp_standalone", build_on_run=False, directory=str(directory))
        b2.device.reinit()
        b2.device.activate(build_on_run=False, directory=str(directory))
        _standalone_prefs(spec.threads, stats)
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
            # the plastic E→E synapse, written the way a Brian2 user would (w bounded to [0, 1])
            # case (c) as the library formulates it: eligibility c stored relative to the next update tick
            # (one write per spike), STP brought up to date at arrivals only (no event-driven variables)
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
        start = time.perf_counter()
        from filelock import FileLock

        with FileLock(str(directory) + ".lock"):  # one build at a time per folder
            b2.device.build(directory=str(directory), compile=True, run=True, with_output=False)
        res["standalone_total_s"] = time.perf_counter() - start
        res["compile_s"] = b2.device.timers["compile"]["make"]
        res["binary_s"] = b2.device.timers["run_binary"]
        binary = json.loads(stats.read_text())
        res["sim_cpu_s"] = binary["cpu_s"]
        rerun = lambda: _rerun_binary(directory, "results")  # noqa: E731
        res.update(_fastest_of(float(b2.device._last_run_time), spec.repeat, rerun))
        res["peak_rss_mb"] = binary["maxrss_mb"]
        res["bytes_per_synapse"] = _per_synapse(binary["maxrss_mb"], res["n_synapses"])
        res["python_peak_rss_mb"] = _peak_rss_mb()
    else:
        start = time.perf_counter()
        network.run(0 * ms)
        res["compile_s"] = time.perf_counter() - start
        cpu0, start = _cpu_s(), time.perf_counter()
        network.run(spec.duration)
        res["sim_s"] = time.perf_counter() - start
        res["sim_cpu_s"] = _cpu_s() - cpu0
        res["peak_rss_mb"] = _peak_rss_mb()
        res["bytes_per_synapse"] = _per_synapse(_rss_mb() - rss0, res["n_synapses"])
    trains = {p: (np.asarray(m.i[:]), np.asarray(m.t[:] / second)) for p, m in monitors.items()}
    if spec.details:
        res["in_degree"] = {
            s.name: np.bincount(np.asarray(s.j[:]), minlength=len(s.target)).tolist() for s in synapses
        }
    return {
        **res,
        **_spike_summary(trains, {"E": net.n_exc, "I": net.n_inh}, used, float(spec.duration / second)),
    }


def _run_nest(spec: RunSpec, w: Wiring, work: Path) -> dict[str, Any]:
    """The same network on NEST 3 (``iaf_psc_exp``; pair STDP as ``stdp_synapse``, additive)."""
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
    rss0 = _rss_mb()
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
    cpu0, start = _cpu_s(), time.perf_counter()
    nest.Run(float(spec.duration / ms))
    first = time.perf_counter() - start
    res["sim_cpu_s"] = _cpu_s() - cpu0

    def rerun() -> float:  # the network goes on for another duration: same size, same statistics
        start = time.perf_counter()
        nest.Run(float(spec.duration / ms))
        return time.perf_counter() - start

    res.update(_fastest_of(first, spec.repeat, rerun))
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
    res["peak_rss_mb"] = _peak_rss_mb()
    res["bytes_per_synapse"] = _per_synapse(_rss_mb() - rss0, res["n_synapses"])
    if spec.details:
        res["in_degree"] = {}
        for name, src, tgt in PROJECTIONS:
            targets = np.asarray(nest.GetConnections(pops[src], pops[tgt]).get("target"))
            res["in_degree"][name] = np.bincount(targets - ids[tgt][0], minlength=len(ids[tgt])).tolist()
    used = pruned(w, net.keep, net.seed)
    return {
        **res,
        **_spike_summary(trains, {"E": net.n_exc, "I": net.n_inh}, used, float(spec.duration / second)),
    }


def measure(spec: RunSpec) -> dict[str, Any]:
    """Run one spec in this process and return its figures (see the module docstring)."""
    work = Path(spec.directory) if spec.directory else Path(tempfile.mkdtemp(prefix="neurosim_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    w = wiring(spec.network, cache=work)
    run = {"neurosim": _run_neurosim, "brian2": _run_brian2, "nest": _run_nest}[spec.engine]
    res = run(spec, w, work)
    counts = res.pop("counts")
    duration = float(spec.duration / second)
    res.update(
        engine=spec.engine,
        label=spec.label,
        target=spec.target if spec.engine != "nest" else "nest",
        threads=spec.threads,
        n=spec.network.n,
        k=spec.network.k,
        case=spec.network.case,
        stdp=spec.network.stdp,
        keep=spec.network.keep,
        duration_s=duration,
        sim_s_per_bio_s=res["sim_s"] / duration,
        sim_cpu_s_per_bio_s=res["sim_cpu_s"] / duration,
        events_per_s=res["events"] / res["sim_s"] if res["sim_s"] > 0 else float("nan"),
        load_average=os.getloadavg()[0],
    )
    if spec.details:
        res["counts"] = {p: c.tolist() for p, c in counts.items()}
    return res


def run_isolated(spec: RunSpec, *, timeout: float | None = None) -> dict[str, Any]:
    """:func:`measure` in a fresh Python process (clean peak memory; a crash or timeout becomes an
    ``error`` entry instead of ending the benchmark)."""
    with tempfile.TemporaryDirectory(prefix="neurosim_bench_io_") as tmp:
        spec_file, out_file = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec_file.write_text(spec.to_json())
        cmd = [sys.executable, "-m", "neurosim.benchmark", str(spec_file), str(out_file)]
        base = {
            "engine": spec.engine,
            "label": spec.label,
            "n": spec.network.n,
            "k": spec.network.k,
            "case": spec.network.case,
            "keep": spec.network.keep,
            "threads": spec.threads,
        }
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {**base, "error": f"timed out after {timeout} s"}
        if proc.returncode != 0 or not out_file.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            return {**base, "error": f"exit code {proc.returncode}: " + " | ".join(tail)}
        return json.loads(out_file.read_text())


# ------------------------------------------------------------------------------------------- reporting


def compare(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Ratios the issue asks for, from a list of :func:`measure` results (missing rows are skipped).

    For every size: neurosim (c) vs NEST pair STDP (case b) at each thread count, neurosim vs the plain
    Brian2 script (same case, target, threads), the pruned speed-up of every engine (the same network with
    10 % of its synapses, on the same engine, target and threads), the floor of every engine (no synapses:
    ``unpruned_over_floor`` bounds any pruned speed-up; ``synaptic_speedup`` is the pruned speed-up of the
    time above the floor, ``(T_unpruned − T_floor) / (T_pruned − T_floor)``), and the growth of simulation
    time with the number of synapses (log-log slope over sizes) per engine and case.
    """
    ok = [r for r in results if "error" not in r]

    def find(**kw: Any) -> dict[str, Any] | None:
        for r in ok:
            if all(r.get(k) == v for k, v in kw.items()):
                return r
        return None

    out: dict[str, Any] = {"vs_nest": [], "vs_brian2": [], "pruned": [], "floor": [], "scaling": []}
    for r in ok:
        if r["engine"] != "neurosim" or r["keep"] != 1:
            continue
        key = {"n": r["n"], "k": r["k"], "threads": r["threads"], "keep": 1.0}
        nest_case = "b" if r["case"] == "c" else r["case"]
        nest_r = find(engine="nest", case=nest_case, **key)
        if nest_r:
            out["vs_nest"].append(
                {
                    "n": r["n"],
                    "k": r["k"],
                    "case": r["case"],
                    "nest_case": nest_case,
                    "threads": r["threads"],
                    "target": r["target"],
                    "speedup": nest_r["sim_s"] / r["sim_s"],
                    "rates_hz": [r["rate_E_hz"], nest_r["rate_E_hz"]],
                }
            )
        b2_r = find(
            engine="brian2",
            case=r["case"],
            target=r["target"],
            stdp=r["stdp"],
            **key,
        )
        if b2_r:
            out["vs_brian2"].append(
                {
                    "n": r["n"],
                    "k": r["k"],
                    "case": r["case"],
                    "threads": r["threads"],
                    "target": r["target"],
                    "neurosim_over_brian2": r["sim_s"] / b2_r["sim_s"],
                    "rates_hz": [r["rate_E_hz"], b2_r["rate_E_hz"]],
                }
            )
    for r in ok:
        if r["keep"] != 1:
            continue
        same = {"label": r["label"], "case": r["case"], "n": r["n"], "k": r["k"], "stdp": r["stdp"]}
        row = {k: r[k] for k in ("engine", "n", "k", "case", "threads", "target")}
        pr, floor = find(keep=0.1, **same), find(keep=0.0, **same)
        if pr:
            rates = [r["rate_E_hz"], pr["rate_E_hz"]]
            out["pruned"].append({**row, "speedup": r["sim_s"] / pr["sim_s"], "rates_hz": rates})
        if floor:
            entry = {**row, "unpruned_over_floor": r["sim_s"] / floor["sim_s"], "floor_s": floor["sim_s"]}
            if pr and pr["sim_s"] > floor["sim_s"]:
                entry["synaptic_speedup"] = (r["sim_s"] - floor["sim_s"]) / (pr["sim_s"] - floor["sim_s"])
            out["floor"].append(entry)
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in ok:
        if r["keep"] == 1:
            groups.setdefault((r["label"], r["case"]), []).append(r)
    for (label, case), rows in sorted(groups.items()):
        if len({r["n_synapses"] for r in rows}) >= 2:
            x = np.log([r["n_synapses"] for r in rows])
            y = np.log([r["sim_s_per_bio_s"] for r in rows])
            out["scaling"].append({"label": label, "case": case, "exponent": float(np.polyfit(x, y, 1)[0])})
    return out


TABLE_COLUMNS = (
    ("label", "engine", "{:<37}"),
    ("n", "N", "{:>6}"),
    ("k", "K", "{:>5}"),
    ("case", "case", "{:>4}"),
    ("keep", "keep", "{:>4}"),
    ("build_s", "build s", "{:>8.2f}"),
    ("compile_s", "compile", "{:>8.1f}"),
    ("sim_s_per_bio_s", "s/bio s", "{:>8.3f}"),
    ("sim_cpu_s_per_bio_s", "cpu s/s", "{:>8.3f}"),
    ("events_per_s", "events/s", "{:>9.3g}"),
    ("peak_rss_mb", "peak MB", "{:>8.0f}"),
    ("bytes_per_synapse", "B/syn", "{:>6.1f}"),
    ("rate_E_hz", "E Hz", "{:>6.2f}"),
    ("rate_I_hz", "I Hz", "{:>6.2f}"),
    ("cv_isi", "CV", "{:>5.2f}"),
)


def table(results: list[dict[str, Any]]) -> str:
    """A plain-text table of the results (one line per run; failures show their error)."""
    widths = [len(fmt.format(0)) if key != "label" else 37 for key, _, fmt in TABLE_COLUMNS]
    head = " ".join(
        f"{name:<{w}}" if key == "label" else f"{name:>{w}}"
        for (key, name, _), w in zip(TABLE_COLUMNS, widths, strict=True)
    )
    lines = [head]
    for r in results:
        if "error" in r:
            lines.append(
                f"{r['label']:<37} {r['n']:>6} {r['k']:>5} {r['case']:>4}  ERROR: {r['error'][:120]}"
            )
            continue
        cells = []
        for (key, _, fmt), w in zip(TABLE_COLUMNS, widths, strict=True):
            value = r.get(key)
            try:
                cells.append(fmt.format(value))
            except (ValueError, TypeError):
                cells.append(f"{'-' if value is None else str(value):>{w}}")
        lines.append(" ".join(cells))
    return "\n".join(lines)


def _main(argv: list[str]) -> int:
    """Worker entry point: ``python -m neurosim.benchmark SPEC.json RESULT.json``."""
    spec = RunSpec.from_json(Path(argv[0]).read_text())
    result = measure(spec)
    atomic_write(argv[1], lambda fh: json.dump(result, fh))
    return 0


__all__ = [
    "CASES",
    "ENGINES",
    "SIZES",
    "BenchmarkNetwork",
    "RunSpec",
    "Wiring",
    "compare",
    "measure",
    "pruned",
    "run_isolated",
    "table",
    "wiring",
]

if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
