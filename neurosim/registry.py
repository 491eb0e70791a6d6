"""Experiment discovery: the scripts of the experiments folder that define ``EXPERIMENT``.

The folder is the repository's ``experiments/`` (or ``$NEUROSIM_EXPERIMENTS``); each ``NAME.py`` in it not
starting with ``_`` is an experiment named ``NAME`` once it defines ``EXPERIMENT = Experiment(...)``.
Scripts are loaded once per process under the module name ``neurosim_experiment_NAME``, so the command line
(:mod:`neurosim.cli`), sweeps (:mod:`neurosim.sweep`) and notebooks all find the same objects here.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from .experiment import Experiment, ExperimentError


def experiments_dir() -> Path:
    """The experiments folder: ``$NEUROSIM_EXPERIMENTS``, else the repository's ``experiments/``."""
    env = os.environ.get("NEUROSIM_EXPERIMENTS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "experiments"


def iter_experiment_files(directory: Path) -> Iterator[Path]:
    """The experiment scripts of ``directory`` in name order (``*.py`` not starting with ``_``)."""
    yield from sorted(p for p in directory.glob("*.py") if not p.name.startswith("_"))


def load_experiment(path: Path) -> Experiment | None:
    """The ``EXPERIMENT`` defined by the script at ``path`` (loaded once per process), or None."""
    spec = importlib.util.spec_from_file_location(f"neurosim_experiment_{path.stem}", path)
    if spec is None or spec.loader is None:
        return None
    if spec.name in sys.modules:
        module = sys.modules[spec.name]
    else:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[spec.name]
            raise
    exp = getattr(module, "EXPERIMENT", None)
    return exp if isinstance(exp, Experiment) else None


def available() -> dict[str, Path]:
    """Experiment names → script paths."""
    folder = experiments_dir()
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in iter_experiment_files(folder)}


def find_experiment(name: str) -> Experiment:
    """The experiment called ``name``; :class:`~neurosim.experiment.ExperimentError` if there is none."""
    scripts = available()
    if name not in scripts:
        raise ExperimentError(
            f"unknown experiment '{name}'; available: {', '.join(sorted(scripts)) or 'none'}"
        )
    exp = load_experiment(scripts[name])
    if exp is None:
        raise ExperimentError(f"'{scripts[name]}' does not define EXPERIMENT = Experiment(...)")
    return exp
