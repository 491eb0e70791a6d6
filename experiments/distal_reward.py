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
``PairSTDP(pairing="nearest") + RewardModulated(tonic=0.002)`` and rewards are scheduled between 1 s chunks
of simulation (the reward delay, ≥ 1 s, is at least a chunk, so every reward is scheduled before it is due).
The paper needs about an hour of simulated time. ``--quick`` runs the scaled-down version of the test suite:
50 excitatory neurons, no inhibitory ones, 8 s, and the pairing evoked by stimulation about once a second
(with the paper's rule parameters).
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
    ExplicitConnections,
    Izhikevich,
    NetworkDescription,
    PairSTDP,
    PoissonBackground,
    Population,
    Projection,
    SpikeRecording,
    SpikeSource,
    UniformKernel,
    build,
)
from neurosim.backend import DopamineSignal, stream  # noqa: E402
from neurosim.experiment import Experiment, RunContext  # noqa: E402
from neurosim.plasticity.reward import RewardModulated  # noqa: E402
from neurosim.validation import check_number  # noqa: E402


@dataclass(frozen=True)
class Config:
    n_exc: int = 800  # excitatory neurons
    n_inh: int = 200  # inhibitory neurons (0: none)
    out_degree: int = 100  # synapses per neuron
    minutes: float = 60.0  # simulated time
    input_rate_hz: float = 1.0  # thalamic 20 mV kicks per neuron per second
    eta_hz: float = 100.0  # learning rate of the reward-modulated rule (Izhikevich: 1/(10 ms))
    dopamine: float = 0.5  # DA per reward
    evoked_every_s: float = 0.0  # > 0: evoke the pairing by stimulation about this often (scaled version)
    chunk_s: float = 1.0  # simulation between Python steps (at most the shortest reward delay, 1 s)
    dt_ms: float = 0.5  # simulation step
    target: str = "cython"  # Brian2 code generation target

    def __post_init__(self) -> None:
        owner = "distal_reward"
        check_number(owner, "n_exc", self.n_exc, low=2, integer=True)
        check_number(owner, "n_inh", self.n_inh, low=0, integer=True)
        check_number(owner, "out_degree", self.out_degree, low=1, high=self.n_exc - 1, integer=True)
        check_number(owner, "minutes", self.minutes, low=0, low_open=True)
        check_number(owner, "input_rate_hz", self.input_rate_hz, low=0, low_open=True)
        check_number(owner, "eta_hz", self.eta_hz, low=0)
        check_number(owner, "evoked_every_s", self.evoked_every_s, low=0)
        high = None if self.evoked_every_s else 1.0  # spontaneous pairings are rewarded >= 1 s later
        check_number(owner, "chunk_s", self.chunk_s, low=0, low_open=True, high=high)
        check_number(owner, "dt_ms", self.dt_ms, low=0, low_open=True, high=1)


def description(config: Config, seed: int = 0) -> tuple[NetworkDescription, np.ndarray]:
    """The Izhikevich 2007 network as a neurosim description, and the times (s) of evoked pairings.

    The rewarded synapse is its own projection ``rewarded`` (neuron 0 → neuron 1, starting at w = 0, with the
    same rule as every E synapse); ``EE`` holds all the others. With ``evoked_every_s > 0`` a stimulus makes
    neuron 0 fire and neuron 1 fire 5 ms later, about that often.
    """
    n = config.n_exc + config.n_inh
    wide = 10_000 * 1e-6 * metre  # a kernel reach beyond the 1 mm cube: connection probability is uniform
    delay = ConductionDelay(base=1 * ms, velocity=1e6 * metre / second)  # 1 ms, distance-independent
    learn = (
        PairSTDP(A_plus=0.1, A_minus=0.15, pairing="nearest"),
        RewardModulated(eta=config.eta_hz * Hz, tonic=0.002),
    )
    p_exc = config.out_degree / n
    plastic = dict(weight=1 * mV, w_max=4.0, delay=delay, rules=learn)
    start = {"v": "-65*mV + 5*mV*rand()"}
    pops = [Population("E", config.n_exc, Izhikevich(), initial=start)]
    projs = [
        Projection("EE", "E", "E", connectivity=UniformKernel(p=p_exc, radius=wide), w_init=1.0, **plastic),
        Projection(
            "rewarded", "E", "E", connectivity=ExplicitConnections(i=(0,), j=(1,)), w_init=0.0, **plastic
        ),
    ]
    inputs = [PoissonBackground("thalamus_E", "E", config.input_rate_hz * Hz, 1, 20 * mV)]
    if config.n_inh:
        fast_spiking = Izhikevich(a=0.1, d=2 * mV)
        pops.append(Population("I", config.n_inh, fast_spiking, sign="inhibitory", initial=start))
        p_inh = min(1.0, config.out_degree / config.n_exc)  # inhibitory neurons project to E only
        projs += [
            Projection(
                "EI", "E", "I", connectivity=UniformKernel(p=p_exc, radius=wide), w_init=1.0, **plastic
            ),
            Projection("IE", "I", "E", 1 * mV, connectivity=UniformKernel(p=p_inh, radius=wide), delay=delay),
        ]
        inputs.append(PoissonBackground("thalamus_I", "I", config.input_rate_hz * Hz, 1, 20 * mV))
    evoked = np.zeros(0)
    if config.evoked_every_s:
        rng = stream(seed, "distal_reward", "evoked")
        total = config.minutes * 60
        evoked = np.arange(0.5, total - 1.0, config.evoked_every_s)
        evoked = evoked + rng.uniform(0, 0.3 * config.evoked_every_s, len(evoked))
        kicks_t = np.ravel(np.column_stack([evoked, evoked + 0.005])) * 1000
        kicks_i = np.tile([0, 1], len(evoked))
        pops.append(Population("stim", 2, SpikeSource(indices=kicks_i, times=kicks_t * ms)))
        projs.append(
            Projection(
                "evoke",
                "stim",
                "E",
                40 * mV,
                connectivity=ExplicitConnections(i=(0, 1), j=(0, 1)),
                delay=delay,
            )
        )
    desc = NetworkDescription(
        populations=tuple(pops),
        projections=tuple(projs),
        inputs=tuple(inputs),
        recordings=(SpikeRecording("E"),),
        seed=seed,
        dt=config.dt_ms * ms,
    )
    return desc, evoked


def simulate(config: Config, seed: int = 0, progress: bool = False) -> dict:
    """Run the distal-reward protocol: every time neuron 0 fires and neuron 1 fires within 10 ms after it,
    schedule DA += ``dopamine`` 1–3 s later. Returns the rewarded synapse's weight and the mean of the other
    E→E weights after each chunk, the reward times, and the final weights."""
    desc, evoked = description(config, seed)
    sim = build(desc, target=config.target)
    rng = stream(seed, "distal_reward", "delays")
    signal = DopamineSignal.of(sim)
    total = config.minutes * 60
    times, w_rewarded, w_mean, rewards = [0.0], [0.0], [float(np.mean(sim.weights("EE")))], []

    def schedule(pairings: np.ndarray) -> None:
        for s in pairings:
            at = s + 1.0 + 2.0 * rng.random()  # Izhikevich 2007: the reward follows 1-3 s later
            if at < total:
                signal.deliver(config.dopamine, at=at * second)
                rewards.append(at)

    cut = 0.0  # spikes of neuron 0 before this time were checked in an earlier chunk
    while float(sim.t / second) < total - 1e-9:
        now = float(sim.t / second)
        chunk = min(config.chunk_s, total - now)
        if config.evoked_every_s:  # the pairings are known: schedule their rewards before running
            schedule(evoked[(evoked >= now) & (evoked < now + chunk)] + 0.001)  # neuron 0 fires 1 ms later
        sim.run(chunk * second, progress=progress)
        now = float(sim.t / second)
        if not config.evoked_every_s:
            i, t = sim.spikes("E")
            t = np.asarray(t / second)
            t2 = t[i == 1]
            # a pairing: neuron 0 fires, neuron 1 fires within 10 ms (spikes in the last 11 ms wait a chunk)
            t1 = t[(i == 0) & (t >= cut) & (t < now - 0.011)]
            cut = now - 0.011
            schedule(np.array([s for s in t1 if np.any((t2 > s) & (t2 <= s + 0.010))]))
        times.append(now)
        w_rewarded.append(float(sim.weights("rewarded")[0]))
        w_mean.append(float(np.mean(sim.weights("EE"))))
    return {
        "time_s": times,
        "w_rewarded": w_rewarded,
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
    scale, unit = (60, "min") if config.minutes >= 2 else (1, "s")
    t_axis = np.asarray(res["time_s"]) / scale
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    axes[0].plot(t_axis, res["w_rewarded"], label="rewarded synapse")
    axes[0].plot(t_axis, res["w_mean_others"], label="mean of the others")
    for r in res["reward_times_s"]:
        axes[0].axvline(r / scale, color="0.85", lw=0.5, zorder=0)  # reward times
    axes[0].set_xlabel(f"time ({unit})")
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


#: Scaled down (as the test suite runs it): 50 E neurons, no I, 8 s, pairings evoked about once a second.
QUICK = {
    "n_exc": 50,
    "n_inh": 0,
    "out_degree": 5,
    "minutes": 8 / 60,
    "evoked_every_s": 1.0,
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
