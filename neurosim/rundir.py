"""A run's results directory: checked before a run starts (new and writable, or a run that ``--resume``
continues), and the files a run writes besides its results (``run.json``'s records, ``metrics.csv``,
``log.txt``, figures), each written atomically.

A run is identified by its :func:`fingerprint` (experiment, config, seed): ``--resume`` continues only the
run that matches, and refuses anything else before a file changes.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import io
import json
import logging
import pickle
import platform
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .configs import ExperimentError, to_plain
from .io import atomic_write, atomic_write_json


def resumable(name: str, out: Path, identity: str) -> dict[str, Any]:
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
            f"--resume: checkpoint '{ckpt}' cannot be read ({describe(err)}); delete it to start the run "
            "over, nothing changed"
        ) from None
    return checkpoint


def prepare(name: str, out: Path, identity: str, resume: bool) -> dict[str, Any]:
    """Check ``out`` before anything runs: resumable (returns the checkpoint) or new, and writable."""
    try:
        checkpoint = resumable(name, out, identity) if resume else {}
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


def record_end(run_file: Path, info: Mapping[str, Any]) -> None:
    """Record how a run ended in ``run.json``, never hiding the exception that ended it."""
    with contextlib.suppress(OSError):
        atomic_write_json(run_file, info)


def status(out: Path) -> str | None:
    try:
        return json.loads((out / "run.json").read_text()).get("status")
    except (OSError, ValueError, AttributeError):
        return None


def describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def now() -> str:
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


def metrics_csv(metrics: Mapping[str, Any]) -> str:
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


def run_logger(name: str, path: Path) -> logging.Logger:
    log = logging.getLogger(f"neurosim.experiment.{name}.{path}")
    log.setLevel(logging.INFO)
    log.propagate = False
    close_logger(log)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return log


def close_logger(log: logging.Logger) -> None:
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
