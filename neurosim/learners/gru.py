"""GRU learner: ``torch.nn.GRU`` (gated recurrent unit, Cho et al. 2014) + linear readout, trained by
backpropagation through time with Adam, exactly as the LSTM learner (:mod:`neurosim.learners.torch_sequence`).

The GRU has two gates (reset r, update z) and a candidate state n, so three weight blocks where the LSTM has
four (PyTorch's form, with separate input and recurrent biases)::

    r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))      h' = (1 − z) ⊙ n + z ⊙ h

Parameters: ``3 h (n_in + h + 2) + h n_out + n_out`` (:func:`gru_parameter_count`). Forward
multiply-accumulates per real step: ``3 (n_in h + h h + h) + n_out h`` (:func:`gru_forward_macs`; the ``+ h``
per block counts its bias and elementwise terms, the LSTM's convention in :mod:`neurosim.metrics`). Pruning
acts on the input, recurrent and readout weight matrices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

from ..validation import check_number
from .torch_sequence import RECURRENT_PRUNABLE, Architecture, RecurrentReadout, TorchSequenceLearner


def gru_parameter_count(n_inputs: int, hidden_size: int, n_outputs: int) -> int:
    """Trainable parameters of a one-layer ``torch.nn.GRU`` + linear readout:
    ``3 h (n_in + h + 2) + h n_out + n_out``."""
    h = hidden_size
    return 3 * h * (n_inputs + h + 2) + h * n_outputs + n_outputs


def gru_forward_macs(n_inputs: int, hidden_size: int, n_outputs: int, steps: int) -> int:
    """Multiply-accumulates of one GRU forward pass over ``steps`` steps with a readout at every step:
    ``3 (n_in h + h h + h) steps + n_out h steps``."""
    h = hidden_size
    return int(3 * (n_inputs * h + h * h + h) * steps + n_outputs * h * steps)


@dataclass(frozen=True)
class GRUArchitecture(Architecture):
    """One GRU layer of ``hidden_size`` units and a linear readout."""

    hidden_size: int = 64  # GRU units

    size_field: ClassVar[str] = "hidden_size"

    def __post_init__(self) -> None:
        size = check_number("GRULearner", "hidden_size", self.hidden_size, low=1, integer=True)
        object.__setattr__(self, "hidden_size", int(size))

    def parameter_count(self, n_inputs: int, n_outputs: int) -> int:
        return gru_parameter_count(n_inputs, self.hidden_size, n_outputs)

    def forward_macs(self, n_inputs: int, n_outputs: int, lengths: Sequence[int]) -> int:
        return gru_forward_macs(n_inputs, self.hidden_size, n_outputs, int(sum(lengths)))

    def network(self, n_inputs: int, n_outputs: int) -> nn.Module:
        return RecurrentReadout(nn.GRU, n_inputs, self.hidden_size, n_outputs)

    def prunable(self) -> tuple[tuple[str, str], ...]:
        return RECURRENT_PRUNABLE


class GRULearner(TorchSequenceLearner):
    """One-layer GRU of ``hidden_size`` units + linear readout, BPTT with Adam on the scored steps; the
    training keywords are :class:`~neurosim.learners.torch_sequence.TorchSequenceLearner`'s."""

    name = "gru"
    architecture_type = GRUArchitecture

    def __init__(self, n_inputs: int, n_outputs: int, *, hidden_size: int = 64, **training: Any) -> None:
        super().__init__(n_inputs, n_outputs, GRUArchitecture(hidden_size), **training)
        self.hidden_size = self.architecture.size

    @property
    def rnn(self) -> nn.GRU:
        return self.network.rnn

    @property
    def readout(self) -> nn.Linear:
        return self.network.readout


__all__ = ["GRUArchitecture", "GRULearner", "gru_forward_macs", "gru_parameter_count"]
