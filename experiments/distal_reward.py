"""Izhikevich 2007, "Solving the distal reward problem through linkage of STDP and dopamine signaling".

Cereb. Cortex 17:2443, and its code (daspnet.m). A network of 800 excitatory (regular spiking) and 200
inhibitory (fast spiking) Izhikevich neurons, 100 synapses per neuron, 1 ms delays, random thalamic input (a
current uniform in ±6.5 mV/ms for every neuron each ms; here equal-sized excitatory and inhibitory kicks with
the same mean and s.d., see :func:`thalamus`); excitatory synapses start at w = 1 (max 4) and learn by
nearest-spike STDP (A+ = 0.1, A− = 0.15, τ = 20 ms) whose changes go to an eligibility trace (τ_c = 1 s) and
reach the weight only with dopamine (τ_DA = 200 ms, ``w += (0.002 + DA)·c`` every 10 ms). One E→E synapse,
started at 0, is chosen; every time its presynaptic neuron fires and its postsynaptic neuron fires within
20 ms (the code's coincidence interval), a reward (DA += 0.5) follows 1–3 s later, when many other pairings
have happened in between. Result: the rewarded synapse grows to the maximum within the hour, while the mean
excitatory weight does not grow.

Here the network is :func:`neurosim.build`-ed from a description and the rule is
``PairSTDP(pairing="nearest") + RewardModulated(tonic=0.002)``. Two ways to find the pairings and deliver
the rewards, with the same result (a test compares the weights):

* ``rewards="generated"`` (default): generated code finds each pairing and delivers its reward during one
  run (:class:`neurosim.backend.pairing_reward.PairingReward`); with ``target="cpp_standalone"`` the paper's
  hour takes a few minutes.
* ``rewards="python"``: a Python controller reads the spikes after each chunk of ``chunk_s`` and schedules
  the rewards through the simulation's dopamine signal (a run per chunk: slower; the reference).

The ``n``-th spike of the presynaptic neuron carries the delay ``delays[n]`` (uniform in 1–3 s, drawn from the
seed), used if it is paired. ``--quick`` runs a scaled-down version: 50 excitatory neurons, no inhibitory
ones, 8 s, and the pairing evoked by stimulation about once a second (with the paper's rule parameters).
"""

from __future__ import annotations

import sys
import time
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
    StateRecording,
    UniformKernel,
    build,
)
from neurosim.backend import TARGETS, DopamineSignal, stream  # noqa: E402
from neurosim.backend.pairing_reward import PairingReward, paired  # noqa: E402
from neurosim.experiment import Experiment, RunContext  # noqa: E402
from neurosim.plasticity.reward import RewardModulated  # noqa: E402
from neurosim.validation import check_choice, check_number, fail  # noqa: E402

#: Where the rewards come from: generated code during one run, or a Python controller between chunks.
REWARDS = ("generated", "python")

#: The noise input: fibres per neuron and sign, and their mean number of kicks per neuron, sign and ms.
NOISE_FIBRES, NOISE_EVENTS = 40, 4.0

#: The presynaptic neuron fires at most this often (Hz): the table of reward delays has one per spike.
MAX_PRE_RATE_HZ = 100.0


@dataclass(frozen=True)
class Config:
    n_exc: int = 800  # excitatory neurons
    n_inh: int = 200  # inhibitory neurons (0: none)
    out_degree: int = 100  # synapses per neuron
    minutes: float = 60.0  # simulated time
    noise_mv: float = 3.75  # random thalamic input: s.d. (mV) of each neuron's kick per ms, mean 0 (0: none)
    input_rate_hz: float = 0.0  # thalamic 20 mV kicks per neuron per second (0: none)
    eta_hz: float = 100.0  # learning rate of the reward-modulated rule (Izhikevich: 1/(10 ms))
    dopamine: float = 0.5  # DA per reward
    window_ms: float = 20.0  # a pairing: the post neuron fires 1 step to this long after the pre neuron
    delay_min_s: float = 1.0  # the reward follows the pairing after a delay uniform in [min, max]
    delay_max_s: float = 3.0
    evoked_every_s: float = 0.0  # > 0: evoke the pairing by stimulation about this often (scaled version)
    rewards: str = "generated"  # "generated" (one run) or "python" (a controller between chunks)
    chunk_s: float = 0.5  # rewards="python": simulation between Python steps
    record_every_s: float = 60.0  # the weights are recorded this often
    slots: int = 64  # rewards="generated": pre spikes held at once (a reward lives ~3 s + 40 τ_DA)
    dt_ms: float = 1.0  # simulation step
    target: str = "cpp_standalone"  # Brian2 code generation target

    def __post_init__(self) -> None:
        owner = "distal_reward"
        check_number(owner, "n_exc", self.n_exc, low=2, integer=True)
        check_number(owner, "n_inh", self.n_inh, low=0, integer=True)
        check_number(owner, "out_degree", self.out_degree, low=1, high=self.n_exc - 1, integer=True)
        check_number(owner, "minutes", self.minutes, low=0, low_open=True)
        check_number(owner, "noise_mv", self.noise_mv, low=0)
        check_number(owner, "input_rate_hz", self.input_rate_hz, low=0)
        if not (self.noise_mv or self.input_rate_hz):
            fail(owner, "noise_mv", self.noise_mv, "> 0, or input_rate_hz > 0 (the network needs input)")
        check_number(owner, "eta_hz", self.eta_hz, low=0)
        check_number(owner, "dopamine", self.dopamine, low=0)
        check_number(owner, "dt_ms", self.dt_ms, low=0, low_open=True, high=1)
        check_number(owner, "window_ms", self.window_ms, low=self.dt_ms, high=100)
        # the reward of a pairing must be known two update periods (10 ms) before it is due
        low_delay = self.window_ms / 1000 + 0.02 + self.dt_ms / 1000
        check_number(owner, "delay_min_s", self.delay_min_s, low=low_delay)
        check_number(owner, "delay_max_s", self.delay_max_s, low=self.delay_min_s)
        check_number(owner, "evoked_every_s", self.evoked_every_s, low=0)
        check_choice(owner, "rewards", self.rewards, REWARDS)
        # a pairing is decided window + dt after its pre spike and rewarded >= delay_min_s later
        high = self.delay_min_s - self.window_ms / 1000 - self.dt_ms / 1000
        check_number(owner, "chunk_s", self.chunk_s, low=0, low_open=True, high=high)
        check_number(owner, "record_every_s", self.record_every_s, low=self.dt_ms / 1000)
        check_number(owner, "slots", self.slots, low=1, integer=True)
        check_choice(owner, "target", self.target, TARGETS)
        if self.rewards == "python" and self.target == "cpp_standalone":
            fail(owner, "target", self.target, "numpy or cython with rewards='python' (a run per chunk)")


def description(config: Config, seed: int = 0) -> NetworkDescription:
    """The Izhikevich 2007 network as a neurosim description.

    The rewarded synapse is its own projection ``rewarded`` (neuron 0 → neuron 1, starting at w = 0, with the
    same rule as every E synapse); ``EE`` holds all the others. With ``evoked_every_s > 0`` a stimulus makes
    neuron 0 fire and neuron 1 fire 5 ms later, about that often. The weights of ``rewarded`` and ``EE``
    are recorded every ``record_every_s``.
    """
    n = config.n_exc + config.n_inh
    wide = 10_000 * 1e-6 * metre  # a kernel reach beyond the 1 mm cube: connection probability is uniform
    delay = ConductionDelay(base=1 * ms, velocity=1e6 * metre / second)  # 1 ms, distance-independent
    horizon = max(10.0, config.delay_max_s + 1.0) * second  # the dopamine table covers a reward ahead
    learn = (
        PairSTDP(A_plus=0.1, A_minus=0.15, pairing="nearest"),
        RewardModulated(eta=config.eta_hz * Hz, tonic=0.002, horizon=horizon),
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
    inputs = list(thalamus(config, "E"))
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
        inputs += thalamus(config, "I")
    if config.evoked_every_s:
        rng = stream(seed, "distal_reward", "evoked")
        evoked = np.arange(0.5, config.minutes * 60 - 1.0, config.evoked_every_s)
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
    every = config.record_every_s * second
    return NetworkDescription(
        populations=tuple(pops),
        projections=tuple(projs),
        inputs=tuple(inputs),
        recordings=(
            SpikeRecording("E"),
            StateRecording("rewarded", ("w",), dt=every),
            StateRecording("EE", ("w",), dt=every),
        ),
        seed=seed,
        dt=config.dt_ms * ms,
    )


def thalamus(config: Config, population: str) -> list[PoissonBackground]:
    """The random thalamic input of ``population``. Noise: Izhikevich's code gives every neuron a current
    uniform in ±6.5 (mV per ms) each ms; here excitatory and inhibitory kicks of equal size, on average
    ``NOISE_EVENTS`` of each per neuron and ms, give the same mean (0) and s.d. (``noise_mv``) per ms.
    Kicks: 20 mV at ``input_rate_hz`` (his earlier network without dopamine)."""
    out = []
    if config.noise_mv:
        rate = NOISE_EVENTS / (NOISE_FIBRES * 1e-3) * Hz
        var = 2 * NOISE_FIBRES * (NOISE_EVENTS / NOISE_FIBRES) * (1 - NOISE_EVENTS / NOISE_FIBRES)
        kick = config.noise_mv / np.sqrt(var) * mV  # Binomial(fibres, rate·dt) kicks of each sign
        for sign in ("excitatory", "inhibitory"):
            name = f"noise_{population}_{sign[:3]}"
            out.append(PoissonBackground(name, population, rate, NOISE_FIBRES, kick, sign=sign))
    if config.input_rate_hz:
        out.append(
            PoissonBackground(f"thalamus_{population}", population, config.input_rate_hz * Hz, 1, 20 * mV)
        )
    return out


def reward_delays(config: Config, seed: int = 0) -> np.ndarray:
    """The delay (s) of the reward of each spike of neuron 0 (used if the spike is paired)."""
    n = int(np.ceil(config.minutes * 60 * MAX_PRE_RATE_HZ)) + 100
    return stream(seed, "distal_reward", "delays").uniform(config.delay_min_s, config.delay_max_s, n)


def simulate(config: Config, seed: int = 0, progress: bool = False) -> dict:
    """Run the distal-reward protocol: every time neuron 0 fires and neuron 1 fires 1 step to ``window_ms``
    after it, DA += ``dopamine`` arrives ``delays[n]`` later (``n``: the number of neuron 0's spike). Returns
    the rewarded synapse's weight and the mean of the other E→E weights over time, the reward times, the
    final weights and the E firing rate."""
    sim = build(description(config, seed), target=config.target)
    delays = reward_delays(config, seed)
    total, window, dt = config.minutes * 60, config.window_ms / 1000, config.dt_ms / 1000
    if config.rewards == "generated":
        pairing = PairingReward(
            sim,
            ("E", 0),
            ("E", 1),
            window=window * second,
            delays=delays * second,
            amount=config.dopamine,
            slots=config.slots,
        )
        sim.run(total * second, progress=progress)
        pairing.check()
    else:
        _python_controller(sim, config, delays, progress)
    i, t = sim.spikes("E")
    t = np.asarray(t / second)
    pre = t[i == 0]
    ok = paired(pre, t[i == 1], window, dt)
    rewards = pre[ok] + delays[: len(pre)][ok]
    w_rewarded, w_others = sim.state("rewarded"), sim.state("EE")
    return {
        "time_s": [*np.asarray(w_rewarded.t / second).tolist(), float(sim.t / second)],
        "w_rewarded": [*w_rewarded.w[0].tolist(), float(sim.weights("rewarded")[0])],
        "w_mean_others": [*np.mean(w_others.w, axis=0).tolist(), float(np.mean(sim.weights("EE")))],
        "reward_times_s": rewards[rewards < total].tolist(),
        "n_pairings": int(ok.sum()),
        "n_pairings_generated": pairing.n_rewards() if config.rewards == "generated" else None,
        "final_weights": sim.weights("EE").tolist(),
        "rate_exc_hz": len(i) / config.n_exc / total,
        "w_max": 4.0,
    }


def _python_controller(sim, config: Config, delays: np.ndarray, progress: bool) -> None:
    """Run in chunks; after each, schedule DA for the pre spikes whose pairing is decided (the post neuron's
    window has passed). A reward is due >= delay_min_s after its pre spike, so after the chunk it is in."""
    signal = DopamineSignal.of(sim)
    total, window, dt = config.minutes * 60, config.window_ms / 1000, config.dt_ms / 1000
    checked = 0  # spikes of neuron 0 decided so far
    while float(sim.t / second) < total - 1e-9:
        sim.run(min(config.chunk_s, total - float(sim.t / second)) * second, progress=progress)
        now = float(sim.t / second)
        i, t = sim.spikes("E")
        t = np.asarray(t / second)
        pre = t[i == 0]
        decided = int(np.searchsorted(pre, now - window - 0.5 * dt))  # spikes up to now - dt are in
        ok = paired(pre[checked:decided], t[i == 1], window, dt)
        for n in checked + np.flatnonzero(ok):
            if pre[n] + delays[n] < total:
                signal.deliver(config.dopamine, at=(pre[n] + delays[n]) * second)
        checked = decided


def run(config: Config, ctx: RunContext) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    started = time.perf_counter()
    res = simulate(config, ctx.seed)
    wall_s = time.perf_counter() - started
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
    w_rewarded = np.asarray(res["w_rewarded"])
    others = np.asarray(res["final_weights"])
    near = np.flatnonzero(w_rewarded >= 0.9 * res["w_max"])  # first recorded time at 90% of the maximum
    return {
        "w_rewarded_final": float(w_rewarded[-1]),
        "w_rewarded_max": float(w_rewarded.max()),
        "minutes_to_90_percent_of_max": float(res["time_s"][near[0]] / 60) if len(near) else None,
        "fraction_of_others_below_rewarded": float(np.mean(others < w_rewarded[-1])),
        "w_mean_others_initial": res["w_mean_others"][0],
        "w_mean_others_final": res["w_mean_others"][-1],
        "n_rewards": len(res["reward_times_s"]),
        "rate_exc_hz": res["rate_exc_hz"],
        "wall_s": wall_s,  # simulation (build, compile, run) without the figure
    }


#: Scaled down (as the test suite runs it): 50 E neurons, no I, 8 s, pairings evoked about once a second,
#: rewards from generated code (numpy: no compiler needed).
QUICK = {
    "n_exc": 50,
    "n_inh": 0,
    "out_degree": 5,
    "minutes": 8 / 60,
    "evoked_every_s": 1.0,
    "record_every_s": 1.0,
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
