"""Placement of populations in 3D (neurosim.space): counts, bounds, distributions, round trips, errors."""

import numpy as np
import pytest
from brian2 import mm, ms, um
from scipy import stats

from neurosim.serialization import Describable
from neurosim.space import Explicit, Grid, Layer, LayeredColumn, Sphere, UniformBox
from neurosim.validation import ParameterError

# KS tests below use p > 1e-3: a correct sampler fails one of them once in a thousand runs at most,
# and the seeds are fixed, so the outcome is reproducible.
P_MIN = 1e-3


def test_uniform_box_marginals_are_uniform_and_inside():
    """Uniform density in a box: each coordinate is U(origin, origin + size) (KS test), all points inside."""
    box = UniformBox(size=(1000 * um, 500 * um, 200 * um), origin=(-100 * um, 0 * um, 50 * um))
    pos = box.positions(5000, np.random.default_rng(1))
    low, high = box.bounds()
    np.testing.assert_allclose(low, [-100, 0, 50])
    np.testing.assert_allclose(high, [900, 500, 250])
    assert pos.shape == (5000, 3) and pos.dtype == np.float64
    assert np.all(pos >= low) and np.all(pos <= high)
    for k in range(3):
        assert stats.kstest(pos[:, k], stats.uniform(low[k], high[k] - low[k]).cdf).pvalue > P_MIN


def test_uniform_box_single_length_means_cube_and_default_is_1mm():
    """One length means a cube; the default is the 1 mm cube of the reference network (performance.md)."""
    assert UniformBox(size=300 * um).size == (300 * um, 300 * um, 300 * um)
    np.testing.assert_allclose(UniformBox().bounds()[1], [1000, 1000, 1000])


def test_sphere_radial_cdf_is_r_cubed_and_isotropic():
    """Uniform ball: P(r < x) = (x/R)³, so (r/R)³ ~ U(0, 1); directions average to zero."""
    sphere = Sphere(radius=200 * um, center=(10 * um, 20 * um, 30 * um))
    n = 5000
    pos = sphere.positions(n, np.random.default_rng(2))
    rel = pos - np.array([10, 20, 30])
    r = np.linalg.norm(rel, axis=1)
    assert np.all(r <= 200)
    assert stats.kstest((r / 200) ** 3, "uniform").pvalue > P_MIN
    mean_direction = (rel / r[:, None]).mean(axis=0)
    # Each component of a uniform unit vector has variance 1/3: the mean has SE sqrt(1/(3n)).
    assert np.all(np.abs(mean_direction) < 5 * np.sqrt(1 / (3 * n)))
    low, high = sphere.bounds()
    np.testing.assert_allclose(low, [-190, -180, -170])
    np.testing.assert_allclose(high, [210, 220, 230])


def test_largest_remainder_counts_by_hand():
    """n = 7, fractions (0.5, 0.3, 0.2): quotas 3.5, 2.1, 1.4 → floors 3, 2, 1; the one left goes to the
    largest remainder (0.5, first layer) → (4, 2, 1) (Hamilton's method, worked by hand)."""
    column = LayeredColumn(
        radius=100 * um,
        layers=(
            Layer("A", 0 * um, 100 * um, 0.5),
            Layer("B", 100 * um, 200 * um, 0.3),
            Layer("C", 200 * um, 300 * um, 0.2),
        ),
    )
    assert column.layer_counts(7).tolist() == [4, 2, 1]
    assert column.layer_labels(7).tolist() == ["A"] * 4 + ["B"] * 2 + ["C"]


def test_cortex_column_layers_fractions_and_depths():
    """cortex(): counts are the largest-remainder rounding of n·fraction (Markram et al. 2015 shares), each
    neuron lies in its layer's depth slab (z = -depth) and inside the cylinder, uniform in the disc
    ((r/R)² ~ U(0, 1))."""
    column = LayeredColumn.cortex(radius=300 * um)
    n = 10_000
    pos = column.positions(n, np.random.default_rng(3))
    labels = column.layer_labels(n)
    fractions = {layer.name: layer.fraction for layer in column.layers}
    assert sum(fractions.values()) == pytest.approx(1.0)
    for layer in column.layers:
        mine = pos[labels == layer.name]
        assert len(mine) == round(n * fractions[layer.name])  # exact here: n·f are integers
        depth = -mine[:, 2]
        assert np.all(depth >= float(layer.top / um)) and np.all(depth <= float(layer.bottom / um))
    r = np.linalg.norm(pos[:, :2], axis=1)
    assert np.all(r <= 300)
    assert stats.kstest((r / 300) ** 2, "uniform").pvalue > P_MIN
    low, high = column.bounds()
    np.testing.assert_allclose(low, [-300, -300, -2082])
    np.testing.assert_allclose(high, [300, 300, 0])


def test_cortex_thickness_rescales_depths():
    """thickness=1 mm: the deepest border moves to 1000 µm, the proportions stay (L1 is 165/2082 of it)."""
    column = LayeredColumn.cortex(thickness=1 * mm)
    assert float(column.layers[-1].bottom / um) == pytest.approx(1000)
    assert float(column.layers[0].bottom / um) == pytest.approx(1000 * 165 / 2082)


def test_grid_spacing_order_and_periodic_bounds():
    """Lattice point k has index np.unravel_index(k, shape); neighbours are one spacing apart, and in
    the box given by bounds() the wrap-around neighbour is one spacing away too."""
    grid = Grid(shape=(4, 3, 2), spacing=(10 * um, 20 * um, 30 * um), origin=(5 * um, 0 * um, 0 * um))
    pos = grid.positions(24)
    for k in (0, 7, 23):
        ix, iy, iz = np.unravel_index(k, (4, 3, 2))
        np.testing.assert_allclose(pos[k], [5 + 10 * ix, 20 * iy, 30 * iz])
    low, high = grid.bounds()
    np.testing.assert_allclose(low, [0, -10, -15])
    np.testing.assert_allclose(high, [40, 50, 45])
    # Minimum-image distance between the first and last point along x (indices 0 and 3): one spacing.
    dx = abs(pos[np.ravel_multi_index((3, 0, 0), (4, 3, 2))][0] - pos[0][0])
    assert min(dx, (high - low)[0] - dx) == pytest.approx(10)


def test_grid_wrong_count_names_n_and_shape():
    """A Grid holds exactly nx·ny·nz neurons."""
    with pytest.raises(ParameterError, match=r"'n'.*shape \(2, 2, 2\)"):
        Grid(shape=(2, 2, 2), spacing=10 * um).positions(9)


def test_explicit_positions_and_count_check():
    """Explicit coordinates come back as given (in µm); a different n is refused."""
    xyz = np.array([[0.0, 1.5, 2.0], [100.0, -50.0, 7.25]])
    placement = Explicit(xyz * um)
    np.testing.assert_allclose(placement.positions(2), xyz, rtol=1e-15)
    np.testing.assert_allclose(placement.bounds()[0], [0, -50, 2])
    with pytest.raises(ParameterError, match="'n'"):
        placement.positions(3)


def _all_placements() -> list[Describable]:
    return [
        UniformBox(size=(1 * mm, 500 * um, 200 * um), origin=(1 * um, 2 * um, 3 * um)),
        Sphere(radius=150 * um, center=(0 * um, 0 * um, 10 * um)),
        LayeredColumn.cortex(radius=200 * um),
        Grid(shape=(3, 4, 5), spacing=25 * um),
        Explicit(np.random.default_rng(0).random((6, 3)) * 100 * um),
    ]


def _size(placement) -> int:
    return 60 if not isinstance(placement, Explicit) else 6


@pytest.mark.parametrize("placement", _all_placements(), ids=lambda p: type(p).__name__)
def test_round_trip_dict_json_toml(placement):
    """to_dict/from_dict, JSON and TOML give back an equal description that places neurons the same way
    (up to the last bit: a length written as "0.667 * mm" reads back as 666.9999999999999 µm)."""
    for again in (
        type(placement).from_dict(placement.to_dict()),
        type(placement).from_json(placement.to_json()),
        type(placement).from_toml(placement.to_toml()),
    ):
        assert again == placement
        n = _size(placement)
        np.testing.assert_allclose(again.positions(n, 4), placement.positions(n, 4), rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("placement", _all_placements(), ids=lambda p: type(p).__name__)
def test_determinism_under_seed(placement):
    """The same seed gives the same positions; random placements change with the seed."""
    n = _size(placement)
    a = placement.positions(n, np.random.default_rng(11))
    b = placement.positions(n, np.random.default_rng(11))
    np.testing.assert_array_equal(a, b)
    if not isinstance(placement, (Grid, Explicit)):
        assert not np.array_equal(a, placement.positions(n, np.random.default_rng(12)))


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: UniformBox(size=5 * ms), "size"),
        (lambda: UniformBox(size=1000), "size"),
        (lambda: UniformBox(size=(1 * mm, 1 * mm)), "size"),
        (lambda: UniformBox(size=(1 * mm, -1 * mm, 1 * mm)), "size"),
        (lambda: UniformBox(origin=3 * ms), "origin"),
        (lambda: Sphere(radius=0 * um), "radius"),
        (lambda: Sphere(radius=10.0), "radius"),
        (lambda: Grid(shape=(0, 2, 2), spacing=10 * um), "shape"),
        (lambda: Grid(shape=(2, 2), spacing=10 * um), "shape"),
        (lambda: Grid(shape=(2, 2, 2), spacing=0 * um), "spacing"),
        (lambda: Layer("L1", 100 * um, 50 * um, 0.5), "bottom"),
        (lambda: Layer("L1", 0 * um, 50 * um, 1.5), "fraction"),
        (lambda: Layer("L2/3", 0 * um, 50 * um, 0.5), "name"),
        (lambda: LayeredColumn(100 * um, (Layer("A", 0 * um, 50 * um, 0.5),)), "layers"),
        (
            lambda: LayeredColumn(
                100 * um, (Layer("A", 0 * um, 60 * um, 0.5), Layer("B", 50 * um, 90 * um, 0.5))
            ),
            "layers",
        ),
        (lambda: Explicit(np.zeros((4, 2)) * um), "coordinates"),
        (lambda: Explicit(np.zeros((4, 3))), "coordinates"),
        (lambda: UniformBox().positions(-1), "n"),
        (lambda: UniformBox().positions(2.5), "n"),
    ],
)
def test_bad_input_names_the_parameter(make, name):
    """Every bad value raises ParameterError naming the parameter."""
    with pytest.raises(ParameterError, match=f"'{name}'"):
        make()
