"""results.md of the comparison, and the text printed at the end of a run.

results.md opens with the verdict per task, then the table (accuracy with its 95% interval, test answers,
test trials that repeat a training trial, wall time per trial, sizes, energy), the paired comparisons, each
learner's built-in priors, the operations and energy behind the estimate (with the process-node caveat), the
sweeps, novelty recall by kind of item, the targets and the hyperparameters. The console gets the verdicts
and a compact table (:func:`console_text`).
"""

from __future__ import annotations

from typing import Any

from ..metrics import JOULES_PER_OPERATION
from .ablation import BASELINE_LABEL, BASELINE_SWITCHES, ablation_lines
from .summary import ComparisonConfig

#: What each learner is given rather than learns: the comparison's fairness in one place.
PRIORS = {
    "snn": (
        "a hand-wired architecture: one input channel per memory unit (topographic input onto an assembly of "
        "neurons per unit), recurrent memory synapses that only Hebbian co-activity imprints, inhibition for "
        "competition, one readout group per answer class; in store-recall STORE drives a hard-wired write "
        "gate and RECALL a read drive onto the memory, so it never learns when to write or read; it learns "
        "the memory by Hebbian imprinting and the readout by reward (right/wrong only), in one online pass; "
        "in training, pattern tasks add the experienced pattern to the input as a teacher, switched on only "
        "after the part of each step in which the answer is read"
    ),
    "snn_no_salience": (
        "on novelty recall only: the episodic memory of the snn entry with the plain co-activity rule (no "
        "novelty detector gating its plasticity), everything else the same"
    ),
    "lstm": (
        "learns everything (input, recurrent and readout weights) by backpropagation through time from the "
        "answer class at every scored step; gated cell state (input, forget, output gates); several passes "
        "over the training trials"
    ),
    "gru": (
        "learns everything by backpropagation through time from the answer class; gated state (reset and "
        "update gates); several passes over the training trials"
    ),
    "transformer": (
        "learns everything by backpropagation from the answer class; causal attention over every earlier "
        "step of the trial (it keeps the whole input history of a trial, so holding an item costs it no "
        "memory), fixed sinusoidal positions; several passes over the training trials"
    ),
}

#: The spiking network's priors on novelty recall, where it is an episodic memory.
EPISODIC_PRIOR = (
    "on novelty recall, an episodic memory instead: one unit per item and per tag channel (topographic "
    "input), item → tag synapses that a co-activity rule writes from zero during each episode's stream, a "
    "novelty detector (depressing input synapses) whose salience signal multiplies that rule's learning "
    "rate, the answer read from the tag units; it is given which channels are items and which are tags "
    "(tag k is answer k) and when the stream ends, and learns nothing across episodes (no training trials)"
)

#: How the report names each learner.
NAMES = {
    "snn": "Spiking network",
    "snn_no_salience": "Spiking network without salience",
    "lstm": "LSTM",
    "gru": "GRU",
    "transformer": "Transformer",
}

_CAVEAT = (
    "Energy is an estimate from counted operations, not a measurement: spiking operations at Loihi's "
    "figures (14 nm; Davies et al. 2018), conventional ones at Horowitz's (45 nm CMOS; ISSCC 2014). The two "
    "process nodes differ: at 14 nm the same arithmetic costs several times less than at 45 nm, so the "
    "conventional figures are high by that factor against the spiking ones. Static power, DRAM traffic and "
    "the host are left out on both sides."
)


def _ci(e: dict[str, Any]) -> str:
    ci = e.get("accuracy_ci")
    return f"{e['accuracy']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{e['accuracy']:.3f}"


def _repeats(e: dict[str, Any]) -> str:
    k, n = e.get("test_repeats", float("nan")), e.get("n_test", float("nan"))
    label = f"{k:.0f}/{n:.0f}"
    return label + " (memorisation)" if n > 0 and k >= n else label


def verdict_lines(summary: dict[str, Any]) -> list[str]:
    """One line per task: which learner is better and whether the difference is significant."""
    return [v["line"] for v in summary.get("verdicts", {}).values()]


def console_text(summary: dict[str, Any]) -> str:
    """What the main job prints at its end: the results table and the verdict per task."""
    lines = [
        f"{'task':<20} {'learner':<16} {'accuracy [95% CI]':<24} {'parameters':>10} {'energy (J)':>11}",
    ]
    for name, per in summary["tasks"].items():
        for learner, e in per.items():
            lines.append(
                f"{name:<20} {learner:<16} {_ci(e):<24} {e['parameters_total']:>10.0f} {e['energy_j']:>11.3g}"
            )
    lines += ["", "Verdict:", *(f"  {x}" for x in verdict_lines(summary))]
    ab = summary.get("ablation")
    if ab:
        said = ablation_lines(summary) if ab["run"] else [ab["why_not"]]
        lines += ["", "Ablation of the frontal controller (variant vs snn):", *(f"  {x}" for x in said)]
    return "\n".join(lines)


def markdown(summary: dict[str, Any], config: ComparisonConfig, wall_s: float) -> str:
    """results.md: verdicts, table, comparisons, priors, energy, sweeps, targets and hyperparameters."""
    learners = sorted({b for per in summary["tasks"].values() for b in per}, key=list(PRIORS).index)
    lines = [
        "# " + " vs ".join(NAMES[b] for b in learners) + " on the recall tasks",
        "",
        "## Verdict",
        "",
        *(f"- {x}" for x in verdict_lines(summary)),
        "",
        f"Seeds: {list(config.seeds)}; at least {config.test_answers} scored test answers per task and seed. "
        "Accuracy: mean over seeds of the pooled test accuracy, with its 95% interval (two-level bootstrap "
        "over seeds and their answers). A difference is significant when the 95% interval of the paired "
        "bootstrap on the same test answers excludes 0 and the exact McNemar test on them rejects at 5% "
        f"(not corrected for the several comparisons of a task). Wall time of the run: {wall_s:.0f} s.",
        "",
        "| task | learner | accuracy [95% CI] | answers / seed | test trials repeating a training trial | "
        "train presentations | train s / trial | test s / trial | trainable | total parameters | "
        "nonzero weights | energy (J) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, per in summary["tasks"].items():
        for b, e in per.items():
            lines.append(
                f"| {name} | {b} | {_ci(e)} | {e.get('test_answers', float('nan')):.0f} | {_repeats(e)} | "
                f"{e['train_trials']:.0f} | {e.get('train_wall_s_per_trial', float('nan')):.3g} | "
                f"{e.get('test_wall_s_per_trial', float('nan')):.3g} | {e['parameters_plastic']:.0f} | "
                f"{e['parameters_total']:.0f} | {e['nonzero_weights']:.0f} | {e['energy_j']:.3g} |"
            )
    lines += [
        "",
        "trainable: plastic synapses (snn) or weights and biases (others) in use; total parameters: every "
        "synapse, plastic and fixed (snn), to which the conventional learners are sized; nonzero weights: "
        "synapses or weight-matrix entries that are not zero. Train presentations count repeats over "
        f"epochs ({config.epochs} for the conventional learners; the snn learns in one online pass). A test "
        "trial repeats a training trial when its inputs and answers are identical to one: a task where "
        "all do tests memorisation, not recall from partial cues.",
        "",
    ]
    lines += _comparisons(summary) + _priors(learners, summary["tasks"]) + _energy(summary)
    lines += _continual(summary) + _delays(summary) + _load(summary) + _novelty(summary) + _ablation(summary)
    lines += _skipped_pruning(summary)
    lines += _targets(summary)
    lines += _hyperparameters(summary, config)
    return "\n".join(lines)


def _comparisons(summary: dict[str, Any]) -> list[str]:
    lines = [
        "## Paired comparisons",
        "",
        "| task | a − b | answers | difference [95% CI] | significant | method |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, v in summary.get("verdicts", {}).items():
        for c in v["comparisons"]:
            lines.append(
                f"| {name} | {c['a']} − {c['b']} | {c.get('answers', 'all')} | "
                f"{c['difference']:+.3f} [{c['low']:+.3f}, "
                f"{c['high']:+.3f}] | {'yes' if c['significant'] else 'no'} | {c['method']} |"
            )
    return lines + [""]


def _priors(learners: list[str], tasks: dict[str, Any]) -> list[str]:
    lines = ["## Priors", ""]
    for b in learners:
        lines.append(
            f"- **{b}**: {PRIORS[b]}"
            + (f"; {EPISODIC_PRIOR}." if b == "snn" and "novelty_recall" in tasks else ".")
        )
    return lines + [""]


def _energy(summary: dict[str, Any]) -> list[str]:
    names = list(JOULES_PER_OPERATION)
    lines = [
        "## Operations and energy",
        "",
        "| task | learner | " + " | ".join(n.replace("_", " ") for n in names) + " | energy (J) |",
        "| --- | --- | " + " | ".join("---" for _ in names) + " | --- |",
    ]
    for name, per in summary["tasks"].items():
        for b, e in per.items():
            counts = e.get("energy_counts", {})
            cells = " | ".join(f"{counts[n]:.3g}" if n in counts else "–" for n in names)
            lines.append(f"| {name} | {b} | {cells} | {e['energy_j']:.3g} |")
    per_op = ", ".join(f"{n.replace('_', ' ')} {1e12 * j:g} pJ" for n, j in JOULES_PER_OPERATION.items())
    return lines + [
        "",
        f"Energy per operation: {per_op} (neurosim.metrics names each source). Neuron updates: every neuron "
        "at every simulated time step; memory reads: one 32-bit operand per multiply-accumulate (a weight, "
        "or a cached key or value in attention), training and test.",
        "",
        _CAVEAT,
        "",
    ]


def _continual(summary: dict[str, Any]) -> list[str]:
    """Continual learning: accuracy on A before and after learning B, on B, and the retention of A."""
    if "continual_learning" not in summary["tasks"]:
        return []
    lines = [
        "## Continual learning (A then B)",
        "",
        "| learner | A before B | A after B | B | retention of A |",
        "| --- | --- | --- | --- | --- |",
    ]
    for b, e in summary["tasks"]["continual_learning"].items():
        lines.append(
            f"| {b} | {e.get('accuracy_a_before', float('nan')):.3f} | "
            f"{e.get('accuracy_a_after', float('nan')):.3f} | {e.get('accuracy_b', float('nan')):.3f} | "
            f"{e.get('retention_a', float('nan')):.3f} |"
        )
    return lines + [""]


def _delays(summary: dict[str, Any]) -> list[str]:
    """Store-recall accuracy at each fixed delay tested after training."""
    sr = summary["tasks"].get("store_recall")
    if not sr:
        return []
    learners = list(sr)
    lines = [
        "## Store-recall accuracy vs delay",
        "",
        "| delay (steps × 200 ms) | " + " | ".join(learners) + " |",
        "| --- | " + " | ".join("---" for _ in learners) + " |",
    ]
    for d in next(iter(sr.values())).get("accuracy_vs_delay", {}):
        cells = " | ".join(f"{sr[b]['accuracy_vs_delay'][d]['mean']:.3f}" for b in learners)
        lines.append(f"| {d} | {cells} |")
    return lines + [""]


def _load(summary: dict[str, Any]) -> list[str]:
    """Associative recall accuracy vs the number of stored patterns."""
    load = summary.get("load")
    if not load:
        return []
    learners = list(load)
    lines = [
        "## Associative recall vs load",
        "",
        "| patterns | " + " | ".join(learners) + " |",
        "| --- | " + " | ".join("---" for _ in learners) + " |",
    ]
    for p in load[learners[0]]:
        lines.append(f"| {p} | " + " | ".join(f"{load[b][p]['mean']:.3f}" for b in learners) + " |")
    return lines + [""]


def _novelty(summary: dict[str, Any]) -> list[str]:
    """Novelty recall: accuracy on novel (shown once) and familiar (repeated) items, with 95% intervals."""
    per = summary["tasks"].get("novelty_recall")
    if not per or not all("accuracy_novel" in e for e in per.values()):
        return []
    lines = [
        "## Novelty recall: novel and familiar items",
        "",
        "| learner | novel items [95% CI] | familiar items [95% CI] |",
        "| --- | --- | --- |",
    ]
    for b, e in per.items():
        cells = []
        for kind in ("novel", "familiar"):
            ci = e.get(f"accuracy_{kind}_ci")
            value = f"{e[f'accuracy_{kind}']:.3f}"
            cells.append(value + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""))
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    return lines + [
        "",
        "Novel items are shown once in an episode's stream, familiar ones several times; every episode cues "
        "as many of each. Intervals: bootstrap over seeds and their answers, as for the accuracy.",
        "",
    ]


def _ablation(summary: dict[str, Any]) -> list[str]:
    """The frontal controller's ablation: what each variant switches, and (when run) its accuracy and
    paired difference with the default snn per task, and a verdict per variant."""
    ab = summary.get("ablation")
    if not ab:
        return []
    lines = [
        "## Ablation: the frontal controller",
        "",
        "Variants of the spiking learner with the controller's parts switched, each compared with the "
        f"default snn ({BASELINE_LABEL}) on the same test trials and seeds (paired, as above).",
        "",
        "| variant | learner | what it switches | SpikingParams overrides | tasks |",
        "| --- | --- | --- | --- | --- |",
        f"| {BASELINE_LABEL} | snn | {BASELINE_SWITCHES} | – | every task |",
    ]
    for name, v in ab["variants"].items():
        params = ", ".join(f"{k}={x}" for k, x in v["params"].items()) or "–"
        lines.append(f"| {v['label']} | {name} | {v['switches']} | {params} | {', '.join(v['tasks'])} |")
    if not ab["run"]:
        return lines + ["", f"The ablation was {ab['why_not']}.", ""]
    lines += [
        "",
        "| task | variant | accuracy [95% CI] | set A after B [95% CI] | pruned in training | trainable | "
        "variant − snn [95% CI] | significant |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for task, per in ab["tasks"].items():
        base = summary["tasks"].get(task, {}).get("snn")
        shown = ({"snn": base} if base else {}) | per
        for learner, e in shown.items():
            label = BASELINE_LABEL if learner == "snn" else ab["variants"][learner]["label"]
            c = ab["comparisons"].get(task, {}).get(learner, {})
            diff = f"{c['difference']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}]" if "difference" in c else "–"
            sig = ("yes" if c["significant"] else "no") if "significant" in c else "–"
            a = ab["set_a"].get(task, {}).get(learner)
            a_text = "–"
            if a:
                a_text = f"{a['accuracy']:.3f}" + (
                    f" [{a['ci'][0]:.3f}, {a['ci'][1]:.3f}]" if a["ci"] else ""
                )
            lines.append(
                f"| {task} | {label} ({learner}) | {_ci(e)} | {a_text} | "
                f"{e.get('pruned_in_training', 0.0):.2f} | {e['parameters_plastic']:.0f} | {diff} | {sig} |"
            )
    return lines + ["", "Verdict per variant:", "", *(f"- {x}" for x in ablation_lines(summary)), ""]


def _skipped_pruning(summary: dict[str, Any]) -> list[str]:
    """Learners that pruned during training: their pruning sweep starts at their own pruned fraction."""
    ab = summary.get("ablation", {}).get("tasks", {})
    skipped = {
        learner: e
        for part in (summary["tasks"], ab)
        for learner, e in part.get("associative_recall", {}).items()
        if e.get("pruning_skipped")
    }
    if not skipped:
        return []
    return [
        "## Accuracy vs pruned fraction: learners that pruned during training",
        "",
        *(
            f"{learner} pruned {e.get('pruned_in_training', 0.0):.2f} of its trainable synapses during "
            "training, and pruning is permanent: its accuracy vs pruned fraction skips the fractions below "
            f"that ({', '.join(f'{f:g}' for f in e['pruning_skipped'])})."
            for learner, e in skipped.items()
        ),
        "",
    ]


def _targets(summary: dict[str, Any]) -> list[str]:
    lines = ["## Targets", ""]
    for text, status, measured in summary["targets"]:
        shown = "**not met**" if status == "not met" else status
        lines.append(f"- {text}: {shown} ({measured})")
    return lines + [""]


def _hyperparameters(summary: dict[str, Any], config: ComparisonConfig) -> list[str]:
    lines = ["## Hyperparameters", "", "Sizes per task (every learner's settings are in results.json):", ""]
    for name, per in summary["tasks"].items():
        sizes = []
        for b, e in per.items():
            hp = e["hyperparameters"]
            size = hp.get("hidden_size") or hp.get("d_model") or hp.get("populations")
            if size is None and "neurons" in hp:
                size = f"{hp['neurons']} neurons per unit (episodic memory)"
            sizes.append(f"{b} {size}")
        lines.append(f"- {name}: " + "; ".join(sizes))
    return lines + [
        "",
        f"Conventional learners: Adam, batch {config.batch_size}, {config.epochs} epochs, cross-entropy on "
        f"the scored steps, gradient norm clipped at 1; learning rate lstm {config.lstm_lr:g}, gru "
        f"{config.gru_lr:g}, transformer {config.transformer_lr:g}.",
        "",
    ]
