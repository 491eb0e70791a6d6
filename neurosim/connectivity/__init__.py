"""Distance-dependent connectivity: connection kernels p(d), sampling of synapses, conduction delays.

A kernel gives the probability that a source neuron connects to a target neuron a distance ``d`` away;
every candidate pair is an independent Bernoulli draw with that probability (as in Brian2's
``connect(p=...)``). Kernels take their length scale either directly (``sigma=100*um``) or from a wanted
mean in-degree (``in_degree=K``), in which case :func:`resolve_kernel` solves for the length scale that
gives exactly ``K`` inputs per target on average, for the actual positions (edge effects included).

The package runs one way, each module using only those above it:

* :mod:`~neurosim.connectivity.kernels`: the kernels and :class:`ConductionDelay` (descriptions).
* :mod:`~neurosim.connectivity.blocks`: positions, periodic frames, and the spatial blocks that visit
  every pair within a cutoff without O(N²) memory.
* :mod:`~neurosim.connectivity.degree`: expected in-degree and the solve of a kernel's scale from it.
* :mod:`~neurosim.connectivity.sampling`: :func:`sample_connections`, the synapses themselves.
"""

from .blocks import build_threads
from .degree import expected_in_degree, resolve_kernel
from .kernels import ConductionDelay, CustomKernel, ExponentialKernel, GaussianKernel, Kernel, UniformKernel
from .sampling import sample_connections

__all__ = [
    "ConductionDelay",
    "CustomKernel",
    "ExponentialKernel",
    "GaussianKernel",
    "Kernel",
    "UniformKernel",
    "build_threads",
    "expected_in_degree",
    "resolve_kernel",
    "sample_connections",
]
