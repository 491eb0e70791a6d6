"""Performance benchmark: one reference network on neurosim, on NEST and as a hand-written Brian2 script.

A harness beside the library, not part of it: it uses neurosim's public API to describe and build the
network, and draws the synapses once with neurosim's own code so every engine runs the same network.

* :mod:`.network`: the reference network (:class:`BenchmarkNetwork`), its plasticity cases and sizes, and its
  neurosim description;
* :mod:`.wiring`: the positions and synapses every engine gets (:func:`wiring`), and pruned subsets;
* :mod:`.engine_neurosim`, :mod:`.engine_brian2`, :mod:`.engine_nest`: one engine each;
* :mod:`.timing`: one measurement (:class:`RunSpec`) and the figures every engine reports the same way;
* :mod:`.runner`: :func:`measure` in this process, :func:`run_isolated` in a fresh one;
* :mod:`.report`: the comparison (:func:`compare`: against NEST and Brian2, pruned, floor, compacted vs
  built fresh, scaling) and :func:`table`.

``experiments/benchmark.py`` is the command line (also ``neurosim run benchmark``). :mod:`.learner` (its own
command line: ``python -m neurosim_benchmark.learner``) times the spiking learner's trials instead.
"""

from .network import CASES, PROJECTIONS, SIZES, BenchmarkNetwork
from .report import compare, table
from .runner import measure, run_isolated
from .timing import ENGINES, TARGETS, RunSpec
from .wiring import Wiring, pruned, wiring

__all__ = [
    "CASES",
    "ENGINES",
    "PROJECTIONS",
    "SIZES",
    "TARGETS",
    "BenchmarkNetwork",
    "RunSpec",
    "Wiring",
    "compare",
    "measure",
    "pruned",
    "run_isolated",
    "table",
    "wiring",
]
