"""Where the neurons of a population sit in 3D space.

A placement is a small frozen description (parameters with Brian2 units) that turns into coordinates only
when asked: ``positions(n, rng)`` returns an ``(n, 3)`` float array in **micrometres** (plain floats, so that
distance computations in :mod:`neurosim.connectivity` need no unit bookkeeping), and ``bounds()`` returns
the ``(low, high)`` corners of the region in µm (the box used for periodic boundaries).

Placements: :class:`UniformBox`, :class:`LayeredColumn` (cortical layers in a cylinder), :class:`Sphere`,
:class:`Grid` and :class:`Explicit` (coordinates given by the user).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import Quantity, um
from brian2.units.fundamentalunits import have_same_dimensions

from .serialization import Describable
from .validation import check_name, check_number, check_probability, check_quantity, fail

Lengths = tuple[Quantity, Quantity, Quantity]

__all__ = [
    "Explicit",
    "Grid",
    "Layer",
    "LayeredColumn",
    "Placement",
    "Sphere",
    "UniformBox",
    "as_generator",
]


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Accept a Generator (used as is), or an int seed / None (a fresh ``default_rng``)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    fail("random numbers", "rng", rng, "expected a numpy.random.Generator or an integer seed")
    raise AssertionError  # unreachable; keeps type checkers happy


def _to_um(q: Quantity) -> float:
    return float(q / um)


def _lengths(owner: str, name: str, value: Any, *, positive: bool = False) -> Lengths:
    """A single length (a cube / isotropic spacing) or three lengths (x, y, z) as a tuple of quantities."""
    if isinstance(value, Quantity) and np.ndim(value) == 0:
        check_quantity(owner, name, value, um, positive=positive)
        return (value, value, value)
    if (isinstance(value, (tuple, list)) or (isinstance(value, np.ndarray) and value.ndim == 1)) and len(
        value
    ) == 3:
        items = tuple(value)
        for k, item in enumerate(items):
            if not isinstance(item, Quantity) or not have_same_dimensions(item, um):
                fail(owner, name, value, f"expected lengths, e.g. (100*um, 100*um, 100*um); item {k} is not")
            check_quantity(owner, name, item, um, positive=positive)
        return items  # type: ignore[return-value]
    fail(owner, name, value, "expected a length (e.g. 100*um) or a tuple of three lengths (x, y, z)")
    raise AssertionError  # unreachable


def _vec_um(lengths: Lengths) -> np.ndarray:
    return np.array([_to_um(q) for q in lengths], dtype=float)


def _check_n(owner: str, n: Any) -> int:
    check_number(owner, "n", n, low=0, integer=True)
    return int(n)


class Placement(Describable):
    """Base class: a region and a rule for putting ``n`` neurons into it."""

    def positions(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``(n, 3)`` float array of coordinates in µm."""
        raise NotImplementedError

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)``: corners of the axis-aligned box holding the region, in µm."""
        raise NotImplementedError


@dataclass(frozen=True)
class UniformBox(Placement):
    """Uniform density in an axis-aligned box whose low corner is ``origin`` (default: a 1 mm cube)."""

    size: Any = (1000 * um, 1000 * um, 1000 * um)  # edge lengths (x, y, z); one length means a cube
    origin: Any = (0 * um, 0 * um, 0 * um)  # low corner of the box

    def __post_init__(self) -> None:
        owner = type(self).__name__
        object.__setattr__(self, "size", _lengths(owner, "size", self.size, positive=True))
        object.__setattr__(self, "origin", _lengths(owner, "origin", self.origin))

    def positions(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        n = _check_n(type(self).__name__, n)
        rng = as_generator(rng)
        return _vec_um(self.origin) + rng.random((n, 3)) * _vec_um(self.size)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        low = _vec_um(self.origin)
        return low, low + _vec_um(self.size)


@dataclass(frozen=True)
class Sphere(Placement):
    """Uniform density in a ball (radius ``radius`` around ``center``)."""

    radius: Any  # radius of the ball
    center: Any = (0 * um, 0 * um, 0 * um)  # centre of the ball

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_quantity(owner, "radius", self.radius, um, positive=True)
        object.__setattr__(self, "center", _lengths(owner, "center", self.center))

    def positions(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        n = _check_n(type(self).__name__, n)
        rng = as_generator(rng)
        direction = rng.standard_normal((n, 3))
        norm = np.linalg.norm(direction, axis=1, keepdims=True)
        norm[norm == 0] = 1.0  # probability zero; avoids 0/0
        # P(r < x) = (x/R)^3 for a uniform ball, so r = R·U^(1/3).
        r = _to_um(self.radius) * np.cbrt(rng.random((n, 1)))
        return _vec_um(self.center) + direction / norm * r

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        c, r = _vec_um(self.center), _to_um(self.radius)
        return c - r, c + r


@dataclass(frozen=True)
class Layer(Describable):
    """One cortical layer: a slab between two depths below the pia, holding a fraction of the neurons."""

    name: str  # identifier, e.g. "L23"
    top: Any  # depth of the upper border below the pia (length, >= 0)
    bottom: Any  # depth of the lower border (length, > top)
    fraction: float  # share of the population's neurons in this layer, in [0, 1]

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_name(owner, "name", self.name)
        check_quantity(owner, "top", self.top, um, nonnegative=True)
        check_quantity(owner, "bottom", self.bottom, um)
        if not self.bottom > self.top:
            fail(owner, "bottom", self.bottom, f"must be deeper than top = {self.top}")
        check_probability(owner, "fraction", self.fraction)


def _largest_remainder(n: int, fractions: np.ndarray) -> np.ndarray:
    """Integer counts summing to ``n`` that are closest to ``n·fractions`` (Hamilton's method)."""
    quotas = n * fractions / fractions.sum()
    counts = np.floor(quotas).astype(int)
    left = n - int(counts.sum())
    if left > 0:
        order = np.argsort(-(quotas - counts), kind="stable")  # ties go to the earlier layer
        counts[order[:left]] += 1
    return counts


@dataclass(frozen=True)
class LayeredColumn(Placement):
    """A cortical column: a cylinder along z, cut into layers by depth, each holding a fixed share.

    Coordinates: the cylinder axis is the z axis through x = y = 0, the pia is at z = 0 and depth grows
    downwards, so a neuron at depth d has z = -d. Neurons are returned layer by layer in the order of
    ``layers`` (the first ``layer_counts(n)[0]`` belong to the first layer, and so on); counts are the
    largest-remainder rounding of ``n·fraction``, so they are deterministic and sum to ``n``. Within a
    layer, positions are uniform in the slab of the cylinder.
    """

    radius: Any  # radius of the cylinder
    layers: tuple[Layer, ...]  # the layers, each a Layer; their fractions sum to 1

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_quantity(owner, "radius", self.radius, um, positive=True)
        layers = self.layers
        if isinstance(layers, Layer) or not isinstance(layers, (tuple, list)) or len(layers) == 0:
            fail(owner, "layers", layers, "expected a non-empty tuple of Layer objects")
        layers = tuple(layers)
        for layer in layers:
            if not isinstance(layer, Layer):
                fail(owner, "layers", layers, f"every item must be a Layer; got {type(layer).__name__}")
        object.__setattr__(self, "layers", layers)
        names = [layer.name for layer in layers]
        if len(set(names)) != len(names):
            fail(owner, "layers", names, "layer names must be unique")
        total = sum(float(layer.fraction) for layer in layers)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            fail(
                owner,
                "layers",
                [layer.fraction for layer in layers],
                f"fractions sum to {total}; must sum to 1",
            )
        by_depth = sorted(layers, key=lambda layer: _to_um(layer.top))
        for upper, lower in zip(by_depth[:-1], by_depth[1:], strict=True):
            if _to_um(lower.top) < _to_um(upper.bottom) - 1e-9:
                fail(owner, "layers", names, f"layers {upper.name} and {lower.name} overlap in depth")

    @classmethod
    def cortex(cls, radius: Quantity = 250 * um, thickness: Quantity | None = None) -> LayeredColumn:
        """A six-layer neocortical column (L1, L23, L4, L5, L6) with rough depths and neuron shares.

        Depths are the layer thicknesses of the rat somatosensory microcircuit of Markram et al. (2015,
        Cell 163:456): L1 165 µm, L2/3 502 µm, L4 190 µm, L5 525 µm, L6 700 µm (2082 µm in all); neuron
        shares are rounded from its cell counts (L1 ≈1%, L2/3 ≈24%, L4 ≈15%, L5 ≈20%, L6 ≈40%). Potjans &
        Diesmann (2014, Cereb. Cortex 24:785) give a different split (no L1; L2/3 34%, L4 36%, L5 8%,
        L6 22%): build your own ``LayeredColumn`` for that. ``thickness`` rescales all depths (e.g.
        ``1*mm`` for mouse cortex); ``radius`` is a free choice (the default is arbitrary).
        """
        borders = np.array([0.0, 165.0, 667.0, 857.0, 1382.0, 2082.0])
        if thickness is not None:
            check_quantity(cls.__name__, "thickness", thickness, um, positive=True)
            borders = borders * (_to_um(thickness) / borders[-1])
        names = ("L1", "L23", "L4", "L5", "L6")
        fractions = (0.01, 0.24, 0.15, 0.20, 0.40)
        layers = tuple(
            Layer(name, float(borders[k]) * um, float(borders[k + 1]) * um, fractions[k])
            for k, name in enumerate(names)
        )
        return cls(radius=radius, layers=layers)

    def layer_counts(self, n: int) -> np.ndarray:
        """Number of neurons in each layer (in the order of ``layers``) for a population of ``n``."""
        n = _check_n(type(self).__name__, n)
        return _largest_remainder(n, np.array([float(layer.fraction) for layer in self.layers]))

    def layer_labels(self, n: int) -> np.ndarray:
        """The layer name of each neuron, matching the order of ``positions(n, ...)``."""
        counts = self.layer_counts(n)
        return np.repeat(np.array([layer.name for layer in self.layers]), counts)

    def positions(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        rng = as_generator(rng)
        counts = self.layer_counts(n)
        radius = _to_um(self.radius)
        out = np.empty((int(counts.sum()), 3))
        start = 0
        for layer, count in zip(self.layers, counts, strict=True):
            block = out[start : start + count]
            # Uniform in a disc: P(r < x) = (x/R)^2, so r = R·sqrt(U).
            r = radius * np.sqrt(rng.random(count))
            phi = 2 * np.pi * rng.random(count)
            block[:, 0] = r * np.cos(phi)
            block[:, 1] = r * np.sin(phi)
            block[:, 2] = -rng.uniform(_to_um(layer.top), _to_um(layer.bottom), count)
            start += count
        return out

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        radius = _to_um(self.radius)
        deepest = max(_to_um(layer.bottom) for layer in self.layers)
        shallowest = min(_to_um(layer.top) for layer in self.layers)
        return np.array([-radius, -radius, -deepest]), np.array([radius, radius, 0.0 - shallowest])


@dataclass(frozen=True)
class Grid(Placement):
    """A regular lattice of ``nx·ny·nz`` points, ``spacing`` apart, starting at ``origin``.

    Point ``k`` has lattice index ``(ix, iy, iz) = np.unravel_index(k, shape)`` (C order: z varies
    fastest). ``bounds()`` extend half a spacing beyond the outer points, so that in a periodic box the
    last point and the first are one spacing apart, like all neighbours.
    """

    shape: tuple[int, int, int]  # number of points along x, y, z
    spacing: Any  # distance between neighbours (one length, or three for x, y, z)
    origin: Any = (0 * um, 0 * um, 0 * um)  # position of point (0, 0, 0)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        shape = self.shape
        if not isinstance(shape, (tuple, list)) or len(shape) != 3:
            fail(owner, "shape", shape, "expected three positive integers (nx, ny, nz)")
        for count in shape:
            check_number(owner, "shape", count, low=1, integer=True)
        object.__setattr__(self, "shape", tuple(int(c) for c in shape))
        object.__setattr__(self, "spacing", _lengths(owner, "spacing", self.spacing, positive=True))
        object.__setattr__(self, "origin", _lengths(owner, "origin", self.origin))

    @property
    def size(self) -> int:
        """Number of points, ``nx·ny·nz``."""
        return int(np.prod(self.shape))

    def positions(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        owner = type(self).__name__
        n = _check_n(owner, n)
        if n != self.size:
            fail(owner, "n", n, f"a Grid of shape {self.shape} holds exactly {self.size} neurons")
        index = np.indices(self.shape).reshape(3, -1).T
        return _vec_um(self.origin) + index * _vec_um(self.spacing)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        spacing = _vec_um(self.spacing)
        low = _vec_um(self.origin) - spacing / 2
        return low, low + np.array(self.shape) * spacing


@dataclass(frozen=True, eq=False)
class Explicit(Placement):
    """Coordinates given by the user: an ``(n, 3)`` array of lengths (e.g. ``coords_um * um``)."""

    coordinates: Any  # (n, 3) Quantity array in units of length

    def __post_init__(self) -> None:
        owner = type(self).__name__
        value = self.coordinates
        if not isinstance(value, Quantity) or not have_same_dimensions(value, um):
            fail(owner, "coordinates", value, "expected an (n, 3) array of lengths, e.g. xyz_um * um")
        # Micrometres from the SI values, so that a to_dict/from_dict round trip gives identical floats.
        arr = np.asarray(value, dtype=float) * 1e6
        if arr.ndim != 2 or arr.shape[1] != 3:
            fail(owner, "coordinates", value, f"expected shape (n, 3); got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            fail(owner, "coordinates", value, "all coordinates must be finite")
        arr.setflags(write=False)
        object.__setattr__(self, "_um", arr)
        object.__setattr__(self, "coordinates", Quantity(np.asarray(value, dtype=float), dim=um.dim))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Explicit):
            return NotImplemented
        return bool(np.array_equal(self._um, other._um))  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def positions(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        owner = type(self).__name__
        n = _check_n(owner, n)
        have = self._um.shape[0]  # type: ignore[attr-defined]
        if n != have:
            fail(owner, "n", n, f"the explicit coordinates describe exactly {have} neurons")
        return np.array(self._um, dtype=float)  # type: ignore[attr-defined]

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The bounding box of the points (give a periodic box yourself if the points tile a larger one)."""
        arr = self._um  # type: ignore[attr-defined]
        if arr.shape[0] == 0:
            return np.zeros(3), np.zeros(3)
        return arr.min(axis=0).copy(), arr.max(axis=0).copy()
