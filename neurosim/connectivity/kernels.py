"""Connection kernels p(d) and conduction delays: the descriptions that distance-dependent wiring is made of.

A kernel gives the probability that a source neuron connects to a target neuron a distance ``d`` away.
It takes its length scale either directly (``sigma=100*um``) or from a wanted mean in-degree
(``in_degree=K``), in which case :func:`neurosim.connectivity.resolve_kernel` solves for the length scale
that gives ``K`` inputs per target on average for the actual positions.

Kernels, with ``d`` the distance and ``s`` the length scale:

* :class:`GaussianKernel`: ``p(d) = p_max·exp(-d²/2σ²)``; cortex: σ ≈ 85–115 µm locally (Levy & Reyes 2012).
* :class:`ExponentialKernel`: ``p(d) = p_max·exp(-d/λ)``.
* :class:`UniformKernel`: ``p(d) = p`` for ``d <= radius``, else 0.
* :class:`CustomKernel`: any vectorised function ``p(d_um)``, named by import path so that it round-trips.

Every kernel is truncated at ``cutoff_um()`` (p = 0 beyond it; 5σ for the Gaussian, 10λ for the
exponential, the radius for the uniform kernel). ``probability()``, the in-degree solve and sampling all
use the same truncated kernel, so a solved ``K`` is exactly what is sampled on average.

A kernel also makes the Bernoulli draws of the pairs it is given (``_accept``). For the Gaussian and
exponential kernels a draw needs no exponential function: with ``E ~ Exp(1)``,
``P(E + ln p_max > x) = p_max·exp(-x)`` for ``x = d²/2σ²`` or ``x = d/λ``; and one ``E`` per pair decides
it at every scale, which lets sampling solve the scale and draw in one pass over the pairs.

:class:`ConductionDelay` turns the distance of a synapse into its axonal delay, ``base + d/velocity``.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from brian2 import Quantity, metre, ms, second, um

from ..serialization import Describable
from ..validation import check_number, check_probability, check_quantity, fail

# Distances within this relative tolerance of the cutoff count as inside (rounding of grid distances).
_CUT_TOL = 1e-9


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


class _ExponentialDraw:
    """The draw shared by kernels ``p(d) = p_max·exp(-x)`` (``x = d²/2σ²``, ``x = d/λ``).

    ``p_max·exp(-x) > U`` for a uniform ``U`` is the event ``x < E + ln p_max`` with ``E = -ln U ~ Exp(1)``.
    A pair's statistic is ``E + ln p_max`` (``-inf`` when ``p_max = 0``: never connects); the kernel's
    ``_accepts`` compares it with ``x`` at its own scale. Listed before :class:`Kernel` in the bases.
    """

    def _statistic(self, d2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        stat = rng.standard_exponential(d2.shape)
        peak = self.peak  # type: ignore[attr-defined]
        if peak < 1:
            stat += math.log(peak) if peak > 0 else -math.inf
        return stat

    def _accept(self, d2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self._accepts(d2, self._statistic(d2, rng))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class GaussianKernel(_ExponentialDraw, Kernel):
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

    def _accepts(self, d2: np.ndarray, stat: np.ndarray) -> np.ndarray:
        # p_max·exp(-d²/2σ²) > U  ⟺  d² < 2σ²·(E + ln p_max).
        return d2 < stat * (2 * self.scale_um() ** 2)


@dataclass(frozen=True)
class ExponentialKernel(_ExponentialDraw, Kernel):
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

    def _accepts(self, d2: np.ndarray, stat: np.ndarray) -> np.ndarray:
        # p_max·exp(-d/λ) > U  ⟺  d < λ·(E + ln p_max).
        return np.sqrt(d2) < stat * self.scale_um()


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
