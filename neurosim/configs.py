"""Experiment configs: values from TOML files and ``--set KEY=VALUE`` checked against the config dataclass's
types before any work starts, and results turned back into plain JSON data."""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .validation import ParameterError


class ExperimentError(ParameterError):
    """An experiment cannot run as asked (bad config, wrong directory, unknown name)."""


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
        if isinstance(value, float) and math.isnan(value):  # NaN passes every range check unnoticed
            raise ExperimentError(f"{owner}: config key '{key}' = nan is not allowed; expected a number")
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
