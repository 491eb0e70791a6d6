"""LSTM learner: ``torch.nn.LSTM`` + linear readout, trained by backpropagation through time with Adam.

The network reads a trial's input vector at each step (no spike encoding) and emits logits over the
task's classes at every step; the loss is the cross-entropy at the scored steps only (targets -1 are
ignored), averaged over the scored steps of a batch. Trials of different lengths are zero-padded at the end
(:func:`neurosim.tasks.stack_trials`); the LSTM is causal, so padding never changes the answers at real steps.

Reproducibility: the weights are initialised under ``torch.manual_seed(seed)`` (in a forked RNG, so the
caller's torch RNG is untouched) and batches are shuffled by ``np.random.default_rng(seed)``; with a fixed
number of threads the same seed gives the same result. Torch runs on the CPU with ``threads`` threads
(1 by default, 2 at most): for networks this small, thread synchronisation costs more than it saves, most of
all when other processes share the cores.

Compute: ``ops`` counts multiply-accumulates (:func:`neurosim.metrics.lstm_forward_macs` per real step, ×3
for training: forward + backward), dense, whether or not weights were pruned. Energy: MACs × 4.6 pJ
(Horowitz 2014, :data:`neurosim.metrics.E_MAC_FP32_45NM_J`).

Pruning: :meth:`LSTMLearner.prune` applies global magnitude pruning (``torch.nn.utils.prune``,
``L1Unstructured``) over the input, recurrent and readout weight matrices (biases are kept), as the
magnitude pruning of RNNs in Zhu & Gupta 2017 / Narang et al. 2017 (docs/references.md).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from ..metrics import (
    E_MAC_FP32_45NM_J,
    lstm_forward_macs,
    lstm_parameter_count,
    lstm_training_macs,
    score_trial,
    trials_to_criterion,
)
from ..tasks import Task, Trial, stack_trials
from ..validation import check_number, fail
from .base import Fit, LearnerBase, Prediction, check_compatible

#: Weight matrices that :meth:`LSTMLearner.prune` prunes: (module attribute, parameter name).
PRUNABLE = (("rnn", "weight_ih_l0"), ("rnn", "weight_hh_l0"), ("readout", "weight"))


def hidden_size_for_parameters(n_params: int, n_inputs: int, n_outputs: int) -> int:
    """The hidden size whose LSTM (+ readout) parameter count is closest to ``n_params`` (at least 1).

    Parameter count: :func:`neurosim.metrics.lstm_parameter_count`, ``4h(n_in + h + 2) + h n_out + n_out``.
    Use it to match an LSTM to a spiking network's number of trainable synapses.
    """
    owner = "hidden_size_for_parameters"
    n_params = int(check_number(owner, "n_params", n_params, low=1, integer=True))
    n_inputs = int(check_number(owner, "n_inputs", n_inputs, low=1, integer=True))
    n_outputs = int(check_number(owner, "n_outputs", n_outputs, low=1, integer=True))
    # 4h² + (4 n_in + 8 + n_out) h + n_out − n_params = 0
    b = 4 * n_inputs + 8 + n_outputs
    root = (-b + math.sqrt(b * b + 16 * max(n_params - n_outputs, 0))) / 8
    candidates = {max(1, math.floor(root)), max(1, math.ceil(root))}
    return min(
        sorted(candidates),
        key=lambda h: abs(lstm_parameter_count(n_inputs, h, n_outputs) - n_params),
    )


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(min(n, before))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class LSTMLearner(LearnerBase):
    """One-layer LSTM + linear readout, BPTT with Adam on the scored steps (see the module docstring).

    Hyperparameters: ``hidden_size`` units; Adam learning rate ``lr``; ``epochs`` passes over the trials of
    each ``train`` call, in shuffled mini-batches of ``batch_size`` trials, at most ``max_trials``
    presentations per call (0: no limit); gradient norm clipped at ``grad_clip``; ``stop_at_criterion``
    ends a ``train`` call once the moving prequential score of its presentations reaches ``criterion``.
    """

    name = "lstm"
    op_name = "multiply-accumulates"
    joules_per_op = E_MAC_FP32_45NM_J

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        *,
        hidden_size: int = 64,
        lr: float = 1e-2,
        epochs: int = 1,
        batch_size: int = 32,
        max_trials: int = 0,
        grad_clip: float = 1.0,
        seed: int = 0,
        criterion: float = 0.95,
        criterion_window: int = 50,
        stop_at_criterion: bool = False,
        threads: int = 1,
    ) -> None:
        super().__init__(n_inputs, n_outputs, criterion=criterion, criterion_window=criterion_window)
        owner = type(self).__name__
        self.hidden_size = int(check_number(owner, "hidden_size", hidden_size, low=1, integer=True))
        self.lr = check_number(owner, "lr", lr, low=0.0, low_open=True)
        self.epochs = int(check_number(owner, "epochs", epochs, low=1, integer=True))
        self.batch_size = int(check_number(owner, "batch_size", batch_size, low=1, integer=True))
        self.max_trials = int(check_number(owner, "max_trials", max_trials, low=0, integer=True))
        self.grad_clip = check_number(owner, "grad_clip", grad_clip, low=0.0, low_open=True)
        self.seed = int(check_number(owner, "seed", seed, low=0, integer=True))
        self.stop_at_criterion = bool(stop_at_criterion)
        self.threads = int(check_number(owner, "threads", threads, low=1, high=2, integer=True))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.rnn = nn.LSTM(self.n_inputs, self.hidden_size, batch_first=True)
            self.readout = nn.Linear(self.hidden_size, self.n_outputs)
        self._params = [*self.rnn.parameters(), *self.readout.parameters()]
        self.optimizer = torch.optim.Adam(self._params, lr=self.lr)
        self._rng = np.random.default_rng(self.seed)

    @classmethod
    def for_task(cls, task: Task, **kwargs: Any) -> LSTMLearner:
        """A learner sized for ``task`` (its inputs and outputs)."""
        return cls(task.n_inputs, task.n_outputs, **kwargs)

    @classmethod
    def for_parameters(cls, task: Task, n_params: int, **kwargs: Any) -> LSTMLearner:
        """A learner for ``task`` whose parameter count is closest to ``n_params`` (matched sizes)."""
        h = hidden_size_for_parameters(n_params, task.n_inputs, task.n_outputs)
        return cls(task.n_inputs, task.n_outputs, hidden_size=h, **kwargs)

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "hidden_size": self.hidden_size,
            "lr": self.lr,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "max_trials": self.max_trials,
            "grad_clip": self.grad_clip,
            "seed": self.seed,
            "optimizer": "Adam",
            "loss": "cross-entropy on scored steps",
            "pruned_fraction": self.pruned_fraction,
        }

    # -- sizes ----------------------------------------------------------------------------------------------
    @property
    def n_parameters_total(self) -> int:
        """All trainable weights and biases (pruned ones included)."""
        return sum(p.numel() for p in self._params)

    @property
    def n_parameters(self) -> int:
        """Trainable weights and biases not removed by pruning."""
        return self.n_parameters_total - self._n_pruned()

    def _n_pruned(self) -> int:
        masks = [getattr(getattr(self, m), n + "_mask", None) for m, n in PRUNABLE]
        return sum(int((mask == 0).sum()) for mask in masks if mask is not None)

    def prunable_weights(self) -> list[torch.Tensor]:
        """The effective (masked) weight matrices that pruning acts on."""
        return [getattr(getattr(self, m), n).detach() for m, n in PRUNABLE]

    @property
    def n_prunable(self) -> int:
        return sum(w.numel() for w in self.prunable_weights())

    @property
    def n_nonzero_weights(self) -> int:
        """Nonzero entries of the prunable weight matrices."""
        return sum(int((w != 0).sum()) for w in self.prunable_weights())

    @property
    def pruned_fraction(self) -> float:
        """Fraction of the prunable weights removed by pruning so far."""
        return self._n_pruned() / self.n_prunable

    def prune(self, fraction: float) -> int:
        """Prune to a total sparsity of ``fraction`` of the prunable weights (global magnitude pruning,
        ``L1Unstructured``); repeated calls raise the sparsity, never lower it. Returns the number of weights
        pruned in total. Training afterwards keeps pruned weights at zero."""
        fraction = check_number(type(self).__name__, "fraction", fraction, low=0.0, high=1.0)
        target = int(round(fraction * self.n_prunable))
        already = self._n_pruned()
        if target < already:
            fail(
                type(self).__name__,
                "fraction",
                fraction,
                f"must be >= the sparsity already reached ({self.pruned_fraction:.3f}); pruning is permanent",
            )
        if target > already:
            params = [(getattr(self, m), n) for m, n in PRUNABLE]
            torch_prune.global_unstructured(
                params, pruning_method=torch_prune.L1Unstructured, amount=target - already
            )
            # reparametrised parameters are new leaves ``*_orig``: same tensors, so Adam keeps its state.
            self._params = [*self.rnn.parameters(), *self.readout.parameters()]
        return target

    # -- learning -------------------------------------------------------------------------------------------
    def _logits(self, inputs: np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(inputs, dtype=torch.float32)
        hidden, _ = self.rnn(x)
        return self.readout(hidden)

    def _fit(self, trials: Sequence[Trial]) -> Fit:
        presented: list[int] = []
        predictions: list[np.ndarray] = []
        losses: list[float] = []
        ops = 0
        limit = self.max_trials or None
        loss_fn = nn.CrossEntropyLoss(ignore_index=-1)
        with _torch_threads(self.threads):
            self.rnn.train()
            for _ in range(self.epochs):
                order = self._rng.permutation(len(trials))
                for start in range(0, len(order), self.batch_size):
                    idx = order[start : start + self.batch_size]
                    if limit is not None:
                        idx = idx[: max(limit - len(presented), 0)]
                    if idx.size == 0:
                        break
                    batch = stack_trials([trials[i] for i in idx])
                    logits = self._logits(batch.inputs)
                    targets = torch.as_tensor(batch.targets)
                    answers = logits.argmax(dim=-1).numpy()
                    for b, i in enumerate(idx):
                        presented.append(int(i))
                        predictions.append(answers[b, : batch.lengths[b]].astype(np.int64))
                    ops += lstm_training_macs(
                        self.n_inputs, self.hidden_size, self.n_outputs, int(batch.lengths.sum())
                    )
                    if (batch.targets >= 0).any():
                        loss = loss_fn(logits.reshape(-1, self.n_outputs), targets.reshape(-1))
                        self.optimizer.zero_grad()
                        loss.backward()
                        nn.utils.clip_grad_norm_(self._params, self.grad_clip)
                        self.optimizer.step()
                        losses.append(float(loss.detach()))
                    if self._stop(predictions, trials, presented):
                        break
                if (limit is not None and len(presented) >= limit) or self._stop(
                    predictions, trials, presented
                ):
                    break
        return Fit(presented, predictions, ops, {"losses": losses})

    def _stop(self, predictions: list[np.ndarray], trials: Sequence[Trial], presented: list[int]) -> bool:
        if not self.stop_at_criterion:
            return False
        # this call's presentations only: a later call (set B of a continual task) must earn it again
        scores = [score_trial(trials[i], p) for i, p in zip(presented, predictions, strict=True)]
        return trials_to_criterion(scores, self.criterion, self.criterion_window) is not None

    def _predict(self, trials: Sequence[Trial]) -> Prediction:
        predictions: list[np.ndarray] = []
        ops = 0
        with _torch_threads(self.threads), torch.no_grad():
            self.rnn.eval()
            for start in range(0, len(trials), max(self.batch_size, 256)):
                chunk = trials[start : start + max(self.batch_size, 256)]
                batch = stack_trials(chunk)
                answers = self._logits(batch.inputs).argmax(dim=-1).numpy()
                for b in range(len(chunk)):
                    predictions.append(answers[b, : batch.lengths[b]].astype(np.int64))
                ops += lstm_forward_macs(
                    self.n_inputs, self.hidden_size, self.n_outputs, int(batch.lengths.sum())
                )
        return Prediction(predictions, ops)


__all__ = ["LSTMLearner", "PRUNABLE", "check_compatible", "hidden_size_for_parameters"]
