"""neurosim's cpp_standalone device: Brian2's, with pieces of C++ replaced by faster or corrected ones.

* ``spikequeue.h``: Brian2's ``CSpikeQueue`` interface and queue contents; a spike's synapses that share a
  delay (neighbours, as neurosim orders synapses by distance) are queued with one block copy instead of one
  push per synapse (see the file's header).
* ``templates/threshold.cpp``: Brian2's thresholder, evaluated for blocks of neurons in a loop the compiler
  vectorises; only a block with an event is walked neuron by neuron. Same events in the same order.
* ``templates/network.cpp``: Brian2's network, with clocks ticking together as in Brian2's runtime (times
  within 1e-4 of the smaller dt). Brian2's C++ used an absolute 1e-14, and 671 × 0.1 s and 67,100 × 1 ms
  differ by 1.4e-14: from ~64 s on, code on a 100 ms clock ran after the 1 ms step it belongs to.

It also keeps ``main.cpp`` the same from run to run: Brian2 writes a run's start time (each clock's, in the
order of a set of clock objects, which changes from process to process) and its duration into it as
numbers, so every rebuild of a project recompiled ``main.cpp`` (about 5 s); neurosim's reads them from the
environment when the binary starts (``NEUROSIM_RUN_START``, ``NEUROSIM_RUN_DURATION``, set for the run).

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

    def network_run(self, net: Any, duration: Any, *args: Any, **kwargs: Any) -> None:
        first = len(self.main_queue)
        start = float(net.t_)
        super().network_run(net, duration, *args, **kwargs)
        runs = [e for e in self.main_queue if e[0] == "run_network"]
        if len(runs) > 1:  # several runs in one build: Brian2's own main.cpp, times written in
            return
        # Brian2 writes the run's start (each clock's timestep and t, in the order of a set of clocks) and its
        # duration into main.cpp as numbers: another start or length would recompile it. They are read from
        # the environment when the binary starts instead (set here for the run).
        place = set()
        for clock in net._clocks:
            place |= {self.get_array_name(clock.variables[var]) for var in ("timestep", "t")}
        end = first
        while end < len(self.main_queue) and _sets(self.main_queue[end]) in place:
            end += 1
        starts = "".join(
            f"{name}.set_interval({START}, {START});\n{name}.t[0] = {name}.timestep[0]*{name}.dt[0];\n"
            for name in sorted(clock.name for clock in net._clocks)  # renamed by Brian2 as in C++
        )
        self.main_queue[first:end] = [("insert_code", starts)]
        at = max(k for k, e in enumerate(self.main_queue) if e[0] == "run_network")
        network, lines = self.main_queue[at][1]
        literal = f"{net.name}.run({float(duration)!r},"
        lines = [
            line.replace(literal, f"{net.name}.t = {START};\n{net.name}.run({DURATION},") for line in lines
        ]
        self.main_queue[at] = ("run_network", (network, lines))
        self.run_environment_variables["NEUROSIM_RUN_START"] = repr(start)
        self.run_environment_variables["NEUROSIM_RUN_DURATION"] = repr(float(duration))

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


#: C++ expressions for the start and the duration of the run, read from the environment when it starts.
START = 'std::atof(std::getenv("NEUROSIM_RUN_START"))'
DURATION = 'std::atof(std::getenv("NEUROSIM_RUN_DURATION"))'


def _sets(entry: tuple[str, Any]) -> str | None:
    """The array a main-queue entry sets to one value (None for other entries)."""
    kind, args = entry
    return args[0] if kind == "set_by_single_value" else None


#: The one instance (Brian2 keeps one per device kind, too).
device = NeurosimStandaloneDevice()
