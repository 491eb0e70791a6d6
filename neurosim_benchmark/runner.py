"""Running one measurement: :func:`measure` in this process, :func:`run_isolated` in a fresh one.

Each run goes to its own Python process (``python -m neurosim_benchmark SPEC.json RESULT.json``) so that
peak memory is the run's own and a crash or a timeout loses one row of the benchmark, not the benchmark.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from brian2 import second

from neurosim.io import atomic_write, atomic_write_text

from .engine_brian2 import run_brian2
from .engine_nest import run_nest
from .engine_nest_description import run_nest_description
from .engine_neurosim import run_neurosim
from .timing import RunSpec
from .wiring import wiring

#: The engine behind each :attr:`RunSpec.engine`.
RUNNERS = {
    "neurosim": run_neurosim,
    "brian2": run_brian2,
    "nest": run_nest,
    "nest_description": run_nest_description,
}


def measure(spec: RunSpec) -> dict[str, Any]:
    """Run one spec in this process and return its figures (see :mod:`neurosim_benchmark.timing`)."""
    work = Path(spec.directory) if spec.directory else Path(tempfile.mkdtemp(prefix="neurosim_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    w = wiring(spec.network, cache=work)
    res = RUNNERS[spec.engine](spec, w, work)
    counts = res.pop("counts")
    duration = float(spec.duration / second)
    res.update(
        engine=spec.engine,
        label=spec.label,
        target="nest" if spec.engine.startswith("nest") else spec.target,
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
        atomic_write_text(spec_file, spec.to_json())
        cmd = [sys.executable, "-m", "neurosim_benchmark", str(spec_file), str(out_file)]
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


def worker_main(argv: list[str]) -> int:
    """Worker entry point: ``python -m neurosim_benchmark SPEC.json RESULT.json``."""
    spec = RunSpec.from_json(Path(argv[0]).read_text())
    result = measure(spec)
    atomic_write(argv[1], lambda fh: json.dump(result, fh))
    return 0
