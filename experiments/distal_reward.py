"""Izhikevich 2007, "Solving the distal reward problem through linkage of STDP and dopamine signaling".

Cereb. Cortex 17:2443. A network of 800 excitatory (regular spiking) and 200 inhibitory (fast spiking)
Izhikevich neurons, 100 synapses per neuron, 1 ms delays, random thalamic input (each neuron gets a 20 mV kick
at 1 Hz); excitatory synapses start at w = 1 (max 4) and learn by nearest-spike STDP (A+ = 0.1, A− = 0.15,
τ = 20 ms) whose changes go to an eligibility trace (τ_c = 1 s) and reach the weight only with dopamine
(τ_DA = 200 ms, ``w += (0.002 + DA)·c`` every 10 ms). One E→E synapse, started at 0, is chosen; every time
its presynaptic neuron fires and its postsynaptic neuron fires within 10 ms, a reward (DA += 0.5) follows
1–3 s later, when many other pairings have happened in between. Result: the rewarded synapse grows to near
the maximum, while the mean excitatory weight does not grow.

Here the network is :func:`neurosim.build`-ed from a description, the rule is
``PairSTDP(pairing="nearest") + RewardModulated(tonic=0.002)`` and rewards are scheduled between 1 s chunks of
simulation (the reward delay, ≥ 1 s, is longer than a chunk, so every reward is scheduled before it is due).
The paper needs about an hour of simulated time; ``--quick`` runs a scaled-down network (fewer neurons,
higher input rate, larger learning rate) for a minute, as the test suite does.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import Hz, metre, ms, mV, second

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurosim import (  # noqa: E402
    ConductionDelay,
    Izhikevich,
    NetworkDescription,
    PairSTDP,
    PoissonBackground,
    Population,
    Projection,
    SpikeRecording,
    UniformKernel,
    build,
)
from neurosim.experiment import Experiment, RunContext  # noqa: E402
from neurosim.plasticity.reward import DopamineSignal, RewardModulated  # noqa: E402
from neurosim.validation import check_number  # noqa: E402


@dataclass(frozen=True)
class Config:
    n_exc: int = 800  # excitatory neurons
    n_inh: int = 200  # inhibitory neurons
    out_degree: int = 100  # synapses per neuron
    minutes: float = 60.0  # simulated time
    input_rate_hz: float = 1.0  # thalamic 20 mV kicks per neuron per second
    eta_hz: float = 100.0  # learning rate of the reward-modulated rule (Izhikevich: 1/(10 ms))
    dopamine: float = 0.5  # DA per reward
    dt_ms: float = 0.5  # simulation step
    target: str = "cython"  # Brian2 code generation target

    def __post_init__(self) -> None:
        owner = "distal_reward"
        check_number(owner, "n_exc", self.n_exc, low=2, integer=True)
        check_number(owner, "n_inh", self.n_inh, low=1, integer=True)
        check_number(owner, "out_degree", self.out_degree, low=1, high=self.n_exc - 1, integer=True)
        check_number(owner, "minutes", self.minutes, low=0, low_open=True)
        check_number(owner, "input_rate_hz", self.input_rate_hz, low=0, low_open=True)
        check_number(owner, "eta_hz", self.eta_hz, low=0)
        check_number(owner, "dt_ms", self.dt_ms, low=0, low_open=True, high=1)


def description(config: Config, seed: int = 0) -> NetworkDescription:
    """The Izhikevich 2007 network as a neurosim description."""
    n = config.n_exc + config.n_inh
    wide = 10_000 * 1e-6 * metre  # a kernel reach beyond the 1 mm cube: connection probability is uniform
    delay = ConductionDelay(base=1 * ms, velocity=1e6 * metre / second)  # 1 ms, distance-independent
    learn = (
        PairSTDP(A_plus=0.1, A_minus=0.15, pairing="nearest"),
        RewardModulated(eta=config.eta_hz * Hz, tonic=0.002),
    )
    p_exc = config.out_degree / n
    p_inh = config.out_degree / config.n_exc
    exc = dict(weight=1 * mV, w_init=1.0, w_max=4.0, delay=delay, rules=learn)
    return NetworkDescription(
        populations=(
            Population("E", config.n_exc, Izhikevich(), initial={"v": "-65*mV + 5*mV*rand()"}),
            Population(
                "I",
                config.n_inh,
                Izhikevich(a=0.1, d=2 * mV),
                sign="inhibitory",
                initial={"v": "-65*mV + 5*mV*rand()"},
            ),
        ),
        projections=(
            Projection("EE", "E", "E", connectivity=UniformKernel(p=p_exc, radius=wide), **exc),
            Projection("EI", "E", "I", connectivity=UniformKernel(p=p_exc, radius=wide), **exc),
            Projection(
                "IE",
                "I",
                "E",
                1 * mV,
                connectivity=UniformKernel(p=min(1.0, p_inh), radius=wide),
                delay=delay,
            ),
        ),
        inputs=(
            PoissonBackground("thalamus_E", "E", config.input_rate_hz * Hz, 1, 20 * mV),
            PoissonBackground("thalamus_I", "I", config.input_rate_hz * Hz, 1, 20 * mV),
        ),
        recordings=(SpikeRecording("E"),),
        seed=seed,
        dt=config.dt_ms * ms,
    )


def simulate(config: Config, seed: int = 0, progress: bool = False) -> dict:
    """Run the distal-reward protocol; returns the rewarded synapse's weight and the mean E→E weight over
    time, the reward times, and the final weights."""
    sim = build(description(config, seed), target=config.target)
    rng = np.random.default_rng(seed)
    syn = sim.synapses["EE"]
    pre, post = np.asarray(syn.i[:]), np.asarray(syn.j[:])
    chosen = int(rng.integers(len(pre)))
    n1, n2 = int(pre[chosen]), int(post[chosen])
    syn.w[chosen] = 0.0
    signal = DopamineSignal.of(sim)
    chunk = 1.0
    n_chunks = int(round(config.minutes * 60 / chunk))
    times, w_chosen, w_mean, rewards = [0.0], [0.0], [float(np.mean(sim.weights("EE")))], []
    cut = 0.0  # n1 spikes before this time were checked in an earlier chunk
    for _ in range(n_chunks):
        sim.run(chunk * second, progress=progress)
        now = float(sim.t / second)
        i, t = sim.spikes("E")
        t = np.asarray(t / second)
        # a pairing: n1 fires and n2 fires within 10 ms after it (n1 spikes in the last 11 ms wait a chunk)
        t1 = t[(i == n1) & (t >= cut) & (t < now - 0.011)]
        t2 = t[i == n2]
        cut = now - 0.011
        for s in t1:
            if np.any((t2 > s) & (t2 <= s + 0.010)):
                at = s + 1.0 + 2.0 * rng.random()
                signal.deliver(config.dopamine, at=at * second, projections=["EE"])
                rewards.append(at)
        w = sim.weights("EE")
        times.append(now)
        w_chosen.append(float(w[chosen]))
        w_mean.append(float(np.mean(np.delete(w, chosen))))
    return {
        "time_s": times,
        "w_rewarded": w_chosen,
        "w_mean_others": w_mean,
        "reward_times_s": rewards,
        "final_weights": sim.weights("EE").tolist(),
        "w_max": 4.0,
    }


def run(config: Config, ctx: RunContext) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = simulate(config, ctx.seed)
    t_min = np.asarray(res["time_s"]) / 60
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    axes[0].plot(t_min, res["w_rewarded"], label="rewarded synapse")
    axes[0].plot(t_min, res["w_mean_others"], label="mean of the others")
    for r in res["reward_times_s"]:
        axes[0].axvline(r / 60, color="0.85", lw=0.5, zorder=0)
    axes[0].set_xlabel("time (min)")
    axes[0].set_ylabel("weight w")
    axes[0].set_ylim(0, res["w_max"] * 1.05)
    axes[0].legend(loc="center right")
    axes[0].set_title("distal reward (Izhikevich 2007)")
    axes[1].hist(res["final_weights"], bins=40, color="0.4")
    axes[1].axvline(res["w_rewarded"][-1], color="C0", label="rewarded synapse")
    axes[1].set_xlabel("final weight w")
    axes[1].set_ylabel("synapses")
    axes[1].legend()
    fig.tight_layout()
    ctx.save_figure(fig, "distal_reward")
    return {
        "w_rewarded_final": res["w_rewarded"][-1],
        "w_mean_others_initial": res["w_mean_others"][0],
        "w_mean_others_final": res["w_mean_others"][-1],
        "n_rewards": len(res["reward_times_s"]),
    }


QUICK = {
    "n_exc": 80,
    "n_inh": 20,
    "out_degree": 10,
    "minutes": 1.0,
    "input_rate_hz": 10.0,
    "eta_hz": 400.0,
    "dt_ms": 1.0,
    "target": "numpy",
}

EXPERIMENT = Experiment(
    name="distal_reward",
    description="Reward-modulated STDP solves the distal reward problem (Izhikevich 2007)",
    config_type=Config,
    run=run,
    quick_overrides=QUICK,
)

if __name__ == "__main__":
    sys.exit(EXPERIMENT.main())
