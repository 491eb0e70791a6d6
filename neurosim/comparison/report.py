"""Writing a comparison run's results folder: ``results.json``, ``results.md`` and the figures, and the
run's headline metrics (``metrics.json``: wall time, accuracy per task and backend, targets met).

``results.json``: ``{"tasks": {TASK: {BACKEND: {...}}}, "load"?, "targets", "config", "seeds", "wall_s"}``
(:func:`~neurosim.comparison.summary.aggregate` describes the per-task entries).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ..experiment import RunContext
from .figures import figures
from .markdown import markdown
from .summary import ComparisonConfig, summarize_comparison


def write_report(
    ctx: RunContext,
    config: ComparisonConfig,
    results: list[dict[str, Any]],
    load_results: Sequence[dict[str, Any]],
    wall_s: float,
) -> dict[str, Any]:
    """Summarize the units of a run into its results folder and return its metrics.

    ``results``: the main units (every task × seed); ``load_results``: the associative-recall units at other
    numbers of stored patterns; ``wall_s``: the run's wall time so far, reported in the results.
    ``config`` is the experiment's config dataclass (stored whole in results.json).
    """
    summary = summarize_comparison(results, load_results, config)
    summary.update({"config": dataclasses.asdict(config), "seeds": list(config.seeds), "wall_s": wall_s})
    ctx.write_json("results.json", summary)
    ctx.write_text("results.md", markdown(summary, config, wall_s))
    figures(summary, results, ctx)
    metrics: dict[str, Any] = {"wall_s": round(wall_s, 1)}
    for name, per in summary["tasks"].items():
        for backend, e in per.items():
            metrics[f"{name}.{backend}.accuracy"] = e["accuracy"]
    for k, (_, ok, _) in enumerate(summary["targets"]):
        metrics[f"target_{k}_met"] = ok
    return metrics
