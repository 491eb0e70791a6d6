"""The counter-based Poisson background (neurosim.backend.background).

Known results checked: the count per neuron and step follows Binomial(n, p = rate·dt) (the model of Brian2
``PoissonInput``; pmf from scipy, an independent implementation) by a chi-square test; counts are
uncorrelated across neurons and steps; the random bits are uniform and pairwise independent across neurons
and steps (chi-square on joint bins); the step keys are SplitMix64's published stream (Steele, Lea & Flood
2014; reference outputs of the C reference code, seed 1234567); the hash is Wellons' lowbias32 (undone by his
published inverse); numpy, Cython and C++ give the same counts.
"""

from pathlib import Path

import brian2 as b2
import numpy as np
import pytest
from brian2 import Hz, ms, mV
from scipy import stats

from neurosim import LIF, NetworkDescription, PoissonBackground, Population, SpikeRecording, build
from neurosim.backend.background import background_operation, set_seed
from neurosim.backend.poisson_stream import (
    SEED_VARIABLE,
    binomial_cdf_table,
    counts,
    integer_limits,
    lowbias32,
    random_bits,
    step_keys,
    stream_key,
)
from neurosim.validation import ParameterError


def test_step_keys_are_the_splitmix64_stream():
    """SplitMix64 with seed 1234567: the first outputs of Vigna's reference ``splitmix64.c`` (state += γ, then
    mix) are 6457827717110365317, 3203168211198807973, 9817491932198370423. Step s's key is state
    ``key + s·γ`` mixed, so key = 1234567 + γ reproduces them at s = 0, 1, 2."""
    gamma = 0x9E3779B97F4A7C15
    keys = step_keys((1234567 + gamma) % 2**64, np.arange(3))
    expected = np.array([6457827717110365317, 3203168211198807973, 9817491932198370423], dtype=np.uint64)
    assert np.array_equal(keys, expected)


def test_hash_is_lowbias32():
    """Wellons' published inverse ``lowbias32_r`` (multipliers 0x43021123, 0x1d69e2a5) undoes the hash, so the
    forward constants and shifts are his; a bijection of 32-bit words."""
    x = np.random.default_rng(0).integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32)
    y = lowbias32(x)
    y = y ^ (y >> np.uint32(16))
    y = y * np.uint32(0x43021123)
    y = y ^ (y >> np.uint32(15)) ^ (y >> np.uint32(30))
    y = y * np.uint32(0x1D69E2A5)
    y = y ^ (y >> np.uint32(16))
    assert np.array_equal(y, x)
    assert lowbias32(np.array([0, 1], dtype=np.uint32)).tolist() != [0, 1]


def test_random_bits_are_uniform_and_pairwise_independent():
    """10⁶ draws (1000 neurons × 1000 steps): the top 12 bits and the low 8 bits are uniform, every bit is set
    half of the time, and the top 4 bits of neighbouring neurons (same step), of successive steps (same
    neuron) and of diagonal neighbours are independent (chi-square on 16 × 16 joint bins)."""
    key = stream_key(11, "bg")
    z = np.stack([random_bits(key, np.arange(1000), s) for s in range(1000)]).astype(np.int64)  # step, neuron
    for bins in (z >> 20, z & 0xFF):
        observed = np.bincount(bins.ravel())
        assert stats.chisquare(observed).pvalue > 1e-4
    ones = np.array([((z >> b) & 1).mean() for b in range(32)])
    assert np.all(np.abs(ones - 0.5) < 5 * 0.5 / np.sqrt(z.size))
    top = z >> 28
    for a, b in ((top[:, :-1], top[:, 1:]), (top[:-1], top[1:]), (top[:-1, :-1], top[1:, 1:])):
        joint = np.bincount((a * 16 + b).ravel(), minlength=256)
        assert stats.chisquare(joint).pvalue > 1e-4


def test_table_is_the_binomial_cdf_cut_below_32_bit_resolution():
    table = binomial_cdf_table(100, 0.0067)
    assert table[-1] == 2.0
    np.testing.assert_allclose(table[:-1], stats.binom.cdf(np.arange(len(table) - 1), 100, 0.0067))
    assert stats.binom.sf(len(table) - 1, 100, 0.0067) <= 2.0**-32  # mass beyond the largest count
    assert max(integer_limits(table)) < 2**32  # every entry can be reached by a 32-bit uniform
    assert len(binomial_cdf_table(1, 1.0)) == 2  # P(0) = 0, then the sentinel: the count is always 1
    assert counts(1, binomial_cdf_table(1, 1.0), np.arange(5), 3).tolist() == [1] * 5
    assert counts(1, binomial_cdf_table(10, 0.0), np.arange(5), 3).tolist() == [0] * 5


@pytest.mark.parametrize(("n", "p"), [(100, 0.0067), (1, 0.3), (1000, 0.02)])
def test_counts_follow_the_binomial_law(n, p):
    """Chi-square goodness of fit to Binomial(n, p) over 10⁵ (neuron, step) draws, and uncorrelated counts of
    neighbouring neurons and successive steps (|r| below 5 standard errors)."""
    key = stream_key(7, "bg")
    table = binomial_cdf_table(n, p)
    draws = np.stack([counts(key, table, np.arange(1000), s) for s in range(100)])  # steps × neurons
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
    a = counts(stream_key(1, "bgE"), table, idx, 10)
    assert np.array_equal(a, counts(stream_key(1, "bgE"), table, idx, 10))
    for other in (stream_key(2, "bgE"), stream_key(1, "bgI")):
        assert not np.array_equal(a, counts(other, table, idx, 10))


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


@pytest.mark.parametrize(
    "target",
    [
        "numpy",
        pytest.param("cython", marks=pytest.mark.compiled),
        pytest.param("cpp_standalone", marks=pytest.mark.compiled),
    ],
)
@pytest.mark.parametrize("n, p", [(100, 0.05), (1000, 0.0005)], ids=["long-table", "short-table"])
def test_every_target_draws_the_numpy_reference(target, n, p, tmp_path):
    """The generated code (numpy, Cython, C++) gives exactly the counts of :func:`counts`; C++ compares a
    short table (here 9 entries) as integers without branches, a long one (here 23) as doubles."""
    x = _run_counts(target, tmp_path, n, p)
    table = binomial_cdf_table(n, p)
    assert (len(table) - 1 <= 16) == (n == 1000)
    ref = np.cumsum([counts(stream_key(SEED, "bg"), table, np.arange(40), s) for s in range(20)], axis=0).T
    assert np.array_equal(x, ref)


def test_integer_limits_are_the_double_comparisons():
    """Generated code compares the 32 random bits z with ceil(c·2³²) instead of u = z·2⁻³² with c (what
    :func:`counts` does): the same test for every z, because c·2³² is exact in binary64; checked on both
    sides of every limit."""
    for n, p in [(2000, 0.002), (1000, 0.00043), (50, 0.3)]:
        table = binomial_cdf_table(n, p)
        for c, limit in zip(table[:-1], integer_limits(table), strict=True):
            assert limit * 2.0**-32 >= c and (limit - 1) * 2.0**-32 < c


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
