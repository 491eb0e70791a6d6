"""The learner protocol: train on trials, evaluate on trials, report one result record.

Every backend (the spiking network, the LSTM, a user's own learner) runs exactly the same
:class:`~neurosim.tasks.Trial` objects and returns the same :class:`ResultRecord`, so results are compared
field by field. A learner is anything that satisfies :class:`Learner`::

    name: str                  # backend key in results ("snn", "lstm", ...)
    n_inputs, n_outputs: int   # must equal the task's; checked before any training
    n_parameters: int          # trainable synapses / weights currently in use (pruned ones excluded)
    train(trials) -> TrainLog  # learns from the trials; repeated calls continue learning (continual tasks)
    evaluate(trials) -> EvalResult   # answers without learning
    record(evaluation, extra) -> ResultRecord

:class:`LearnerBase` is the small helper that does the common part (size checks before training, wall time,
trial and operation counting, prequential scores, trials to criterion, energy, the record); a new learner
implements only ``_fit`` (learn from trials, returning the answers it gave *before* learning from each trial)
and ``_predict`` (answer trials), plus ``n_parameters``. The GRU learner in ``tests/test_lstm_learner.py``
is an example written outside the package.

Conventions of the record (both backends):

* ``accuracy``: pooled over the scored steps of the test trials (:func:`neurosim.metrics.accuracy`).
* ``train_trials``: training trial presentations, repeats over epochs included.
* ``trials_to_criterion``: presentations until the moving prequential score over ``criterion_window``
  trials reached ``criterion`` (:func:`neurosim.metrics.trials_to_criterion`); None if never.
* ``train_wall_s`` / ``test_wall_s``: wall-clock seconds of learning and of the final evaluation.
* ``parameters``: trainable synapses (spiking) or weights and biases (LSTM) not pruned.
* ``ops``: all operations spent, training plus testing: synaptic events (spiking) or multiply-accumulates
  (LSTM, backward pass included); ``extra["train_ops"]`` and ``extra["test_ops"]`` split them.
* ``energy_j``: ``ops`` × the learner's cited per-operation energy (:mod:`neurosim.metrics`).

:func:`run_task` and :func:`run_continual` add the test's own facts to ``extra``: ``test_correct`` (1 or 0 for
every scored test step, trial after trial: paired tests between learners on the same answers),
``test_answers`` (their number), ``test_repeats`` (test trials identical to a training trial;
:func:`neurosim.tasks.repeats.repeated_trials`) and the wall time per trial, ``train_wall_s_per_trial``
(per presentation) and ``test_wall_s_per_trial``.
"""

from __future__ import annotations

import dataclasses
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from ..metrics import accuracy as pooled_accuracy
from ..metrics import energy_j, mean_overlap, score_trial, trials_to_criterion
from ..serialization import encode
from ..tasks import ContinualAssociative, PatternTask, Task, Trial
from ..tasks.repeats import repeated_trials
from ..validation import ParameterError, check_number, fail


@dataclass(frozen=True, eq=False)
class TrainLog:
    """What one ``train`` call did."""

    trials: int  # trial presentations in this call (repeats over epochs counted)
    scores: tuple[float, ...]  # prequential score of each presentation, in order (NaN: nothing scored)
    presented: tuple[int, ...]  # index into the given trials of each presentation
    wall_s: float  # wall-clock seconds of this call
    ops: int  # operations spent in this call (synaptic events or MACs)
    trials_to_criterion: int | None  # over all training so far (None: not reached yet)
    extra: Mapping[str, Any] = field(default_factory=dict)  # learner-specific (losses, ...)


@dataclass(frozen=True, eq=False)
class EvalResult:
    """What one ``evaluate`` call found."""

    accuracy: float  # pooled over scored steps
    predictions: tuple[np.ndarray, ...]  # int (steps,) per trial, -1 = no decision
    scores: tuple[float, ...]  # per-trial score
    wall_s: float  # wall-clock seconds
    ops: int  # operations spent
    overlap: float | None = None  # mean overlap of recalled states, if the learner reports them
    extra: Mapping[str, Any] = field(default_factory=dict)  # learner-specific


@dataclass(frozen=True)
class ResultRecord:
    """One result, the same fields for every backend (see the module docstring for their conventions)."""

    accuracy: float  # fraction correct over the scored test steps
    train_trials: int  # training presentations
    trials_to_criterion: int | None  # presentations to criterion; None if not reached
    train_wall_s: float  # wall-clock seconds spent learning
    test_wall_s: float  # wall-clock seconds of the final evaluation
    parameters: int  # trainable synapses or weights in use
    ops: int  # synaptic events or multiply-accumulates, training + testing
    energy_j: float  # ops × cited energy per operation
    extra: Mapping[str, Any] = field(default_factory=dict)  # backend-specific facts

    FIELDS: ClassVar[tuple[str, ...]] = (
        "accuracy",
        "train_trials",
        "trials_to_criterion",
        "train_wall_s",
        "test_wall_s",
        "parameters",
        "ops",
        "energy_j",
        "extra",
    )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (numpy scalars and arrays become Python numbers and lists)."""
        return {f.name: encode(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultRecord:
        unknown = sorted(set(data) - set(cls.FIELDS))
        if unknown:
            raise ParameterError(f"ResultRecord: unknown key(s) {unknown}; allowed: {list(cls.FIELDS)}")
        return cls(**{k: data[k] for k in cls.FIELDS if k in data})


@dataclass(frozen=True, eq=False)
class Fit:
    """What a learner's ``_fit`` returns: its answers during training, before learning from each trial."""

    presented: Sequence[int]  # index of the trial of each presentation, in order
    predictions: Sequence[np.ndarray]  # int (steps,) per presentation, -1 = no decision
    ops: int  # operations spent
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Prediction:
    """What a learner's ``_predict`` returns."""

    predictions: Sequence[np.ndarray]  # int (steps,) per trial, -1 = no decision
    ops: int  # operations spent
    recalled: Sequence[np.ndarray] | None = None  # pattern tasks: recalled state (steps, n_units) per trial
    extra: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Learner(Protocol):
    """What every learner provides (see the module docstring)."""

    name: str
    n_inputs: int
    n_outputs: int

    @property
    def n_parameters(self) -> int: ...

    def train(self, trials: Sequence[Trial]) -> TrainLog: ...

    def evaluate(self, trials: Sequence[Trial]) -> EvalResult: ...

    def record(self, evaluation: EvalResult, extra: Mapping[str, Any] | None = None) -> ResultRecord: ...


class LearnerBase(ABC):
    """Helper base implementing :class:`Learner` around two methods, ``_fit`` and ``_predict``.

    Class attributes to set: ``name`` (backend key), ``op_name`` (what ``ops`` counts) and
    ``joules_per_op`` (a cited constant from :mod:`neurosim.metrics`); override :meth:`energy` for more
    detailed accounting (e.g. plastic weight updates).
    """

    name: ClassVar[str] = "learner"
    op_name: ClassVar[str] = "operations"
    joules_per_op: ClassVar[float] = 0.0

    def __init__(
        self, n_inputs: int, n_outputs: int, *, criterion: float = 0.95, criterion_window: int = 50
    ) -> None:
        owner = type(self).__name__
        self.n_inputs = int(check_number(owner, "n_inputs", n_inputs, low=1, integer=True))
        self.n_outputs = int(check_number(owner, "n_outputs", n_outputs, low=1, integer=True))
        self.criterion = check_number(owner, "criterion", criterion, low=0.0, high=1.0)
        self.criterion_window = int(
            check_number(owner, "criterion_window", criterion_window, low=1, integer=True)
        )
        self.trials_seen = 0
        self.train_wall_s = 0.0
        self.train_ops = 0
        self.train_scores: list[float] = []

    # -- to implement -------------------------------------------------------------------------------------
    @property
    @abstractmethod
    def n_parameters(self) -> int:
        """Trainable synapses or weights in use."""

    @abstractmethod
    def _fit(self, trials: Sequence[Trial]) -> Fit:
        """Learn from ``trials`` (checked already); return the answers given before learning from each."""

    @abstractmethod
    def _predict(self, trials: Sequence[Trial]) -> Prediction:
        """Answer ``trials`` (checked already) without learning."""

    def hyperparameters(self) -> dict[str, Any]:
        """The learner's settings, for the results' config (override to document them)."""
        return {}

    def energy(self, ops: int, extra: Mapping[str, Any]) -> float:
        """Energy estimate in joules for ``ops`` operations."""
        return energy_j(ops, self.joules_per_op)

    # -- provided -----------------------------------------------------------------------------------------
    def check_trials(self, trials: Sequence[Trial], what: str = "trials") -> list[Trial]:
        """Fail before any work if the trials do not fit this learner's input or output size."""
        owner = type(self).__name__
        trials = list(trials)
        if not trials:
            fail(owner, what, trials, "expected at least one trial")
        for t in trials:
            if not isinstance(t, Trial):
                fail(owner, what, t, "expected neurosim.tasks.Trial objects")
            if t.n_inputs != self.n_inputs:
                fail(
                    owner,
                    "n_inputs",
                    self.n_inputs,
                    f"the trials have {t.n_inputs} input channels; build the learner for the task's inputs",
                )
            if t.targets.max(initial=-1) >= self.n_outputs:
                fail(
                    owner,
                    "n_outputs",
                    self.n_outputs,
                    f"the trials need classes up to {int(t.targets.max())}; build it for the task's outputs",
                )
        return trials

    def train(self, trials: Sequence[Trial]) -> TrainLog:
        trials = self.check_trials(trials)
        start = time.perf_counter()
        fit = self._fit(trials)
        wall = time.perf_counter() - start
        presented = [int(i) for i in fit.presented]
        if len(presented) != len(fit.predictions):
            fail(type(self).__name__, "_fit", len(presented), "one prediction per presentation")
        scores = tuple(score_trial(trials[i], p) for i, p in zip(presented, fit.predictions, strict=True))
        self.trials_seen += len(presented)
        self.train_wall_s += wall
        self.train_ops += int(fit.ops)
        self.train_scores.extend(scores)
        return TrainLog(
            trials=len(presented),
            scores=scores,
            presented=tuple(presented),
            wall_s=wall,
            ops=int(fit.ops),
            trials_to_criterion=self.trials_to_criterion,
            extra=dict(fit.extra),
        )

    @property
    def trials_to_criterion(self) -> int | None:
        return trials_to_criterion(self.train_scores, self.criterion, self.criterion_window)

    def evaluate(self, trials: Sequence[Trial]) -> EvalResult:
        trials = self.check_trials(trials)
        start = time.perf_counter()
        pred = self._predict(trials)
        wall = time.perf_counter() - start
        predictions = tuple(np.asarray(p, dtype=np.int64) for p in pred.predictions)
        overlap = None
        if pred.recalled is not None and all(t.target_patterns is not None for t in trials):
            overlap = mean_overlap(trials, pred.recalled)
        return EvalResult(
            accuracy=pooled_accuracy(trials, predictions),
            predictions=predictions,
            scores=tuple(score_trial(t, p) for t, p in zip(trials, predictions, strict=True)),
            wall_s=wall,
            ops=int(pred.ops),
            overlap=overlap,
            extra=dict(pred.extra),
        )

    def record(self, evaluation: EvalResult, extra: Mapping[str, Any] | None = None) -> ResultRecord:
        """The result record for all training so far and the final ``evaluation``."""
        ops = self.train_ops + evaluation.ops
        info = {
            "backend": self.name,
            "op_name": self.op_name,
            "train_ops": self.train_ops,
            "test_ops": evaluation.ops,
            "joules_per_op": self.joules_per_op,
            "criterion": self.criterion,
            "criterion_window": self.criterion_window,
            "hyperparameters": self.hyperparameters(),
        }
        if evaluation.overlap is not None:
            info["overlap"] = evaluation.overlap
            info["overlap_source"] = "recalled"
        info.update(extra or {})
        return ResultRecord(
            accuracy=float(evaluation.accuracy),
            train_trials=int(self.trials_seen),
            trials_to_criterion=self.trials_to_criterion,
            train_wall_s=float(self.train_wall_s),
            test_wall_s=float(evaluation.wall_s),
            parameters=int(self.n_parameters),
            ops=int(ops),
            energy_j=float(self.energy(ops, info)),
            extra=info,
        )


def check_compatible(learner: Learner, task: Task) -> None:
    """Fail early if the learner was built for other input or output sizes than the task's."""
    owner = type(learner).__name__
    if learner.n_inputs != task.n_inputs:
        fail(owner, "n_inputs", learner.n_inputs, f"task {task.name} has {task.n_inputs} inputs")
    if learner.n_outputs != task.n_outputs:
        fail(owner, "n_outputs", learner.n_outputs, f"task {task.name} has {task.n_outputs} outputs")


def _overlap_extra(task: Task, trials: Sequence[Trial], evaluation: EvalResult) -> dict[str, Any]:
    if evaluation.overlap is not None or not isinstance(task, PatternTask):
        return {}
    values = [task.prediction_overlap(t, p) for t, p in zip(trials, evaluation.predictions, strict=True)]
    return {"overlap": float(np.nanmean(values)), "overlap_source": "predicted_class"}


def _test_extra(
    learner: Learner, train: Sequence[Trial], test: Sequence[Trial], evaluation: EvalResult
) -> dict[str, Any]:
    """The test's own facts for the record (module docstring)."""
    presented = max(int(getattr(learner, "trials_seen", 0)), 1)
    correct = [
        int(c)
        for t, p in zip(test, evaluation.predictions, strict=True)
        for c in np.asarray(p)[t.scored] == t.targets[t.scored]
    ]
    return {
        "n_outputs": int(learner.n_outputs),
        "test_correct": correct,
        "test_answers": len(correct),
        "test_repeats": repeated_trials(train, test),
        "train_wall_s_per_trial": float(getattr(learner, "train_wall_s", float("nan"))) / presented,
        "test_wall_s_per_trial": float(evaluation.wall_s) / len(test),
    }


def run_task(learner: Learner, task: Task, n_train: int, n_test: int, seed: int = 0) -> ResultRecord:
    """Train ``learner`` on ``n_train`` "train" trials and test it on ``n_test`` "test" trials, both drawn
    from ``seed``; sizes are checked before anything runs. For a continual task use :func:`run_continual`."""
    if isinstance(task, ContinualAssociative):
        return run_continual(learner, task, n_train, n_test, seed)
    check_compatible(learner, task)
    train = task.trials(n_train, seed, "train")
    test = task.trials(n_test, seed, "test")
    learner.train(train)
    evaluation = learner.evaluate(test)
    extra = {
        "task": task.name,
        "seed": seed,
        "n_test": n_test,
        **_overlap_extra(task, test, evaluation),
        **_test_extra(learner, train, test, evaluation),
    }
    return learner.record(evaluation, extra)


def run_continual(
    learner: Learner, task: ContinualAssociative, n_train: int, n_test: int, seed: int = 0
) -> ResultRecord:
    """Continual protocol: train on A (``n_train`` trials), test A; train on B, test A and B.

    ``accuracy`` is over A and B after both were learned; ``extra`` holds ``accuracy_a_before``
    (A right after learning A), ``accuracy_a_after`` and ``accuracy_b`` (after B) and ``retention_a``
    (``accuracy_a_after / accuracy_a_before``). The probe of A between the two training phases is not part
    of ``test_wall_s`` or ``ops``, which cover training and the final test only.
    """
    check_compatible(learner, task)
    train_a = task.trials(n_train, seed, "train_a")
    train_b = task.trials(n_train, seed, "train_b")
    test_a = task.trials(n_test, seed, "test_a")
    test_b = task.trials(n_test, seed, "test_b")
    learner.train(train_a)
    before = learner.evaluate(test_a).accuracy
    learner.train(train_b)
    evaluation = learner.evaluate(test_a + test_b)
    after = pooled_accuracy(test_a, evaluation.predictions[: len(test_a)])
    acc_b = pooled_accuracy(test_b, evaluation.predictions[len(test_a) :])
    extra = {
        "task": task.name,
        "seed": seed,
        "n_test": 2 * n_test,
        "accuracy_a_before": before,
        "accuracy_a_after": after,
        "accuracy_b": acc_b,
        "retention_a": after / before if before > 0 else float("nan"),
        **_overlap_extra(task, test_a + test_b, evaluation),
        **_test_extra(learner, train_a + train_b, test_a + test_b, evaluation),
    }
    return learner.record(evaluation, extra)
