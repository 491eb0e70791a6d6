"""Poisson background input as generated code: one Brian2 function per input and a ``run_regularly``.

Each neuron of the target population receives ``n`` independent Poisson fibres of rate ``r``; in a step the
target variable jumps by ``weight`` times a Binomial(``n``, ``r·dt``) count drawn from the counter-based
stream of :mod:`neurosim.backend.poisson_stream` (a function of seed, input name, neuron and step, so no
generator state is kept). This module writes that draw as C++ (cpp_standalone), Cython and numpy
implementations of one Brian2 function, which agree bit for bit: a continued or reloaded simulation draws
exactly what an uninterrupted one draws, on every code generation target. The seed is data (a shared
integer of the group), so another seed reuses the compiled code.
"""

from __future__ import annotations

import zlib
from typing import Any

import brian2 as b2
import numpy as np
from brian2 import Quantity

from .poisson_stream import (
    GAMMA,
    H1,
    H2,
    MIX1,
    MIX2,
    SEED_VARIABLE,
    TWO32,
    binomial_cdf_table,
    counts,
    integer_limits,
    seed_word,
    stream_key,
)

_FAST_TAIL = 1e-3  # table entries compared without a branch: until P(count ≥ m) ≤ this
_MAX_FAST = 16


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
        f"const double u = (double)z * {1 / TWO32!r};\n"
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
    z = (z ^ (z >> 30)) * {MIX1}ULL;
    z = (z ^ (z >> 27)) * {MIX2}ULL;
    return z ^ (z >> 31);
}}
static inline uint32_t {name}_hash(uint32_t x)
{{
    x ^= x >> 16;
    x *= {H1}U;
    x ^= x >> 15;
    x *= {H2}U;
    return x ^ (x >> 16);
}}
static inline double {name}(const int32_t i, const int64_t step, const int32_t seed)
{{
    const uint64_t key = {name}_mix(((uint64_t)(uint32_t)seed << 32 | {salt}ULL) + {GAMMA}ULL);
    const uint64_t s = {name}_mix(key + (uint64_t)step * {GAMMA}ULL);
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
    z = (z ^ (z >> 30)) * {MIX1}ULL
    z = (z ^ (z >> 27)) * {MIX2}ULL
    return z ^ (z >> 31)

cdef inline unsigned int {name}_hash(unsigned int x):
    x = x ^ (x >> 16)
    x = x * {H1}U
    x = x ^ (x >> 15)
    x = x * {H2}U
    return x ^ (x >> 16)

cdef inline double {name}(int i, long long step, int seed):
    cdef unsigned long long word = <unsigned int>seed
    cdef unsigned long long key = {name}_mix((word << 32 | {salt}ULL) + {GAMMA}ULL)
    cdef unsigned long long s = {name}_mix(key + <unsigned long long>step * {GAMMA}ULL)
    cdef unsigned int z = {name}_hash((<unsigned int>i) ^ (<unsigned int>s))
    z = {name}_hash(z + <unsigned int>(s >> 32))
    cdef double u = <double>z * {1 / TWO32!r}
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
    # numpy: without unit checks, which format the whole count array into a message at every call
    fn.implementations.add_numpy_implementation(numpy_counts, discard_units=True)
    return fn


def background_operation(
    group: b2.NeuronGroup, variable: str, weight: Quantity, n: int, p: float, name: str
) -> b2.CodeRunner:
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


def set_seed(group: b2.NeuronGroup, seed: int) -> None:
    """Store the seed (its low 32 bits) in the group's :data:`SEED_VARIABLE`."""
    setattr(group, SEED_VARIABLE, int(np.array(seed_word(seed), dtype=np.uint32).view(np.int32)))


__all__ = ["background_operation", "count_function", "set_seed"]
