"""Synaptic tagging and capture: early LTP fades, late LTP lasts, weak inputs are captured.

Reproduces the tagging/capture results of Frey & Morris 1997 (Nature 385:533) as modelled by Clopath et al.
2008 (PLoS Comput. Biol. 4:e1000248) and Luboeinski & Tetzlaff 2021 (Commun. Biol. 4:275, whose model
:class:`~neurosim.TaggingCapture` implements): a strong tetanus (3 × 100 pulses at 100 Hz, 10 min apart)
gives late LTP lasting hours; a weak tetanus (21 pulses at 100 Hz) alone gives early LTP that decays to
baseline; a weak tetanus 30 min after (or before) a strong tetanus of another pathway onto the same neurons
is captured and lasts. A fifth neuron gets a weak tetanus followed by an outside protein-synthesis signal
(``stc_protein_drive``, the hook for reward). Hours are compressed by ``time_scale``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import ms, mV, second

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurosim import (  # noqa: E402
    LIF,
    ExplicitConnections,
    NetworkDescription,
    Population,
    Projection,
    SpikeSource,
    StateRecording,
    TaggingCapture,
    build,
)
from neurosim.configs import bounded, check_ranges  # noqa: E402
from neurosim.experiment import Experiment, RunContext  # noqa: E402
from neurosim.plasticity.consolidation import strong_tetanus, weak_tetanus  # noqa: E402

HOUR = 3600 * second
#: scenario -> (strong tetanus at [h], weak tetanus at [h]) for one postsynaptic neuron each
SCENARIOS = {
    "strong alone": (0.5, None),
    "weak alone": (None, 0.5),
    "weak 30 min after strong": (0.5, 1.0),
    "weak 30 min before strong": (1.0, 0.5),
    "weak + protein drive": (None, 0.5),
}
DRIVE = (0.55, 1.55)  # hours during which the last neuron's protein synthesis is switched on from outside


@dataclass(frozen=True)
class Config:
    time_scale: float = bounded(120.0, ge=1, le=600)  # divides slow time constants and gaps
    hours: float = bounded(8.0, ge=2, le=48)  # biological time simulated
    dt_ms: float = bounded(5.0, ge=0.01, le=10)  # step (exact at spike times; 100 Hz: <= 10)

    def __post_init__(self) -> None:
        check_ranges(self, owner="consolidation")


def _source(name: str, trains: list) -> Population:
    idx = np.concatenate([[k] * len(tr) for k, tr in enumerate(trains)]).astype(int)
    times = np.concatenate([np.asarray(tr / ms) for tr in trains])
    order = np.argsort(times, kind="stable")
    return Population(name, len(trains), SpikeSource(indices=tuple(idx[order]), times=times[order] * ms))


def simulate(config: Config) -> dict[str, np.ndarray]:
    """Run all scenarios in one network (one postsynaptic neuron each); return traces over time."""
    s = config.time_scale
    at = lambda hours: hours * HOUR / s  # noqa: E731
    rule = TaggingCapture(time_scale=s)
    strong, weak = [], []  # (post neuron, train)
    for k, (t_strong, t_weak) in enumerate(SCENARIOS.values()):
        if t_strong is not None:
            strong.append((k, strong_tetanus(at(t_strong), time_scale=s)))
        if t_weak is not None:
            weak.append((k, weak_tetanus(at(t_weak))))
    integrator = LIF(synapse="delta", tau_m=1e6 * second, E_L=0 * mV, v_reset=0 * mV, v_threshold=1e9 * mV)
    every = 0.05 * HOUR / s
    pathways = {"S": strong, "W": weak}
    desc = NetworkDescription(
        populations=(
            *(_source(name, [tr for _, tr in items]) for name, items in pathways.items()),
            Population("post", len(SCENARIOS), integrator),
        ),
        projections=tuple(
            Projection(
                f"{name}_post",
                name,
                "post",
                rule.h0,
                ExplicitConnections(tuple(range(len(items))), tuple(k for k, _ in items)),
                rules=(rule,),
            )
            for name, items in pathways.items()
        ),
        recordings=(
            *(StateRecording(f"{name}_post", ("w", "stc_h", "stc_z"), dt=every) for name in pathways),
            StateRecording("post", ("stc_p",), dt=every),
        ),
        dt=config.dt_ms * ms,
    )
    sim = build(desc)
    drive_neuron = list(SCENARIOS).index("weak + protein drive")
    sim.run(at(DRIVE[0]))
    sim.set_variable("post", "stc_protein_drive", 1.0, indices=drive_neuron)
    sim.run(at(DRIVE[1] - DRIVE[0]))
    sim.set_variable("post", "stc_protein_drive", 0.0, indices=drive_neuron)
    sim.run(at(config.hours - DRIVE[1]))

    out: dict[str, np.ndarray] = {"hours": np.asarray(sim.state("post").t / HOUR) * s}
    out["protein"] = np.asarray(sim.state("post").stc_p)
    for name in pathways:
        mon, post = sim.state(f"{name}_post"), sim.connections(f"{name}_post")[1]
        for row, k in enumerate(post):
            out[f"{name}{k}_w"] = np.asarray(mon.w[row])
            out[f"{name}{k}_early"] = np.asarray(mon.stc_h[row] / rule.h0)
            out[f"{name}{k}_late"] = np.asarray(mon.stc_z[row])
    return out


def run(config: Config, ctx: RunContext) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    traces = ctx.trials("simulation", [config], simulate, desc="simulating")[0]
    hours = traces["hours"]
    names = list(SCENARIOS)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for k, name in enumerate(names):
        key = f"W{k}_w" if f"W{k}_w" in traces else f"S{k}_w"
        axes[0].plot(hours, traces[key], label=f"{name} ({'weak' if key[0] == 'W' else 'strong'} pathway)")
    axes[0].axhline(1, color="grey", lw=0.5)
    axes[0].set(xlabel="time (h)", ylabel="weight w (1 = baseline)", title="weights")
    axes[0].legend(fontsize=7)
    captured = names.index("weak 30 min after strong")
    for pathway, style in (("S", "-"), ("W", "--")):
        axes[1].plot(
            hours,
            traces[f"{pathway}{captured}_early"] - 1,
            style,
            color="C0",
            label=f"{pathway}: early h/h0 - 1",
        )
        axes[1].plot(
            hours, traces[f"{pathway}{captured}_late"], style, color="C3", label=f"{pathway}: late z"
        )
    axes[1].set(xlabel="time (h)", title="weak after strong: early and late phase")
    axes[1].legend(fontsize=7)
    for k, name in enumerate(names):
        axes[2].plot(hours, traces["protein"][k], label=name)
    axes[2].axvspan(*DRIVE, color="0.9", label="outside protein drive")
    axes[2].set(xlabel="time (h)", ylabel="protein p", title="protein per postsynaptic neuron")
    axes[2].legend(fontsize=7)
    ctx.save_figure(fig, "consolidation")

    metrics = {}
    for k, name in enumerate(names):
        key = f"W{k}" if f"W{k}_w" in traces else f"S{k}"
        slug = name.replace(" ", "_").replace("+", "and")
        metrics[f"{slug}_w_end"] = float(traces[f"{key}_w"][-1])
        metrics[f"{slug}_late_end"] = float(traces[f"{key}_late"][-1])
        metrics[f"{slug}_w_peak"] = float(traces[f"{key}_w"].max())
    return metrics


EXPERIMENT = Experiment(
    name="consolidation",
    description="Tagging and capture: early vs late LTP (Frey & Morris 1997; Luboeinski & Tetzlaff 2021)",
    config_type=Config,
    run=run,
    quick_overrides={"time_scale": 300.0, "dt_ms": 10.0},
)

if __name__ == "__main__":
    sys.exit(EXPERIMENT.main())
