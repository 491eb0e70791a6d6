"""Plots of a simulation: spike raster, population rates, weight distributions over time, 3D view.

Each function draws onto ``ax`` when given (else on a new figure) and returns the
:class:`~matplotlib.figure.Figure`, so that callers can save it (``fig.savefig("raster.png")``) or compose
several plots in one figure. Times are shown in ms, positions in µm, rates in Hz; weights are the
dimensionless ``w`` that plasticity changes (a projection delivers ``J * w`` per spike).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from brian2 import Quantity, ms, second
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from .backend import Simulation

__all__ = ["network_3d", "population_rate", "raster", "rates", "weight_distribution", "weight_histograms"]


def raster(
    sim: Simulation,
    populations: Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
    markersize: float = 3.0,
) -> Figure:
    """Spike raster: one dot per recorded spike, populations stacked bottom-up in the given order.

    ``populations``: names to show (default: every population with a :class:`~neurosim.SpikeRecording`).
    """
    names = list(populations) if populations is not None else _recorded(sim, "spikes")
    fig, ax = _figure(ax)
    offset = 0
    ticks, labels = [], []
    for k, name in enumerate(names):
        i, t = sim.spikes(name)
        n = sim.description.population(name).n
        ax.scatter(
            np.asarray(t / ms), i + offset, s=markersize, color=f"C{k}", marker="o", linewidths=0, label=name
        )
        ticks.append(offset + n / 2)
        labels.append(name)
        offset += n
    ax.set_xlim(0, float(sim.t / ms))
    ax.set_ylim(-0.5, max(offset, 1) - 0.5)
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    return fig


def population_rate(
    sim: Simulation, population: str, *, width: Quantity = 5 * ms
) -> tuple[np.ndarray, np.ndarray]:
    """Population rate (Hz) of ``population`` against time (ms), smoothed with a Gaussian of sd ``width``.

    Uses the population's :class:`~neurosim.RateRecording` when there is one, else bins its recorded spikes
    at the simulation's ``dt``. ``width=0*ms`` returns the unsmoothed rate.
    """
    dt = float(sim.description.dt / second)
    if sim.recorded("rate", population):
        t, r = sim.rate(population)
        t_ms, rate = np.asarray(t / ms), np.asarray(r / (1 / second))
    else:
        i, t = sim.spikes(population)
        steps = int(round(float(sim.t / second) / dt))
        counts = np.bincount(np.round(np.asarray(t / second) / dt).astype(int), minlength=steps)[:steps]
        t_ms = np.arange(steps) * dt * 1e3
        rate = counts / (sim.description.population(population).n * dt)
    sd = float(width / second) / dt
    if sd > 0 and rate.size:
        x = np.arange(-int(np.ceil(4 * sd)), int(np.ceil(4 * sd)) + 1)
        kernel = np.exp(-0.5 * (x / sd) ** 2)
        rate = np.convolve(rate, kernel / kernel.sum(), mode="same")
    return t_ms, rate


def rates(
    sim: Simulation,
    populations: Sequence[str] | None = None,
    *,
    width: Quantity = 5 * ms,
    ax: Axes | None = None,
) -> Figure:
    """Smoothed population rates against time, one line per population (see :func:`population_rate`).

    ``populations``: default every population with a rate or spike recording.
    """
    if populations is None:
        names = [n for n in _population_names(sim) if sim.recorded("rate", n) or sim.recorded("spikes", n)]
    else:
        names = list(populations)
    fig, ax = _figure(ax)
    for k, name in enumerate(names):
        t, r = population_rate(sim, name, width=width)
        ax.plot(t, r, color=f"C{k}", label=name, linewidth=1)
    ax.set_xlim(0, float(sim.t / ms))
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate (Hz)")
    if names:
        ax.legend(loc="upper right", frameon=False)
    return fig


def weight_histograms(
    weights_over_time: Any,
    times: Any = None,
    *,
    bins: int = 30,
    w_range: tuple[float, float] | None = None,
    ax: Axes | None = None,
    cmap: str = "viridis",
) -> Figure:
    """Weight distribution over time as a heat map: column = time, row = weight bin, colour = fraction.

    ``weights_over_time``: a recording of ``w`` (``sim.state(projection)``), or an
    array of shape ``(n_times, n_synapses)`` with ``times`` (Quantity, or floats in ms; default: sample
    index). ``w_range``: the weight axis (default: the range of the data).
    """
    w, t_ms = _weights_and_times(weights_over_time, times)
    low, high = w_range if w_range is not None else (float(np.min(w)), float(np.max(w)))
    if high <= low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, bins + 1)
    counts = np.stack([np.histogram(row, bins=edges)[0] for row in w], axis=1)
    fraction = counts / max(w.shape[1], 1)
    fig, ax = _figure(ax)
    mesh = ax.pcolormesh(_edges(t_ms), edges, fraction, cmap=cmap, shading="flat")
    fig.colorbar(mesh, ax=ax, label="fraction of synapses")
    ax.set_xlabel("time (ms)" if times is not None or _is_monitor(weights_over_time) else "sample")
    ax.set_ylabel("weight w")
    return fig


def weight_distribution(
    sim: Simulation,
    projection: str,
    times: Any = None,
    *,
    bins: int = 30,
    ax: Axes | None = None,
    cmap: str = "viridis",
) -> Figure:
    """Histograms of a projection's weights at several times, overlaid (early: dark, late: light).

    With ``times`` (Quantity or ms), each histogram is the recorded sample nearest that time (the projection
    needs a ``StateRecording(projection, ("w",))``). Without, five times spread over the recording, or only
    the current weights when ``w`` is not recorded.
    """
    if sim.recorded("state", projection, "w"):
        mon = sim.state(projection)
        w_all, t_all = np.asarray(mon.w).T, np.asarray(mon.t / ms)
        if times is None:
            picks = np.unique(np.linspace(0, len(t_all) - 1, min(5, len(t_all))).round().astype(int))
        else:
            wanted = _as_ms(times)
            picks = np.array([int(np.argmin(np.abs(t_all - x))) for x in wanted], dtype=int)
        snapshots = [(t_all[k], w_all[k]) for k in picks]
    else:
        if times is not None:
            raise KeyError(
                f"weights of '{projection}' over time need a StateRecording('{projection}', ('w',)) "
                "in the description; without one only the current weights are known"
            )
        snapshots = [(float(sim.t / ms), sim.weights(projection))]
    proj = sim.description.projection(projection)
    values = np.concatenate([w for _, w in snapshots]) if snapshots else np.zeros(0)
    low = min(proj.w_min, float(values.min())) if values.size else proj.w_min
    high = max(proj.w_max, float(values.max())) if values.size else proj.w_max
    edges = np.linspace(low, high if high > low else low + 1, bins + 1)
    fig, ax = _figure(ax)
    colours = plt.get_cmap(cmap)(np.linspace(0.0, 0.85, max(len(snapshots), 1)))
    for (t, w), colour in zip(snapshots, colours, strict=False):
        counts, _ = np.histogram(w, bins=edges)
        ax.stairs(counts, edges, color=colour, label=f"t = {t:g} ms", linewidth=1.5)
    ax.set_xlabel("weight w")
    ax.set_ylabel("synapses")
    ax.set_title(projection)
    ax.legend(frameon=False)
    return fig


def network_3d(
    sim: Simulation,
    projections: Sequence[str] | None = None,
    *,
    populations: Sequence[str] | None = None,
    max_connections: int | None = 500,
    ax: Axes | None = None,
    cmap: str = "viridis",
    markersize: float = 8.0,
    seed: int = 0,
) -> Figure:
    """Neurons in 3D (µm), coloured by population, with connections drawn as lines coloured by weight ``w``.

    ``projections``: which to draw (default: all); ``max_connections``: at most this many per projection,
    a random subset fixed by ``seed`` (None: all). ``populations``: which to show (default: all).
    """
    pops = list(populations) if populations is not None else _population_names(sim)
    projs = list(projections) if projections is not None else [p.name for p in sim.description.projections]
    if ax is None:
        fig = plt.figure(figsize=(7, 6))
        ax = fig.add_subplot(projection="3d")
    fig = ax.figure
    for k, name in enumerate(pops):
        pos = sim.positions[name]
        ax.scatter(pos[:, 0], pos[:, 1], pos[:, 2], s=markersize, color=f"C{k}", label=name, depthshade=False)
    segments, weights = [], []
    rng = np.random.default_rng(seed)
    for name in projs:
        proj = sim.description.projection(name)
        i, j = sim.connections(name)
        w = sim.weights(name)
        keep = np.arange(len(i))
        if max_connections is not None and len(i) > max_connections:
            keep = np.sort(rng.choice(len(i), size=max_connections, replace=False))
        src, tgt = sim.positions[proj.source][i[keep]], sim.positions[proj.target][j[keep]]
        segments.append(np.stack([src, tgt], axis=1))
        weights.append(w[keep])
    if projs:
        from mpl_toolkits.mplot3d.art3d import Line3DCollection

        every = np.concatenate(weights) if weights else np.zeros(0)
        low, high = (float(every.min()), float(every.max())) if every.size else (0.0, 1.0)
        norm = Normalize(low, high if high > low else low + 1e-12)
        for name, seg, w in zip(projs, segments, weights, strict=True):
            # gid names the projection; the label stays out of the legend (the colour bar explains colours)
            lines = Line3DCollection(seg, cmap=cmap, norm=norm, linewidths=0.6, alpha=0.6, label=f"_{name}")
            lines.set_gid(name)
            lines.set_array(w)
            ax.add_collection3d(lines)
        fig.colorbar(
            plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.6, pad=0.12, label="weight w"
        )
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.set_zlabel("z (µm)")
    if pops:
        ax.legend(loc="upper left", frameon=False)
    return fig


# -- helpers ------------------------------------------------------------------------------------------


def _figure(ax: Axes | None) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
        return fig, ax
    return ax.figure, ax


def _population_names(sim: Simulation) -> list[str]:
    return [p.name for p in sim.description.populations]


def _recorded(sim: Simulation, kind: str) -> list[str]:
    return [n for n in _population_names(sim) if sim.recorded(kind, n)]


def _is_monitor(obj: Any) -> bool:
    return hasattr(obj, "record_variables")


def _as_ms(times: Any) -> np.ndarray:
    if isinstance(times, Quantity):
        return np.atleast_1d(np.asarray(times / ms, dtype=float))
    return np.atleast_1d(np.asarray(times, dtype=float))


def _weights_and_times(data: Any, times: Any) -> tuple[np.ndarray, np.ndarray]:
    if _is_monitor(data):
        if "w" not in data.record_variables:
            raise KeyError(f"the monitor records {list(data.record_variables)}, not 'w'")
        return np.asarray(data.w).T, np.asarray(data.t / ms)
    w = np.asarray(data, dtype=float)
    if w.ndim != 2:
        raise ValueError(f"weights over time must have shape (n_times, n_synapses); got {w.shape}")
    t = np.arange(w.shape[0], dtype=float) if times is None else _as_ms(times)
    if len(t) != w.shape[0]:
        raise ValueError(f"{len(t)} times for {w.shape[0]} weight samples")
    return w, t


def _edges(centres: np.ndarray) -> np.ndarray:
    """Bin edges around sample times (midpoints; the outer bins as wide as their neighbours)."""
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[:-1] + c[1:]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
