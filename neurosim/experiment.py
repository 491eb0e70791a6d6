"""Experiments: a named, configurable run that writes a results directory and can resume.

An experiment script in ``experiments/`` defines a config dataclass (plain fields with defaults) and a
function ``run(config, ctx) -> metrics``, wraps them in :class:`Experiment`, and ends with
``if __name__ == "__main__": EXPERIMENT.main()``. The same options then work for
``python experiments/NAME.py`` and ``neurosim run NAME``.

Every run writes into its results directory: ``config.toml`` (the resolved config), ``run.json``
(experiment, seed, versions, status), ``metrics.json`` and ``metrics.csv``, figures (PNG) and ``log.txt``;
each file is written atomically. Long runs go through :meth:`RunContext.trials`, which checkpoints after
every completed trial so that ``--resume`` continues where a killed run stopped and the final results equal
those of an uninterrupted run with the same seed. Work made of independent units (one task × seed) goes
through :meth:`RunContext.map_units` instead: a local process pool, or with ``--scheduler ADDRESS`` a Dask
cluster (:mod:`neurosim.cluster`), each unit's result stored in the results directory as it finishes.
Checking the results directory and writing its records: :mod:`neurosim.rundir`.

``run.json``'s status: ``complete``; ``interrupted`` (Ctrl-C, or the SIGTERM of a batch scheduler or ``kill``:
stopped at once, also in a simulation, resumable; the signal is named); ``failed`` (an exception, recorded in
``run.json``, its traceback in ``log.txt``); ``running`` while it runs or after a SIGKILL (resumable too).
Bad input (config values, seed, an ``--out`` that cannot be written or holds results) is refused before
anything is written. Exit status: 0 complete, 1 failed, 2 refused, 130 Ctrl-C (SIGINT), 143 SIGTERM: 128 +
the signal's number, as a shell reports it, so a batch scheduler (Slurm, PBS) sees why and can requeue.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import pickle
import shutil
import signal
import sys
import threading
import time
import tomllib
import traceback
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .cluster import Unit, connection, map_units
from .configs import ExperimentError, build_config, check_ranges, parse_value, to_plain
from .io import atomic_write, atomic_write_json, atomic_write_text
from .progress import Monitor, reporting
from .rundir import (
    close_logger,
    describe,
    fingerprint,
    metrics_csv,
    now,
    prepare,
    record_end,
    run_logger,
    save_png,
    status,
    versions,
)
from .serialization import dumps_toml
from .validation import ParameterError, check_number

#: Seeds go to numpy's legacy seeding (Brian2's ``seed``), which takes integers below 2**32.
MAX_SEED = 2**32 - 1

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # stop a run cleanly: Ctrl-C, a scheduler's or kill's TERM


class Interrupted(KeyboardInterrupt):
    """A run was stopped by the signal ``signum`` (one of :data:`STOP_SIGNALS`)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


def stop_signal(interrupt: KeyboardInterrupt) -> signal.Signals:
    """The signal behind ``interrupt`` (SIGINT for a plain ``KeyboardInterrupt``); exit status 128 + it."""
    return signal.Signals(getattr(interrupt, "signum", signal.SIGINT))


@dataclass
class RunContext:
    """What an experiment's ``run`` receives: where to write, the seed, logging, progress, checkpoints."""

    experiment: str
    out: Path
    seed: int
    quick: bool
    log: logging.Logger
    _checkpoint: dict[str, Any] = dataclasses.field(default_factory=dict)
    client: Any = None  # a dask.distributed.Client when the run was given --scheduler
    _unit_stores: list[Path] = dataclasses.field(default_factory=list)

    def rng(self, *keys: str | int) -> np.random.Generator:
        """An independent random stream derived from the run's seed and ``keys``."""
        from .backend import stream

        return stream(self.seed, "experiment", *keys)

    def trials(
        self, key: str, items: Sequence[Any], fn: Callable[[Any], Any], *, desc: str | None = None
    ) -> list[Any]:
        """Run ``fn`` on each item in order with a progress bar, checkpointing after each one.

        Results of items finished before an interruption are loaded from the checkpoint, never recomputed,
        so a resumed run returns exactly what an uninterrupted one would (``fn`` must derive its randomness
        from the item, e.g. via :meth:`rng`, not from hidden global state).
        """
        from tqdm.auto import tqdm

        done: list[Any] = list(self._checkpoint.get(key, []))
        if done:
            self.log.info("resuming '%s' at %d/%d", key, len(done), len(items))
        with tqdm(total=len(items), initial=len(done), desc=desc or key, leave=False, disable=None) as bar:
            for item in items[len(done) :]:
                done.append(fn(item))
                self._checkpoint[key] = done
                self._save_checkpoint()
                bar.update(1)
                _stop_if_interrupted()
        return done

    def map_units(self, key: str, units: Sequence[Unit], *, processes: int = 1) -> list[Any]:
        """The results of independent ``units`` in order, each stored in ``OUT/KEY/`` as it finishes.

        Units run in ``processes`` forked processes, or on the Dask cluster of ``--scheduler``; units stored
        before an interruption are read back, so a resumed run submits only the missing ones and returns
        what an uninterrupted run would (each unit derives its randomness from its own arguments). The
        stored units are removed when the run completes, like the checkpoint.
        """
        self._unit_stores.append(self.out / key)
        return map_units(
            units,
            self.out / key,
            processes=processes,
            start_method="fork",  # the units' functions live in the script, which fresh processes lack
            client=self.client,
            after_each=_stop_if_interrupted,
            desc=key,
            log=self.log,
        )

    def save_figure(self, fig: Any, name: str) -> Path:
        """Save a matplotlib figure as ``NAME.png`` atomically and close it."""
        return save_png(fig, self.out / f"{name}.png", dpi=120, bbox_inches="tight")

    def write_json(self, name: str, data: Any) -> Path:
        return atomic_write_json(self.out / name, to_plain(data))

    def write_text(self, name: str, text: str) -> Path:
        """Write a text file (a table, a report) into the results directory atomically."""
        return atomic_write_text(self.out / name, text)

    def _save_checkpoint(self) -> None:
        atomic_write(self.out / "checkpoint.pkl", lambda fh: pickle.dump(self._checkpoint, fh), mode="wb")


@dataclass
class Experiment:
    """A named experiment: its config type, its run function and a one-line description."""

    name: str
    description: str
    config_type: type
    run: Callable[[Any, RunContext], Mapping[str, Any]]
    quick_overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    has_units: bool = False  # run() hands its work to RunContext.map_units, so --scheduler can spread it
    console: Callable[[Path], str] | None = None  # the text printed for a complete run (default: metrics)

    def make_config(
        self, file: str | Path | None = None, overrides: Sequence[str] = (), quick: bool = False
    ) -> Any:
        """The config from defaults, then ``--quick`` settings, then a TOML file, then ``--set`` pairs."""
        values: dict[str, Any] = dict(self.quick_overrides) if quick else {}
        if file is not None:
            path = Path(file)
            if not path.is_file():
                raise ExperimentError(f"config file '{path}' does not exist or is not a file")
            try:
                values.update(tomllib.loads(path.read_text()))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
                raise ExperimentError(f"config file '{path}' cannot be read: {err}") from None
        for pair in overrides:
            key, sep, raw = pair.partition("=")
            if not sep or not key.strip():
                raise ExperimentError(f"--set expects KEY=VALUE, got '{pair}'")
            values[key.strip()] = parse_value(raw.strip())
        return build_config(self.config_type, values, owner=self.name)

    def execute(
        self,
        config: Any,
        out: str | Path,
        *,
        seed: int = 0,
        resume: bool = False,
        quick: bool = False,
        scheduler: str | None = None,
    ) -> dict[str, Any]:
        """Run into the results directory ``out`` and return the metrics.

        Refuses (:class:`ExperimentError`, nothing written) a bad seed, an ``out`` that cannot be written or
        holds other results, a ``resume`` that does not fit the run in ``out`` or finds it complete, and a
        ``scheduler`` (a Dask scheduler's address) that does not answer or is given to an experiment without
        units. Ctrl-C raises ``KeyboardInterrupt`` with ``run.json`` saying ``interrupted``; any other
        exception propagates with ``run.json`` saying ``failed`` and the traceback in ``log.txt``. SIGTERM
        is handled like Ctrl-C (it raises :class:`Interrupted`, a ``KeyboardInterrupt``).
        """
        seed = int(check_number(self.name, "seed", seed, low=0, high=MAX_SEED, integer=True))
        check_ranges(config, owner=self.name)
        if scheduler is not None and not self.has_units:
            raise ExperimentError(
                f"--scheduler: experiment '{self.name}' does not split its work into units "
                "(RunContext.map_units), so it cannot use a cluster; run it without --scheduler"
            )
        with connection(scheduler) as client:
            return self._execute(config, Path(out), seed, resume, quick, client)

    def _execute(
        self, config: Any, out: Path, seed: int, resume: bool, quick: bool, client: Any
    ) -> dict[str, Any]:
        """:meth:`execute` once the seed is checked and the scheduler (if any) connected."""
        identity = fingerprint(self.name, config, seed)
        run_file = out / "run.json"
        checkpoint = prepare(self.name, out, identity, resume)
        log = run_logger(self.name, out / "log.txt")
        info = {
            "experiment": self.name,
            "seed": seed,
            "quick": quick,
            "fingerprint": identity,
            "status": "running",
            "versions": versions(),
            "started": now(),
        }
        t0 = time.perf_counter()
        try:
            # progress reports and neurosim's log records (a compile notice) go to log.txt and stderr
            with _interrupt_raises(), contextlib.closing(Monitor(log)) as shown, reporting(shown, self.name):
                atomic_write_json(run_file, info)
                atomic_write_text(out / "config.toml", dumps_toml(to_plain(dataclasses.asdict(config))))
                ctx = RunContext(self.name, out, seed, quick, log, checkpoint, client)
                log.info("running %s (seed %d) into %s", self.name, seed, out)
                metrics = to_plain(dict(self.run(config, ctx)))
                _stop_if_interrupted()
                metrics.setdefault("wall_s", round(time.perf_counter() - t0, 3))
                atomic_write_json(out / "metrics.json", metrics)
                atomic_write_text(out / "metrics.csv", metrics_csv(metrics))
                atomic_write_json(run_file, {**info, "status": "complete", "finished": now()})
                (out / "checkpoint.pkl").unlink(missing_ok=True)
                for store in ctx._unit_stores:
                    shutil.rmtree(store, ignore_errors=True)
                log.info("done in %.1f s", time.perf_counter() - t0)
        except KeyboardInterrupt as err:
            name, elapsed = stop_signal(err).name, time.perf_counter() - t0
            log.warning(
                "interrupted after %.1f s (%s); completed trials kept: --resume continues", elapsed, name
            )
            record_end(run_file, {**info, "status": "interrupted", "signal": name, "stopped": now()})
            raise
        except BaseException as err:
            log.error("failed after %.1f s", time.perf_counter() - t0, exc_info=True)
            record_end(run_file, {**info, "status": "failed", "error": describe(err), "stopped": now()})
            raise
        finally:
            close_logger(log)
        return metrics

    def main(self, argv: Sequence[str] | None = None) -> int:
        """Command-line entry shared by ``python experiments/NAME.py`` and ``neurosim run NAME``."""
        parser = argparse.ArgumentParser(prog=self.name, description=self.description)
        add_run_arguments(parser)
        return run_from_args(self, parser.parse_args(argv))


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML file with config values")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one key")
    parser.add_argument("--seed", type=int, default=0, help="seed fixing every random choice (default 0)")
    parser.add_argument("--out", help="results directory (default results/NAME-seedN)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run in --out (exit status 130 after Ctrl-C, 143 after SIGTERM)",
    )
    parser.add_argument("--quick", action="store_true", help="small settings that finish fast")
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the experiment's units on the Dask cluster at ADDRESS (tcp://HOST:PORT)",
    )


def run_from_args(experiment: Experiment, args: argparse.Namespace) -> int:
    """Run from parsed options and return the exit status: 0 complete, 1 failed (the error is recorded in
    ``run.json`` and ``log.txt``), 2 refused (bad input, nothing ran), 130 interrupted by Ctrl-C and 143
    stopped by SIGTERM (both resumable)."""
    out = Path(args.out or f"results/{experiment.name}-seed{args.seed}")
    try:
        config = experiment.make_config(args.config, args.set, quick=args.quick)
        metrics = experiment.execute(
            config, out, seed=args.seed, resume=args.resume, quick=args.quick, scheduler=args.scheduler
        )
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        name = stop_signal(err).name
        if status(out) == "interrupted":
            print(
                f"interrupted ({name}): completed trials are kept in {out}; add --resume to continue",
                file=sys.stderr,
            )
        else:
            print(f"interrupted ({name}) before the run started; nothing was written", file=sys.stderr)
        return 128 + stop_signal(err)
    except Exception as err:  # a crash: shown and recorded, without Brian2's report-a-bug hook
        traceback.print_exc()
        where = f"; recorded in {out / 'run.json'} and {out / 'log.txt'}" if status(out) == "failed" else ""
        print(f"error: {experiment.name} failed: {describe(err)}{where}", file=sys.stderr)
        return 1
    print(experiment.console(out) if experiment.console else json.dumps(metrics, indent=2)[:4000])
    print(f"results written to {out}")
    return 0


@contextlib.contextmanager
def _interrupt_raises() -> typing.Iterator[None]:
    """Ctrl-C and SIGTERM raise :class:`Interrupted` at once while the run lasts, also inside a simulation.

    Python's default for SIGTERM ends the process at once, leaving ``run.json`` "running". Brian2's own
    SIGINT handler (installed when brian2 is imported, hence the import here) ends the current
    ``Network.run`` early and lets the caller carry on with a cut-short simulation, which then fails far
    from the cause or, worse, yields results of the wrong length.
    """
    import brian2  # noqa: F401

    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    _RECEIVED.clear()
    previous = {s: signal.signal(s, _on_interrupt) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


#: The stop signals received during a run. Python drops an exception raised inside a finalizer ("Exception
#: ignored in ..."), so a signal that lands in one is lost; the run then stops at its next checkpoint.
_RECEIVED: list[int] = []


def _on_interrupt(signum: int, frame: Any) -> None:
    _RECEIVED.append(signum)
    raise Interrupted(signum)


def _stop_if_interrupted() -> None:
    """Raise the :class:`Interrupted` of a stop signal that a finalizer swallowed."""
    if _RECEIVED:
        raise Interrupted(_RECEIVED[0])
