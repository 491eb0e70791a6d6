"""Plain-data round trips for description objects: dict ⇄ JSON ⇄ TOML.

A description object is a frozen dataclass that inherits :class:`Describable`. ``to_dict`` writes its
fields with a ``"type"`` key; physical quantities are written as strings such as ``"10. * msecond"`` and
parsed back with Brian2's units. Built-in types are found by class name; a user's own type (a custom rule,
say) is written with its import path ``"package.module:Class"`` and imported again when read.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from .validation import ParameterError

if TYPE_CHECKING:
    from brian2 import Quantity

T = TypeVar("T", bound="Describable")

_REGISTRY: dict[str, type[Describable]] = {}


@functools.cache
def _unit_namespace() -> dict[str, Any]:
    """Brian2's unit names, the namespace in which quantity strings are read."""
    from brian2.units import allunits, stdunits

    return {k: v for m in (allunits, stdunits) for k, v in vars(m).items() if not k.startswith("_")}


_QUANTITY_RE = re.compile(r"^\s*[-+0-9.eE]+(?:\s*\*\s*[A-Za-z_][\w]*(?:\s*(?:\*\*|\*|/)\s*-?[\w.]+)*)?\s*$")


class Describable:
    """Mixin for frozen dataclasses that round-trip through plain data."""

    type_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls
        # Brian2 quantities are numpy arrays (mutable, unhashable): let ``tau: Quantity = 20*ms`` work as a
        # dataclass default by turning such defaults into factories, and compare/hash by plain data.
        for name in getattr(cls, "__annotations__", {}):
            value = cls.__dict__.get(name)
            if isinstance(value, np.ndarray):
                setattr(cls, name, dataclasses.field(default_factory=_constant(value)))
        cls.__eq__ = Describable.__eq__  # type: ignore[method-assign]
        cls.__hash__ = Describable.__hash__  # type: ignore[method-assign]

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": type_key(type(self))}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            if field.metadata.get("serialize", True):
                out[field.name] = encode(getattr(self, field.name))
        return out

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
        obj = decode(dict(data))
        if not isinstance(obj, cls):
            raise ParameterError(f"expected a {cls.__name__} description, got {type(obj).__name__}")
        return obj

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls: type[T], text: str) -> T:
        return cls.from_dict(json.loads(text))

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())

    @classmethod
    def from_toml(cls: type[T], text: str) -> T:
        return cls.from_dict(tomllib.loads(text))

    def save(self, path: str | Path) -> None:
        """Write the description as JSON or TOML, chosen by the file's suffix (atomically)."""
        from .io import atomic_write_text

        path = Path(path)
        text = self.to_toml() if path.suffix == ".toml" else self.to_json()
        atomic_write_text(path, text)

    @classmethod
    def load(cls: type[T], path: str | Path) -> T:
        path = Path(path)
        text = path.read_text()
        return cls.from_toml(text) if path.suffix == ".toml" else cls.from_json(text)


def _constant(value: Any) -> Any:
    return lambda: value


def type_key(cls: type) -> str:
    if _REGISTRY.get(cls.__name__) is cls and cls.__module__.startswith("neurosim"):
        return cls.__name__
    return f"{cls.__module__}:{cls.__qualname__}"


def lookup_type(key: str) -> type[Describable]:
    if ":" in key:
        module, _, qualname = key.partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as err:
            raise ParameterError(f"unknown type '{key}': cannot import it ({err})") from None
        return obj
    if key not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise ParameterError(f"unknown type '{key}'; known types: {known}")
    return _REGISTRY[key]


def encode_quantity(q: Quantity) -> str | list[Any]:
    from brian2 import Quantity
    from brian2.units.fundamentalunits import get_dimensions

    arr = np.asarray(q)
    dims = get_dimensions(q)
    if dims == get_dimensions(1):
        return float(arr) if arr.ndim == 0 else arr.tolist()
    unit = _unit_text(q if arr.ndim == 0 else Quantity(1, dim=dims))
    values = np.asarray(q / decode_quantity(f"1 * {unit}"))
    if arr.ndim == 0:
        text = f"{float(values)!r} * {unit}"  # repr: the shortest decimal that reads back to the same float
        if not decode_quantity(text) == q:  # the unit's scale rounded (x/um*um != x): SI units are exact
            text = f"{float(arr)!r} * {_unit_text(Quantity(1, dim=dims))}"
        return text
    return {"values": values.tolist(), "unit": unit}  # type: ignore[return-value]


def _unit_text(q: Quantity) -> str:
    """A unit name that reads back: the best named unit (``ms``), else the SI form
    (``metre * second ** -1``)."""
    from brian2.units.fundamentalunits import get_dimensions, get_unit

    best = q.get_best_unit()
    name = str(best)
    if name in _unit_namespace():
        return name
    return repr(get_unit(get_dimensions(q)))


def decode_quantity(text: str) -> Quantity:
    if not _QUANTITY_RE.match(text):
        raise ParameterError(f"cannot read '{text}' as a quantity; write e.g. '10 * ms' or '0.5 * mV'")
    try:
        return eval(text, {"__builtins__": {}}, _unit_namespace())  # noqa: S307 - restricted namespace
    except Exception as err:  # noqa: BLE001
        raise ParameterError(f"cannot read '{text}' as a quantity: {err}") from None


def encode(value: Any) -> Any:
    from brian2 import Quantity

    if isinstance(value, Describable):
        return value.to_dict()
    if isinstance(value, Quantity):
        return encode_quantity(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if callable(value):
        raise ParameterError(
            f"{value!r} is a Python callable and cannot be written as plain data; "
            "define a Describable subclass (see neurosim.connectivity.CustomKernel) instead"
        )
    return value


def decode(value: Any) -> Any:
    if isinstance(value, Mapping):
        if "type" in value:
            cls = lookup_type(str(value["type"]))
            kwargs = {k: decode(v) for k, v in value.items() if k != "type"}
            names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
            unknown = sorted(set(kwargs) - names)
            if unknown:
                raise ParameterError(f"{cls.__name__}: unknown key(s) {unknown}; allowed: {sorted(names)}")
            return cls(**kwargs)
        if set(value) == {"values", "unit"}:
            return np.asarray(value["values"]) * decode_quantity(f"1 * {value['unit']}")
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(decode(v) for v in value)
    if isinstance(value, str) and _QUANTITY_RE.match(value) and "*" in value:
        return decode_quantity(value)
    return value


def dumps_toml(data: Mapping[str, Any]) -> str:
    """Write nested plain data (as produced by ``to_dict``) as TOML (tomllib reads it back)."""
    lines: list[str] = []
    _toml_table(data, [], lines)
    return "\n".join(lines).strip() + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if v is None:
        raise ParameterError("TOML cannot hold None; leave the key out instead")
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ParameterError(f"cannot write {v!r} as TOML")


def _toml_table(data: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in data.items() if v is not None and not _is_table(v) and not _is_table_list(v)}
    tables = {k: v for k, v in data.items() if _is_table(v)}
    arrays = {k: v for k, v in data.items() if _is_table_list(v)}
    for k, v in scalars.items():
        lines.append(f"{json.dumps(k)} = {_toml_value(v)}")
    for k, v in tables.items():
        lines.append("")
        lines.append("[" + ".".join(json.dumps(p) for p in [*path, k]) + "]")
        _toml_table(v, [*path, k], lines)
    for k, items in arrays.items():
        for item in items:
            lines.append("")
            lines.append("[[" + ".".join(json.dumps(p) for p in [*path, k]) + "]]")
            _toml_table(item, [*path, k], lines)


def _is_table(v: Any) -> bool:
    return isinstance(v, Mapping) and set(v) != {"values", "unit"}


def _is_table_list(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(_is_table(x) for x in v)


def none_field(**kwargs: Any) -> Any:
    """A dataclass field holding an optional value (kept out of TOML when None)."""
    return dataclasses.field(default=None, **kwargs)
