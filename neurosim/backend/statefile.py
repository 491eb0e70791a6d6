"""State files: a network's whole state in one file, so that a loaded network continues exactly.

:func:`write` writes one ``.npz`` file (atomically: a crash never leaves half a file) holding

* the network description (JSON), so that loading needs nothing else;
* positions (µm), connectivity (``connections/<projection>/i``, ``.../j``) and distances (µm) as plain
  arrays, readable with ``numpy.load`` alone;
* the full internal state of every Brian2 object the network holds, as Brian2's own ``Network.store``
  collects it: every neuron variable (including the refractory bookkeeping ``lastspike`` and
  ``not_refractory``), every synaptic variable (``w``, every rule variable, ``lastupdate``, delays), the
  spikes still travelling along delayed pathways, and everything the monitors recorded so far;
* the simulated time and the random number generator's state (numpy's, plus the buffered random numbers
  of the cython target);
* the rewards scheduled for reward-modulated projections (the dopamine signal's events and the tables the
  generated code reads), so a reward sent before the save arrives after the load;
* ``extras``: any plain mapping the caller stores beside the network (nested dicts, lists, tuples, numbers,
  strings and numpy arrays), e.g. what a controller has learned; read back with :func:`read_extras`.

Loading (:meth:`StateFile.restore`, used by ``Simulation.load``) rebuilds the network from the stored
description with the stored connectivity (nothing is re-sampled) and then restores every variable;
continuing it gives the same spikes and weights, bit for bit, as never having stopped (on the same code
generation target). Recordings continue where they were: the loaded monitors already hold what was recorded.

Objects are matched by their place in the description (``group/E``, ``synapses/EE/pre`` for EE's
presynaptic pathway, ``monitor/spikes:E``), not by Brian2's names, so a file loads into a fresh process as
well as into one that still holds the original network. Unlike ``Network.store(filename=...)`` the file
is not a pickle (it is read with ``allow_pickle=False``; loading imports only the types the description
names). Limitations: ``cpp_standalone`` simulations cannot be saved or loaded (use ``cython``); a
description holding a user type (a custom rule, say) needs that type importable under the same import path
when loading; Brian2 objects added to ``sim.network`` by hand after ``build`` are saved, but loading then
refuses the file (the rebuilt network lacks them) with an error naming them.

Reading checks the file before anything is built: an empty, truncated or damaged file, one of another
program or of a newer neurosim raises :class:`StateFileError` naming the path and what is wrong.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brian2 as b2
import numpy as np

from ..io import atomic_write
from ..network import NetworkDescription
from ..validation import ParameterError
from .construct import Connections
from .objects import BuiltNetwork

FORMAT = "neurosim-state"
VERSION = 1
_META = "__meta__"
_RAND_BUFFER_SIZE = 20000  # brian2.codegen.generators.cython_generator._BUFFER_SIZE (checked at import)
_REQUIRED = ("t", "description", "states", "clocks", "random")  # metadata every state file holds


class StateFileError(ParameterError):
    """A file that is not a readable neurosim state file (empty, truncated, damaged, of another program or
    of a newer neurosim); the message names the path and what is wrong."""


def write(
    sim: BuiltNetwork,
    path: str | Path,
    *,
    compress: bool = False,
    extras: Mapping[str, Any] | None = None,
    dopamine: Mapping[str, Any] | None = None,
) -> Path:
    """Write the whole state of ``sim`` to ``path`` (an ``.npz`` file; ``compress`` trades time for size),
    with the dopamine signal's state and the caller's ``extras`` (see the module docstring)."""
    if sim.target == "cpp_standalone":
        raise RuntimeError(
            "a cpp_standalone simulation cannot be saved (its state lives in the compiled program); "
            "build with target='cython' or 'numpy' to save and continue"
        )
    if extras is not None and not (isinstance(extras, Mapping) and all(isinstance(k, str) for k in extras)):
        raise ParameterError(
            f"save: parameter 'extras' is {extras!r}; expected a mapping with string keys, e.g. "
            "{'controller': ctrl.state()}"
        )
    packer = _Packer()
    objects = _objects(sim)
    states, clocks = {}, {}
    for key, obj in objects.items():
        if hasattr(obj, "_full_state"):
            states[key] = packer.pack(obj._full_state(), f"state/{key}")
    for key, clock in _clocks(objects).items():
        clocks[key] = packer.pack(clock._full_state(), f"clock/{key}")
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "brian2": b2.__version__,
        "target": sim.target,
        "t": float(sim.network.t_),
        "description": sim.description.to_dict(),
        "states": states,
        "clocks": clocks,
        "random": packer.pack(_get_random_state(), "random"),
    }
    if dopamine is not None:
        meta["dopamine"] = packer.pack(dict(dopamine), "dopamine")
    if extras:
        meta["extras"] = {name: packer.pack(value, f"extras/{name}") for name, value in extras.items()}
    arrays = dict(packer.arrays)
    for name, pos in sim.positions.items():
        arrays[f"positions/{name}"] = np.asarray(pos, dtype=float)
    for name, syn in sim.synapses.items():
        arrays[f"connections/{name}/i"] = np.asarray(syn.i[:])
        arrays[f"connections/{name}/j"] = np.asarray(syn.j[:])
        arrays[f"distances/{name}"] = np.asarray(sim.distances[name], dtype=float)
    arrays[_META] = np.array(json.dumps(meta))
    writer = np.savez_compressed if compress else np.savez
    return atomic_write(path, lambda fh: writer(fh, **arrays), mode="wb")


def read_description(path: str | Path) -> NetworkDescription:
    """The network description stored in a state file (without building anything)."""
    _check_header(path)
    with _reading(path), np.load(Path(path), allow_pickle=False) as data:
        return NetworkDescription.from_dict(_read_meta(data, path)["description"])


def read_extras(path: str | Path) -> dict[str, Any]:
    """The ``extras`` stored beside the network in a state file (empty when none were stored)."""
    return StateFile.read(path).extras()


@dataclass(frozen=True)
class StateFile:
    """The content of a state file: its metadata (JSON) and its named arrays."""

    path: Path
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]

    @classmethod
    def read(cls, path: str | Path) -> StateFile:
        """Read and check the whole file (every array is read, so damage anywhere is found here)."""
        _check_header(path)
        with _reading(path), np.load(Path(path), allow_pickle=False) as data:
            meta = _read_meta(data, path)
            arrays = {name: data[name] for name in data.files if name != _META}
        missing = sorted(_references(meta) - set(arrays))
        if missing:
            raise StateFileError(f"state file '{path}' is incomplete: entries {missing[:5]} are missing")
        return cls(Path(path), meta, arrays)

    def description(self) -> NetworkDescription:
        with _reading(self.path):
            return NetworkDescription.from_dict(self.meta["description"])

    def connections(self, description: NetworkDescription) -> dict[str, Connections]:
        """The stored synapses ``(i, j, distances_um)`` of every projection of ``description``."""
        with _reading(self.path):
            return {
                proj.name: (
                    self.arrays[f"connections/{proj.name}/i"],
                    self.arrays[f"connections/{proj.name}/j"],
                    self.arrays[f"distances/{proj.name}"],
                )
                for proj in description.projections
            }

    def extras(self) -> dict[str, Any]:
        packed = dict(self.meta.get("extras", {}))
        if "controller" in self.meta:  # files that stored a controller's state beside the network
            packed.setdefault("controller", self.meta["controller"])
        return {name: _unpack(value, self.arrays) for name, value in packed.items()}

    def dopamine(self) -> dict[str, Any] | None:
        """The stored state of the dopamine signal (None when the file holds none)."""
        return _unpack(self.meta["dopamine"], self.arrays) if "dopamine" in self.meta else None

    def restore(self, sim: BuiltNetwork) -> None:
        """Restore the object states, clocks, time and random state into ``sim`` (rebuilt from
        :meth:`description` with :meth:`connections`)."""
        meta, arrays = self.meta, self.arrays
        objects = _objects(sim)
        have = {key for key, obj in objects.items() if hasattr(obj, "_full_state")}
        states: dict[str, Any] = {}
        for key, value in meta["states"].items():
            states.setdefault(key if key in have else _current_key(key, sim), value)
        stored = set(states)
        if have != stored:
            raise StateFileError(
                f"state file '{self.path}' does not match the network rebuilt from it: "
                f"missing from the file {sorted(have - stored)}, not in the network {sorted(stored - have)}"
            )
        sim.network.t_ = meta["t"]
        for key in sorted(stored):
            objects[key]._restore_from_full_state(_unpack(states[key], arrays))
        clocks = _clocks(objects)
        for key, state in meta["clocks"].items():
            key = key if key in clocks else _current_key(key, sim)
            if key in clocks:
                clocks[key]._restore_from_full_state(_unpack(state, arrays))
        _set_random_state(_unpack(meta["random"], arrays))

    def restore_layout(self, sim: BuiltNetwork) -> None:
        """Put back the stored positions and distances (exactly the saved arrays)."""
        for name in sim.positions:
            sim.positions[name] = self.arrays[f"positions/{name}"]
        for name in sim.distances:
            sim.distances[name] = self.arrays[f"distances/{name}"]


# -- which objects ------------------------------------------------------------------------------------


def _objects(sim: BuiltNetwork) -> dict[str, Any]:
    """Every Brian2 object of ``sim`` under a key fixed by the description (not by Brian2's names)."""
    top: dict[str, Any] = {}
    top.update({f"group/{name}": g for name, g in sim.groups.items()})
    top.update({f"synapses/{name}": s for name, s in sim.synapses.items()})
    top.update({f"monitor/{key}": m for key, m in sim.monitors.items()})
    known = {id(o) for o in top.values()}
    counts: dict[str, int] = {}
    # Inputs and anything else added to the network, in creation order: Brian2 numbers automatic names
    # (poissoninput, poissoninput_1, ...) upwards, so the numeric suffix orders objects of one kind.
    for obj in sorted(
        (o for o in sim.network.objects if id(o) not in known), key=lambda o: _name_key(o.name)
    ):
        base = _name_key(obj.name)[0]
        top[f"other/{base}/{counts.get(base, 0)}"] = obj
        counts[base] = counts.get(base, 0) + 1
    top_ids = {id(o) for o in top.values()}
    out: dict[str, Any] = {}
    for key, obj in top.items():
        out[key] = obj
        for suffix, child in _contained(obj, obj.name, top_ids):
            out[f"{key}/{suffix}"] = child
    return out


def _current_key(key: str, sim: BuiltNetwork) -> str:
    """``key`` from a file of an earlier neurosim in today's terms. Brian2 lists a Synapses with
    ``run_regularly`` among its source group's contained objects; such files also stored it there, under
    its Brian2 name (``group/inp/ff_1/...``, which varies between builds), besides ``synapses/ff/...``."""
    parts = key.split("/")
    if len(parts) >= 3 and parts[0] == "group":
        for name in sim.synapses:
            if re.fullmatch(rf"{re.escape(name)}(_\d+)?", parts[2]):
                return "/".join(["synapses", name, *parts[3:]])
    return key


def _name_key(name: str) -> tuple[str, int]:
    match = re.fullmatch(r"(.*?)(?:_(\d+))?", name)
    assert match is not None
    return match.group(1), int(match.group(2) or 0)


def _contained(obj: Any, owner: str, top: set[int]) -> Iterator[tuple[str, Any]]:
    """``obj``'s contained objects (recursively) under names relative to it, skipping objects that are
    themselves in ``top`` (ids of objects keyed by the description: their name may vary between builds)."""
    for child in getattr(obj, "contained_objects", []):
        if id(child) in top:
            continue
        name = child.name
        suffix = name[len(owner) + 1 :] if name.startswith(owner + "_") else name
        yield suffix, child
        yield from ((f"{suffix}/{s}", c) for s, c in _contained(child, child.name, top))


def _clocks(objects: dict[str, Any]) -> dict[str, Any]:
    """Each distinct clock, under the key of the first object that runs on it."""
    out: dict[str, Any] = {}
    seen: set[int] = set()
    for key in sorted(objects):
        clock = getattr(objects[key], "clock", None)
        if clock is not None and id(clock) not in seen:
            seen.add(id(clock))
            out[key] = clock
    return out


def _read_meta(data: Any, path: str | Path) -> dict[str, Any]:
    if _META not in data.files:
        raise StateFileError(f"'{path}' is not a neurosim state file (no {_META} entry)")
    meta = json.loads(str(data[_META]))
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise StateFileError(f"'{path}' is not a neurosim state file (format {found!r}, not {FORMAT!r})")
    version = meta.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise StateFileError(
            f"state file '{path}' has version {version!r}; this neurosim reads versions up to {VERSION}"
        )
    missing = [key for key in _REQUIRED if key not in meta]
    if missing:
        raise StateFileError(f"state file '{path}' is incomplete: its metadata lacks {missing}")
    return meta


def _check_header(path: str | Path) -> None:
    """Refuse files that are not zip archives (what ``.npz`` files are) before numpy guesses at them."""
    with open(path, "rb") as fh:
        head = fh.read(6)
    if not head:
        raise StateFileError(f"state file '{path}' is empty")
    if head.startswith(b"\x93NUMPY"):
        raise StateFileError(f"'{path}' is not a neurosim state file: it holds a single numpy array")
    if not head.startswith(b"PK"):
        raise StateFileError(f"'{path}' is not a neurosim state file: it is not an .npz (zip) archive")


def _references(value: Any) -> set[str]:
    """The names of the arrays that packed metadata refers to."""
    if isinstance(value, dict):
        if isinstance(value.get("__array__"), str):
            return {value["__array__"]}
        if isinstance(value.get("__ragged__"), str):
            return {value["__ragged__"] + "/data", value["__ragged__"] + "/lengths"}
        return set().union(*(_references(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value))
    return set()


@contextlib.contextmanager
def _reading(path: str | Path) -> Iterator[None]:
    """Turn what numpy, zipfile and json raise on a damaged file into a :class:`StateFileError`."""
    try:
        yield
    except StateFileError:
        raise
    except EOFError:
        raise StateFileError(f"state file '{path}' is empty or cut short") from None
    except (zipfile.BadZipFile, zlib.error, NotImplementedError) as err:  # zipfile: unknown compression
        raise StateFileError(
            f"state file '{path}' is truncated, damaged or not an .npz archive ({err})"
        ) from None
    except (ValueError, KeyError, TypeError) as err:
        raise StateFileError(
            f"'{path}' is not a readable neurosim state file ({type(err).__name__}: {err})"
        ) from None


# -- random state -------------------------------------------------------------------------------------


def _get_random_state() -> dict[str, Any]:
    """numpy's global generator (used by the numpy target) and the cython target's buffered numbers."""
    device = b2.get_device()
    out: dict[str, Any] = {"numpy": np.random.get_state()}
    for kind in ("rand", "randn"):
        index = int(getattr(device, f"{kind}_buffer_index")[0])
        pointer = int(getattr(device, f"{kind}_buffer")[0])
        values = None
        if pointer and index:  # buffered numbers still to be used: copy them out of the C buffer
            values = np.ctypeslib.as_array((ctypes.c_double * _RAND_BUFFER_SIZE).from_address(pointer)).copy()
        out[kind] = {"index": index, "values": values}
    return out


def _set_random_state(state: dict[str, Any]) -> None:
    np.random.set_state(state["numpy"])
    device = b2.get_device()
    for kind in ("rand", "randn"):
        index_array = getattr(device, f"{kind}_buffer_index")
        pointer_array = getattr(device, f"{kind}_buffer")
        values = state[kind]["values"]
        if values is None:
            index_array[0] = 0  # the cython code refills the buffer from numpy at its next use
            continue
        # Brian2's cython code frees the buffer with free() when it refills it: allocate with malloc.
        libc = _libc()
        libc.malloc.restype = ctypes.c_void_p
        new = libc.malloc(ctypes.c_size_t(_RAND_BUFFER_SIZE * 8))
        if not new:
            raise MemoryError("cannot allocate the random number buffer")
        ctypes.memmove(new, np.ascontiguousarray(values, dtype=np.float64).ctypes.data, _RAND_BUFFER_SIZE * 8)
        old = int(pointer_array[0])
        pointer_array[0] = new
        index_array[0] = int(state[kind]["index"])
        if old:
            libc.free(ctypes.c_void_p(old))


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"))


def _check_buffer_size() -> None:
    try:
        from brian2.codegen.generators import cython_generator
    except ImportError:  # pragma: no cover - part of every brian2 install
        return
    size = getattr(cython_generator, "_BUFFER_SIZE", _RAND_BUFFER_SIZE)
    if size != _RAND_BUFFER_SIZE:  # pragma: no cover - guards a future brian2 change
        raise ImportError(
            f"neurosim.backend.statefile expects Brian2's random buffer of {_RAND_BUFFER_SIZE}, found {size}"
        )


_check_buffer_size()


# -- plain-data encoding of Brian2's state --------------------------------------------------------------


class _Packer:
    """Turns nested state (dicts, tuples, lists, arrays, numbers) into JSON plus named arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def pack(self, value: Any, path: str) -> Any:
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                raise TypeError(f"cannot save an object array at {path}")
            self.arrays[path] = value
            return {"__array__": path}
        if isinstance(value, np.generic):
            return value.item()
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, dict):
            return {"__dict__": {str(k): self.pack(v, f"{path}/{k}") for k, v in value.items()}}
        if isinstance(value, tuple):
            return {"__tuple__": [self.pack(v, f"{path}/{k}") for k, v in enumerate(value)]}
        if isinstance(value, list):
            if value and all(isinstance(x, list) for x in value):  # a spike queue: one list per time slot
                lengths = np.array([len(x) for x in value], dtype=np.int64)
                flat = np.array([y for x in value for y in x], dtype=np.int64)
                self.arrays[f"{path}/data"], self.arrays[f"{path}/lengths"] = flat, lengths
                return {"__ragged__": path}
            return {"__list__": [self.pack(v, f"{path}/{k}") for k, v in enumerate(value)]}
        raise TypeError(f"cannot save a {type(value).__name__} at {path}")


def _unpack(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, dict):
        if "__array__" in value:
            return arrays[value["__array__"]].copy()
        if "__dict__" in value:
            return {k: _unpack(v, arrays) for k, v in value["__dict__"].items()}
        if "__tuple__" in value:
            return tuple(_unpack(v, arrays) for v in value["__tuple__"])
        if "__list__" in value:
            return [_unpack(v, arrays) for v in value["__list__"]]
        if "__ragged__" in value:
            flat, lengths = arrays[value["__ragged__"] + "/data"], arrays[value["__ragged__"] + "/lengths"]
            bounds = np.concatenate([[0], np.cumsum(lengths)])
            return [flat[a:b].tolist() for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return value


__all__ = ["FORMAT", "VERSION", "StateFile", "StateFileError", "read_description", "read_extras", "write"]
