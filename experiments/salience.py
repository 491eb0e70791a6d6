"""Surprise-gated memory: with salience, a novel item of a stream is stored from one presentation.

The question: does a bottom-up novelty signal that gates plasticity make a spiking memory remember the
rare novel items of a stream (the von Restorff effect; von Restorff 1933, Ranganath & Rainer 2003)?
Task: :class:`~neurosim.tasks.NoveltyRecall` -- familiar items repeated in a stream with rare novel ones,
each paired with a tag; later each item is cued alone and its tag is the answer.

Spiking network: :class:`~neurosim.learners.episodic.EpisodicMemory` (one episode per trial, weights start
at zero each trial; every test episode runs side by side in one simulation)::

    input (item + tag channels) ─topographic─▶ mem: one unit per channel (LIF)
                               item units ─assoc─▶ tag units: CoActivityHebb [+ SalienceGated]
    item channels ─TM depressing (τ_d 3 s)─▶ novelty detector ─SalienceSignal─▶ s on the tag units

A familiar item reaches the detector through depleted synapses and barely drives it; a novel one arrives
through rested synapses, the detector fires, the salience trace ``s`` rises (τ_s 300 ms) and multiplies
the Hebbian weight change of the item → tag synapses (:mod:`neurosim.plasticity.salience`). At a cue, the
tag unit with most spikes is the answer. "salience off" is the same network with the plain rule (gain 1).
The same task runs in the main comparison (``compare_lstm``, task ``novelty_recall``).
The same test trials go to an LSTM, a GRU and a Transformer trained on ``n_train`` episodes. Statistics:
Wilson intervals per learner and kind of item (:mod:`neurosim.statistics`) and exact McNemar tests of
salience on vs off on the same novel-item answers.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import Hz, mV, second

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurosim.experiment import Experiment, RunContext  # noqa: E402
from neurosim.learners import LearnerBase  # noqa: E402
from neurosim.learners.episodic import EpisodicMemory, EpisodicParams  # noqa: E402
from neurosim.salience import NoveltyDetector  # noqa: E402
from neurosim.statistics import mcnemar_exact, proportion_ci  # noqa: E402
from neurosim.tasks import NoveltyRecall  # noqa: E402
from neurosim.validation import check_choice, check_number  # noqa: E402


@dataclass(frozen=True)
class Config:
    n_test: int = 100  # test episodes (n_novel novel + as many familiar answers each)
    n_train: int = 3000  # training episodes of the conventional learners
    conventional: tuple[str, ...] = ("lstm", "gru", "transformer")  # conventional learners to run
    epochs: int = 20  # passes of the conventional learners over their training episodes
    hidden: int = 64  # LSTM/GRU hidden units; Transformer width
    neurons: int = 8  # memory neurons per channel (one unit), and input sources per channel
    hebb_eta: float = 0.004  # co-activity rule's amplitude (one presentation at gain 1 stores little)
    gain: float = 1.0  # SalienceGated: learning-rate multiplier per unit of salience
    kick: float = 0.6  # rise of the salience trace per detector spike
    noise_rate: float = 100.0  # Hz of background input to each memory neuron

    def __post_init__(self) -> None:
        check_number("salience", "n_test", self.n_test, low=1, integer=True)
        check_number("salience", "n_train", self.n_train, low=1, integer=True)
        check_number("salience", "epochs", self.epochs, low=1, integer=True)
        check_number("salience", "hidden", self.hidden, low=2, integer=True)
        check_number("salience", "neurons", self.neurons, low=1, integer=True)
        check_number("salience", "hebb_eta", self.hebb_eta, low=0, low_open=True)
        check_number("salience", "gain", self.gain, low=0, low_open=True)
        check_number("salience", "kick", self.kick, low=0, low_open=True)
        check_number("salience", "noise_rate", self.noise_rate, low=0)


def episodic_params(config: Config, batch: int) -> EpisodicParams:
    """The episodic memory's settings from the config, ``batch`` episodes side by side."""
    detector = NoveltyDetector(n=10, weight=12 * mV, kick=config.kick)
    return EpisodicParams(
        neurons=config.neurons,
        hebb_eta=config.hebb_eta,
        gain=config.gain,
        detector=detector,
        noise_rate=config.noise_rate * Hz,
        batch=batch,
    )


def conventional_learner(name: str, task: NoveltyRecall, config: Config, seed: int) -> LearnerBase:
    """An LSTM, GRU or Transformer sized by ``config.hidden``, trained for ``config.epochs`` passes."""
    from neurosim.learners.gru import GRULearner
    from neurosim.learners.lstm import LSTMLearner
    from neurosim.learners.transformer import TransformerLearner

    kinds = {"lstm": (LSTMLearner, "hidden_size"), "gru": (GRULearner, "hidden_size")}
    kinds["transformer"] = (TransformerLearner, "d_model")
    if name not in kinds:
        check_choice("salience", "conventional", name, tuple(kinds))
    cls, size = kinds[name]
    return cls.for_task(task, **{size: config.hidden}, epochs=config.epochs, seed=seed)


def evaluate_learner(name: str, task: NoveltyRecall, config: Config, seed: int) -> dict[str, Any]:
    """One learner on the shared test episodes: correct/wrong per answer, which answers were novel, the
    record, and (salience network) the salience trace of the first test episode."""
    test = task.trials(config.n_test, seed, "test")
    if name.startswith("snn_"):
        on = name == "snn_salience"
        params = episodic_params(config, len(test))
        learner: Any = EpisodicMemory(task, params, salience=on, seed=seed, record_salience=on)
    else:
        learner = conventional_learner(name, task, config, seed)
        learner.train(task.trials(config.n_train, seed, "train"))
    start = float(learner.sim.t / second) if name.startswith("snn_") else 0.0
    evaluation = learner.evaluate(test)
    correct = [
        p[t.reward_steps] == t.targets[t.reward_steps]
        for t, p in zip(test, evaluation.predictions, strict=True)
    ]
    out = {
        "correct": np.concatenate(correct).astype(bool),
        "novel": np.concatenate([t.metadata["novel"] for t in test]).astype(bool),
        "record": learner.record(evaluation, {"task": task.name, "seed": seed}).to_dict(),
    }
    if name == "snn_salience":
        stop = start + float(test[0].n_steps * task.step_duration / second)
        out["trace"] = learner.salience_trace(start, stop)
        out["first_trial"] = test[0]
    return out


def run(config: Config, ctx: RunContext) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    task = NoveltyRecall()
    names = ["snn_salience", "snn_plain", *config.conventional]
    results = dict(
        zip(
            names,
            ctx.trials("learners", names, lambda n: evaluate_learner(n, task, config, ctx.seed)),
            strict=True,
        )
    )
    metrics: dict[str, Any] = {"task": task.name, "n_test": config.n_test, "seed": ctx.seed}
    for name, res in results.items():
        for kind, mask in (("novel", res["novel"]), ("familiar", ~res["novel"])):
            ci = proportion_ci(int(res["correct"][mask].sum()), int(mask.sum()))
            metrics[f"{name}_{kind}"] = {"accuracy": ci.estimate, "low": ci.low, "high": ci.high, "n": ci.n}
        metrics[f"{name}_record"] = res["record"]
    on, off = results["snn_salience"], results["snn_plain"]
    for kind, mask in (("novel", on["novel"]), ("familiar", ~on["novel"])):
        test = mcnemar_exact(on["correct"][mask], off["correct"][mask], names=("salience on", "salience off"))
        metrics[f"on_vs_off_{kind}"] = {
            "difference": test.difference,
            "low": test.low,
            "high": test.high,
            "p_value": test.p_value,
            "significant": test.significant,
            "verdict": test.verdict,
        }
    metrics["target_met"] = bool(metrics["on_vs_off_novel"]["low"] > 0)
    ctx.save_figure(figure(plt, task, results, names), "salience")
    ctx.log.info("novel items, salience on vs off: %s", metrics["on_vs_off_novel"]["verdict"])
    return metrics


def figure(plt: Any, task: NoveltyRecall, results: dict[str, Any], names: Sequence[str]) -> Any:
    """Left: the first test episode's stimulus stream (items; novel ones in red), the detector's spikes
    and the salience trace. Right: recall of novel and familiar items per learner, with 95% intervals."""
    fig, (ax_stream, ax_acc) = plt.subplots(1, 2, figsize=(13, 4), gridspec_kw={"width_ratios": [1.6, 1]})
    t, s, detector = results["snn_salience"]["trace"]
    trial = results["snn_salience"]["first_trial"]
    step = float(task.step_duration / second)
    novel = set(trial.metadata["novel_steps"])
    for k in range(trial.n_steps):
        shown = np.flatnonzero(trial.inputs[k, : task.n_items])
        for item in shown:
            color = "C3" if k in novel else ("C2" if trial.phase[k] == "recall" else "0.4")
            ax_stream.plot([k * step, (k + 1) * step], [item, item], color=color, lw=4, solid_capstyle="butt")
    ax_stream.set(
        xlabel="time in the episode (s)", ylabel="item shown", title="stream (red: novel, green: cue)"
    )
    ax_s = ax_stream.twinx()
    ax_s.plot(t, s, color="C0", lw=1.2, label="salience s (one tag neuron)")
    ax_s.plot(
        detector, np.full(len(detector), -0.1 * max(s.max(), 1e-9)), "|", color="C1", label="detector spikes"
    )
    ax_s.set_ylabel("salience s", color="C0")
    ax_s.legend(loc="upper right", fontsize=7)
    x = np.arange(len(names))
    for offset, kind, color in ((-0.2, "novel", "C3"), (0.2, "familiar", "0.5")):
        values = []
        for name in names:
            res = results[name]
            mask = res["novel"] if kind == "novel" else ~res["novel"]
            ci = proportion_ci(int(res["correct"][mask].sum()), int(mask.sum()))
            values.append((ci.estimate, ci.estimate - ci.low, ci.high - ci.estimate))
        est, lo, hi = (np.array(v) for v in zip(*values, strict=True))
        ax_acc.bar(x + offset, est, 0.4, yerr=(lo, hi), color=color, label=kind, capsize=3)
    ax_acc.axhline(1 / task.n_tags, color="k", lw=0.5, ls="--", label="chance")
    ax_acc.set_xticks(x, names, rotation=20)
    ax_acc.set(ylim=(0, 1.05), ylabel="recall accuracy (95% Wilson CI)", title="recall of the tag")
    ax_acc.legend(fontsize=7)
    fig.tight_layout()
    return fig


EXPERIMENT = Experiment(
    name="salience",
    description="Surprise-gated plasticity: novel items of a stream remembered (von Restorff 1933)",
    config_type=Config,
    run=run,
    quick_overrides={"n_test": 6, "n_train": 200, "epochs": 2, "hidden": 16},
)

if __name__ == "__main__":
    sys.exit(EXPERIMENT.main())
