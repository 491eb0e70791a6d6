"""Write notebooks/snn_vs_lstm.ipynb (outputs stripped) from the cells below.

    python docs/make_snn_vs_lstm_notebook.py

The notebook is generated so that its text and code stay reviewable as plain Python; edit the cells here and
regenerate. tests/test_notebooks.py executes it with NEUROSIM_QUICK=1.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "snn_vs_lstm.ipynb"

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# Spiking network vs LSTM, GRU and Transformer: the comparison, side by side

`neurosim run compare_lstm` runs every recall task of `neurosim.tasks` on the 3D spiking network (`snn`,
learning only through plasticity and reward) and on three conventional networks sized to its synapse count
(`lstm`, `gru` and a small causal `transformer`, trained with Adam), with the same trials and seeds, and
writes `results.json`, `results.md` (opening with a verdict per task) and figures. This notebook loads such
a results folder and plots every learner side by side.

Set `RESULTS` to a results folder. By default it is `results/quick`, written by the README's main job:

```bash
neurosim run compare_lstm --quick --out results/quick
```

If that folder does not exist (and always with `NEUROSIM_QUICK=1`, as in the test suite) the notebook runs the
comparison itself with a tiny configuration in a temporary folder, so it always runs end to end (under
`NEUROSIM_QUICK=1` only the three tasks that carry the curves: associative recall, store-recall, continual
learning). Tiny runs train on one or two trials: their numbers show the plots, not the science.""",
    ),
    (
        "code",
        """import json
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()  # the repository
RESULTS = ROOT / "results" / "quick"  # <- a folder written by `neurosim run compare_lstm`
QUICK = os.environ.get("NEUROSIM_QUICK") == "1"
COLORS = {"snn": "C0", "lstm": "C1", "gru": "C2", "transformer": "C3"}
STYLES = {  # markers and dashes keep overlapping curves visible
    "snn": dict(marker="o", ls="-"),
    "lstm": dict(marker="s", ls="--"),
    "gru": dict(marker="^", ls="-."),
    "transformer": dict(marker="D", ls=":"),
}""",
    ),
    (
        "md",
        """## Find or produce results

`tiny_comparison` runs the experiment exactly as `neurosim run compare_lstm --set ...` would (the same
`Experiment` object, config validation and results directory), with every task at the smallest sizes: the
experiment's own `Config.TINY` preset, which its test runs too.""",
    ),
    (
        "code",
        """from neurosim.cli import find_experiment


def tiny_comparison() -> Path:
    \"\"\"Run compare_lstm with its smallest settings into a temporary folder and return that folder.\"\"\"
    experiment = find_experiment("compare_lstm")
    settings = {**experiment.config_type.TINY, "workers": 2}  # the experiment's smallest sizes
    if QUICK:  # the test suite: the tasks behind every curve below, in about half the time
        settings["tasks"] = ("associative_recall", "store_recall", "continual_learning")
    config = experiment.config_type(**settings)
    out = Path(tempfile.mkdtemp(prefix="snn_vs_lstm_")) / "compare"
    experiment.execute(config, out, seed=0)
    return out


if QUICK or not (RESULTS / "results.json").exists():
    print(f"no results at {RESULTS} (or NEUROSIM_QUICK=1): running a tiny comparison ...")
    RESULTS = tiny_comparison()
data = json.loads((RESULTS / "results.json").read_text())
tasks = data["tasks"]
LEARNERS = [b for b in COLORS if any(b in per for per in tasks.values())]
print("results:", RESULTS)
print("tasks:", ", ".join(tasks), "| learners:", ", ".join(LEARNERS), "| seeds:", data["seeds"])""",
    ),
    (
        "md",
        """## The table

`results.md` is the experiment's own summary. It opens with the verdict per task (the spiking network
against the best conventional learner, paired on the same test answers, with the 95% interval of the
difference and whether it is significant), then the accuracy of every learner with its 95% interval, how
many test trials repeat a training trial, wall time per trial, sizes, the learners' built-in priors, energy,
and whether the targets of the comparison were met.""",
    ),
    (
        "code",
        """display(Markdown((RESULTS / "results.md").read_text()))""",
    ),
    (
        "md",
        """## Accuracy per task

Accuracy on the test answers (fraction of scored steps answered correctly), mean over seeds with its 95%
interval (bootstrap over seeds and answers). Chance is one over the number of classes of each task.""",
    ),
    (
        "code",
        """def grouped_bars(ax, names, values, errors=None, log=False):
    \"\"\"Every learner's bars side by side for each task.\"\"\"
    x = np.arange(len(names))
    width = 0.8 / len(LEARNERS)
    for k, backend in enumerate(LEARNERS):
        ax.bar(x + width * (k - (len(LEARNERS) - 1) / 2), values[backend], width,
               yerr=None if errors is None else errors[backend], capsize=2, color=COLORS[backend],
               label=backend)
    ax.set_xticks(x, [n.replace("_", "\\n") for n in names], fontsize=8)
    if log:
        ax.set_yscale("log")


%matplotlib inline
# (inline again: the experiment's figure code switched matplotlib to its file-only backend)
def ci_errors(entry):
    \"\"\"The accuracy's 95% interval as (below, above) error-bar lengths (none without an interval).\"\"\"
    low, high = entry.get("accuracy_ci") or (entry["accuracy"], entry["accuracy"])
    return max(entry["accuracy"] - low, 0), max(high - entry["accuracy"], 0)


names = list(tasks)
fig, ax = plt.subplots(figsize=(8, 3.4))
grouped_bars(
    ax, names,
    {b: [tasks[n][b]["accuracy"] for n in names] for b in LEARNERS},
    {b: np.array([ci_errors(tasks[n][b]) for n in names]).T for b in LEARNERS},
)
ax.set(ylabel="test accuracy", ylim=(0, 1.05), title="accuracy per task (mean, 95% interval)")
ax.legend(fontsize=8, ncol=len(LEARNERS))
plt.show()
for verdict in data["verdicts"].values():
    print(verdict["line"])""",
    ),
    (
        "md",
        """## Memory over time: store-recall accuracy vs delay

Store-recall (Bellec et al. 2018): a value is shown with STORE and must be reported at RECALL after a delay
of 200 ms steps. After training, each learner is tested at fixed delays; a memory that fades loses accuracy
as the delay grows. The dashed line is the spiking network's 90% target.""",
    ),
    (
        "code",
        """def curve_plot(ax, curves, scale=1.0):
    \"\"\"Plot {learner: {x: {"mean", "low", "high"}}}: means with their 95% interval over seeds.\"\"\"
    for backend, curve in curves.items():
        if not curve:
            continue
        xs = [float(x) * scale for x in curve]
        mean = np.array([v["mean"] for v in curve.values()])
        low = np.clip([v.get("low", v["mean"]) for v in curve.values()], 0, 1)
        high = np.clip([v.get("high", v["mean"]) for v in curve.values()], 0, 1)
        ax.errorbar(xs, mean, yerr=[np.maximum(mean - low, 0), np.maximum(high - mean, 0)],
                    capsize=3, color=COLORS[backend], label=backend, **STYLES[backend])
    ax.set_ylim(0, 1.05)


fig, ax = plt.subplots(figsize=(4.5, 3.2))
if "store_recall" in tasks:
    curve_plot(ax, {b: tasks["store_recall"][b].get("accuracy_vs_delay", {}) for b in LEARNERS}, scale=0.2)
ax.axhline(0.9, color="0.6", ls="--", lw=1, label="snn target 0.9")
ax.set(xlabel="delay (s)", ylabel="accuracy", title="store-recall vs delay")
ax.legend(fontsize=8)
plt.show()""",
    ),
    (
        "md",
        """## Capacity: associative recall vs load

Accuracy of recalling a stored pattern from a 50% cue as the number of stored patterns grows (the same
training per pattern at every load). An associative memory degrades as it nears its capacity.""",
    ),
    (
        "code",
        """fig, ax = plt.subplots(figsize=(4.5, 3.2))
curve_plot(ax, {b: data.get("load", {}).get(b, {}) for b in LEARNERS})
ax.xaxis.get_major_locator().set_params(integer=True)
ax.set(xlabel="stored patterns", ylabel="accuracy (partial cues)", title="associative recall vs load")
ax.legend(fontsize=8)
plt.show()""",
    ),
    (
        "md",
        """## Robustness: associative recall vs pruned fraction

After training, the weakest trainable synapses (snn, pruned by the frontal controller's weight-magnitude
criterion) or weights (conventional learners, magnitude pruning) are removed in steps and the same probe
trials are tested again. Deleting the weakest synapses keeps an associative memory's recall (Chechik et
al. 1998).""",
    ),
    (
        "code",
        """fig, ax = plt.subplots(figsize=(4.5, 3.2))
if "associative_recall" in tasks:
    assoc = tasks["associative_recall"]
    curve_plot(ax, {b: assoc[b].get("accuracy_vs_pruned_fraction", {}) for b in LEARNERS})
ax.set(xlabel="pruned fraction", ylabel="accuracy", title="associative recall under pruning")
ax.legend(fontsize=8)
plt.show()""",
    ),
    (
        "md",
        """## Continual learning: retention of A after learning B

Set A is learned, tested, then set B is learned and both are tested again. Catastrophic forgetting shows as
a drop from "A after A" to "A after B"; the retention of A is their ratio.""",
    ),
    (
        "code",
        """keys = ("accuracy_a_before", "accuracy_a_after", "accuracy_b")
fig, ax = plt.subplots(figsize=(5.5, 3.2))
if "continual_learning" in tasks:
    x = np.arange(len(keys))
    width = 0.8 / len(LEARNERS)
    for k, backend in enumerate(LEARNERS):
        e = tasks["continual_learning"][backend]
        ax.bar(x + width * (k - (len(LEARNERS) - 1) / 2), [e.get(key, np.nan) for key in keys], width,
               color=COLORS[backend],
               label=f"{backend} (retention {e.get('retention_a', float('nan')):.2f})")
    ax.set_xticks(x, ["A after A", "A after B", "B after B"])
ax.set(ylabel="accuracy", ylim=(0, 1.05), title="continual learning")
ax.legend(fontsize=8)
plt.show()""",
    ),
    (
        "md",
        """## Cost: parameters, operations, energy and time

Log axes, because the learners differ by orders of magnitude. `parameters`: every synapse, plastic and
fixed (snn), or weights and biases (the others), matched by construction. `ops`: synaptic events (snn) or
multiply-accumulates (forward and backward passes, all epochs). `energy`: every counted operation × its
cited energy (snn: synaptic events, neuron updates and plastic updates on Loihi, 14 nm, Davies et al. 2018;
the others: MACs and one 32-bit SRAM read per MAC at 45 nm, Horowitz 2014), an estimate whose two sides come
from different process nodes (results.md states the caveat). Wall time is per training presentation.""",
    ),
    (
        "code",
        """costs = [("parameters_total", "parameters"), ("ops", "operations"), ("energy_j", "energy (J)"),
         ("train_wall_s_per_trial", "training wall time per presentation (s)")]
fig, axes = plt.subplots(2, 2, figsize=(10, 6.4))
for ax, (field, label) in zip(axes.flat, costs, strict=True):
    grouped_bars(ax, names, {b: [max(tasks[n][b][field], 1e-12) for n in names] for b in LEARNERS}, log=True)
    ax.set_title(label)
fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", ncol=len(LEARNERS))
fig.tight_layout(rect=(0, 0, 1, 0.94))
plt.show()""",
    ),
    (
        "md",
        """## What next

- `results.json` holds the per-seed records (`tasks.TASK.LEARNER.per_seed`, with every test answer), the
  paired comparisons (`verdicts`) and every learner's hyperparameters; `config` is the resolved
  configuration of the run.
- Rerun with other settings: `neurosim run compare_lstm --set assoc_patterns=20 --out results/p20`, or sweep
  a key in parallel: `neurosim sweep compare_lstm --grid assoc_patterns=5,10,20 --quick --out results/sweep`.
- Add your own task or learner (docs/extending.md): it then runs through the same
  protocol and reports the same fields.""",
    ),
]


def notebook() -> nbformat.NotebookNode:
    """The notebook object (no outputs)."""
    cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in CELLS]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


def main() -> int:
    nbformat.write(notebook(), OUT)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
