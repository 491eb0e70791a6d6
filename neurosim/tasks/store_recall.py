"""Store-recall: hold a value over a random delay of distractors and report it when asked.

The working-memory task of Bellec et al. (2018), "Long short-term memory and learning-to-learn in networks
of spiking neurons" (LSNN), NeurIPS: a stream of symbols {0, 1, STORE, RECALL}, one per 200 ms step; at each
RECALL the learner must report the value shown right after the last STORE. The class below follows the
LSNN code's generator (STORE and RECALL alternate; the delay is a geometric draw capped at ``max_delay``)
and states the rule once more as :meth:`StoreRecall.targets_for`, so generated trials can be checked
against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from brian2 import Quantity, ms

from ..validation import check_number, fail
from .base import Task, check_count
from .trial import Trial


@dataclass(frozen=True)
class StoreRecall(Task):
    """Store-recall working-memory task (Bellec et al. 2018, LSNN).

    Symbols {0, 1, STORE, RECALL}, one per step, one-hot over ``n_inputs = 2 n_bits + 2`` channels in the
    order ``[bit0=0, bit0=1, ..., STORE, RECALL]`` (for ``n_bits = 1`` exactly the four symbols; the spiking
    encoder expands each channel into a group, e.g. 4 groups × 25 neurons at 50 Hz). A *value* is an
    ``n_bits`` word shown on its bit channels.

    Convention: **the target at each RECALL is the value on the step right after the last STORE**. With
    ``value_with_store=True`` the value is instead shown on the STORE step itself, together with the STORE
    channel (as in the LSNN-official code, which copies the next value onto the STORE step); the target is
    then the value shown with the last STORE. :meth:`targets_for` implements the rule directly on
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
        lo = check_count(owner, "min_delay", self.min_delay)
        hi = check_count(owner, "max_delay", self.max_delay)
        if hi < lo:
            fail(owner, "max_delay", self.max_delay, f"must be >= min_delay = {self.min_delay}")
        check_count(owner, "n_bits", self.n_bits, low=1, high=8)
        check_number(owner, "p_store", self.p_store, low=0.0, high=1.0, low_open=True)
        check_number(owner, "p_recall", self.p_recall, low=0.0, high=1.0, low_open=True)
        check_count(owner, "n_recalls", self.n_recalls, low=1)
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
