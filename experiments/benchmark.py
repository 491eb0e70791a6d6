"""Performance benchmark: neurosim against NEST and a hand-written Brian2 script on one reference network.

How fast, and in how much memory, does neurosim simulate a plastic spiking network in 3D space, beside a
general-purpose simulator (NEST) and the Brian2 script a user would write by hand? The network, the engines
and the figures are described in :mod:`neurosim_benchmark`: N LIF neurons (80 % E / 20 % I) in a 1 mm cube
with Gaussian distance-dependent connectivity (mean in-degree K), delays 0.5 ms + d/(0.5 m/s), Poisson
background for ≈7 Hz asynchronous irregular firing, and E→E synapses with (a) no plasticity, (b) pair STDP,
(c) TM STP + pair STDP + eligibility trace. Every engine / size / case runs in its own process (clean peak
memory; a crash loses one row) and the results are checkpointed, so ``--resume`` continues an interrupted
benchmark. Measured results are kept in ``docs/results/benchmark``.

    python experiments/benchmark.py --quick --out results/bench-quick
    python experiments/benchmark.py --sizes 2000x100,10000x100,10000x1000,20000x1000 --cases a,b,c \\
        --engines neurosim,brian2,nest --threads 1,2 --duration 1 --out results/bench
    neurosim run benchmark --quick            # the same through the neurosim command (options via --set)

At K ≥ 1000 every engine also runs the network pruned to 10 % of its synapses and the *floor* (the same
neurons, rules and background with no synapse: the time no pruning goes below; ``--no-pruned``,
``--no-floor``). On numpy/cython, neurosim's pruned network is pruned by ``Simulation.compact`` and also
built fresh with only the kept synapses, alternating ``--repeat`` times (``--no-fresh``): if pruned synapses
cost nothing, the two take the same time.

Writes ``results.json`` (one entry per run), ``comparison.json`` (neurosim/NEST, neurosim/Brian2, the pruned
speed-up and the floor of every engine, cost-vs-size exponents), ``table.txt`` and ``cost_vs_size.png`` into
``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import second

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurosim.configs import bounded, check_ranges  # noqa: E402
from neurosim.experiment import Experiment, RunContext, add_run_arguments, run_from_args  # noqa: E402
from neurosim.validation import check_choice, fail  # noqa: E402
from neurosim_benchmark import (  # noqa: E402
    CASES,
    ENGINES,
    TARGETS,
    BenchmarkNetwork,
    RunSpec,
    compare,
    run_isolated,
    table,
)


def default_cache() -> str:
    """Where wiring (drawn synapses) and standalone builds are kept between benchmark runs."""
    root = os.environ.get("NEUROSIM_CACHE") or str(Path.home() / ".cache" / "neurosim")
    return str(Path(root) / "benchmark")


@dataclass(frozen=True)
class Config:
    sizes: tuple[str, ...] = ("2000x100", "10000x100", "10000x1000", "20000x1000")  # "NxK"
    cases: tuple[str, ...] = ("a", "b", "c")  # plasticity cases (see neurosim_benchmark.CASES)
    engines: tuple[str, ...] = ENGINES  # neurosim, brian2 (hand-written script), nest
    targets: tuple[str, ...] = ("cpp_standalone",)  # Brian2 code generation for neurosim and the script
    threads: tuple[int, ...] = bounded((1, 2), ge=1)  # threads (OpenMP for cpp_standalone, NEST threads)
    duration_s: float = bounded(1.0, gt=0)  # biological seconds simulated per run
    repeat: int = bounded(3, ge=1)  # simulations per run (cpp_standalone, NEST); the fastest is reported
    stdp: str = "neuron"  # "neuron": FastPairSTDP, FastTsodyksMarkram; "synapse": their per-synapse forms
    pruned: bool = True  # also run every engine with 10 % of the synapses (K ≥ 1000: the pruning target)
    floor: bool = True  # and with none (K ≥ 1000): the per-neuron time that bounds any pruning speed-up
    fresh: bool = True  # numpy/cython: pruned by compact() vs built fresh, alternating `repeat` times
    timeout_s: float = bounded(3600.0, gt=0)  # per run
    cache: str = ""  # wiring + build cache ("" = $NEUROSIM_CACHE/benchmark or ~/.cache/neurosim/benchmark)

    def __post_init__(self) -> None:
        check_ranges(self, owner="benchmark")
        for s in self.sizes:
            parse_size(s)
        for c in self.cases:
            check_choice("benchmark", "cases", c, tuple(CASES))
        for e in self.engines:
            check_choice("benchmark", "engines", e, ENGINES)
        for t in self.targets:
            check_choice("benchmark", "targets", t, TARGETS)
        check_choice("benchmark", "stdp", self.stdp, ("neuron", "synapse"))


RUNTIME = ("numpy", "cython")  # targets that prune with Simulation.compact


def parse_size(text: str) -> tuple[int, int]:
    """``"10000x1000"`` → ``(10000, 1000)``."""
    n, sep, k = str(text).lower().partition("x")
    if not sep or not n.strip().isdigit() or not k.strip().isdigit():
        fail("benchmark", "sizes", text, "expected N x K, e.g. 10000x1000")
    return int(n), int(k)


def specs(config: Config, seed: int, cache: str) -> list[RunSpec]:
    """Every run of the benchmark, smallest networks first (a failure at a large size costs least)."""
    out = []
    duration = config.duration_s * second
    for size in sorted(config.sizes, key=lambda s: parse_size(s)[0] * parse_size(s)[1]):
        n, k = parse_size(size)
        # the whole network; at K ≥ 1000 also 10 % of its synapses (pruned) and none (the floor)
        keeps = [1.0] + [keep for keep, on in ((0.1, config.pruned), (0.0, config.floor)) if on and k >= 1000]
        for case in config.cases:
            net = BenchmarkNetwork(n=n, k=k, case=case, stdp=config.stdp, seed=seed + 1)
            for engine in config.engines:
                on_nest = engine.startswith("nest")  # NEST scripted by hand, or built from the description
                if on_nest and case == "c":
                    continue  # no STP+STDP synapse in NEST: compared with NEST's case (b)
                targets = ("nest",) if on_nest else config.targets
                for target in targets:
                    threads = config.threads if target in ("nest", "cpp_standalone") else (1,)
                    for t in threads:
                        kw = {
                            "target": "cpp_standalone" if target == "nest" else target,
                            "directory": cache,
                            "repeat": config.repeat,
                        }
                        for keep in keeps:
                            variant = dataclasses.replace(net, keep=keep)
                            spec = RunSpec(engine, variant, threads=t, duration=duration, **kw)
                            if 0 < keep < 1 and config.fresh and engine == "neurosim" and target in RUNTIME:
                                # compact() vs the kept synapses built fresh, alternating: load hits both
                                fresh = dataclasses.replace(spec, pruning="fresh")
                                out.extend([spec, fresh] * config.repeat)
                            else:
                                out.append(spec)
    return out


def run(config: Config, ctx: RunContext) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cache = config.cache or default_cache()
    todo = specs(config, ctx.seed, cache)
    ctx.log.info("%d runs; cache %s; load average %.1f", len(todo), cache, os.getloadavg()[0])

    def one(spec_json: str) -> dict:
        spec = RunSpec.from_json(spec_json)
        result = run_isolated(spec, timeout=config.timeout_s)
        ctx.log.info(
            "%s n=%d k=%d case=%s keep=%g: %s",
            spec.label,
            spec.network.n,
            spec.network.k,
            spec.network.case,
            spec.network.keep,
            result.get("error") or f"{result['sim_s_per_bio_s']:.3f} s/s, {result['rate_E_hz']:.2f} Hz",
        )
        return result

    results = ctx.trials("runs", [s.to_json() for s in todo], one, desc="benchmark")
    comparison = compare(results)
    text = table(results)
    print(text)
    ctx.write_text("table.txt", text + "\n")
    ctx.write_json("results.json", results)
    ctx.write_json("comparison.json", comparison)

    fig, ax = plt.subplots(figsize=(6, 4))
    series: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for r in results:
        if "error" not in r and r["keep"] == 1:
            series.setdefault((r["label"], r["case"]), []).append((r["n_synapses"], r["sim_s_per_bio_s"]))
    for (label, case), points in sorted(series.items()):
        points.sort()
        x, y = np.array(points).T
        ax.loglog(x, y, "o-", label=f"{label} ({case})")
    ax.set_xlabel("synapses")
    ax.set_ylabel("wall s per biological s")
    ax.set_title("cost vs size")
    if series:
        ax.legend(fontsize=6)
    ctx.save_figure(fig, "cost_vs_size")

    metrics: dict = {"runs": len(results), "failed": sum("error" in r for r in results)}

    def where(row: dict) -> str:
        return f"n{row['n']}_k{row['k']}_{row['case']}_{row['target']}_{row['threads']}t"

    for row in comparison["vs_nest"]:
        metrics[f"speedup_vs_nest_{where(row)}"] = row["speedup"]
    for row in comparison["vs_brian2"]:
        metrics[f"neurosim_over_brian2_{where(row)}"] = row["neurosim_over_brian2"]
    for row in comparison["pruned"]:
        metrics[f"pruned_speedup_{row['engine']}_{where(row)}"] = row["speedup"]
    for row in comparison["floor"]:
        metrics[f"unpruned_over_floor_{row['engine']}_{where(row)}"] = row["unpruned_over_floor"]
    for row in comparison["compact_vs_fresh"]:
        metrics[f"compact_over_fresh_{where(row)}"] = row["ratio"]
    return metrics


EXPERIMENT = Experiment(
    name="benchmark",
    description="Speed and memory: neurosim vs NEST and hand-written Brian2, one reference network",
    config_type=Config,
    run=run,
    quick_overrides={
        "sizes": ("2000x100",),
        "targets": ("numpy",),
        "threads": (1,),
        "duration_s": 0.2,
        "repeat": 1,
        "pruned": False,
        "floor": False,
    },
)


def main(argv: list[str] | None = None) -> int:
    """The shared options (``--config``, ``--set``, ``--seed``, ``--out``, ``--resume``, ``--quick``) plus
    shortcuts (``--sizes 2000x100,10000x1000``, ``--cases``, ``--engines``, ``--targets``, ``--threads``,
    ``--duration``, ``--repeat``, ``--stdp``, ``--no-pruned``, ``--no-floor``, ``--no-fresh``, ``--cache``)
    that become ``--set`` pairs."""
    parser = argparse.ArgumentParser(prog="benchmark", description=EXPERIMENT.description)
    add_run_arguments(parser)
    parser.add_argument("--sizes", help="comma-separated NxK, e.g. 2000x100,10000x1000")
    parser.add_argument("--cases", help="comma-separated plasticity cases from a,b,c")
    parser.add_argument("--engines", help="comma-separated engines from neurosim,brian2,nest")
    parser.add_argument("--targets", help="Brian2 code generation: numpy,cython,cpp_standalone")
    parser.add_argument("--threads", help="comma-separated thread counts, e.g. 1,2")
    parser.add_argument("--duration", help="biological seconds per run")
    parser.add_argument("--repeat", help="simulations per run; the fastest is reported (default 3)")
    parser.add_argument("--stdp", choices=("neuron", "synapse"), help="STDP traces per neuron or per synapse")
    parser.add_argument("--no-pruned", action="store_true", help="skip the 90 %% pruned runs")
    parser.add_argument("--no-floor", action="store_true", help="skip the runs without synapses (the floor)")
    parser.add_argument("--no-fresh", action="store_true", help="skip the fresh builds beside compact()")
    parser.add_argument("--cache", help="wiring and build cache folder")
    args = parser.parse_args(argv)
    shortcuts = {
        "sizes": args.sizes,
        "cases": args.cases,
        "engines": args.engines,
        "targets": args.targets,
        "threads": args.threads,
    }
    for key, text in shortcuts.items():
        if text:
            items = [x.strip() for x in text.split(",") if x.strip()]
            quoted = ", ".join(x if key == "threads" else json.dumps(x) for x in items)
            args.set.append(f"{key}=[{quoted}]")
    for key, value in (
        ("duration_s", args.duration),
        ("repeat", args.repeat),
        ("stdp", args.stdp),
        ("cache", args.cache),
    ):
        if value is not None:
            args.set.append(f"{key}={value if key in ('duration_s', 'repeat') else json.dumps(value)}")
    if args.no_pruned:
        args.set.append("pruned=false")
    if args.no_floor:
        args.set.append("floor=false")
    if args.no_fresh:
        args.set.append("fresh=false")
    return run_from_args(EXPERIMENT, args)


if __name__ == "__main__":
    sys.exit(main())
