"""One measurement (:class:`RunSpec`) and the figures every engine reports the same way.

Figures per run: build seconds (placement + connection + the engine's objects; ``sampling_s`` is the shared
part), compile seconds, simulation seconds per biological second (wall, and CPU), synaptic events per second
(spikes × out-degree, per wall second of simulation), peak memory, bytes per synapse, firing rates and ISI CV.

Timing is written once for each kind of Brian2 target: :func:`time_standalone` for a cpp_standalone binary
(its memory and CPU time measured on the binary alone, repeats rerun the binary), :func:`time_runtime` for
numpy/cython (a zero-length run compiles first, so ``sim_s`` is simulation only). :func:`spike_summary`
turns any engine's spike trains into rates, ISI CV and synaptic events.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import Quantity, ms, second

from neurosim.serialization import Describable
from neurosim.validation import check_choice, check_number

from .network import PROJECTIONS, BenchmarkNetwork
from .wiring import Wiring

ENGINES = ("neurosim", "brian2", "nest", "nest_description")
TARGETS = ("numpy", "cython", "cpp_standalone")


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
    # a pruned network (keep < 1) on neurosim's runtime targets: "compact" builds the whole network and
    # removes the other synapses with Simulation.compact; "fresh" builds only the kept synapses (what
    # cpp_standalone and the other engines always do). Their times should not differ: pruned synapses cost
    # nothing.
    pruning: str = "compact"

    def __post_init__(self) -> None:
        check_choice("RunSpec", "engine", self.engine, ENGINES)
        check_choice("RunSpec", "target", self.target, TARGETS)
        check_number("RunSpec", "threads", self.threads, low=1, integer=True)
        check_number("RunSpec", "repeat", self.repeat, low=1, integer=True)
        check_choice("RunSpec", "pruning", self.pruning, ("compact", "fresh"))

    @property
    def label(self) -> str:
        mode = "" if self.engine.startswith("nest") else f":{self.target}"
        return f"{self.engine}{mode}:{self.threads}t"


# ------------------------------------------------------------------------------------ memory and CPU


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def rss_mb() -> float:
    """Current resident memory of this process (MB)."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """Peak resident memory of this process image (MB). ``VmHWM``, not ``ru_maxrss``: the latter carries over
    the parent's memory through fork and exec, so a worker would report at least its parent's size."""
    return _status_mb("VmHWM")


def per_synapse(mb: float, n_synapses: int) -> float:
    """Bytes per synapse of ``mb`` megabytes (NaN for the floor, which has no synapses)."""
    return mb * 2**20 / n_synapses if n_synapses else float("nan")


def cpu_s() -> float:
    """CPU seconds (user + system) of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def fastest_of(first: float, repeat: int, rerun: Callable[[], float]) -> dict[str, Any]:
    """``sim_s``: the fastest of ``first`` and ``repeat - 1`` more timings from ``rerun()``; all of them in
    ``sim_s_runs``. Why the minimum: other processes only ever add time, so the fastest of a few identical
    runs is the estimate least disturbed by them (Python's ``timeit`` reports it too)."""
    runs = [first] + [rerun() for _ in range(repeat - 1)]
    return {"sim_s": min(runs), "sim_s_runs": runs}


# -------------------------------------------------------------------------------------------- timing

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


def standalone_prefs(threads: int, stats: Path) -> None:
    """Set Brian2's cpp_standalone threads (as :func:`neurosim.build`) and run the binary through the
    wrapper that writes its peak memory and CPU time to ``stats``."""
    import brian2 as b2

    b2.prefs.devices.cpp_standalone.openmp_threads = threads if threads > 1 else 0
    b2.prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, "-c", _WRAPPER, str(stats), "./main"]


def _rerun_binary(directory: str | Path, results: str) -> float:
    """Run a built cpp_standalone project once more (same binary, same data): its simulation seconds."""
    import brian2 as b2

    b2.device.run(directory=str(directory), results_directory=results, with_output=False)
    return float(b2.device._last_run_time)


def time_standalone(
    build_and_run: Callable[[], None],
    *,
    stats: Path,
    directory: str | Path,
    results: str,
    repeat: int,
    n_synapses: int,
) -> dict[str, Any]:
    """Figures of a cpp_standalone run: ``build_and_run()`` generates, compiles and runs the project in
    ``directory`` once (its binary under the wrapper set by :func:`standalone_prefs`, which writes ``stats``);
    the binary then runs ``repeat - 1`` more times into ``results`` (see :func:`fastest_of`). Memory and CPU
    time are the binary's own."""
    import brian2 as b2

    start = time.perf_counter()
    build_and_run()
    res: dict[str, Any] = {"standalone_total_s": time.perf_counter() - start}
    res["compile_s"] = b2.device.timers["compile"]["make"]
    res["binary_s"] = b2.device.timers["run_binary"]
    binary = json.loads(stats.read_text())
    res["sim_cpu_s"] = binary["cpu_s"]  # the whole binary (loading, running, writing results)
    res.update(fastest_of(float(b2.device._last_run_time), repeat, lambda: _rerun_binary(directory, results)))
    res["peak_rss_mb"] = binary["maxrss_mb"]
    res["bytes_per_synapse"] = per_synapse(binary["maxrss_mb"], n_synapses)
    res["python_peak_rss_mb"] = peak_rss_mb()
    return res


def time_runtime(
    run: Callable[[Quantity], None], duration: Quantity, *, rss_before: float, n_synapses: int
) -> dict[str, Any]:
    """Figures of a runtime-target (numpy, cython) run: ``run(0 ms)`` compiles and prepares every object
    (``compile_s``), then ``run(duration)`` is the simulation (``sim_s``, ``sim_cpu_s``); bytes per synapse
    from the memory grown since ``rss_before``."""
    start = time.perf_counter()
    run(0 * ms)
    res: dict[str, Any] = {"compile_s": time.perf_counter() - start}
    cpu0, start = cpu_s(), time.perf_counter()
    run(duration)
    res["sim_s"] = time.perf_counter() - start
    res["sim_cpu_s"] = cpu_s() - cpu0
    gc.collect()
    res["peak_rss_mb"] = peak_rss_mb()
    res["bytes_per_synapse"] = per_synapse(rss_mb() - rss_before, n_synapses)
    return res


# -------------------------------------------------------------------------------------------- spikes


def spike_summary(
    trains: dict[str, tuple[np.ndarray, np.ndarray]], spec: RunSpec, w: Wiring
) -> dict[str, Any]:
    """Rates, ISI CV and synaptic events (each spike counts once per outgoing synapse of ``w``) of the
    spike trains ``trains[population] = (indices, times in s)`` of a run of ``spec``."""
    sizes = spec.network.sizes
    duration_s = float(spec.duration / second)
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
