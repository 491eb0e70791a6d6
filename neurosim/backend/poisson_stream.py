"""The counter-based random stream of the Poisson background input (numpy reference).

Each neuron of the target population receives ``n`` independent Poisson fibres of rate ``r``. In a time step
``dt`` the number of input spikes it receives is Binomial(``n``, ``p = r·dt``) (each fibre spikes at most once
per step: Brian2 ``PoissonInput``'s model and NEST's ``poisson_generator`` in the limit), and the target
variable jumps by ``weight`` times that count.

How the count is drawn: by inverting the binomial CDF (a table computed once with scipy) with a 32-bit uniform
that is a *function* of (seed, neuron, time step), so no generator state is kept. Each step has a 64-bit key,
the SplitMix64 stream (Steele, Lea & Flood 2014; passes BigCrush) at counter ``step``; the neuron's 32 random
bits are ``h(h(i XOR low) + high)`` with the step key's halves and ``h`` Wellons' ``lowbias32`` integer hash
(a bijection of 32-bit words with near-ideal avalanche; hash-prospector). The uniform is ``z·2⁻³²``: the table
is cut where the tail falls below 2⁻³², and a CDF entry is met with the integer ``z ≥ ceil(c·2³²)`` (exact),
so each P(count ≥ k) is that of Binomial(n, p) rounded up to a multiple of 2⁻³². Why 32 bits: the loop over
neurons vectorises with eight 32-bit lanes per instruction and native 32-bit multiplies (a 64-bit multiply is
emulated on AVX2), so the C++ background costs less per neuron and step than 64-bit generators with 53-bit
uniforms. Brian2 ``PoissonInput`` draws
with a Mersenne Twister and a loop whose length is random (a mispredicted branch per neuron and step). A short
table is compared whole without branches; a long one compares its first entries without branches and loops
over the rare tail (the generated code is :mod:`neurosim.backend.background`'s). Tests: the count law
(chi-square), uniformity and pair independence of the bits across
neurons and steps, the step keys against SplitMix64's reference outputs, and identical counts on every target.

Side effects that matter to users:

* the stream depends only on the seed, the input's name, the neuron and the step, so a continued or reloaded
  simulation draws exactly what an uninterrupted one draws, on every code generation target: numpy, cython
  and cpp_standalone give bit-identical counts (tested);
* two inputs with different names, or two seeds, draw independent streams.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from scipy.stats import binom

from ..validation import check_number

GAMMA = 0x9E3779B97F4A7C15  # SplitMix64's increment (golden ratio)
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
_MASK = (1 << 64) - 1
H1 = 0x7FEB352D  # lowbias32's multipliers (C. Wellons, hash-prospector)
H2 = 0x846CA68B
TWO32 = 2.0**32


def stream_key(seed: int, name: str) -> int:
    """The 64-bit key of one input's stream: SplitMix64-mixed ``(seed mod 2³² , crc32(name))``."""
    return _mix64(seed_word(seed) << 32 | zlib.crc32(name.encode()))


def seed_word(seed: int) -> int:
    return int(seed) & 0xFFFFFFFF


SEED_VARIABLE = "background_seed"  # the neuron group's shared integer holding the seed (data, not code)


def _mix64(z: int) -> int:
    z = (z + GAMMA) & _MASK
    z = ((z ^ (z >> 30)) * MIX1) & _MASK
    z = ((z ^ (z >> 27)) * MIX2) & _MASK
    return z ^ (z >> 31)


def binomial_cdf_table(n: int, p: float) -> np.ndarray:
    """CDF of Binomial(n, p) at 0, 1, …, cut at the first entry a 32-bit uniform cannot exceed (c > 1 − 2⁻³²:
    the tail beyond has mass under 2⁻³²); the last entry is a sentinel 2.0, so the count is the number of
    entries ≤ u."""
    check_number("binomial_cdf_table", "n", n, low=1, integer=True)
    check_number("binomial_cdf_table", "p", p, low=0, high=1)
    cdf = binom.cdf(np.arange(n + 1), n, p)
    last = int(np.argmax(np.ceil(cdf * TWO32) >= TWO32))  # exists: the CDF at n is 1
    return np.append(cdf[:last], 2.0)


def step_keys(key: int, steps: np.ndarray) -> np.ndarray:
    """The 64-bit keys of time steps ``steps``: the SplitMix64 stream of ``key`` at those counters."""
    z = np.uint64(key) + np.asarray(steps, dtype=np.uint64) * np.uint64(GAMMA)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
    return z ^ (z >> np.uint64(31))


def lowbias32(x: np.ndarray) -> np.ndarray:
    """Wellons' lowbias32 integer hash of 32-bit words (numpy, wrapping arithmetic)."""
    x = np.asarray(x, dtype=np.uint32)
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(H1)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(H2)
    return x ^ (x >> np.uint32(16))


def random_bits(key: int, index: np.ndarray, step: int) -> np.ndarray:
    """The 32 random bits (uint32) of neurons ``index`` at time step ``step``: the numpy reference of the
    generated C++ and Cython code."""
    s = int(step_keys(key, np.array([step]))[0])
    low, high = np.uint32(s & 0xFFFFFFFF), np.uint32(s >> 32)
    return lowbias32(lowbias32(np.asarray(index).astype(np.uint32) ^ low) + high)


def uniforms(key: int, index: np.ndarray, step: int) -> np.ndarray:
    """The uniforms in [0, 1) of neurons ``index`` at ``step`` (:func:`random_bits` · 2⁻³², exact)."""
    return random_bits(key, index, step).astype(np.float64) / TWO32


def counts(key: int, table: np.ndarray, index: np.ndarray, step: int) -> np.ndarray:
    """Input counts of neurons ``index`` at ``step`` (numpy; what every target computes)."""
    return np.searchsorted(table, uniforms(key, index, step), side="right").astype(np.int32)


def integer_limits(table: np.ndarray) -> list[int]:
    """``ceil(c·2³²)`` of every CDF entry: ``z ≥ limit`` is exactly ``z·2⁻³² ≥ c`` (c·2³² is exact)."""
    return [math.ceil(float(c) * TWO32) for c in table[:-1]]


__all__ = [
    "SEED_VARIABLE",
    "binomial_cdf_table",
    "counts",
    "integer_limits",
    "lowbias32",
    "random_bits",
    "step_keys",
    "stream_key",
    "uniforms",
]
