"""The comparison's figures, snn beside lstm: accuracy vs delay, vs load, vs pruned fraction, over training,
and the retention of A in continual learning.

Curves are means over seeds with the spread over seeds as error bars. The learning curves are prequential
(each training trial scored before it is learned from), averaged over seeds and smoothed with a running
mean over a tenth of the trials. Figures are drawn with matplotlib's file-only ``Agg`` backend and saved
through the run's :class:`~neurosim.experiment.RunContext`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..experiment import RunContext
from .summary import BACKENDS, STEP_S, TASKS

#: Figure names (files ``<name>.png`` in the results folder).
FIGURES = (
    "accuracy_vs_delay",
    "accuracy_vs_load",
    "accuracy_vs_pruning",
    "accuracy_vs_training",
    "retention",
)
COLORS = {"snn": "C0", "lstm": "C1"}


def figures(summary: dict[str, Any], results: list[dict[str, Any]], ctx: RunContext) -> None:
    """Draw and save the :data:`FIGURES` of a run from its summary and its per-unit results."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = summary["tasks"]

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    if "store_recall" in tasks:
        for b in BACKENDS:
            _errorplot(ax, tasks["store_recall"][b].get("accuracy_vs_delay", {}), b, STEP_S)
    ax.axhline(0.9, color="0.7", ls="--", lw=1)
    ax.set(xlabel="delay (s)", ylabel="accuracy", title="store-recall", ylim=(0, 1.05))
    ax.legend()
    ctx.save_figure(fig, "accuracy_vs_delay")

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for b in BACKENDS:
        _errorplot(ax, summary.get("load", {}).get(b, {}), b)
    ax.axhline(0.9, color="0.7", ls="--", lw=1)
    ax.set(
        xlabel="stored patterns",
        ylabel="accuracy (50% cues)",
        title="associative recall vs load",
        ylim=(0, 1.05),
    )
    ax.legend()
    ctx.save_figure(fig, "accuracy_vs_load")

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    if "associative_recall" in tasks:
        for b in BACKENDS:
            _errorplot(ax, tasks["associative_recall"][b].get("accuracy_vs_pruned_fraction", {}), b)
    ax.set(
        xlabel="pruned fraction of trainable synapses / weights",
        ylabel="accuracy",
        title="associative recall under pruning",
        ylim=(0, 1.05),
    )
    ax.legend(title="snn: frontal (|w|) · lstm: torch magnitude", fontsize=7, title_fontsize=7)
    ctx.save_figure(fig, "accuracy_vs_pruning")

    ctx.save_figure(_training_curves(plt, tasks, results), "accuracy_vs_training")

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    if "continual_learning" in tasks:
        keys = ("accuracy_a_before", "accuracy_a_after", "accuracy_b")
        x = np.arange(len(keys))
        for k, b in enumerate(BACKENDS):
            e = tasks["continual_learning"][b]
            ax.bar(
                x + 0.38 * (k - 0.5),
                [e.get(key, np.nan) for key in keys],
                0.38,
                yerr=[e.get(f"{key}_std", 0) for key in keys],
                color=COLORS[b],
                label=b,
                capsize=3,
            )
        ax.set_xticks(x, ["A after A", "A after B", "B after B"])
    ax.set(ylabel="accuracy", title="continual learning: retention of A", ylim=(0, 1.05))
    ax.legend()
    ctx.save_figure(fig, "retention")


def _errorplot(ax: Any, curve: dict[str, Any], backend: str, scale: float = 1.0) -> None:
    """Plot ``{x: {"mean", "std"}}`` with error bars, x scaled by ``scale``."""
    xs = [float(x) * scale for x in curve]
    ax.errorbar(
        xs,
        [v["mean"] for v in curve.values()],
        yerr=[v["std"] for v in curve.values()],
        marker="o",
        capsize=3,
        color=COLORS[backend],
        label=backend,
    )


def _training_curves(plt: Any, tasks: dict[str, Any], results: list[dict[str, Any]]) -> Any:
    """One panel per task: the prequential accuracy over training presentations, mean over seeds."""
    names = [n for n in TASKS if n in tasks]
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(3.2 * max(1, len(names)), 3), squeeze=False)
    for ax, name in zip(axes[0], names, strict=False):
        for b in BACKENDS:
            curves = [np.asarray(r[b]["curve"], dtype=float) for r in results if r["task"] == name and b in r]
            if not curves:
                continue
            n = min(len(c) for c in curves)
            mean = np.nanmean(np.stack([c[:n] for c in curves]), axis=0)
            window = max(1, n // 10)
            smooth = np.convolve(np.nan_to_num(mean), np.ones(window) / window, mode="valid")
            ax.plot(np.arange(window, n + 1), smooth, color=COLORS[b], label=b)
        ax.set(title=name.replace("_", " "), xlabel="training presentations", ylim=(0, 1.05))
    axes[0][0].set_ylabel("prequential accuracy")
    axes[0][0].legend()
    fig.tight_layout()
    return fig
