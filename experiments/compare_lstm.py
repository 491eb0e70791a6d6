"""Recall tasks on the spiking network and on an LSTM: the same trials, the same metrics, side by side.

Every task of :mod:`neurosim.tasks` (associative recall, paired association, store-recall, sequence recall,
continual learning) runs on both backends with identical trials and seeds:

* ``snn``: :class:`~neurosim.learners.spiking.SpikingLearner`, a 3D E/I network that learns only through
  plasticity and reward (Hebbian imprinting of recurrent synapses; a readout trained by reward-modulated
  plasticity through the frontal controller), one pass over the training trials;
* ``lstm``: :class:`~neurosim.learners.lstm.LSTMLearner` (``torch.nn.LSTM`` + linear readout, BPTT with Adam,
  ``lstm_epochs`` passes over the same trials), sized so that its weights match the spiking network's plastic
  synapses (:func:`~neurosim.learners.lstm.hidden_size_for_parameters`).

One unit of work is one task × seed (both backends); extra units sweep the number of stored patterns
(load). Units are independent: each is stored in the results directory as it finishes, they run in
``workers`` local processes or, with ``--scheduler ADDRESS``, on a Dask cluster, and ``--resume`` runs only
the missing ones. This script defines the comparison (its config, its tasks and learners) and runs the units;
:mod:`neurosim.comparison` reports them: ``results.json`` (``{"tasks": {TASK: {BACKEND: {...}}}, "config",
"seeds"}``: means over seeds, with ``*_std`` spreads and the per-seed records), ``results.md`` and the
figures ``accuracy_vs_delay``, ``accuracy_vs_load``, ``accuracy_vs_pruning``, ``accuracy_vs_training`` and
``retention``.

The targets are checked in ``results.md``: associative recall ≥ 90% with ≥ 10 patterns from 50% cues,
store-recall ≥ 90% at delays up to 1.2 s (snn) and ≥ 95% (lstm), retention of A better on the snn.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurosim.cluster import Unit  # noqa: E402
from neurosim.comparison import TASKS, write_report  # noqa: E402
from neurosim.experiment import Experiment, RunContext  # noqa: E402
from neurosim.learners.base import run_task  # noqa: E402
from neurosim.tasks import (  # noqa: E402
    AssociativeRecall,
    ContinualAssociative,
    PairedAssociation,
    SequenceRecall,
    StoreRecall,
    Task,
)
from neurosim.validation import check_choice, check_number, fail  # noqa: E402


@dataclass(frozen=True)
class Config:
    """Sizes of every task, the learners' settings and the sweeps; ``QUICK`` and ``TINY`` are presets."""

    seeds: tuple[int, ...] = (0, 1, 2)  # task and learner seeds (mean and spread over them)
    coding_level: float = 0.1  # fraction of active units in every pattern task's patterns
    tasks: tuple[str, ...] = TASKS  # which tasks to run
    # associative recall (target: >= 90% with >= 10 patterns from 50% cues)
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

    #: ``--quick``: every task on both backends, two seeds, small sizes; a run of minutes, not hours.
    QUICK: ClassVar[Mapping[str, Any]] = MappingProxyType(
        {
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
    )
    #: The smallest sizes: every task on both backends, a trial or two each; they exercise every code path
    #: and output file (the test and the notebook's fallback run use them), not the science.
    TINY: ClassVar[Mapping[str, Any]] = MappingProxyType(
        {
            "seeds": (0,),
            "assoc_patterns": 2,
            "assoc_units": 10,
            "coding_level": 0.2,
            "assoc_train": 2,
            "assoc_test": 1,
            "load_patterns": (2,),
            "prune_fractions": (0.0, 0.5),
            "prune_test": 1,
            "paired_pairs": 2,
            "paired_units": 10,
            "paired_train": 2,
            "paired_test": 1,
            "sr_max_delay": 1,
            "sr_train": 2,
            "sr_test": 1,
            "delays": (0, 1),
            "delay_test": 1,
            "seq_length": 2,
            "seq_units": 10,
            "seq_train": 1,
            "seq_test": 1,
            "cont_patterns": 1,
            "cont_units": 10,
            "cont_train": 1,
            "cont_test": 1,
            "lstm_epochs": 1,
            "workers": 1,
        }
    )

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


def _run_units(
    ctx: RunContext, key: str, units: list[dict[str, Any]], config: Config
) -> list[dict[str, Any]]:
    """The results of ``units`` in order, each stored in the results directory as it finishes
    (:meth:`~neurosim.experiment.RunContext.map_units`): ``workers`` forked processes, or the Dask cluster
    of ``--scheduler``. Every unit derives its randomness from its own seed, so the results do not depend
    on where or in how many processes the units ran."""
    calls = [Unit(_unit_key(u), run_unit, (u, config)) for u in units]
    return ctx.map_units(key, calls, processes=config.workers)


def _unit_key(unit: dict[str, Any]) -> str:
    """``associative_recall-seed0``; a load unit adds its number of patterns: ``...-load5-seed0``."""
    load = f"-load{unit['overrides']['n_patterns']}" if unit.get("kind") == "load" else ""
    return f"{unit['task']}{load}-seed{unit['seed']}"


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
    return write_report(ctx, config, results, load_results, time.perf_counter() - start)


EXPERIMENT = Experiment(
    name="compare_lstm",
    description="Recall tasks on the spiking network and an LSTM, side by side",
    config_type=Config,
    run=run,
    quick_overrides=Config.QUICK,
    has_units=True,
)

if __name__ == "__main__":
    sys.exit(EXPERIMENT.main())
