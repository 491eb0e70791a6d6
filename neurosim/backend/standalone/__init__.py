"""neurosim's cpp_standalone device: Brian2's, with two pieces of C++ replaced by faster equivalents.

* ``spikequeue.h``: Brian2's ``CSpikeQueue`` interface and queue contents; a spike's synapses that share a
  delay (neighbours, as neurosim orders synapses by distance) are queued with one block copy instead of one
  push per synapse (see the file's header).
* ``templates/threshold.cpp``: Brian2's thresholder, evaluated for blocks of neurons in a loop the compiler
  vectorises; only a block with an event is walked neuron by neuron. Same events in the same order.

It also writes ``main.cpp`` the same way in every process: Brian2 sets each clock's start time in the order
of a set of clock objects, which changes from process to process, so a rebuilt project recompiled
``main.cpp`` (about 5 s) although nothing had changed; neurosim orders those lines by clock name.

Everything else (code generation, the other templates, building, running, reading results) is Brian2's
``CPPStandaloneDevice``. The module variables select the replacements (None: Brian2's own; the tests compare
the two). The device is used by :func:`neurosim.backend.build` for ``target="cpp_standalone"``; a plain Brian2
script keeps Brian2's device.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

HERE = Path(__file__).parent

#: The spike queue header installed as ``brianlib/spikequeue.h`` (None: Brian2's queue).
SPIKE_QUEUE: Path | None = HERE / "spikequeue.h"

#: Folder of templates that replace Brian2's of the same name (package data, read through the package
#: ``neurosim.backend.standalone``; the value is a switch: None uses Brian2's templates only).
TEMPLATES: Path | None = HERE / "templates"


class NeurosimCodeObject(CPPStandaloneCodeObject):
    """Brian2's cpp_standalone code object, with neurosim's templates looked up before Brian2's."""

    templater = CPPStandaloneCodeObject.templater.derive("neurosim.backend.standalone")


class NeurosimStandaloneDevice(CPPStandaloneDevice):
    """Brian2's cpp_standalone device with neurosim's spike queue and thresholder (see the module docs)."""

    def code_object_class(self, codeobj_class: Any = None, fallback_pref: Any = None) -> Any:
        if codeobj_class is None and TEMPLATES is not None:
            return NeurosimCodeObject
        return super().code_object_class(codeobj_class, fallback_pref)

    def network_run(self, net: Any, *args: Any, **kwargs: Any) -> None:
        first = len(self.main_queue)
        super().network_run(net, *args, **kwargs)
        # the run's first entries set each clock's timestep and t, in the order of a set of clocks
        place = {}
        for clock in net._clocks:
            for rank, var in enumerate(("timestep", "t")):
                place[self.get_array_name(clock.variables[var])] = (clock.name, rank)
        end = first
        while end < len(self.main_queue) and _sets(self.main_queue[end]) in place:
            end += 1
        self.main_queue[first:end] = sorted(self.main_queue[first:end], key=lambda e: place[_sets(e)])

    def copy_source_files(self, writer: Any, directory: str) -> None:
        super().copy_source_files(writer, directory)
        queue = Path(directory) / "brianlib" / "spikequeue.h"
        if SPIKE_QUEUE is not None:
            shutil.copy2(SPIKE_QUEUE, queue)
        # Brian2's make.deps names code_objects/*.o without their folder, so make does not see that they
        # depend on this header: objects built with another queue class would be linked in. The stamp
        # records which queue the objects were compiled with; another one, or none, rebuilds them all.
        stamp, used = Path(directory) / ".neurosim_queue", hashlib.sha256(queue.read_bytes()).hexdigest()
        if not stamp.exists() or stamp.read_text() != used:
            for stale in Path(directory).rglob("*.o"):
                stale.unlink()
            stamp.write_text(used)


def _sets(entry: tuple[str, Any]) -> str | None:
    """The array a main-queue entry sets to one value (None for other entries)."""
    kind, args = entry
    return args[0] if kind == "set_by_single_value" else None


#: The one instance (Brian2 keeps one per device kind, too).
device = NeurosimStandaloneDevice()
