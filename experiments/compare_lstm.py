"""Recall tasks on the spiking network and on an LSTM: the same trials, the same metrics, side by side.

Every task of :mod:`neurosim.tasks` (associative recall, paired association, store-recall, sequence recall,
continual learning) runs on both backends with identical trials and seeds:

* ``snn``: :class:`~neurosim.learners.spiking.SpikingLearner`, a 3D E/I network that learns only through
  plasticity and reward (Hebbian imprinting of recurrent synapses; a readout trained by reward-modulated
  plasticity through the frontal controller), one pass over the training trials;
* ``lstm``: :class:`~neurosim.learners.lstm.LSTMLearner` (``torch.nn.LSTM`` + linear readout, BPTT with Adam,
  ``lstm_epochs`` passes over the same trials), sized so that its weights match the spiking network's plastic
  synapses (:func:`~neurosim.learners.lstm.hidden_size_for_parameters`).

One checkpointed unit of work is one task × seed (both backends); extra units sweep the number of stored
patterns (load). Writes ``results.json`` (``{"tasks": {TASK: {BACKEND: {...}}}, "config", "seeds"}``:
means over seeds, with ``*_std`` spreads and the per-seed records), ``results.md`` and the figures
``accuracy_vs_delay``, ``accuracy_vs_load``, ``accuracy_vs_pruning``, ``accuracy_vs_training`` and
``retention``.

Targets (issue 4) are checked in ``results.md``: associative recall ≥ 90% with ≥ 10 patterns from 50% cues,
store-recall ≥ 90% at delays up to 1.2 s (snn) and ≥ 95% (lstm), retention of A better on the snn.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurosim.experiment import Experiment, RunContext  # noqa: E402
from neurosim.learners.base import run_task  # noqa: E402
from neurosim.metrics import summarize  # noqa: E402
from neurosim.tasks import (  # noqa: E402
    AssociativeRecall,
    ContinualAssociative,
    PairedAssociation,
    SequenceRecall,
    StoreRecall,
    Task,
)
from neurosim.validation import check_choice, check_number, fail  # noqa: E402

TASKS = ("associative_recall", "paired_association", "store_recall", "sequence_recall", "continual_learning")
BACKENDS = ("snn", "lstm")
#: Numeric record fields averaged over seeds in results.json (each also gets a ``<field>_std``).
FIELDS = ("accuracy", "train_trials", "train_wall_s", "test_wall_s", "parameters", "ops", "energy_j")


@dataclass(frozen=True)
class Config:
    seeds: tuple[int, ...] = (0, 1, 2)  # task and learner seeds (mean and spread over them)
    coding_level: float = 0.1  # fraction of active units in every pattern task's patterns
    tasks: tuple[str, ...] = TASKS  # which tasks to run
    # associative recall (issue 4 target: >= 90% with >= 10 patterns from 50% cues)
    assoc_patterns: int = 10  # P stored patterns
    assoc_units: int = 100  # N units per pattern (input channels)
    assoc_cue: float = 0.5  # cue fraction c at test
    assoc_train: int = 400  # training trials (full patterns); trial and error over 10 classes: 40 per pattern
    assoc_test: int = 50  # test trials (50% cues)
    load_patterns: tuple[int, ...] = (5, 10, 20)  # accuracy vs load: numbers of stored patterns
    load_seeds: int = 1  # seeds used for the load sweep (the first ones of ``seeds``)
    prune_fractions: tuple[float, ...] = (0.0, 0.5, 0.75, 0.9, 0.95)  # accuracy vs pruned fraction (assoc)
    prune_test: int = 20  # test trials per pruned fraction
    # paired association
    paired_pairs: int = 8
    paired_units: int = 50
    paired_train: int = 160
    paired_test: int = 40
    # store-recall (Bellec et al. 2018); value_with_store: the LSNN-official variant (value shown with STORE)
    sr_max_delay: int = 6  # delays 0 .. max (6 steps × 200 ms = 1.2 s)
    sr_p_store: float = (
        0.5  # STORE probability per waiting step (Bellec et al.: 1/7; higher = shorter trials)
    )
    sr_value_with_store: bool = True
    sr_train: int = 80
    sr_test: int = 30
    delays: tuple[int, ...] = (0, 2, 4, 6)  # accuracy vs delay: fixed delays tested after training
    delay_test: int = 16  # test trials per fixed delay
    # sequence recall
    seq_length: int = 4
    seq_units: int = 50
    seq_sequences: int = 1
    seq_train: int = 30
    seq_test: int = 20
    # continual learning: A then B
    cont_patterns: int = 5  # patterns per set
    cont_units: int = 100
    cont_train: int = 120  # training trials per set (trial and error: 24 per pattern)
    cont_test: int = 30  # test trials per set
    # LSTM (BPTT with Adam); the spiking learner's settings are SpikingParams defaults (see results)
    lstm_epochs: int = 40  # passes over the training trials
    lstm_lr: float = 1e-2
    lstm_batch: int = 16
    snn_assembly: int = 20  # neurons per stored item in the spiking memory (SpikingLearner.for_task)
    snn_target: str = "numpy"  # Brian2 target of the spiking learner (numpy: no compile wait; see docs)
    workers: int = 2  # processes running task × seed units in parallel (results identical to workers=1)

    def __post_init__(self) -> None:
        owner = "compare_lstm"
        if not self.seeds:
            fail(owner, "seeds", self.seeds, "expected at least one seed")
        for s in self.seeds:
            check_number(owner, "seeds", s, low=0, integer=True)
        for t in self.tasks:
            check_choice(owner, "tasks", t, TASKS)
        for name in (
            "assoc_train",
            "assoc_test",
            "paired_train",
            "paired_test",
            "sr_train",
            "sr_test",
            "seq_train",
            "seq_test",
            "cont_train",
            "cont_test",
            "prune_test",
            "delay_test",
            "lstm_epochs",
            "lstm_batch",
            "snn_assembly",
            "load_seeds",
            "workers",
        ):
            check_number(owner, name, getattr(self, name), low=1, integer=True)
        for f in self.prune_fractions:
            check_number(owner, "prune_fractions", f, low=0, high=1)
        for d in self.delays:
            check_number(owner, "delays", d, low=0, high=self.sr_max_delay, integer=True)
        check_choice(owner, "snn_target", self.snn_target, ("numpy", "cython"))


def make_task(name: str, config: Config, **overrides: Any) -> Task:
    """The task ``name`` with the config's knobs (``overrides`` replace them)."""
    c = config
    if name == "associative_recall":
        knobs = dict(
            n_patterns=c.assoc_patterns,
            n_units=c.assoc_units,
            coding_level=c.coding_level,
            cue_fraction=c.assoc_cue,
        )
        return AssociativeRecall(**{**knobs, **overrides})
    if name == "paired_association":
        knobs = dict(n_pairs=c.paired_pairs, n_units=c.paired_units, coding_level=c.coding_level)
        return PairedAssociation(**{**knobs, **overrides})
    if name == "store_recall":
        knobs = dict(
            min_delay=0,
            max_delay=c.sr_max_delay,
            p_store=c.sr_p_store,
            value_with_store=c.sr_value_with_store,
        )
        return StoreRecall(**{**knobs, **overrides})
    if name == "sequence_recall":
        knobs = dict(
            length=c.seq_length, n_units=c.seq_units, n_sequences=c.seq_sequences, coding_level=c.coding_level
        )
        return SequenceRecall(**{**knobs, **overrides})
    if name == "continual_learning":
        knobs = dict(
            n_patterns_per_set=c.cont_patterns,
            n_units=c.cont_units,
            cue_fraction=c.assoc_cue,
            coding_level=c.coding_level,
        )
        return ContinualAssociative(**{**knobs, **overrides})
    fail("compare_lstm", "task", name, f"allowed: {TASKS}")
    raise AssertionError  # pragma: no cover


def sizes(name: str, config: Config) -> tuple[int, int]:
    """(training trials, test trials) of a task."""
    prefix = {
        "associative_recall": "assoc",
        "paired_association": "paired",
        "store_recall": "sr",
        "sequence_recall": "seq",
        "continual_learning": "cont",
    }[name]
    return getattr(config, f"{prefix}_train"), getattr(config, f"{prefix}_test")


def make_learners(task: Task, config: Config, seed: int) -> dict[str, Any]:
    """Both learners for ``task``: the spiking network, then an LSTM with as many weights as its plastic
    synapses."""
    from neurosim.learners.lstm import LSTMLearner
    from neurosim.learners.spiking import SpikingLearner

    snn = SpikingLearner.for_task(
        task, assembly_size=config.snn_assembly, seed=seed, target=config.snn_target
    )
    lstm = LSTMLearner.for_parameters(
        task,
        snn.n_parameters,
        lr=config.lstm_lr,
        epochs=config.lstm_epochs,
        batch_size=config.lstm_batch,
        seed=seed,
    )
    return {"snn": snn, "lstm": lstm}


def run_unit(unit: dict[str, Any], config: Config) -> dict[str, Any]:
    """One task × seed on both backends: the record, the learning curve, and the task's sweeps."""
    name, seed = unit["task"], int(unit["seed"])
    task = make_task(name, config, **unit.get("overrides", {}))
    n_train, n_test = sizes(name, config)
    if "n_patterns" in unit.get("overrides", {}):  # the same training per pattern at every load
        n_train = max(1, round(n_train * unit["overrides"]["n_patterns"] / config.assoc_patterns))
    out: dict[str, Any] = {"task": name, "seed": seed, "overrides": unit.get("overrides", {})}
    for backend, learner in make_learners(task, config, seed).items():
        record = run_task(learner, task, n_train, n_test, seed)
        res: dict[str, Any] = {"record": record.to_dict(), "curve": [float(s) for s in learner.train_scores]}
        if unit.get("kind") == "load":
            out[backend] = res
            continue
        if name == "store_recall":
            res["delays"] = {}
            for d in config.delays:
                fixed = make_task(name, config, min_delay=d, max_delay=d)
                res["delays"][str(d)] = float(
                    learner.evaluate(fixed.trials(config.delay_test, seed, "test")).accuracy
                )
        if name == "associative_recall":
            probe = task.trials(config.prune_test, seed + 1000, "test")
            res["pruning"] = {}
            for f in sorted(config.prune_fractions):
                learner.prune(f)
                res["pruning"][f"{f:g}"] = {
                    "accuracy": float(learner.evaluate(probe).accuracy),
                    "parameters": int(learner.n_parameters),
                }
        out[backend] = res
    return out


# ------------------------------------------------------------------------------------------- aggregation


def aggregate(results: list[dict[str, Any]], config: Config) -> dict[str, Any]:
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
            for key in ("overlap", "accuracy_a_before", "accuracy_a_after", "accuracy_b", "retention_a"):
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


def targets(summary: dict[str, Any], config: Config) -> list[tuple[str, bool | None, str]]:
    """The issue's targets: (description, met (None: not run), what was measured)."""
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
        ok = worst >= 0.9 and longest * 0.2 >= 1.2 - 1e-9
        per_delay = ", ".join(
            f"{int(d) * 0.2:.1f} s: {v['mean']:.3f} ± {v['std']:.3f}" for d, v in curve.items()
        )
        out.append(
            (
                f"snn store-recall >= 90% at every delay up to 1.2 s (run: up to {longest * 0.2:.1f} s)",
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


def markdown(summary: dict[str, Any], config: Config, wall_s: float) -> str:
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
    if "continual_learning" in summary["tasks"]:
        lines += [
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
        lines.append("")
    if "store_recall" in summary["tasks"]:
        lines += [
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
        lines.append("")
    if summary.get("load"):
        lines += ["## Associative recall vs load", "", "| patterns | snn | lstm |", "| --- | --- | --- |"]
        for p in summary["load"]["snn"]:
            lines.append(
                f"| {p} | {summary['load']['snn'][p]['mean']:.3f} | "
                f"{summary['load']['lstm'][p]['mean']:.3f} |"
            )
        lines.append("")
    lines += ["## Targets (issue 4)", ""]
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


# ------------------------------------------------------------------------------------------------ figures


def figures(summary: dict[str, Any], results: list[dict[str, Any]], ctx: RunContext) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"snn": "C0", "lstm": "C1"}
    tasks = summary["tasks"]

    def errorplot(ax: Any, curve: dict[str, Any], backend: str, scale: float = 1.0) -> None:
        xs = [float(x) * scale for x in curve]
        ax.errorbar(
            xs,
            [v["mean"] for v in curve.values()],
            yerr=[v["std"] for v in curve.values()],
            marker="o",
            capsize=3,
            color=colors[backend],
            label=backend,
        )

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    if "store_recall" in tasks:
        for b in BACKENDS:
            errorplot(ax, tasks["store_recall"][b].get("accuracy_vs_delay", {}), b, 0.2)
    ax.axhline(0.9, color="0.7", ls="--", lw=1)
    ax.set(xlabel="delay (s)", ylabel="accuracy", title="store-recall", ylim=(0, 1.05))
    ax.legend()
    ctx.save_figure(fig, "accuracy_vs_delay")

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for b in BACKENDS:
        errorplot(ax, summary.get("load", {}).get(b, {}), b)
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
            errorplot(ax, tasks["associative_recall"][b].get("accuracy_vs_pruned_fraction", {}), b)
    ax.set(
        xlabel="pruned fraction of trainable synapses / weights",
        ylabel="accuracy",
        title="associative recall under pruning",
        ylim=(0, 1.05),
    )
    ax.legend(title="snn: frontal (|w|) · lstm: torch magnitude", fontsize=7, title_fontsize=7)
    ctx.save_figure(fig, "accuracy_vs_pruning")

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
            ax.plot(np.arange(window, n + 1), smooth, color=colors[b], label=b)
        ax.set(title=name.replace("_", " "), xlabel="training presentations", ylim=(0, 1.05))
    axes[0][0].set_ylabel("prequential accuracy")
    axes[0][0].legend()
    fig.tight_layout()
    ctx.save_figure(fig, "accuracy_vs_training")

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
                color=colors[b],
                label=b,
                capsize=3,
            )
        ax.set_xticks(x, ["A after A", "A after B", "B after B"])
    ax.set(ylabel="accuracy", title="continual learning: retention of A", ylim=(0, 1.05))
    ax.legend()
    ctx.save_figure(fig, "retention")


# ---------------------------------------------------------------------------------------------------- run


def _run_units(
    ctx: RunContext, key: str, units: list[dict[str, Any]], config: Config
) -> list[dict[str, Any]]:
    """``ctx.trials`` over ``units`` (checkpointed one by one); with ``workers > 1`` the pending units are
    computed ahead in a pool of forked processes and handed to ``ctx.trials`` in order. Every unit derives
    its randomness from its own seed, so the results do not depend on ``workers``."""
    done = len(ctx._checkpoint.get(key, []))
    pending = units[done:]
    if config.workers <= 1 or len(pending) <= 1:
        return ctx.trials(key, units, lambda u: run_unit(u, config), desc=key)
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(min(config.workers, len(pending))) as pool:
        ahead = pool.imap(_pool_unit, [(u, config) for u in pending])
        return ctx.trials(key, units, lambda u: next(ahead), desc=key)


def _pool_unit(args: tuple[dict[str, Any], Config]) -> dict[str, Any]:
    return run_unit(*args)


def run(config: Config, ctx: RunContext) -> dict[str, Any]:
    start = time.perf_counter()
    units = [{"task": name, "seed": s, "kind": "main"} for name in config.tasks for s in config.seeds]
    load_units: list[dict[str, Any]] = []
    if "associative_recall" in config.tasks:  # the main runs already cover n_patterns = assoc_patterns
        load_units = [
            {"task": "associative_recall", "seed": s, "kind": "load", "overrides": {"n_patterns": p}}
            for p in config.load_patterns
            if p != config.assoc_patterns
            for s in config.seeds[: config.load_seeds]
        ]
    everything = _run_units(ctx, "units", units + load_units, config)
    results = [r for r in everything[: len(units)]]
    load_results = [r for r in everything[len(units) :]]
    if "associative_recall" in config.tasks and config.assoc_patterns in config.load_patterns:
        load_results += [
            {**r, "overrides": {"n_patterns": config.assoc_patterns}}
            for r in results
            if r["task"] == "associative_recall" and r["seed"] in config.seeds[: config.load_seeds]
        ]
    summary = aggregate(results, config)
    if load_results:
        summary["load"] = load_table(load_results)
    summary["targets"] = targets(summary, config)
    wall = time.perf_counter() - start
    summary.update({"config": dataclasses.asdict(config), "seeds": list(config.seeds), "wall_s": wall})
    ctx.write_json("results.json", summary)
    (ctx.out / "results.md").write_text(markdown(summary, config, wall))
    figures(summary, results, ctx)
    metrics: dict[str, Any] = {"wall_s": round(wall, 1)}
    for name, per in summary["tasks"].items():
        for backend, e in per.items():
            metrics[f"{name}.{backend}.accuracy"] = e["accuracy"]
    for k, (_, ok, _) in enumerate(summary["targets"]):
        metrics[f"target_{k}_met"] = ok
    return metrics


QUICK = {
    "seeds": (0, 1),
    "assoc_patterns": 5,
    "assoc_units": 50,
    "coding_level": 0.2,
    "assoc_train": 24,
    "assoc_test": 10,
    "load_patterns": (3, 5),
    "prune_fractions": (0.0, 0.9),
    "prune_test": 4,
    "paired_pairs": 4,
    "paired_units": 30,
    "paired_train": 16,
    "paired_test": 8,
    "sr_max_delay": 2,
    "sr_train": 8,
    "sr_test": 6,
    "delays": (0, 2),
    "delay_test": 3,
    "seq_length": 3,
    "seq_units": 30,
    "seq_train": 6,
    "seq_test": 4,
    "cont_patterns": 2,
    "cont_units": 40,
    "cont_train": 8,
    "cont_test": 5,
    "lstm_epochs": 60,
    "workers": 2,
}

EXPERIMENT = Experiment(
    name="compare_lstm",
    description="Recall tasks on the spiking network and an LSTM, side by side (issue 4)",
    config_type=Config,
    run=run,
    quick_overrides=QUICK,
)

if __name__ == "__main__":
    sys.exit(EXPERIMENT.main())
