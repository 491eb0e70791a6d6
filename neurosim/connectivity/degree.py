"""In-degree: the expected number of inputs per target, and the kernel scale that gives a wanted one.

For a kernel with length scale ``s`` the expected in-degree of target ``j`` is ``Σ_i p_s(d_ij)``. A kernel
given by ``in_degree=K`` has its scale solved from

    ⟨Σ_i p_s(d_ij)⟩_j = K

for the actual positions, so truncation and edge effects (targets near a face have fewer sources around
them) are included. The left side is computed from a histogram of the source–target distances, fine in
d² (:class:`_DistanceHistogram`), which makes each evaluation cheap enough for every step of the root
finder (scipy ``brentq`` on log s).

The solve runs in two steps. A first solve uses all sources and about 500 targets spread evenly through
space (the in-degree varies smoothly with position, so a systematic spatial sample beats a random one);
it gives a scale and a bracket. A second solve then uses every target, with only the pairs that the first
answer (+5%) can reach. :mod:`neurosim.connectivity.sampling` runs the second step in the same pass as its
draws.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import brentq

from ..validation import fail
from .blocks import _Blocks, _frame, _iter_blocks, _map_blocks, _same_population
from .kernels import Kernel, _as_kernel


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


def _sum_binned(
    parts: list[tuple[np.ndarray, np.ndarray | None]],
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """One block's :meth:`_DistanceHistogram.binned` results added up (in chunk order), in its thread."""
    if not parts:
        return None
    counts = np.sum([c for c, _ in parts], axis=0)
    sums = np.sum([s for _, s in parts], axis=0) if parts[0][1] is not None else None
    return counts, sums


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
    targets (faster, less exact: a sample of targets sees only part of the variation of the in-degree
    near edges). The copy has the scale set and ``in_degree=None``. ``same_population`` (default:
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
