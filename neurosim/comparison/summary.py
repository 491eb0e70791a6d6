"""The comparison's numbers: per-unit records pooled over seeds with 95% intervals, the sweeps and the load.

A *unit* is one task × seed run on every learner (``experiments/compare_lstm.py``): ``{"task", "seed",
"overrides", LEARNER: {"record": LearnerRecord.to_dict(), "costs": {...}, "curve": [...], "delays"?: {...},
"pruning"?: {...}}}``. :func:`aggregate` turns the units into the ``tasks`` part of ``results.json``: for
every task and learner the mean over seeds of each numeric record field with its ``<field>_std`` spread,
the accuracy's 95% interval (:func:`neurosim.statistics.mean_ci`: two-level bootstrap over seeds and the
scored test answers of each seed), the sizes and energy (``costs``), the per-seed records and the sweep
curves (store-recall accuracy vs delay, associative recall vs pruned fraction). A novelty-recall unit also
has ``test_novel`` (whether each test answer, in the order of ``test_correct``, is about a novel item): its
entries get the accuracy on novel and on familiar items with their intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ..metrics import summarize
from ..statistics import Interval, mean_ci
from ..validation import ParameterError

#: The recall tasks of the comparison, in the order of the reports.
TASKS = (
    "associative_recall",
    "paired_association",
    "store_recall",
    "sequence_recall",
    "continual_learning",
    "novelty_recall",
)
#: The learners compared: the spiking network (on novelty recall also without salience, ``snn_no_salience``)
#: and three conventional networks.
LEARNERS = ("snn", "snn_no_salience", "lstm", "gru", "transformer")
#: The kinds of answer of novelty recall, by the value of the unit's ``test_novel``.
KINDS = {"novel": True, "familiar": False}
#: Former name of :data:`LEARNERS`.
BACKENDS = LEARNERS
#: Numeric record fields averaged over seeds in results.json (each also gets a ``<field>_std``).
FIELDS = ("accuracy", "train_trials", "train_wall_s", "test_wall_s", "parameters", "ops")
#: Record extras averaged over the seeds that report them.
EXTRAS = (
    "overlap",
    "accuracy_a_before",
    "accuracy_a_after",
    "accuracy_b",
    "retention_a",
    "train_wall_s_per_trial",
    "test_wall_s_per_trial",
    "test_answers",
    "test_repeats",
    "n_test",
)
#: Sizes averaged over seeds from each unit's ``costs``.
SIZES = ("parameters_plastic", "parameters_total", "nonzero_weights")
#: Duration of one store-recall step (s): delays are counted in steps.
STEP_S = 0.2


class ComparisonConfig(Protocol):
    """The settings of a comparison run that its report reads (the experiment's config has more)."""

    seeds: tuple[int, ...]
    tasks: tuple[str, ...]
    learners: tuple[str, ...]
    test_answers: int
    assoc_patterns: int
    assoc_cue: float
    sr_max_delay: int
    epochs: int
    batch_size: int
    lstm_lr: float
    gru_lr: float
    transformer_lr: float


def interval(values: Any) -> Interval | None:
    """:func:`~neurosim.statistics.mean_ci` of ``values`` (flat, or one sequence per seed); None when there
    are too few values for an interval (fewer than two)."""
    try:
        return mean_ci(values)
    except ParameterError:
        return None


def learners_in(rows: Sequence[dict[str, Any]], config: ComparisonConfig) -> list[str]:
    """The learners of ``config`` that every one of ``rows`` ran, in the order of :data:`LEARNERS`."""
    wanted = getattr(config, "learners", LEARNERS)
    return [b for b in LEARNERS if b in wanted and rows and all(b in r for r in rows)]


def answers(rows: Sequence[dict[str, Any]], learner: str, kind: str | None = None) -> list[np.ndarray]:
    """The right (1) / wrong (0) test answers of ``learner``, one array per seed in the order of ``rows``;
    ``kind`` (a key of :data:`KINDS`): only the answers about novel or familiar items."""
    out = [np.asarray(r[learner]["record"]["extra"]["test_correct"], dtype=float) for r in rows]
    if kind is None:
        return out
    return [a[np.asarray(r["test_novel"], dtype=bool) == KINDS[kind]] for a, r in zip(out, rows, strict=True)]


def aggregate(results: list[dict[str, Any]], config: ComparisonConfig) -> dict[str, Any]:
    """results.json's ``tasks``: per task and learner, means over seeds, intervals, sizes, energy, seeds."""
    tasks: dict[str, Any] = {}
    for name in config.tasks:
        rows = sorted((r for r in results if r["task"] == name), key=lambda r: r["seed"])
        tasks[name] = {b: learner_entry(name, rows, b) for b in learners_in(rows, config)}
    return {"tasks": tasks}


def learner_entry(name: str, rows: Sequence[dict[str, Any]], learner: str) -> dict[str, Any]:
    """One task's entry for ``learner`` from its units ``rows`` (one per seed): the module docstring's
    fields, and for a learner that pruned during training its pruned fraction and the sweep's skipped
    fractions."""
    records = [r[learner]["record"] for r in rows]
    entry: dict[str, Any] = {}
    for field in FIELDS:
        stats = summarize([rec[field] for rec in records])
        entry[field], entry[f"{field}_std"] = stats["mean"], stats["std"]
    ci = interval(answers(rows, learner))
    entry["accuracy_ci"] = [ci.low, ci.high] if ci else None
    entry["accuracy_ci_method"] = ci.method if ci else "too few answers for an interval"
    if rows and all("test_novel" in r for r in rows):
        for kind in KINDS:
            values = answers(rows, learner, kind)
            kind_ci = interval(values)
            entry[f"accuracy_{kind}"] = float(np.mean([v.mean() for v in values if v.size]))
            entry[f"accuracy_{kind}_ci"] = [kind_ci.low, kind_ci.high] if kind_ci else None
    entry["n_seeds"] = len(records)
    entry["trials_to_criterion"] = [rec["trials_to_criterion"] for rec in records]
    extras = [rec["extra"] for rec in records]
    for key in EXTRAS:
        values = [e[key] for e in extras if e.get(key) is not None]
        if values:
            stats = summarize(values)
            entry[key], entry[f"{key}_std"] = stats["mean"], stats["std"]
    costs = [r[learner]["costs"] for r in rows]
    for key in SIZES:
        entry[key] = summarize([c[key] for c in costs])["mean"]
    for part in ("energy_counts", "energy_breakdown"):
        keys = sorted({k for c in costs for k in c[part]})
        entry[part] = {k: summarize([c[part].get(k, 0) for c in costs])["mean"] for k in keys}
    entry["energy_j"] = entry["energy_breakdown"]["energy_j"]
    entry["hyperparameters"] = extras[0].get("hyperparameters", {}) if extras else {}
    entry["per_seed"] = {str(r["seed"]): {**r[learner]["record"], "costs": r[learner]["costs"]} for r in rows}
    if name == "store_recall":
        entry["accuracy_vs_delay"] = _curve(rows, learner, "delays")
    if name == "associative_recall":
        entry["accuracy_vs_pruned_fraction"] = _curve(rows, learner, "pruning", "accuracy")
        skipped = sorted({f for r in rows for f in r[learner].get("pruning_skipped", [])})
        if skipped:
            entry["pruning_skipped"] = skipped
    trained = [r[learner]["pruned_in_training"] for r in rows if "pruned_in_training" in r[learner]]
    if trained:
        entry["pruned_in_training"] = summarize(trained)["mean"]
    return entry


def _point(values: list[float]) -> dict[str, Any]:
    """Mean, spread, 95% interval over seeds (the mean itself with one seed) and the values."""
    stats = summarize(values)
    ci = interval(values) if len(values) > 1 else None
    low, high = (ci.low, ci.high) if ci else (stats["mean"], stats["mean"])
    return {"mean": stats["mean"], "std": stats["std"], "low": low, "high": high, "values": values}


def _curve(
    rows: Sequence[dict[str, Any]], learner: str, key: str, field: str | None = None
) -> dict[str, Any]:
    """:func:`_point` at every x of the sweep ``key`` (x sorted numerically)."""
    xs = sorted({x for r in rows for x in r[learner].get(key, {})}, key=float)
    out = {}
    for x in xs:
        values = [r[learner][key][x] for r in rows if x in r[learner].get(key, {})]
        out[x] = _point([v[field] if field else v for v in values])
    return out


def load_table(load_results: list[dict[str, Any]], config: ComparisonConfig) -> dict[str, dict[str, Any]]:
    """Accuracy vs number of stored patterns, per learner."""
    out: dict[str, dict[str, Any]] = {}
    for learner in learners_in(load_results, config):
        out[learner] = {}
        for p in sorted({r["overrides"]["n_patterns"] for r in load_results}):
            rows = [r for r in load_results if r["overrides"]["n_patterns"] == p]
            out[learner][str(p)] = _point([r[learner]["record"]["accuracy"] for r in rows])
    return out


__all__ = [
    "BACKENDS",
    "FIELDS",
    "KINDS",
    "LEARNERS",
    "STEP_S",
    "TASKS",
    "ComparisonConfig",
    "aggregate",
    "answers",
    "learner_entry",
    "interval",
    "learners_in",
    "load_table",
]
