"""Experiment discovery: the scripts of the experiments folder that define ``EXPERIMENT``.

The folder is the repository's ``experiments/`` (or ``$NEUROSIM_EXPERIMENTS``); each ``NAME.py`` in it not
starting with ``_`` is an experiment named ``NAME`` once it defines ``EXPERIMENT = Experiment(...)``.
Scripts are loaded once per process under the module name ``neurosim_experiment_NAME``, so the command line
(:mod:`neurosim.cli`), sweeps (:mod:`neurosim.sweep`) and notebooks all find the same objects here.

Listing and help need only what a script *declares*, so :func:`declaration` reads it without running it:
the script is parsed (:mod:`ast`), its ``EXPERIMENT = Experiment(...)`` gives the description and the config
class, and that class's annotated fields give the config keys with their defaults and comments as written.
``neurosim list`` and ``neurosim run NAME --help`` thus never import what the scripts import (Brian2,
PyTorch, Matplotlib). A description that is not written as a string is read by loading the script.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .experiment import Experiment, ExperimentError


@dataclass(frozen=True)
class ConfigKey:
    """One field of an experiment's config class, as written in the script."""

    name: str
    annotation: str  # the type, e.g. "tuple[float, ...]"
    default: str  # the default expression, e.g. "(5.0, 10.0)"; "" when the key has none
    comment: str  # the comment that ends the field's line, without "#"
    allowed: str = ""  # the range declared with neurosim.configs.bounded, e.g. "> 0, <= 1"

    def __str__(self) -> str:
        text = f"{self.name}: {self.annotation}" + (f" = {self.default}" if self.default else "")
        text += f" ({self.allowed})" if self.allowed else ""
        return f"{text}  # {self.comment}" if self.comment else text


@dataclass(frozen=True)
class Declaration:
    """What an experiment script declares: its one-line description and its config keys."""

    description: str
    config: tuple[ConfigKey, ...]


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


def declaration(path: Path) -> Declaration | None:
    """The description and config keys that the script at ``path`` declares, read without running it;
    None if it defines no ``EXPERIMENT``."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    value = _experiment_value(tree)
    if value is None:
        return None
    arguments: dict[str, ast.expr] = {}
    if isinstance(value, ast.Call) and _names_experiment(value.func):
        arguments.update(zip((f.name for f in dataclasses.fields(Experiment)), value.args, strict=False))
        arguments.update((k.arg, k.value) for k in value.keywords if k.arg is not None)
    description = arguments.get("description")
    if isinstance(description, ast.Constant) and isinstance(description.value, str):
        text = description.value
    else:
        exp = load_experiment(path)
        if exp is None:
            return None
        text = exp.description
    config_type = arguments.get("config_type")
    name = config_type.id if isinstance(config_type, ast.Name) else None
    return Declaration(text, _config_keys(tree, source, name))


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


def _experiment_value(tree: ast.Module) -> ast.expr | None:
    """The value of the last top-level ``EXPERIMENT = ...`` (or ``EXPERIMENT: T = ...``), else None."""
    found = None
    for node in tree.body:
        if isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == "EXPERIMENT" for t in node.targets):
                found = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if node.target.id == "EXPERIMENT" and node.value is not None:
                found = node.value
    return found


def _names_experiment(func: ast.expr) -> bool:
    """``Experiment`` or ``something.Experiment``."""
    return (isinstance(func, ast.Name) and func.id == "Experiment") or (
        isinstance(func, ast.Attribute) and func.attr == "Experiment"
    )


def _config_keys(tree: ast.Module, source: str, class_name: str | None) -> tuple[ConfigKey, ...]:
    """The annotated fields of the top-level class ``class_name`` (class variables left out)."""
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name]
    if not classes:
        return ()
    lines = source.encode("utf-8").splitlines()  # ast offsets count UTF-8 bytes
    keys = []
    for node in classes[-1].body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        annotation = _text(lines, node.annotation)
        if annotation.split("[")[0].split(".")[-1] == "ClassVar":
            continue
        default = _text(lines, node.value) if node.value is not None else ""
        allowed = ""
        if isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "") == "bounded":
            default = _text(lines, node.value.args[0]) if node.value.args else ""  # bounded(DEFAULT, gt=0)
            ops = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
            limits = [f"{ops[k.arg]} {_text(lines, k.value)}" for k in node.value.keywords if k.arg in ops]
            finite = [
                k for k in node.value.keywords if k.arg == "finite" and _text(lines, k.value) == "False"
            ]
            allowed = ", ".join(limits + ["inf allowed"] * bool(finite))
        rest = lines[(node.end_lineno or node.lineno) - 1][node.end_col_offset :].decode("utf-8").strip()
        comment = rest[1:].strip() if rest.startswith("#") else ""
        keys.append(ConfigKey(node.target.id, annotation, default, comment, allowed))
    return tuple(keys)


def _text(lines: list[bytes], node: ast.expr) -> str:
    """The source of ``node`` on one line."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    if first == last:
        data = lines[first][node.col_offset : node.end_col_offset]
    else:
        data = b" ".join(
            [lines[first][node.col_offset :], *lines[first + 1 : last], lines[last][: node.end_col_offset]]
        )
    return " ".join(data.decode("utf-8").split())
