"""Novelty memory: a stream of familiar items with rare novel ones; each item's tag is recalled later.

The von Restorff effect (von Restorff 1933): an item that stands out from a homogeneous list is remembered
better; novelty enhances memory formation (Ranganath & Rainer 2003; Lisman & Grace 2005). Each trial is one
episode: ``n_familiar`` items are each shown ``repeats`` times, paired with a tag that stays the same within
the trial, and ``n_novel`` other items are shown once, each with its own tag, at random places in the
stream after the first ``n_familiar`` steps (so the stream has become familiar before a novel item comes).
After ``delay`` silent steps, every novel item and as many familiar ones are cued alone, in random order:
the answer is the tag they were shown with. Items and tags are drawn anew for every trial, so nothing
carries over between trials: the pairing must be stored from the stream itself, a novel one from a single
presentation.

Channels: ``n_items`` one-hot item channels, then ``n_tags`` one-hot tag channels; a stream step shows one
item and its tag, a cue step the item alone. Targets: the tag (``0 .. n_tags-1``) at cue steps, -1
elsewhere. ``metadata["novel"]``: for each scored step in order, whether its item was novel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from brian2 import Quantity, ms

from ..validation import fail
from .base import Task, check_count
from .trial import Trial


@dataclass(frozen=True)
class NoveltyRecall(Task):
    """Recall the tag of familiar (repeated) and novel (once-seen) items of a stream (see the module)."""

    name: ClassVar[str] = "novelty_recall"

    n_items: int = 12  # item channels (items drawn per trial, without repetition)
    n_tags: int = 4  # tags = answer classes
    n_familiar: int = 3  # items repeated in the stream
    repeats: int = 4  # presentations of each familiar item
    n_novel: int = 2  # items shown once (rare: n_novel << n_familiar * repeats)
    delay: int = 1  # silent steps between the stream and the first cue
    step_duration: Quantity = 200 * ms  # duration of one step on the spiking side

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_count(owner, "n_tags", self.n_tags, low=2)
        check_count(owner, "n_familiar", self.n_familiar, low=1)
        check_count(owner, "repeats", self.repeats, low=2)
        check_count(owner, "n_novel", self.n_novel, low=1, high=self.n_familiar * self.repeats)
        check_count(owner, "delay", self.delay)
        items = check_count(owner, "n_items", self.n_items, low=1)
        if items < self.n_familiar + self.n_novel:
            fail(
                owner,
                "n_items",
                self.n_items,
                f"must be >= n_familiar + n_novel = {self.n_familiar + self.n_novel}",
            )
        if self.n_familiar < self.n_novel:
            fail(
                owner,
                "n_familiar",
                self.n_familiar,
                f"must be >= n_novel = {self.n_novel} (as many are cued)",
            )
        self._check_step_duration()

    @property
    def n_inputs(self) -> int:
        return self.n_items + self.n_tags

    @property
    def n_outputs(self) -> int:
        return self.n_tags

    @property
    def stream_steps(self) -> int:
        """Steps of the stream (familiar presentations plus novel items)."""
        return self.n_familiar * self.repeats + self.n_novel

    def _generate(self, n: int, rng: np.random.Generator, split: str) -> list[Trial]:
        return [self._one_trial(rng, split) for _ in range(n)]

    def _one_trial(self, rng: np.random.Generator, split: str) -> Trial:
        F, N = self.n_familiar, self.n_novel
        items = rng.permutation(self.n_items)[: F + N]  # the first F familiar, the rest novel
        tags = rng.integers(self.n_tags, size=F + N)
        familiar = np.tile(np.arange(F), self.repeats)
        # the first F steps show each familiar item once; the rest of the stream is shuffled
        familiar = np.concatenate([rng.permutation(F), rng.permutation(familiar[F:])])
        places = np.sort(rng.choice(np.arange(F, self.stream_steps), size=N, replace=False))
        stream = np.empty(self.stream_steps, dtype=int)
        novel_at = np.zeros(self.stream_steps, dtype=bool)
        novel_at[places] = True
        stream[novel_at] = F + np.arange(N)
        stream[~novel_at] = familiar
        cued = rng.permutation(np.concatenate([F + np.arange(N), rng.choice(F, size=N, replace=False)]))
        steps = self.stream_steps + self.delay + len(cued)
        inputs = np.zeros((steps, self.n_inputs))
        targets = np.full(steps, -1, dtype=np.int64)
        for k, which in enumerate(stream):
            inputs[k, items[which]] = 1.0
            inputs[k, self.n_items + tags[which]] = 1.0
        first = self.stream_steps + self.delay
        for k, which in enumerate(cued):
            inputs[first + k, items[which]] = 1.0
            targets[first + k] = tags[which]
        phase = ("store",) * self.stream_steps + ("delay",) * self.delay + ("recall",) * len(cued)
        meta = {
            "split": split,
            "novel": [bool(w >= F) for w in cued],
            "items": [int(items[w]) for w in stream],
            "novel_steps": [int(k) for k in np.flatnonzero(novel_at)],
        }
        return Trial(inputs, targets, phase, None, meta)
