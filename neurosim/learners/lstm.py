"""LSTM learner: ``torch.nn.LSTM`` (Hochreiter & Schmidhuber 1997) + linear readout, trained by
backpropagation through time with Adam.

Training, seeding, sizing, pruning and counting are shared with the other torch learners
(:mod:`neurosim.learners.torch_sequence`); this module adds the LSTM's shape:

* parameters (:func:`neurosim.metrics.lstm_parameter_count`, two bias vectors as PyTorch):
  ``4 h (n_in + h + 2) + h n_out + n_out``;
* forward multiply-accumulates per real step (:func:`neurosim.metrics.lstm_forward_macs`):
  ``4 (n_in h + h h + h) + n_out h`` (the ``+ h`` per gate counts its bias and cell-state terms);
* pruning acts on the input, recurrent and readout weight matrices (:data:`PRUNABLE`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

from ..metrics import lstm_forward_macs, lstm_parameter_count
from ..validation import check_number
from .base import check_compatible
from .torch_sequence import RECURRENT_PRUNABLE, Architecture, RecurrentReadout, TorchSequenceLearner
from .torch_sequence import size_for_parameters as _size_for_parameters

#: Weight matrices that :meth:`LSTMLearner.prune` prunes: (module attribute, parameter name).
PRUNABLE = RECURRENT_PRUNABLE


@dataclass(frozen=True)
class LSTMArchitecture(Architecture):
    """One LSTM layer of ``hidden_size`` units and a linear readout."""

    hidden_size: int = 64  # LSTM units

    size_field: ClassVar[str] = "hidden_size"

    def __post_init__(self) -> None:
        size = check_number("LSTMLearner", "hidden_size", self.hidden_size, low=1, integer=True)
        object.__setattr__(self, "hidden_size", int(size))

    def parameter_count(self, n_inputs: int, n_outputs: int) -> int:
        return lstm_parameter_count(n_inputs, self.hidden_size, n_outputs)

    def forward_macs(self, n_inputs: int, n_outputs: int, lengths: Sequence[int]) -> int:
        return lstm_forward_macs(n_inputs, self.hidden_size, n_outputs, int(sum(lengths)))

    def network(self, n_inputs: int, n_outputs: int) -> nn.Module:
        return RecurrentReadout(nn.LSTM, n_inputs, self.hidden_size, n_outputs)

    def prunable(self) -> tuple[tuple[str, str], ...]:
        return PRUNABLE


def hidden_size_for_parameters(n_params: int, n_inputs: int, n_outputs: int) -> int:
    """The hidden size whose LSTM (+ readout) parameter count is closest to ``n_params`` (at least 1).

    Use it to match an LSTM to a spiking network's number of synapses.
    """
    owner = "hidden_size_for_parameters"
    n_params = int(check_number(owner, "n_params", n_params, low=1, integer=True))
    n_inputs = int(check_number(owner, "n_inputs", n_inputs, low=1, integer=True))
    n_outputs = int(check_number(owner, "n_outputs", n_outputs, low=1, integer=True))
    return _size_for_parameters(LSTMArchitecture(), n_params, n_inputs, n_outputs).hidden_size


class LSTMLearner(TorchSequenceLearner):
    """One-layer LSTM of ``hidden_size`` units + linear readout, BPTT with Adam on the scored steps; the
    training keywords are :class:`~neurosim.learners.torch_sequence.TorchSequenceLearner`'s."""

    name = "lstm"
    architecture_type = LSTMArchitecture

    def __init__(self, n_inputs: int, n_outputs: int, *, hidden_size: int = 64, **training: Any) -> None:
        super().__init__(n_inputs, n_outputs, LSTMArchitecture(hidden_size), **training)
        self.hidden_size = self.architecture.size

    @property
    def rnn(self) -> nn.LSTM:
        return self.network.rnn

    @property
    def readout(self) -> nn.Linear:
        return self.network.readout


__all__ = ["PRUNABLE", "LSTMArchitecture", "LSTMLearner", "check_compatible", "hidden_size_for_parameters"]
