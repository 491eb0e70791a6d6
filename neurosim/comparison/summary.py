"""The comparison's numbers: per-unit records pooled over seeds, the load table and the targets.

A *unit* is one task × seed run on every backend (``experiments/compare_lstm.py``): ``{"task", "seed",
"overrides", BACKEND: {"record": LearnerRecord.to_dict(), "curve": [...], "delays"?: {...},
"pruning"?: {...}}}``. :func:`aggregate` turns the units into the ``tasks`` part of ``results.json``: for
every task and backend the mean over seeds of each numeric record field with its ``<field>_std`` spread, the
per-seed records and the sweep curves (store-recall accuracy vs delay, associative recall vs pruned
fraction).
:func:`targets` states what the comparison sets out to show and whether the run shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ..metrics import summarize

#: The recall tasks of the comparison, in the order of the reports.
TASKS = ("associative_recall", "paired_association", "store_recall", "sequence_recall", "continual_learning")
#: The learners compared: the spiking network and the LSTM.
BACKENDS = ("snn", "lstm")
#: Numeric record fields averaged over seeds in results.json (each also gets a ``<field>_std``).
FIELDS = ("accuracy", "train_trials", "train_wall_s", "test_wall_s", "parameters", "ops", "energy_j")
#: Record extras (continual learning, pattern overlap) averaged over the seeds that report them.
EXTRAS = ("overlap", "accuracy_a_before", "accuracy_a_after", "accuracy_b", "retention_a")
#: Duration of one store-recall step (s): delays are counted in steps.
STEP_S = 0.2


class ComparisonConfig(Protocol):
    """The settings of a comparison run that its report reads (the experiment's config has more)."""

    seeds: tuple[int, ...]
    tasks: tuple[str, ...]
    assoc_patterns: int
    assoc_cue: float
    lstm_epochs: int
    lstm_lr: float
    lstm_batch: int


def aggregate(results: list[dict[str, Any]], config: ComparisonConfig) -> dict[str, Any]:
    """results.json: per task and backend, the mean over seeds of every record field, spreads, per seed."""
    tasks: dict[str, Any] = {}
    for name in config.tasks:
        rows = [r for r in results if r["task"] == name]
        tasks[name] = {}
        for backend in BACKENDS:
            records = [r[backend]["record"] for r in rows]
            entry: dict[str, Any] = {}
            for field in FIELDS:
                stats = summarize([rec[field] for rec in records])
                entry[field] = stats["mean"]
                entry[f"{field}_std"] = stats["std"]
            entry["n_seeds"] = len(records)
            entry["trials_to_criterion"] = [rec["trials_to_criterion"] for rec in records]
            entry["per_seed"] = {str(r["seed"]): r[backend]["record"] for r in rows}
            extras = [rec["extra"] for rec in records]
            for key in EXTRAS:
                values = [e[key] for e in extras if e.get(key) is not None]
                if values:
                    stats = summarize(values)
                    entry[key], entry[f"{key}_std"] = stats["mean"], stats["std"]
            entry["hyperparameters"] = extras[0].get("hyperparameters", {}) if extras else {}
            for key in ("op_name", "joules_per_op"):
                entry[key] = extras[0].get(key) if extras else None
            if name == "store_recall":
                entry["accuracy_vs_delay"] = _curve(rows, backend, "delays")
            if name == "associative_recall":
                entry["accuracy_vs_pruned_fraction"] = _curve(rows, backend, "pruning", "accuracy")
            tasks[name][backend] = entry
    return {"tasks": tasks}


def _curve(rows: list[dict[str, Any]], backend: str, key: str, field: str | None = None) -> dict[str, Any]:
    """Mean, spread and values over seeds at every x of the sweep ``key`` (x sorted numerically)."""
    xs = sorted({x for r in rows for x in r[backend].get(key, {})}, key=float)
    out = {}
    for x in xs:
        values = [r[backend][key][x] for r in rows if x in r[backend].get(key, {})]
        values = [v[field] if field else v for v in values]
        stats = summarize(values)
        out[x] = {"mean": stats["mean"], "std": stats["std"], "values": values}
    return out


def load_table(load_results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Accuracy vs number of stored patterns, per backend."""
    out: dict[str, dict[str, Any]] = {b: {} for b in BACKENDS}
    for backend in BACKENDS:
        for p in sorted({r["overrides"]["n_patterns"] for r in load_results}):
            values = [
                r[backend]["record"]["accuracy"] for r in load_results if r["overrides"]["n_patterns"] == p
            ]
            stats = summarize(values)
            out[backend][str(p)] = {"mean": stats["mean"], "std": stats["std"], "values": values}
    return out


def targets(summary: dict[str, Any], config: ComparisonConfig) -> list[tuple[str, bool | None, str]]:
    """The comparison's targets: (description, met (None: not run), what was measured).

    Associative recall on the snn ≥ 90% with ≥ 10 patterns from 50% cues; store-recall ≥ 90% at every delay
    up to 1.2 s on the snn and ≥ 95% on the lstm; retention of set A after set B better on the snn.
    """
    t = summary["tasks"]
    out: list[tuple[str, bool | None, str]] = []
    if "associative_recall" in t:
        e = t["associative_recall"]["snn"]
        acc = e["accuracy"]
        ok = acc >= 0.9 and config.assoc_patterns >= 10 and config.assoc_cue <= 0.5
        out.append(
            (
                f"snn associative recall >= 90% with >= 10 patterns from 50% cues "
                f"(run: {config.assoc_patterns} patterns, cue {config.assoc_cue:g})",
                ok,
                f"{acc:.3f} ± {e['accuracy_std']:.3f}; overlap of the recalled units "
                f"{e.get('overlap', float('nan')):.3f}",
            )
        )
    if "store_recall" in t:
        curve = t["store_recall"]["snn"].get("accuracy_vs_delay", {})
        worst = min((v["mean"] for v in curve.values()), default=float("nan"))
        longest = max((int(d) for d in curve), default=0)
        ok = worst >= 0.9 and longest * STEP_S >= 1.2 - 1e-9
        per_delay = ", ".join(
            f"{int(d) * STEP_S:.1f} s: {v['mean']:.3f} ± {v['std']:.3f}" for d, v in curve.items()
        )
        out.append(
            (
                f"snn store-recall >= 90% at every delay up to 1.2 s (run: up to {longest * STEP_S:.1f} s)",
                ok,
                f"min over delays {worst:.3f}; {per_delay}",
            )
        )
        e = t["store_recall"]["lstm"]
        out.append(
            (
                "lstm store-recall >= 95%",
                e["accuracy"] >= 0.95,
                f"{e['accuracy']:.3f} ± {e['accuracy_std']:.3f}",
            )
        )
    if "continual_learning" in t:
        es, el = t["continual_learning"]["snn"], t["continual_learning"]["lstm"]
        s, lstm = es.get("retention_a", float("nan")), el.get("retention_a", float("nan"))
        out.append(
            (
                "retention of A: snn better than lstm",
                bool(s > lstm),
                f"snn {s:.3f} ± {es.get('retention_a_std', float('nan')):.3f} vs lstm {lstm:.3f} ± "
                f"{el.get('retention_a_std', float('nan')):.3f}",
            )
        )
    return out


def summarize_comparison(
    results: list[dict[str, Any]], load_results: Sequence[dict[str, Any]], config: ComparisonConfig
) -> dict[str, Any]:
    """The summary of a run: ``tasks`` (:func:`aggregate`), ``load`` (when there are load units) and
    ``targets``."""
    summary = aggregate(results, config)
    if load_results:
        summary["load"] = load_table(list(load_results))
    summary["targets"] = targets(summary, config)
    return summary
