"""Memory tasks, defined once in numpy and run unchanged on every learner (spiking network, LSTM, ...).

A task is a frozen description (its knobs, validated when it is written) that generates *trials* for a seed.
Generation is plain numpy with ``np.random.default_rng``: the same task, ``n``, ``seed`` and ``split`` give
the same trials on every machine and for every backend. Nothing here depends on Brian2 or torch, except that
``step_duration`` is a Brian2 quantity for the spiking side.

Trial format
------------
A trial is a sequence of discrete *steps*, each lasting ``task.step_duration`` (200 ms by default, the symbol
duration of Bellec et al. 2018). At each step the learner is shown one input vector and may owe one answer:

``inputs``          float (steps, n_inputs), values in [0, 1]; 0 = channel silent. Rate coding turns
                    value x of channel c into Poisson firing of input group c at
                    ``rate_min + x (rate_max - rate_min)`` for that step
                    (:class:`neurosim.encoding.PoissonEncoder`).
``targets``         int (steps,): the class (``0 .. n_outputs-1``) due at each step; ``-1`` = no answer due.
                    Steps with a target are the *scored* steps and the steps at which reward is due
                    (``reward_steps``): reward for a correct answer, none (or punishment) otherwise.
``phase``           one label per step ("store", "value", "delay", "cue", "recall", ...).
``target_patterns`` pattern tasks only, float (steps, n_units): the stored pattern that should be active at
                    each scored step (zeros elsewhere). Used to measure overlap, and available to a spiking
                    learner as a teacher signal; ``None`` for tasks whose answers are plain classes.
``metadata``        task facts about the trial (pattern index, cue overlap, delays, split, ...).

A learner answers with ``predictions``: int (steps,), its decided class at each step, ``-1`` for no decision.
Only scored steps count (:meth:`Task.score`, :func:`neurosim.metrics.accuracy`).

How a spiking learner consumes a trial: for step k, encode ``inputs[k]`` into spikes of its input groups
(``neurosim.encoding``: channel c → neurons ``c*g .. c*g+g-1``, spikes within ``[k, k+1) * step_duration``);
simulate; count the spikes of its ``n_outputs`` readout groups during each scored step and decide with
:class:`neurosim.encoding.SpikeCountDecoder`; deliver reward when the decision equals ``targets[k]``.

Splits: ``task.trials(n, seed, split)``. Most tasks have ``"train"`` (full patterns: what is learned) and
``"test"`` (degraded cues: what is probed). The trial generator is seeded with ``(seed, index of split)``,
so a train and a test set drawn with the same seed are independent. Stored patterns are the task's own
world and are drawn from ``pattern_seed``, a task knob, so train and test trials share them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
from brian2 import Quantity, ms

from .metrics import overlap as pattern_overlap
from .metrics import score_trial
from .serialization import Describable
from .validation import check_choice, check_number, check_quantity, fail

#: Phase labels used by the built-in tasks.
PHASES = ("wait", "store", "value", "delay", "cue", "recall", "choice")


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Trial:
    """One trial: what the learner is shown at each step and what it owes (see the module docstring)."""

    inputs: np.ndarray  # float (steps, n_inputs) in [0, 1]: the vector shown at each step
    targets: np.ndarray  # int (steps,): class due at each step; -1 = no answer due (not scored)
    phase: tuple[str, ...]  # one label per step
    target_patterns: np.ndarray | None = None  # float (steps, n_units): pattern due at scored steps
    metadata: Mapping[str, Any] = field(default_factory=dict)  # task facts (pattern, delays, split, ...)

    def __post_init__(self) -> None:
        inputs = np.asarray(self.inputs, dtype=float)
        targets = np.asarray(self.targets)
        if inputs.ndim != 2:
            fail("Trial", "inputs", inputs.shape, "expected a 2-D array (steps, n_inputs)")
        if not np.all(np.isfinite(inputs)) or inputs.min(initial=0) < 0 or inputs.max(initial=0) > 1:
            fail("Trial", "inputs", "array", "values must be finite and lie in [0, 1]")
        if targets.shape != (inputs.shape[0],) or not np.issubdtype(targets.dtype, np.integer):
            fail("Trial", "targets", targets.shape, f"expected integers of shape ({inputs.shape[0]},)")
        if targets.min(initial=0) < -1:
            fail("Trial", "targets", int(targets.min()), "classes are >= 0, and -1 marks 'no answer'")
        if len(self.phase) != inputs.shape[0]:
            fail("Trial", "phase", len(self.phase), f"expected one label per step ({inputs.shape[0]})")
        object.__setattr__(self, "inputs", _readonly(inputs))
        object.__setattr__(self, "targets", _readonly(targets.astype(np.int64)))
        object.__setattr__(self, "phase", tuple(str(p) for p in self.phase))
        if self.target_patterns is not None:
            patterns = np.asarray(self.target_patterns, dtype=float)
            if patterns.ndim != 2 or patterns.shape[0] != inputs.shape[0]:
                fail("Trial", "target_patterns", patterns.shape, "expected (steps, n_units)")
            object.__setattr__(self, "target_patterns", _readonly(patterns))
        object.__setattr__(self, "metadata", dict(self.metadata))

    @property
    def n_steps(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def n_inputs(self) -> int:
        return int(self.inputs.shape[1])

    @property
    def scored(self) -> np.ndarray:
        """Boolean mask (steps,) of the steps that are scored."""
        return self.targets >= 0

    @property
    def reward_steps(self) -> np.ndarray:
        """Indices of the steps at which an answer is due and scored (reward for a correct one)."""
        return np.flatnonzero(self.targets >= 0)


@dataclass(frozen=True, eq=False)
class TrialBatch:
    """Trials stacked into arrays, padded at the end to the longest trial.

    Padding steps have zero input and target -1, so they are never scored; a causal learner (an RNN) may run
    over them without changing its answers at the real steps.
    """

    inputs: np.ndarray  # float (batch, steps, n_inputs)
    targets: np.ndarray  # int (batch, steps), -1 where no answer is due or in padding
    lengths: np.ndarray  # int (batch,): true number of steps of each trial


def stack_trials(trials: Sequence[Trial]) -> TrialBatch:
    """Stack trials (equal ``n_inputs``, any lengths) into one padded :class:`TrialBatch`."""
    if len(trials) == 0:
        fail("stack_trials", "trials", trials, "expected at least one trial")
    n_in = {t.n_inputs for t in trials}
    if len(n_in) != 1:
        fail("stack_trials", "trials", sorted(n_in), "all trials must have the same number of inputs")
    lengths = np.array([t.n_steps for t in trials], dtype=np.int64)
    steps = int(lengths.max())
    inputs = np.zeros((len(trials), steps, n_in.pop()))
    targets = np.full((len(trials), steps), -1, dtype=np.int64)
    for b, t in enumerate(trials):
        inputs[b, : t.n_steps] = t.inputs
        targets[b, : t.n_steps] = t.targets
    return TrialBatch(inputs=inputs, targets=targets, lengths=lengths)


def _count(owner: str, name: str, value: Any, low: int = 0, high: int | None = None) -> int:
    return int(check_number(owner, name, value, low=low, high=high, integer=True))


def round_half_up(x: float) -> int:
    """Round to the nearest integer, halves up (``round_half_up(2.5) == 3``; Python's ``round`` gives 2)."""
    return int(math.floor(x + 0.5))


def sample_patterns(n_patterns: int, n_units: int, n_active: int, rng: np.random.Generator) -> np.ndarray:
    """``n_patterns`` distinct binary patterns of ``n_units`` units with exactly ``n_active`` ones each.

    Raises :class:`~neurosim.validation.ParameterError` if fewer than ``n_patterns`` distinct codes exist.
    """
    n_codes = math.comb(n_units, n_active)
    if n_patterns > n_codes:
        fail(
            "sample_patterns",
            "n_patterns",
            n_patterns,
            f"only C({n_units}, {n_active}) = {n_codes} distinct patterns exist",
        )
    out = np.zeros((n_patterns, n_units))
    if n_codes <= max(10_000, 2 * n_patterns):
        codes = list(itertools.combinations(range(n_units), n_active))
        chosen = rng.choice(len(codes), size=n_patterns, replace=False)
        for row, c in enumerate(chosen):
            out[row, list(codes[c])] = 1.0
        return out
    seen: set[tuple[int, ...]] = set()
    row = 0
    while row < n_patterns:
        active = tuple(sorted(rng.choice(n_units, size=n_active, replace=False).tolist()))
        if active in seen:
            continue
        seen.add(active)
        out[row, list(active)] = 1.0
        row += 1
    return out


def make_cue(pattern: np.ndarray, cue_fraction: float, noise: float, rng: np.random.Generator) -> np.ndarray:
    """A degraded copy of a binary ``pattern``.

    Keeps ``max(1, round_half_up(cue_fraction * K))`` of its ``K`` active units (chosen at random), silences
    the rest, then flips every unit (0 ↔ 1) independently with probability ``noise``.
    """
    active = np.flatnonzero(pattern > 0)
    keep = max(1, round_half_up(cue_fraction * active.size))
    cue = np.zeros(pattern.shape)
    cue[rng.choice(active, size=keep, replace=False)] = 1.0
    if noise > 0:
        flips = rng.random(pattern.shape) < noise
        cue[flips] = 1.0 - cue[flips]
    return cue


class Task(Describable):
    """Base for tasks: sizes, splits, seeded trial generation and scoring.

    Subclasses are frozen dataclasses; they define ``name`` (the key used in results), ``n_inputs``,
    ``n_outputs`` and ``_generate(n, rng, split)``, and give every knob a default and a comment.
    """

    name: ClassVar[str] = ""
    splits: ClassVar[tuple[str, ...]] = ("train", "test")
    step_duration: Quantity

    @property
    def n_inputs(self) -> int:
        raise NotImplementedError  # pragma: no cover - abstract

    @property
    def n_outputs(self) -> int:
        raise NotImplementedError  # pragma: no cover - abstract

    def trials(self, n: int, seed: int = 0, split: str = "train") -> list[Trial]:
        """``n`` trials of ``split``, generated by ``np.random.default_rng((seed, index of split))``."""
        owner = type(self).__name__
        n = _count(owner, "n", n)
        seed = _count(owner, "seed", seed)
        check_choice(owner, "split", split, self.splits)
        rng = np.random.default_rng([seed, self.splits.index(split)])
        return self._generate(n, rng, split)

    def _generate(self, n: int, rng: np.random.Generator, split: str) -> list[Trial]:
        raise NotImplementedError  # pragma: no cover - abstract

    def score(self, trial: Trial, predictions: np.ndarray) -> float:
        """Fraction of the trial's scored steps answered correctly."""
        return score_trial(trial, predictions)

    def _check_step_duration(self) -> None:
        check_quantity(type(self).__name__, "step_duration", self.step_duration, ms, positive=True)


class PatternTask(Task):
    """A task whose answer classes each stand for one stored binary pattern (``class_patterns``)."""

    @property
    def class_patterns(self) -> np.ndarray:
        """float (n_outputs, n_units): the pattern that each answer class stands for."""
        raise NotImplementedError  # pragma: no cover - abstract

    def prediction_overlap(self, trial: Trial, predictions: np.ndarray) -> float:
        """Mean overlap between the patterns of the predicted classes and the due patterns, over the scored
        steps. A step without a decision (-1) recalls nothing (overlap 0); :func:`neurosim.metrics.overlap`.
        """
        predictions = np.asarray(predictions)
        values = []
        for k in trial.reward_steps:
            p = int(predictions[k])
            recalled = self.class_patterns[p] if 0 <= p < self.n_outputs else np.zeros(trial.n_inputs)
            values.append(pattern_overlap(recalled, trial.target_patterns[k]))
        return float(np.mean(values)) if values else float("nan")


def _check_patterns(owner: str, n_patterns: int, n_units: Any, coding_level: Any, *, name: str) -> int:
    """Validate the pattern knobs shared by pattern tasks; return the number of active units per pattern."""
    _count(owner, name, n_patterns, low=1)
    n_units = _count(owner, "n_units", n_units, low=2)
    f = check_number(owner, "coding_level", coding_level, low=0.0, high=0.5, low_open=True)
    k = round_half_up(f * n_units)
    if k < 1:
        fail(owner, "coding_level", coding_level, f"round(coding_level * n_units = {n_units}) must be >= 1")
    n_codes = math.comb(n_units, k)
    if n_patterns > n_codes:
        fail(
            owner,
            name,
            n_patterns,
            f"at most C(n_units={n_units}, {k} active) = {n_codes} distinct patterns exist",
        )
    return k


def _balanced_order(n: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` class indices: shuffled blocks that each contain every class once (balanced presentation)."""
    blocks = [rng.permutation(n_classes) for _ in range(-(-n // n_classes))] if n else []
    return np.concatenate(blocks)[:n] if blocks else np.zeros(0, dtype=int)


def _cue_recall_trial(
    shown: np.ndarray,
    pattern: np.ndarray,
    target: int,
    *,
    cue_steps: int,
    recall_steps: int,
    cue_phase: str,
    metadata: dict[str, Any],
) -> Trial:
    """``cue_steps`` steps showing ``shown``, then ``recall_steps`` silent steps at which ``target`` is due
    (if ``recall_steps`` is 0, the answer is due at the last cue step)."""
    steps = cue_steps + recall_steps
    inputs = np.zeros((steps, shown.size))
    inputs[:cue_steps] = shown
    targets = np.full(steps, -1, dtype=np.int64)
    scored = slice(cue_steps, steps) if recall_steps else slice(cue_steps - 1, cue_steps)
    targets[scored] = target
    patterns = np.zeros((steps, pattern.size))
    patterns[scored] = pattern
    phase = (cue_phase,) * cue_steps + ("recall",) * recall_steps
    return Trial(inputs, targets, phase, patterns, metadata)


@dataclass(frozen=True)
class AssociativeRecall(PatternTask):
    """Associative (auto-associative) recall of sparse patterns: store P patterns, recall one from a cue.

    ``P`` distinct binary patterns over ``N`` units, each with exactly ``K = round_half_up(f N)`` active
    units, drawn from ``pattern_seed``. Train trials show a full pattern for ``cue_steps`` steps (phase
    "store"); test trials show a cue (phase "cue"): a fraction ``c`` of the pattern's active units, then every
    unit flipped with probability ``η`` (:func:`make_cue`). After the cue come ``recall_steps`` silent steps
    (phase "recall") at which the answer is due: the pattern's index (class), with ``target_patterns`` the
    pattern itself. Trials cycle through the patterns in shuffled balanced blocks.

    ``metadata``: ``pattern`` (index) and ``cue_overlap`` (overlap of what was shown with the pattern, 1 for a
    full pattern, ≈ c for a clean cue; :func:`neurosim.metrics.overlap`).
    Scored by accuracy; :meth:`prediction_overlap` gives the overlap of the recalled patterns.
    Hopfield capacity for dense ±1 patterns is α_c ≈ 0.138 N; sparse coding raises it (science.md).
    """

    name: ClassVar[str] = "associative_recall"

    n_patterns: int = 10  # P: number of stored patterns (= answer classes)
    n_units: int = 100  # N: units per pattern (= input channels)
    coding_level: float = 0.1  # f in (0, 0.5]: fraction of active units per pattern
    cue_fraction: float = 0.5  # c in (0, 1]: fraction of a pattern's active units kept in a test cue
    noise: float = 0.0  # η in [0, 0.5): probability that each unit of a test cue is flipped
    cue_steps: int = 1  # steps during which the pattern or cue is shown
    recall_steps: int = 1  # silent steps after the cue at which the answer is due (0: due at last cue step)
    pattern_seed: int = 0  # seed of the stored patterns
    step_duration: Quantity = 200 * ms  # duration of one step (spiking side)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        _check_patterns(owner, self.n_patterns, self.n_units, self.coding_level, name="n_patterns")
        check_number(owner, "cue_fraction", self.cue_fraction, low=0.0, high=1.0, low_open=True)
        check_number(owner, "noise", self.noise, low=0.0, high=0.5, high_open=True)
        _count(owner, "cue_steps", self.cue_steps, low=1)
        _count(owner, "recall_steps", self.recall_steps, low=0)
        _count(owner, "pattern_seed", self.pattern_seed)
        self._check_step_duration()

    @property
    def n_active(self) -> int:
        """Active units per pattern: ``round_half_up(coding_level * n_units)``."""
        return round_half_up(self.coding_level * self.n_units)

    @property
    def n_inputs(self) -> int:
        return self.n_units

    @property
    def n_outputs(self) -> int:
        return self.n_patterns

    @cached_property
    def patterns(self) -> np.ndarray:
        """float (n_patterns, n_units): the stored patterns (0/1)."""
        rng = np.random.default_rng(self.pattern_seed)
        return _readonly(sample_patterns(self.n_patterns, self.n_units, self.n_active, rng))

    @property
    def class_patterns(self) -> np.ndarray:
        return self.patterns

    def _generate(self, n: int, rng: np.random.Generator, split: str) -> list[Trial]:
        classes = np.arange(self.n_patterns)
        return _associative_trials(self.patterns, classes, n, rng, split, self, {"split": split})


def _associative_trials(
    patterns: np.ndarray,
    classes: np.ndarray,
    n: int,
    rng: np.random.Generator,
    split: str,
    knobs: Any,
    metadata: Mapping[str, Any],
) -> list[Trial]:
    full = split.startswith("train")
    out = []
    for k in classes[_balanced_order(n, classes.size, rng)]:
        pattern = patterns[k]
        shown = pattern.copy() if full else make_cue(pattern, knobs.cue_fraction, knobs.noise, rng)
        meta = {**metadata, "pattern": int(k), "cue_overlap": pattern_overlap(shown, pattern)}
        out.append(
            _cue_recall_trial(
                shown,
                pattern,
                int(k),
                cue_steps=knobs.cue_steps,
                recall_steps=knobs.recall_steps,
                cue_phase="store" if full else "cue",
                metadata=meta,
            )
        )
    return out


@dataclass(frozen=True)
class PairedAssociation(Task):
    """Paired association learned from reward: each of ``n_pairs`` cue patterns must be answered with its
    target class.

    Cue patterns are sparse binary patterns (as in :class:`AssociativeRecall`) drawn from ``pattern_seed``;
    cue ``i`` maps to class ``mapping[i]``, a fixed shuffle of ``i mod n_classes`` (so every class is used).
    A trial shows the cue for ``cue_steps`` steps (phase "cue"), then asks for the choice during
    ``response_steps`` silent steps (phase "choice"); reward is due when the choice is correct. Test trials
    flip each cue unit with probability ``noise``; train trials show clean cues.
    ``metadata``: ``pair`` (cue index).
    """

    name: ClassVar[str] = "paired_association"

    n_pairs: int = 8  # number of cue → class pairs
    n_units: int = 50  # units per cue pattern (= input channels)
    coding_level: float = 0.1  # f in (0, 0.5]: fraction of active units per cue
    n_classes: int = 0  # answer classes, 2 .. n_pairs; 0 means one class per pair (n_pairs)
    noise: float = 0.0  # η in [0, 0.5): flip probability of each cue unit in test trials
    cue_steps: int = 1  # steps during which the cue is shown
    response_steps: int = 1  # silent steps after the cue at which the choice is due (0: at last cue step)
    pattern_seed: int = 0  # seed of the cue patterns and the mapping
    step_duration: Quantity = 200 * ms  # duration of one step (spiking side)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        _check_patterns(owner, self.n_pairs, self.n_units, self.coding_level, name="n_pairs")
        n_classes = _count(owner, "n_classes", self.n_classes)
        if n_classes != 0 and not 2 <= n_classes <= self.n_pairs:
            fail(owner, "n_classes", n_classes, f"must be 0 (one class per pair) or in [2, {self.n_pairs}]")
        check_number(owner, "noise", self.noise, low=0.0, high=0.5, high_open=True)
        _count(owner, "cue_steps", self.cue_steps, low=1)
        _count(owner, "response_steps", self.response_steps, low=0)
        _count(owner, "pattern_seed", self.pattern_seed)
        self._check_step_duration()

    @property
    def n_inputs(self) -> int:
        return self.n_units

    @property
    def n_outputs(self) -> int:
        return self.n_classes or self.n_pairs

    @cached_property
    def cues(self) -> np.ndarray:
        """float (n_pairs, n_units): the cue patterns."""
        rng = np.random.default_rng(self.pattern_seed)
        k = round_half_up(self.coding_level * self.n_units)
        return _readonly(sample_patterns(self.n_pairs, self.n_units, k, rng))

    @cached_property
    def mapping(self) -> np.ndarray:
        """int (n_pairs,): the class of each cue."""
        rng = np.random.default_rng([self.pattern_seed, 1])
        return _readonly(rng.permutation(np.arange(self.n_pairs) % self.n_outputs))

    def _generate(self, n: int, rng: np.random.Generator, split: str) -> list[Trial]:
        out = []
        for i in _balanced_order(n, self.n_pairs, rng):
            cue = self.cues[i].copy()
            if split == "test" and self.noise > 0:
                flips = rng.random(cue.shape) < self.noise
                cue[flips] = 1.0 - cue[flips]
            trial = _cue_recall_trial(
                cue,
                self.cues[i],
                int(self.mapping[i]),
                cue_steps=self.cue_steps,
                recall_steps=self.response_steps,
                cue_phase="cue",
                metadata={"split": split, "pair": int(i)},
            )
            phase = tuple("choice" if p == "recall" else p for p in trial.phase)
            out.append(Trial(trial.inputs, trial.targets, phase, None, trial.metadata))
        return out


@dataclass(frozen=True)
class StoreRecall(Task):
    """Store-recall working-memory task (Bellec et al. 2018, LSNN; science.md "Spiking working memory").

    Symbols {0, 1, STORE, RECALL}, one per step, one-hot over ``n_inputs = 2 n_bits + 2`` channels in the
    order ``[bit0=0, bit0=1, ..., STORE, RECALL]`` (for ``n_bits = 1`` exactly the four symbols; the spiking
    encoder expands each channel into a group, e.g. 4 groups × 25 neurons at 50 Hz). A *value* is an
    ``n_bits`` word shown on its bit channels.

    Convention (science.md): **the target at each RECALL is the value on the step right after the last
    STORE**. With ``value_with_store=True`` the value is instead shown on the STORE step itself, together with
    the STORE channel (as in the LSNN-official code, which copies the next value onto the STORE step); the
    target is then the value shown with the last STORE. :meth:`targets_for` implements the rule directly on
    any input sequence; :meth:`trial_from_symbols` builds a trial from a hand-written sequence.

    Generation: each trial is ``n_recalls`` episodes. An episode waits for STORE (each step STORE with
    probability ``p_store``, else a random value: phase "wait"); STORE (phase "store"); the stored value
    (phase "value"); then ``d`` distractor values (phase "delay") before RECALL (phase "recall", no value,
    scored). Each step of the delay ends in RECALL with probability ``p_recall`` once ``d >= min_delay``;
    at ``d == max_delay`` RECALL is forced. So ``d`` lies in ``[min_delay, max_delay]``; fix it with
    ``min_delay == max_delay``. **Delay** ``d`` = number of steps strictly between the stored value and the
    RECALL: the memory is held for ``d * step_duration`` between the end of the value and the RECALL
    (6 steps × 200 ms = 1.2 s). As in the LSNN code, a STORE and a RECALL alternate, so each RECALL has
    exactly one STORE since the previous RECALL. Targets: the stored value as an integer (``sum bit_b 2**b``)
    at RECALL steps, -1 elsewhere; ``n_outputs = 2**n_bits``. ``metadata``: ``delays`` and ``values`` per
    episode.
    """

    name: ClassVar[str] = "store_recall"
    STORE: ClassVar[str] = "STORE"
    RECALL: ClassVar[str] = "RECALL"

    min_delay: int = 0  # fewest distractor steps between the stored value and RECALL (>= 0)
    max_delay: int = 6  # most distractor steps; RECALL is forced here (6 × 200 ms = 1.2 s)
    n_bits: int = 1  # bits per stored value (1: symbols 0/1)
    p_store: float = 1 / 7  # per-step probability of STORE while waiting for one (Bellec et al.: 1/7)
    p_recall: float = 1 / 7  # per-step probability of RECALL once min_delay has passed (Bellec et al.: 1/7)
    n_recalls: int = 1  # store-recall episodes per trial (each RECALL is one scored answer)
    value_with_store: bool = False  # show the value on the STORE step itself (LSNN-official variant)
    step_duration: Quantity = 200 * ms  # duration of one symbol (Bellec et al.: 200 ms)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        lo = _count(owner, "min_delay", self.min_delay)
        hi = _count(owner, "max_delay", self.max_delay)
        if hi < lo:
            fail(owner, "max_delay", self.max_delay, f"must be >= min_delay = {self.min_delay}")
        _count(owner, "n_bits", self.n_bits, low=1, high=8)
        check_number(owner, "p_store", self.p_store, low=0.0, high=1.0, low_open=True)
        check_number(owner, "p_recall", self.p_recall, low=0.0, high=1.0, low_open=True)
        _count(owner, "n_recalls", self.n_recalls, low=1)
        if not isinstance(self.value_with_store, (bool, np.bool_)):
            fail(owner, "value_with_store", self.value_with_store, "expected True or False")
        self._check_step_duration()

    @property
    def n_inputs(self) -> int:
        return 2 * self.n_bits + 2

    @property
    def n_outputs(self) -> int:
        return 2**self.n_bits

    @property
    def store_channel(self) -> int:
        return 2 * self.n_bits

    @property
    def recall_channel(self) -> int:
        return 2 * self.n_bits + 1

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Names of the input channels, in order (``("0", "1", "STORE", "RECALL")`` for one bit)."""
        if self.n_bits == 1:
            return ("0", "1", self.STORE, self.RECALL)
        bits = tuple(f"bit{b}={v}" for b in range(self.n_bits) for v in (0, 1))
        return (*bits, self.STORE, self.RECALL)

    def value_vector(self, value: int) -> np.ndarray:
        """The input vector showing ``value`` (an integer < 2**n_bits) on the bit channels."""
        x = np.zeros(self.n_inputs)
        for b in range(self.n_bits):
            x[2 * b + ((value >> b) & 1)] = 1.0
        return x

    def read_value(self, x: np.ndarray) -> int | None:
        """The value shown on the bit channels of input vector ``x``; None if no complete value is shown."""
        value = 0
        for b in range(self.n_bits):
            zero, one = x[2 * b] > 0, x[2 * b + 1] > 0
            if zero == one:
                return None
            value |= int(one) << b
        return value

    def targets_for(self, inputs: np.ndarray) -> np.ndarray:
        """The spec applied to an input sequence: at each RECALL step, the value on the step after the last
        STORE (or on the STORE step, if ``value_with_store``); -1 elsewhere and where no value was stored."""
        inputs = np.asarray(inputs)
        targets = np.full(inputs.shape[0], -1, dtype=np.int64)
        last_store: int | None = None
        for k, x in enumerate(inputs):
            if x[self.recall_channel] > 0 and last_store is not None:
                at = last_store if self.value_with_store else last_store + 1
                value = self.read_value(inputs[at]) if at < k else None
                targets[k] = -1 if value is None else value
            if x[self.store_channel] > 0:
                last_store = k
        return targets

    def trial_from_symbols(self, symbols: Sequence[int | str]) -> Trial:
        """A trial from a hand-written sequence: integers are values, ``"STORE"``/``"RECALL"`` commands.
        With ``value_with_store``, write ``("STORE", value)`` for a STORE shown together with its value."""
        inputs = np.zeros((len(symbols), self.n_inputs))
        phase = []
        for k, s in enumerate(symbols):
            if isinstance(s, tuple) and len(s) == 2 and s[0] == self.STORE:
                inputs[k] = self.value_vector(int(s[1]))
                inputs[k, self.store_channel] = 1.0
                phase.append("store")
            elif s == self.STORE:
                inputs[k, self.store_channel] = 1.0
                phase.append("store")
            elif s == self.RECALL:
                inputs[k, self.recall_channel] = 1.0
                phase.append("recall")
            elif isinstance(s, (int, np.integer)) and 0 <= int(s) < self.n_outputs:
                inputs[k] = self.value_vector(int(s))
                phase.append("value")
            else:
                fail("StoreRecall", "symbols", s, f"values 0..{self.n_outputs - 1}, 'STORE' or 'RECALL'")
        return Trial(inputs, self.targets_for(inputs), tuple(phase), None, {"symbols": list(symbols)})

    def _generate(self, n: int, rng: np.random.Generator, split: str) -> list[Trial]:
        return [self._one_trial(rng, split) for _ in range(n)]

    def _one_trial(self, rng: np.random.Generator, split: str) -> Trial:
        rows: list[np.ndarray] = []
        phase: list[str] = []
        targets: list[int] = []
        delays: list[int] = []
        values: list[int] = []

        def emit(x: np.ndarray, label: str, target: int = -1) -> None:
            rows.append(x)
            phase.append(label)
            targets.append(target)

        def random_value() -> np.ndarray:
            return self.value_vector(int(rng.integers(self.n_outputs)))

        for _ in range(self.n_recalls):
            while rng.random() >= self.p_store:
                emit(random_value(), "wait")
            value = int(rng.integers(self.n_outputs))
            store = np.zeros(self.n_inputs)
            store[self.store_channel] = 1.0
            if self.value_with_store:
                emit(store + self.value_vector(value), "store")
            else:
                emit(store, "store")
                emit(self.value_vector(value), "value")
            d = 0
            while d < self.max_delay and not (d >= self.min_delay and rng.random() < self.p_recall):
                emit(random_value(), "delay")
                d += 1
            recall = np.zeros(self.n_inputs)
            recall[self.recall_channel] = 1.0
            emit(recall, "recall", value)
            delays.append(d)
            values.append(value)
        meta = {"split": split, "delays": delays, "values": values}
        return Trial(np.array(rows), np.array(targets, dtype=np.int64), tuple(phase), None, meta)


@dataclass(frozen=True)
class SequenceRecall(PatternTask):
    """Sequence recall: learn ordered sequences of sparse patterns, replay one from its first item.

    ``n_sequences`` sequences of ``length`` distinct items each (sparse binary patterns, exactly
    ``round_half_up(f N)`` active units, all items distinct, drawn from ``pattern_seed``); item ``j`` of
    sequence ``s`` is class ``s * length + j``. A trial shows the first item for ``cue_steps`` steps
    (phase "cue"), then ``length - 1`` silent steps (phase "recall") at which items ``1 .. length-1`` are due,
    one per step, in order (``target_patterns`` holds them: a spiking learner may drive its memory units with
    them as the experienced sequence during training). Train trials cue with the full first item; test trials
    with a degraded cue (``cue_fraction``, ``noise``; :func:`make_cue`). Scored per item; ``metadata``:
    ``sequence``.
    """

    name: ClassVar[str] = "sequence_recall"

    length: int = 5  # items per sequence (>= 2): the first is the cue, the rest are recalled
    n_units: int = 50  # units per item pattern (= input channels)
    coding_level: float = 0.1  # f in (0, 0.5]: fraction of active units per item
    n_sequences: int = 1  # number of sequences learned (the cue says which one to replay)
    cue_fraction: float = 1.0  # c in (0, 1]: fraction of the first item's active units in a test cue
    noise: float = 0.0  # η in [0, 0.5): flip probability of each unit of a test cue
    cue_steps: int = 1  # steps during which the first item is shown
    pattern_seed: int = 0  # seed of the item patterns
    step_duration: Quantity = 200 * ms  # duration of one step (= one item)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        length = _count(owner, "length", self.length, low=2)
        n_seq = _count(owner, "n_sequences", self.n_sequences, low=1)
        _check_patterns(owner, length * n_seq, self.n_units, self.coding_level, name="length")
        check_number(owner, "cue_fraction", self.cue_fraction, low=0.0, high=1.0, low_open=True)
        check_number(owner, "noise", self.noise, low=0.0, high=0.5, high_open=True)
        _count(owner, "cue_steps", self.cue_steps, low=1)
        _count(owner, "pattern_seed", self.pattern_seed)
        self._check_step_duration()

    @property
    def n_inputs(self) -> int:
        return self.n_units

    @property
    def n_outputs(self) -> int:
        return self.n_sequences * self.length

    @cached_property
    def items(self) -> np.ndarray:
        """float (n_sequences, length, n_units): the item patterns."""
        rng = np.random.default_rng(self.pattern_seed)
        k = round_half_up(self.coding_level * self.n_units)
        flat = sample_patterns(self.n_outputs, self.n_units, k, rng)
        return _readonly(flat.reshape(self.n_sequences, self.length, self.n_units))

    @property
    def class_patterns(self) -> np.ndarray:
        return self.items.reshape(self.n_outputs, self.n_units)

    def _generate(self, n: int, rng: np.random.Generator, split: str) -> list[Trial]:
        out = []
        for s in _balanced_order(n, self.n_sequences, rng):
            first = self.items[s, 0]
            cue = first.copy() if split == "train" else make_cue(first, self.cue_fraction, self.noise, rng)
            steps = self.cue_steps + self.length - 1
            inputs = np.zeros((steps, self.n_units))
            inputs[: self.cue_steps] = cue
            targets = np.full(steps, -1, dtype=np.int64)
            targets[self.cue_steps :] = s * self.length + np.arange(1, self.length)
            patterns = np.zeros((steps, self.n_units))
            patterns[self.cue_steps :] = self.items[s, 1:]
            phase = ("cue",) * self.cue_steps + ("recall",) * (self.length - 1)
            meta = {"split": split, "sequence": int(s), "cue_overlap": pattern_overlap(cue, first)}
            out.append(Trial(inputs, targets, phase, patterns, meta))
        return out


@dataclass(frozen=True)
class ContinualAssociative(PatternTask):
    """Continual learning: learn pattern set A, then set B; measure how much of A is retained.

    ``2 P`` distinct sparse patterns (as in :class:`AssociativeRecall`, one draw from ``pattern_seed``):
    set A = classes ``0 .. P-1``, set B = classes ``P .. 2P-1`` (class-incremental: B brings new answer
    classes, so forgetting A is not hidden by shared outputs). Splits: ``"train_a"``, ``"train_b"`` (full
    patterns) and ``"test_a"``, ``"test_b"`` (cues with ``cue_fraction`` and ``noise``); trial format as in
    :class:`AssociativeRecall`. Protocol (:func:`neurosim.learners.base.run_continual`): train on A, test A;
    train on B; test A again (retention) and B.
    """

    name: ClassVar[str] = "continual_learning"
    splits: ClassVar[tuple[str, ...]] = ("train_a", "train_b", "test_a", "test_b")

    n_patterns_per_set: int = 5  # P: patterns in each of set A and set B
    n_units: int = 100  # N: units per pattern (= input channels)
    coding_level: float = 0.1  # f in (0, 0.5]: fraction of active units per pattern
    cue_fraction: float = 0.5  # c in (0, 1]: fraction of a pattern's active units kept in a test cue
    noise: float = 0.0  # η in [0, 0.5): flip probability of each unit of a test cue
    cue_steps: int = 1  # steps during which the pattern or cue is shown
    recall_steps: int = 1  # silent steps after the cue at which the answer is due
    pattern_seed: int = 0  # seed of the stored patterns
    step_duration: Quantity = 200 * ms  # duration of one step (spiking side)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        p = _count(owner, "n_patterns_per_set", self.n_patterns_per_set, low=1)
        _check_patterns(owner, 2 * p, self.n_units, self.coding_level, name="n_patterns_per_set")
        check_number(owner, "cue_fraction", self.cue_fraction, low=0.0, high=1.0, low_open=True)
        check_number(owner, "noise", self.noise, low=0.0, high=0.5, high_open=True)
        _count(owner, "cue_steps", self.cue_steps, low=1)
        _count(owner, "recall_steps", self.recall_steps, low=0)
        _count(owner, "pattern_seed", self.pattern_seed)
        self._check_step_duration()

    @property
    def n_inputs(self) -> int:
        return self.n_units

    @property
    def n_outputs(self) -> int:
        return 2 * self.n_patterns_per_set

    @cached_property
    def patterns(self) -> np.ndarray:
        """float (2P, n_units): set A's patterns, then set B's."""
        rng = np.random.default_rng(self.pattern_seed)
        k = round_half_up(self.coding_level * self.n_units)
        return _readonly(sample_patterns(self.n_outputs, self.n_units, k, rng))

    @property
    def class_patterns(self) -> np.ndarray:
        return self.patterns

    def set_classes(self, which: str) -> np.ndarray:
        """The classes of set ``"a"`` or ``"b"``."""
        check_choice(type(self).__name__, "which", which, ("a", "b"))
        p = self.n_patterns_per_set
        return np.arange(p) if which == "a" else np.arange(p, 2 * p)

    def _generate(self, n: int, rng: np.random.Generator, split: str) -> list[Trial]:
        which = split.split("_")[1]
        meta = {"split": split, "set": which}
        return _associative_trials(self.patterns, self.set_classes(which), n, rng, split, self, meta)


#: Built-in tasks by their result key.
TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (AssociativeRecall, PairedAssociation, StoreRecall, SequenceRecall, ContinualAssociative)
}
