"""Confidence intervals and paired comparisons for results over seeds and test trials.

Mean with a confidence interval (:func:`mean_ci`)
    Bootstrap (Efron & Tibshirani 1993). A flat sample (one value per seed, or the trials of one seed) is
    resampled by :func:`scipy.stats.bootstrap` (BCa interval). Values grouped by seed are resampled at two
    levels: seeds with replacement, then the trials of each drawn seed with replacement, and the statistic
    is the mean of the seed means (every seed weighs the same), with a percentile interval. Why two
    levels: trials of one seed share its network and patterns, so they are not independent and pooling
    them as one sample understates the spread between seeds; seeds are the independent replications, and
    the trials within a seed are a finite test sample of that seed's skill. Resampling seeds alone leaves
    very few distinct resamples at 3–5 seeds (10 at 3). The two-level scheme is slightly conservative:
    with ``n`` seeds of ``m`` trials its bootstrap variance of the mean is
    ``[(n−1)/n · S_B + (m−1)/m · S_W / m] / n`` (``S_B``: sample variance of the seed means, ``S_W``: pooled
    within-seed variance; derived in ``tests/test_statistics.py``), which counts the within-seed noise once
    more than ``S_B / n`` already does. Davison & Hinkley 1997 (§3.8) discuss both schemes; Saravanan et al.
    2020 use the two-level one for neuroscience data. With few seeds every bootstrap interval is still too
    narrow (a t interval at 5 seeds is 2.78/1.96 ≈ 1.4 times wider than a normal one), so a report should
    state the number of seeds beside the interval.
A single proportion (:func:`proportion_ci`)
    Wilson score interval (Wilson 1927), ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``:
    unlike the normal (Wald) interval it stays inside [0, 1] and keeps near-nominal coverage at 0 or n
    successes.
Two learners on the same test trials
    :func:`paired_bootstrap` bootstraps the per-trial differences (a − b) the same way as :func:`mean_ci`,
    so both learners are resampled together (paired); the difference is significant at level
    ``1 − confidence`` when its interval excludes 0. :func:`mcnemar_exact` is the exact McNemar test for
    right/wrong answers (McNemar 1947): among the discordant trials (one learner right, the other wrong)
    the count where a is right is Binomial(n_discordant, 1/2) under no difference
    (:func:`scipy.stats.binomtest`); its interval is the exact (Clopper–Pearson) interval of that fraction
    π, mapped to the accuracy difference ``n_discordant / n (2π − 1)``, and excludes 0 exactly when the
    test rejects. It treats all trials as independent pairs.
    :func:`compare_answers` joins the two for right/wrong answers grouped by seed: the difference and its
    interval from :func:`paired_bootstrap` (which respects the seeds), significant only when that interval
    excludes 0 *and* the exact McNemar test rejects. The bootstrap alone is degenerate on tiny samples (two
    answers that differ the same way give the interval [1, 1]); McNemar's exact p-value is not (0.5 there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .validation import check_number, fail


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval."""

    estimate: float  # the mean (or proportion)
    low: float  # lower bound
    high: float  # upper bound
    confidence: float  # e.g. 0.95
    n: int  # observations (trials, or seeds for a flat sample)
    method: str  # how the interval was computed

    def __str__(self) -> str:
        return f"{self.estimate:.3f} ({100 * self.confidence:g}% CI [{self.low:.3f}, {self.high:.3f}])"


@dataclass(frozen=True)
class Comparison:
    """Learner ``a`` against learner ``b`` on the same test trials: the difference a − b and its test."""

    a: str  # name of the first learner
    b: str  # name of the second learner
    difference: float  # mean of a − b (accuracy or score)
    low: float  # lower bound of the difference's interval
    high: float  # upper bound
    confidence: float  # e.g. 0.95; significance level 1 − confidence
    significant: bool  # the interval excludes 0 (and the test, if any, rejects)
    p_value: float | None  # exact test's p-value; None for the bootstrap
    method: str  # how it was computed

    @property
    def verdict(self) -> str:
        """One line: which learner is better, by how much, with its interval; or no significant difference."""
        level = f"{100 * self.confidence:g}% CI"
        if not self.significant:
            return (
                f"no significant difference between {self.a} and {self.b} "
                f"({self.difference:+.2f}, {level} [{self.low:.2f}, {self.high:.2f}])"
            )
        better, worse, d, low, high = (self.a, self.b, self.difference, self.low, self.high)
        if d < 0:  # say it the other way round, so the difference reads positive
            better, worse, d, low, high = worse, better, -d, -high, -low
        return f"{better} better than {worse} (+{d:.2f}, {level} [{low:.2f}, {high:.2f}])"


def _values(owner: str, name: str, values: Any) -> list[np.ndarray]:
    """One float array per group: a flat sample becomes one group of its own (flagged by a None marker)."""
    if isinstance(values, np.ndarray):
        items = [values] if values.ndim == 1 else list(values) if values.ndim == 2 else None
    elif isinstance(values, Sequence) and not isinstance(values, str):
        flat = all(np.ndim(v) == 0 for v in values)
        items = [values] if flat else list(values) if all(np.ndim(v) == 1 for v in values) else None
    else:
        items = None
    if items is None:
        fail(owner, name, values, "expected numbers, or one sequence of numbers per seed")
    groups = [np.asarray(g, dtype=float) for g in items]
    if not groups or any(g.size == 0 for g in groups):
        fail(owner, name, values, "expected at least one value (and no empty seed)")
    if not all(np.isfinite(g).all() for g in groups):
        fail(owner, name, values, "expected finite numbers (no NaN, inf or None)")
    return groups


def _is_flat(values: Any) -> bool:
    if isinstance(values, np.ndarray):
        return values.ndim == 1
    return all(np.ndim(v) == 0 for v in values)


def _check_settings(owner: str, confidence: float, n_resamples: int) -> tuple[float, int]:
    confidence = check_number(
        owner, "confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True
    )
    n_resamples = int(check_number(owner, "n_resamples", n_resamples, low=100, integer=True))
    return confidence, n_resamples


def _two_level_means(groups: list[np.ndarray], n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap distribution of the mean of seed means: draw seeds, then each drawn seed's trials."""
    n = len(groups)
    picks = rng.integers(n, size=(n_resamples, n))
    total = np.zeros(n_resamples)
    for slot in range(n):
        for g, values in enumerate(groups):
            rows = np.flatnonzero(picks[:, slot] == g)
            if rows.size:
                draws = rng.integers(values.size, size=(rows.size, values.size))
                total[rows] += values[draws].mean(axis=1)
    return total / n


def _interval(
    owner: str, groups: list[np.ndarray], flat: bool, confidence: float, n_resamples: int, seed: int
) -> Interval:
    rng = np.random.default_rng(seed)
    if len(groups) == 1 or all(g.size == 1 for g in groups):
        sample = groups[0] if len(groups) == 1 else np.concatenate(groups)
        what = "values" if flat else ("trials of one seed" if len(groups) == 1 else "seeds")
        if sample.size < 2:
            fail(owner, "values", sample.tolist(), "a confidence interval needs at least 2 values")
        mean = float(sample.mean())
        if np.ptp(sample) == 0:  # every resample has the same mean
            return Interval(mean, mean, mean, confidence, sample.size, f"bootstrap over {what} (constant)")
        res = stats.bootstrap(
            (sample,), np.mean, n_resamples=n_resamples, confidence_level=confidence, method="BCa", rng=rng
        )
        low, high = res.confidence_interval
        return Interval(mean, float(low), float(high), confidence, sample.size, f"BCa bootstrap over {what}")
    estimate = float(np.mean([g.mean() for g in groups]))
    means = _two_level_means(groups, n_resamples, rng)
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    n = int(sum(g.size for g in groups))
    return Interval(estimate, float(low), float(high), confidence, n, "two-level bootstrap (seeds, trials)")


def mean_ci(values: Any, *, confidence: float = 0.95, n_resamples: int = 9999, seed: int = 0) -> Interval:
    """Mean and bootstrap confidence interval of ``values``: a flat sequence (one value per seed or per
    trial), or one sequence of per-trial values per seed (two-level resampling; module docstring)."""
    owner = "mean_ci"
    confidence, n_resamples = _check_settings(owner, confidence, n_resamples)
    seed = int(check_number(owner, "seed", seed, low=0, integer=True))
    groups = _values(owner, "values", values)
    return _interval(owner, groups, _is_flat(values), confidence, n_resamples, seed)


def proportion_ci(successes: int, n: int, *, confidence: float = 0.95) -> Interval:
    """``successes / n`` with its Wilson score interval."""
    owner = "proportion_ci"
    n = int(check_number(owner, "n", n, low=1, integer=True))
    successes = int(check_number(owner, "successes", successes, low=0, high=n, integer=True))
    confidence = check_number(
        owner, "confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True
    )
    ci = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Interval(successes / n, float(ci.low), float(ci.high), confidence, n, "Wilson score")


def _names(owner: str, names: Sequence[str]) -> tuple[str, str]:
    if len(names) != 2 or not all(isinstance(x, str) and x for x in names) or names[0] == names[1]:
        fail(owner, "names", names, "expected two different, non-empty learner names")
    return names[0], names[1]


def paired_bootstrap(
    a: Any,
    b: Any,
    *,
    names: Sequence[str] = ("a", "b"),
    confidence: float = 0.95,
    n_resamples: int = 9999,
    seed: int = 0,
) -> Comparison:
    """Difference a − b of two learners' per-trial scores on the same test trials (same shape: flat, or
    per seed), its bootstrap interval (as :func:`mean_ci`, resampling the pairs) and significance."""
    owner = "paired_bootstrap"
    name_a, name_b = _names(owner, names)
    confidence, n_resamples = _check_settings(owner, confidence, n_resamples)
    seed = int(check_number(owner, "seed", seed, low=0, integer=True))
    ga, gb = _values(owner, "a", a), _values(owner, "b", b)
    if _is_flat(a) != _is_flat(b) or [g.shape for g in ga] != [g.shape for g in gb]:
        fail(owner, "b", [g.shape for g in gb], f"expected the same trials as a: {[g.shape for g in ga]}")
    diff = _interval(
        owner, [x - y for x, y in zip(ga, gb, strict=True)], _is_flat(a), confidence, n_resamples, seed
    )
    significant = diff.low > 0 or diff.high < 0
    return Comparison(
        name_a, name_b, diff.estimate, diff.low, diff.high, confidence, significant, None, diff.method
    )


def mcnemar_exact(
    a_correct: Any, b_correct: Any, *, names: Sequence[str] = ("a", "b"), confidence: float = 0.95
) -> Comparison:
    """Exact McNemar test of two learners' right (1) / wrong (0) answers on the same trials (flat, or per
    seed, pooled); the difference is in accuracy (module docstring)."""
    owner = "mcnemar_exact"
    name_a, name_b = _names(owner, names)
    confidence = check_number(
        owner, "confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True
    )
    ga, gb = _values(owner, "a_correct", a_correct), _values(owner, "b_correct", b_correct)
    if [g.shape for g in ga] != [g.shape for g in gb]:
        fail(
            owner,
            "b_correct",
            [g.shape for g in gb],
            f"expected the same trials as a_correct: {[g.shape for g in ga]}",
        )
    x, y = np.concatenate(ga), np.concatenate(gb)
    for name, v in (("a_correct", x), ("b_correct", y)):
        if not np.isin(v, (0.0, 1.0)).all():
            fail(owner, name, sorted(set(v.tolist()))[:5], "expected right/wrong answers: 1/0 or True/False")
    only_a, only_b = int(np.sum((x == 1) & (y == 0))), int(np.sum((x == 0) & (y == 1)))
    discordant, n = only_a + only_b, x.size
    if discordant == 0:
        return Comparison(
            name_a, name_b, 0.0, 0.0, 0.0, confidence, False, 1.0, "exact McNemar (no discordant pairs)"
        )
    test = stats.binomtest(only_a, discordant, 0.5)
    ci = test.proportion_ci(confidence_level=confidence, method="exact")
    scale = discordant / n
    return Comparison(
        name_a,
        name_b,
        (only_a - only_b) / n,
        scale * (2 * ci.low - 1),
        scale * (2 * ci.high - 1),
        confidence,
        bool(test.pvalue < 1 - confidence),
        float(test.pvalue),
        f"exact McNemar ({only_a} vs {only_b} discordant of {n})",
    )


def compare_answers(
    a_correct: Any,
    b_correct: Any,
    *,
    names: Sequence[str] = ("a", "b"),
    confidence: float = 0.95,
    n_resamples: int = 9999,
    seed: int = 0,
) -> Comparison:
    """Two learners' right/wrong answers on the same trials (one sequence per seed, or flat): the accuracy
    difference with its :func:`paired_bootstrap` interval, significant when that interval excludes 0 and
    :func:`mcnemar_exact` rejects at level ``1 − confidence`` (module docstring)."""
    boot = paired_bootstrap(
        a_correct, b_correct, names=names, confidence=confidence, n_resamples=n_resamples, seed=seed
    )
    exact = mcnemar_exact(a_correct, b_correct, names=names, confidence=confidence)
    return Comparison(
        boot.a,
        boot.b,
        boot.difference,
        boot.low,
        boot.high,
        confidence,
        boot.significant and exact.significant,
        exact.p_value,
        f"{boot.method}; {exact.method}, p = {exact.p_value:.3g}",
    )


__all__ = [
    "Comparison",
    "Interval",
    "compare_answers",
    "mean_ci",
    "mcnemar_exact",
    "paired_bootstrap",
    "proportion_ci",
]
