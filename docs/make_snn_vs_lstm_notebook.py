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
        """# Spiking network vs LSTM: the comparison, side by side

`neurosim run compare_lstm` runs every recall task of `neurosim.tasks` on the 3D spiking network (`snn`,
learning only through plasticity and reward) and on an LSTM of matched size (`lstm`, BPTT with Adam), with
the same trials and seeds, and writes `results.json`, `results.md` and figures. This notebook loads such a
results folder and plots the two learners side by side.

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
COLORS = {"snn": "C0", "lstm": "C1"}
STYLES = {"snn": dict(marker="o", ls="-"), "lstm": dict(marker="s", ls="--")}  # visible when they overlap
BACKENDS = ("snn", "lstm")""",
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
print("results:", RESULTS)
print("tasks:", ", ".join(tasks), "| seeds:", data["seeds"])""",
    ),
    (
        "md",
        """## The table

`results.md` is the experiment's own summary: mean ± standard deviation over seeds for every task and
backend, and whether the targets of the comparison were met.""",
    ),
    (
        "code",
        """display(Markdown((RESULTS / "results.md").read_text()))""",
    ),
    (
        "md",
        """## Accuracy per task

Accuracy on the test trials (fraction of scored steps answered correctly), mean over seeds with the spread
over seeds as error bars. Chance is one over the number of classes of each task.""",
    ),
    (
        "code",
        """def grouped_bars(ax, names, values, errors=None, log=False):
    \"\"\"snn and lstm bars side by side for each task.\"\"\"
    x = np.arange(len(names))
    for k, backend in enumerate(BACKENDS):
        ax.bar(x + 0.4 * (k - 0.5), values[backend], 0.4, yerr=None if errors is None else errors[backend],
               capsize=3, color=COLORS[backend], label=backend)
    ax.set_xticks(x, [n.replace("_", "\\n") for n in names], fontsize=8)
    if log:
        ax.set_yscale("log")


%matplotlib inline
# (inline again: the experiment's figure code switched matplotlib to its file-only backend)
names = list(tasks)
fig, ax = plt.subplots(figsize=(7, 3.2))
grouped_bars(
    ax, names,
    {b: [tasks[n][b]["accuracy"] for n in names] for b in BACKENDS},
    {b: [tasks[n][b]["accuracy_std"] for n in names] for b in BACKENDS},
)
ax.set(ylabel="test accuracy", ylim=(0, 1.05), title="accuracy per task (mean ± sd over seeds)")
ax.legend()
plt.show()""",
    ),
    (
        "md",
        """## Memory over time: store-recall accuracy vs delay

Store-recall (Bellec et al. 2018): a value is shown with STORE and must be reported at RECALL after a delay
of 200 ms steps. After training, each learner is tested at fixed delays; a memory that fades loses accuracy
as the delay grows. The dashed line is the 90% target of the comparison.""",
    ),
    (
        "code",
        """def curve_plot(ax, curves, scale=1.0):
    \"\"\"Plot {backend: {x: {"mean", "std"}}} with error bars.\"\"\"
    for backend, curve in curves.items():
        if not curve:
            continue
        xs = [float(x) * scale for x in curve]
        ax.errorbar(xs, [v["mean"] for v in curve.values()], yerr=[v["std"] for v in curve.values()],
                    capsize=3, color=COLORS[backend], label=backend, **STYLES[backend])
    ax.set_ylim(0, 1.05)
    ax.legend()


fig, ax = plt.subplots(figsize=(4.5, 3.2))
if "store_recall" in tasks:
    curve_plot(ax, {b: tasks["store_recall"][b].get("accuracy_vs_delay", {}) for b in BACKENDS}, scale=0.2)
ax.axhline(0.9, color="0.7", ls="--", lw=1)
ax.set(xlabel="delay (s)", ylabel="accuracy", title="store-recall vs delay")
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
curve_plot(ax, {b: data.get("load", {}).get(b, {}) for b in BACKENDS})
ax.set(xlabel="stored patterns", ylabel="accuracy (50% cues)", title="associative recall vs load")
plt.show()""",
    ),
    (
        "md",
        """## Robustness: associative recall vs pruned fraction

After training, the weakest trainable synapses (snn, pruned by the frontal controller's weight-magnitude
criterion) or weights (lstm, magnitude pruning) are removed in steps and the same probe trials are tested
again. Deleting the weakest synapses keeps an associative memory's recall (Chechik et al. 1998).""",
    ),
    (
        "code",
        """fig, ax = plt.subplots(figsize=(4.5, 3.2))
if "associative_recall" in tasks:
    assoc = tasks["associative_recall"]
    curve_plot(ax, {b: assoc[b].get("accuracy_vs_pruned_fraction", {}) for b in BACKENDS})
ax.set(xlabel="pruned fraction", ylabel="accuracy", title="associative recall under pruning")
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
fig, ax = plt.subplots(figsize=(4.5, 3.2))
if "continual_learning" in tasks:
    x = np.arange(len(keys))
    for k, backend in enumerate(BACKENDS):
        e = tasks["continual_learning"][backend]
        ax.bar(x + 0.4 * (k - 0.5), [e.get(key, np.nan) for key in keys], 0.4,
               yerr=[e.get(f"{key}_std", 0) for key in keys], capsize=3, color=COLORS[backend],
               label=f"{backend} (retention {e.get('retention_a', float('nan')):.2f})")
    ax.set_xticks(x, ["A after A", "A after B", "B after B"])
ax.set(ylabel="accuracy", ylim=(0, 1.05), title="continual learning")
ax.legend(fontsize=8)
plt.show()""",
    ),
    (
        "md",
        """## Cost: parameters, operations, energy and time

Log axes, because the two learners differ by orders of magnitude. `parameters`: plastic synapses (snn) or
weights and biases (lstm), matched by construction. `ops`: synaptic events (snn) or multiply-accumulates
(lstm, forward and backward passes, all epochs). `energy`: ops × a cited energy per operation (Loihi's
23.6 pJ per synaptic event, Davies et al. 2018; 4.6 pJ per 32-bit MAC, Horowitz 2014), an estimate for
neuromorphic vs conventional hardware. Wall time is the simulation or training time of the run.""",
    ),
    (
        "code",
        """costs = [("parameters", "parameters"), ("ops", "operations"), ("energy_j", "energy (J)"),
         ("train_wall_s", "training wall time (s)")]
fig, axes = plt.subplots(2, 2, figsize=(10, 6.4))
for ax, (field, label) in zip(axes.flat, costs, strict=True):
    grouped_bars(ax, names, {b: [max(tasks[n][b][field], 1e-12) for n in names] for b in BACKENDS}, log=True)
    ax.set_title(label)
fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", ncol=2)
fig.tight_layout(rect=(0, 0, 1, 0.94))
plt.show()""",
    ),
    (
        "md",
        """## What next

- `results.json` holds the per-seed records (`tasks.TASK.BACKEND.per_seed`) and every learner's
  hyperparameters; `config` is the resolved configuration of the run.
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
