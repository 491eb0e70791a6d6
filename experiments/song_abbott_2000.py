"""Song, Miller & Abbott 2000, "Competitive Hebbian learning through spike-timing-dependent synaptic
plasticity", Nat. Neurosci. 3:919.

One conductance-based LIF neuron (τ_m 10 ms, E_L −74 mV, threshold −54 mV, reset −60 mV, E_e 0 mV, τ_e 5 ms)
receives 1000 independent Poisson inputs at 15 Hz through excitatory synapses with peak conductance
``g = g_max·w`` (g_max 0.01 of the leak conductance, w ∈ [0, 1], initially uniform). The synapses learn by
additive all-to-all pair STDP (τ± 20 ms, A+ = 0.01, A− = 1.05·A+, hard bounds). Result: the inputs compete;
the weight distribution becomes bimodal (U-shaped: most weights near 0 or near w_max) and the output rate
falls from its initial value to a lower, steady one. Parameters as in docs/references.md.

Writes ``weights.png`` (initial and final weight histograms, the distribution over time, the output rate) and
metrics: fractions of weights in the lowest, middle and highest fifth of [0, 1], and output rates early/late.
``--quick`` runs the scaled-down version of the test suite (A+ 2.5× larger, dt 0.25 ms, 15 s).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import Hz, ms, mV, second

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurosim import (  # noqa: E402
    LIF,
    AllToAll,
    ConductionDelay,
    NetworkDescription,
    PairSTDP,
    PoissonSource,
    Population,
    Projection,
    SpikeRecording,
    StateRecording,
    build,
    default_target,
)
from neurosim.configs import bounded, check_ranges  # noqa: E402
from neurosim.experiment import Experiment, RunContext  # noqa: E402
from neurosim.validation import check_choice, fail  # noqa: E402


@dataclass(frozen=True)
class Config:
    n_inputs: int = bounded(1000, ge=1)  # Poisson input fibres
    input_rate_hz: float = bounded(15.0, gt=0, lt=1000)  # rate of each input (below 1/dt)
    g_max: float = bounded(0.01, gt=0)  # peak conductance at w = 1 / leak (J)
    a_plus: float = bounded(0.01, gt=0, le=1)  # potentiation amplitude (in units of w_max)
    ratio: float = bounded(1.05, ge=0)  # A-/A+
    duration_s: float = bounded(100.0, gt=0)  # simulated time
    dt_ms: float = bounded(0.1, gt=0, le=1)  # simulation step
    sample_s: float = bounded(1.0, gt=0)  # interval between weight snapshots (<= duration_s)
    target: str = ""  # Brian2 code generation target ("" = neurosim's default)

    def __post_init__(self) -> None:
        owner = "song_abbott_2000"
        check_ranges(self, owner=owner)
        if self.sample_s > self.duration_s:
            fail(owner, "sample_s", self.sample_s, f"must not exceed duration_s = {self.duration_s}")
        if self.target:
            check_choice(owner, "target", self.target, ("numpy", "cython", "cpp_standalone"))


def description(config: Config, seed: int) -> NetworkDescription:
    """The Song, Miller & Abbott 2000 network as a neurosim description."""
    neuron = LIF(
        tau_m=10 * ms,
        E_L=-74 * mV,
        v_threshold=-54 * mV,
        v_reset=-60 * mV,
        refractory=0 * ms,
        synapse="conductance",
        tau_exc=5 * ms,
        E_exc=0 * mV,
    )
    stdp = PairSTDP(
        A_plus=config.a_plus, A_minus=config.ratio * config.a_plus, tau_plus=20 * ms, tau_minus=20 * ms
    )
    return NetworkDescription(
        populations=(
            Population("inputs", config.n_inputs, PoissonSource(rate=config.input_rate_hz * Hz)),
            Population("neuron", 1, neuron),
        ),
        projections=(
            Projection(
                "inputs_to_neuron",
                "inputs",
                "neuron",
                weight=config.g_max,
                connectivity=AllToAll(),
                rules=(stdp,),
                w_init="rand()",
                delay=ConductionDelay(base=0 * ms),
            ),
        ),
        recordings=(
            SpikeRecording("neuron"),
            StateRecording("inputs_to_neuron", ("w",), dt=config.sample_s * second),
        ),
        dt=config.dt_ms * ms,
        seed=seed,
    )


def fifths(w: np.ndarray) -> tuple[float, float, float]:
    """Fractions of weights in the lowest, middle and highest fifth of [0, 1]."""
    return float(np.mean(w < 0.2)), float(np.mean((w >= 0.4) & (w < 0.6))), float(np.mean(w >= 0.8))


def run(config: Config, ctx: RunContext) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurosim.plots import weight_histograms

    sim = build(description(config, ctx.seed), target=config.target or default_target())
    w0 = sim.weights("inputs_to_neuron").copy()
    ctx.log.info("simulating %g s of Song, Miller & Abbott 2000 (dt %g ms)", config.duration_s, config.dt_ms)
    sim.run(config.duration_s * second)
    w = sim.weights("inputs_to_neuron")
    spikes = np.asarray(sim.spikes("neuron")[1] / second)
    window = min(5.0, config.duration_s / 4)
    rate_early = float(np.sum(spikes < window) / window)
    rate_late = float(np.sum(spikes >= config.duration_s - window) / window)

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6), layout="constrained")
    edges = np.linspace(0, 1, 21)
    axes[0].hist(w0, bins=edges, histtype="step", label="initial", color="0.5")
    axes[0].hist(w, bins=edges, histtype="stepfilled", alpha=0.7, label=f"after {config.duration_s:g} s")
    axes[0].set_xlabel("w = g / g_max")
    axes[0].set_ylabel("synapses")
    axes[0].legend(frameon=False)
    mon = sim.state("inputs_to_neuron")
    weight_histograms(np.asarray(mon.w).T, np.asarray(mon.t / second), bins=20, w_range=(0, 1), ax=axes[1])
    axes[1].set_xlabel("time (s)")
    bins = np.arange(0, config.duration_s + 1e-9, max(1.0, config.duration_s / 20))  # >= 1 s per bin
    counts, _ = np.histogram(spikes, bins=bins)
    axes[2].plot(bins[:-1] + np.diff(bins) / 2, counts / np.diff(bins), "k-")
    axes[2].set_xlabel("time (s)")
    axes[2].set_ylabel("output rate (Hz)")
    fig.suptitle("Song, Miller & Abbott 2000: STDP makes the weight distribution bimodal")
    ctx.save_figure(fig, "weights")

    low, middle, high = fifths(w)
    return {
        "fraction_low": low,
        "fraction_middle": middle,
        "fraction_high": high,
        "rate_early_hz": rate_early,
        "rate_late_hz": rate_late,
        "mean_w": float(np.mean(w)),
    }


EXPERIMENT = Experiment(
    name="song_abbott_2000",
    description="STDP makes the weights of 1000 Poisson inputs bimodal (Song, Miller & Abbott 2000)",
    config_type=Config,
    run=run,
    quick_overrides={"duration_s": 15.0, "dt_ms": 0.25, "a_plus": 0.025},
)

if __name__ == "__main__":
    sys.exit(EXPERIMENT.main())
