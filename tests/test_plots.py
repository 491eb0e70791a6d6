"""Plots (neurosim.plots): each returns a Figure whose artists hold exactly the data plotted, as PNG too.

The checks count artists against the simulation: one raster dot per recorded spike, one line segment per
drawn connection, histogram columns that sum to the number of synapses.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from brian2 import Hz, ms, mV, um  # noqa: E402
from matplotlib.collections import PathCollection, QuadMesh  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402
from mpl_toolkits.mplot3d.art3d import Line3DCollection, Path3DCollection  # noqa: E402

from neurosim import (  # noqa: E402
    LIF,
    GaussianKernel,
    NetworkDescription,
    PairSTDP,
    PoissonSource,
    Population,
    Projection,
    RateRecording,
    SpikeRecording,
    StateRecording,
    build,
)
from neurosim.plots import (  # noqa: E402
    network_3d,
    population_rate,
    raster,
    rates,
    weight_distribution,
    weight_histograms,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def sim():
    """Poisson inputs (40 at 30 Hz) onto 20 LIF neurons through plastic synapses, plus a recurrent
    projection: 300 ms with spikes, rates and weights recorded."""
    desc = NetworkDescription(
        populations=(
            Population("inp", 40, PoissonSource(rate=30 * Hz)),
            Population("exc", 20, LIF(synapse="delta")),
        ),
        projections=(
            Projection(
                "ff",
                "inp",
                "exc",
                weight=4 * mV,
                connectivity=GaussianKernel(p_max=0.5, sigma=500 * um),
                rules=(PairSTDP(A_plus=0.02, A_minus=0.021),),
                w_init="0.2 + 0.6*rand()",
            ),
            Projection(
                "rec", "exc", "exc", weight=0.5 * mV, connectivity=GaussianKernel(p_max=0.2, sigma=500 * um)
            ),
        ),
        recordings=(
            SpikeRecording("inp"),
            SpikeRecording("exc"),
            RateRecording("exc"),
            StateRecording("ff", ("w",), dt=10 * ms),
        ),
        seed=5,
        dt=0.2 * ms,
    )
    return build(desc).run(300 * ms, progress=False)


def _saves_png(fig, tmp_path):
    path = tmp_path / "figure.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_raster_has_one_dot_per_spike(sim, tmp_path):
    fig = raster(sim)
    assert isinstance(fig, Figure)
    dots = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert [d.get_label() for d in dots] == ["inp", "exc"]
    for dot, pop in zip(dots, ("inp", "exc"), strict=True):
        i, t = sim.spikes(pop)
        offsets = dot.get_offsets()
        assert len(offsets) == len(i) > 0
        np.testing.assert_allclose(offsets[:, 0], np.asarray(t / ms))
    # populations are stacked: exc (second) sits above the 40 input rows
    np.testing.assert_array_equal(dots[1].get_offsets()[:, 1], sim.spikes("exc")[0] + 40)
    _saves_png(fig, tmp_path)


def test_raster_draws_on_given_axes_and_selected_populations(sim):
    fig, axes = plt.subplots(1, 2)
    out = raster(sim, ["exc"], ax=axes[1])
    assert out is fig
    assert len(axes[1].collections) == 1 and len(axes[0].collections) == 0


def test_rates_mean_equals_spike_count_rate(sim, tmp_path):
    # The smoothed rate keeps the mean: away from the edges, mean rate = spikes / (neurons × duration).
    fig = rates(sim, width=5 * ms)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["inp", "exc"]
    t, r = lines[0].get_data()
    inner = (t > 25) & (t < 275)
    i, ts = sim.spikes("inp")
    ts = np.asarray(ts / ms)
    expected = np.sum((ts > 25) & (ts < 275)) / (40 * 0.25)
    assert np.mean(r[inner]) == pytest.approx(expected, rel=0.05)
    _saves_png(fig, tmp_path)


def test_population_rate_from_rate_monitor_matches_spikes(sim):
    # Two routes to one quantity: the RateRecording of 'exc' and its binned spikes give the same rate.
    t_mon, r_mon = population_rate(sim, "exc", width=0 * ms)
    i, ts = sim.spikes("exc")
    counts = np.bincount(np.round(np.asarray(ts / ms) / 0.2).astype(int), minlength=len(t_mon))
    np.testing.assert_allclose(r_mon, counts / (20 * 0.2e-3))


def test_weight_histograms_columns_are_distributions(sim, tmp_path):
    mon = sim.state("ff")
    fig = weight_histograms(mon, bins=12)
    mesh = next(c for c in fig.axes[0].collections if isinstance(c, QuadMesh))
    fraction = np.asarray(mesh.get_array()).reshape(12, -1)
    assert fraction.shape[1] == len(mon.t)
    np.testing.assert_allclose(fraction.sum(axis=0), 1.0)
    _saves_png(fig, tmp_path)


def test_weight_histograms_from_array():
    w = np.array([[0.1, 0.2, 0.9], [0.5, 0.5, 0.5]])
    fig = weight_histograms(w, [0, 100] * ms, bins=4, w_range=(0, 1))
    mesh = next(c for c in fig.axes[0].collections if isinstance(c, QuadMesh))
    np.testing.assert_allclose(
        np.asarray(mesh.get_array()).reshape(4, 2), [[2 / 3, 0], [0, 0], [0, 1], [1 / 3, 0]]
    )
    with pytest.raises(ValueError, match="times"):
        weight_histograms(w, [0, 50, 100] * ms)


def test_weight_distribution_one_histogram_per_time(sim, tmp_path):
    fig = weight_distribution(sim, "ff", times=[0, 150, 290] * ms)
    steps = [p for p in fig.axes[0].patches if isinstance(p, StepPatch)]
    assert len(steps) == 3
    n_syn = len(sim.weights("ff"))
    for step in steps:
        assert step.get_data().values.sum() == n_syn
    # the last histogram is that of the weights recorded at 290 ms
    mon = sim.state("ff")
    k = int(np.argmin(np.abs(np.asarray(mon.t / ms) - 290)))
    edges = steps[-1].get_data().edges
    np.testing.assert_array_equal(steps[-1].get_data().values, np.histogram(mon.w[:, k], bins=edges)[0])
    _saves_png(fig, tmp_path)


def test_weight_distribution_without_recording_shows_current_weights(sim):
    fig = weight_distribution(sim, "rec")
    steps = [p for p in fig.axes[0].patches if isinstance(p, StepPatch)]
    assert len(steps) == 1 and steps[0].get_data().values.sum() == len(sim.weights("rec"))
    with pytest.raises(KeyError, match="StateRecording"):
        weight_distribution(sim, "rec", times=[10] * ms)


def test_network_3d_draws_neurons_and_sampled_connections(sim, tmp_path):
    fig = network_3d(sim, max_connections=50)
    ax = fig.axes[0]
    points = [c for c in ax.collections if isinstance(c, Path3DCollection)]
    assert [p.get_label() for p in points] == ["inp", "exc"]
    assert [len(p._offsets3d[0]) for p in points] == [40, 20]
    lines = {c.get_gid(): c for c in ax.collections if isinstance(c, Line3DCollection)}
    for name in ("ff", "rec"):
        n = len(sim.weights(name))
        assert len(lines[name].get_array()) == min(n, 50)
    # with every connection drawn, segment k joins source i[k] to target j[k], coloured by w[k]
    fig = network_3d(sim, ["ff"], max_connections=None)
    coll = next(c for c in fig.axes[0].collections if isinstance(c, Line3DCollection))
    i, j = sim.connections("ff")
    np.testing.assert_array_equal(coll.get_array(), sim.weights("ff"))
    seg = np.asarray(coll._segments3d)
    np.testing.assert_allclose(seg[:, 0], sim.positions["inp"][i])
    np.testing.assert_allclose(seg[:, 1], sim.positions["exc"][j])
    _saves_png(fig, tmp_path)
