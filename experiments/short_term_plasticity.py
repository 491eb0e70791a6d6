"""Tsodyks–Markram short-term plasticity: PSC trains of a depressing and a facilitating synapse.

Reproduces Tsodyks, Pawelzik & Markram 1998 (Neural Comput. 10:821): at 20 Hz a depressing synapse
(U=0.5, τ_d=800 ms) falls to PSC5/PSC1 ≈ 0.157 and a facilitating one (U=0.03, τ_d=130 ms, τ_f=530 ms)
grows to PSC5/PSC1 ≈ 3.48. Each presynaptic rate is one trial (checkpointed).
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
    NetworkDescription,
    OneToOne,
    Population,
    Projection,
    SpikeSource,
    StateRecording,
    TsodyksMarkram,
    build,
)
from neurosim.configs import bounded, check_ranges  # noqa: E402
from neurosim.experiment import Experiment, RunContext  # noqa: E402
from neurosim.validation import fail  # noqa: E402


@dataclass(frozen=True)
class Config:
    rates_hz: tuple[float, ...] = bounded((5.0, 10.0, 20.0, 40.0), gt=0, le=500)  # one trial each
    n_spikes: int = bounded(10, ge=2, le=1000)  # spikes per train
    dt_ms: float = bounded(0.1, gt=0, le=1)  # simulation step

    def __post_init__(self) -> None:
        check_ranges(self, owner="short_term_plasticity")
        if not self.rates_hz:
            fail("short_term_plasticity", "rates_hz", self.rates_hz, "expected at least one rate")


PRESETS = {"depressing": TsodyksMarkram.depressing(), "facilitating": TsodyksMarkram.facilitating()}


def psc_train(rule: TsodyksMarkram, rate_hz: float, n_spikes: int, dt_ms: float) -> np.ndarray:
    """PSC amplitudes (relative to J) of a regular train through one synapse onto an integrator."""
    times = (np.arange(n_spikes) / (rate_hz * Hz) + 5 * ms) / ms
    probe = LIF(
        synapse="delta",
        tau_m=1e6 * second,
        E_L=0 * mV,
        v_reset=0 * mV,
        v_threshold=1e9 * mV,
        refractory=0 * ms,
    )
    desc = NetworkDescription(
        populations=(
            Population("pre", 1, SpikeSource((0,) * n_spikes, times * ms)),
            Population("post", 1, probe),
        ),
        projections=(Projection("syn", "pre", "post", 1 * mV, connectivity=OneToOne(), rules=(rule,)),),
        recordings=(StateRecording("post", ("v",)),),
        dt=dt_ms * ms,
    )
    sim = build(desc, target="numpy").run((times[-1] + 5) * ms)
    v = np.asarray(sim.state("post").v[0] / mV)
    delay = float(sim.variable("syn", "delay")[0] * second / ms)
    steps = np.round((times + delay) / dt_ms).astype(int)
    return v[steps + 1] - v[steps - 1]


def run(config: Config, ctx: RunContext) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def trial(rate: float) -> dict:
        return {
            name: psc_train(rule, rate, config.n_spikes, config.dt_ms).tolist()
            for name, rule in PRESETS.items()
        }

    results = ctx.trials("rates", list(config.rates_hz), trial, desc="rates")
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), sharex=True)
    for ax, name in zip(axes, PRESETS, strict=True):
        for rate, res in zip(config.rates_hz, results, strict=True):
            psc = np.asarray(res[name])
            ax.plot(np.arange(1, len(psc) + 1), psc / psc[0], "o-", label=f"{rate:g} Hz")
        ax.set_title(name)
        ax.set_xlabel("spike number")
    axes[0].set_ylabel("PSC / PSC1")
    axes[1].legend()
    ctx.save_figure(fig, "psc_trains")
    metrics = {}
    for rate, res in zip(config.rates_hz, results, strict=True):
        for name in PRESETS:
            psc = np.asarray(res[name])
            metrics[f"{name}_{rate:g}Hz_psc5_over_psc1"] = float(psc[min(4, len(psc) - 1)] / psc[0])
    return metrics


EXPERIMENT = Experiment(
    name="short_term_plasticity",
    description="Tsodyks-Markram depressing and facilitating PSC trains (Tsodyks et al. 1998)",
    config_type=Config,
    run=run,
    quick_overrides={"rates_hz": (20.0,), "n_spikes": 5},
)

if __name__ == "__main__":
    sys.exit(EXPERIMENT.main())
