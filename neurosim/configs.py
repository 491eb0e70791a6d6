"""Experiment configs: values from TOML files and ``--set KEY=VALUE`` checked against the config dataclass's
types and declared ranges before any work starts, and results turned back into plain JSON data.

Checks made for every config (:func:`build_config`, and :func:`check_ranges` on a config made in Python):

* **types**: a value must fit its field's annotation (an ``int`` is accepted for a ``float``);
* **finite floats**: ``nan``, ``inf`` and ``-inf`` are refused for ``float`` fields (and the items of
  ``tuple[float, ...]`` fields), since they pass unnoticed through most range checks; a field that means
  "no limit" by ``inf`` declares ``finite=False``;
* **ranges**: a field declares its allowed range in its metadata with the keys ``gt``, ``ge``, ``lt``,
  ``le`` (greater than, greater or equal, less than, less or equal: ``value > gt`` and so on), most simply
  through :func:`bounded`::

      @dataclass(frozen=True)
      class Config:
          dt_ms: float = bounded(0.1, gt=0, le=1)  # simulation step
          trials: int = bounded(10, ge=1)
          rates_hz: tuple[float, ...] = bounded((5.0, 10.0), gt=0)  # each item is checked
          horizon_s: float = bounded(math.inf, gt=0, finite=False)

  ``dataclasses.field(default=..., metadata={"gt": 0})`` declares the same. Checks that relate several
  fields stay in the config's ``__post_init__``.

A refused value raises :class:`ExperimentError` naming the experiment, the key, the value and what is allowed.
"""

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


_NO_METADATA: Mapping[str, Any] = types.MappingProxyType({})

#: Metadata keys of a field's range and the comparison each one asks for.
_RANGE = {
    "gt": (">", float.__gt__),
    "ge": (">=", float.__ge__),
    "lt": ("<", float.__lt__),
    "le": ("<=", float.__le__),
}


def bounded(
    default: Any,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    finite: bool = True,
) -> Any:
    """A config field with ``default`` whose value (each item, for a tuple) must be ``> gt``, ``>= ge``,
    ``< lt`` and ``<= le`` (those given); ``finite=False`` lets a float field take ``inf``/``-inf``."""
    limits = {k: v for k, v in (("gt", gt), ("ge", ge), ("lt", lt), ("le", le)) if v is not None}
    return dataclasses.field(default=default, metadata={**limits, "finite": finite})


def allowed_range(field: dataclasses.Field) -> str:
    """The range ``field`` declares, in words (``"> 0 and <= 1"``); empty if it declares none."""
    return " and ".join(f"{_RANGE[k][0]} {field.metadata[k]:g}" for k in _RANGE if k in field.metadata)


def build_config(config_type: type, values: Mapping[str, Any], *, owner: str) -> Any:
    """Make ``config_type`` from ``values``, rejecting unknown keys, values of the wrong type, non-finite
    floats and values outside a field's declared range (see the module docstring)."""
    fields = {f.name: f for f in dataclasses.fields(config_type)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ExperimentError(f"{owner}: unknown config key(s) {unknown}; allowed: {sorted(fields)}")
    hints = typing.get_type_hints(config_type)
    checked = {}
    for key, value in values.items():
        checked[key] = _coerce(owner, key, value, hints.get(key, Any), fields[key].metadata)
        _check_range(owner, fields[key], checked[key])
    try:
        return config_type(**checked)
    except ParameterError:
        raise
    except (TypeError, ValueError) as err:
        raise ExperimentError(f"{owner}: invalid config: {err}") from None


def check_ranges(config: Any, *, owner: str) -> Any:
    """Check every field of the config dataclass instance ``config`` against the finite-float rule and its
    declared range (for configs made in Python, which skip :func:`build_config`); return it."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, float) and not math.isfinite(item):
                _coerce(owner, field.name, item, float, field.metadata)  # refuses it unless allowed
        _check_range(owner, field, value)
    return config


def _check_range(owner: str, field: dataclasses.Field, value: Any) -> None:
    if not any(k in field.metadata for k in _RANGE):
        return
    for item in value if isinstance(value, (tuple, list)) else (value,):
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            continue  # not a number (None for an optional field): its type was checked already
        if not all(
            _RANGE[k][1](float(item), float(field.metadata[k])) for k in _RANGE if k in field.metadata
        ):
            shown = f"{value!r}" if item is value else f"{value!r} (item {item!r})"
            raise ExperimentError(
                f"{owner}: config key '{field.name}' = {shown} is not allowed; must be {allowed_range(field)}"
            )


def _coerce(owner: str, key: str, value: Any, hint: Any, metadata: Mapping[str, Any] = _NO_METADATA) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return _coerce(owner, key, value, option, metadata)
            except ExperimentError:
                continue
        raise ExperimentError(f"{owner}: config key '{key}' = {value!r} has the wrong type; expected {hint}")
    if hint is type(None):
        if value is None:
            return None
    elif origin in (tuple, list) or hint in (tuple, list):
        if isinstance(value, (list, tuple)):
            item = args[0] if args else Any
            return tuple(_coerce(owner, key, v, item, metadata) for v in value)
    elif hint is float:
        if isinstance(value, float) and not math.isfinite(value):  # passes most range checks unnoticed
            if math.isnan(value) or metadata.get("finite", True):
                raise ExperimentError(
                    f"{owner}: config key '{key}' = {value!r} is not allowed; expected a finite number"
                    + ("" if math.isnan(value) else " (this key does not take inf or -inf)")
                )
            return value
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
