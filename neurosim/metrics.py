"""Metrics shared by every learner: accuracy, pattern overlap, trials to criterion, compute and energy.

Accuracy
    :func:`accuracy` pools the scored steps of all trials (correct answers / answers due), so a store-recall
    trial with three RECALLs counts three answers; a step without a decision (-1) is wrong.
Overlap
    :func:`overlap` is the standard overlap of sparse-pattern memories (Tsodyks & Feigel'man 1988),
    ``m = Σ_i (ξ_i − f) s_i / (N f (1 − f))`` for the stored pattern ξ (coding level ``f = mean ξ``) and the
    recalled state s: 1 for perfect recall, ≈ c for a clean cue keeping a fraction c of the active units,
    ≈ 0 for an unrelated pattern of the same coding level, never above 1 for a binary s.
Trials to criterion
    :func:`trials_to_criterion`: how many training trials were seen when the moving average of per-trial
    scores over the last ``window`` trials first reached the criterion. Scores are *prequential*: a trial's
    answer is scored before the learner learns from it (the LSTM scores each batch before its gradient step;
    a spiking learner scores its decision before the reward).
Compute
    LSTM: multiply-accumulates, :func:`lstm_forward_macs` = ``4 (n_in h + h h + h) steps + n_out h steps``
    (the ``+ h`` counts the per-gate bias and cell-state terms; the readout runs at every step); training
    costs ``1 + BACKWARD_FORWARD_RATIO`` forward passes (Kaplan et al. 2020, "Scaling laws for neural language
    models": ≈ 2N FLOPs per token forward, 4N backward). Spiking network: synaptic events (one presynaptic
    spike arriving at one synapse), counted by the spiking learner during simulation.
Energy
    Per-operation constants, named below with their sources, counted on both sides
    (:func:`energy_breakdown`): a spiking network pays per synaptic event, per neuron update (every neuron,
    every time step) and per plastic weight update (Loihi, 14 nm; Davies et al. 2018); a conventional network
    pays per multiply-accumulate and per 32-bit operand read from on-chip SRAM (a weight for a matrix
    product, a cached key or value for attention; 45 nm, Horowitz 2014). Static power, DRAM traffic and the
    host are left out, and the two sides' figures come from different process nodes (14 nm vs 45 nm: at
    equal design, dynamic energy per operation falls several-fold from 45 to 14 nm), so compare orders of
    magnitude, not the power drawn by a given computer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from .validation import ParameterError, check_number, fail

#: 32-bit float multiply, 45 nm CMOS at 0.9 V: 3.7 pJ (M. Horowitz, "Computing's energy problem (and what we
#: can do about it)", ISSCC 2014, Digest of Technical Papers, pp. 10–14).
E_FP32_MULT_45NM_J = 3.7e-12
#: 32-bit float add, 45 nm CMOS at 0.9 V: 0.9 pJ (Horowitz, ISSCC 2014).
E_FP32_ADD_45NM_J = 0.9e-12
#: One 32-bit float multiply-accumulate = one multiply + one add: 4.6 pJ (Horowitz, ISSCC 2014).
E_MAC_FP32_45NM_J = E_FP32_MULT_45NM_J + E_FP32_ADD_45NM_J
#: Minimum energy per synaptic spike operation on Intel Loihi (14 nm): 23.6 pJ (M. Davies et al., "Loihi: a
#: neuromorphic manycore processor with on-chip learning", IEEE Micro 38(1):82–99, 2018, Table 1).
E_SYNOP_LOIHI_J = 23.6e-12
#: Energy per synaptic weight update (pairwise STDP) on Loihi: 120 pJ (Davies et al. 2018, Table 1).
E_SYNUPDATE_LOIHI_J = 120e-12
#: Energy per neuron update (one compartment, one time step) on Loihi: 81 pJ for an active neuron, 52 pJ
#: for an inactive one (Davies et al. 2018, Table 1). Every neuron of a simulated network is updated at
#: every step, so the active figure is charged (the higher one: the spiking side is not flattered).
E_NEURON_UPDATE_LOIHI_J = 81e-12
#: 32-bit read from an 8 kB on-chip SRAM cache, 45 nm: 5 pJ (Horowitz, ISSCC 2014, as tabulated by S. Han et
#: al., "Learning both weights and connections for efficient neural networks", NeurIPS 2015, Table 1).
E_SRAM_READ_32BIT_45NM_J = 5e-12
#: Backward pass ≈ 2 × forward pass (Kaplan et al. 2020, arXiv:2001.08361: training ≈ 6N FLOPs per token,
#: inference ≈ 2N), so a training step costs 3 forward passes.
BACKWARD_FORWARD_RATIO = 2.0


class ScoredTrial(Protocol):
    """What scoring reads from a trial (:class:`neurosim.tasks.Trial` has it): the class due at each step
    (``targets``, -1 = none), the number of steps, the scored steps and, for pattern trials, the due
    patterns. Metrics read these plain arrays only, so they depend on no task code."""

    @property
    def targets(self) -> np.ndarray: ...

    @property
    def n_steps(self) -> int: ...

    @property
    def reward_steps(self) -> np.ndarray: ...

    @property
    def target_patterns(self) -> np.ndarray | None: ...


def _predictions(trial: ScoredTrial, predictions: Any) -> np.ndarray:
    p = np.asarray(predictions)
    if p.shape != (trial.n_steps,) or not (np.issubdtype(p.dtype, np.integer) or p.size == 0):
        fail("score", "predictions", p.shape, f"expected integers of shape ({trial.n_steps},), -1 = none")
    return p


def correct_and_due(trial: ScoredTrial, predictions: Any) -> tuple[int, int]:
    """(number of scored steps answered correctly, number of scored steps) for one trial."""
    p = _predictions(trial, predictions)
    mask = trial.targets >= 0
    return int(np.sum(p[mask] == trial.targets[mask])), int(mask.sum())


def score_trial(trial: ScoredTrial, predictions: Any) -> float:
    """Fraction of the trial's scored steps answered correctly (NaN if nothing is scored)."""
    correct, due = correct_and_due(trial, predictions)
    return correct / due if due else float("nan")


def accuracy(trials: Sequence[ScoredTrial], predictions: Sequence[Any]) -> float:
    """Correct answers / answers due, pooled over the scored steps of all trials."""
    if len(trials) != len(predictions):
        fail("accuracy", "predictions", len(predictions), f"expected one array per trial ({len(trials)})")
    correct = due = 0
    for trial, p in zip(trials, predictions, strict=True):
        c, d = correct_and_due(trial, p)
        correct += c
        due += d
    if due == 0:
        raise ParameterError("accuracy: the trials contain no scored steps")
    return correct / due


def overlap(recalled: Any, pattern: Any) -> float:
    """Overlap ``Σ (ξ_i − f) s_i / (N f (1 − f))`` of a recalled state ``s`` with a binary pattern ``ξ``."""
    s = np.asarray(recalled, dtype=float)
    xi = np.asarray(pattern, dtype=float)
    if s.shape != xi.shape or xi.ndim != 1:
        fail("overlap", "recalled", s.shape, f"expected a vector shaped like the pattern {xi.shape}")
    f = xi.mean()
    if not 0 < f < 1:
        fail("overlap", "pattern", f"coding level {f}", "a pattern needs both active and silent units")
    return float(np.dot(xi - f, s) / (xi.size * f * (1 - f)))


def mean_overlap(trials: Sequence[ScoredTrial], recalled: Sequence[Any]) -> float:
    """Mean :func:`overlap` over the scored steps of pattern trials, for recalled states given as arrays
    (steps, n_units) per trial (e.g. a spiking network's binarised memory activity)."""
    values = []
    for trial, r in zip(trials, recalled, strict=True):
        if trial.target_patterns is None:
            fail("mean_overlap", "trials", "trial", "expected pattern trials (with target_patterns)")
        r = np.asarray(r, dtype=float)
        for k in trial.reward_steps:
            values.append(overlap(r[k], trial.target_patterns[k]))
    if not values:
        raise ParameterError("mean_overlap: the trials contain no scored steps")
    return float(np.mean(values))


def trials_to_criterion(scores: Sequence[float], criterion: float = 0.95, window: int = 50) -> int | None:
    """Trials seen when the mean of the last ``window`` per-trial scores first reaches ``criterion``.

    Returns the 1-based count of trials (``window`` at the earliest), or None if never reached. NaN scores
    (trials with nothing scored) are skipped.
    """
    check_number("trials_to_criterion", "criterion", criterion, low=0.0, high=1.0)
    window = int(check_number("trials_to_criterion", "window", window, low=1, integer=True))
    s = np.asarray(scores, dtype=float)
    idx = np.flatnonzero(~np.isnan(s))
    if idx.size < window:
        return None
    moving = np.convolve(s[idx], np.ones(window) / window, mode="valid")
    hit = np.flatnonzero(moving >= criterion - 1e-12)
    return None if hit.size == 0 else int(idx[hit[0] + window - 1] + 1)


def lstm_parameter_count(n_inputs: int, hidden_size: int, n_outputs: int) -> int:
    """Trainable parameters of a one-layer ``torch.nn.LSTM`` (two bias vectors, as PyTorch) + linear readout:
    ``4 h (n_in + h + 2) + h n_out + n_out``."""
    h = hidden_size
    return 4 * h * (n_inputs + h + 2) + h * n_outputs + n_outputs


def lstm_forward_macs(n_inputs: int, hidden_size: int, n_outputs: int, steps: int) -> int:
    """Multiply-accumulates of one LSTM forward pass over ``steps`` steps with a readout at every step:
    ``4 (n_in h + h h + h) steps + n_out h steps``."""
    h = hidden_size
    return int(4 * (n_inputs * h + h * h + h) * steps + n_outputs * h * steps)


def lstm_training_macs(n_inputs: int, hidden_size: int, n_outputs: int, steps: int) -> int:
    """Forward + backward MACs for training on ``steps`` steps (``1 + BACKWARD_FORWARD_RATIO`` forwards)."""
    forward = lstm_forward_macs(n_inputs, hidden_size, n_outputs, steps)
    return int(round((1 + BACKWARD_FORWARD_RATIO) * forward))


def energy_j(ops: float, joules_per_op: float) -> float:
    """Energy estimate: operations × energy per operation."""
    check_number("energy_j", "ops", ops, low=0)
    check_number("energy_j", "joules_per_op", joules_per_op, low=0)
    return float(ops) * float(joules_per_op)


def lstm_energy_j(macs: float) -> float:
    """LSTM arithmetic energy: MACs × :data:`E_MAC_FP32_45NM_J` (4.6 pJ)."""
    return energy_j(macs, E_MAC_FP32_45NM_J)


def snn_energy_j(synaptic_events: float, synaptic_updates: float = 0) -> float:
    """Spiking network energy on Loihi-like hardware: events × 23.6 pJ + plastic weight updates × 120 pJ."""
    return energy_j(synaptic_events, E_SYNOP_LOIHI_J) + energy_j(synaptic_updates, E_SYNUPDATE_LOIHI_J)


#: What each counted operation costs (J), by the name used in :func:`energy_breakdown`.
JOULES_PER_OPERATION = {
    "synaptic_events": E_SYNOP_LOIHI_J,
    "neuron_updates": E_NEURON_UPDATE_LOIHI_J,
    "plastic_updates": E_SYNUPDATE_LOIHI_J,
    "multiply_accumulates": E_MAC_FP32_45NM_J,
    "memory_reads": E_SRAM_READ_32BIT_45NM_J,
}


def energy_breakdown(counts: dict[str, float]) -> dict[str, float]:
    """Energy of counted operations: ``{NAME: count}`` (names of :data:`JOULES_PER_OPERATION`) gives
    ``{NAME + "_j": count × its energy}`` and ``"energy_j"``, their sum."""
    out: dict[str, float] = {}
    for name, count in counts.items():
        if name not in JOULES_PER_OPERATION:
            fail("energy_breakdown", "counts", name, f"allowed: {sorted(JOULES_PER_OPERATION)}")
        out[f"{name}_j"] = energy_j(count, JOULES_PER_OPERATION[name])
    out["energy_j"] = float(sum(out.values()))
    return out


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Mean, standard deviation (ddof 1), standard error and count over seeds (NaNs dropped)."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    v = v[~np.isnan(v)]
    n = v.size
    std = float(v.std(ddof=1)) if n > 1 else 0.0
    return {
        "mean": float(v.mean()) if n else float("nan"),
        "std": std,
        "sem": std / np.sqrt(n) if n > 1 else 0.0,
        "n": n,
    }
