"""Poisson background input, drawn from a counter-based random stream.

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
emulated on AVX2), which makes the C++ background 2.3× cheaper per neuron and step than SplitMix64 per neuron
with 53-bit uniforms (the previous stream; microbenchmark 2.8–3.3 → 1.2–1.4 ns). Brian2 ``PoissonInput`` draws
with a Mersenne Twister and a loop whose length is random (a mispredicted branch per neuron and step). A short
table is compared whole without branches; a long one compares its first entries without branches and loops
over the rare tail. Tests: the count law (chi-square), uniformity and pair independence of the bits across
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
from typing import Any

import brian2 as b2
import numpy as np
from scipy.stats import binom

from .validation import check_number

_GAMMA = 0x9E3779B97F4A7C15  # SplitMix64's increment (golden ratio)
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_MASK = (1 << 64) - 1
_H1 = 0x7FEB352D  # lowbias32's multipliers (C. Wellons, hash-prospector)
_H2 = 0x846CA68B
_TWO32 = 2.0**32
_FAST_TAIL = 1e-3  # table entries compared without a branch: until P(count ≥ m) ≤ this
_MAX_FAST = 16


def stream_key(seed: int, name: str) -> int:
    """The 64-bit key of one input's stream: SplitMix64-mixed ``(seed mod 2³² , crc32(name))``."""
    return _mix64(_seed_word(seed) << 32 | zlib.crc32(name.encode()))


def _seed_word(seed: int) -> int:
    return int(seed) & 0xFFFFFFFF


SEED_VARIABLE = "background_seed"  # the neuron group's shared integer holding the seed (data, not code)


def _mix64(z: int) -> int:
    z = (z + _GAMMA) & _MASK
    z = ((z ^ (z >> 30)) * _MIX1) & _MASK
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK
    return z ^ (z >> 31)


def binomial_cdf_table(n: int, p: float) -> np.ndarray:
    """CDF of Binomial(n, p) at 0, 1, …, cut at the first entry a 32-bit uniform cannot exceed (c > 1 − 2⁻³²:
    the tail beyond has mass under 2⁻³²); the last entry is a sentinel 2.0, so the count is the number of
    entries ≤ u."""
    check_number("binomial_cdf_table", "n", n, low=1, integer=True)
    check_number("binomial_cdf_table", "p", p, low=0, high=1)
    cdf = binom.cdf(np.arange(n + 1), n, p)
    last = int(np.argmax(np.ceil(cdf * _TWO32) >= _TWO32))  # exists: the CDF at n is 1
    return np.append(cdf[:last], 2.0)


def step_keys(key: int, steps: np.ndarray) -> np.ndarray:
    """The 64-bit keys of time steps ``steps``: the SplitMix64 stream of ``key`` at those counters."""
    z = np.uint64(key) + np.asarray(steps, dtype=np.uint64) * np.uint64(_GAMMA)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX2)
    return z ^ (z >> np.uint64(31))


def lowbias32(x: np.ndarray) -> np.ndarray:
    """Wellons' lowbias32 integer hash of 32-bit words (numpy, wrapping arithmetic)."""
    x = np.asarray(x, dtype=np.uint32)
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(_H1)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(_H2)
    return x ^ (x >> np.uint32(16))


def random_bits(key: int, index: np.ndarray, step: int) -> np.ndarray:
    """The 32 random bits (uint32) of neurons ``index`` at time step ``step``: the numpy reference of the
    generated C++ and Cython code."""
    s = int(step_keys(key, np.array([step]))[0])
    low, high = np.uint32(s & 0xFFFFFFFF), np.uint32(s >> 32)
    return lowbias32(lowbias32(np.asarray(index).astype(np.uint32) ^ low) + high)


def uniforms(key: int, index: np.ndarray, step: int) -> np.ndarray:
    """The uniforms in [0, 1) of neurons ``index`` at ``step`` (:func:`random_bits` · 2⁻³², exact)."""
    return random_bits(key, index, step).astype(np.float64) / _TWO32


def counts(key: int, table: np.ndarray, index: np.ndarray, step: int) -> np.ndarray:
    """Input counts of neurons ``index`` at ``step`` (numpy; what every target computes)."""
    return np.searchsorted(table, uniforms(key, index, step), side="right").astype(np.int32)


def integer_limits(table: np.ndarray) -> list[int]:
    """``ceil(c·2³²)`` of every CDF entry: ``z ≥ limit`` is exactly ``z·2⁻³² ≥ c`` (c·2³² is exact)."""
    return [math.ceil(float(c) * _TWO32) for c in table[:-1]]


def _table_code(table: np.ndarray, cast: str) -> tuple[int, str, str]:
    """For the generated code: how many leading entries ``m`` are compared without branches, the table as
    a literal list, and the branch-free sum of the first ``m`` comparisons (each cast with ``cast``)."""
    cdf = table[:-1]
    m = int(np.searchsorted(cdf, 1.0 - _FAST_TAIL, side="left")) + 1
    m = max(1, min(m, len(cdf), _MAX_FAST))
    entries = ", ".join(repr(float(c)) for c in table)
    return m, entries, " + ".join(f"{cast}(u >= {float(c)!r})" for c in table[:m])


def _cpp_count(name: str, table: np.ndarray) -> str:
    """C++ statements setting ``k`` (the count, as a double) from ``z`` (32 random bits): the number of table
    entries ≤ u = z·2⁻³². A short table (≤ 16 entries) is compared whole, without branches, as integers (z
    against ceil(c·2³²), both offset by 2³¹ to compare as signed words, which AVX2 does natively), so the
    loop over neurons vectorises eight neurons per instruction. A longer table compares its first entries
    without branches and loops over the rare tail."""
    cdf = table[:-1]
    if len(cdf) <= _MAX_FAST:
        limits = [limit - 2**31 for limit in integer_limits(table)]
        compare = " + ".join(f"(int32_t)(m >= {t})" for t in limits) or "0"
        return f"const int32_t m = (int32_t)(z ^ 0x80000000u);\n    const double k = (double)({compare});"
    m, _, fast = _table_code(table, "")
    return (
        f"const double u = (double)z * {1 / _TWO32!r};\n"
        f"    int32_t n = {fast};\n"
        f"    if (n == {m}) {{ while (u >= {name}_cdf[n]) n++; }}\n"
        "    const double k = n;"
    )


def _cpp_code(name: str, salt: int, table: np.ndarray) -> str:
    _, entries, _ = _table_code(table, "")
    return f"""
static const double {name}_cdf[{len(table)}] = {{{entries}}};
static inline uint64_t {name}_mix(uint64_t z)
{{
    z = (z ^ (z >> 30)) * {_MIX1}ULL;
    z = (z ^ (z >> 27)) * {_MIX2}ULL;
    return z ^ (z >> 31);
}}
static inline uint32_t {name}_hash(uint32_t x)
{{
    x ^= x >> 16;
    x *= {_H1}U;
    x ^= x >> 15;
    x *= {_H2}U;
    return x ^ (x >> 16);
}}
static inline double {name}(const int32_t i, const int64_t step, const int32_t seed)
{{
    const uint64_t key = {name}_mix(((uint64_t)(uint32_t)seed << 32 | {salt}ULL) + {_GAMMA}ULL);
    const uint64_t s = {name}_mix(key + (uint64_t)step * {_GAMMA}ULL);
    const uint32_t z = {name}_hash({name}_hash((uint32_t)i ^ (uint32_t)s) + (uint32_t)(s >> 32));
    {_cpp_count(name, table)}
    return k;
}}
"""


def _cython_code(name: str, salt: int, table: np.ndarray) -> str:
    m, entries, fast = _table_code(table, "<int>")
    return f"""
cdef double {name}_cdf[{len(table)}]
{name}_cdf[:] = [{entries}]

cdef inline unsigned long long {name}_mix(unsigned long long z):
    z = (z ^ (z >> 30)) * {_MIX1}ULL
    z = (z ^ (z >> 27)) * {_MIX2}ULL
    return z ^ (z >> 31)

cdef inline unsigned int {name}_hash(unsigned int x):
    x = x ^ (x >> 16)
    x = x * {_H1}U
    x = x ^ (x >> 15)
    x = x * {_H2}U
    return x ^ (x >> 16)

cdef inline double {name}(int i, long long step, int seed):
    cdef unsigned long long word = <unsigned int>seed
    cdef unsigned long long key = {name}_mix((word << 32 | {salt}ULL) + {_GAMMA}ULL)
    cdef unsigned long long s = {name}_mix(key + <unsigned long long>step * {_GAMMA}ULL)
    cdef unsigned int z = {name}_hash((<unsigned int>i) ^ (<unsigned int>s))
    z = {name}_hash(z + <unsigned int>(s >> 32))
    cdef double u = <double>z * {1 / _TWO32!r}
    cdef int k = {fast}
    if k == {m}:
        while u >= {name}_cdf[k]:
            k += 1
    return k
"""


def count_function(name: str, input_name: str, n: int, p: float) -> b2.Function:
    """A Brian2 function ``name(i, t_in_timesteps, seed)`` giving the binomial input count of neuron ``i`` in
    the current step, with C++ (cpp_standalone), Cython and numpy implementations that agree bit for bit.
    The seed is an argument (data), so another seed reuses compiled code; the input's name is compiled in."""
    table = binomial_cdf_table(n, p)
    salt = zlib.crc32(input_name.encode())

    def numpy_counts(i: Any, step: Any, seed: Any) -> np.ndarray:
        key = stream_key(int(np.asarray(seed).ravel()[0]), input_name)
        return counts(key, table, np.asarray(i), int(np.asarray(step).ravel()[0])).astype(float)

    fn = b2.Function(
        numpy_counts,
        arg_units=[1, 1, 1],
        return_unit=1,
        arg_types=["integer", "integer", "integer"],
        return_type="float",  # a count, as a double (see _cpp_count)
    )
    fn.implementations.add_implementation(
        "cpp",
        {"support_code": _cpp_code(name, salt, table)},
        name=name,
    )
    fn.implementations.add_implementation("cython", _cython_code(name, salt, table), name=name)
    return fn


def background_operation(group: Any, variable: str, weight: Any, n: int, p: float, name: str) -> Any:
    """Add ``weight × Binomial(n, p)`` to ``group.variable`` at every step, where Brian2 runs synaptic input
    (``when="synapses"``, as ``PoissonInput``), as a ``run_regularly`` operation of ``group``. The group must
    have the shared integer :data:`SEED_VARIABLE` (set it with :func:`set_seed`)."""
    fname = f"neurosim_background_{name}"
    group.namespace[fname] = count_function(fname, name, n, p)
    group.namespace[f"{fname}_weight"] = weight
    return group.run_regularly(
        f"{variable} += {fname}_weight * {fname}(i, t_in_timesteps, {SEED_VARIABLE})",
        when="synapses",
        name=f"{group.name}_background_{name}",
    )


def set_seed(group: Any, seed: int) -> None:
    """Store the seed (its low 32 bits) in the group's :data:`SEED_VARIABLE`."""
    setattr(group, SEED_VARIABLE, int(np.array(_seed_word(seed), dtype=np.uint32).view(np.int32)))


__all__ = [
    "SEED_VARIABLE",
    "background_operation",
    "binomial_cdf_table",
    "count_function",
    "counts",
    "integer_limits",
    "lowbias32",
    "random_bits",
    "set_seed",
    "step_keys",
    "stream_key",
    "uniforms",
]
