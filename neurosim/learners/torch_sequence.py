"""Conventional sequence learners in torch: what the LSTM, GRU and Transformer learners share.

A network reads a trial's input vector at each step (no spike encoding) and emits logits over the task's
classes at every step; it is trained by backpropagation (through time, for the recurrent ones) with Adam on
the cross-entropy at the scored steps only (targets -1 are ignored), averaged over the scored steps of a
batch. Trials of different lengths are zero-padded at the end (:func:`neurosim.tasks.stack_trials`); every
network here is causal, so padding never changes the answers at real steps.

An architecture is a small frozen description (:class:`Architecture`): it builds its ``torch.nn.Module``
(inputs ``(batch, steps, n_inputs)`` to logits ``(batch, steps, n_outputs)``), states its parameter count
and forward multiply-accumulates as formulas of its size, and names the weight matrices that pruning acts
on. :class:`TorchSequenceLearner` does the rest, once for every architecture:

* **Reproducibility**: weights are initialised under ``torch.manual_seed(seed)`` in a forked RNG (the
  caller's torch RNG is untouched) and batches are shuffled by ``np.random.default_rng(seed)``; with a
  fixed number of threads the same seed gives the same result. Torch runs on the CPU with ``threads``
  threads (1 by default, 2 at most): for networks this small, synchronisation costs more than it saves.
* **Sizing**: :func:`size_for_parameters` / ``for_parameters`` pick the size (hidden units, or the model
  width) whose parameter count is closest to a budget, e.g. a spiking network's synapse count.
* **Compute**: ``ops`` counts multiply-accumulates, the architecture's forward count over the real steps
  (padding excluded), × ``1 + BACKWARD_FORWARD_RATIO`` for training (forward + backward); dense, whether or
  not weights were pruned. Every MAC reads one 32-bit operand from on-chip memory: a weight in a matrix
  product, a cached activation (a key or a value) in attention; the record's extra splits ``weight_reads``
  and ``activation_reads``. Energy: MACs × 4.6 pJ + reads × 5 pJ (Horowitz 2014;
  :func:`neurosim.metrics.energy_breakdown`).
* **Pruning**: :meth:`TorchSequenceLearner.prune` applies global magnitude pruning
  (``torch.nn.utils.prune``, ``L1Unstructured``) over the architecture's weight matrices (biases, norms and
  position tables are kept), as the magnitude pruning of Zhu & Gupta 2017 / Narang et al. 2017.
"""

from __future__ import annotations

import contextlib
import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from ..metrics import (
    BACKWARD_FORWARD_RATIO,
    E_MAC_FP32_45NM_J,
    energy_breakdown,
    score_trial,
    trials_to_criterion,
)
from ..tasks import Task, Trial, stack_trials
from ..validation import check_number, fail
from .base import EvalResult, Fit, LearnerBase, Prediction, ResultRecord

A = TypeVar("A", bound="Architecture")
L = TypeVar("L", bound="TorchSequenceLearner")


class Architecture(ABC):
    """A network's shape, as a frozen dataclass; ``size_field`` names the field that sets its size."""

    size_field: ClassVar[str]

    @property
    def size(self) -> int:
        return int(getattr(self, self.size_field))

    @property
    def size_step(self) -> int:
        """Sizes allowed are multiples of this (1, or e.g. the number of attention heads)."""
        return 1

    def check_steps(self, owner: str, longest: int) -> None:  # noqa: B027 (optional hook)
        """Fail if the network cannot read trials of ``longest`` steps (any length, unless overridden)."""

    def resized(self: A, size: int) -> A:
        return dataclasses.replace(self, **{self.size_field: size})

    @abstractmethod
    def parameter_count(self, n_inputs: int, n_outputs: int) -> int:
        """Trainable weights and biases of the network with its readout."""

    @abstractmethod
    def forward_macs(self, n_inputs: int, n_outputs: int, lengths: Sequence[int]) -> int:
        """Multiply-accumulates of one forward pass over trials of ``lengths`` real steps."""

    def activation_macs(self, lengths: Sequence[int]) -> int:
        """The part of :meth:`forward_macs` whose operand is an activation, not a weight (attention)."""
        return 0

    @abstractmethod
    def network(self, n_inputs: int, n_outputs: int) -> nn.Module:
        """A new network (weights drawn from torch's global RNG, which the learner seeds)."""

    @abstractmethod
    def prunable(self) -> tuple[tuple[str, str], ...]:
        """(submodule path, parameter name) of every weight matrix that pruning acts on."""


def size_for_parameters(architecture: A, n_params: int, n_inputs: int, n_outputs: int) -> A:
    """``architecture`` resized so that its parameter count is closest to ``n_params`` (the smaller size on
    a tie; at least one size step). Counts grow with the size: a doubling, then bisection, search finds it."""
    owner = f"{type(architecture).__name__} sizing"
    n_params = int(check_number(owner, "n_params", n_params, low=1, integer=True))
    n_inputs = int(check_number(owner, "n_inputs", n_inputs, low=1, integer=True))
    n_outputs = int(check_number(owner, "n_outputs", n_outputs, low=1, integer=True))
    step = architecture.size_step

    def count(k: int) -> int:
        return architecture.resized(k * step).parameter_count(n_inputs, n_outputs)

    high = 1
    while count(high) < n_params:
        high *= 2
    low = high // 2  # count(low) < n_params <= count(high), or low == 0
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if count(mid) < n_params else (low, mid)
    best = min({max(low, 1), high}, key=lambda k: (abs(count(k) - n_params), k))
    return architecture.resized(best * step)


class RecurrentReadout(nn.Module):
    """A one-layer recurrent network (``nn.LSTM`` or ``nn.GRU``) with a linear readout at every step."""

    def __init__(self, cell: type[nn.RNNBase], n_inputs: int, hidden_size: int, n_outputs: int) -> None:
        super().__init__()
        self.rnn = cell(n_inputs, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.rnn(x)
        return self.readout(hidden)


#: The weight matrices pruned in a :class:`RecurrentReadout`: input, recurrent and readout weights.
RECURRENT_PRUNABLE = (("rnn", "weight_ih_l0"), ("rnn", "weight_hh_l0"), ("readout", "weight"))


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch with at most ``n`` threads inside the block."""
    before = torch.get_num_threads()
    torch.set_num_threads(min(n, before))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class TorchSequenceLearner(LearnerBase):
    """A torch network of a given :class:`Architecture`, trained with Adam on the scored steps.

    Training settings: Adam learning rate ``lr``; ``epochs`` passes over the trials of each ``train``
    call, in shuffled mini-batches of ``batch_size`` trials, at most ``max_trials`` presentations per call
    (0: no limit); gradient norm clipped at ``grad_clip``; ``stop_at_criterion`` ends a ``train`` call once
    the moving prequential score of its presentations reaches ``criterion``. A subclass sets ``name``,
    ``architecture_type`` and ``default_lr`` (used when ``lr`` is None) and turns its size keywords into the
    architecture.
    """

    op_name = "multiply-accumulates"
    joules_per_op = E_MAC_FP32_45NM_J
    architecture_type: ClassVar[type[Architecture]]
    default_lr: ClassVar[float] = 1e-2

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        architecture: Architecture,
        *,
        lr: float | None = None,
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
        self.architecture = architecture
        self.lr = check_number(owner, "lr", self.default_lr if lr is None else lr, low=0.0, low_open=True)
        self.epochs = int(check_number(owner, "epochs", epochs, low=1, integer=True))
        self.batch_size = int(check_number(owner, "batch_size", batch_size, low=1, integer=True))
        self.max_trials = int(check_number(owner, "max_trials", max_trials, low=0, integer=True))
        self.grad_clip = check_number(owner, "grad_clip", grad_clip, low=0.0, low_open=True)
        self.seed = int(check_number(owner, "seed", seed, low=0, integer=True))
        self.stop_at_criterion = bool(stop_at_criterion)
        self.threads = int(check_number(owner, "threads", threads, low=1, high=2, integer=True))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.network = architecture.network(self.n_inputs, self.n_outputs)
        self._params = list(self.network.parameters())
        self.optimizer = torch.optim.Adam(self._params, lr=self.lr)
        self._rng = np.random.default_rng(self.seed)
        self.train_activation_reads = 0

    @classmethod
    def for_task(cls: type[L], task: Task, **kwargs: Any) -> L:
        """A learner sized for ``task`` (its inputs and outputs)."""
        return cls(task.n_inputs, task.n_outputs, **kwargs)

    @classmethod
    def for_parameters(cls: type[L], task: Task, n_params: int, **kwargs: Any) -> L:
        """A learner for ``task`` whose parameter count is closest to ``n_params`` (matched sizes); the
        other keywords are the constructor's (architecture and training settings)."""
        fields = {f.name for f in dataclasses.fields(cls.architecture_type)}
        shape = cls.architecture_type(**{k: v for k, v in kwargs.items() if k in fields})
        size = size_for_parameters(shape, n_params, task.n_inputs, task.n_outputs).size
        return cls(task.n_inputs, task.n_outputs, **{**kwargs, shape.size_field: size})

    def hyperparameters(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self.architecture),
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

    def record(self, evaluation: EvalResult, extra: Mapping[str, Any] | None = None) -> ResultRecord:
        """The result record; ``extra`` adds ``parameters_total`` (pruned ones included),
        ``nonzero_weights`` (nonzero entries of the weight matrices), the operand reads and the
        energy by operation (:meth:`energy_counts`)."""
        info = {
            "parameters_total": self.n_parameters_total,
            "nonzero_weights": self.n_nonzero_weights,
            **self.energy_counts(self.train_ops + evaluation.ops, evaluation),
        }
        return super().record(evaluation, {**info, **(extra or {})})

    def energy_counts(self, macs: int, evaluation: EvalResult) -> dict[str, Any]:
        """Operations of training and the final test: MACs, operand reads (one per MAC: weights, or
        activations in attention) and their energy (:func:`neurosim.metrics.energy_breakdown`)."""
        activation = self.train_activation_reads + int(evaluation.extra.get("activation_reads", 0))
        counts = {"multiply_accumulates": macs, "memory_reads": macs}
        return {
            "weight_reads": macs - activation,
            "activation_reads": activation,
            "energy_counts": counts,
            "energy_breakdown": energy_breakdown(counts),
        }

    def energy(self, ops: int, extra: Mapping[str, Any]) -> float:
        """MACs × 4.6 pJ + one 32-bit SRAM read per MAC × 5 pJ (:mod:`neurosim.metrics`)."""
        return energy_breakdown({"multiply_accumulates": ops, "memory_reads": ops})["energy_j"]

    # -- sizes ----------------------------------------------------------------------------------------------
    @property
    def n_parameters_total(self) -> int:
        """All trainable weights and biases (pruned ones included)."""
        return sum(p.numel() for p in self._params)

    @property
    def n_parameters(self) -> int:
        """Trainable weights and biases not removed by pruning."""
        return self.n_parameters_total - self._n_pruned()

    def _prunable_modules(self) -> list[tuple[nn.Module, str]]:
        return [(self.network.get_submodule(path), name) for path, name in self.architecture.prunable()]

    def _n_pruned(self) -> int:
        masks = [getattr(module, name + "_mask", None) for module, name in self._prunable_modules()]
        return sum(int((mask == 0).sum()) for mask in masks if mask is not None)

    def prunable_weights(self) -> list[torch.Tensor]:
        """The effective (masked) weight matrices that pruning acts on."""
        return [getattr(module, name).detach() for module, name in self._prunable_modules()]

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
            torch_prune.global_unstructured(
                self._prunable_modules(), pruning_method=torch_prune.L1Unstructured, amount=target - already
            )
            # reparametrised parameters are new leaves ``*_orig``: same tensors, so Adam keeps its state.
            self._params = list(self.network.parameters())
        return target

    # -- counting -------------------------------------------------------------------------------------------
    def forward_macs(self, lengths: Sequence[int]) -> int:
        """Forward multiply-accumulates over trials of ``lengths`` real steps (the architecture's formula)."""
        return self.architecture.forward_macs(self.n_inputs, self.n_outputs, lengths)

    def training_macs(self, lengths: Sequence[int]) -> int:
        """Forward + backward: ``1 + BACKWARD_FORWARD_RATIO`` forward passes (Kaplan et al. 2020)."""
        return int(round((1 + BACKWARD_FORWARD_RATIO) * self.forward_macs(lengths)))

    # -- learning -------------------------------------------------------------------------------------------
    def check_trials(self, trials: Sequence[Trial], what: str = "trials") -> list[Trial]:
        trials = super().check_trials(trials, what)
        self.architecture.check_steps(type(self).__name__, max(t.n_steps for t in trials))
        return trials

    def _logits(self, inputs: np.ndarray) -> torch.Tensor:
        return self.network(torch.as_tensor(inputs, dtype=torch.float32))

    def _fit(self, trials: Sequence[Trial]) -> Fit:
        presented: list[int] = []
        predictions: list[np.ndarray] = []
        losses: list[float] = []
        ops = 0
        limit = self.max_trials or None
        loss_fn = nn.CrossEntropyLoss(ignore_index=-1)
        with torch_threads(self.threads):
            self.network.train()
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
                    ops += self.training_macs(batch.lengths)
                    self.train_activation_reads += self._scaled(self.architecture.activation_macs, batch)
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
        ops = activation = 0
        chunk_size = max(self.batch_size, 256)
        with torch_threads(self.threads), torch.no_grad():
            self.network.eval()
            for start in range(0, len(trials), chunk_size):
                chunk = trials[start : start + chunk_size]
                batch = stack_trials(chunk)
                answers = self._logits(batch.inputs).argmax(dim=-1).numpy()
                for b in range(len(chunk)):
                    predictions.append(answers[b, : batch.lengths[b]].astype(np.int64))
                ops += self.forward_macs(batch.lengths)
                activation += self.architecture.activation_macs(batch.lengths)
        return Prediction(predictions, ops, extra={"activation_reads": activation})

    def _scaled(self, count: Any, batch: Any) -> int:
        """A forward count of ``batch`` × ``1 + BACKWARD_FORWARD_RATIO`` (training)."""
        return int(round((1 + BACKWARD_FORWARD_RATIO) * count(batch.lengths)))


__all__ = [
    "RECURRENT_PRUNABLE",
    "Architecture",
    "RecurrentReadout",
    "TorchSequenceLearner",
    "size_for_parameters",
    "torch_threads",
]
