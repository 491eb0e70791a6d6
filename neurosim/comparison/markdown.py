"""results.md of the comparison: the side-by-side table, continual learning, the sweeps, the targets and
the hyperparameters, as Markdown.

Energy is an estimate from operation counts: synaptic events × 23.6 pJ (+ 120 pJ per plastic update) on
Loihi (Davies et al. 2018) for the spiking network, multiply-accumulates × 4.6 pJ per 32-bit MAC (Horowitz
2014) for the LSTM (:mod:`neurosim.metrics`).
"""

from __future__ import annotations

from typing import Any

from .summary import ComparisonConfig


def markdown(summary: dict[str, Any], config: ComparisonConfig, wall_s: float) -> str:
    """results.md: the comparison table, the targets and the hyperparameters."""
    lines = [
        "# Spiking network vs LSTM on the recall tasks",
        "",
        f"Seeds: {list(config.seeds)}; mean ± standard deviation over seeds. Wall time of the run: "
        f"{wall_s:.0f} s.",
        "",
        "| task | backend | accuracy | train trials | train wall (s) | test wall (s) | parameters | ops | "
        "energy (J) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, per in summary["tasks"].items():
        for backend, e in per.items():
            lines.append(
                f"| {name} | {backend} | {e['accuracy']:.3f} ± {e['accuracy_std']:.3f} | "
                f"{e['train_trials']:.0f} | {e['train_wall_s']:.1f} | {e['test_wall_s']:.1f} | "
                f"{e['parameters']:.0f} | {e['ops']:.3g} | "
                f"{e['energy_j']:.3g} |"
            )
    lines += [
        "",
        "ops: synaptic events (snn) or multiply-accumulates (lstm, forward + backward); energy: ops × "
        "23.6 pJ (+ 120 pJ per plastic update) on Loihi (Davies et al. 2018) vs 4.6 pJ per 32-bit MAC "
        "(Horowitz 2014). The snn learns in one pass, online; the lstm makes "
        f"{config.lstm_epochs} passes over the same trials (train trials count presentations).",
        "",
    ]
    lines += _continual(summary) + _delays(summary) + _load(summary)
    lines += ["## Targets", ""]
    for text, ok, measured in summary["targets"]:
        mark = "not run" if ok is None else ("met" if ok else "**not met**")
        lines.append(f"- {text}: {mark} ({measured})")
    lines += ["", "## Hyperparameters", "", "Spiking learner (per task, `SpikingParams` + sizes):", ""]
    for name, per in summary["tasks"].items():
        hp = per["snn"]["hyperparameters"]
        lines.append(
            f"- {name}: populations {hp.get('populations')}, plastic synapses "
            f"{per['snn']['parameters']:.0f}; lstm hidden size "
            f"{per['lstm']['hyperparameters'].get('hidden_size')}"
        )
    lines += [
        "",
        "All spiking settings are in results.json (`tasks.*.snn.hyperparameters`); LSTM: Adam, lr "
        f"{config.lstm_lr:g}, batch {config.lstm_batch}, {config.lstm_epochs} epochs, cross-entropy on "
        "scored steps, gradient norm clipped at 1.",
        "",
    ]
    return "\n".join(lines)


def _continual(summary: dict[str, Any]) -> list[str]:
    """Continual learning: accuracy on A before and after learning B, on B, and the retention of A."""
    if "continual_learning" not in summary["tasks"]:
        return []
    lines = [
        "## Continual learning (A then B)",
        "",
        "| backend | A before B | A after B | B | retention of A |",
        "| --- | --- | --- | --- | --- |",
    ]
    for backend, e in summary["tasks"]["continual_learning"].items():
        lines.append(
            f"| {backend} | {e.get('accuracy_a_before', float('nan')):.3f} | "
            f"{e.get('accuracy_a_after', float('nan')):.3f} | {e.get('accuracy_b', float('nan')):.3f} | "
            f"{e.get('retention_a', float('nan')):.3f} |"
        )
    return lines + [""]


def _delays(summary: dict[str, Any]) -> list[str]:
    """Store-recall accuracy at each fixed delay tested after training."""
    if "store_recall" not in summary["tasks"]:
        return []
    lines = [
        "## Store-recall accuracy vs delay",
        "",
        "| delay (steps × 200 ms) | snn | lstm |",
        "| --- | --- | --- |",
    ]
    sr = summary["tasks"]["store_recall"]
    for d in sr["snn"].get("accuracy_vs_delay", {}):
        lines.append(
            f"| {d} | {sr['snn']['accuracy_vs_delay'][d]['mean']:.3f} | "
            f"{sr['lstm']['accuracy_vs_delay'][d]['mean']:.3f} |"
        )
    return lines + [""]


def _load(summary: dict[str, Any]) -> list[str]:
    """Associative recall accuracy vs the number of stored patterns."""
    if not summary.get("load"):
        return []
    lines = ["## Associative recall vs load", "", "| patterns | snn | lstm |", "| --- | --- | --- |"]
    for p in summary["load"]["snn"]:
        lines.append(
            f"| {p} | {summary['load']['snn'][p]['mean']:.3f} | {summary['load']['lstm'][p]['mean']:.3f} |"
        )
    return lines + [""]
