"""Recall tasks on the spiking network and on LSTM, GRU and Transformer networks: the same trials, the same
metrics, side by side, with confidence intervals and a verdict per task.

Every task of :mod:`neurosim.tasks` (associative recall, paired association, store-recall, sequence recall,
continual learning, novelty recall) runs on every learner with identical trials and seeds:

* ``snn``: :class:`~neurosim.learners.spiking.SpikingLearner`, a 3D E/I network that learns only through
  plasticity and reward (Hebbian imprinting of recurrent synapses; a readout trained by reward-modulated
  plasticity through the frontal controller), one pass over the training trials; on novelty recall, whose
  episodes are stored one by one, :class:`~neurosim.learners.episodic.EpisodicMemory` with bottom-up
  salience (``snn``) and without it (``snn_no_salience``);
* ``lstm``, ``gru``, ``transformer``: :mod:`neurosim.learners` (``torch.nn.LSTM``, ``torch.nn.GRU`` or a
  small causal Transformer, each with a linear readout; Adam, ``epochs`` passes over the same trials),
  sized so that their weights and biases match the spiking network's synapses, plastic and fixed together.

Test sets are drawn until every task and seed has at least ``test_answers`` scored answers (200 by
default, quick runs included), and the test cues of the pattern tasks are partial or noisy, so that test
trials are not copies of training trials (the report counts those that are).

Continual learning shares ``cont_overlap`` of each B pattern's active units with an A pattern, so that
learning B rewrites what those units stand for and forgetting A is a real risk. The frontal controller's
ablation (``ablation``, on by default, off in ``--quick``) adds variants of the spiking learner with the
controller's parts switched (:mod:`neurosim.comparison.ablation`: full controller, no pruning, no
consolidation, consolidation only), each on the tasks where its parts can matter, with the same trials,
seeds and statistics and a paired verdict against ``snn``.

One unit of work is one task × seed (every learner); extra units sweep the number of stored patterns
(load). Units are independent: each is stored in the results directory as it finishes, they run in
``workers`` local processes or, with ``--scheduler ADDRESS``, on a Dask cluster, and ``--resume`` runs only
the missing ones. This script defines the comparison (its config, its tasks and learners) and runs the units;
:mod:`neurosim.comparison` reports them: ``results.json``, ``results.md`` (opening with a verdict per task),
the figures, and the table and verdicts printed at the end of the run.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurosim.cluster import Unit, reporter  # noqa: E402
from neurosim.comparison import LEARNERS, TASKS, console, write_report  # noqa: E402
from neurosim.comparison.ablation import ablation_units, variants  # noqa: E402
from neurosim.comparison.learners import costs, make_learners, spiking_variant  # noqa: E402
from neurosim.comparison.sweeps import delay_sweep, pruning_sweep  # noqa: E402
from neurosim.experiment import Experiment, RunContext  # noqa: E402
from neurosim.learners.base import run_task  # noqa: E402
from neurosim.tasks import (  # noqa: E402
    AssociativeRecall,
    ContinualAssociative,
    NoveltyRecall,
    PairedAssociation,
    SequenceRecall,
    StoreRecall,
    Task,
)
from neurosim.validation import check_choice, check_number, fail  # noqa: E402


@dataclass(frozen=True)
class Config:
    """Sizes of every task, the learners' settings and the sweeps; ``QUICK`` and ``TINY`` are presets."""

    seeds: tuple[int, ...] = (0, 1, 2)  # task and learner seeds (means and 95% intervals over them)
    learners: tuple[str, ...] = LEARNERS  # which learners to run (the snn is built in any case, for sizing)
    tasks: tuple[str, ...] = TASKS  # which tasks to run
    test_answers: int = (
        200  # scored test answers per task and seed, at least: test trials drawn until reached
    )
    coding_level: float = 0.1  # fraction of active units in every pattern task's patterns
    # associative recall (target: >= 90% with >= 10 patterns from 50% cues)
    assoc_patterns: int = 10  # P stored patterns
    assoc_units: int = 100  # N units per pattern (input channels)
    assoc_cue: float = 0.5  # cue fraction c at test
    assoc_train: int = 400  # training trials (full patterns); trial and error over 10 classes: 40 per pattern
    load_patterns: tuple[int, ...] = (5, 10, 20)  # accuracy vs load: numbers of stored patterns
    load_seeds: int = 1  # seeds used for the load sweep (the first ones of ``seeds``)
    prune_fractions: tuple[float, ...] = (0.0, 0.5, 0.75, 0.9, 0.95)  # accuracy vs pruned fraction (assoc)
    prune_test: int = 20  # test trials per pruned fraction
    # paired association: test cues are partial and noisy (cue 1 and noise 0: pure memorisation)
    paired_pairs: int = 8
    paired_units: int = 50
    paired_cue: float = 0.6  # fraction of a cue's active units kept in test trials
    paired_noise: float = 0.02  # flip probability of each unit of a test cue
    paired_train: int = 320  # trial and error over 8 classes: 40 per pair
    # store-recall (Bellec et al. 2018); value_with_store: the LSNN-official variant (value shown with STORE)
    sr_max_delay: int = 6  # delays 0 .. max (6 steps × 200 ms = 1.2 s)
    sr_p_store: float = 0.5  # STORE probability per waiting step (Bellec et al.: 1/7; higher: shorter trials)
    sr_value_with_store: bool = True
    sr_train: int = 80
    delays: tuple[int, ...] = (0, 2, 4, 6)  # accuracy vs delay: fixed delays tested after training
    delay_test: int = 16  # test trials per fixed delay
    # sequence recall: sequences share items, so the cue (its first item) decides every later answer
    seq_length: int = 4
    seq_units: int = 50
    seq_sequences: int = 4
    seq_items: int = 9  # vocabulary shared by the sequences (0: items of their own, no sharing)
    seq_cue: float = 0.6  # fraction of the first item's active units kept in a test cue
    seq_train: int = 80
    # continual learning: A then B, B's patterns sharing part of their units with A's (so B interferes)
    cont_patterns: int = 5  # patterns per set
    cont_units: int = 100
    cont_train: int = 120  # training trials per set (trial and error: 24 per pattern)
    cont_overlap: float = 0.3  # fraction of each B pattern's active units shared with an A pattern
    # novelty recall: familiar items repeated, novel ones shown once, each with a tag recalled at a cue
    novelty_items: int = 12  # item channels
    novelty_tags: int = 4  # tags (answer classes)
    novelty_familiar: int = 3  # familiar items per episode
    novelty_repeats: int = 4  # presentations of each familiar item
    novelty_novel: int = 2  # novel items per episode (shown once)
    novelty_train: int = 1000  # training episodes (conventional learners; the snn stores each test episode)
    # conventional learners (BPTT with Adam, the same trials): LSTM, GRU, Transformer
    epochs: int = 40  # passes over the training trials
    batch_size: int = 16
    lstm_lr: float = 1e-2
    gru_lr: float = 1e-2
    transformer_lr: float = 3e-3  # attention trains less reliably at the recurrent learners' 1e-2
    snn_assembly: int = 20  # neurons per stored item in the spiking memory (SpikingLearner.for_task)
    snn_target: str = "auto"  # Brian2 target of the spiking learner (auto: cython where a compiler works)
    workers: int = 2  # processes running task × seed units in parallel (results identical to workers=1)
    ablation: bool = True  # the frontal controller's ablation: snn variants (neurosim.comparison.ablation)

    #: ``--quick``: every task on every learner, three seeds, 200 test answers each, small sizes.
    QUICK: ClassVar[Mapping[str, Any]] = MappingProxyType(
        {
            "assoc_patterns": 5,
            "assoc_units": 50,
            "coding_level": 0.2,
            "assoc_train": 24,
            "load_patterns": (3, 5),
            "prune_fractions": (0.0, 0.9),
            "prune_test": 4,
            "paired_pairs": 4,
            "paired_units": 30,
            "paired_train": 16,
            "sr_max_delay": 2,
            "sr_train": 8,
            "delays": (0, 2),
            "delay_test": 3,
            "seq_length": 3,
            "seq_units": 30,
            "seq_sequences": 3,
            "seq_items": 5,
            "seq_train": 12,
            "cont_patterns": 2,
            "cont_units": 40,
            "cont_train": 8,
            "novelty_familiar": 2,  # 13 steps an episode instead of 19: the spiking side costs its length
            "novelty_repeats": 3,
            "novelty_train": 64,
            "epochs": 60,
            "workers": 2,
            "ablation": False,  # the variants cost more than the rest of a quick run: results.md says so
        }
    )
    #: The smallest sizes: every task on every learner, a trial or two each; they exercise every code path
    #: and output file (the test and the notebook's fallback run use them), not the science.
    TINY: ClassVar[Mapping[str, Any]] = MappingProxyType(
        {
            "seeds": (0,),
            "test_answers": 2,
            "assoc_patterns": 2,
            "assoc_units": 10,
            "coding_level": 0.2,
            "assoc_train": 2,
            "load_patterns": (2,),
            "prune_fractions": (0.0, 0.5),
            "prune_test": 1,
            "paired_pairs": 2,
            "paired_units": 10,
            "paired_train": 2,
            "sr_max_delay": 1,
            "sr_train": 2,
            "delays": (0, 1),
            "delay_test": 1,
            "seq_length": 2,
            "seq_units": 10,
            "seq_sequences": 2,
            "seq_items": 3,
            "seq_train": 2,
            "cont_patterns": 1,
            "cont_units": 10,
            "cont_train": 1,
            "novelty_items": 4,
            "novelty_tags": 2,
            "novelty_familiar": 1,
            "novelty_repeats": 2,
            "novelty_novel": 1,
            "novelty_train": 2,
            "epochs": 1,
            "workers": 1,
        }
    )

    def __post_init__(self) -> None:
        """Every value checked before any work: counts >= 1, fractions in their ranges, no negative or
        infinite numbers, sweeps inside what the tasks allow."""
        owner = "compare_lstm"
        for name, choices in (("seeds", None), ("learners", LEARNERS), ("tasks", TASKS)):
            values = getattr(self, name)
            if not values:
                fail(owner, name, values, "expected at least one")
            if len(set(values)) != len(values):
                fail(owner, name, values, "expected no repeats")
            for v in values:
                if choices is None:
                    check_number(owner, name, v, low=0, integer=True)
                else:
                    check_choice(owner, name, v, choices)
        for name in COUNTS:
            check_number(owner, name, getattr(self, name), low=1, integer=True)
        for name in ("assoc_patterns", "paired_pairs", "cont_patterns", "seq_sequences", *NOVELTY):
            check_number(owner, name, getattr(self, name), low=1, integer=True)
        for name in ("assoc_units", "paired_units", "seq_units", "cont_units"):
            check_number(owner, name, getattr(self, name), low=2, integer=True)
        check_number(owner, "seq_length", self.seq_length, low=2, integer=True)
        check_number(owner, "seq_items", self.seq_items, low=0, integer=True)
        check_number(owner, "coding_level", self.coding_level, low=0.0, high=0.5, low_open=True)
        for name in ("assoc_cue", "paired_cue", "seq_cue", "sr_p_store"):
            check_number(owner, name, getattr(self, name), low=0.0, high=1.0, low_open=True)
        check_number(owner, "paired_noise", self.paired_noise, low=0.0, high=0.5, high_open=True)
        for name in ("lstm_lr", "gru_lr", "transformer_lr"):
            check_number(owner, name, getattr(self, name), low=0.0, high=10.0, low_open=True)
        for name in ("sr_value_with_store", "ablation"):
            if not isinstance(getattr(self, name), bool):
                fail(owner, name, getattr(self, name), "expected true or false")
        for p in self.load_patterns:
            check_number(owner, "load_patterns", p, low=1, integer=True)
        for f in self.prune_fractions:
            check_number(owner, "prune_fractions", f, low=0, high=1)
        if (
            isinstance(self.sr_max_delay, bool)
            or not isinstance(self.sr_max_delay, int)
            or self.sr_max_delay < 0
        ):
            fail(
                owner,
                "sr_max_delay",
                self.sr_max_delay,
                "an integer >= 0: store-recall trains on delays 0 .. sr_max_delay steps of 200 ms, and every "
                f"one of the tested delays {list(self.delays)} must lie in that range",
            )
        for d in self.delays:
            allowed = f"delays are counted in steps, 0 .. sr_max_delay = {self.sr_max_delay}"
            if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= self.sr_max_delay:
                fail(owner, "delays", self.delays, allowed)
        check_choice(owner, "snn_target", self.snn_target, ("auto", "numpy", "cython"))
        for name in self.tasks:  # the tasks check their own knobs (pattern counts, codes that exist)
            make_task(name, self)
        if "associative_recall" in self.tasks:
            for n in self.load_patterns:
                make_task("associative_recall", self, n_patterns=n)


#: Config keys that count something (trials, passes, neurons, processes): integers >= 1.
COUNTS = (
    "test_answers",
    "assoc_train",
    "paired_train",
    "sr_train",
    "seq_train",
    "cont_train",
    "novelty_train",
    "prune_test",
    "delay_test",
    "epochs",
    "batch_size",
    "snn_assembly",
    "load_seeds",
    "workers",
)


#: Config keys of the novelty-recall task's sizes (integers >= 1; the task checks how they fit together).
NOVELTY = ("novelty_items", "novelty_tags", "novelty_familiar", "novelty_repeats", "novelty_novel")


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
        knobs = dict(
            n_pairs=c.paired_pairs,
            n_units=c.paired_units,
            coding_level=c.coding_level,
            cue_fraction=c.paired_cue,
            noise=c.paired_noise,
        )
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
            length=c.seq_length,
            n_units=c.seq_units,
            n_sequences=c.seq_sequences,
            n_items=c.seq_items,
            cue_fraction=c.seq_cue,
            coding_level=c.coding_level,
        )
        return SequenceRecall(**{**knobs, **overrides})
    if name == "continual_learning":
        knobs = dict(
            n_patterns_per_set=c.cont_patterns,
            n_units=c.cont_units,
            cue_fraction=c.assoc_cue,
            coding_level=c.coding_level,
            overlap=c.cont_overlap,
        )
        return ContinualAssociative(**{**knobs, **overrides})
    if name == "novelty_recall":
        knobs = dict(
            n_items=c.novelty_items,
            n_tags=c.novelty_tags,
            n_familiar=c.novelty_familiar,
            repeats=c.novelty_repeats,
            n_novel=c.novelty_novel,
        )
        return NoveltyRecall(**{**knobs, **overrides})
    fail("compare_lstm", "task", name, f"allowed: {TASKS}")
    raise AssertionError  # pragma: no cover


def n_train_trials(name: str, config: Config) -> int:
    """Training trials of a task (per set, for continual learning)."""
    prefix = {
        "associative_recall": "assoc",
        "paired_association": "paired",
        "store_recall": "sr",
        "sequence_recall": "seq",
        "continual_learning": "cont",
        "novelty_recall": "novelty",
    }[name]
    return int(getattr(config, f"{prefix}_train"))


def n_test_trials(task: Task, answers: int, seed: int) -> int:
    """The fewest test trials of ``task`` and ``seed`` whose scored steps number at least ``answers`` (per
    set, for continual learning: its sets are tested alike). Trials are drawn exactly as the run draws them,
    so the count is the run's own."""
    split = "test_a" if isinstance(task, ContinualAssociative) else "test"
    n = max(1, answers // max(1, int(task.trials(1, seed, split)[0].scored.sum())))
    while True:
        due = sum(int(t.scored.sum()) for t in task.trials(n, seed, split))
        if due >= answers:
            return n
        n = max(n + 1, -(-n * answers // max(due, 1)))


def run_unit(unit: dict[str, Any], config: Config) -> dict[str, Any]:
    """One task × seed on every learner (an ablation unit: on its variant of the spiking learner only): the
    record, sizes and energy, the learning curve, and the task's sweeps (store-recall vs delay, associative
    recall vs pruned fraction)."""
    name, seed = unit["task"], int(unit["seed"])
    task = make_task(name, config, **unit.get("overrides", {}))
    n_train = n_train_trials(name, config)
    n_test = n_test_trials(task, config.test_answers, seed)
    if "n_patterns" in unit.get("overrides", {}):  # the same training per pattern at every load
        n_train = max(1, round(n_train * unit["overrides"]["n_patterns"] / config.assoc_patterns))
    out: dict[str, Any] = {"task": name, "seed": seed, "overrides": unit.get("overrides", {})}
    if name == "novelty_recall":  # which test answers were about novel items, in the order of test_correct
        out["test_novel"] = [bool(x) for t in task.trials(n_test, seed, "test") for x in t.metadata["novel"]]
    if name == "continual_learning":  # which final test answers are about set A (A's trials come first)
        final = task.trials(n_test, seed, "test_a") + task.trials(n_test, seed, "test_b")
        out["test_set_a"] = [t.metadata["set"] == "a" for t in final for _ in range(int(t.scored.sum()))]
    if unit.get("kind") == "ablation":
        variant = variants()[unit["variant"]]
        n_train *= variant.train_factor
        out.update(kind="ablation", variant=variant.name)
        learners = {variant.name: spiking_variant(task, config, seed, variant.params)}
    else:
        learners = make_learners(task, config, seed, episodes=n_test)
    for backend, learner in learners.items():
        if hasattr(learner, "progress"):  # spiking learners report by trial: bars with an ETA in the parent
            learner.progress = reporter(backend)
        record = run_task(learner, task, n_train, n_test, seed)
        res: dict[str, Any] = {
            "record": record.to_dict(),
            "costs": costs(learner, record),
            "curve": [float(s) for s in learner.train_scores],
            "pruned_in_training": float(getattr(learner, "pruned_fraction", 0.0)),
        }
        if unit.get("kind") == "load":
            out[backend] = res
            continue
        if name == "store_recall":
            fixed = {d: make_task(name, config, min_delay=d, max_delay=d) for d in config.delays}
            res["delays"] = delay_sweep(
                learner, {d: t.trials(config.delay_test, seed, "test") for d, t in fixed.items()}
            )
        if name == "associative_recall":
            probe = task.trials(config.prune_test, seed + 1000, "test")
            res.update(pruning_sweep(learner, probe, config.prune_fractions))
        out[backend] = res
    return out


#: One task of each spiking network the comparison builds: the pattern tasks' and store-recall's, which has
#: a write gate (the episodic memory of novelty recall runs on numpy and compiles nothing).
DISTINCT_NETWORKS = ("associative_recall", "store_recall")


def _run_units(
    ctx: RunContext, key: str, units: list[dict[str, Any]], config: Config
) -> list[dict[str, Any]]:
    """The results of ``units`` in order, each stored in the results directory as it finishes
    (:meth:`~neurosim.experiment.RunContext.map_units`): ``workers`` forked processes, or the Dask cluster
    of ``--scheduler``. Every unit derives its randomness from its own seed, so the results do not depend
    on where or in how many processes the units ran. They start in rounds, one unit of every task each
    (their order within a task kept), a round with the tasks of :data:`DISTINCT_NETWORKS` first: with a
    cold compile cache the workers compile the two spiking networks at once, then one compiles while the
    other runs units whose network is compiled."""
    earlier: Counter[str] = Counter()
    rounds = []
    for u in units:  # the round of a unit: how many units of its task come before it
        rounds.append(earlier[u["task"]])
        earlier[u["task"]] += 1
    order = sorted(range(len(units)), key=lambda k: (rounds[k], units[k]["task"] not in DISTINCT_NETWORKS, k))
    calls = [Unit(_unit_key(units[k]), run_unit, (units[k], config)) for k in order]
    by_unit = dict(zip(order, ctx.map_units(key, calls, processes=config.workers), strict=True))
    return [by_unit[k] for k in range(len(units))]


def _unit_key(unit: dict[str, Any]) -> str:
    """``associative_recall-seed0``; a load unit adds its number of patterns (``...-load5-seed0``), an
    ablation unit its variant (``...-snn_full-seed0``)."""
    load = f"-load{unit['overrides']['n_patterns']}" if unit.get("kind") == "load" else ""
    variant = f"-{unit['variant']}" if unit.get("kind") == "ablation" else ""
    return f"{unit['task']}{load}{variant}-seed{unit['seed']}"


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
    extra = ablation_units(config)
    everything = _run_units(ctx, "units", units + load_units + extra, config)
    results = everything[: len(units)]
    load_results = everything[len(units) : len(units) + len(load_units)]
    ablation = everything[len(units) + len(load_units) :]
    if "associative_recall" in config.tasks and config.assoc_patterns in config.load_patterns:
        load_results += [
            {**r, "overrides": {"n_patterns": config.assoc_patterns}}
            for r in results
            if r["task"] == "associative_recall" and r["seed"] in config.seeds[: config.load_seeds]
        ]
    return write_report(ctx, config, results, load_results, time.perf_counter() - start, ablation)


EXPERIMENT = Experiment(
    name="compare_lstm",
    description="Recall tasks on the spiking network and on LSTM, GRU and Transformer networks, side by side",
    config_type=Config,
    run=run,
    quick_overrides=Config.QUICK,
    has_units=True,
    console=console,
)

if __name__ == "__main__":
    sys.exit(EXPERIMENT.main())
