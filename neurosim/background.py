"""Poisson background input, drawn from a counter-based random stream.

Each neuron of the target population receives ``n`` independent Poisson fibres of rate ``r``. In a time step
``dt`` the number of input spikes it receives is Binomial(``n``, ``p = r·dt``) (each fibre spikes at most once
per step: Brian2 ``PoissonInput``'s model and NEST's ``poisson_generator`` in the limit), and the target
variable jumps by ``weight`` times that count.

How the count is drawn: by inverting the exact binomial CDF (a table computed once with scipy and cut where
the tail falls below 2⁻⁵⁴, under the 2⁻⁵³ resolution of the uniform) with a uniform number that is a
*function* of (seed, neuron, time step): SplitMix64 (Steele, Lea & Flood 2014) evaluated at counter
``step·N + i``. That is the SplitMix64 stream itself, which passes BigCrush, so every (neuron, step) draws an
independent uniform without any generator state. Why: Brian2 ``PoissonInput`` draws with a Mersenne Twister
and a loop whose length is random; on the benchmark network that was 60–70 % of the run (a mispredicted branch
per neuron and step). Here the first table entries are compared without branches and only the rare tail
loops, which makes the background 2.8× cheaper in C++ (profiled at 10,000 neurons). Side effects that matter
to users:

* the stream depends only on the seed, the input's name, the neuron and the step, so a continued or reloaded
  simulation draws exactly what an uninterrupted one draws, on every code generation target: numpy, cython
  and cpp_standalone give bit-identical counts (tested);
* two inputs with different names, or two seeds, draw independent streams.
"""

from __future__ import annotations

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
    """CDF of Binomial(n, p) at 0, 1, …, cut where the tail is below 2⁻⁵⁴; the last entry is a sentinel 2.0
    (no uniform in [0, 1) reaches it), so the count is the number of entries ≤ u."""
    check_number("binomial_cdf_table", "n", n, low=1, integer=True)
    check_number("binomial_cdf_table", "p", p, low=0, high=1)
    ks = np.arange(n + 1)
    cdf = binom.cdf(ks, n, p)
    last = int(np.argmax(binom.sf(ks, n, p) <= 2.0**-54))  # exists: the tail beyond n is 0
    return np.append(cdf[:last], 2.0)


def uniforms(key: int, n_neurons: int, index: np.ndarray, step: int) -> np.ndarray:
    """The uniforms in [0, 1) of neurons ``index`` at time step ``step`` (53-bit, SplitMix64 at counter
    ``step·n_neurons + index``): the numpy reference of the generated C++ and Cython code."""
    counter = np.asarray(index, dtype=np.uint64) + np.full(1, step, np.uint64) * np.uint64(n_neurons)
    z = np.uint64(key) + counter * np.uint64(_GAMMA)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX2)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def counts(key: int, n_neurons: int, table: np.ndarray, index: np.ndarray, step: int) -> np.ndarray:
    """Input counts of neurons ``index`` at ``step`` (numpy; what every target computes)."""
    u = uniforms(key, n_neurons, index, step)
    return np.searchsorted(table, u, side="right").astype(np.int32)


def _table_code(table: np.ndarray, cast: str) -> tuple[int, str, str]:
    """For the generated code: how many leading entries ``m`` are compared without branches, the table as
    a literal list, and the branch-free sum of the first ``m`` comparisons (each cast with ``cast``)."""
    cdf = table[:-1]
    m = int(np.searchsorted(cdf, 1.0 - _FAST_TAIL, side="left")) + 1
    m = max(1, min(m, len(cdf), _MAX_FAST))
    entries = ", ".join(repr(float(c)) for c in table)
    return m, entries, " + ".join(f"{cast}(u >= {float(c)!r})" for c in table[:m])


def _cpp_count(name: str, table: np.ndarray) -> str:
    """C++ statements setting ``k`` (the count, as a double) from ``z`` (64 random bits): the number of table
    entries ≤ u = (z >> 11)·2⁻⁵³. A short table (≤ 16 entries) is compared whole and without branches, on the
    integer m = z >> 11 against ceil(c·2⁵³) (exactly u ≥ c, as c·2⁵³ is exact), summed in 64-bit integers and
    turned into a double by the exponent trick (k | 2⁵², read as a double, minus 2⁵²; exact for k < 2⁵²): no
    branch and no conversion that AVX2 lacks, so the loop over neurons vectorises without narrowing every
    comparison to 32 bits (1.6× faster than summing them as ``int``). A longer table compares its first
    entries without branches and loops over the rare tail."""
    cdf = table[:-1]
    if len(cdf) <= _MAX_FAST:
        limits = [int(np.ceil(float(c) * 2.0**53)) for c in cdf]
        compare = " + ".join(f"(int64_t)(m >= {t}LL)" for t in limits)
        return (
            f"const int64_t m = (int64_t)(z >> 11);\n"
            f"    const uint64_t bits = (uint64_t)({compare}) | 0x4330000000000000ULL;\n"
            "    double k;\n"
            "    memcpy(&k, &bits, sizeof k);\n"
            "    k -= 4503599627370496.0;"
        )
    m, _, fast = _table_code(table, "")
    return (
        "const double u = (double)(z >> 11) * 1.1102230246251565e-16;\n"
        f"    int32_t n = {fast};\n"
        f"    if (n == {m}) {{ while (u >= {name}_cdf[n]) n++; }}\n"
        "    const double k = n;"
    )


def _cpp_code(name: str, salt: int, n_neurons: int, table: np.ndarray) -> str:
    _, entries, _ = _table_code(table, "")
    return f"""
static const double {name}_cdf[{len(table)}] = {{{entries}}};
static inline uint64_t {name}_mix(uint64_t z)
{{
    z = (z ^ (z >> 30)) * {_MIX1}ULL;
    z = (z ^ (z >> 27)) * {_MIX2}ULL;
    return z ^ (z >> 31);
}}
static inline double {name}(const int32_t i, const int64_t step, const int32_t seed)
{{
    const uint64_t key = {name}_mix(((uint64_t)(uint32_t)seed << 32 | {salt}ULL) + {_GAMMA}ULL);
    const uint64_t z = {name}_mix(key + ((uint64_t)step * {n_neurons}ULL + (uint64_t)i) * {_GAMMA}ULL);
    {_cpp_count(name, table)}
    return k;
}}
"""


def _cython_code(name: str, salt: int, n_neurons: int, table: np.ndarray) -> str:
    m, entries, fast = _table_code(table, "<int>")
    return f"""
cdef double {name}_cdf[{len(table)}]
{name}_cdf[:] = [{entries}]

cdef inline unsigned long long {name}_mix(unsigned long long z):
    z = (z ^ (z >> 30)) * {_MIX1}ULL
    z = (z ^ (z >> 27)) * {_MIX2}ULL
    return z ^ (z >> 31)

cdef inline double {name}(int i, long long step, int seed):
    cdef unsigned long long word = <unsigned int>seed
    cdef unsigned long long key = {name}_mix((word << 32 | {salt}ULL) + {_GAMMA}ULL)
    cdef unsigned long long counter = <unsigned long long>step * {n_neurons}ULL + <unsigned long long>i
    cdef unsigned long long z = {name}_mix(key + counter * {_GAMMA}ULL)
    cdef double u = <double>(z >> 11) * 1.1102230246251565e-16
    cdef int k = {fast}
    if k == {m}:
        while u >= {name}_cdf[k]:
            k += 1
    return k
"""


def count_function(name: str, input_name: str, n_neurons: int, n: int, p: float) -> b2.Function:
    """A Brian2 function ``name(i, t_in_timesteps, seed)`` giving the binomial input count of neuron ``i`` in
    the current step, with C++ (cpp_standalone), Cython and numpy implementations that agree bit for bit.
    The seed is an argument (data), so another seed reuses compiled code; the input's name is compiled in."""
    table = binomial_cdf_table(n, p)
    salt = zlib.crc32(input_name.encode())

    def numpy_counts(i: Any, step: Any, seed: Any) -> np.ndarray:
        key = stream_key(int(np.asarray(seed).ravel()[0]), input_name)
        return counts(key, n_neurons, table, np.asarray(i), int(np.asarray(step).ravel()[0])).astype(float)

    fn = b2.Function(
        numpy_counts,
        arg_units=[1, 1, 1],
        return_unit=1,
        arg_types=["integer", "integer", "integer"],
        return_type="float",  # a count, as a double (see _cpp_count)
    )
    fn.implementations.add_implementation(
        "cpp",
        {"support_code": _cpp_code(name, salt, n_neurons, table)},
        name=name,
        compiler_kwds={"headers": ["<cstring>"]},  # memcpy
    )
    fn.implementations.add_implementation("cython", _cython_code(name, salt, n_neurons, table), name=name)
    return fn


def background_operation(group: Any, variable: str, weight: Any, n: int, p: float, name: str) -> Any:
    """Add ``weight × Binomial(n, p)`` to ``group.variable`` at every step, where Brian2 runs synaptic input
    (``when="synapses"``, as ``PoissonInput``), as a ``run_regularly`` operation of ``group``. The group must
    have the shared integer :data:`SEED_VARIABLE` (set it with :func:`set_seed`)."""
    fname = f"neurosim_background_{name}"
    group.namespace[fname] = count_function(fname, name, len(group), n, p)
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
    "set_seed",
    "stream_key",
    "uniforms",
]
