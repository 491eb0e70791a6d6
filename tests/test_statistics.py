"""Confidence intervals and paired tests (neurosim.statistics) against closed forms and known results."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from neurosim.statistics import (
    Comparison,
    compare_answers,
    mcnemar_exact,
    mean_ci,
    paired_bootstrap,
    proportion_ci,
)
from neurosim.validation import ParameterError

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def _wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval (Wilson 1927; Agresti & Coull 1998, eq. 2), written out."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(("k", "n"), [(8, 10), (0, 10), (10, 10), (37, 120)])
def test_wilson_interval_matches_the_closed_form(k, n):
    """8/10 gives [0.490, 0.943]; 0/n gives [0, z²/(n + z²)]."""
    ci = proportion_ci(k, n)
    low, high = _wilson(k, n)
    assert (ci.low, ci.high) == pytest.approx((low, high), abs=1e-9)
    assert ci.estimate == k / n
    if (k, n) == (8, 10):
        assert (round(ci.low, 3), round(ci.high, 3)) == (0.490, 0.943)
    if k == 0:
        assert ci.high == pytest.approx(Z95**2 / (n + Z95**2), abs=1e-9)


def test_bootstrap_of_a_large_normal_sample_matches_the_normal_theory_interval():
    """For n = 2000 draws the bootstrap interval of the mean is mean ± 1.96 s/√n: half-width within 5%,
    centre within a tenth of the half-width (Monte Carlo error of 4000 resamples)."""
    x = np.random.default_rng(0).normal(2.0, 3.0, size=2000)
    ci = mean_ci(x, n_resamples=4000)
    half = Z95 * x.std(ddof=1) / math.sqrt(x.size)
    assert ci.estimate == pytest.approx(x.mean())
    assert (ci.high - ci.low) / 2 == pytest.approx(half, rel=0.05)
    assert (ci.high + ci.low) / 2 == pytest.approx(x.mean(), abs=0.1 * half)


def test_bootstrap_interval_covers_the_true_mean_at_about_the_nominal_rate():
    """Coverage: over 200 samples of 40 draws from an exponential (skewed, mean 1), the 95% BCa interval
    contains 1 in 88–99% of them (binomial SE of the rate ≈ 1.5%; BCa runs a little short on skewed
    small samples)."""
    rng = np.random.default_rng(1)
    hits = [_covers(rng.exponential(1.0, size=40), 1.0, seed=i) for i in range(200)]
    assert 0.88 <= np.mean(hits) <= 0.99


def _covers(sample: np.ndarray, truth: float, seed: int) -> bool:
    ci = mean_ci(sample, n_resamples=1000, seed=seed)
    return ci.low <= truth <= ci.high


def test_two_level_bootstrap_has_the_variance_derived_by_hand():
    """Resampling n seeds, then m trials within each drawn seed, gives the grand mean a variance of
    ``[(n−1)/n · S_B + (m−1)/m · S_W / m] / n``: a drawn seed's mean varies by the plug-in variance of the
    seed means, ((n−1)/n) S_B, and its resampled trial mean adds the plug-in within variance / m, on
    average ((m−1)/m) S_W / m; the n slots are independent. With 60 seeds the bootstrap distribution is
    close to normal, so the 95% interval is ± 1.96 of that standard deviation (to within 5%)."""
    rng = np.random.default_rng(2)
    n, m = 60, 12
    data = rng.normal(0.5, 0.2, size=(n, 1)) + rng.normal(0, 0.5, size=(n, m))
    s_b = data.mean(axis=1).var(ddof=1)
    s_w = data.var(axis=1, ddof=1).mean()
    sd = math.sqrt(((n - 1) / n * s_b + (m - 1) / m * s_w / m) / n)
    ci = mean_ci(data, n_resamples=20000, seed=3)
    assert ci.estimate == pytest.approx(data.mean())
    assert (ci.high - ci.low) / 2 == pytest.approx(Z95 * sd, rel=0.05)
    assert (ci.low + ci.high) / 2 == pytest.approx(data.mean(), abs=0.1 * sd)
    # the within-seed noise is counted once more than the seed means' spread alone
    assert sd > math.sqrt((n - 1) / n * s_b / n)


def test_grouped_values_accept_seeds_of_different_sizes_and_single_values():
    """Ragged groups run; one value per seed is a flat sample over seeds; one seed is a flat sample."""
    ragged = mean_ci([[1.0, 0.0, 1.0], [1.0, 1.0], [0.0, 1.0, 1.0, 1.0]], n_resamples=500)
    assert ragged.estimate == pytest.approx(np.mean([2 / 3, 1.0, 3 / 4]))
    assert ragged.low <= ragged.estimate <= ragged.high and ragged.method.startswith("two-level")
    per_seed = mean_ci([[0.8], [0.9], [0.7]], n_resamples=500)
    assert per_seed.method == "BCa bootstrap over seeds" and per_seed.n == 3
    assert mean_ci([[1.0, 1.0, 1.0]]).low == mean_ci([[1.0, 1.0, 1.0]]).high == 1.0


def _binomial_two_sided(k: int, n: int) -> float:
    """Twice the smaller tail of Binomial(n, 1/2), written out."""
    tail = sum(special.comb(n, j, exact=True) for j in range(min(k, n - k) + 1)) / 2**n
    return min(1.0, 2 * tail)


@pytest.mark.parametrize(("only_a", "only_b", "significant"), [(9, 2, False), (10, 1, True), (3, 3, False)])
def test_exact_mcnemar_matches_the_binomial_p_value_by_hand(only_a, only_b, significant):
    """9 vs 2 discordant pairs: p = 2 (1 + 11 + 55) / 2¹¹ = 0.0654; 10 vs 1: p = 2 (1 + 11) / 2¹¹ = 0.0117.
    The concordant pairs do not enter the test, only the difference's size."""
    both, neither = 20, 5
    a = [1] * only_a + [0] * only_b + [1] * both + [0] * neither
    b = [0] * only_a + [1] * only_b + [1] * both + [0] * neither
    res = mcnemar_exact(a, b, names=("lstm", "snn"))
    assert res.p_value == pytest.approx(_binomial_two_sided(only_a, only_a + only_b), rel=1e-12)
    if (only_a, only_b) == (9, 2):
        assert res.p_value == pytest.approx(134 / 2048)
    assert res.difference == pytest.approx((only_a - only_b) / len(a))
    assert res.significant is significant
    assert (res.low > 0 or res.high < 0) is significant  # the exact interval agrees with the test
    assert res.low <= res.difference <= res.high


def test_paired_bootstrap_sees_a_small_shift_that_unpaired_intervals_miss():
    """Two learners on the same 200 trials whose scores share a large trial-to-trial variation: b = a − 0.05
    on every trial. Their separate intervals overlap; the paired difference is exactly 0.05."""
    rng = np.random.default_rng(4)
    a = rng.uniform(0.3, 1.0, size=200)
    b = a - 0.05
    ia, ib = mean_ci(a, n_resamples=2000), mean_ci(b, n_resamples=2000)
    assert ia.low < ib.high  # unpaired: overlapping
    res = paired_bootstrap(a, b, names=("gru", "lstm"), n_resamples=2000)
    assert res.difference == pytest.approx(0.05) and res.low == pytest.approx(0.05)
    assert res.significant and res.verdict == "gru better than lstm (+0.05, 95% CI [0.05, 0.05])"


def test_paired_bootstrap_over_seeds_finds_no_difference_between_equal_learners():
    rng = np.random.default_rng(5)
    a = rng.integers(0, 2, size=(5, 40)).astype(float)
    b = rng.permuted(a, axis=1)  # same accuracy per seed, answers shuffled
    res = paired_bootstrap(a, b, names=("snn", "lstm"), n_resamples=2000)
    assert res.difference == pytest.approx(0.0) and res.low < 0 < res.high and not res.significant
    assert res.verdict.startswith("no significant difference between snn and lstm (+0.00, 95% CI [-")


def test_verdict_names_the_better_learner_with_a_positive_difference():
    better_b = Comparison("lstm", "snn", -0.12, -0.19, -0.05, 0.95, True, None, "test")
    assert better_b.verdict == "snn better than lstm (+0.12, 95% CI [0.05, 0.19])"
    better_a = Comparison("lstm", "snn", 0.12, 0.05, 0.19, 0.95, True, None, "test")
    assert better_a.verdict == "lstm better than snn (+0.12, 95% CI [0.05, 0.19])"


def test_compare_answers_needs_the_exact_test_to_agree_on_tiny_samples():
    """Two answers that differ the same way: the bootstrap interval is degenerate ([1, 1]) but McNemar's
    exact p-value is 2 · 0.5² = 0.5, so no significance is claimed. Ten such answers per seed over three
    seeds: p = 2 · 0.5³⁰ and the interval [1, 1] excludes 0, so a is better, by exactly 1."""
    tiny = compare_answers([1, 1], [0, 0], names=("gru", "snn"))
    assert (tiny.low, tiny.high) == (1.0, 1.0) and tiny.p_value == pytest.approx(0.5)
    assert not tiny.significant and tiny.verdict.startswith("no significant difference")
    big = compare_answers([[1] * 10] * 3, [[0] * 10] * 3, names=("gru", "snn"))
    assert big.significant and big.p_value == pytest.approx(2 * 0.5**30)
    assert big.verdict == "gru better than snn (+1.00, 95% CI [1.00, 1.00])"


def test_compare_answers_sees_a_real_difference_across_seeds():
    """200 answers per seed, 3 seeds: b right with probability 0.95, a with 0.80 on the same trials (a's
    errors include b's): the difference's interval covers the true −0.15 and excludes 0; McNemar rejects."""
    rng = np.random.default_rng(3)
    u = [rng.random(200) for _ in range(3)]
    a = [(x < 0.80).astype(float) for x in u]
    b = [(x < 0.95).astype(float) for x in u]
    c = compare_answers(a, b, names=("snn", "lstm"))
    assert c.significant and c.low <= -0.15 <= c.high and c.high < 0
    assert c.verdict.startswith("lstm better than snn")


def test_bad_input_fails_with_the_parameter_named():
    with pytest.raises(ParameterError, match="'confidence'"):
        mean_ci([1.0, 2.0], confidence=95)
    with pytest.raises(ParameterError, match="'values'.*finite"):
        mean_ci([1.0, float("nan")])
    with pytest.raises(ParameterError, match="'values'.*at least 2"):
        mean_ci([0.5])
    with pytest.raises(ParameterError, match="'values'"):
        mean_ci([])
    with pytest.raises(ParameterError, match="'n_resamples'"):
        mean_ci([1.0, 2.0], n_resamples=10)
    with pytest.raises(ParameterError, match="'successes'"):
        proportion_ci(11, 10)
    with pytest.raises(ParameterError, match="'b'.*same trials"):
        paired_bootstrap([1.0, 0.0, 1.0], [1.0, 0.0])
    with pytest.raises(ParameterError, match="'names'"):
        paired_bootstrap([1.0, 0.0], [1.0, 0.0], names=("lstm", "lstm"))
    with pytest.raises(ParameterError, match="'a_correct'.*right/wrong"):
        mcnemar_exact([0.5, 1.0], [1.0, 0.0])
