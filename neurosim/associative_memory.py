"""Associative memory: Hebbian storage and recall from a degraded cue, in a Hopfield network and in spikes.

**Hopfield network** (Hopfield 1982), the rate-model reference: ``P`` patterns ξ ∈ {−1, +1}^N are stored
with the Hebbian rule w_ij = Σ_μ ξ_i^μ ξ_j^μ / N (w_ii = 0) and recalled by asynchronous updates
s_k ← sign(Σ_j w_kj s_j) from a cue with some bits flipped; recall is the overlap m = ξ·s / N (1: perfect).
Below the capacity α_c ≈ 0.138 N patterns (Amit, Gutfreund & Sompolinsky 1985) the stored patterns are
fixed points that a cue with few errors falls back into.

**Spiking network**: a partial cue drives part of a stored sparse 0/1 pattern; the pattern is completed when
its *uncued* units fire. :func:`completed_pattern` scores a cue from spike counts: the recalled pattern is
the one whose units outside the cue fire most (mean spikes per unit); a tie or silence recalls nothing, so
a network that does not complete patterns scores 0, not chance. :func:`within_pattern` marks the synapses
that join two units of one pattern, the ones Hebbian storage strengthens.
"""

from __future__ import annotations

import numpy as np

from .validation import check_number, fail


def _binary_patterns(owner: str, patterns: np.ndarray, *, signs: bool = False) -> np.ndarray:
    """``patterns`` as a 2D array of ±1 (``signs``) or 0/1 values, checked."""
    p = np.asarray(patterns)
    allowed = (-1, 1) if signs else (0, 1)
    if p.ndim != 2 or p.size == 0 or not np.isin(p, allowed).all():
        values = "±1" if signs else "0/1"
        fail(
            owner,
            "patterns",
            f"array of shape {p.shape}",
            f"expected a 2D array (patterns, units) of {values}",
        )
    return p.astype(float) if signs else p.astype(bool)


def hebbian(patterns: np.ndarray) -> np.ndarray:
    """Hopfield 1982 weights of ±1 ``patterns`` (rows): ``ξᵀξ / N`` with a zero diagonal."""
    xi = _binary_patterns("hebbian", patterns, signs=True)
    w = xi.T @ xi / xi.shape[1]
    np.fill_diagonal(w, 0.0)
    return w


def hopfield_recall(
    w: np.ndarray, patterns: np.ndarray, rng: np.random.Generator, flip: float, sweeps: int
) -> float:
    """Mean overlap m = ξ·s/N after ``sweeps`` asynchronous sweeps (random order) from each ±1 pattern with
    a fraction ``flip`` of its bits flipped; ``w`` is any (pruned) weight matrix."""
    xi = _binary_patterns("hopfield_recall", patterns, signs=True)
    n = xi.shape[1]
    w = np.asarray(w, dtype=float)
    if w.shape != (n, n):
        fail("hopfield_recall", "w", f"shape {w.shape}", f"expected ({n}, {n}) for patterns of {n} units")
    check_number("hopfield_recall", "flip", flip, low=0, high=1)
    check_number("hopfield_recall", "sweeps", sweeps, low=1, integer=True)
    overlaps = []
    for pattern in xi:
        s = pattern.copy()
        s[rng.choice(n, int(flip * n), replace=False)] *= -1
        for _ in range(int(sweeps)):
            for k in rng.permutation(n):
                s[k] = 1.0 if w[k] @ s >= 0 else -1.0
        overlaps.append(float(pattern @ s) / n)
    return float(np.mean(overlaps))


def within_pattern(patterns: np.ndarray, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Bool per synapse ``pre[k] → post[k]``: both units belong to one of the 0/1 ``patterns``."""
    p = _binary_patterns("within_pattern", patterns)
    pre, post = np.asarray(pre, dtype=np.int64), np.asarray(post, dtype=np.int64)
    n = p.shape[1]
    if pre.shape != post.shape or (
        pre.size and (min(pre.min(), post.min()) < 0 or max(pre.max(), post.max()) >= n)
    ):
        fail(
            "within_pattern",
            "pre/post",
            f"shapes {pre.shape}, {post.shape}",
            f"one pair per synapse, units 0 … {n - 1}",
        )
    return (p[:, pre] & p[:, post]).any(axis=0)


def completed_pattern(counts: np.ndarray, patterns: np.ndarray, cues: np.ndarray) -> np.ndarray:
    """The pattern each cue recalled, from spike counts: int per trial, −1 for none.

    ``counts`` (trials, units): spikes of every unit while the cue was shown; ``cues`` (trials, units): the
    cued units (bool); ``patterns`` (patterns, units): the stored 0/1 patterns. A pattern's score is the
    mean count of its units outside the cue; the recalled pattern is the single highest-scoring one, and
    none (−1) when the best score is 0 or shared.
    """
    owner = "completed_pattern"
    p = _binary_patterns(owner, patterns)
    c = np.asarray(counts, dtype=float)
    q = np.asarray(cues, dtype=bool)
    if c.ndim != 2 or c.shape[1] != p.shape[1]:
        fail(owner, "counts", f"shape {c.shape}", f"expected (trials, {p.shape[1]}) like the patterns")
    if q.shape != c.shape:
        fail(owner, "cues", f"shape {q.shape}", f"expected one row per trial like counts {c.shape}")
    outside = p[None, :, :] & ~q[:, None, :]  # (trials, patterns, units)
    n_outside = outside.sum(axis=2)
    scores = np.einsum("tpu,tu->tp", outside, c) / np.maximum(n_outside, 1)
    best = scores.max(axis=1)
    unique = (scores == best[:, None]).sum(axis=1) == 1
    return np.where(unique & (best > 0), scores.argmax(axis=1), -1).astype(np.int64)


__all__ = ["completed_pattern", "hebbian", "hopfield_recall", "within_pattern"]
