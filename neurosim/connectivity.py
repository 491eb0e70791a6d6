"""Distance-dependent connectivity: connection kernels p(d), sampling of synapses, conduction delays.

A kernel gives the probability that a source neuron connects to a target neuron a distance ``d`` away;
every candidate pair is an independent Bernoulli draw with that probability (as in Brian2's
``connect(p=...)``). Kernels take their length scale either directly (``sigma=100*um``) or from a wanted
mean in-degree (``in_degree=K``), in which case :func:`resolve_kernel` solves for the length scale that
gives exactly ``K`` inputs per target on average, for the actual positions (edge effects included).

Kernels, with ``d`` the distance and ``s`` the length scale:

* :class:`GaussianKernel`: ``p(d) = p_max·exp(-d²/2σ²)``; cortex: σ ≈ 85–115 µm locally (Levy & Reyes 2012).
* :class:`ExponentialKernel`: ``p(d) = p_max·exp(-d/λ)``.
* :class:`UniformKernel`: ``p(d) = p`` for ``d <= radius``, else 0.
* :class:`CustomKernel`: any vectorised function ``p(d_um)``, named by import path so that it round-trips.

Every kernel is truncated at ``cutoff_um()`` (p = 0 beyond it; 5σ for the Gaussian, 10λ for the
exponential, the radius for the uniform kernel). ``probability()``, :func:`expected_in_degree`, the
in-degree solver and :func:`sample_connections` all use the same truncated kernel, so a solved ``K`` is
exactly what is sampled on average.

Positions are plain ``(n, 3)`` float arrays in micrometres (as returned by :mod:`neurosim.space`);
Quantity arrays of lengths are accepted too. Distances returned are float64 micrometres.

Sampling scales to large networks: sources are grouped into small spatial blocks, and each block is
compared only with the targets in grid cells that can lie within the cutoff, using dense vectorised
distance blocks of bounded size (no O(N²) memory, no per-pair Python loop). For the Gaussian and
exponential kernels a Bernoulli draw needs no exponential function: with ``E ~ Exp(1)``,
``P(E > d²/2σ² - ln p_max) = p_max·exp(-d²/2σ²)``.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from brian2 import Quantity, metre, ms, second, um
from brian2.units.fundamentalunits import have_same_dimensions
from scipy.optimize import brentq

from .serialization import Describable
from .space import as_generator
from .validation import check_choice, check_number, check_probability, check_quantity, fail

__all__ = [
    "ConductionDelay",
    "CustomKernel",
    "ExponentialKernel",
    "GaussianKernel",
    "Kernel",
    "UniformKernel",
    "expected_in_degree",
    "resolve_kernel",
    "sample_connections",
]

# Distances within this relative tolerance of the cutoff count as inside (rounding of grid distances).
_CUT_TOL = 1e-9
# Largest dense distance block (pairs) computed at once: a few MB, so it stays in cache.
_PAIR_BUDGET = 1 << 18


# ----------------------------------------------------------------------------------------------- kernels


class Kernel(Describable):
    """Base class of distance kernels: ``probability(d_um)`` and ``cutoff_um()``.

    Subclasses with a length scale name it in ``scale_name`` and implement ``_profile(d, scale)``; the
    cutoff is ``cut_factor·scale``.
    """

    scale_name: ClassVar[str] = ""  # field holding the length scale ("" for kernels without one)
    peak_name: ClassVar[str] = "p_max"  # field holding the largest probability
    cut_factor: ClassVar[float] = math.inf  # cutoff in units of the length scale

    @property
    def peak(self) -> float:
        """The largest connection probability of the kernel (at d = 0)."""
        return float(getattr(self, self.peak_name))

    @property
    def resolved(self) -> bool:
        """True when the length scale is known (given, or solved from ``in_degree``)."""
        return not self.scale_name or getattr(self, self.scale_name) is not None

    def scale_um(self) -> float:
        """The length scale in µm (raises if it is still to be solved from ``in_degree``)."""
        cached = self.__dict__.get("_scale_um")
        if cached is not None:
            return cached
        value = getattr(self, self.scale_name) if self.scale_name else None
        if value is None:
            if self.scale_name:
                fail(
                    type(self).__name__,
                    "in_degree",
                    getattr(self, "in_degree", None),
                    f"'{self.scale_name}' is not known yet; call "
                    "resolve_kernel(kernel, source_pos, target_pos) to solve for it",
                )
            return math.nan
        scale = float(value / um)
        object.__setattr__(self, "_scale_um", scale)  # a cache, not a field: unit arithmetic is slow
        return scale

    def with_scale_um(self, scale_um: float) -> Kernel:
        """A copy with the length scale set (in µm) and ``in_degree`` cleared."""
        return dataclasses.replace(self, **{self.scale_name: float(scale_um) * um, "in_degree": None})

    def cutoff_um(self) -> float:
        """Distance (µm) beyond which p is taken as 0 (inf when unknown)."""
        return self.cut_factor * self.scale_um()

    def _profile(self, d: np.ndarray, scale: float) -> np.ndarray:
        raise NotImplementedError

    def probability(self, d_um: Any) -> np.ndarray:
        """Connection probability at distances ``d_um`` (floats, µm), truncated at ``cutoff_um()``."""
        d = np.asarray(d_um, dtype=float)
        scale = self.scale_um()
        inside = d <= self.cutoff_um() * (1 + _CUT_TOL)
        with np.errstate(invalid="ignore", over="ignore"):
            return np.where(inside, self._profile(d, scale), 0.0)

    def _accept(self, d2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One Bernoulli draw per entry of the 1-D array ``d2`` (squared distances, µm²; +inf never connects).

        Entries beyond the cutoff may be accepted here; the caller removes them.
        """
        cut = self.cutoff_um()
        mask = d2 <= (cut * (1 + _CUT_TOL)) ** 2 if math.isfinite(cut) else np.isfinite(d2)
        where = np.flatnonzero(mask)
        mask[where] = rng.random(where.size) < self.probability(np.sqrt(d2[where]))
        return mask

    def _statistic(self, d2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One random number per pair such that :meth:`_accepts` decides the pair at *any* scale: drawing
        it once lets :func:`sample_connections` solve the scale and draw in one pass. Default: a uniform."""
        return rng.random(d2.size)

    def _accepts(self, d2: np.ndarray, stat: np.ndarray) -> np.ndarray:
        """Whether pairs at squared distances ``d2`` with random numbers ``stat`` (from
        :meth:`_statistic`) connect at this kernel's scale: with probability p(d), and monotone in the
        scale (a pair that connects at a scale connects at every larger one)."""
        return stat < self.probability(np.sqrt(d2))

    def _check_scale_or_degree(self) -> None:
        owner = type(self).__name__
        check_probability(owner, self.peak_name, getattr(self, self.peak_name))
        scale = getattr(self, self.scale_name)
        k = self.in_degree
        hint = (
            f"give exactly one of '{self.scale_name}' (a length, e.g. 100*um) or 'in_degree' "
            "(the wanted mean number of inputs per target neuron)"
        )
        if scale is None and k is None:
            fail(owner, self.scale_name, None, hint)
        if scale is not None and k is not None:
            fail(owner, "in_degree", k, hint + f"; got both ({self.scale_name} = {scale!r})")
        if scale is not None:
            check_quantity(owner, self.scale_name, scale, um, positive=True)
        else:
            check_number(owner, "in_degree", k, low=0, low_open=True)
            if self.peak == 0:
                fail(owner, self.peak_name, 0.0, "must be > 0 when 'in_degree' is to be reached")


@dataclass(frozen=True)
class GaussianKernel(Kernel):
    """``p(d) = p_max·exp(-d²/2σ²)``, truncated at 5σ (p there is 4e-6·p_max)."""

    p_max: float = 1.0  # probability at d = 0, in [0, 1]
    sigma: Quantity | None = None  # width σ (a length); or leave None and give in_degree
    in_degree: float | None = None  # wanted mean number of inputs per target; σ is solved for it

    scale_name: ClassVar[str] = "sigma"
    cut_factor: ClassVar[float] = 5.0

    def __post_init__(self) -> None:
        self._check_scale_or_degree()

    def _profile(self, d: np.ndarray, scale: float) -> np.ndarray:
        return self.peak * np.exp(-(d * d) / (2 * scale * scale))

    def _statistic(self, d2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # exp(-d²/2σ²)·p_max > U  ⟺  d² < 2σ²·(E + ln p_max) with E = -ln U ~ Exp(1).
        stat = rng.standard_exponential(d2.shape)
        if self.peak < 1:
            stat += math.log(self.peak) if self.peak > 0 else -math.inf
        return stat

    def _accepts(self, d2: np.ndarray, stat: np.ndarray) -> np.ndarray:
        return d2 < stat * (2 * self.scale_um() ** 2)

    def _accept(self, d2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self._accepts(d2, self._statistic(d2, rng))


@dataclass(frozen=True)
class ExponentialKernel(Kernel):
    """``p(d) = p_max·exp(-d/λ)``, truncated at 10λ (p there is 5e-5·p_max).

    In 3D the tail holds much of the in-degree: beyond 10λ lies 0.3% of it in a uniform medium (12.5%
    beyond 5λ), so a 5λ cut, fine for a Gaussian, would visibly change an exponential kernel.
    """

    p_max: float = 1.0  # probability at d = 0, in [0, 1]
    length: Quantity | None = None  # decay length λ; or leave None and give in_degree
    in_degree: float | None = None  # wanted mean number of inputs per target; λ is solved for it

    scale_name: ClassVar[str] = "length"
    cut_factor: ClassVar[float] = 10.0

    def __post_init__(self) -> None:
        self._check_scale_or_degree()

    def _profile(self, d: np.ndarray, scale: float) -> np.ndarray:
        return self.peak * np.exp(-d / scale)

    def _statistic(self, d2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # p_max·exp(-d/λ) > U  ⟺  d < λ·(E + ln p_max) with E = -ln U ~ Exp(1).
        stat = rng.standard_exponential(d2.shape)
        if self.peak < 1:
            stat += math.log(self.peak) if self.peak > 0 else -math.inf
        return stat

    def _accepts(self, d2: np.ndarray, stat: np.ndarray) -> np.ndarray:
        return np.sqrt(d2) < stat * self.scale_um()

    def _accept(self, d2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self._accepts(d2, self._statistic(d2, rng))


@dataclass(frozen=True)
class UniformKernel(Kernel):
    """``p(d) = p`` within ``radius`` (inclusive), 0 beyond it."""

    p: float = 1.0  # probability inside the radius, in [0, 1]
    radius: Quantity | None = None  # reach of the kernel; or leave None and give in_degree
    in_degree: float | None = None  # wanted mean number of inputs per target; the radius is solved for it

    scale_name: ClassVar[str] = "radius"
    peak_name: ClassVar[str] = "p"
    cut_factor: ClassVar[float] = 1.0

    def __post_init__(self) -> None:
        self._check_scale_or_degree()

    def _profile(self, d: np.ndarray, scale: float) -> np.ndarray:
        return np.full(d.shape, self.peak)

    def _accept(self, d2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mask = d2 <= (self.cutoff_um() * (1 + _CUT_TOL)) ** 2
        if self.peak < 1:
            where = np.flatnonzero(mask)
            mask[where] = rng.random(where.size) < self.peak
        return mask


def _import_function(owner: str, path: str) -> Callable[[np.ndarray], Any]:
    module, sep, qualname = path.partition(":")
    if not sep or not module or not qualname:
        fail(owner, "function", path, "expected an import path 'package.module:function'")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        fail(owner, "function", path, f"cannot import it ({err})")
    if not callable(obj):
        fail(owner, "function", path, "does not name a callable")
    return obj


@dataclass(frozen=True)
class CustomKernel(Kernel):
    """A user's kernel: ``function`` names a vectorised callable ``p(d_um) -> probabilities``.

    ``function`` is an import path ``"package.module:function"`` (a module-level function may also be
    passed directly; its path is stored). The callable receives a float array of distances in µm and
    must return probabilities in [0, 1] of the same shape. Storing the path, not the function, lets the
    kernel round-trip through ``to_dict``/JSON/TOML. Give ``cutoff`` (a length beyond which p is 0) to
    make sampling of large networks local and fast; without it every pair is a candidate (O(N²) time).
    Custom kernels take no ``in_degree``: scale the function itself.
    """

    function: str  # import path "package.module:function" of p(d_um)
    cutoff: Quantity | None = None  # distance beyond which p = 0 (optional but recommended)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        function = self.function
        if callable(function) and not isinstance(function, str):
            qualname = getattr(function, "__qualname__", "")
            module = getattr(function, "__module__", None)
            if not module or not qualname or "<" in qualname:
                fail(owner, "function", function, "pass a module-level function (not a lambda or a local)")
            function = f"{module}:{qualname}"
            object.__setattr__(self, "function", function)
        if not isinstance(function, str):
            fail(owner, "function", function, "expected an import path 'package.module:function'")
        object.__setattr__(self, "_callable", _import_function(owner, function))
        if self.cutoff is not None:
            check_quantity(owner, "cutoff", self.cutoff, um, positive=True)

    @property
    def peak(self) -> float:
        return 1.0

    def cutoff_um(self) -> float:
        return math.inf if self.cutoff is None else float(self.cutoff / um)

    def probability(self, d_um: Any) -> np.ndarray:
        d = np.asarray(d_um, dtype=float)
        inside = d <= self.cutoff_um() * (1 + _CUT_TOL)
        p = np.zeros(d.shape)
        if inside.any():
            values = np.asarray(self._callable(d[inside]), dtype=float)  # type: ignore[attr-defined]
            values = np.broadcast_to(values, (int(inside.sum()),))
            if not np.all((values >= 0) & (values <= 1)):
                bad = values[~((values >= 0) & (values <= 1))][:3]
                fail(type(self).__name__, "function", self.function, f"returned {bad}; p must lie in [0, 1]")
            p[inside] = values
        return p


def _as_kernel(kernel: Any) -> Kernel:
    if not isinstance(kernel, Kernel):
        fail("connectivity", "kernel", kernel, "expected a kernel such as GaussianKernel(sigma=100*um)")
    return kernel


# ------------------------------------------------------------------------------------------------ delays


@dataclass(frozen=True)
class ConductionDelay(Describable):
    """Axonal delay ``base + d/velocity``.

    Defaults suit local cortex: unmyelinated axons conduct at ~0.3–1 m/s, giving 0.5–2 ms within a column
    (0.5 m/s is 0.5 µm/µs: 1 mm costs 2 ms); ``base`` stands for synaptic and dendritic latency.
    """

    base: Quantity = 0.5 * ms  # delay at zero distance (>= 0)
    velocity: Quantity = 0.5 * metre / second  # axonal conduction velocity (> 0)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_quantity(owner, "base", self.base, ms, nonnegative=True)
        check_quantity(owner, "velocity", self.velocity, metre / second, positive=True)

    def delays_ms(self, d_um: Any) -> np.ndarray:
        """Delays in ms for distances ``d_um`` (floats, µm)."""
        velocity_um_per_ms = float(self.velocity / (um / ms))
        return float(self.base / ms) + np.asarray(d_um, dtype=float) / velocity_um_per_ms


# ------------------------------------------------------------------------------------------- geometry


def _positions_um(owner: str, name: str, pos: Any) -> np.ndarray:
    if isinstance(pos, Quantity):
        if not have_same_dimensions(pos, um):
            fail(owner, name, pos, "expected positions in µm (floats) or an array of lengths")
        arr = np.asarray(pos, dtype=float) * 1e6
    else:
        arr = np.asarray(pos, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 3:
        fail(owner, name, f"array of shape {arr.shape}", "expected an (n, 3) array of coordinates in µm")
    if not np.all(np.isfinite(arr)):
        fail(owner, name, "array with non-finite entries", "coordinates must be finite")
    return arr


def _box_um(owner: str, periodic_box: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(low, length)`` of a periodic box given as ``(low, high)`` in µm, or None."""
    if periodic_box is None:
        return None
    try:
        low, high = periodic_box
        low = np.asarray(low, dtype=float) * (1e6 if isinstance(low, Quantity) else 1.0)
        high = np.asarray(high, dtype=float) * (1e6 if isinstance(high, Quantity) else 1.0)
        ok = low.shape == (3,) and high.shape == (3,)
    except (TypeError, ValueError):
        ok = False
    if not ok or not np.all(np.isfinite(low)) or not np.all(np.isfinite(high)) or not np.all(high > low):
        fail(owner, "periodic_box", periodic_box, "expected (low, high): two 3-vectors in µm with high > low")
    return low, high - low


def _frame(
    owner: str, source_pos: Any, target_pos: Any, periodic_box: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Source and target coordinates (µm) ready for distances; for a periodic box, wrapped into [0, L)."""
    src = _positions_um(owner, "source_pos", source_pos)
    tgt = _positions_um(owner, "target_pos", target_pos)
    box = _box_um(owner, periodic_box)
    if box is None:
        return src, tgt, None
    low, length = box
    wrap = [np.mod(p - low, length) for p in (src, tgt)]
    for p in wrap:
        p[p >= length] = 0.0  # np.mod can round up to the length itself
    return wrap[0], wrap[1], length


def _same_population(source_pos: Any, target_pos: Any, same_population: bool | None) -> bool:
    return (source_pos is target_pos) if same_population is None else bool(same_population)


def _grid(extent: np.ndarray, size: float, n_points: int, per_cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Cells tiling ``[0, extent]``, about ``size`` wide but with ``per_cell`` points on average or more."""
    size = max(size, 1e-9)
    while True:
        counts = np.maximum(1.0, np.ceil(extent / size - 1e-9))
        if np.prod(counts) <= max(1.0, n_points / per_cell):
            counts = counts.astype(np.int64)
            break
        size *= 1.25
    widths = np.where(extent > 0, extent / counts, size)
    return counts, widths


def _cell_index(pos: np.ndarray, low: np.ndarray, counts: np.ndarray, widths: np.ndarray) -> np.ndarray:
    idx = np.floor((pos - low) / widths).astype(np.int64)
    np.clip(idx, 0, counts - 1, out=idx)
    return (idx[:, 0] * counts[1] + idx[:, 1]) * counts[2] + idx[:, 2]


@dataclass(frozen=True)
class _Chunk:
    """Part of a block: source rows ``rows`` against the (sorted) targets ``cols``, whose coordinates
    ``t_xyz`` (3, n_cols) are moved to their nearest images when periodic (``wrap``: per-pair wrapping)."""

    key: tuple[int, int]  # (block, chunk within the block): fixes the chunk's random stream
    rows: np.ndarray
    cols: np.ndarray
    t_xyz: np.ndarray
    wrap: np.ndarray | None
    excluded: tuple[np.ndarray, np.ndarray] | None  # (row positions, column positions) of pairs i == j


class _Blocks:
    """Sources grouped into small spatial blocks, each with the targets that can lie within ``cutoff``.

    Every (source, target) pair within ``cutoff`` appears in exactly one chunk of one block (pairs farther
    away may appear too); each source appears in exactly one chunk. ``exclude_ids = (source_ids,
    target_ids)`` (target ids ascending) marks the pairs with equal ids (no autapses). ``box``: periodic
    box lengths, coordinates in ``[0, L)``; distances are then minimum-image. A chunk holds at most
    ``pair_budget`` pairs (or one source).
    """

    def __init__(
        self,
        src: np.ndarray,
        tgt: np.ndarray,
        cutoff: float,
        box: np.ndarray | None,
        exclude_ids: tuple[np.ndarray, np.ndarray] | None = None,
        pair_budget: int = _PAIR_BUDGET,
    ) -> None:
        self.src, self.tgt, self.cutoff, self.box = src, tgt, cutoff, box
        self.exclude_ids, self.pair_budget = exclude_ids, pair_budget
        self.rows: list[np.ndarray] = []
        if len(src) == 0 or len(tgt) == 0:
            return
        if box is not None:
            self.low, extent = np.zeros(3), box
            reach = float(np.linalg.norm(box / 2))
        else:
            self.low = np.minimum(src.min(axis=0), tgt.min(axis=0))
            extent = np.maximum(src.max(axis=0), tgt.max(axis=0)) - self.low
            reach = float(np.linalg.norm(extent))
        self.local = cutoff < reach
        if self.local:
            self.cell_counts, self.cell_widths = _grid(extent, cutoff / 4, len(tgt), per_cell=2.0)
            block_counts, block_widths = _grid(extent, cutoff / 4, len(src), per_cell=16.0)
        else:
            self.cell_counts = block_counts = np.ones(3, dtype=np.int64)
            self.cell_widths = block_widths = np.where(extent > 0, extent, 1.0)
        # Targets sorted by cell: cell c holds order_t[start[c]:start[c + 1]].
        t_cell = _cell_index(tgt, self.low, self.cell_counts, self.cell_widths)
        self.order_t = np.argsort(t_cell, kind="stable")
        n_cells = int(np.prod(self.cell_counts))
        self.start = np.concatenate(([0], np.cumsum(np.bincount(t_cell, minlength=n_cells))))
        s_block = _cell_index(src, self.low, block_counts, block_widths)
        order_s = np.argsort(s_block, kind="stable")
        edges = np.flatnonzero(np.diff(s_block[order_s])) + 1
        self.rows = [np.sort(rows) for rows in np.split(order_s, edges)]

    def chunks(self, block: int) -> list[_Chunk]:
        """The chunks of one block (empty if no target is near it)."""
        rows, box, cutoff = self.rows[block], self.box, self.cutoff
        bsrc = self.src[rows]
        blo, bhi = bsrc.min(axis=0), bsrc.max(axis=0)
        if self.local:
            cols = _stencil_targets(
                blo, bhi, cutoff, self.low, self.cell_counts, self.cell_widths, box, self.start, self.order_t
            )
        else:
            cols = np.arange(len(self.tgt))
        if cols.size == 0:
            return []
        tcol = self.tgt[cols]
        wrap = None
        if box is not None:
            # Move each target to its image nearest the block centre: exact for every pair within the
            # cutoff while cutoff + half the block width < L/2 in each dimension; otherwise wrap per pair.
            if np.all(cutoff + (bhi - blo) / 2 < box / 2):
                tcol = tcol - box * np.rint((tcol - (blo + bhi) / 2) / box)
            else:
                wrap = box
        t_xyz = np.ascontiguousarray(tcol.T)
        rows_per_chunk = max(1, self.pair_budget // cols.size)
        out = []
        for first in range(0, rows.size, rows_per_chunk):
            r = rows[first : first + rows_per_chunk]
            excluded = None
            if self.exclude_ids is not None:
                src_ids, tgt_ids = self.exclude_ids
                col_ids = tgt_ids[cols]  # ascending, because cols and tgt_ids are
                pos = np.searchsorted(col_ids, src_ids[r])
                pos_ok = np.minimum(pos, cols.size - 1)
                hit = (pos < cols.size) & (col_ids[pos_ok] == src_ids[r])
                excluded = (np.flatnonzero(hit), pos[hit])
            out.append(_Chunk((block, len(out)), r, cols, t_xyz, wrap, excluded))
        return out

    def d2(self, chunk: _Chunk, buffers: list[np.ndarray]) -> np.ndarray:
        """Squared distances (µm²) of ``chunk``'s pairs, +inf for excluded ones, in the first of ``buffers``
        (grown as needed; the array is valid until the buffers are used again)."""
        n = chunk.rows.size * chunk.cols.size
        if n > buffers[0].size:
            buffers[:] = [np.empty(n) for _ in buffers]
        d2, *spare = (buf[:n].reshape(chunk.rows.size, chunk.cols.size) for buf in buffers)
        _squared_distances(self.src[chunk.rows], chunk.t_xyz, d2, spare, chunk.wrap)
        if chunk.excluded is not None:
            d2[chunk.excluded] = np.inf
        return d2

    def buffers(self) -> list[np.ndarray]:
        return [np.empty(self.pair_budget) for _ in range(3 if self.box is not None else 2)]


def _sum_binned(
    parts: list[tuple[np.ndarray, np.ndarray | None]],
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """One block's :meth:`_DistanceHistogram.binned` results added up (in chunk order), in its thread."""
    if not parts:
        return None
    counts = np.sum([c for c, _ in parts], axis=0)
    sums = np.sum([s for _, s in parts], axis=0) if parts[0][1] is not None else None
    return counts, sums


def _iter_blocks(
    src: np.ndarray,
    tgt: np.ndarray,
    cutoff: float,
    box: np.ndarray | None,
    exclude_ids: tuple[np.ndarray, np.ndarray] | None = None,
    pair_budget: int = _PAIR_BUDGET,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(rows, cols, d2)`` for every chunk of :class:`_Blocks`: source indices, sorted target
    indices and squared distances (µm², +inf for excluded pairs). ``d2`` is a reused buffer: consume it
    before asking for the next block."""
    blocks = _Blocks(src, tgt, cutoff, box, exclude_ids, pair_budget)
    buffers = blocks.buffers()
    for b in range(len(blocks.rows)):
        for chunk in blocks.chunks(b):
            yield chunk.rows, chunk.cols, blocks.d2(chunk, buffers)


def build_threads() -> int:
    """Threads that sample connections and solve kernels: ``$NEUROSIM_BUILD_THREADS``, else the CPUs this
    process may use (at most 4). The synapses drawn do not depend on it."""
    value = os.environ.get("NEUROSIM_BUILD_THREADS")
    if value:
        if not value.strip().isdigit() or int(value) < 1:
            fail("environment", "NEUROSIM_BUILD_THREADS", value, "expected a whole number >= 1")
        return int(value)
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))


def _map_blocks(
    fn: Callable[[_Chunk, np.ndarray], Any],
    blocks: _Blocks,
    threads: int | None = None,
    combine: Callable[[list[Any]], Any] = list,
) -> Iterator[Any]:
    """Per block, ``combine([fn(chunk, d2) for its chunks])`` (default: the list), in block order,
    computed by ``threads`` threads.

    numpy releases the GIL in the bulk of this work (distances, random draws, sorting), so threads share
    it out (10,000 × 1,000: sampling ~1.5× faster on 2 cores). ``fn`` must not keep ``d2`` (a per-thread
    buffer).
    """
    threads = build_threads() if threads is None else threads
    local = threading.local()

    def work(block: int) -> Any:
        if not hasattr(local, "buffers"):
            local.buffers = blocks.buffers()
        return combine([fn(chunk, blocks.d2(chunk, local.buffers)) for chunk in blocks.chunks(block)])

    if threads <= 1 or len(blocks.rows) <= 1:
        yield from map(work, range(len(blocks.rows)))
        return
    with ThreadPoolExecutor(threads) as pool:
        pending: deque[Future[Any]] = deque()
        for block in range(len(blocks.rows)):
            pending.append(pool.submit(work, block))
            if len(pending) >= 4 * threads:  # bounded look-ahead: results wait in block order
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _squared_distances(
    s: np.ndarray, t_xyz: np.ndarray, out: np.ndarray, spare: list[np.ndarray], wrap: np.ndarray | None
) -> None:
    """``out[a, b] = |s[a] - t[:, b]|²`` (minimum-image in a box of lengths ``wrap``), in place.

    Plain differences rather than |s|² + |t|² - 2s·t: exact for lattice positions, and free of BLAS,
    whose threads thrash on busy machines.
    """
    tmp = spare[0]
    for k in range(3):
        dst = out if k == 0 else tmp
        np.subtract(s[:, k : k + 1], t_xyz[k], out=dst)
        if wrap is not None:
            np.abs(dst, out=dst)
            np.subtract(wrap[k], dst, out=spare[1])
            np.minimum(dst, spare[1], out=dst)
        np.multiply(dst, dst, out=dst)
        if k:
            out += tmp


def _stencil_targets(
    blo: np.ndarray,
    bhi: np.ndarray,
    cutoff: float,
    low: np.ndarray,
    counts: np.ndarray,
    widths: np.ndarray,
    box: np.ndarray | None,
    start: np.ndarray,
    order_t: np.ndarray,
) -> np.ndarray:
    """Sorted indices of the targets in cells that come within ``cutoff`` of the box [blo, bhi]."""
    index, gaps = [], []
    for k in range(3):
        first = int(np.floor((blo[k] - cutoff - low[k]) / widths[k]))
        last = int(np.floor((bhi[k] + cutoff - low[k]) / widths[k]))
        n = int(counts[k])
        if box is not None and last - first + 1 >= n:
            index.append(np.arange(n))
            gaps.append(np.zeros(n))
            continue
        if box is None:
            first, last = max(first, 0), min(last, n - 1)
        cells = np.arange(first, last + 1)
        cell_lo = low[k] + cells * widths[k]
        gap = np.maximum(0.0, np.maximum(cell_lo - bhi[k], blo[k] - (cell_lo + widths[k])))
        index.append(cells % n)
        gaps.append(gap)
    near = (
        gaps[0][:, None, None] ** 2 + gaps[1][None, :, None] ** 2 + gaps[2][None, None, :] ** 2
    ) <= cutoff * cutoff * (1 + 4 * _CUT_TOL)
    cell_ids = (index[0][:, None, None] * counts[1] + index[1][None, :, None]) * counts[2] + index[2][
        None, None, :
    ]
    cell_ids = cell_ids[near]
    first_t, n_in = start[cell_ids], start[cell_ids + 1] - start[cell_ids]
    total = int(n_in.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    # Concatenate the ranges [first_t, first_t + n_in) without a Python loop.
    offsets = np.repeat(first_t - (np.cumsum(n_in) - n_in), n_in)
    return np.sort(order_t[offsets + np.arange(total)])


# ------------------------------------------------------------------------------------------ in-degree


def _spread_subsample(pos: np.ndarray, m: int) -> np.ndarray:
    """``m`` indices spread evenly through space (every k-th point along a Morton curve), sorted.

    A systematic spatial sample estimates the mean in-degree far better than a random one, because the
    expected in-degree varies smoothly with position (edges have fewer inputs).
    """
    n = len(pos)
    if n <= m:
        return np.arange(n)
    span = np.ptp(pos, axis=0)
    span[span == 0] = 1.0
    q = ((pos - pos.min(axis=0)) / span * 1023).astype(np.uint64)
    code = np.zeros(n, dtype=np.uint64)
    for bit in range(10):
        for k in range(3):
            code |= ((q[:, k] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(3 * bit + k)
    ranks = ((np.arange(m) + 0.5) * n / m).astype(np.int64)
    return np.sort(np.argsort(code, kind="stable")[ranks])


class _DistanceHistogram:
    """Source–target distances up to ``d_max``, binned finely in d², summarised per bin.

    ``mean_in_degree(kernel, scale)`` is then Σ_bins count·p(bin distance) / n_targets: cheap enough for
    every step of the root finder. With ``mean=True`` a bin stands at the mean d² of its pairs (exact to
    second order in the bin width), else at its centre; 2^16 bins in d² over [0, d_max²] make the sum
    equal to the exact one to ~1e-9 relative once d_max is a few length scales. ``d_max=None``: all pairs.
    Made by one pass over the pairs (:meth:`measure`), or filled chunk by chunk (:meth:`binned`, :meth:`add`,
    :meth:`finish`) by a pass that does other work too.
    """

    def __init__(self, reach: float, n_targets: int, mean: bool = False, n_bins: int = 1 << 16) -> None:
        self.d_max = max(reach, 1e-6) * (1 + 1e-6)
        self.n_targets, self.mean, self.n_bins = n_targets, mean, n_bins
        self.scale = n_bins / self.d_max**2
        self.counts = np.zeros(n_bins + 1)
        self.sums = np.zeros(n_bins + 1)

    @classmethod
    def measure(
        cls,
        src: np.ndarray,
        tgt: np.ndarray,
        box: np.ndarray | None,
        exclude_ids: Any,
        d_max: float | None = None,
        mean: bool = False,
    ) -> _DistanceHistogram:
        """The histogram of every pair within ``d_max`` (None: all pairs)."""
        if d_max is None:
            if box is not None:
                reach = float(np.linalg.norm(box / 2))
            else:
                lo = np.minimum(src.min(axis=0), tgt.min(axis=0))
                reach = float(np.linalg.norm(np.maximum(src.max(axis=0), tgt.max(axis=0)) - lo))
            cutoff = math.inf
        else:
            reach = cutoff = d_max
        hist = cls(reach, len(tgt), mean)
        blocks = _Blocks(src, tgt, cutoff, box, exclude_ids)
        for binned in _map_blocks(lambda _, d2: hist.binned(d2), blocks, combine=_sum_binned):
            hist.add(binned)
        return hist.finish()

    def binned(self, d2: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Counts (and d² sums) per bin of the squared distances ``d2``: thread-safe, for :meth:`add`."""
        flat = d2.ravel()
        # fmin maps +inf (excluded pairs) and anything beyond d_max to the overflow bin n_bins.
        b = np.fmin(flat * self.scale, self.n_bins).astype(np.int64)
        counts = np.bincount(b, minlength=self.n_bins + 1)
        if not self.mean:
            return counts, None
        return counts, np.bincount(b, weights=np.fmin(flat, self.d_max**2), minlength=self.n_bins + 1)

    def add(self, binned: tuple[np.ndarray, np.ndarray | None] | None) -> None:
        """Add one :meth:`binned` result (in a fixed order: the sums are floating point)."""
        if binned is not None:
            self.counts += binned[0]
            if binned[1] is not None:
                self.sums += binned[1]

    def finish(self) -> _DistanceHistogram:
        counts, sums = self.counts[: self.n_bins], self.sums[: self.n_bins]
        used = counts > 0
        self.counts = counts[used]
        if self.mean:
            self.d = np.sqrt(sums[used] / self.counts)
        else:
            self.d = np.sqrt((np.flatnonzero(used) + 0.5) / self.scale)
        positive = self.d[self.d > 0]
        self.d_min = float(positive.min()) if positive.size else self.d_max
        return self

    def mean_in_degree(self, kernel: Kernel, scale_um: float) -> float:
        p = kernel.with_scale_um(scale_um).probability(self.d)
        return float(np.dot(self.counts, p)) / self.n_targets


def _solve_scale(kernel: Kernel, hist: _DistanceHistogram, k: float, lo: float, hi: float) -> float | None:
    """Scale (µm) in [lo, hi] giving mean in-degree ``k``, or None if the bracket holds no root."""

    def excess(log_scale: float) -> float:
        return hist.mean_in_degree(kernel, math.exp(log_scale)) - k

    a, b = math.log(lo), math.log(hi)
    if excess(a) > 0 or excess(b) < 0:
        return None
    return math.exp(brentq(excess, a, b, xtol=1e-12, rtol=1e-12, maxiter=200))


def _check_exclusion(owner_fn: str, src: np.ndarray, tgt: np.ndarray, exclude: bool) -> None:
    """Leaving out the pairs i == j needs one population: equal sizes."""
    if exclude and len(src) != len(tgt):
        fail(owner_fn, "same_population", True, f"source ({len(src)}) and target ({len(tgt)}) sizes differ")


def _wanted_degree(kernel: Kernel, src: np.ndarray, tgt: np.ndarray, exclude: bool, owner_fn: str) -> float:
    """The kernel's ``in_degree``, checked against what the populations allow."""
    owner = type(kernel).__name__
    _check_exclusion(owner_fn, src, tgt, exclude)
    k = float(kernel.in_degree)  # type: ignore[attr-defined]
    n_possible = len(src) - 1 if exclude else len(src)
    if len(tgt) == 0:
        fail(owner_fn, "target_pos", "no targets", "need at least one target to solve in_degree")
    if k > n_possible:
        fail(
            owner,
            "in_degree",
            kernel.in_degree,  # type: ignore[attr-defined]
            f"must be <= the number of possible sources per target, {n_possible} "
            f"(source population of {len(src)}{', no autapses' if exclude else ''})",
        )
    if k > kernel.peak * n_possible:
        fail(
            owner,
            "in_degree",
            kernel.in_degree,  # type: ignore[attr-defined]
            f"cannot be reached: even an infinitely wide kernel gives {kernel.peak_name}·N = "
            f"{kernel.peak} × {n_possible} = {kernel.peak * n_possible:g} inputs per target",
        )
    return k


_FIRST_TARGETS = 500  # targets of the first (approximate) in-degree solve


def _first_solve(
    kernel: Kernel,
    k: float,
    src: np.ndarray,
    tgt: np.ndarray,
    box: np.ndarray | None,
    exclude: bool,
    max_targets: int | None,
) -> tuple[float, float, float]:
    """The scale (µm) solved on all sources and an evenly spread sample of targets, and the bracket
    ``(lo, hi)`` that holds every root."""
    owner = type(kernel).__name__
    first_targets = _FIRST_TARGETS if max_targets is None else int(max_targets)
    sample = _spread_subsample(tgt, max(1, first_targets))
    hist = _DistanceHistogram.measure(
        src, tgt[sample], box, (np.arange(len(src)), sample) if exclude else None, mean=True
    )
    lo = hist.d_min * 1e-3
    if hist.mean_in_degree(kernel, lo) >= k:
        fail(owner, "in_degree", k, "is reached at zero distance (coincident neurons); give a length scale")
    hi = hist.d_max
    for _ in range(8):
        if hist.mean_in_degree(kernel, hi) >= k:
            break
        hi *= 10.0
    else:
        fail(
            owner,
            "in_degree",
            k,
            "cannot be reached with these positions: the widest kernel tried gives "
            f"{hist.mean_in_degree(kernel, hi):.6g} inputs per target",
        )
    scale = _solve_scale(kernel, hist, k, lo, hi)
    assert scale is not None  # the bracket was checked above
    return scale, lo, hi


def resolve_kernel(
    kernel: Kernel,
    source_pos: Any,
    target_pos: Any,
    periodic_box: Any = None,
    autapses: bool = False,
    *,
    same_population: bool | None = None,
    max_targets: int | None = None,
) -> Kernel:
    """The kernel with its length scale filled in: solved from ``in_degree`` if needed, else unchanged.

    The scale solves ⟨Σ_i p(d_ij)⟩_j = K (scipy ``brentq`` in log-scale): the expected in-degree averaged
    over the target population, with truncation and edge effects, computed from the actual positions.
    A first solve uses all sources and an evenly spread sample of 500 targets; with ``max_targets=None``
    (default) a second solve then uses every target, with only the pairs that the first answer (+5%)
    can reach, so the result is exact to ~1e-6. ``max_targets=m`` stops after the first solve on ``m``
    targets (faster, ~1% off for 500 targets in a 1 mm cube with K = 1000, edges being the main
    variation). The copy has the scale set and ``in_degree=None``. ``same_population`` (default:
    ``source_pos is target_pos``) with ``autapses=False`` leaves out the pairs i == j.
    """
    kernel = _as_kernel(kernel)
    if kernel.resolved:
        return kernel
    src, tgt, box = _frame("resolve_kernel", source_pos, target_pos, periodic_box)
    same = _same_population(source_pos, target_pos, same_population)
    exclude = same and not autapses
    k = _wanted_degree(kernel, src, tgt, exclude, "resolve_kernel")
    scale, lo, hi = _first_solve(kernel, k, src, tgt, box, exclude, max_targets)
    if max_targets is not None or len(tgt) <= _FIRST_TARGETS:
        return kernel.with_scale_um(scale)
    # Exact solve over every target, bracketing the first answer; widen in the rare case it misses.
    ids = (np.arange(len(src)), np.arange(len(tgt))) if exclude else None
    margin = 1.05
    while True:
        top = scale * margin
        reach = kernel.with_scale_um(top).cutoff_um()
        full = _DistanceHistogram.measure(src, tgt, box, ids, d_max=reach if math.isfinite(reach) else None)
        exact = _solve_scale(kernel, full, k, lo, top)
        if exact is not None or top >= hi:
            return kernel.with_scale_um(exact if exact is not None else scale)
        margin *= 1.5


def expected_in_degree(
    kernel: Kernel,
    source_pos: Any,
    target_pos: Any,
    *,
    periodic_box: Any = None,
    autapses: bool = False,
    same_population: bool | None = None,
    per_target: bool = False,
) -> float | np.ndarray:
    """Exact expected in-degree Σ_i p(d_ij): its mean over targets, or per target (``per_target=True``).

    An unresolved kernel (``in_degree=K``) is resolved first. Same conventions as
    :func:`sample_connections`.
    """
    kernel = _as_kernel(kernel)
    if not kernel.resolved:
        kernel = resolve_kernel(
            kernel, source_pos, target_pos, periodic_box, autapses, same_population=same_population
        )
    src, tgt, box = _frame("expected_in_degree", source_pos, target_pos, periodic_box)
    same = _same_population(source_pos, target_pos, same_population)
    ids = (np.arange(len(src)), np.arange(len(tgt))) if same and not autapses else None
    totals = np.zeros(len(tgt))
    for _, cols, d2 in _iter_blocks(src, tgt, kernel.cutoff_um(), box, ids):
        totals[cols] += kernel.probability(np.sqrt(d2)).sum(axis=0)
    if per_target:
        return totals
    return float(totals.mean()) if len(tgt) else 0.0


# ------------------------------------------------------------------------------------------- sampling


def sample_connections(
    source_pos: Any,
    target_pos: Any,
    kernel: Kernel,
    rng: np.random.Generator | int | None,
    *,
    periodic_box: Any = None,
    autapses: bool = False,
    same_population: bool | None = None,
    order: str = "target",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw synapses: each pair (i, j) connects independently with probability p(d_ij).

    ``source_pos``/``target_pos``: ``(n, 3)`` µm. ``periodic_box``: ``(low, high)`` in µm (e.g. a
    placement's ``bounds()``); coordinates are wrapped into it and distances are minimum-image.
    ``same_population`` (default: ``source_pos is target_pos``) with ``autapses=False`` never connects
    i to i. A kernel given by ``in_degree`` is solved as :func:`resolve_kernel` solves it (same answer),
    in the same pass over the pairs as the draws: each pair draws its random number first, the pairs that
    would connect at the first solve's scale + 5% are kept, and once the exact scale is known those that
    connect at it become synapses (one pass instead of two: the build of a 10,000 × 1,000 network is ~1 s
    shorter).

    Returns ``(i, j, d_um)``: int32 source and target indices, sorted by i then j (``order="target"``) or by
    i then distance (``order="distance"``: a spike's synapses that share a delay are neighbours, see
    :mod:`neurosim.build`), and float64 distances (µm, minimum-image when periodic). Deterministic for a
    given ``rng`` state (whatever :func:`build_threads` is); both orders hold the same synapses.
    """
    check_choice("sample_connections", "order", order, ("target", "distance"))
    kernel = _as_kernel(kernel)
    rng = as_generator(rng)
    same = _same_population(source_pos, target_pos, same_population)
    src, tgt, box = _frame("sample_connections", source_pos, target_pos, periodic_box)
    exclude = same and not autapses
    _check_exclusion("sample_connections", src, tgt, exclude)
    ids = (np.arange(len(src)), np.arange(len(tgt))) if exclude else None
    # Each chunk of pairs draws from its own stream, keyed by the chunk's position: the synapses do not
    # depend on how many threads draw them.
    entropy = [int(x) for x in rng.integers(0, 2**63, size=2)]
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] | None = None
    if not kernel.resolved:
        k = _wanted_degree(kernel, src, tgt, exclude, "sample_connections")
        scale, lo, hi = _first_solve(kernel, k, src, tgt, box, exclude, None)
        if len(tgt) <= _FIRST_TARGETS:
            kernel = kernel.with_scale_um(scale)
        else:
            solved = _solve_and_draw(kernel, k, scale, lo, src, tgt, box, ids, entropy)
            if solved is None:  # the exact root lies beyond the first answer + 5% (rare): solve, then draw
                frame = (np.zeros(3), box) if box is not None else None  # src/tgt are already wrapped into it
                kernel = resolve_kernel(kernel, src, tgt, frame, autapses, same_population=same)
            else:
                kernel, pieces = solved
    if pieces is None:
        pieces = _draw(kernel, src, tgt, box, ids, entropy)
    return _assemble(pieces, len(src), order, same and autapses)


def _chunk_rng(entropy: list[int], chunk: _Chunk) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=chunk.key)))


def _draw(
    kernel: Kernel,
    src: np.ndarray,
    tgt: np.ndarray,
    box: np.ndarray | None,
    ids: tuple[np.ndarray, np.ndarray] | None,
    entropy: list[int],
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per chunk with synapses: ``(rows, cols, hit, d2)``, ``hit`` the connected pairs' flat indices
    (row-major) and ``d2`` their squared distances."""
    if kernel.peak <= 0:
        return []
    cut2 = (kernel.cutoff_um() * (1 + _CUT_TOL)) ** 2

    def draw(chunk: _Chunk, d2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        flat = d2.ravel()
        near = flat <= cut2 if math.isfinite(cut2) else np.isfinite(flat)
        if np.count_nonzero(near) < 0.75 * flat.size:
            # Draw only for the pairs within the cutoff (the corners of the search region are not).
            candidates = np.flatnonzero(near)
            hit = candidates[kernel._accept(flat[candidates], _chunk_rng(entropy, chunk))]
        else:
            accepted = kernel._accept(flat, _chunk_rng(entropy, chunk))
            accepted &= near
            hit = np.flatnonzero(accepted)
        return chunk.rows, chunk.cols, hit, flat[hit]

    blocks = _Blocks(src, tgt, kernel.cutoff_um(), box, ids)
    return [piece for results in _map_blocks(draw, blocks) for piece in results if piece[2].size]


def _solve_and_draw(
    kernel: Kernel,
    k: float,
    first: float,
    lo: float,
    src: np.ndarray,
    tgt: np.ndarray,
    box: np.ndarray | None,
    ids: tuple[np.ndarray, np.ndarray] | None,
    entropy: list[int],
) -> tuple[Kernel, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] | None:
    """One pass over the pairs within reach of the scale ``first·1.05``: the exact in-degree histogram
    (as :func:`resolve_kernel`'s second solve) and, per pair, the random statistic of
    :meth:`Kernel._statistic`; the pairs accepted at ``first·1.05`` are kept. Then the exact scale is
    solved and the kept pairs accepted at it are the synapses (each pair compared with its own draw: the
    same law as drawing at the exact scale). None if the exact scale exceeds ``first·1.05``."""
    top = kernel.with_scale_um(first * 1.05)
    reach = top.cutoff_um()
    hist = _DistanceHistogram(reach, len(tgt))
    cut2 = (reach * (1 + _CUT_TOL)) ** 2

    def work(chunk: _Chunk, d2: np.ndarray) -> tuple[Any, tuple[Any, ...]]:
        binned = hist.binned(d2)
        flat = d2.ravel()
        near = flat <= cut2
        if np.count_nonzero(near) < 0.75 * flat.size:  # draw only for the pairs within reach
            candidates = np.flatnonzero(near)
            stat = kernel._statistic(flat[candidates], _chunk_rng(entropy, chunk))
            keep = top._accepts(flat[candidates], stat)
            return binned, (chunk.rows, chunk.cols, candidates[keep], flat[candidates[keep]], stat[keep])
        stat = kernel._statistic(flat, _chunk_rng(entropy, chunk))
        keep = top._accepts(flat, stat)
        keep &= near
        hit = np.flatnonzero(keep)
        return binned, (chunk.rows, chunk.cols, hit, flat[hit], stat[hit])

    def combine(parts: list[tuple[Any, tuple[Any, ...]]]) -> tuple[Any, list[tuple[Any, ...]]]:
        return _sum_binned([b for b, _ in parts]), [c for _, c in parts if c[2].size]

    kept = []
    for binned, candidates in _map_blocks(work, _Blocks(src, tgt, reach, box, ids), combine=combine):
        hist.add(binned)
        kept.extend(candidates)
    exact = _solve_scale(kernel, hist.finish(), k, lo, first * 1.05)
    if exact is None:
        return None
    final = kernel.with_scale_um(exact)
    final_cut2 = (final.cutoff_um() * (1 + _CUT_TOL)) ** 2

    def accept(piece: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        rows, cols, hit, d2, stat = piece
        mask = final._accepts(d2, stat) & (d2 <= final_cut2)
        return rows, cols, hit[mask], d2[mask]

    with ThreadPoolExecutor(max(1, build_threads())) as pool:
        pieces = [p for p in pool.map(accept, kept) if p[2].size]
    return final, pieces


def _assemble(
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    n_src: int,
    order: str,
    autapses: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i, j, d)`` from the chunks' connected pairs, in source order (see :func:`sample_connections`)."""

    def arrange(piece: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        rows, cols, hit, d2 = piece
        if order == "distance":  # hits come by row, then column: reorder by row, then distance
            by = np.argsort(hit // cols.size * (float(d2.max()) + 1.0) + d2)
            hit, d2 = hit[by], d2[by]
        r, c = np.divmod(hit, cols.size)
        return rows, np.bincount(r, minlength=rows.size), cols[c].astype(np.int32), d2

    with ThreadPoolExecutor(max(1, build_threads())) as pool:
        arranged = list(pool.map(arrange, pieces))
    counts = np.zeros(n_src, dtype=np.int64)  # connections per source
    for rows, row_counts, _, _ in arranged:
        counts[rows] = row_counts
    # Scatter the pieces into source order: each source's targets come out of its chunk in order.
    offsets = np.cumsum(counts) - counts
    total = int(counts.sum())
    j = np.empty(total, dtype=np.int32)
    d = np.empty(total)
    for rows, row_counts, j_piece, d2_piece in arranged:
        shift = offsets[rows] - (np.cumsum(row_counts) - row_counts)
        dest = np.repeat(shift, row_counts)
        dest += np.arange(dest.size)
        j[dest] = j_piece
        d[dest] = d2_piece
    i = np.repeat(np.arange(n_src, dtype=np.int32), counts)
    np.sqrt(d, out=d)
    if autapses:
        d[i == j] = 0.0  # autapses: exactly zero
    return i, j, d
