"""Distance-dependent connectivity (neurosim.connectivity): kernels, sampling, in-degree solving, delays."""

import math
import time

import numpy as np
import pytest
from brian2 import metre, mm, ms, second, um
from scipy import stats

from neurosim.connectivity import (
    ConductionDelay,
    CustomKernel,
    ExponentialKernel,
    GaussianKernel,
    UniformKernel,
    blocks,
    degree,
    expected_in_degree,
    resolve_kernel,
    sample_connections,
    sampling,
)
from neurosim.space import UniformBox
from neurosim.validation import ParameterError

BOX = (np.zeros(3), np.full(3, 1000.0))  # the 1 mm cube of the reference network, as (low, high) in µm


def half_within_50um(d_um):
    """A user kernel for the tests: p = 1/2 closer than 50 µm, else 0."""
    return np.where(d_um < 50.0, 0.5, 0.0)


def one_within_40um(d_um):
    """A user kernel for the tests: p = 1 closer than 40 µm, else 0 (deterministic)."""
    return (d_um < 40.0).astype(float)


def too_large(d_um):
    return np.full_like(d_um, 1.5)


def brute_force_distances(src, tgt, box_length=None):
    """All source–target distances (µm) by plain numpy, minimum-image in a periodic box."""
    diff = src[:, None, :] - tgt[None, :, :]
    if box_length is not None:
        diff = np.abs(diff)
        diff = np.minimum(diff, box_length - diff)
    return np.sqrt((diff**2).sum(axis=-1))


def cube_positions(n, seed):
    return UniformBox(size=1 * mm).positions(n, np.random.default_rng(seed))


# ------------------------------------------------------------------------------------------ kernels


def test_kernel_profiles_and_cutoffs():
    """Closed forms: Gaussian p(σ) = p_max·e^(-1/2), exponential p(λ) = p_max/e, uniform p inside the
    radius (inclusive) and 0 outside; all are 0 beyond the cutoff (5σ, 10λ, the radius)."""
    g = GaussianKernel(p_max=0.4, sigma=100 * um)
    assert g.probability(np.array([0.0, 100.0]))[1] == pytest.approx(0.4 * math.exp(-0.5), rel=1e-14)
    assert g.probability(0.0) == pytest.approx(0.4)
    assert g.cutoff_um() == pytest.approx(500)
    assert g.probability(501.0) == 0.0
    e = ExponentialKernel(p_max=0.9, length=30 * um)
    assert e.probability(30.0) == pytest.approx(0.9 / math.e, rel=1e-14)
    assert e.cutoff_um() == pytest.approx(300) and e.probability(301.0) == 0.0
    u = UniformKernel(p=0.25, radius=70 * um)
    np.testing.assert_array_equal(u.probability(np.array([0.0, 70.0, 70.001])), [0.25, 0.25, 0.0])
    assert u.cutoff_um() == pytest.approx(70)
    c = CustomKernel(half_within_50um, cutoff=60 * um)
    assert c.function == f"{__name__}:half_within_50um"
    np.testing.assert_array_equal(c.probability(np.array([10.0, 55.0, 80.0])), [0.5, 0.0, 0.0])
    assert CustomKernel(half_within_50um).cutoff_um() == math.inf


# ------------------------------------------------------------------------------------------ sampling


@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize("same", [False, True])
def test_deterministic_kernel_gives_exactly_the_brute_force_pairs(periodic, same):
    """A uniform kernel with p = 1 connects exactly the pairs within the radius (minimum-image when
    periodic; no i == i in one population): the cell search must find the same set as brute force, in
    (i, j) order, with the same distances."""
    rng = np.random.default_rng(7)
    length = np.array([1000.0, 400.0, 150.0])
    low = np.array([-20.0, 5.0, 100.0])
    src = low + rng.random((700, 3)) * length
    tgt = src if same else low + rng.random((600, 3)) * length
    box = (low, low + length) if periodic else None
    for radius in (30.0, 120.0, 260.0, 5000.0):
        i, j, d = sample_connections(src, tgt, UniformKernel(p=1.0, radius=radius * um), 0, periodic_box=box)
        dist = brute_force_distances(src, tgt, length if periodic else None)
        inside = dist <= radius
        if same:
            np.fill_diagonal(inside, False)
        bi, bj = np.nonzero(inside)
        np.testing.assert_array_equal(i, bi)
        np.testing.assert_array_equal(j, bj)
        np.testing.assert_allclose(d, dist[bi, bj], rtol=1e-12, atol=1e-9)


def test_custom_kernel_is_sampled_like_the_function():
    """A user kernel p = 1 below 40 µm connects exactly the pairs closer than 40 µm (brute force)."""
    rng = np.random.default_rng(8)
    src, tgt = rng.random((500, 3)) * 300, rng.random((400, 3)) * 300
    i, j, _ = sample_connections(src, tgt, CustomKernel(one_within_40um, cutoff=45 * um), 1)
    bi, bj = np.nonzero(brute_force_distances(src, tgt) < 40.0)
    np.testing.assert_array_equal(i, bi)
    np.testing.assert_array_equal(j, bj)


@pytest.mark.parametrize(
    "kernel",
    [
        GaussianKernel(p_max=0.8, sigma=60 * um),
        ExponentialKernel(p_max=0.9, length=25 * um),
        UniformKernel(p=0.5, radius=100 * um),
    ],
    ids=lambda k: type(k).__name__,
)
def test_each_pair_connects_with_probability_p_of_d(kernel):
    """Each pair is an independent Bernoulli(p(d)) draw: over R seeds, the count of each pair is
    Binomial(R, p(d)); the sum of squared z-scores is χ² with one degree of freedom per pair."""
    rng = np.random.default_rng(9)
    length = np.array([300.0, 200.0, 250.0])
    src, tgt = rng.random((40, 3)) * length, rng.random((35, 3)) * length
    p = kernel.probability(brute_force_distances(src, tgt, length))
    reps = 400
    counts = np.zeros_like(p)
    for seed in range(reps):
        i, j, _ = sample_connections(src, tgt, kernel, seed, periodic_box=(np.zeros(3), length))
        counts[i, j] += 1
    assert np.all(counts[p == 0] == 0)
    usable = reps * p * (1 - p) >= 5  # normal approximation of the binomial is good there
    z = (counts[usable] - reps * p[usable]) / np.sqrt(reps * p[usable] * (1 - p[usable]))
    assert usable.sum() > 100
    assert stats.chi2.sf(np.sum(z**2), usable.sum()) > 1e-3


@pytest.mark.parametrize(
    "kernel",
    [GaussianKernel(p_max=0.5, sigma=80 * um), ExponentialKernel(p_max=0.5, length=30 * um)],
    ids=lambda k: type(k).__name__,
)
def test_distance_profile_matches_kernel(kernel):
    """Histogram of connected-pair distances / histogram of all-pair distances ≈ p(d): per distance bin
    the number of connections is a sum of Bernoullis with mean Σp and variance Σp(1-p) over the bin's
    pairs (all pairs counted by brute force)."""
    pos = cube_positions(2000, 10)
    i, j, d = sample_connections(pos, pos, kernel, 11, periodic_box=BOX)
    dist = brute_force_distances(pos, pos, np.full(3, 1000.0))
    np.fill_diagonal(dist, np.inf)
    edges = np.linspace(0, kernel.cutoff_um(), 26)
    all_d = dist[dist < edges[-1]]
    p_all = kernel.probability(all_d)
    bins_all = np.digitize(all_d, edges) - 1
    mean = np.bincount(bins_all, weights=p_all, minlength=25)[:25]
    var = np.bincount(bins_all, weights=p_all * (1 - p_all), minlength=25)[:25]
    observed = np.histogram(d, edges)[0]
    pairs = np.bincount(bins_all, minlength=25)[:25]
    good = mean >= 10
    z = (observed[good] - mean[good]) / np.sqrt(var[good])
    assert good.sum() >= 8
    assert np.max(np.abs(z)) < 4.5
    assert stats.chi2.sf(np.sum(z**2), good.sum()) > 1e-3
    # The ratio of the two histograms traces the kernel (near bins: many pairs, small error).
    centres = (edges[:-1] + edges[1:]) / 2
    near = good & (pairs > 1000)
    ratio = observed[near] / pairs[near]
    np.testing.assert_allclose(ratio, kernel.probability(centres[near]), rtol=0.25, atol=0.01)


def test_distances_and_delays_are_exact():
    """Returned distances equal ‖x_i − y_j‖ (minimum-image), and delays are base + d/v exactly:
    0.5 m/s = 500 µm/ms, so 1000 µm costs 2 ms on top of the 0.5 ms base."""
    pos = cube_positions(1500, 12)
    i, j, d = sample_connections(pos, pos, GaussianKernel(p_max=0.5, sigma=100 * um), 3, periodic_box=BOX)
    diff = np.abs(pos[i] - pos[j])
    diff = np.minimum(diff, 1000.0 - diff)
    np.testing.assert_allclose(d, np.linalg.norm(diff, axis=1), rtol=1e-12, atol=1e-9)
    delay = ConductionDelay()
    np.testing.assert_allclose(delay.delays_ms(np.array([0.0, 250.0, 1000.0])), [0.5, 1.0, 2.5], rtol=1e-15)
    np.testing.assert_allclose(delay.delays_ms(d), 0.5 + d / 500.0, rtol=1e-15)
    fast = ConductionDelay(base=1 * ms, velocity=2 * metre / second)  # 2 m/s = 2000 µm/ms
    np.testing.assert_allclose(fast.delays_ms(np.array([0.0, 1000.0])), [1.0, 1.5], rtol=1e-15)


def test_output_types_order_and_determinism():
    """int32 indices sorted by (i, j), float64 distances; same seed → same synapses, new seed → new ones."""
    pos = cube_positions(2000, 13)
    kernel = GaussianKernel(p_max=0.3, sigma=90 * um)
    i, j, d = sample_connections(pos, pos, kernel, np.random.default_rng(5))
    assert i.dtype == np.int32 and j.dtype == np.int32 and d.dtype == np.float64
    key = i.astype(np.int64) * len(pos) + j
    assert np.all(np.diff(key) > 0)
    again = sample_connections(pos, pos, kernel, np.random.default_rng(5))
    for a, b in zip((i, j, d), again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = sample_connections(pos, pos, kernel, np.random.default_rng(6))
    assert len(other[0]) != len(i) or not np.array_equal(other[1], j)


def test_threads_do_not_change_the_synapses_or_the_solved_scale(monkeypatch):
    """Sampling and the in-degree solve run on several threads (NEUROSIM_BUILD_THREADS); each chunk of pairs
    draws from its own stream, so 1 and 3 threads give the same synapses and the same σ, bit for bit."""
    pos = cube_positions(3000, 17)
    kernel = GaussianKernel(p_max=0.5, in_degree=80)
    results = []
    for threads in ("1", "3"):
        monkeypatch.setenv("NEUROSIM_BUILD_THREADS", threads)
        solved = resolve_kernel(kernel, pos, pos)
        results.append((solved.sigma, *sample_connections(pos, pos, solved, 9, order="distance")))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1:], results[1][1:], strict=True):
        np.testing.assert_array_equal(a, b)
    monkeypatch.setenv("NEUROSIM_BUILD_THREADS", "two")
    with pytest.raises(ParameterError, match="NEUROSIM_BUILD_THREADS.*'two'.*whole number"):
        sample_connections(pos, pos, solved, 9)


def test_no_autapses_by_default_and_on_request():
    """One population (the same array): i → i never drawn unless autapses=True, then with d = 0 exactly;
    a copy of the array counts as another population unless same_population=True."""
    pos = cube_positions(800, 14)
    every = UniformKernel(p=1.0, radius=150 * um)
    i, j, _ = sample_connections(pos, pos, every, 0)
    assert not np.any(i == j)
    i, j, d = sample_connections(pos, pos, every, 0, autapses=True)
    assert np.sum(i == j) == len(pos) and np.all(d[i == j] == 0.0)
    copy = pos.copy()
    i, j, _ = sample_connections(pos, copy, every, 0)
    assert np.sum(i == j) == len(pos)
    i, j, _ = sample_connections(pos, copy, every, 0, same_population=True)
    assert not np.any(i == j)


# ------------------------------------------------------------------------------------------ in-degree


@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize(
    "kernel",
    [
        GaussianKernel(in_degree=150),
        GaussianKernel(p_max=0.2, in_degree=40),
        ExponentialKernel(p_max=0.5, in_degree=80),
        UniformKernel(p=0.5, in_degree=60),
    ],
    ids=lambda k: f"{type(k).__name__}-{k.in_degree}",
)
def test_mean_in_degree_matches_k(kernel, periodic):
    """in_degree=K: the solved scale gives an exact expected mean in-degree K (to 1e-4), and the drawn
    network's mean in-degree, a sum of independent Bernoullis, lies within 4 standard errors
    (SE = sqrt(Σp(1−p))/N <= sqrt(K/N)) of K."""
    pos = cube_positions(2500, 15)
    box = BOX if periodic else None
    k = kernel.in_degree
    resolved = resolve_kernel(kernel, pos, pos, periodic_box=box)
    assert resolved.in_degree is None and resolved.resolved
    assert expected_in_degree(resolved, pos, pos, periodic_box=box) == pytest.approx(k, rel=1e-4)
    i, _, _ = sample_connections(pos, pos, resolved, 16, periodic_box=box)
    assert abs(len(i) / len(pos) - k) < 4 * math.sqrt(k / len(pos))


def test_in_degree_kernel_is_resolved_inside_sampling():
    """A kernel given by in_degree can go straight to sample_connections (solved on the way)."""
    pos = cube_positions(3000, 17)
    i, _, _ = sample_connections(pos, pos, GaussianKernel(p_max=0.5, in_degree=50), 18)
    assert abs(len(i) / len(pos) - 50) < 4 * math.sqrt(50 / len(pos))


@pytest.mark.parametrize(
    "kernel",
    [
        GaussianKernel(p_max=0.8, in_degree=60),
        ExponentialKernel(p_max=0.5, in_degree=40),
        UniformKernel(p=0.5, in_degree=30),
    ],
    ids=lambda k: type(k).__name__,
)
def test_one_pass_solve_and_draw_equals_solve_then_draw(kernel):
    """With in_degree, sample_connections solves the scale in the same pass as the draws (each pair's random
    number drawn once; pairs that connect at the first solve's scale + 5% kept, then those that connect at
    the exact scale). The scale is resolve_kernel's, exactly (same histogram), and the law is that of
    drawing at it: mean in-degree within 4 standard errors of K, and the same distance distribution as
    solve-then-draw (two-sample Kolmogorov–Smirnov)."""
    pos = cube_positions(3000, 21)
    src, tgt, box = blocks._frame("t", pos, pos, None)
    ids = (np.arange(len(pos)), np.arange(len(pos)))
    k = kernel.in_degree
    first, lo, _ = degree._first_solve(kernel, k, src, tgt, box, True, None)
    solved, _ = sampling._solve_and_draw(kernel, k, first, lo, src, tgt, box, ids, [1, 2])
    assert solved.scale_um() == resolve_kernel(kernel, pos, pos).scale_um()
    i, _, d = sample_connections(pos, pos, kernel, 22)
    assert abs(len(i) / len(pos) - k) < 4 * math.sqrt(k / len(pos))
    _, _, d_ref = sample_connections(pos, pos, resolve_kernel(kernel, pos, pos), 23)
    assert stats.ks_2samp(d, d_ref).pvalue > 1e-3


def test_one_pass_falls_back_when_the_first_solve_is_too_far_off(monkeypatch):
    """If the exact scale lies beyond the first solve's + 5% (forced here: the first answer is 20% low),
    sampling solves fully first and draws after; the network still has mean in-degree K."""
    real = degree._first_solve

    def low_first(*args):
        scale, lo, hi = real(*args)
        return 0.8 * scale, lo, hi

    one_pass = sampling._solve_and_draw
    outcomes = []

    def recorded(*args):
        outcomes.append(one_pass(*args))
        return outcomes[-1]

    monkeypatch.setattr(sampling, "_first_solve", low_first)
    monkeypatch.setattr(sampling, "_solve_and_draw", recorded)
    pos = cube_positions(3000, 24)
    i, _, _ = sample_connections(pos, pos, GaussianKernel(p_max=0.5, in_degree=50), 25)
    assert outcomes == [None]
    assert abs(len(i) / len(pos) - 50) < 4 * math.sqrt(50 / len(pos))


def test_subsample_solver_is_close():
    """max_targets=500 solves on 500 evenly spread targets only: within a few % of K (edges make the
    expected in-degree vary by ~30% across a 1 mm cube for this kernel)."""
    pos = cube_positions(4000, 19)
    fast = resolve_kernel(GaussianKernel(in_degree=300), pos, pos, max_targets=500)
    assert expected_in_degree(fast, pos, pos) == pytest.approx(300, rel=0.03)


def test_periodic_box_removes_the_edge_deficit():
    """Without wrap-around, a target near a face of the cube loses the sources beyond it (about half at
    the face itself); with a periodic box every position is equivalent, so edge and centre targets have
    the same mean in-degree (measured within sampling error; exact expectation per target agrees)."""
    pos = cube_positions(3000, 20)
    kernel = GaussianKernel(p_max=0.3, sigma=100 * um)
    to_face = np.minimum(pos, 1000.0 - pos).min(axis=1)
    edge, centre = to_face < 50.0, to_face > 300.0
    ratios = {}
    for periodic in (False, True):
        box = BOX if periodic else None
        _, j, _ = sample_connections(pos, pos, kernel, 21, periodic_box=box)
        in_degree = np.bincount(j, minlength=len(pos))
        ratios[periodic] = in_degree[edge].mean() / in_degree[centre].mean()
        expected = expected_in_degree(kernel, pos, pos, periodic_box=box, per_target=True)
        assert abs(in_degree.mean() - expected.mean()) < 4 * math.sqrt(expected.mean() / len(pos))
    assert ratios[False] < 0.75
    assert ratios[True] == pytest.approx(1.0, abs=0.1)


# ------------------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize(
    "description",
    [
        GaussianKernel(p_max=0.3, sigma=85 * um),
        GaussianKernel(in_degree=100),
        ExponentialKernel(length=40 * um),
        ExponentialKernel(p_max=0.5, in_degree=12.5),
        UniformKernel(p=0.1, radius=200 * um),
        UniformKernel(in_degree=30),
        CustomKernel(half_within_50um, cutoff=60 * um),
        CustomKernel("numpy:exp"),
        ConductionDelay(),
        ConductionDelay(base=0.2 * ms, velocity=0.3 * metre / second),
    ],
    ids=lambda d: type(d).__name__,
)
def test_round_trip(description):
    """to_dict/from_dict, JSON and TOML give back an equal description."""
    cls = type(description)
    assert cls.from_dict(description.to_dict()) == description
    assert cls.from_json(description.to_json()) == description
    assert cls.from_toml(description.to_toml()) == description


def test_solved_kernel_round_trips_and_samples_identically():
    """A solved kernel (σ from in_degree) survives to_dict/from_dict and draws the same synapses."""
    pos = cube_positions(1000, 22)
    solved = resolve_kernel(GaussianKernel(p_max=0.5, in_degree=20), pos, pos)
    again = GaussianKernel.from_json(solved.to_json())
    assert float(again.sigma / um) == pytest.approx(float(solved.sigma / um), rel=1e-15)
    a = sample_connections(pos, pos, solved, 3)
    b = sample_connections(pos, pos, again, 3)
    np.testing.assert_array_equal(a[1], b[1])


def test_resolve_leaves_a_given_scale_alone():
    """A kernel with its length scale given is returned unchanged."""
    kernel = GaussianKernel(sigma=100 * um)
    assert resolve_kernel(kernel, np.zeros((3, 3)), np.zeros((3, 3))) is kernel


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: GaussianKernel(sigma=0 * um), "sigma"),
        (lambda: GaussianKernel(sigma=-5 * um), "sigma"),
        (lambda: GaussianKernel(sigma=5 * ms), "sigma"),
        (lambda: GaussianKernel(sigma=100.0), "sigma"),
        (lambda: GaussianKernel(), "sigma"),
        (lambda: GaussianKernel(sigma=100 * um, in_degree=10), "in_degree"),
        (lambda: GaussianKernel(in_degree=0), "in_degree"),
        (lambda: GaussianKernel(in_degree=-3), "in_degree"),
        (lambda: GaussianKernel(p_max=1.5, sigma=100 * um), "p_max"),
        (lambda: GaussianKernel(p_max=-0.1, sigma=100 * um), "p_max"),
        (lambda: GaussianKernel(p_max=0.0, in_degree=10), "p_max"),
        (lambda: ExponentialKernel(length=2 * second), "length"),
        (lambda: ExponentialKernel(), "length"),
        (lambda: UniformKernel(p=2.0, radius=10 * um), "p"),
        (lambda: UniformKernel(radius=-1 * um), "radius"),
        (lambda: CustomKernel(lambda d: d), "function"),
        (lambda: CustomKernel("no_such_module_xyz:f"), "function"),
        (lambda: CustomKernel("numpy"), "function"),
        (lambda: CustomKernel("numpy:exp", cutoff=3 * ms), "cutoff"),
        (lambda: CustomKernel(too_large).probability(np.ones(3)), "function"),
        (lambda: ConductionDelay(velocity=0 * metre / second), "velocity"),
        (lambda: ConductionDelay(velocity=1 * ms), "velocity"),
        (lambda: ConductionDelay(base=-1 * ms), "base"),
        (lambda: GaussianKernel(in_degree=10).probability(1.0), "in_degree"),
    ],
)
def test_bad_description_names_the_parameter(make, name):
    """Every bad value raises ParameterError naming the parameter."""
    with pytest.raises(ParameterError, match=f"'{name}'"):
        make()


def test_in_degree_larger_than_the_source_population():
    """K cannot exceed the possible sources: N − 1 in one population without autapses; the error names
    in_degree, the value and the source size."""
    pos = cube_positions(100, 23)
    with pytest.raises(ParameterError, match=r"'in_degree' = 100 .*99 .*source population of 100"):
        resolve_kernel(GaussianKernel(in_degree=100), pos, pos)
    with pytest.raises(ParameterError, match=r"'in_degree' = 101 .*100"):
        resolve_kernel(GaussianKernel(in_degree=101), pos, pos.copy())


def test_unreachable_in_degree():
    """p_max·N bounds the in-degree: with p_max = 0.1 and 99 possible sources, K = 20 is out of reach."""
    pos = cube_positions(100, 24)
    with pytest.raises(ParameterError, match=r"'in_degree' = 20 .*cannot be reached"):
        resolve_kernel(GaussianKernel(p_max=0.1, in_degree=20), pos, pos)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"source_pos": np.zeros((5, 2))}, "source_pos"),
        ({"target_pos": np.full((5, 3), np.nan)}, "target_pos"),
        ({"periodic_box": (np.zeros(3), np.zeros(3))}, "periodic_box"),
        ({"periodic_box": "cube"}, "periodic_box"),
        ({"kernel": "gaussian"}, "kernel"),
        ({"rng": "seed"}, "rng"),
    ],
)
def test_bad_sampling_arguments(kwargs, name):
    """Bad positions, boxes, kernels or random generators are refused with the argument named."""
    args = {
        "source_pos": np.zeros((5, 3)),
        "target_pos": np.zeros((5, 3)),
        "kernel": GaussianKernel(sigma=10 * um),
        "rng": 0,
    }
    args.update(kwargs)
    with pytest.raises(ParameterError, match=f"'{name}'"):
        sample_connections(
            args["source_pos"],
            args["target_pos"],
            args["kernel"],
            args["rng"],
            periodic_box=kwargs.get("periodic_box"),
        )


# ------------------------------------------------------------------------------------------ scaling


class _Clock:
    """Wall and CPU seconds between laps (CPU time is the steadier number on a shared machine)."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> str:
        wall, cpu = time.perf_counter(), time.process_time()
        text = f"{wall - self.wall:.2f} s wall / {cpu - self.cpu:.2f} s CPU"
        self.wall, self.cpu = wall, cpu
        return text


@pytest.mark.slow
def test_scaling_10k_neurons_k1000():
    """10,000 neurons in a 1 mm cube, Gaussian kernel solved for K = 1000 (the reference network of
    performance.md): the mean in-degree is K within 4 SE, no autapses; prints the build time."""
    pos = cube_positions(10_000, 25)
    clock = _Clock()
    kernel = resolve_kernel(GaussianKernel(in_degree=1000), pos, pos)
    solve = clock.lap()
    i, j, d = sample_connections(pos, pos, kernel, 26)
    sample = clock.lap()
    print(f"\n10k x K=1000: sigma = {float(kernel.sigma / um):.1f} um; solve {solve}; sample {sample}")
    assert abs(len(i) / len(pos) - 1000) < 4 * math.sqrt(1000 / len(pos))
    assert not np.any(i == j)
    assert np.all(np.diff(i) >= 0)


@pytest.mark.slow
def test_scaling_50k_neurons_local_kernel():
    """50,000 neurons, Gaussian kernel with K = 100 (σ ≈ 52 µm, cutoff 5σ): the search stays local
    (no O(N²) memory or loop); mean in-degree within 4 SE of K; prints the build time."""
    pos = cube_positions(50_000, 27)
    clock = _Clock()
    kernel = resolve_kernel(GaussianKernel(in_degree=100), pos, pos)
    solve = clock.lap()
    i, j, d = sample_connections(pos, pos, kernel, 28)
    sample = clock.lap()
    print(f"\n50k x K=100: sigma = {float(kernel.sigma / um):.1f} um; solve {solve}; sample {sample}")
    assert abs(len(i) / len(pos) - 100) < 4 * math.sqrt(100 / len(pos))
    assert d.max() <= kernel.cutoff_um() * (1 + 1e-9)


def test_distance_order_holds_the_same_synapses_by_source_then_distance():
    # build() asks for order="distance" (a spike's same-delay synapses are neighbours in memory); it must
    # be a permutation of the default (i, j) order, with each source's synapses by increasing distance.
    pos = np.random.default_rng(0).random((400, 3)) * 500
    by_target = sample_connections(pos, pos, GaussianKernel(in_degree=30), 1)
    i, j, d = sample_connections(pos, pos, GaussianKernel(in_degree=30), 1, order="distance")
    pairs = sorted(zip(i.tolist(), j.tolist(), strict=True))
    assert pairs == sorted(zip(by_target[0].tolist(), by_target[1].tolist(), strict=True))
    assert np.all(np.diff(i) >= 0)
    assert np.all(np.diff(d)[i[1:] == i[:-1]] >= 0)
    np.testing.assert_allclose(d, np.linalg.norm(pos[i] - pos[j], axis=1))
    with pytest.raises(ParameterError, match="'order' = 'delay'"):
        sample_connections(pos, pos, GaussianKernel(in_degree=30), 1, order="delay")
