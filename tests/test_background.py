"""The counter-based Poisson background (neurosim.background).

Known results checked: the count per neuron and step follows Binomial(n, p = rate·dt) (the model of Brian2
``PoissonInput``; pmf from scipy, an independent implementation) by a chi-square test; counts are
uncorrelated across neurons and steps; the uniforms are SplitMix64's published stream (Steele, Lea & Flood
2014; reference outputs of the C reference code, seed 1234567); numpy, Cython and C++ give the same counts.
"""

import math
from pathlib import Path

import brian2 as b2
import numpy as np
import pytest
from brian2 import Hz, ms, mV
from scipy import stats

from neurosim import LIF, NetworkDescription, PoissonBackground, Population, SpikeRecording, build
from neurosim.background import (
    SEED_VARIABLE,
    background_operation,
    binomial_cdf_table,
    counts,
    set_seed,
    stream_key,
    uniforms,
)
from neurosim.validation import ParameterError


def test_uniforms_are_the_splitmix64_stream():
    """SplitMix64 with seed 1234567: the first outputs of Vigna's reference ``splitmix64.c`` (state += γ, then
    mix) are 6457827717110365317, 3203168211198807973, 9817491932198370423. Counter k of our stream is
    state ``key + k·γ`` mixed, so key = 1234567 + γ reproduces them at k = 0, 1, 2."""
    gamma = 0x9E3779B97F4A7C15
    key = (1234567 + gamma) % 2**64
    u = uniforms(key, 3, np.arange(3), 0)
    expected = np.array([6457827717110365317, 3203168211198807973, 9817491932198370423], dtype=np.uint64)
    assert np.array_equal(u, (expected >> np.uint64(11)).astype(float) * 2.0**-53)


def test_table_is_the_binomial_cdf_cut_below_double_resolution():
    table = binomial_cdf_table(100, 0.0067)
    assert table[-1] == 2.0
    np.testing.assert_allclose(table[:-1], stats.binom.cdf(np.arange(len(table) - 1), 100, 0.0067))
    assert stats.binom.sf(len(table) - 1, 100, 0.0067) <= 2.0**-54  # mass beyond the largest count
    assert len(binomial_cdf_table(1, 1.0)) == 2  # P(0) = 0, then the sentinel: the count is always 1
    assert counts(1, 5, binomial_cdf_table(1, 1.0), np.arange(5), 3).tolist() == [1] * 5


@pytest.mark.parametrize(("n", "p"), [(100, 0.0067), (1, 0.3), (1000, 0.02)])
def test_counts_follow_the_binomial_law(n, p):
    """Chi-square goodness of fit to Binomial(n, p) over 10⁵ (neuron, step) draws, and uncorrelated counts of
    neighbouring neurons and successive steps (|r| below 5 standard errors)."""
    key = stream_key(7, "bg")
    table = binomial_cdf_table(n, p)
    draws = np.stack([counts(key, 1000, table, np.arange(1000), s) for s in range(100)])  # steps × neurons
    ks = np.arange(draws.max() + 1)
    observed = np.bincount(draws.ravel(), minlength=len(ks))
    expected = stats.binom.pmf(ks, n, p) * draws.size
    pool = expected >= 5  # merge the sparse tail into one bin
    obs = np.append(observed[pool], observed[~pool].sum())
    exp = np.append(expected[pool], draws.size - expected[pool].sum())
    keep = exp > 0
    assert stats.chisquare(obs[keep], exp[keep]).pvalue > 1e-3
    se = 1 / np.sqrt(draws.size)
    assert abs(np.corrcoef(draws[:, :-1].ravel(), draws[:, 1:].ravel())[0, 1]) < 5 * se
    assert abs(np.corrcoef(draws[:-1].ravel(), draws[1:].ravel())[0, 1]) < 5 * se


def test_streams_differ_by_seed_and_name_and_repeat_for_the_same():
    table = binomial_cdf_table(100, 0.05)
    idx = np.arange(2000)
    a = counts(stream_key(1, "bgE"), 2000, table, idx, 10)
    assert np.array_equal(a, counts(stream_key(1, "bgE"), 2000, table, idx, 10))
    for other in (stream_key(2, "bgE"), stream_key(1, "bgI")):
        assert not np.array_equal(a, counts(other, 2000, table, idx, 10))


SEED = 3_000_000_007  # above 2³¹: the seed word is stored in a signed 32-bit Brian2 integer


def _run_counts(target: str, tmp_path: Path, n: int, p: float) -> np.ndarray:
    """Accumulated counts of 40 neurons over 20 steps, on one code generation target."""
    if target == "cpp_standalone":
        b2.set_device("cpp_standalone", directory=str(tmp_path / "standalone"), build_on_run=True)
    else:
        b2.prefs.codegen.target = target
    try:
        b2.defaultclock.dt = 0.1 * ms
        group = b2.NeuronGroup(40, f"x : 1\n{SEED_VARIABLE} : integer (shared, constant)")
        set_seed(group, SEED)
        background_operation(group, "x", 1.0, n, p, "bg")
        mon = b2.StateMonitor(group, "x", record=True, when="end")
        b2.Network(group, mon).run(2 * ms)
        return np.asarray(mon.x)
    finally:
        if target == "cpp_standalone":
            b2.device.reinit()
            b2.device.activate()
            b2.set_device("runtime")
        b2.prefs.codegen.target = "numpy"


@pytest.mark.parametrize("target", ["numpy", "cython", "cpp_standalone"])
@pytest.mark.parametrize("n, p", [(100, 0.05), (1000, 0.0005)], ids=["long-table", "short-table"])
def test_every_target_draws_the_numpy_reference(target, n, p, tmp_path):
    """The generated code (numpy, Cython, C++) gives exactly the counts of :func:`counts`; C++ compares a
    short table (here 14 entries) as integers without branches, a long one (here 31) as doubles."""
    x = _run_counts(target, tmp_path, n, p)
    table = binomial_cdf_table(n, p)
    assert (len(table) - 1 <= 16) == (n == 1000)
    ref = np.cumsum(
        [counts(stream_key(SEED, "bg"), 40, table, np.arange(40), s) for s in range(20)], axis=0
    ).T
    assert np.array_equal(x, ref)


def test_integer_limits_are_the_double_comparisons():
    """C++ short tables compare m = z >> 11 with ceil(c·2⁵³) instead of u = m·2⁻⁵³ with c: the same test for
    every m, because c·2⁵³ is exact in binary64; checked on both sides of every limit."""
    for n, p in [(2000, 0.002), (1000, 0.00043), (50, 0.3)]:
        for c in binomial_cdf_table(n, p)[:-1]:
            limit = math.ceil(float(c) * 2.0**53)
            assert limit * 2.0**-53 >= c and (limit - 1) * 2.0**-53 < c


def test_network_background_drives_the_free_membrane_mean():
    """A LIF population far below threshold driven only by the background: mean membrane potential
    E_L + n·rate·J·tau_exc (Campbell's theorem for shot noise through the exponential synapse)."""
    lif = LIF(v_threshold=100 * mV)
    d = NetworkDescription(
        populations=(Population("E", 200, lif, initial={"v": "E_L"}),),
        inputs=(PoissonBackground("bg", "E", 20 * Hz, 50, 0.5 * mV),),
        recordings=(SpikeRecording("E"),),
        seed=4,
    )
    sim = build(d, target="numpy").run(300 * ms, progress=False)
    v = sim.groups["E"].v[:]
    expected = -70 * mV + 50 * 20 * Hz * 0.5 * mV * 5 * ms
    assert abs(float(np.mean(v) - expected) / float(expected + 70 * mV)) < 0.05


def test_rate_too_high_for_dt_is_refused_before_running():
    d = NetworkDescription(
        populations=(Population("E", 5, LIF()),),
        inputs=(PoissonBackground("bg", "E", 20000 * Hz, 5, 0.5 * mV),),
        seed=1,
    )
    with pytest.raises(ParameterError, match="PoissonBackground 'bg': parameter 'rate'.*at most 1"):
        build(d, target="numpy")
