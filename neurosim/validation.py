"""Parameter checks that fail early with a message naming the parameter, the value and what is allowed.

Every description object validates itself in ``__post_init__`` with these helpers, so bad input is
reported when the description is written, long before anything is built or simulated.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from brian2 import Quantity, Unit


class ParameterError(ValueError):
    """A parameter has a value that is not allowed."""


def describe(value: Any) -> str:
    """A short printable form of ``value`` for error messages."""
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


def fail(owner: str, name: str, value: Any, allowed: str) -> None:
    raise ParameterError(f"{owner}: parameter '{name}' = {describe(value)} is not allowed; {allowed}")


def check_quantity(
    owner: str,
    name: str,
    value: Any,
    unit: Unit,
    *,
    positive: bool = False,
    nonnegative: bool = False,
) -> Quantity:
    """Check that ``value`` is a finite scalar with the dimensions of ``unit``; return it."""
    from brian2 import Quantity
    from brian2.units.fundamentalunits import get_dimensions, have_same_dimensions

    expected = str(unit)
    if not isinstance(value, Quantity) and get_dimensions(unit) != get_dimensions(1):
        fail(owner, name, value, f"expected a quantity in units of {expected} (e.g. 5*{expected})")
    if not have_same_dimensions(value, unit):
        fail(owner, name, value, f"expected units of {expected}")
    arr = np.asarray(value)
    if arr.ndim != 0 or not math.isfinite(float(arr)):
        fail(owner, name, value, f"expected a finite scalar in units of {expected}")
    if positive and not float(arr) > 0:
        fail(owner, name, value, "must be > 0")
    if nonnegative and not float(arr) >= 0:
        fail(owner, name, value, "must be >= 0")
    return value


def check_number(
    owner: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> float:
    """Check a dimensionless finite number within [low, high] (open ends as asked)."""
    from brian2 import Quantity
    from brian2.units.fundamentalunits import have_same_dimensions

    if isinstance(value, Quantity) and not have_same_dimensions(value, 1):
        fail(owner, name, value, "expected a dimensionless number")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating, Quantity)):
        fail(owner, name, value, "expected a number")
    x = float(value)
    if not math.isfinite(x):
        fail(owner, name, value, "expected a finite number")
    if integer and x != int(x):
        fail(owner, name, value, "expected an integer")
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    span = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    if low is not None and (x <= low if low_open else x < low):
        fail(owner, name, value, f"must lie in {span}")
    if high is not None and (x >= high if high_open else x > high):
        fail(owner, name, value, f"must lie in {span}")
    return x


def check_probability(owner: str, name: str, value: Any) -> float:
    return check_number(owner, name, value, low=0.0, high=1.0)


def check_choice(owner: str, name: str, value: Any, choices: Iterable[Any]) -> Any:
    choices = tuple(choices)
    if not any(isinstance(value, type(c)) and value == c for c in choices):  # no array comparisons
        fail(owner, name, value, f"allowed: {', '.join(repr(c) for c in choices)}")
    return value


def check_bool(owner: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        fail(owner, name, value, "expected True or False")
    return bool(value)


def index_tuple(owner: str, name: str, value: Any) -> tuple[int, ...]:
    """Neuron or synapse indices: a sequence (or one) of non-negative integers, as a tuple."""
    arr = np.atleast_1d(np.asarray(value, dtype=object))
    if arr.ndim != 1 or not all(
        isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)) and k >= 0 for k in arr
    ):
        fail(owner, name, value, "expected non-negative integer indices")
    return tuple(int(k) for k in arr)


def check_name(owner: str, name: str, value: Any) -> str:
    """Names become Brian2 identifiers: letters, digits and underscores, not starting with a digit."""
    if not isinstance(value, str) or not value.isidentifier() or value.startswith("_"):
        fail(
            owner,
            name,
            value,
            "expected an identifier (letters, digits, '_'; not starting with a digit or '_')",
        )
    return value


def same_dimensions(a: Any, b: Any) -> bool:
    from brian2 import DimensionMismatchError
    from brian2.units.fundamentalunits import have_same_dimensions

    try:
        return have_same_dimensions(a, b)
    except DimensionMismatchError:  # pragma: no cover - have_same_dimensions does not raise
        return False
