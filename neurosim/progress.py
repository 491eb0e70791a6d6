"""Progress of units by trial, from wherever they run, shown in the process that runs them.

A unit (:mod:`neurosim.cluster`) calls :func:`progress` with a label, the steps done, the total and the
estimated seconds left; :func:`reporter` adapts a spiking learner's ``progress=`` callback. neurosim's log
records (INFO and up, such as the notice that a network compiles, :mod:`neurosim.backend.device`) travel
the same way. Where nobody listens (outside :func:`~neurosim.cluster.map_units` and an experiment's run)
a report costs one comparison; where someone does, a label's reports are thinned to one every
:data:`PROGRESS_EVERY_S` (the first and the last always go), so a unit that reports every trial does not
slow down.

How reports travel: in the same process, straight to the :class:`Monitor`; from a process pool's worker,
through a pipe (a ``SimpleQueue``, written at once, so a unit's reports precede its result and arrive in
order) read by a thread of this process (:func:`relay`); from a Dask worker, as events of a topic
(``Worker.log_event``, ``Client.subscribe_topic``) relayed by the scheduler, which arrive in batches and
are not kept for a client that was gone.

The :class:`Monitor` shows a bar per running label on a terminal (tqdm, ``leave=False``, like the bar of
units), writes a line per label to the run's log at most every :data:`LOG_EVERY_S` and when it completes
(``associative_recall-seed0 snn train 120/400 eta 35 s``), on stderr too where there are no bars, and
passes log records on to the run's log and stderr, naming the unit.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

#: A unit sends a label's progress at most this often (seconds); its first and last reports always go.
PROGRESS_EVERY_S = 0.5

#: A running label's progress is written to the log at most this often (seconds), and when it completes.
LOG_EVERY_S = 30.0

#: A label's bar: the unit's own estimate of the time left, not tqdm's (which sees only thinned reports).
BAR = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"

Report = tuple[Any, ...]  # ("progress", unit, label, done, total, eta_s) or ("log", unit, level, message)

_sink: Callable[[Report], None] | None = None  # where this process's reports go; None: nobody listens
_unit = ""  # the key of the unit running in this process
_sent: dict[str, float] = {}  # when each label's progress was last sent
_queue: Any = None  # a pool worker's pipe to the parent (see send_to)


def progress(label: str, done: int, total: int, eta_s: float | None = None) -> None:
    """Report that the unit running here has done ``done`` of ``total`` steps of ``label`` (such as
    ``"snn train"``), about ``eta_s`` seconds being left (module docstring)."""
    if _sink is None:
        return
    now = time.monotonic()
    if 0 < done < total and now - _sent.get(label, -PROGRESS_EVERY_S) < PROGRESS_EVERY_S:
        return
    _sent[label] = now
    _sink(("progress", _unit, str(label), int(done), int(total), None if eta_s is None else float(eta_s)))


def reporter(prefix: str) -> Callable[[str, int, int, float], None]:
    """A ``progress(phase, done, total, eta_s)`` callback, as a spiking learner's ``progress=`` takes, that
    reports under the label ``"PREFIX PHASE"`` (``reporter("snn")``: ``"snn train"``, ``"snn test"``)."""
    return lambda phase, done, total, eta_s: progress(f"{prefix} {phase}", done, total, eta_s)


class _Forward(logging.Handler):
    """Sends neurosim's log records to whoever listens, as reports of the running unit."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if _sink is not None:
                _sink(("log", _unit, record.levelno, record.getMessage()))
        except Exception:  # noqa: BLE001 - logging must never fail the unit
            self.handleError(record)


_FORWARD = _Forward(logging.INFO)


@contextlib.contextmanager
def reporting(sink: Callable[[Report], None], key: str) -> Iterator[None]:
    """While unit ``key`` runs here, its reports and neurosim's log records (INFO and up) go to ``sink``."""
    global _sink, _unit
    previous, logger = (_sink, _unit), logging.getLogger("neurosim")
    level, added = logger.level, _FORWARD not in logger.handlers  # (a unit in a run: added once)
    _sink, _unit = sink, key
    _sent.clear()
    if added:
        logger.addHandler(_FORWARD)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        if added:
            logger.removeHandler(_FORWARD)
        logger.setLevel(level)
        _sink, _unit = previous


def send_to(queue: Any) -> None:
    """A pool worker's initializer: its units' reports go to ``queue``, which the parent relays (not to
    where the parent's went when it forked)."""
    global _queue, _sink, _unit
    _queue, _sink, _unit = queue, None, ""


def reported(key: str, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, unit ``key`` run in a pool worker, its reports sent to the parent."""
    with reporting(_queue.put, key):
        return fn(*args)


@contextlib.contextmanager
def relay(queue: Any, monitor: Monitor) -> Iterator[None]:
    """Hand the reports arriving on ``queue`` to ``monitor`` from a thread while the block runs, and those
    that arrived before it ends."""
    stop = threading.Event()

    def read() -> None:
        while not (stop.is_set() and queue.empty()):
            if queue.empty():
                stop.wait(0.05)
            else:
                monitor(queue.get())

    thread = threading.Thread(target=read, name="neurosim-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=1.0)  # a worker killed while writing leaves a message the reader waits for


class Monitor:
    """Shows the reports of running units (module docstring) and logs them to ``log``. Reports arrive from
    other threads (the pipe's reader, Dask's event loop), hence the lock; a faulty one is logged there. The
    records it logs itself are not shown again (a unit running in this process forwards neurosim's)."""

    def __init__(self, log: logging.Logger) -> None:
        from tqdm.auto import tqdm

        self.log, self.tqdm, self.lock, self.busy = log, tqdm, threading.RLock(), False
        self.terminal = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()  # where tqdm shows bars
        self.bars: dict[str, Any] = {}
        self.logged: dict[str, float] = {}
        self.done: set[str] = set()

    def __call__(self, report: Report) -> None:
        with self.lock:
            if self.busy:  # a record this monitor logs, forwarded back to it
                return
            self.busy = True
            try:
                if report[0] == "log":
                    self._record(*report[1:])
                else:
                    self._progress(*report[1:])
            except Exception:  # noqa: BLE001 - a bad report must not stop the reader
                self.log.exception("cannot show the report %r", report)
            finally:
                self.busy = False

    def _record(self, unit: str, level: int, message: str) -> None:
        self.log.log(level, "%s: %s", unit, message)
        self.tqdm.write(f"{unit}: {message}", file=sys.stderr)

    def _progress(self, unit: str, label: str, done: int, total: int, eta_s: float | None) -> None:
        name, now = f"{unit} {label}", time.monotonic()
        left = f" eta {_duration(eta_s)}" if eta_s is not None and done < total else ""
        bar = self.bars.get(name)
        if bar is None and unit not in self.done and done < total:
            bar = self.bars[name] = self.tqdm(
                total=total, desc=name, leave=False, disable=None, bar_format=BAR, initial=done
            )
        if bar is not None:
            bar.total = total
            bar.update(done - bar.n)
            bar.set_postfix_str(left.strip())
        if done >= total or now - self.logged.get(name, now - LOG_EVERY_S) >= LOG_EVERY_S:
            self.logged[name] = now
            self.log.info("%s %d/%d%s", name, done, total, left)
            if not self.terminal:
                self.tqdm.write(f"{name} {done}/{total}{left}", file=sys.stderr)
        if done >= total and bar is not None:
            bar.close()
            del self.bars[name]

    def finished(self, unit: str) -> None:
        """Close the bars of a unit whose result arrived (reports still on their way only log)."""
        with self.lock:
            self.done.add(unit)
            for name in [n for n in self.bars if n.startswith(f"{unit} ")]:
                self.bars.pop(name).close()

    def close(self) -> None:
        with self.lock:
            for bar in self.bars.values():
                bar.close()
            self.bars.clear()


def _duration(seconds: float) -> str:
    """``35 s``, ``12 min``, ``2.5 h``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


__all__ = [
    "LOG_EVERY_S",
    "PROGRESS_EVERY_S",
    "Monitor",
    "progress",
    "relay",
    "reported",
    "reporter",
    "reporting",
]
