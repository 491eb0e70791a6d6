"""Paired association learned from reward: answer each cue pattern with the class it is paired with.

A stimulus-response mapping learned by trial and error, the setting of reward-modulated plasticity
(Izhikevich 2007, "Solving the distal reward problem"; Frémaux & Gerstner 2016): the learner is told only
whether its choice was right, never which class was due.

Test cues are partial (``cue_fraction``) and noisy (``noise``) copies of the trained cues, so a test trial
is not a copy of a training trial and the task measures recall of the mapping, not a lookup of seen inputs;
with ``cue_fraction = 1`` and ``noise = 0`` every test trial repeats a training trial (pure memorisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
from brian2 import Quantity, ms

from ..validation import fail
from .base import Task, check_count, check_cue_knobs, check_patterns
from .patterns import balanced_order, cue_recall_trial, flip_units, make_cue, stored_patterns
from .trial import Trial, readonly


@dataclass(frozen=True)
class PairedAssociation(Task):
    """Paired association learned from reward: each of ``n_pairs`` cue patterns must be answered with its
    target class.

    Cue patterns are sparse binary patterns (as in :class:`~neurosim.tasks.AssociativeRecall`) drawn from
    ``pattern_seed``; cue ``i`` maps to class ``mapping[i]``, a fixed shuffle of ``i mod n_classes`` (so every
    class is used). A trial shows the cue for ``cue_steps`` steps (phase "cue"), then asks for the choice
    during ``response_steps`` silent steps (phase "choice"); reward is due when the choice is correct. Train
    trials show clean cues; test trials keep a fraction ``cue_fraction`` of the cue's active units and flip
    every unit with probability ``noise`` (:func:`~neurosim.tasks.make_cue`).
    ``metadata``: ``pair`` (cue index).
    """

    name: ClassVar[str] = "paired_association"

    n_pairs: int = 8  # number of cue → class pairs
    n_units: int = 50  # units per cue pattern (= input channels)
    coding_level: float = 0.1  # f in (0, 0.5]: fraction of active units per cue
    n_classes: int = 0  # answer classes, 2 .. n_pairs; 0 means one class per pair (n_pairs)
    cue_fraction: float = 1.0  # c in (0, 1]: fraction of the cue's active units kept in test trials
    noise: float = 0.0  # η in [0, 0.5): flip probability of each cue unit in test trials
    cue_steps: int = 1  # steps during which the cue is shown
    response_steps: int = 1  # silent steps after the cue at which the choice is due (0: at last cue step)
    pattern_seed: int = 0  # seed of the cue patterns and the mapping
    step_duration: Quantity = 200 * ms  # duration of one step (spiking side)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_patterns(owner, self.n_pairs, self.n_units, self.coding_level, name="n_pairs")
        n_classes = check_count(owner, "n_classes", self.n_classes)
        if n_classes != 0 and not 2 <= n_classes <= self.n_pairs:
            fail(owner, "n_classes", n_classes, f"must be 0 (one class per pair) or in [2, {self.n_pairs}]")
        check_cue_knobs(self, answer_steps="response_steps")

    @property
    def n_inputs(self) -> int:
        return self.n_units

    @property
    def n_outputs(self) -> int:
        return self.n_classes or self.n_pairs

    @cached_property
    def cues(self) -> np.ndarray:
        """float (n_pairs, n_units): the cue patterns."""
        return stored_patterns(self.n_pairs, self.n_units, self.coding_level, self.pattern_seed)

    @cached_property
    def mapping(self) -> np.ndarray:
        """int (n_pairs,): the class of each cue."""
        rng = np.random.default_rng([self.pattern_seed, 1])
        return readonly(rng.permutation(np.arange(self.n_pairs) % self.n_outputs))

    def _generate(self, n: int, rng: np.random.Generator, split: str) -> list[Trial]:
        out = []
        for i in balanced_order(n, self.n_pairs, rng):
            cue = self.cues[i].copy()
            if split == "test" and self.cue_fraction < 1:
                cue = make_cue(cue, self.cue_fraction, self.noise, rng)
            elif split == "test":
                flip_units(cue, self.noise, rng)
            out.append(
                cue_recall_trial(
                    cue,
                    None,
                    int(self.mapping[i]),
                    cue_steps=self.cue_steps,
                    recall_steps=self.response_steps,
                    cue_phase="cue",
                    recall_phase="choice",
                    metadata={"split": split, "pair": int(i)},
                )
            )
        return out
