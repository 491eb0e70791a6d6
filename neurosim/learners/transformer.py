"""Transformer learner: a small decoder-only Transformer (Vaswani et al. 2017) with a causal mask, trained
with Adam exactly as the LSTM learner (:mod:`neurosim.learners.torch_sequence`).

Each step's input vector is embedded linearly (width ``d``), positions are added (fixed sinusoids
``PE(p, 2i) = sin(p / 10000^(2i/d))``, ``PE(p, 2i+1) = cos(p / 10000^(2i/d))``, which read trials of any
length, or a learned table of ``learned_positions`` rows), then ``L`` pre-norm blocks
(``torch.nn.TransformerEncoderLayer``: self-attention with ``n_heads`` heads, then a ReLU feed-forward of
width ``f = ffn_factor d``, no dropout) in which the causal mask lets step t attend to steps ≤ t only; a final
layer norm and a linear readout give the logits at every step. Decoder-only means no cross-attention, so
each block is an encoder layer under a causal mask, as in GPT.

Parameters (:func:`transformer_parameter_count`, ``P`` learned positions, 0 for sinusoids)::

    n_in d + d + P d + L (4 d² + 2 d f + 9 d + f) + 2 d + d n_out + n_out

Forward multiply-accumulates of one trial of T real steps (:func:`transformer_forward_macs`; matrix products
only, biases, norms, softmax and activations not counted)::

    T (n_in d + L (4 d² + 2 d f) + d n_out) + L d T (T + 1)

(per step: embedding, query/key/value and output projections, feed-forward, readout; the attention of step
t reads t keys and t values, d MACs each, so Σ_t 2 d t = d T (T + 1) per block). Unlike the recurrent
learners, the cost per step grows with the trial's length. Pruning acts on the embedding, attention,
feed-forward and readout weight matrices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from ..validation import check_number, fail
from .torch_sequence import Architecture, TorchSequenceLearner


def transformer_parameter_count(
    n_inputs: int, d_model: int, n_outputs: int, *, n_layers: int, ffn: int, learned_positions: int = 0
) -> int:
    """Trainable parameters of :class:`CausalTransformer` (see the module docstring)."""
    d, f = d_model, ffn
    block = 4 * d * d + 2 * d * f + 9 * d + f
    return n_inputs * d + d + learned_positions * d + n_layers * block + 2 * d + d * n_outputs + n_outputs


def transformer_forward_macs(
    n_inputs: int, d_model: int, n_outputs: int, lengths: Sequence[int], *, n_layers: int, ffn: int
) -> int:
    """Multiply-accumulates of one forward pass over trials of ``lengths`` real steps (module docstring)."""
    d, f = d_model, ffn
    per_step = n_inputs * d + n_layers * (4 * d * d + 2 * d * f) + d * n_outputs
    return int(sum(t * per_step + n_layers * d * t * (t + 1) for t in (int(t) for t in lengths)))


def sinusoidal_positions(steps: int, d_model: int) -> torch.Tensor:
    """The fixed position code of Vaswani et al. 2017, (steps, d_model)."""
    position = torch.arange(steps, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    code = torch.zeros(steps, d_model)
    code[:, 0::2] = torch.sin(position * rate)
    code[:, 1::2] = torch.cos(position * rate[: d_model // 2])
    return code


class CausalTransformer(nn.Module):
    """Embedding + positions, pre-norm blocks under a causal mask, final norm, readout at every step."""

    def __init__(
        self,
        n_inputs: int,
        d_model: int,
        n_outputs: int,
        *,
        n_heads: int,
        n_layers: int,
        ffn: int,
        learned_positions: int = 0,
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(n_inputs, d_model)
        self.positions = nn.Embedding(learned_positions, d_model) if learned_positions else None
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model, n_heads, dim_feedforward=ffn, dropout=0.0, batch_first=True, norm_first=True
            )
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.readout = nn.Linear(d_model, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = x.shape[1]
        h = self.embed(x)
        if self.positions is None:
            h = h + sinusoidal_positions(steps, h.shape[-1])
        else:
            h = h + self.positions(torch.arange(steps))
        mask = nn.Transformer.generate_square_subsequent_mask(steps)
        for block in self.blocks:
            h = block(h, src_mask=mask, is_causal=True)
        return self.readout(self.norm(h))


@dataclass(frozen=True)
class TransformerArchitecture(Architecture):
    """A small causal Transformer (see the module docstring)."""

    d_model: int = 32  # model width; a multiple of n_heads
    n_heads: int = 2  # attention heads per block
    n_layers: int = 2  # blocks
    ffn_factor: int = 2  # feed-forward width / d_model
    learned_positions: int = 0  # rows of a learned position table (longest trial); 0: sinusoidal positions

    size_field: ClassVar[str] = "d_model"

    def __post_init__(self) -> None:
        owner = "TransformerLearner"
        for name, low in (("d_model", 1), ("n_heads", 1), ("n_layers", 1), ("ffn_factor", 1)):
            value = check_number(owner, name, getattr(self, name), low=low, integer=True)
            object.__setattr__(self, name, int(value))
        value = check_number(owner, "learned_positions", self.learned_positions, low=0, integer=True)
        object.__setattr__(self, "learned_positions", int(value))
        if self.d_model % self.n_heads:
            fail(owner, "d_model", self.d_model, f"must be a multiple of n_heads = {self.n_heads}")

    @property
    def size_step(self) -> int:
        return self.n_heads

    @property
    def ffn(self) -> int:
        return self.ffn_factor * self.d_model

    def check_steps(self, owner: str, longest: int) -> None:
        if self.learned_positions and longest > self.learned_positions:
            fail(
                owner,
                "learned_positions",
                self.learned_positions,
                f"the trials have up to {longest} steps; use at least that many, or 0 for sinusoids",
            )

    def parameter_count(self, n_inputs: int, n_outputs: int) -> int:
        return transformer_parameter_count(
            n_inputs,
            self.d_model,
            n_outputs,
            n_layers=self.n_layers,
            ffn=self.ffn,
            learned_positions=self.learned_positions,
        )

    def forward_macs(self, n_inputs: int, n_outputs: int, lengths: Sequence[int]) -> int:
        return transformer_forward_macs(
            n_inputs, self.d_model, n_outputs, lengths, n_layers=self.n_layers, ffn=self.ffn
        )

    def activation_macs(self, lengths: Sequence[int]) -> int:
        """Attention's MACs, ``L d T (T + 1)`` per trial: their operands are cached keys and values."""
        return int(sum(self.n_layers * self.d_model * t * (t + 1) for t in (int(t) for t in lengths)))

    def network(self, n_inputs: int, n_outputs: int) -> nn.Module:
        return CausalTransformer(
            n_inputs,
            self.d_model,
            n_outputs,
            n_heads=self.n_heads,
            n_layers=self.n_layers,
            ffn=self.ffn,
            learned_positions=self.learned_positions,
        )

    def prunable(self) -> tuple[tuple[str, str], ...]:
        blocks = tuple(
            (f"blocks.{i}.{path}", name)
            for i in range(self.n_layers)
            for path, name in (
                ("self_attn", "in_proj_weight"),
                ("self_attn.out_proj", "weight"),
                ("linear1", "weight"),
                ("linear2", "weight"),
            )
        )
        return (("embed", "weight"), *blocks, ("readout", "weight"))


class TransformerLearner(TorchSequenceLearner):
    """A small causal Transformer (width ``d_model``, ``n_heads`` heads, ``n_layers`` blocks, feed-forward
    ``ffn_factor × d_model``, sinusoidal or ``learned_positions``) + readout, trained with Adam on the scored
    steps; the training keywords are :class:`~neurosim.learners.torch_sequence.TorchSequenceLearner`'s.
    Adam's default rate here is 3e-3: at the recurrent learners' 1e-2 attention trains less reliably."""

    name = "transformer"
    architecture_type = TransformerArchitecture
    default_lr = 3e-3

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        *,
        d_model: int = 32,
        n_heads: int = 2,
        n_layers: int = 2,
        ffn_factor: int = 2,
        learned_positions: int = 0,
        **training: Any,
    ) -> None:
        shape = TransformerArchitecture(d_model, n_heads, n_layers, ffn_factor, learned_positions)
        super().__init__(n_inputs, n_outputs, shape, **training)
        self.d_model = shape.d_model


__all__ = [
    "CausalTransformer",
    "TransformerArchitecture",
    "TransformerLearner",
    "sinusoidal_positions",
    "transformer_forward_macs",
    "transformer_parameter_count",
]
