"""Experiments: a named, configurable run that writes a results directory and can resume.

An experiment script in ``experiments/`` defines a config dataclass (plain fields with defaults) and a
function ``run(config, ctx) -> metrics``, wraps them in :class:`Experiment`, and ends with
``if __name__ == "__main__": EXPERIMENT.main()``. The same options then work for
``python experiments/NAME.py`` and ``neurosim run NAME``.

Every run writes into its results directory: ``config.toml`` (the resolved config), ``run.json``
(experiment, seed, versions, status), ``metrics.json`` and ``metrics.csv``, figures (PNG) and ``log.txt``;
each file is written atomically. Long runs go through :meth:`RunContext.trials`, which checkpoints after
every completed trial so that ``--resume`` continues where a killed run stopped and the final results equal
those of an uninterrupted run with the same seed.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import io
import json
import logging
import pickle
import platform
import sys
import time
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tomllib

from .io import atomic_write, atomic_write_json, atomic_write_text
from .serialization import dumps_toml
from .validation import ParameterError


class ExperimentError(ParameterError):
    """An experiment cannot run as asked (bad config, wrong directory, unknown name)."""


@dataclass
class RunContext:
    """What an experiment's ``run`` receives: where to write, the seed, logging, progress, checkpoints."""

    experiment: str
    out: Path
    seed: int
    quick: bool
    log: logging.Logger
    _checkpoint: dict[str, Any] = dataclasses.field(default_factory=dict)

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
        return done

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
    ) -> dict[str, Any]:
        """Run into the results directory ``out`` and return the metrics."""
        out = Path(out)
        fingerprint = _fingerprint(self.name, config, seed)
        run_file = out / "run.json"
        checkpoint: dict[str, Any] = {}
        if resume:
            if not run_file.exists():
                raise ExperimentError(f"--resume: '{out}' holds no run to resume (no run.json)")
            previous = json.loads(run_file.read_text())
            if previous.get("experiment") != self.name:
                raise ExperimentError(
                    f"--resume: '{out}' holds a run of experiment '{previous.get('experiment')}', "
                    f"not '{self.name}'"
                )
            if previous.get("fingerprint") != fingerprint:
                raise ExperimentError(
                    f"--resume: '{out}' was run with a different config or seed; nothing changed"
                )
            ckpt = out / "checkpoint.pkl"
            if ckpt.exists():
                checkpoint = pickle.loads(ckpt.read_bytes())
        elif out.exists() and not out.is_dir():
            raise ExperimentError(f"--out '{out}' is a file, not a results directory; nothing changed")
        elif out.exists() and any(out.iterdir()):
            raise ExperimentError(
                f"output directory '{out}' already holds results; choose a new --out or pass --resume"
            )
        out.mkdir(parents=True, exist_ok=True)
        log = _logger(self.name, out / "log.txt")
        info = {
            "experiment": self.name,
            "seed": seed,
            "quick": quick,
            "fingerprint": fingerprint,
            "status": "running",
            "versions": versions(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        atomic_write_json(run_file, info)
        atomic_write_text(out / "config.toml", dumps_toml(to_plain(dataclasses.asdict(config))))
        ctx = RunContext(self.name, out, seed, quick, log, checkpoint)
        log.info("running %s (seed %d) into %s", self.name, seed, out)
        t0 = time.perf_counter()
        metrics = to_plain(dict(self.run(config, ctx)))
        metrics.setdefault("wall_s", round(time.perf_counter() - t0, 3))
        atomic_write_json(out / "metrics.json", metrics)
        atomic_write_text(out / "metrics.csv", _csv(metrics))
        atomic_write_json(
            run_file, {**info, "status": "complete", "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
        )
        (out / "checkpoint.pkl").unlink(missing_ok=True)
        log.info("done in %.1f s", time.perf_counter() - t0)
        return metrics

    def main(self, argv: Sequence[str] | None = None) -> int:
        """Command-line entry shared by ``python experiments/NAME.py`` and ``neurosim run NAME``."""
        parser = argparse.ArgumentParser(prog=self.name, description=self.description)
        add_run_arguments(parser)
        args = parser.parse_args(argv)
        return run_from_args(self, args)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML file with config values")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one key")
    parser.add_argument("--seed", type=int, default=0, help="seed fixing every random choice (default 0)")
    parser.add_argument("--out", help="results directory (default results/NAME-seedN)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    parser.add_argument("--quick", action="store_true", help="small settings that finish fast")


def run_from_args(experiment: Experiment, args: argparse.Namespace) -> int:
    try:
        config = experiment.make_config(args.config, args.set, quick=args.quick)
        out = args.out or f"results/{experiment.name}-seed{args.seed}"
        metrics = experiment.execute(config, out, seed=args.seed, resume=args.resume, quick=args.quick)
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(metrics, indent=2)[:4000])
    print(f"results written to {out}")
    return 0


def build_config(config_type: type, values: Mapping[str, Any], *, owner: str) -> Any:
    """Make ``config_type`` from ``values``, rejecting unknown keys and values of the wrong type."""
    fields = {f.name: f for f in dataclasses.fields(config_type)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ExperimentError(f"{owner}: unknown config key(s) {unknown}; allowed: {sorted(fields)}")
    hints = typing.get_type_hints(config_type)
    checked = {}
    for key, value in values.items():
        checked[key] = _coerce(owner, key, value, hints.get(key, Any))
    try:
        return config_type(**checked)
    except ParameterError:
        raise
    except (TypeError, ValueError) as err:
        raise ExperimentError(f"{owner}: invalid config: {err}") from None


def _coerce(owner: str, key: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return _coerce(owner, key, value, option)
            except ExperimentError:
                continue
        raise ExperimentError(f"{owner}: config key '{key}' = {value!r} has the wrong type; expected {hint}")
    if hint is type(None):
        if value is None:
            return None
    elif origin in (tuple, list) or hint in (tuple, list):
        if isinstance(value, (list, tuple)):
            item = args[0] if args else Any
            return tuple(_coerce(owner, key, v, item) for v in value)
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is str:
        if isinstance(value, str):
            return value
    elif isinstance(hint, type) and isinstance(value, hint):
        return value
    expected = getattr(hint, "__name__", str(hint))
    raise ExperimentError(f"{owner}: config key '{key}' = {value!r} has the wrong type; expected {expected}")


def parse_value(raw: str) -> Any:
    """A ``--set``/``--grid`` value: a TOML value (``3``, ``0.5``, ``true``, ``[1, 2]``) or else the text."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def save_png(fig: Any, path: Path, **savefig: Any) -> Path:
    """Write a matplotlib figure as PNG atomically (like every result file) and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", **savefig)
    plt.close(fig)
    return atomic_write(path, lambda fh: fh.write(buf.getvalue()), mode="wb")


def _fingerprint(name: str, config: Any, seed: int) -> str:
    text = json.dumps(
        {"name": name, "config": to_plain(dataclasses.asdict(config)), "seed": seed}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def to_plain(value: Any) -> Any:
    """``value`` as plain JSON data (mappings, lists, numbers, strings): arrays, numpy scalars and paths
    converted."""
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


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
    for handler in list(log.handlers):
        log.removeHandler(handler)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return log


def versions() -> dict[str, str]:
    """Versions of Python and the libraries a result depends on."""
    out = {"python": platform.python_version()}
    for mod in ("neurosim", "brian2", "numpy", "scipy", "matplotlib", "torch"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            out[mod] = "not installed"
    return out
