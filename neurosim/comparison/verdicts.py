"""Which learner is better on each task, whether the difference is significant, and the targets.

Learners run the same test trials, so they are compared *paired*: the per-answer differences (right = 1,
wrong = 0) of two learners are bootstrapped over seeds and answers, and a difference is significant when
its 95% interval excludes 0 and the exact McNemar test on the same answers rejects at 5%
(:func:`neurosim.statistics.compare_answers`). Each task's verdict compares the spiking network with the
best conventional learner (or, without the spiking network, the two best); results.md lists the spiking
network against every other learner. On novelty recall the verdict adds salience on vs off
(``snn`` − ``snn_no_salience``) on the answers about novel items, which salience is meant to help. The
intervals are not corrected for the several comparisons made per task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..statistics import Comparison, compare_answers
from ..validation import ParameterError
from .summary import STEP_S, ComparisonConfig, aggregate, answers, learners_in, load_table

#: Spiking learners: the verdict sets the spiking network against the best learner not among these.
SPIKING = ("snn", "snn_no_salience")

#: A target's status when the run's settings cannot test it.
NOT_TESTED_QUICK = "not tested in --quick"
NOT_TESTED = "not tested at these settings"


def compare(rows: Sequence[dict[str, Any]], a: str, b: str, kind: str | None = None) -> Comparison | None:
    """Learner ``a`` minus learner ``b`` on the same test answers (``kind``: only those about novel or
    familiar items; None: too few answers): :func:`neurosim.statistics.compare_answers`."""
    try:
        return compare_answers(answers(rows, a, kind), answers(rows, b, kind), names=(a, b))
    except ParameterError:
        return None


def as_dict(c: Comparison) -> dict[str, Any]:
    """A comparison as results.json stores it."""
    return {
        "a": c.a,
        "b": c.b,
        "difference": c.difference,
        "low": c.low,
        "high": c.high,
        "significant": c.significant,
        "method": c.method,
        "verdict": c.verdict,
    }


def verdicts(results: list[dict[str, Any]], summary: dict[str, Any], config: ComparisonConfig) -> dict:
    """Per task: ``line`` (the one-line verdict) and ``comparisons`` (every pair that it rests on)."""
    out: dict[str, Any] = {}
    for name, per in summary["tasks"].items():
        rows = sorted((r for r in results if r["task"] == name), key=lambda r: r["seed"])
        learners = learners_in(rows, config)
        ranked = sorted(learners, key=lambda b: -per[b]["accuracy"])
        scores = ", ".join(f"{b} {per[b]['accuracy']:.2f}" for b in ranked)
        if len(learners) < 2:
            out[name] = {"line": f"{name}: only {scores} ran, nothing to compare", "comparisons": []}
            continue
        if "snn" in learners:
            others = [b for b in ranked if b != "snn"]
            rivals = [b for b in others if b not in SPIKING] or others
            pairs, main = [("snn", b) for b in others], ("snn", rivals[0])
        else:
            pairs, main = [(ranked[0], b) for b in ranked[1:]], (ranked[0], ranked[1])
        found = {pair: compare(rows, *pair) for pair in pairs}
        said = _said(found[main], main)
        comparisons = [as_dict(c) for c in found.values() if c is not None]
        if {"snn", "snn_no_salience"} <= set(learners) and all("test_novel" in r for r in rows):
            novel = compare(rows, "snn", "snn_no_salience", "novel")
            said += f"; salience on vs off, novel items: {_said(novel, ('snn', 'snn_no_salience'))}"
            comparisons += [{**as_dict(novel), "answers": "novel items"}] if novel else []
        out[name] = {"line": f"{name}: {said}; accuracy {scores}", "comparisons": comparisons}
    return out


def _said(c: Comparison | None, pair: tuple[str, str]) -> str:
    return c.verdict if c else f"too few test answers to compare {pair[0]} and {pair[1]}"


#: The five memory tasks on which the spiking network should reach 90% at the full config.
MEMORY_TASKS = (
    "associative_recall",
    "paired_association",
    "store_recall",
    "sequence_recall",
    "continual_learning",
)


def targets(summary: dict[str, Any], config: ComparisonConfig, quick: bool = False) -> list[list[Any]]:
    """The comparison's targets: ``[description, status, what was measured]``; status is "met", "not
    met", or, when the run's settings cannot test it, :data:`NOT_TESTED_QUICK` (a ``--quick`` run) or
    :data:`NOT_TESTED`.

    Associative recall on the snn ≥ 90% with ≥ 10 patterns from 50% cues; the snn ≥ 90% on every task of
    :data:`MEMORY_TASKS` (untestable in a quick run or without all of them); store-recall ≥ 90% at every
    delay up to 1.2 s on the snn and ≥ 95% on the lstm; retention of set A after set B better on the snn
    than on every conventional learner; on novelty recall, the snn with salience better than without it on
    novel items, with the 95% interval of the paired difference above 0.
    """
    untested = NOT_TESTED_QUICK if quick else NOT_TESTED
    t = summary["tasks"]
    out: list[list[Any]] = []

    def status(ok: bool, testable: bool = True) -> str:
        return ("met" if ok else "not met") if testable else untested

    snn_assoc = t.get("associative_recall", {}).get("snn")
    if snn_assoc:
        testable = config.assoc_patterns >= 10 and config.assoc_cue <= 0.5
        out.append(
            [
                "snn associative recall >= 90% with >= 10 patterns from 50% cues "
                f"(run: {config.assoc_patterns} patterns, cue {config.assoc_cue:g})",
                status(snn_assoc["accuracy"] >= 0.9, testable),
                f"{snn_assoc['accuracy']:.3f}; overlap of the recalled units "
                f"{snn_assoc.get('overlap', float('nan')):.3f}",
            ]
        )
    ran = {n: t[n]["snn"]["accuracy"] for n in MEMORY_TASKS if "snn" in t.get(n, {})}
    if ran:
        out.append(
            [
                "snn >= 90% test accuracy on every memory task at the full config",
                status(min(ran.values()) >= 0.9, not quick and len(ran) == len(MEMORY_TASKS)),
                ", ".join(f"{n} {v:.3f}" for n, v in ran.items()),
            ]
        )
    sr = t.get("store_recall", {})
    if "snn" in sr:
        curve = sr["snn"].get("accuracy_vs_delay", {})
        worst = min((v["mean"] for v in curve.values()), default=float("nan"))
        longest = max((int(d) for d in curve), default=0)
        per_delay = ", ".join(f"{int(d) * STEP_S:.1f} s: {v['mean']:.3f}" for d, v in curve.items())
        out.append(
            [
                f"snn store-recall >= 90% at every delay up to 1.2 s (run: up to {longest * STEP_S:.1f} s)",
                status(worst >= 0.9, longest * STEP_S >= 1.2 - 1e-9),
                f"min over delays {worst:.3f}; {per_delay}",
            ]
        )
    if "lstm" in sr:
        out.append(
            ["lstm store-recall >= 95%", status(sr["lstm"]["accuracy"] >= 0.95), accuracy_text(sr["lstm"])]
        )
    cl = t.get("continual_learning", {})
    if "snn" in cl and len(cl) > 1:
        s = cl["snn"].get("retention_a", float("nan"))
        rest = {b: e.get("retention_a", float("nan")) for b, e in cl.items() if b != "snn"}
        out.append(
            [
                "retention of A: snn better than every conventional learner",
                status(all(s > v for v in rest.values())),
                f"snn {s:.3f} vs " + ", ".join(f"{b} {v:.3f}" for b, v in rest.items()),
            ]
        )
    nr = t.get("novelty_recall", {})
    if {"snn", "snn_no_salience"} <= set(nr):
        found = summary.get("verdicts", {}).get("novelty_recall", {}).get("comparisons", [])
        novel = [c for c in found if c.get("answers") == "novel items"]
        on, off = (nr[b].get("accuracy_novel", float("nan")) for b in ("snn", "snn_no_salience"))
        measured = f"novel items: on {on:.3f}, off {off:.3f}"
        if novel:
            c = novel[0]
            measured += f"; difference {c['difference']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}]"
        out.append(
            [
                "snn novelty recall: salience on beats off on novel items, outside the 95% interval",
                status(bool(novel) and novel[0]["low"] > 0 and novel[0]["significant"]),
                measured,
            ]
        )
    return out


def accuracy_text(e: dict[str, Any]) -> str:
    """``0.900 [0.875, 0.923]``: an entry's accuracy with its 95% interval where it has one."""
    ci = e.get("accuracy_ci")
    return f"{e['accuracy']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def summarize_comparison(
    results: list[dict[str, Any]],
    load_results: Sequence[dict[str, Any]],
    config: ComparisonConfig,
    quick: bool = False,
) -> dict[str, Any]:
    """The summary of a run: ``tasks`` (:func:`~neurosim.comparison.summary.aggregate`), ``verdicts``,
    ``load`` (when there are load units) and ``targets``."""
    summary = aggregate(results, config)
    summary["verdicts"] = verdicts(results, summary, config)
    if load_results:
        summary["load"] = load_table(list(load_results), config)
    summary["targets"] = targets(summary, config, quick)
    return summary


__all__ = [
    "NOT_TESTED",
    "NOT_TESTED_QUICK",
    "accuracy_text",
    "as_dict",
    "compare",
    "summarize_comparison",
    "targets",
    "verdicts",
]
