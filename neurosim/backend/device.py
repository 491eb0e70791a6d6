"""Code generation targets and Brian2's device: which one runs a network, and the cpp_standalone project.

Targets (``target=``): ``"cython"`` (default when a C compiler works: compiled once per model and cached in
``~/.cython``, later runs of the same model reuse the cache), ``"numpy"`` (no compiler, no compile wait: best
for small, short runs and the test suite) or ``"cpp_standalone"`` (the whole network compiled to C++, fastest
for large runs, one ``run`` per build). The environment variable ``NEUROSIM_TARGET`` overrides the default.

cpp_standalone builds go to a project folder that is reused (default one folder per network structure under
``$NEUROSIM_CACHE`` or ``~/.cache/neurosim/cpp_standalone``): Brian2 rewrites only files whose content
changed and ``make`` recompiles only those, so rebuilding the same network costs no compilation and another
size or seed recompiles a few files. A lock lets one process at a time build in a folder; results go to
``results_<pid>``. ``threads`` (or ``$NEUROSIM_THREADS``) sets OpenMP threads. The device is
:mod:`neurosim.backend.standalone`'s: Brian2's, with a faster spike queue and thresholder (same results).

A compile with a cold cache takes minutes, so it is announced: one INFO line on the logger
``neurosim.backend.device`` when a network's code is compiled rather than found (a cython module missing from
the cache, which is exactly when Brian2 compiles one; a standalone project without its binary), none when the
cache holds it.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import brian2 as b2

from ..network import NetworkDescription
from ..validation import check_choice
from . import standalone

TARGETS = ("numpy", "cython", "cpp_standalone")

b2.BrianLogger.suppress_name("resolution_conflict")
b2.BrianLogger.suppress_name("unused_brian_object")
logging.getLogger("brian2").setLevel(logging.WARNING)
log = logging.getLogger(__name__)

#: Added to Brian2's C++ flags. Generated loops touch many arrays (a neuron update: ~7); GCC vectorises such a
#: loop only after run-time alias checks, and by default gives up beyond 10 of them, so the state update of a
#: LIF population ran scalar. With a higher limit it vectorises (AVX2: ~4 doubles per instruction).
ALIAS_CHECKS_FLAG = "--param=vect-max-version-for-alias-checks=64"


@lru_cache(maxsize=1)
def _compiler_works() -> bool:
    try:
        from brian2.codegen.cpp_prefs import get_compiler_and_args
        from setuptools._distutils.ccompiler import new_compiler  # noqa: F401

        get_compiler_and_args()
        return shutil.which(os.environ.get("CC", "cc")) is not None or shutil.which("gcc") is not None
    except Exception:  # noqa: BLE001
        return False


def default_target() -> str:
    """``$NEUROSIM_TARGET`` if set, else ``"cython"`` when a C compiler works, else ``"numpy"``."""
    env = os.environ.get("NEUROSIM_TARGET")
    if env:
        return check_choice("NEUROSIM_TARGET", "NEUROSIM_TARGET", env, TARGETS)
    return "cython" if _compiler_works() else "numpy"


def prepare_device(target: str, directory: str | Path | None, threads: int | None = None) -> None:
    """Select Brian2's device and code generation target for a new network (forgetting older ones)."""
    global _announced
    flags = b2.prefs.codegen.cpp.extra_compile_args_gcc
    if ALIAS_CHECKS_FLAG not in flags:
        b2.prefs.codegen.cpp.extra_compile_args_gcc = [*flags, ALIAS_CHECKS_FLAG]
    if target == "cpp_standalone":
        # Brian2's cpp_standalone device with neurosim's spike queue and thresholder (backend.standalone)
        b2.set_device(standalone.device, directory=str(directory) if directory else None, build_on_run=False)
        b2.device.reinit()  # forget any network built before in this process
        _free_names()
        b2.device.activate(directory=str(directory) if directory else None, build_on_run=False)
        if threads is None:
            threads = int(os.environ.get("NEUROSIM_THREADS") or 1)
        b2.prefs.devices.cpp_standalone.openmp_threads = int(threads) if threads > 1 else 0  # 1: no OpenMP
    else:
        if b2.get_device().__class__.__name__ != "RuntimeDevice":
            b2.device.reinit()
            b2.set_device("runtime")
        _free_names()
        b2.prefs.codegen.target = target
        if target == "cython":
            _watch_cython_cache()
    _announced = False  # a new network: its first compile is announced again


#: Whether this network's compile has been announced (one line per network, not one per code object).
_announced = False


def _announce_compile(target: str, where: str | Path) -> None:
    """Log, once per network, that its code is being compiled (not found in the cache) and why it is slow."""
    global _announced
    if _announced:
        return
    _announced = True
    from brian2 import NeuronGroup

    names = sorted({g.name for r in list(NeuronGroup.__instances__()) if (g := r()) is not None})
    model = (
        f"the network of {', '.join(names[:6])}{', ...' if len(names) > 6 else ''}" if names else "a network"
    )
    log.info("compiling %s for %s (first time; cached afterwards in %s)", model, target, where)


def _watch_cython_cache() -> None:
    """Announce cython compiles: wrap the loader of Brian2's extension manager, which compiles a code object's
    module exactly when its file is not in the cache (it loads the file otherwise)."""
    from brian2.codegen.runtime.cython_rt.extension_manager import cython_extension_manager as manager

    load = manager._load_module
    if getattr(load, "announces_compiles", False):
        return

    def load_module(module_path: str, *args: object, **kwargs: object) -> object:
        if not os.path.isfile(module_path):
            _announce_compile("cython", os.path.dirname(module_path))
        return load(module_path, *args, **kwargs)

    load_module.announces_compiles = True  # type: ignore[attr-defined]
    manager._load_module = load_module


def _free_names() -> None:
    """Free the Brian2 objects of networks no longer referenced (they live on in reference cycles). The
    groups and synapses are named inside :func:`names_of_its_own`, but Brian2 makes and names their code
    objects only when the network first runs, and a code object whose name a live one holds gets another
    ("I_spike_thresholder_codeobject_1"): in cpp_standalone that is another source file, compiled anew
    beside the old one in a reused folder. (A full collection takes ~0.2 s once sympy is loaded: skipped
    while no Brian2 object exists.)"""
    from brian2.core.base import BrianObject

    if len(BrianObject.__instances__()):
        gc.collect()


@contextmanager
def names_of_its_own() -> Iterator[None]:
    """Brian2 objects made inside get the names they would get alone ("E", not "E_1"), even while another
    network with those names lives (a trained network beside its replica, the previous unit of a worker):
    names are part of the generated code, so a network named as if alone reuses the compiled code of every
    network of the same model. Brian2 asks for names to be unique within a network only."""
    from brian2.core import names

    before = {id(obj): ref for ref in list(names.Nameable.__instances__()) if (obj := ref()) is not None}
    find_name = names.find_name

    def made_inside(obj: object) -> bool:
        ref = before.get(id(obj))
        return ref is None or ref() is not obj

    def own_find_name(name: str, taken: object = None) -> str:
        if taken is None:
            live = (ref() for ref in list(names.Nameable.__instances__()))
            taken = {o.name for o in live if o is not None and made_inside(o) and hasattr(o, "name")}
        return find_name(name, taken)

    names.find_name = own_find_name
    try:
        yield
    finally:
        names.find_name = find_name


def standalone_directory(d: NetworkDescription) -> Path:
    """The default cpp_standalone build folder: one per network *structure* (names, models, rules), so a
    network rebuilt with other sizes, seeds or parameter values recompiles only the files that changed."""
    structure = [
        [(p.name, type(p.model).__name__, p.model.synapse) for p in d.populations],
        [(p.name, p.source, p.target, [r.to_dict()["type"] for r in p.rules]) for p in d.projections],
        [(i.name, i.target) for i in d.inputs],
        [r.to_dict() for r in d.recordings],
    ]
    key = f"{zlib.crc32(json.dumps(structure, sort_keys=True, default=str).encode()):08x}"
    root = Path(os.environ.get("NEUROSIM_CACHE") or Path.home() / ".cache" / "neurosim") / "cpp_standalone"
    return root / key


def build_standalone(directory: Path) -> None:
    """Compile (only what changed) and run the standalone project in ``directory``, one process at a time.

    Results go to a folder of this process (``results_<pid>``), so concurrent runs of the same project do not
    overwrite each other's results; folders of finished processes are removed."""
    from filelock import FileLock

    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("results_*"):
        pid = old.name.removeprefix("results_")
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    device = b2.get_device()
    with FileLock(str(directory / ".neurosim.lock")):
        if not (directory / "main").is_file():  # no binary yet: everything compiles
            _announce_compile("cpp_standalone", directory)
        device.build(
            directory=str(directory),
            results_directory=f"results_{os.getpid()}",
            compile=True,
            run=True,
            clean=False,
            with_output=False,
        )


def project_directory() -> Path:
    """The project folder of the active cpp_standalone device."""
    return Path(b2.device.project_dir or ".")


__all__ = [
    "ALIAS_CHECKS_FLAG",
    "TARGETS",
    "build_standalone",
    "default_target",
    "prepare_device",
    "project_directory",
    "standalone_directory",
]
