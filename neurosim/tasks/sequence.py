"""Sequence recall: learn ordered sequences of sparse patterns and replay one from its first item.

Cue-triggered replay of a learned sequence, the hetero-associative counterpart of associative recall
(Sompolinsky & Kanter 1986, "Temporal association in asymmetric neural networks"): the first item is shown,
and the following items are due one per step, in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
from brian2 import Quantity, ms

from ..metrics import overlap
from .base import PatternTask, check_count, check_cue_knobs, check_patterns
from .patterns import balanced_order, make_cue, stored_patterns
from .trial import Trial


@dataclass(frozen=True)
class SequenceRecall(PatternTask):
    """Sequence recall: learn ordered sequences of sparse patterns, replay one from its first item.

    ``n_sequences`` sequences of ``length`` distinct items each (sparse binary patterns, exactly
    ``round_half_up(f N)`` active units, all items distinct, drawn from ``pattern_seed``); item ``j`` of
    sequence ``s`` is class ``s * length + j``. A trial shows the first item for ``cue_steps`` steps
    (phase "cue"), then ``length - 1`` silent steps (phase "recall") at which items ``1 .. length-1`` are due,
    one per step, in order (``target_patterns`` holds them: a spiking learner may drive its memory units with
    them as the experienced sequence during training). Train trials cue with the full first item; test trials
    with a degraded cue (``cue_fraction``, ``noise``; :func:`~neurosim.tasks.make_cue`). Scored per item;
    ``metadata``: ``sequence``.
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
        length = check_count(owner, "length", self.length, low=2)
        n_seq = check_count(owner, "n_sequences", self.n_sequences, low=1)
        check_patterns(owner, length * n_seq, self.n_units, self.coding_level, name="length")
        check_cue_knobs(self, answer_steps=None)

    @property
    def n_inputs(self) -> int:
        return self.n_units

    @property
    def n_outputs(self) -> int:
        return self.n_sequences * self.length

    @cached_property
    def items(self) -> np.ndarray:
        """float (n_sequences, length, n_units): the item patterns."""
        flat = stored_patterns(self.n_outputs, self.n_units, self.coding_level, self.pattern_seed)
        return flat.reshape(self.n_sequences, self.length, self.n_units)

    @property
    def class_patterns(self) -> np.ndarray:
        return self.items.reshape(self.n_outputs, self.n_units)

    def _generate(self, n: int, rng: np.random.Generator, split: str) -> list[Trial]:
        out = []
        for s in balanced_order(n, self.n_sequences, rng):
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
            meta = {"split": split, "sequence": int(s), "cue_overlap": overlap(cue, first)}
            out.append(Trial(inputs, targets, phase, patterns, meta))
        return out
