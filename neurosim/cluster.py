"""Independent units of work, run here, on a local process pool or on a Dask cluster, each result stored as
it arrives.

A :class:`Unit` is one picklable call (a sweep point; a task × seed of the comparison) whose result depends
only on its arguments. :func:`map_units` runs a list of them and returns their results in order. Each result
is written atomically into a store folder (``KEY.pkl``, one file per unit) the moment it arrives, and a unit
whose file is already there is read back, never run again; so an interrupted client or a unit that failed
loses only the units still running, and a rerun (``--resume``) submits only the missing ones.

Where units run:

* ``processes <= 1``: one after another in this process;
* ``processes > 1``: a local process pool (``spawn`` for sweeps, whose points reload their experiment;
  ``fork`` for an experiment's own functions, which live in a script a fresh process cannot import);
* ``client``: a ``dask.distributed.Client`` connected by :func:`connection` (``--scheduler ADDRESS``). Only
  this process writes the store, so workers need neurosim but no shared file system (a sweep's points
  write their own results directories, which do need one). A worker lost mid-unit is Dask's to handle: the
  scheduler runs the unit again elsewhere; with a unit's own folder resumable (a sweep point), the retry
  continues from its checkpoint.

Every unit derives its randomness from its arguments, so where it ran does not change its result: a pool,
a cluster and a serial run give identical results for the same seed. Dask is imported only when a
scheduler is given, and connecting is checked first (a plain TCP connect, then the client, within
:data:`CONNECT_TIMEOUT_S`) so that a wrong address fails at once with an error naming it.

On a worker, functions of modules that no import finder can find by name (experiment scripts, loaded from
their files) travel by value (cloudpickle), the rest by reference. Units in one worker process run one at a
time, and Brian2 is imported in the worker's main thread first: Brian2 keeps global state, and its import
installs a SIGINT handler, which Python allows only in a process's main thread. Start workers with one
thread each (``dask worker ADDRESS --nthreads 1 --nworkers N``).

Progress: a unit reports its progress by trial with :func:`progress` wherever it runs; this process shows
it (:mod:`neurosim.progress`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import pickle
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from .configs import ExperimentError
from .io import atomic_write
from .progress import Monitor, relay, reported, reporting, send_to
from .progress import progress as progress  # what a unit calls, wherever it runs
from .progress import reporter as reporter

#: Seconds to wait for a Dask scheduler to answer before giving up.
CONNECT_TIMEOUT_S = 10.0

#: Modules imported on every worker in its main thread before any unit runs (see the module docstring).
WORKER_PRELOAD = ("brian2",)

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Unit:
    """One call ``fn(*args)``, stored under ``key`` (a file name: letters, digits, ``.``, ``_``, ``-``)."""

    key: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not _KEY.fullmatch(self.key):
            raise ExperimentError(
                f"unit key {self.key!r} is not a file name; use letters, digits, '.', '_' and '-'"
            )


class UnitStore:
    """A folder of finished units' results, one pickle per key, each written atomically."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.pkl"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def load(self, key: str) -> Any:
        path = self.path(key)
        try:
            return pickle.loads(path.read_bytes())
        except Exception as err:  # noqa: BLE001 - unpickling damaged bytes can raise almost anything
            raise ExperimentError(
                f"unit result '{path}' cannot be read ({type(err).__name__}: {err}); delete it to run that "
                "unit again"
            ) from None

    def save(self, key: str, value: Any) -> None:
        atomic_write(self.path(key), lambda fh: pickle.dump(value, fh), mode="wb")


def map_units(
    units: Sequence[Unit],
    store: UnitStore | str | Path,
    *,
    processes: int = 1,
    start_method: str = "spawn",
    client: Any = None,
    after_each: Callable[[], None] | None = None,
    desc: str = "units",
    log: logging.Logger | None = None,
) -> list[Any]:
    """Results of ``units`` in order: stored ones read back, the others run (see the module docstring) and
    stored as each finishes; ``after_each()`` runs after every stored result (a place to stop)."""
    from tqdm.auto import tqdm

    store = store if isinstance(store, UnitStore) else UnitStore(store)
    keys = [u.key for u in units]
    if len(set(keys)) != len(keys):
        raise ExperimentError(
            f"unit keys must be unique; repeated: {sorted({k for k in keys if keys.count(k) > 1})}"
        )
    results = {u.key: store.load(u.key) for u in units if store.has(u.key)}
    pending = [u for u in units if u.key not in results]
    where = (
        "on a Dask cluster"
        if client is not None
        else f"in {processes} processes"
        if processes > 1 and len(pending) > 1
        else "in this process"
    )
    (log or logging.getLogger(__name__)).info(
        "%s: %d of %d units stored; running %d %s", desc, len(results), len(units), len(pending), where
    )
    with (
        tqdm(total=len(units), initial=len(results), desc=desc, leave=False, disable=None) as bar,
        contextlib.closing(Monitor(log or logging.getLogger(__name__))) as monitor,
        contextlib.closing(_run(pending, processes, start_method, client, store, monitor)) as finished,
    ):
        for key, value in finished:
            store.save(key, value)
            results[key] = value
            monitor.finished(key)
            bar.update(1)
            if after_each is not None:
                after_each()
    return [results[k] for k in keys]


def _run(
    pending: list[Unit], processes: int, start_method: str, client: Any, store: UnitStore, monitor: Monitor
) -> Iterator[tuple[str, Any]]:
    """(key, result) of every pending unit as it finishes, reports going to ``monitor``; pending work is
    cancelled if the caller stops."""
    if not pending:
        return
    if client is not None:
        yield from _on_cluster(client, pending, store, monitor)
    elif processes <= 1 or len(pending) == 1:
        for unit in pending:
            with reporting(monitor, unit.key):
                value = unit.fn(*unit.args)
            yield unit.key, value
    else:
        context = get_context(start_method)
        reports = context.SimpleQueue()  # put() writes at once: a unit's reports precede its result
        pool = ProcessPoolExecutor(
            min(processes, len(pending)), mp_context=context, initializer=send_to, initargs=(reports,)
        )
        try:
            futures = {pool.submit(reported, u.key, u.fn, *u.args): u.key for u in pending}
            with relay(reports, monitor):
                for future in as_completed(futures):
                    yield futures[future], future.result()
        except BaseException:  # a failed unit, Ctrl-C or the caller stopping: end the units still running
            for process in list((pool._processes or {}).values()):  # (no public way before Python 3.14)
                process.terminate()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            reports.close()


def _on_cluster(
    client: Any, pending: list[Unit], store: UnitStore, monitor: Monitor
) -> Iterator[tuple[str, Any]]:
    """Submit every pending unit to the cluster and yield results as they complete.

    A unit's task key is its key plus a digest of where its result goes: one unit, one task key, so a
    rerun's submission joins the unit if it still runs for a client that was lost, and units of two results
    folders never share a key. Reports come as events of a topic named after the results folder too, so a
    rerun that joins a unit shows its progress.
    """
    from dask.distributed import as_completed as completed

    where = str(store.folder.resolve())
    task_keys = {
        f"{u.key}-{hashlib.sha256(f'{where}/{u.key}'.encode()).hexdigest()[:12]}": u for u in pending
    }
    topic = f"neurosim-progress-{hashlib.sha256(where.encode()).hexdigest()[:12]}"
    client.subscribe_topic(topic, lambda event: monitor(tuple(event[1])))
    payloads = [_payload(u) for u in task_keys.values()]
    units = [u.key for u in task_keys.values()]
    futures = client.map(_call, payloads, units, topic=topic, key=list(task_keys))
    try:
        for future, value in completed(futures, loop=client.loop, with_results=True):
            yield task_keys[future.key].key, value
    finally:
        client.cancel(futures)
        client.unsubscribe_topic(topic)


def _payload(unit: Unit) -> bytes:
    """``(fn, args)`` pickled for a worker, modules a worker cannot import by name travelling by value."""
    import cloudpickle

    by_value = [m for m in _modules_of(unit) if not _importable(m.__name__)]
    for module in by_value:
        cloudpickle.register_pickle_by_value(module)
    try:
        return cloudpickle.dumps((unit.fn, unit.args))
    finally:
        for module in by_value:
            cloudpickle.unregister_pickle_by_value(module)


def _modules_of(unit: Unit) -> list[Any]:
    """The modules that define the unit's function and its arguments' types."""
    names = {getattr(unit.fn, "__module__", None), *(type(a).__module__ for a in unit.args)}
    return [sys.modules[n] for n in sorted(n for n in names if n in sys.modules and n != "__main__")]


def _importable(name: str) -> bool:
    """Whether a fresh process finds module ``name`` by its top-level package (scripts loaded from a
    file under a made-up name are not)."""
    top = name.partition(".")[0]
    return any(f.find_spec(top, None) for f in sys.meta_path if hasattr(f, "find_spec"))


_ONE_AT_A_TIME = threading.Lock()


def _call(payload: bytes, key: str, *, topic: str) -> Any:
    """Run unit ``key`` on a worker (one at a time per process: Brian2 keeps global state), its reports
    sent as events of ``topic``."""
    from distributed import get_worker

    fn, args = pickle.loads(payload)
    worker = get_worker()
    with _ONE_AT_A_TIME, reporting(lambda report: worker.log_event(topic, list(report)), key):
        return fn(*args)


@contextlib.contextmanager
def connection(address: str | None, *, timeout_s: float | None = None) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for ``address`` while the block runs (None without an address);
    :class:`~neurosim.configs.ExperimentError` naming the address if there is no scheduler there."""
    if address is None:
        yield None
        return
    client = connect(address, timeout_s=timeout_s)
    try:
        yield client
    finally:
        client.close()


def connect(address: str, *, timeout_s: float | None = None) -> Any:
    """Connect to the Dask scheduler at ``address`` (``tcp://HOST:PORT`` or ``HOST:PORT``) or fail at once."""
    timeout = CONNECT_TIMEOUT_S if timeout_s is None else timeout_s
    if not isinstance(address, str) or not address.strip():
        raise ExperimentError(
            f"--scheduler expects a Dask scheduler address such as tcp://HOST:8786, got {address!r}"
        )
    try:
        from dask.distributed import Client
        from distributed.comm.addressing import parse_address, parse_host_port
        from distributed.comm.registry import get_backend
    except ImportError:
        raise ExperimentError(
            "--scheduler needs Dask's distributed scheduler: pip install 'neurosim[cluster]'"
        ) from None
    check = (
        "; check that a Dask scheduler runs there (`dask scheduler` prints its address) and that this "
        "machine can reach its host and port"
    )
    try:
        scheme, location = parse_address(address)
        get_backend(scheme)  # an unknown scheme raises ValueError
        if scheme == "tcp":
            with socket.create_connection(parse_host_port(location), timeout=timeout):
                pass
    except (OSError, ValueError, TypeError) as err:
        raise ExperimentError(f"--scheduler '{address}': cannot connect ({_describe(err)}){check}") from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except Exception as err:  # noqa: BLE001 - the client raises OSError, TimeoutError, ValueError ...
        raise ExperimentError(
            f"--scheduler '{address}': no Dask scheduler answered within {timeout:g} s "
            f"({_describe(err)}){check}"
        ) from None
    client.register_plugin(_preload_plugin())
    return client


def _preload_plugin() -> Any:
    """A worker plugin that imports :data:`WORKER_PRELOAD` in each worker's main thread (also in workers
    that join or restart later)."""
    from distributed import WorkerPlugin

    class MainThreadImports(WorkerPlugin):
        name = "neurosim-main-thread-imports"

        def setup(self, worker: Any) -> None:
            for module in WORKER_PRELOAD:
                importlib.import_module(module)

    return MainThreadImports()


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
