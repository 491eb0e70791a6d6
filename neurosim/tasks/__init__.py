"""Memory tasks, defined once in numpy and run unchanged on every learner (spiking network, LSTM, ...).

A task is a frozen description (its knobs, validated when it is written) that generates *trials* for a seed;
nothing here depends on Brian2 or torch, except that ``step_duration`` is a Brian2 quantity for the spiking
side. The modules, from the bottom up:

- :mod:`~neurosim.tasks.trial`: the trial format every learner consumes (:class:`Trial`,
  :func:`stack_trials`);
- :mod:`~neurosim.tasks.patterns`: sparse patterns, degraded cues, balanced order, the cue-then-answer
  trial layout;
- :mod:`~neurosim.tasks.base`: the :class:`Task` and :class:`PatternTask` bases (splits, seeding, scoring)
  and the shared knob checks;
- one module per task family: :mod:`~neurosim.tasks.associative` (associative recall and its continual
  variant), :mod:`~neurosim.tasks.paired` (paired association), :mod:`~neurosim.tasks.store_recall`
  (store-recall working memory), :mod:`~neurosim.tasks.sequence` (sequence recall) and
  :mod:`~neurosim.tasks.novelty` (novelty recall: familiar and once-seen items of a stream).

:data:`TASKS` maps each built-in task's result key to its class.
"""

from .associative import AssociativeRecall, ContinualAssociative
from .base import PatternTask, Task
from .novelty import NoveltyRecall
from .paired import PairedAssociation
from .patterns import make_cue, round_half_up, sample_patterns
from .sequence import SequenceRecall
from .store_recall import StoreRecall
from .trial import PHASES, Trial, TrialBatch, stack_trials

#: Built-in tasks by their result key.
TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (
        AssociativeRecall,
        PairedAssociation,
        StoreRecall,
        SequenceRecall,
        ContinualAssociative,
        NoveltyRecall,
    )
}

__all__ = [
    "PHASES",
    "TASKS",
    "AssociativeRecall",
    "ContinualAssociative",
    "NoveltyRecall",
    "PairedAssociation",
    "PatternTask",
    "SequenceRecall",
    "StoreRecall",
    "Task",
    "Trial",
    "TrialBatch",
    "make_cue",
    "round_half_up",
    "sample_patterns",
    "stack_trials",
]
