"""The trial format shared by every task and every learner (spiking network, LSTM, ...).

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
Only scored steps count (:meth:`neurosim.tasks.Task.score`, :func:`neurosim.metrics.accuracy`).

How a spiking learner consumes a trial: for step k, encode ``inputs[k]`` into spikes of its input groups
(``neurosim.encoding``: channel c → neurons ``c*g .. c*g+g-1``, spikes within ``[k, k+1) * step_duration``);
simulate; count the spikes of its ``n_outputs`` readout groups during each scored step and decide with
:class:`neurosim.encoding.SpikeCountDecoder`; deliver reward when the decision equals ``targets[k]``.
A learner that runs on whole batches (an RNN) stacks trials with :func:`stack_trials`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..validation import fail

#: Phase labels used by the built-in tasks.
PHASES = ("wait", "store", "value", "delay", "cue", "recall", "choice")


def readonly(array: np.ndarray) -> np.ndarray:
    """A read-only copy of ``array`` (trials and stored patterns are immutable once made)."""
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
        object.__setattr__(self, "inputs", readonly(inputs))
        object.__setattr__(self, "targets", readonly(targets.astype(np.int64)))
        object.__setattr__(self, "phase", tuple(str(p) for p in self.phase))
        if self.target_patterns is not None:
            patterns = np.asarray(self.target_patterns, dtype=float)
            if patterns.ndim != 2 or patterns.shape[0] != inputs.shape[0]:
                fail("Trial", "target_patterns", patterns.shape, "expected (steps, n_units)")
            object.__setattr__(self, "target_patterns", readonly(patterns))
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
