"""Writing a comparison run's results folder: ``results.json``, ``results.md`` and the figures, the run's
headline metrics (``metrics.json``: wall time, accuracy per task and learner, targets), and the text the
main job prints at its end (:func:`console`: the table and the verdict per task).

``results.json``: ``{"tasks": {TASK: {LEARNER: {...}}}, "verdicts", "load"?, "targets", "ablation",
"figures", "config", "seeds", "quick", "wall_s"}`` (:func:`~neurosim.comparison.summary.aggregate`
describes the per-task entries, :func:`~neurosim.comparison.ablation.summarize_ablation` the ablation).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..experiment import RunContext
from .ablation import ablation_targets, summarize_ablation
from .figures import figures
from .markdown import console_text, markdown
from .summary import ComparisonConfig
from .verdicts import NOT_TESTED, NOT_TESTED_QUICK, summarize_comparison


def write_report(
    ctx: RunContext,
    config: ComparisonConfig,
    results: list[dict[str, Any]],
    load_results: Sequence[dict[str, Any]],
    wall_s: float,
    ablation: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Summarize the units of a run into its results folder and return its metrics.

    ``results``: the main units (every task × seed); ``load_results``: the associative-recall units at other
    numbers of stored patterns; ``wall_s``: the run's wall time so far, reported in the results;
    ``ablation``: the units of the frontal controller's ablation (:mod:`~neurosim.comparison.ablation`),
    run when the config's ``ablation`` is on. ``config`` is the experiment's config dataclass (stored whole
    in results.json).
    """
    summary = summarize_comparison(results, load_results, config, quick=ctx.quick)
    run = bool(getattr(config, "ablation", False))
    why_not = "" if run else ("not run in --quick" if ctx.quick else "not run (config: ablation = false)")
    summary["ablation"] = summarize_ablation(results, ablation, config, run=run, why_not=why_not)
    untested = NOT_TESTED_QUICK if ctx.quick else NOT_TESTED
    summary["targets"] += ablation_targets(summary["ablation"], untested)
    drawn = figures(summary, results, ctx)
    summary.update(
        {
            "figures": drawn,
            "config": dataclasses.asdict(config),  # type: ignore[call-overload]
            "seeds": list(config.seeds),
            "quick": ctx.quick,
            "wall_s": wall_s,
        }
    )
    ctx.write_json("results.json", summary)
    ctx.write_text("results.md", markdown(summary, config, wall_s))
    metrics: dict[str, Any] = {"wall_s": round(wall_s, 1)}
    for part in (summary["tasks"], summary["ablation"]["tasks"]):
        for name, per in part.items():
            for learner, e in per.items():
                metrics[f"{name}.{learner}.accuracy"] = e["accuracy"]
    for k, (_, status, _) in enumerate(summary["targets"]):
        metrics[f"target_{k}"] = status
    return metrics


def console(out: Path) -> str:
    """The table and the verdict per task of the run in ``out`` (read from its results.json)."""
    summary = json.loads((Path(out) / "results.json").read_text())
    return console_text(summary)
