"""Positions, periodic frames and spatial blocks: every source–target pair within a cutoff, without O(N²).

Positions are plain ``(n, 3)`` float arrays in micrometres (as returned by :mod:`neurosim.space`);
Quantity arrays of lengths are accepted too. A periodic box is given as ``(low, high)``; coordinates are
then wrapped into ``[0, L)`` and distances are minimum-image. Distances are float64 micrometres.

Sources are grouped into small spatial blocks, and each block is compared only with the targets in grid
cells that can lie within the cutoff (a stencil of cells), using dense vectorised blocks of squared
distances of bounded size: no O(N²) memory and no per-pair Python loop. Blocks are independent, so
:func:`_map_blocks` shares them out to threads (numpy releases the GIL for distances, random draws and
sorting) and hands the results back in block order, which keeps every result independent of the number
of threads.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import Quantity, um
from brian2.units.fundamentalunits import have_same_dimensions

from ..validation import fail
from .kernels import _CUT_TOL

# Largest dense distance block (pairs) computed at once: a few MB, so it stays in cache.
_PAIR_BUDGET = 1 << 18


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
    it out. ``fn`` must not keep ``d2`` (a per-thread buffer).
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
    whose own threads would compete with the block threads.
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
