"""Spiking learner speed: wall time per training and test trial, trial by trial versus blocks of trials.

The spiking learner of the memory comparison (:class:`~neurosim.learners.spiking.SpikingLearner`, sized as
``SpikingLearner.for_task`` sizes it at the comparison's default config) on associative recall and
store-recall, seed 0, run two ways on the same trials:

* ``trial`` (the Python-controller path): ``blocks=False``, numpy target: one ``sim.run`` per answer window;
* ``block`` (the default path): ``blocks=True``, compiled target: a block of trials in one ``sim.run``, test
  trials side by side on copies of the network (:mod:`~neurosim.learners.spiking.side_by_side`);
* ``block_one_by_one``: as ``block`` with test trials one after another (``test_copies=1``);
* ``block_numpy``: blocks on the numpy target (where no compiler works);
* ``compiled``: as ``block``, with training compiled whole on the cpp_standalone device
  (``compiled_training``; :mod:`~neurosim.learners.spiking.compiled`): one run per training call, the
  controller's judgement in generated code.

For each: seconds per training trial and per test trial, wall and CPU time of the process and its children
(on a shared machine the CPU time is the wall time a quiet one would show; the compiled model is warmed up
first, so a one-time compile is not counted: it is cached per model, and for compiled training per model
and seed), test accuracy over the scored answers with its Wilson interval, and the exact McNemar test
between the two paths on the same test trials.

Run: ``python -m neurosim_benchmark.learner [--tasks associative_recall store_recall] [--n-test 100]
[--paths trial block] [--out FILE.json]``; with ``PYTHONPATH`` set to an older checkout of neurosim, the
``trial`` path measures that version's learner. The figures go to ``docs/results/learner_speed/``.
"""

from __future__ import annotations

import argparse
import inspect
import os
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from neurosim.io import atomic_write_json
from neurosim.learners.spiking import SpikingLearner, SpikingParams
from neurosim.metrics import correct_and_due
from neurosim.statistics import mcnemar_exact, proportion_ci
from neurosim.tasks import AssociativeRecall, StoreRecall, Task

#: The comparison's full default config (experiments/compare_lstm.py's ``Config``) for the two tasks.
TASKS: dict[str, tuple[Task, int]] = {
    "associative_recall": (
        AssociativeRecall(n_patterns=10, n_units=100, coding_level=0.1, cue_fraction=0.5),
        400,
    ),
    "store_recall": (StoreRecall(min_delay=0, max_delay=6, p_store=0.5, value_with_store=True), 80),
}
#: path name -> (blocks, target, test_copies: 0 = the learner picks, 1 = one after another, compiled training)
PATHS = {
    "trial": (False, "numpy", 1, False),
    "block": (True, "cython", 0, False),
    "block_one_by_one": (True, "cython", 1, False),
    "block_numpy": (True, "numpy", 0, False),
    "compiled": (True, "cython", 0, True),
}


def measure(
    task_name: str, path: str, n_test: int, seed: int = 0, n_train: int | None = None
) -> dict[str, Any]:
    """Train and test one learner on one task along one path; seconds per trial and test answers."""
    task, default_train = TASKS[task_name]
    n_train = default_train if n_train is None else n_train
    blocks, target, copies, compiled = PATHS[path]
    # a checkout from before blocks (PYTHONPATH) runs trial by trial: its ``trial`` path is the old one
    has_blocks = "blocks" in inspect.signature(SpikingLearner.__init__).parameters
    kwargs = {"target": target, **({"blocks": blocks} if has_blocks else {})}
    known = {f.name for f in fields(SpikingParams)}
    if "test_copies" in known:
        kwargs["params"] = SpikingParams(
            test_copies=copies, **({"compiled_training": True} if compiled else {})
        )
    train, test = task.trials(n_train, seed, "train"), task.trials(n_test, seed, "test")
    if target != "numpy":  # compile (or load from the cache) before timing
        warm = SpikingLearner.for_task(task, assembly_size=20, seed=seed, **kwargs)
        # compiled training: the same block as timed (its schedules' sizes are part of the compiled code)
        warm.train(train if compiled else train[:2])
        warm.evaluate(test[:1])
    learner = SpikingLearner.for_task(task, assembly_size=20, seed=seed, **kwargs)
    cpu = _cpu()
    log = learner.train(train)
    cpu_train = _cpu() - cpu
    evaluation = learner.evaluate(test)
    cpu_test = _cpu() - cpu - cpu_train
    correct = [correct_and_due(t, p) for t, p in zip(test, evaluation.predictions, strict=True)]
    right = int(sum(c for c, _ in correct))
    due = int(sum(d for _, d in correct))
    ci = proportion_ci(right, due)
    return {
        "task": task_name,
        "path": path,
        "blocks": blocks,
        "target": target,
        "test_copies": copies,
        "seed": seed,
        "n_train": n_train,
        "n_test": n_test,
        "train_s_per_trial": log.wall_s / n_train,
        "test_s_per_trial": evaluation.wall_s / n_test,
        # CPU seconds of this process and its children: the wall time a quiet machine would show
        "train_cpu_s_per_trial": cpu_train / n_train,
        "test_cpu_s_per_trial": cpu_test / n_test,
        "train_score": float(np.nanmean(log.scores)),
        "accuracy": ci.estimate,
        "accuracy_ci": [ci.low, ci.high],
        "answers": due,
        "right": [
            int(c) for t, p in zip(test, evaluation.predictions, strict=True) for c in _per_answer(t, p)
        ],
    }


def _cpu() -> float:
    """CPU seconds of this process and its children (a cpp_standalone run is a child process)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _per_answer(trial: Any, prediction: np.ndarray) -> list[bool]:
    steps = trial.reward_steps
    return [bool(prediction[k] == trial.targets[k]) for k in steps]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--paths", nargs="+", default=["trial", "block"], choices=list(PATHS))
    parser.add_argument("--n-test", type=int, default=100)
    parser.add_argument("--n-train", type=int, default=None, help="default: the comparison's")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load": os.getloadavg(),
        "cpus": os.cpu_count(),
        "runs": [],
    }
    for task_name in args.tasks:
        runs = {}
        for path in args.paths:
            runs[path] = measure(task_name, path, args.n_test, n_train=args.n_train)
            r = runs[path]
            print(
                f"{task_name:20s} {path:6s} train {r['train_s_per_trial']:.3f} s/trial  "
                f"test {r['test_s_per_trial']:.3f} s/trial  (CPU {r['train_cpu_s_per_trial']:.3f} / "
                f"{r['test_cpu_s_per_trial']:.3f})  accuracy {r['accuracy']:.3f} "
                f"[{r['accuracy_ci'][0]:.3f}, {r['accuracy_ci'][1]:.3f}] of {r['answers']}",
                flush=True,
            )
            results["runs"].append(r)
        if {"trial", "block"} <= set(runs):
            cmp = mcnemar_exact(runs["block"]["right"], runs["trial"]["right"], names=("block", "trial"))
            results.setdefault("comparisons", {})[task_name] = cmp.verdict
            print(f"{task_name:20s} {cmp.verdict}", flush=True)
        if args.out is not None:
            atomic_write_json(args.out, results)
    return results


if __name__ == "__main__":
    main()
