"""Readout excitability homeostasis: readout groups that seldom win become more excitable.

With K readout groups, after every judged decision in training each group k's excitability bias moves by

    b_k ← b_k + η · (1/K − won_k),        won_k = 1 for the chosen group, else 0 (all 0: no decision),

so after T decisions b_k = η · (T/K − wins_k): a group that wins more than its share becomes less excitable,
one that never wins more excitable, until it wins sometimes and its pattern can be rewarded. This is DeSieno's
(1988) "conscience" for competitive learning; in neurons, intrinsic plasticity of excitability toward a target
rate (Desai, Rutherford & Turrigiano 1999). Why the spiking learner needs it: the readout is learned by trial
and error, and a group that no pattern has claimed yet loses every competition to the claimed groups (patterns
share units, which drive them); the exploration bias alone rarely lets it win, and a reward baseline makes its
constant punishment "expected". The bias acts in training only (added to the exploration bias, ``I_ext`` of
the readout, at each trial's start); at test the learned weights alone decide.
"""

from __future__ import annotations

import numpy as np


def conscience_step(bias: np.ndarray, decision: int, eta: float) -> np.ndarray:
    """The excitability biases (one per readout group, mV) after one judged ``decision`` (the chosen group,
    or −1 for none): ``bias + eta · (1/K − won)``."""
    won = np.zeros(len(bias))
    if decision >= 0:
        won[decision] = 1.0
    return bias + eta * (1.0 / len(bias) - won)


__all__ = ["conscience_step"]
