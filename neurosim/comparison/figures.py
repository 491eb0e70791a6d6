"""The comparison's figures, every learner side by side: accuracy vs delay, vs load, vs pruned fraction,
over training, the retention of A in continual learning, and novelty recall by kind of item.

A figure is drawn only when its task ran (no empty figure files). Curves are means over seeds with their
95% interval over seeds (clipped to [0, 1]); reference lines are labelled in the legend; every panel has a
legend. The learning curves are prequential (each training trial scored before it is learned from),
averaged over seeds and smoothed with a running mean over a tenth of the presentations, on a logarithmic
axis of presentations (the spiking network learns in one pass, the others in many). Figures are drawn with
matplotlib's file-only ``Agg`` backend and saved through the run's :class:`~neurosim.experiment.RunContext`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..experiment import RunContext
from .summary import LEARNERS, STEP_S, TASKS

#: Figure names (files ``<name>.png`` in the results folder), each drawn when its task ran.
FIGURES = (
    "accuracy_vs_delay",
    "accuracy_vs_load",
    "accuracy_vs_pruning",
    "accuracy_vs_training",
    "retention",
    "novelty_recall",
)
COLORS = {"snn": "C0", "snn_no_salience": "C4", "lstm": "C1", "gru": "C2", "transformer": "C3"}
MARKERS = {"snn": "o", "snn_no_salience": "v", "lstm": "s", "gru": "^", "transformer": "D"}


def figures(summary: dict[str, Any], results: list[dict[str, Any]], ctx: RunContext) -> list[str]:
    """Draw and save the :data:`FIGURES` that the run has data for; return their names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    tasks = summary["tasks"]
    drawn: list[str] = []

    def save(fig: Any, name: str) -> None:
        ctx.save_figure(fig, name)
        drawn.append(name)

    if "store_recall" in tasks:
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        for b, e in tasks["store_recall"].items():
            _errorplot(ax, e.get("accuracy_vs_delay", {}), b, STEP_S)
        ax.axhline(0.9, color="0.6", ls="--", lw=1, label="snn target 0.9")
        ax.set(xlabel="delay (s)", ylabel="test accuracy", title="store-recall", ylim=(0, 1.05))
        ax.legend(fontsize=7)
        save(fig, "accuracy_vs_delay")

    if summary.get("load"):
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        for b, curve in summary["load"].items():
            _errorplot(ax, curve, b)
        ax.axhline(0.9, color="0.6", ls="--", lw=1, label="target 0.9")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="stored patterns", ylabel="test accuracy (partial cues)", ylim=(0, 1.05))
        ax.set_title("associative recall vs load")
        ax.legend(fontsize=7)
        save(fig, "accuracy_vs_load")

    if "associative_recall" in tasks:
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        variants = summary.get("ablation", {}).get("tasks", {}).get("associative_recall", {})
        skipped = False
        for b, e in [*tasks["associative_recall"].items(), *variants.items()]:
            label = b
            if e.get("pruning_skipped"):  # pruned during training: the sweep starts at its own fraction
                skipped = True
                label += f" (pruned {e.get('pruned_in_training', 0.0):.2f} in training)"
            _errorplot(ax, e.get("accuracy_vs_pruned_fraction", {}), b, label=label)
        ax.set(
            xlabel="pruned fraction of trainable synapses / weights",
            ylabel="test accuracy",
            title="associative recall under pruning",
            ylim=(0, 1.05),
        )
        title = "snn: frontal (|w|) · others: magnitude"
        if skipped:
            title += "\nfractions below what a learner pruned in training: skipped"
        ax.legend(title=title, fontsize=7, title_fontsize=7)
        save(fig, "accuracy_vs_pruning")

    if tasks:
        save(_training_curves(plt, tasks, results), "accuracy_vs_training")

    if "continual_learning" in tasks:
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        keys = ("accuracy_a_before", "accuracy_a_after", "accuracy_b")
        per = tasks["continual_learning"]
        x = np.arange(len(keys))
        width = 0.8 / max(1, len(per))
        for k, (b, e) in enumerate(per.items()):
            means = np.array([e.get(key, np.nan) for key in keys], dtype=float)
            spread = np.array([e.get(f"{key}_std", 0.0) for key in keys], dtype=float)
            low, high = np.clip(means - spread, 0, 1), np.clip(means + spread, 0, 1)
            ax.bar(
                x + width * (k - (len(per) - 1) / 2),
                means,
                width,
                yerr=[means - low, high - means],
                color=COLORS[b],
                label=b,
                capsize=3,
            )
        ax.set_xticks(x, ["A after A", "A after B", "B after B"])
        ax.set(ylabel="test accuracy (± sd over seeds)", title="continual learning: retention of A")
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=7)
        save(fig, "retention")

    novelty = tasks.get("novelty_recall", {})
    if novelty and all("accuracy_novel" in e for e in novelty.values()):
        save(_novelty(plt, novelty, _chance(results, "novelty_recall")), "novelty_recall")
    return drawn


def _novelty(plt: Any, per: dict[str, Any], chance: float | None) -> Any:
    """Novelty recall: accuracy on novel (plain) and familiar (hatched) items per learner, with 95%
    intervals clipped to [0, 1]."""
    from matplotlib.patches import Patch

    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    x = np.arange(len(per))
    for offset, kind, hatch in ((-0.2, "novel", ""), (0.2, "familiar", "//")):
        means = np.array([e[f"accuracy_{kind}"] for e in per.values()], dtype=float)
        cis = [e.get(f"accuracy_{kind}_ci") or (m, m) for e, m in zip(per.values(), means, strict=True)]
        low, high = np.clip([c[0] for c in cis], 0, 1), np.clip([c[1] for c in cis], 0, 1)
        colors = [COLORS[b] for b in per]
        ax.bar(x + offset, means, 0.4, color=colors, hatch=hatch, edgecolor="k", linewidth=0.5)
        ax.errorbar(
            x + offset,
            means,
            yerr=[np.maximum(means - low, 0), np.maximum(high - means, 0)],
            fmt="none",
            ecolor="k",
            capsize=3,
        )
    handles = [
        Patch(facecolor="w", edgecolor="k", hatch=h, label=k) for k, h in (("novel", ""), ("familiar", "//"))
    ]
    if chance:
        handles.append(ax.axhline(chance, color="0.6", ls=":", lw=1, label=f"chance {chance:.2f}"))
    ax.set_xticks(x, [b.replace("_", " ") for b in per], rotation=15, fontsize=7)
    ax.set(ylabel="test accuracy (95% CI)", title="novelty recall: novel vs familiar items", ylim=(0, 1.05))
    ax.legend(handles=handles, fontsize=7)
    fig.tight_layout()
    return fig


def _errorplot(
    ax: Any, curve: dict[str, Any], learner: str, scale: float = 1.0, label: str | None = None
) -> None:
    """Plot ``{x: {"mean", "low", "high"}}`` with its interval clipped to [0, 1], x scaled by ``scale``;
    a learner of the controller's ablation (no colour of its own) is drawn dashed."""
    if not curve:
        return
    xs = [float(x) * scale for x in curve]
    mean = np.array([v["mean"] for v in curve.values()], dtype=float)
    low = np.clip([v.get("low", v["mean"]) for v in curve.values()], 0, 1)
    high = np.clip([v.get("high", v["mean"]) for v in curve.values()], 0, 1)
    ax.errorbar(
        xs,
        mean,
        yerr=[np.maximum(mean - low, 0), np.maximum(high - mean, 0)],
        marker=MARKERS.get(learner, "x"),
        capsize=3,
        color=COLORS.get(learner),
        ls="-" if learner in COLORS else "--",
        label=label or learner,
    )


def _training_curves(plt: Any, tasks: dict[str, Any], results: list[dict[str, Any]]) -> Any:
    """One panel per task: the prequential accuracy over training presentations (log axis), mean over
    seeds, with chance (one over the classes answered) as a labelled line."""
    names = [n for n in TASKS if n in tasks]
    fig, axes = plt.subplots(1, len(names), figsize=(3.4 * len(names), 3), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for b in (b for b in LEARNERS if b in tasks[name]):
            curves = [np.asarray(r[b]["curve"], dtype=float) for r in results if r["task"] == name and b in r]
            n = min((len(c) for c in curves), default=0)
            if n == 0:
                continue
            mean = np.nanmean(np.stack([c[:n] for c in curves]), axis=0)
            window = max(1, n // 10)
            smooth = np.convolve(np.nan_to_num(mean), np.ones(window) / window, mode="valid")
            ax.plot(np.arange(window, n + 1), smooth, color=COLORS[b], label=b)
        chance = _chance(results, name)
        if chance:
            ax.axhline(chance, color="0.6", ls=":", lw=1, label=f"chance {chance:.2f}")
        ax.set_xscale("log")
        ax.set(title=name.replace("_", " "), xlabel="training presentations", ylim=(0, 1.05))
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("prequential accuracy")
    fig.tight_layout()
    return fig


def _chance(results: list[dict[str, Any]], name: str) -> float | None:
    """One over the number of answer classes of the task (from a learner's recorded output count)."""
    for r in results:
        if r["task"] != name:
            continue
        for b in LEARNERS:
            n_out = r.get(b, {}).get("record", {}).get("extra", {}).get("n_outputs")
            if n_out:
                return 1.0 / n_out
    return None
