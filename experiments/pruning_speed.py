"""Pruned synapses cost nothing: a network pruned to 90% sparsity simulates several times faster.

Brian2 cannot delete synapses; neurosim compacts instead (:func:`neurosim.backend.compact`): the projection's
``Synapses`` object is replaced by one holding only the survivors, with their full state. This experiment
builds a recurrent network whose cost is dominated by plastic synapses (pair STDP with reward modulation:
per-spike STDP work plus the rule's periodic weight update), times a run, prunes 90% of the plastic
synapses (the weakest, as :class:`~neurosim.frontal.WeightMagnitude` chooses), times the same run again and
prints the speed-up (target ≥ 3×). The network is driven by strong Poisson background through weak recurrent
synapses, so firing rates barely change with pruning and the comparison is about synapse count alone
(both rates are reported). Timed runs exclude compilation (a warm-up run precedes each) and Brian2's
per-run garbage collection.
"""

from __future__ import annotations

import gc
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import Hz, ms, mV, second

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurosim import (  # noqa: E402
    LIF,
    GaussianKernel,
    NetworkDescription,
    PairSTDP,
    PoissonBackground,
    Population,
    Projection,
    SpikeRecording,
    build,
)
from neurosim.configs import bounded, check_ranges  # noqa: E402
from neurosim.experiment import Experiment, RunContext  # noqa: E402
from neurosim.frontal import SynapseStats, WeightMagnitude, select  # noqa: E402
from neurosim.plasticity.reward import RewardModulated  # noqa: E402
from neurosim.validation import check_choice, check_number  # noqa: E402


@dataclass(frozen=True)
class Config:
    n: int = bounded(2000, ge=10)  # neurons
    in_degree: float = bounded(1000.0, ge=1)  # mean plastic inputs per neuron before pruning (< n)
    prune: float = bounded(0.9, ge=0, lt=1)  # fraction of the plastic synapses removed
    duration_s: float = bounded(1.0, gt=0)  # timed simulation per measurement
    target: str = "cython"  # Brian2 code generation target
    dt_ms: float = bounded(0.1, gt=0, le=1)  # simulation step

    def __post_init__(self) -> None:
        owner = "pruning_speed"
        check_ranges(self, owner=owner)
        check_number(owner, "in_degree", self.in_degree, low=1, high=self.n - 1)
        check_choice(owner, "target", self.target, ("numpy", "cython"))


def description(config: Config, seed: int) -> NetworkDescription:
    neuron = LIF(synapse="delta", refractory=2 * ms)
    return NetworkDescription(
        populations=(Population("E", config.n, neuron, initial={"v": "-70*mV + 15*mV*rand()"}),),
        projections=(
            Projection(
                "EE",
                "E",
                "E",
                0.002 * mV,  # weak: the rates come from the background, not from the recurrence
                connectivity=GaussianKernel(p_max=1.0, in_degree=config.in_degree),
                rules=(PairSTDP(), RewardModulated(tonic=0.002)),
                w_init="rand()",
            ),
        ),
        inputs=(PoissonBackground("bg", "E", 800 * Hz, 1, 1 * mV),),  # about 10 Hz
        recordings=(SpikeRecording("E"),),
        seed=seed,
        dt=config.dt_ms * ms,
    )


def timed_run(sim: object, duration: float) -> tuple[float, float]:
    """Wall seconds for ``duration`` of simulation (warm-up excluded) and the mean rate (Hz) in it."""
    sim.run(20 * ms, progress=False)  # type: ignore[attr-defined]  # warm-up: compile, create code objects
    n_before = len(sim.spikes("E")[0])  # type: ignore[attr-defined]
    gc.collect()
    gc.freeze()  # Brian2 collects garbage at every run; keep that out of the measurement
    try:
        start = time.perf_counter()
        sim.run(duration * second, progress=False)  # type: ignore[attr-defined]
        wall = time.perf_counter() - start
    finally:
        gc.unfreeze()
    n = len(sim.spikes("E")[0]) - n_before  # type: ignore[attr-defined]
    return wall, n / sim.description.population("E").n / duration  # type: ignore[attr-defined]


def measure(config: Config, seed: int = 0, log: object = print) -> dict:
    sim = build(description(config, seed), target=config.target)
    n0 = sim.n_synapses("EE")
    wall0, rate0 = timed_run(sim, config.duration_s)
    stats = SynapseStats(w=sim.weights("EE"))
    gone = select(WeightMagnitude(), stats, int(round(config.prune * n0)))
    keep = np.ones(n0, dtype=bool)
    keep[gone] = False
    sim.compact("EE", keep)
    n1 = sim.n_synapses("EE")
    wall1, rate1 = timed_run(sim, config.duration_s)
    return {
        "target": config.target,
        "synapses_before": n0,
        "synapses_after": n1,
        "wall_s_before": wall0,
        "wall_s_after": wall1,
        "rate_hz_before": rate0,
        "rate_hz_after": rate1,
        "speedup": wall0 / wall1,
    }


def run(config: Config, ctx: RunContext) -> dict:
    res = measure(config, ctx.seed)
    line = (
        f"pruned {res['synapses_before']} -> {res['synapses_after']} synapses "
        f"({100 * (1 - res['synapses_after'] / res['synapses_before']):.0f}% sparsity), "
        f"target {config.target}: "
        f"{res['wall_s_before']:.2f} s -> {res['wall_s_after']:.2f} s per {config.duration_s:g} s simulated, "
        f"speed-up {res['speedup']:.1f}x (rates {res['rate_hz_before']:.1f} -> {res['rate_hz_after']:.1f} Hz)"
    )
    print(line)
    ctx.log.info(line)
    return {k: v for k, v in res.items() if k != "target"}


EXPERIMENT = Experiment(
    name="pruning_speed",
    description="Speed-up of a 90%-pruned (compacted) network over the unpruned one",
    config_type=Config,
    run=run,
    quick_overrides={"n": 500, "in_degree": 200.0, "duration_s": 0.3, "target": "numpy"},
)

if __name__ == "__main__":
    sys.exit(EXPERIMENT.main())
