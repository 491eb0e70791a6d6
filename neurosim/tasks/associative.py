"""Associative recall of sparse patterns, and its continual-learning variant (set A, then set B).

Auto-associative memory in the sense of Hopfield (1982) with the sparse patterns of Tsodyks & Feigel'man
(1988): store ``P`` patterns, then recall one from a partial, noisy cue. The continual variant learns two
pattern sets one after the other and measures how much of the first survives the second
(catastrophic forgetting; McCloskey & Cohen 1989), class-incrementally so that forgetting is not hidden by
shared outputs. Its sets are independent draws by default; ``overlap`` makes each pattern of B share a fixed
part of its active units with a pattern of A, so that learning B rewrites what those units stand for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
from brian2 import Quantity, ms

from ..metrics import overlap
from ..validation import check_choice, check_number, fail
from .base import PatternTask, check_count, check_cue_knobs, check_patterns
from .patterns import balanced_order, cue_recall_trial, make_cue, round_half_up, stored_patterns
from .trial import Trial


@dataclass(frozen=True)
class AssociativeRecall(PatternTask):
    """Associative (auto-associative) recall of sparse patterns: store P patterns, recall one from a cue.

    ``P`` distinct binary patterns over ``N`` units, each with exactly ``K = round_half_up(f N)`` active
    units, drawn from ``pattern_seed``. Train trials show a full pattern for ``cue_steps`` steps (phase
    "store"); test trials show a cue (phase "cue"): a fraction ``c`` of the pattern's active units, then every
    unit flipped with probability ``η`` (:func:`~neurosim.tasks.make_cue`). After the cue come
    ``recall_steps`` silent steps (phase "recall") at which the answer is due: the pattern's index (class),
    with ``target_patterns`` the pattern itself. Trials cycle through the patterns in shuffled balanced
    blocks.

    ``metadata``: ``pattern`` (index) and ``cue_overlap`` (overlap of what was shown with the pattern, 1 for a
    full pattern, ≈ c for a clean cue; :func:`neurosim.metrics.overlap`).
    Scored by accuracy; :meth:`prediction_overlap` gives the overlap of the recalled patterns.
    Hopfield capacity for dense ±1 patterns is α_c ≈ 0.138 N (Amit, Gutfreund & Sompolinsky 1985); sparse
    coding raises it (Tsodyks & Feigel'man 1988).
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
        check_patterns(owner, self.n_patterns, self.n_units, self.coding_level, name="n_patterns")
        check_cue_knobs(self, answer_steps="recall_steps")

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
        return stored_patterns(self.n_patterns, self.n_units, self.coding_level, self.pattern_seed)

    @property
    def class_patterns(self) -> np.ndarray:
        return self.patterns

    def _generate(self, n: int, rng: np.random.Generator, split: str) -> list[Trial]:
        classes = np.arange(self.n_patterns)
        return associative_trials(self.patterns, classes, n, rng, split, self, {"split": split})


@dataclass(frozen=True)
class ContinualAssociative(PatternTask):
    """Continual learning: learn pattern set A, then set B; measure how much of A is retained.

    ``2 P`` distinct sparse patterns (as in :class:`AssociativeRecall`, one draw from ``pattern_seed``):
    set A = classes ``0 .. P-1``, set B = classes ``P .. 2P-1`` (class-incremental: B brings new answer
    classes, so forgetting A is not hidden by shared outputs). ``overlap`` o in [0, 1): with o > 0, B's
    pattern k keeps ``m = round_half_up(o K)`` active units of A's pattern k (chosen at random) and draws its
    other ``K − m`` from the units A's pattern k leaves off, so the two share exactly m units; o = 0: the
    independent draw (on average ``K²/N`` shared units). Interference: after B, the shared units answer B's
    class, and an A cue that keeps ``ĉ = round_half_up(c K)`` of A's K units holds ``ĉ m / K`` of them on
    average (the hypergeometric mean). Splits: ``"train_a"``, ``"train_b"`` (full patterns) and
    ``"test_a"``, ``"test_b"`` (cues with ``cue_fraction`` and ``noise``); trial format as in
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
    overlap: float = 0.0  # o in [0, 1): fraction of each B pattern's active units shared with A's pattern k

    def __post_init__(self) -> None:
        owner = type(self).__name__
        p = check_count(owner, "n_patterns_per_set", self.n_patterns_per_set, low=1)
        k = check_patterns(owner, 2 * p, self.n_units, self.coding_level, name="n_patterns_per_set")
        check_cue_knobs(self, answer_steps="recall_steps")
        check_number(owner, "overlap", self.overlap, low=0.0, high=1.0, high_open=True)
        if self.overlap > 0 and round_half_up(self.overlap * k) >= k:
            fail(
                owner,
                "overlap",
                self.overlap,
                f"round(overlap * {k} active units) must be < {k}, or B's patterns would copy A's",
            )
        if self.overlap > 0 and self.n_units - k < k - round_half_up(self.overlap * k):
            fail(owner, "overlap", self.overlap, f"too few units ({self.n_units}) outside an A pattern")

    @property
    def n_shared(self) -> int:
        """Active units that B's pattern k shares with A's pattern k by construction (0 without overlap)."""
        k = round_half_up(self.coding_level * self.n_units)
        return round_half_up(self.overlap * k) if self.overlap > 0 else 0

    @property
    def n_inputs(self) -> int:
        return self.n_units

    @property
    def n_outputs(self) -> int:
        return 2 * self.n_patterns_per_set

    @cached_property
    def patterns(self) -> np.ndarray:
        """float (2P, n_units): set A's patterns, then set B's (with ``overlap``: B's built on A's)."""
        drawn = stored_patterns(self.n_outputs, self.n_units, self.coding_level, self.pattern_seed)
        if self.overlap == 0:
            return drawn
        p, m = self.n_patterns_per_set, self.n_shared
        rng = np.random.default_rng([self.pattern_seed, 1])
        out = np.array(drawn)
        for _ in range(100):  # redraw the B set until all 2P patterns are distinct
            for k in range(p):
                on, off = np.flatnonzero(out[k] > 0), np.flatnonzero(out[k] == 0)
                out[p + k] = 0.0
                out[p + k, rng.choice(on, size=m, replace=False)] = 1.0
                out[p + k, rng.choice(off, size=on.size - m, replace=False)] = 1.0
            if len({row.tobytes() for row in out}) == out.shape[0]:
                out.flags.writeable = False
                return out
        fail(type(self).__name__, "overlap", self.overlap, "no distinct B patterns found: use more n_units")
        raise AssertionError  # pragma: no cover

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
        return associative_trials(self.patterns, self.set_classes(which), n, rng, split, self, meta)


def associative_trials(
    patterns: np.ndarray,
    classes: np.ndarray,
    n: int,
    rng: np.random.Generator,
    split: str,
    knobs: AssociativeRecall | ContinualAssociative,
    metadata: Mapping[str, Any],
) -> list[Trial]:
    """``n`` recall trials over ``classes`` in balanced order: the full pattern on train splits, a degraded
    cue (the task's ``cue_fraction`` and ``noise``) on test splits, then the task's recall steps."""
    full = split.startswith("train")
    out = []
    for k in classes[balanced_order(n, classes.size, rng)]:
        pattern = patterns[k]
        shown = pattern.copy() if full else make_cue(pattern, knobs.cue_fraction, knobs.noise, rng)
        meta = {**metadata, "pattern": int(k), "cue_overlap": overlap(shown, pattern)}
        out.append(
            cue_recall_trial(
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
