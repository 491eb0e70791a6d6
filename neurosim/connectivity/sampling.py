"""Sampling of synapses: every candidate pair (i, j) connects independently with probability p(d_ij).

This is the law of Brian2's ``connect(p=...)``, drawn over the spatial blocks of
:mod:`neurosim.connectivity.blocks` so that only pairs within the kernel's cutoff are visited. Each chunk
of pairs draws from its own random stream, keyed by the chunk's position (``SeedSequence`` spawn key), so
the synapses depend on the seed only, not on how many threads draw them.

A kernel given by ``in_degree`` is solved as :func:`neurosim.connectivity.resolve_kernel` solves it, in
the same pass over the pairs as the draws: each pair's random statistic is drawn once, the pairs that
would connect at the first solve's scale + 5% are kept, and once the exact scale is known those that
connect at it become synapses. This needs the kernel's draw to be monotone in the scale (see
``Kernel._accepts``); each pair is compared with its own draw, so the law is that of drawing at the
exact scale.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..space import as_generator
from ..validation import check_choice
from .blocks import _Blocks, _Chunk, _frame, _map_blocks, _same_population, build_threads
from .degree import (
    _FIRST_TARGETS,
    _check_exclusion,
    _DistanceHistogram,
    _first_solve,
    _solve_scale,
    _sum_binned,
    _wanted_degree,
    resolve_kernel,
)
from .kernels import _CUT_TOL, Kernel, _as_kernel


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
    connect at it become synapses (one pass over the pairs instead of two).

    Returns ``(i, j, d_um)``: int32 source and target indices, sorted by i then j (``order="target"``) or by
    i then distance (``order="distance"``: a spike's synapses that share a delay are neighbours, see
    :func:`neurosim.build`), and float64 distances (µm, minimum-image when periodic). Deterministic for a
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
