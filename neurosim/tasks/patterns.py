"""Sparse binary patterns, degraded cues and the cue-then-answer trial layout shared by the pattern tasks.

A stored pattern has exactly ``K = round_half_up(f N)`` active units of ``N`` (coding level ``f``), as in the
sparse associative memories of Tsodyks & Feigel'man (1988); patterns are distinct and drawn from a seed of
their own, so every split of a task sees the same patterns. A cue keeps a fraction of a pattern's active
units and flips every unit with a small probability (:func:`make_cue`). Trials cycle through the classes
in shuffled blocks that each hold every class once (:func:`balanced_order`).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..validation import fail
from .trial import Trial, readonly


def round_half_up(x: float) -> int:
    """Round to the nearest integer, halves up (``round_half_up(2.5) == 3``; Python's ``round`` gives 2)."""
    return int(math.floor(x + 0.5))


def sample_patterns(n_patterns: int, n_units: int, n_active: int, rng: np.random.Generator) -> np.ndarray:
    """``n_patterns`` distinct binary patterns of ``n_units`` units with exactly ``n_active`` ones each.

    Raises :class:`~neurosim.validation.ParameterError` if fewer than ``n_patterns`` distinct codes exist.
    """
    n_codes = math.comb(n_units, n_active)
    if n_patterns > n_codes:
        fail(
            "sample_patterns",
            "n_patterns",
            n_patterns,
            f"only C({n_units}, {n_active}) = {n_codes} distinct patterns exist",
        )
    out = np.zeros((n_patterns, n_units))
    if n_codes <= max(10_000, 2 * n_patterns):
        codes = list(itertools.combinations(range(n_units), n_active))
        chosen = rng.choice(len(codes), size=n_patterns, replace=False)
        for row, c in enumerate(chosen):
            out[row, list(codes[c])] = 1.0
        return out
    seen: set[tuple[int, ...]] = set()
    row = 0
    while row < n_patterns:
        active = tuple(sorted(rng.choice(n_units, size=n_active, replace=False).tolist()))
        if active in seen:
            continue
        seen.add(active)
        out[row, list(active)] = 1.0
        row += 1
    return out


def stored_patterns(n_patterns: int, n_units: int, coding_level: float, seed: int) -> np.ndarray:
    """A task's stored patterns (read-only): :func:`sample_patterns` with ``round_half_up(f N)`` active
    units, drawn by ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    n_active = round_half_up(coding_level * n_units)
    return readonly(sample_patterns(n_patterns, n_units, n_active, rng))


def flip_units(x: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Flip every unit of the binary vector ``x`` (0 ↔ 1, in place) independently with probability
    ``noise``; draws nothing from ``rng`` when ``noise`` is 0. Returns ``x``."""
    if noise > 0:
        flips = rng.random(x.shape) < noise
        x[flips] = 1.0 - x[flips]
    return x


def make_cue(pattern: np.ndarray, cue_fraction: float, noise: float, rng: np.random.Generator) -> np.ndarray:
    """A degraded copy of a binary ``pattern``.

    Keeps ``max(1, round_half_up(cue_fraction * K))`` of its ``K`` active units (chosen at random), silences
    the rest, then flips every unit (0 ↔ 1) independently with probability ``noise``.
    """
    active = np.flatnonzero(pattern > 0)
    keep = max(1, round_half_up(cue_fraction * active.size))
    cue = np.zeros(pattern.shape)
    cue[rng.choice(active, size=keep, replace=False)] = 1.0
    return flip_units(cue, noise, rng)


def balanced_order(n: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` class indices: shuffled blocks that each contain every class once (balanced presentation)."""
    blocks = [rng.permutation(n_classes) for _ in range(-(-n // n_classes))] if n else []
    return np.concatenate(blocks)[:n] if blocks else np.zeros(0, dtype=int)


def cue_recall_trial(
    shown: np.ndarray,
    pattern: np.ndarray | None,
    target: int,
    *,
    cue_steps: int,
    recall_steps: int,
    cue_phase: str,
    metadata: dict[str, Any],
    recall_phase: str = "recall",
) -> Trial:
    """``cue_steps`` steps showing ``shown`` (phase ``cue_phase``), then ``recall_steps`` silent steps (phase
    ``recall_phase``) at which ``target`` is due (if ``recall_steps`` is 0, the answer is due at the last cue
    step). ``pattern`` is the due pattern (``target_patterns``), or None for a plain class answer."""
    steps = cue_steps + recall_steps
    inputs = np.zeros((steps, shown.size))
    inputs[:cue_steps] = shown
    targets = np.full(steps, -1, dtype=np.int64)
    scored = slice(cue_steps, steps) if recall_steps else slice(cue_steps - 1, cue_steps)
    targets[scored] = target
    patterns = None
    if pattern is not None:
        patterns = np.zeros((steps, pattern.size))
        patterns[scored] = pattern
    phase = (cue_phase,) * cue_steps + (recall_phase,) * recall_steps
    return Trial(inputs, targets, phase, patterns, metadata)
