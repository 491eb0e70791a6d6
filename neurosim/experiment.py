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
import csv
import dataclasses
import hashlib
import io
import json
import logging
import pickle
import platform
import shutil
import signal
import sys
import tempfile
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
        checkpoint = _prepare(self.name, out, identity, resume)
        log = _logger(self.name, out / "log.txt")
        info = {
            "experiment": self.name,
            "seed": seed,
            "quick": quick,
            "fingerprint": identity,
            "status": "running",
            "versions": versions(),
            "started": _now(),
        }
        t0 = time.perf_counter()
        try:
            with _interrupt_raises():
                atomic_write_json(run_file, info)
                atomic_write_text(out / "config.toml", dumps_toml(to_plain(dataclasses.asdict(config))))
                ctx = RunContext(self.name, out, seed, quick, log, checkpoint, client)
                log.info("running %s (seed %d) into %s", self.name, seed, out)
                metrics = to_plain(dict(self.run(config, ctx)))
                _stop_if_interrupted()
                metrics.setdefault("wall_s", round(time.perf_counter() - t0, 3))
                atomic_write_json(out / "metrics.json", metrics)
                atomic_write_text(out / "metrics.csv", _csv(metrics))
                atomic_write_json(run_file, {**info, "status": "complete", "finished": _now()})
                (out / "checkpoint.pkl").unlink(missing_ok=True)
                for store in ctx._unit_stores:
                    shutil.rmtree(store, ignore_errors=True)
                log.info("done in %.1f s", time.perf_counter() - t0)
        except KeyboardInterrupt as err:
            name, elapsed = stop_signal(err).name, time.perf_counter() - t0
            log.warning(
                "interrupted after %.1f s (%s); completed trials kept: --resume continues", elapsed, name
            )
            _record_end(run_file, {**info, "status": "interrupted", "signal": name, "stopped": _now()})
            raise
        except BaseException as err:
            log.error("failed after %.1f s", time.perf_counter() - t0, exc_info=True)
            _record_end(run_file, {**info, "status": "failed", "error": _describe(err), "stopped": _now()})
            raise
        finally:
            _close(log)
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
        if _status(out) == "interrupted":
            print(
                f"interrupted ({name}): completed trials are kept in {out}; add --resume to continue",
                file=sys.stderr,
            )
        else:
            print(f"interrupted ({name}) before the run started; nothing was written", file=sys.stderr)
        return 128 + stop_signal(err)
    except Exception as err:  # a crash: shown and recorded, without Brian2's report-a-bug hook
        traceback.print_exc()
        where = f"; recorded in {out / 'run.json'} and {out / 'log.txt'}" if _status(out) == "failed" else ""
        print(f"error: {experiment.name} failed: {_describe(err)}{where}", file=sys.stderr)
        return 1
    print(experiment.console(out) if hasattr(experiment, "console") else json.dumps(metrics, indent=2)[:4000])
    print(f"results written to {out}")
    return 0


def _resumable(name: str, out: Path, identity: str) -> dict[str, Any]:
    """The checkpoint of the run in ``out`` that ``--resume`` continues; refuses a run of another
    experiment, config or seed, a complete run and unreadable files, before anything changes."""
    run_file, ckpt = out / "run.json", out / "checkpoint.pkl"
    if not run_file.is_file():
        raise ExperimentError(f"--resume: '{out}' holds no run to resume (no run.json)")
    try:
        previous = json.loads(run_file.read_text())
        if not isinstance(previous, dict):
            raise ValueError(f"expected a JSON object, found {type(previous).__name__}")
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ExperimentError(f"--resume: '{run_file}' cannot be read ({err}); nothing changed") from None
    if previous.get("experiment") != name:
        raise ExperimentError(
            f"--resume: '{out}' holds a run of experiment '{previous.get('experiment')}', not '{name}'"
        )
    if previous.get("fingerprint") != identity:
        raise ExperimentError(f"--resume: '{out}' was run with a different config or seed; nothing changed")
    if previous.get("status") == "complete":
        raise ExperimentError(
            f"--resume: the run in '{out}' is already complete (results in {out / 'metrics.json'}); "
            "nothing to resume, nothing changed"
        )
    if not ckpt.exists():
        return {}
    try:
        checkpoint = pickle.loads(ckpt.read_bytes())
        if not isinstance(checkpoint, dict):
            raise ValueError(f"expected a dict, found {type(checkpoint).__name__}")
    except Exception as err:  # noqa: BLE001 - unpickling damaged bytes can raise almost anything
        raise ExperimentError(
            f"--resume: checkpoint '{ckpt}' cannot be read ({_describe(err)}); delete it to start the run "
            "over, nothing changed"
        ) from None
    return checkpoint


def _prepare(name: str, out: Path, identity: str, resume: bool) -> dict[str, Any]:
    """Check ``out`` before anything runs: resumable (returns the checkpoint) or new, and writable."""
    try:
        checkpoint = _resumable(name, out, identity) if resume else {}
        if not resume and out.exists() and not out.is_dir():
            raise ExperimentError(f"--out '{out}' is a file, not a results directory; nothing changed")
        if not resume and out.exists() and any(out.iterdir()):
            raise ExperimentError(
                f"output directory '{out}' already holds results; choose a new --out or pass --resume"
            )
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise ExperimentError(
            f"--out '{out}' cannot be written ({err.strerror or err}); nothing ran"
        ) from None
    return checkpoint


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


def _record_end(run_file: Path, info: Mapping[str, Any]) -> None:
    """Record how a run ended in ``run.json``, never hiding the exception that ended it."""
    with contextlib.suppress(OSError):
        atomic_write_json(run_file, info)


def _status(out: Path) -> str | None:
    try:
        return json.loads((out / "run.json").read_text()).get("status")
    except (OSError, ValueError, AttributeError):
        return None


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def save_png(fig: Any, path: Path, **savefig: Any) -> Path:
    """Write a matplotlib figure as PNG atomically (like every result file) and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", **savefig)
    plt.close(fig)
    return atomic_write(path, lambda fh: fh.write(buf.getvalue()), mode="wb")


def fingerprint(name: str, config: Any, seed: int) -> str:
    """What identifies a run (experiment, config, seed): ``--resume`` continues only a run that matches."""
    text = json.dumps(
        {"name": name, "config": to_plain(dataclasses.asdict(config)), "seed": seed}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _csv(metrics: Mapping[str, Any]) -> str:
    """Flatten nested metrics into ``key,value`` rows (nested keys joined by dots)."""
    rows: list[tuple[str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            rows.append((prefix, json.dumps(value) if isinstance(value, list) else value))

    walk("", metrics)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["key", "value"])
    writer.writerows(rows)
    return buf.getvalue()


def _logger(name: str, path: Path) -> logging.Logger:
    log = logging.getLogger(f"neurosim.experiment.{name}.{path}")
    log.setLevel(logging.INFO)
    log.propagate = False
    _close(log)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return log


def _close(log: logging.Logger) -> None:
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def versions() -> dict[str, str]:
    """Versions of Python and the libraries a result depends on."""
    out = {"python": platform.python_version()}
    for mod in ("neurosim", "brian2", "numpy", "scipy", "matplotlib", "torch"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            out[mod] = "not installed"
    return out
