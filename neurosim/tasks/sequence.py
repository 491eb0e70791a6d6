"""Sequence recall: learn ordered sequences of sparse patterns and replay one from its first item.

Cue-triggered replay of a learned sequence, the hetero-associative counterpart of associative recall
(Sompolinsky & Kanter 1986, "Temporal association in asymmetric neural networks"): the first item is shown,
and the following items are due one per step, in order.

When the sequences share items (``n_items > 0``), the item due at a step depends on which sequence the cue
started, not only on the step's position: a learner has to hold the cue's identity through the whole replay
(the disambiguation problem of sequence memory; Levy 1996, "A sequence predicting CA3 is a flexible
associator"). With all items distinct and full cues the task can be solved from position and a copy of
the training trials; the comparison labels that variant as memorisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
from brian2 import Quantity, ms

from ..metrics import overlap
from ..validation import fail
from .base import PatternTask, check_count, check_cue_knobs, check_patterns
from .patterns import balanced_order, make_cue, stored_patterns
from .trial import Trial, readonly


@dataclass(frozen=True)
class SequenceRecall(PatternTask):
    """Sequence recall: learn ordered sequences of sparse patterns, replay one from its first item.

    Items are sparse binary patterns (exactly ``round_half_up(f N)`` active units, all distinct, drawn from
    ``pattern_seed``), one class each. ``n_items = 0``: every sequence has ``length`` items of its own
    (``n_sequences × length`` classes; item ``j`` of sequence ``s`` is class ``s * length + j``).
    ``n_items > 0``: a vocabulary of ``n_items`` items; each sequence starts with an item of its own (the
    cue says which sequence to replay) and continues with ``length - 1`` distinct items drawn, in a random
    order, from the ``n_items - n_sequences`` shared items (no two sequences continue alike while enough
    orders exist), so sequences share items whenever
    ``n_sequences (length - 1) > n_items - n_sequences`` (:attr:`order` holds the classes).

    A trial shows the first item for ``cue_steps`` steps (phase "cue"), then ``length - 1`` silent steps
    (phase "recall") at which the following items are due, one per step, in order (``target_patterns`` holds
    them). Train trials cue with the full first item; test trials with a degraded cue (``cue_fraction``,
    ``noise``; :func:`~neurosim.tasks.make_cue`). Scored per item; ``metadata``: ``sequence``,
    ``cue_overlap``.
    """

    name: ClassVar[str] = "sequence_recall"

    length: int = 5  # items per sequence (>= 2): the first is the cue, the rest are recalled
    n_units: int = 50  # units per item pattern (= input channels)
    coding_level: float = 0.1  # f in (0, 0.5]: fraction of active units per item
    n_sequences: int = 1  # number of sequences learned (the cue says which one to replay)
    n_items: int = 0  # vocabulary shared by the sequences; 0: every sequence has items of its own
    cue_fraction: float = 1.0  # c in (0, 1]: fraction of the first item's active units in a test cue
    noise: float = 0.0  # η in [0, 0.5): flip probability of each unit of a test cue
    cue_steps: int = 1  # steps during which the first item is shown
    pattern_seed: int = 0  # seed of the item patterns and of the sequences' order
    step_duration: Quantity = 200 * ms  # duration of one step (= one item)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        length = check_count(owner, "length", self.length, low=2)
        n_seq = check_count(owner, "n_sequences", self.n_sequences, low=1)
        n_items = check_count(owner, "n_items", self.n_items)
        if n_items:
            if n_items < n_seq + length - 1:
                fail(
                    owner,
                    "n_items",
                    n_items,
                    f"0 (items of their own) or >= n_sequences + length - 1 = {n_seq + length - 1} "
                    "(a first item per sequence and length - 1 shared items)",
                )
            check_patterns(owner, n_items, self.n_units, self.coding_level, name="n_items")
        else:
            check_patterns(owner, length * n_seq, self.n_units, self.coding_level, name="length")
        check_cue_knobs(self, answer_steps=None)

    @property
    def n_inputs(self) -> int:
        return self.n_units

    @property
    def n_outputs(self) -> int:
        return self.n_items or self.n_sequences * self.length

    @cached_property
    def class_patterns(self) -> np.ndarray:
        """float (n_outputs, n_units): the item pattern of every class."""
        return stored_patterns(self.n_outputs, self.n_units, self.coding_level, self.pattern_seed)

    @cached_property
    def order(self) -> np.ndarray:
        """int (n_sequences, length): the class of every item of every sequence."""
        if not self.n_items:
            return readonly(np.arange(self.n_outputs).reshape(self.n_sequences, self.length))
        rng = np.random.default_rng([self.pattern_seed, 2])
        items = rng.permutation(self.n_items)
        starts, shared = items[: self.n_sequences], items[self.n_sequences :]
        rest: list[tuple[int, ...]] = []
        while len(rest) < self.n_sequences:  # distinct continuations (shared items in other orders)
            draw = tuple(int(i) for i in rng.choice(shared, size=self.length - 1, replace=False))
            if draw not in rest or len(rest) >= math.perm(shared.size, self.length - 1):
                rest.append(draw)
        return readonly(np.column_stack([starts, np.array(rest, dtype=np.int64)]))

    @cached_property
    def items(self) -> np.ndarray:
        """float (n_sequences, length, n_units): the item patterns of every sequence, in order."""
        return readonly(self.class_patterns[self.order])

    def _generate(self, n: int, rng: np.random.Generator, split: str) -> list[Trial]:
        out = []
        for s in balanced_order(n, self.n_sequences, rng):
            first = self.items[s, 0]
            cue = first.copy() if split == "train" else make_cue(first, self.cue_fraction, self.noise, rng)
            steps = self.cue_steps + self.length - 1
            inputs = np.zeros((steps, self.n_units))
            inputs[: self.cue_steps] = cue
            targets = np.full(steps, -1, dtype=np.int64)
            targets[self.cue_steps :] = self.order[s, 1:]
            patterns = np.zeros((steps, self.n_units))
            patterns[self.cue_steps :] = self.items[s, 1:]
            phase = ("cue",) * self.cue_steps + ("recall",) * (self.length - 1)
            meta = {"split": split, "sequence": int(s), "cue_overlap": overlap(cue, first)}
            out.append(Trial(inputs, targets, phase, patterns, meta))
        return out
