"""The frontal controller's ablation: the spiking learner with the controller's parts switched on and off.

The default spiking learner (``snn``) is *reward only*: an immediate reward after each decision, no pruning,
no consolidation. Each variant of :data:`VARIANTS` is the same learner with
:class:`~neurosim.learners.spiking.SpikingParams` overrides, run on the tasks where its parts can matter
(the controller's switches: ``delayed_reward``, ``prune_during_learning``, ``consolidation``). A variant is
one more learner in the comparison's statistics: the same trials and seeds, the same record and costs, its
accuracy with the two-level bootstrap interval, and a paired verdict against ``snn`` on the same test answers
(:func:`neurosim.statistics.compare_answers`); on continual learning also on the answers about set A after
B, which consolidation is meant to keep. Adding a variant is one :class:`Variant` line in
:data:`VARIANTS`.

Why these tasks: pruning during learning acts where the plastic synapses outnumber what the stored patterns
use (associative recall); consolidation acts where a later task rewrites the synapses of an earlier one
(continual learning with overlapping sets); the delayed reward arrives after the trial's decision, so its
inter-trial interval is lengthened to hold the delay (otherwise the reward lands in the next trial: 0.31 vs
0.80 on associative recall).

Why pruning takes only synapses that transmit (nearly) nothing: the full controller's readout is learned by
trial and error from a delayed reward, and removing readout synapses that still carry signal while it learns
(weak ones, |w| < 0.05, depressed by punishment; or synapses onto readout groups that had not won yet, by the
geometric mean of pre and post rates) left a pattern answered by its neighbour's group (accuracy 0.855 / 0.90
/ 1.00 on seeds 0-2 against 0.992 unpruned). So the candidates are the recurrent synapses that no pattern
imprinted (|w| < ``prune_weak`` 1e-4: they stay at 0) and the synapses whose presynaptic neuron has stayed
silent since the run began (``prune_silent`` 1 mHz: the memory units no pattern uses); ``prune_final`` 0.9
lets ``mem_mem`` go to 90% (about all it never imprinted) and ``mem_out`` lose its silent sources' synapses
(about 30%), 72% of the plastic synapses in all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import Hz, get_unit, ms, second

from ..statistics import Comparison, compare_answers
from ..validation import ParameterError
from .summary import ComparisonConfig, interval, learner_entry
from .verdicts import accuracy_text, as_dict, compare

#: The learner every variant is compared with: the default spiking learner (reward only).
BASELINE = "snn"
#: The baseline's parts, as the report states them.
BASELINE_LABEL = "reward only"
BASELINE_SWITCHES = "immediate reward after each decision; no pruning, no consolidation (the default snn)"

DELAYED_REWARD = {"delayed_reward": True, "reward_delay": 1 * second, "tau_c": 1 * second, "iti": 1200 * ms}
#: Pruning during learning with the learner's ramp (every 40 trials, 8 steps), up to 90% of each projection:
#: recurrent synapses never imprinted (w < 1e-4) and synapses from neurons silent so far (< 1 mHz).
PRUNING = {"prune_during_learning": True, "prune_final": 0.9, "prune_weak": 1e-4, "prune_silent": 1e-3 * Hz}
#: Consolidation at the learner's settings (consolidate_above 0.5, time scale 300: uncaptured changes fade
#: over 23 s; proteins only from the controller's judgement, in the decided readout group).
CONSOLIDATION = {"consolidation": True}


@dataclass(frozen=True)
class Variant:
    """A spiking learner with some of the controller's parts switched: its learner name, what the report
    calls it, what it switches (in words), its :class:`~neurosim.learners.spiking.SpikingParams` overrides,
    the tasks it runs on, and how many times the task's training trials it gets (stated in the report)."""

    name: str
    label: str
    switches: str
    params: Mapping[str, Any] = field(default_factory=dict)
    tasks: tuple[str, ...] = ()
    train_factor: int = 1


#: The ablation: variant name -> label, switches, SpikingParams overrides, tasks.
VARIANTS: tuple[Variant, ...] = (
    Variant(
        "snn_full",
        "full controller",
        "delayed reward (1 s, tau_c 1 s, inter-trial interval 1.2 s) + pruning during learning (recurrent "
        "synapses never imprinted and synapses from silent neurons, up to 90% of each projection) + "
        "consolidation (reward-gated tagging and capture)",
        {**DELAYED_REWARD, **PRUNING, **CONSOLIDATION},
        ("associative_recall", "continual_learning"),
    ),
    Variant(
        "snn_no_pruning",
        "no pruning",
        "the full controller without pruning during learning",
        {**DELAYED_REWARD, **CONSOLIDATION},
        ("associative_recall",),
    ),
    Variant(
        "snn_no_consolidation",
        "no consolidation",
        "the full controller without consolidation",
        {**DELAYED_REWARD, **PRUNING},
        ("continual_learning",),
    ),
    Variant(
        "snn_consolidation",
        "consolidation only",
        "immediate reward + consolidation (reward-gated tagging and capture of the readout synapses)",
        CONSOLIDATION,
        ("continual_learning",),
    ),
    Variant(
        "snn_learned_gating",
        "learned gating",
        "STORE/RECALL gates learned from reward instead of hand-wired (write: a configuration of Go/NoGo "
        "per input symbol held 16 trials and kept if its reward beats the kept one's; read: Go/NoGo values); "
        "6x the training trials",
        {"learned_gating": True},
        ("store_recall",),
        train_factor=6,
    ),
)


def _shown(value: Any) -> str:
    """A parameter value as the report shows it (a quantity in its SI unit: ``1.2 s``)."""
    if hasattr(value, "dim"):
        unit = get_unit(value.dim)
        return f"{float(value / unit):g} {unit}"
    return str(value)


def variants(names: Sequence[str] | None = None) -> dict[str, Variant]:
    """The variants of :data:`VARIANTS` by name (``names``: only those)."""
    return {v.name: v for v in VARIANTS if names is None or v.name in names}


def ablation_units(config: Any) -> list[dict[str, Any]]:
    """One unit per variant, task it runs on (among the run's tasks) and seed; none when ``config.ablation``
    is off."""
    if not getattr(config, "ablation", False):
        return []
    return [
        {"task": task, "seed": s, "kind": "ablation", "variant": v.name}
        for v in VARIANTS
        for task in v.tasks
        if task in config.tasks
        for s in config.seeds
    ]


def set_a_answers(rows: Sequence[dict[str, Any]], learner: str) -> list[Any]:
    """Right/wrong answers of ``learner`` about set A after B (continual learning), one array per seed."""
    return [
        np.asarray(r[learner]["record"]["extra"]["test_correct"], dtype=float)[np.asarray(r["test_set_a"])]
        for r in rows
    ]


def summarize_ablation(
    results: Sequence[dict[str, Any]],
    ablation_results: Sequence[dict[str, Any]],
    config: ComparisonConfig,
    *,
    run: bool,
    why_not: str = "",
) -> dict[str, Any]:
    """results.json's ``ablation``: ``run`` (False: ``why_not`` says why), ``variants`` (label, switches,
    overrides, tasks), ``tasks`` ({task: {variant: entry}}, the entries of
    :func:`~neurosim.comparison.summary.learner_entry`) and ``comparisons`` ({task: {variant: the paired
    comparison with ``snn``, and on continual learning ``set_a``: the same on the answers about A}}) and
    ``set_a`` ({task: {learner: accuracy on A after B with its interval}})."""
    table = {
        v.name: {
            "label": v.label,
            "switches": v.switches,
            "params": {k: _shown(x) for k, x in v.params.items()},
            "tasks": list(v.tasks),
        }
        for v in VARIANTS
    }
    out: dict[str, Any] = {"run": run, "why_not": why_not, "variants": table}
    out.update(tasks={}, comparisons={}, set_a={})
    if not run:
        return out
    main = {(r["task"], r["seed"]): r for r in results}
    for name in config.tasks:
        for v in VARIANTS:
            mine = sorted(
                (r for r in ablation_results if r["task"] == name and r["variant"] == v.name),
                key=lambda r: r["seed"],
            )
            if not mine:
                continue
            out["tasks"].setdefault(name, {})[v.name] = learner_entry(name, mine, v.name)
            rows = [
                {**main[(name, r["seed"])], v.name: r[v.name]}
                for r in mine
                if BASELINE in main.get((name, r["seed"]), {})
            ]
            if not rows:
                continue
            found = compare(rows, v.name, BASELINE)
            said = found.verdict if found else f"too few test answers to compare {v.name} and {BASELINE}"
            c: dict[str, Any] = {**(as_dict(found) if found else {}), "line": f"{name}, {v.label}: {said}"}
            if all("test_set_a" in r for r in rows):
                a = compare_set_a(rows, v.name)
                c["set_a"] = as_dict(a) if a else None
                if a:
                    c["line"] += f"; set A after B: {a.verdict}"
                per = out["set_a"].setdefault(name, {})
                for learner in (BASELINE, v.name):
                    per[learner] = per.get(learner) or _set_a_accuracy(rows, learner)
            out["comparisons"].setdefault(name, {})[v.name] = c
    return out


def _set_a_accuracy(rows: Sequence[dict[str, Any]], learner: str) -> dict[str, Any]:
    """Accuracy on set A after B with its two-level bootstrap interval (None: too few answers)."""
    values = set_a_answers(rows, learner)
    ci = interval(values)
    return {"accuracy": float(np.mean([v.mean() for v in values])), "ci": [ci.low, ci.high] if ci else None}


def compare_set_a(rows: Sequence[dict[str, Any]], variant: str) -> Comparison | None:
    """``variant`` minus the baseline on the answers about set A after B (None: too few answers)."""
    try:
        return compare_answers(
            set_a_answers(rows, variant), set_a_answers(rows, BASELINE), names=(variant, BASELINE)
        )
    except ParameterError:
        return None


def ablation_targets(ab: dict[str, Any], untested: str) -> list[list[Any]]:
    """The controller's targets, ``[description, status, measured]`` like
    :func:`~neurosim.comparison.verdicts.targets`: learned gating on store-recall >= 90%; with consolidation,
    set A kept >= 90% after B and better than without; pruning during learning to >= 70% of the plastic
    synapses within 3 points of the same controller without pruning, with faster test trials. ``untested``:
    the status when the ablation did not run."""
    tasks, comparisons = ab.get("tasks", {}), ab.get("comparisons", {})
    if not ab.get("run"):
        names = ("learned gating on store-recall", "consolidation keeps set A", "pruning during learning")
        return [[f"snn {n} (ablation)", untested, ab.get("why_not", "")] for n in names]
    out: list[list[Any]] = []
    gating = tasks.get("store_recall", {}).get("snn_learned_gating")
    if gating:
        out.append(
            [
                "snn learned gating on store-recall >= 90%",
                _met(gating["accuracy"] >= 0.9),
                accuracy_text(gating),
            ]
        )
    kept = ab.get("set_a", {}).get("continual_learning", {})
    found = comparisons.get("continual_learning", {}).get("snn_consolidation", {}).get("set_a")
    if "snn_consolidation" in kept and found:
        a, base = kept["snn_consolidation"]["accuracy"], kept.get(BASELINE, {}).get("accuracy", float("nan"))
        out.append(
            [
                "snn consolidation keeps set A >= 90% after B, better than without (interval above 0)",
                _met(a >= 0.9 and found["low"] > 0 and found["significant"]),
                f"A after B: consolidation {a:.3f}, reward only {base:.3f}; difference "
                f"{found['difference']:+.3f} [{found['low']:+.3f}, {found['high']:+.3f}]",
            ]
        )
    assoc = tasks.get("associative_recall", {})
    if {"snn_full", "snn_no_pruning"} <= set(assoc):
        full, kept_all = assoc["snn_full"], assoc["snn_no_pruning"]
        pruned = full.get("pruned_in_training", 0.0)
        faster = full["test_wall_s_per_trial"] < kept_all["test_wall_s_per_trial"]
        close = full["accuracy"] >= kept_all["accuracy"] - 0.03
        out.append(
            [
                "snn pruning during learning: >= 70% of plastic synapses pruned, associative accuracy within "
                "3 points of no pruning, faster test trials",
                _met(pruned >= 0.7 and close and faster),
                f"pruned {pruned:.2f}; accuracy {full['accuracy']:.3f} vs {kept_all['accuracy']:.3f}; test s "
                f"per trial {full['test_wall_s_per_trial']:.3g} vs {kept_all['test_wall_s_per_trial']:.3g}",
            ]
        )
    return out


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def ablation_lines(summary: dict[str, Any]) -> list[str]:
    """The verdict per variant and task (one line each)."""
    ab = summary.get("ablation", {})
    return [c["line"] for per in ab.get("comparisons", {}).values() for c in per.values()]


__all__ = [
    "BASELINE",
    "VARIANTS",
    "Variant",
    "ablation_lines",
    "ablation_targets",
    "ablation_units",
    "compare_set_a",
    "set_a_answers",
    "summarize_ablation",
    "variants",
]
