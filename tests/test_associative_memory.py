"""Associative memory: Hopfield storage and recall, pruning by minimal-value vs random deletion, and the
scoring of pattern completion from spike counts."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.associative_memory import completed_pattern, hebbian, hopfield_recall, within_pattern
from neurosim.frontal import RandomDeletion, WeightMagnitude, prune_array
from neurosim.validation import ParameterError


def _patterns(n_patterns: int, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(n_patterns, n))


def test_hopfield_recalls_below_capacity_and_fails_far_above_it():
    """Hopfield 1982; Amit, Gutfreund & Sompolinsky 1985: below α_c ≈ 0.138 the stored patterns are
    attractors (a cue with 10% of its bits flipped returns to m ≈ 1); at α = 0.4, far above α_c, there is
    no retrieval state near the pattern and the overlap falls well below 1."""
    n = 200
    below = _patterns(10, n, seed=1)  # α = 0.05
    above = _patterns(80, n, seed=2)  # α = 0.4
    m_below = hopfield_recall(hebbian(below), below, np.random.default_rng(3), flip=0.1, sweeps=5)
    m_above = hopfield_recall(hebbian(above), above, np.random.default_rng(3), flip=0.1, sweeps=5)
    assert m_below > 0.98
    assert m_above < 0.6


def test_hebbian_is_the_outer_product_rule():
    """w_ij = Σ_μ ξ_i ξ_j / N with w_ii = 0, written out for two patterns of three units."""
    xi = np.array([[1, -1, 1], [1, 1, -1]])
    expected = np.array([[0, 0, 0], [0, 0, -2], [0, -2, 0]]) / 3
    np.testing.assert_allclose(hebbian(xi), expected)


def test_minimal_value_deletion_keeps_memory_that_random_deletion_loses():
    """Chechik, Meilijson & Ruppin 1998 (Neural Comput. 10:1759): in a Hebbian associative memory, deleting
    the weakest synapses keeps recall far better than deleting as many at random. At load α = 0.075 and 90%
    of the synapses deleted, minimal-value deletion keeps m ≈ 0.97 (experiments/pruning_memory.py, quick
    settings), random deletion leaves about 0.6: the randomly diluted network is over its capacity."""
    n, p, fraction = 200, 15, 0.9
    xi = _patterns(p, n, seed=0)
    w = hebbian(xi)
    recall = {}
    for name, criterion in {"weakest": WeightMagnitude(), "random": RandomDeletion()}.items():
        pruned = prune_array(w, criterion, fraction, rng=1, symmetric=True)
        assert np.count_nonzero(pruned) == pytest.approx((1 - fraction) * np.count_nonzero(w), rel=0.01)
        recall[name] = hopfield_recall(pruned, xi, np.random.default_rng(2), flip=0.1, sweeps=5)
    assert recall["weakest"] > 0.9
    assert recall["random"] < 0.75
    assert recall["weakest"] - recall["random"] > 0.2


def test_completion_is_scored_on_the_units_outside_the_cue():
    """Pattern 0 = units 0–3, pattern 1 = units 2–5 (they share 2, 3). A cue on units 2 and 3 drives both
    patterns' shared units; only the firing of units outside the cue says which pattern was completed."""
    patterns = np.array([[1, 1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1, 0]])
    cue = np.array([0, 0, 1, 1, 0, 0, 0], dtype=bool)
    counts = np.array(
        [
            [5, 4, 9, 9, 0, 0, 0],  # units 0, 1 fire: pattern 0 completed
            [0, 0, 9, 9, 3, 4, 0],  # units 4, 5 fire: pattern 1
            [0, 0, 9, 9, 0, 0, 7],  # only the cue and a unit of no pattern: nothing recalled
            [3, 3, 9, 9, 3, 3, 0],  # both equally: a tie recalls nothing
        ]
    )
    got = completed_pattern(counts, patterns, np.repeat(cue[None], 4, axis=0))
    np.testing.assert_array_equal(got, [0, 1, -1, -1])


def test_within_pattern_marks_synapses_between_units_of_one_pattern():
    patterns = np.array([[1, 1, 0, 0], [0, 1, 1, 0]])
    pre = np.array([0, 1, 0, 2, 3, 1])
    post = np.array([1, 0, 2, 1, 0, 1])
    np.testing.assert_array_equal(within_pattern(patterns, pre, post), [True, True, False, True, False, True])


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: hebbian(np.array([[1, 0, -1]])), "patterns"),
        (lambda: hopfield_recall(np.zeros((3, 3)), np.ones((1, 4)), np.random.default_rng(), 0.1, 1), "w"),
        (lambda: hopfield_recall(np.zeros((2, 2)), np.ones((1, 2)), np.random.default_rng(), 1.5, 1), "flip"),
        (lambda: completed_pattern(np.zeros((2, 3)), np.ones((1, 4)), np.zeros((2, 4), bool)), "counts"),
        (lambda: completed_pattern(np.zeros((2, 4)), np.ones((1, 4)), np.zeros((3, 4), bool)), "cues"),
        (lambda: within_pattern(np.ones((1, 3)), [0, 5], [1, 2]), "pre/post"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ParameterError, match=f"'{name}'"):
        call()
