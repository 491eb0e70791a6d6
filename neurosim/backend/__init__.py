"""The Brian2 backend: the only package that makes, runs or touches Brian2 objects.

Descriptions (:mod:`neurosim.network`, :mod:`neurosim.plasticity`) come in; :func:`build` makes the Brian2
network and returns a :class:`Simulation`, whose methods and the functions here give numpy arrays to the
code above (the frontal controller, the learners). Modules, lowest first: :mod:`.device` (targets and
Brian2's device), :mod:`.poisson_stream` and :mod:`.background` (Poisson background input),
:mod:`.construct` (making the objects), :mod:`.objects` (the record of them), :mod:`.compaction`,
:mod:`.dopamine` and :mod:`.statefile` (operations on that record), :mod:`.simulation` (the user-facing
simulation), :mod:`.trial_blocks` (blocks of trials in one run), :mod:`.readout_judge` (the controller's
judgement of a readout as generated code), :mod:`.compiled_block` (a block of trials compiled whole on a
schedule) and :mod:`.standalone` (neurosim's cpp_standalone device).
"""

from .compaction import compact, draw_synapses, on_resize, resize_projection
from .construct import stream
from .device import TARGETS, default_target
from .dopamine import DopamineSignal, clear_eligibility, eligibility, reward_rules
from .objects import BuiltNetwork
from .simulation import Recording, Simulation, build, load, save
from .statefile import read_description, read_extras
from .trial_blocks import deliver_in_run, dopamine_span, run_with_ticks

__all__ = [
    "TARGETS",
    "BuiltNetwork",
    "DopamineSignal",
    "Recording",
    "Simulation",
    "build",
    "clear_eligibility",
    "compact",
    "default_target",
    "deliver_in_run",
    "dopamine_span",
    "draw_synapses",
    "eligibility",
    "load",
    "on_resize",
    "read_description",
    "read_extras",
    "resize_projection",
    "reward_rules",
    "run_with_ticks",
    "save",
    "stream",
]
