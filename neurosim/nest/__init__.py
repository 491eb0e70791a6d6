"""NEST as an engine for neurosim descriptions: ``build(description, engine="nest")``.

:mod:`.models` maps the neuron models, :mod:`.synapses` the plasticity rules (with the parameter mappings
cross-checked against neurosim's rules), :mod:`.construct` makes the network in NEST's kernel with
neurosim's own placement, synapses and delays, :mod:`.simulation` reads it back with the methods of
:class:`neurosim.Simulation`, and :mod:`.dopamine` delivers rewards to reward-modulated projections. NEST
itself is imported only when a network is built.
"""

from .simulation import NestSimulation, build_nest, check_description

__all__ = ["NestSimulation", "build_nest", "check_description"]
