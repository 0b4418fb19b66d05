"""Checking the arguments of the public functions, once for all of them: flags, numbers,
integers, MATLAB string choices, and conversion to a dlarray.

Each check raises a dlarray error naming the function and the argument and showing the value
given (``OptionError`` for options, ``DTypeError`` for data that cannot become a dlarray), so
a wrong type — a string stride, a list epsilon, ragged data — never reaches numpy or the core.
"""

from __future__ import annotations

import math
import sys
from typing import Any, List, Optional, Sequence

import numpy as np

from . import _core
from ._core import DTypeError, OptionError, dlarray

#: Sizes and counts travel to the core as 64-bit integers.
MAX_SIZE = sys.maxsize


def show(value: Any, limit: int = 80) -> str:
    """``repr(value)``, shortened for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def flag(value: Any, name: str, op: str) -> bool:
    """A True/False option (numpy's bool too; not 0/1 or a string)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise OptionError(f"{op}: {name} must be True or False, got {show(value)}")


def number(
    value: Any,
    name: str,
    op: str,
    *,
    finite: bool = True,
    positive: bool = False,
    low: Optional[float] = None,
    high: Optional[float] = None,
) -> float:
    """A real number option (a Python or numpy scalar, not a bool or a string), optionally
    finite, positive or within [low, high]."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if not ok:
        raise OptionError(f"{op}: {name} must be a real number, got {show(value)}")
    v = float(value)
    if (finite or positive or low is not None or high is not None) and not math.isfinite(v):
        raise OptionError(f"{op}: {name} must be a finite number, got {show(value)}")
    if positive and v <= 0:
        raise OptionError(f"{op}: {name} must be positive, got {show(value)}")
    if (low is not None and v < low) or (high is not None and v > high):
        raise OptionError(f"{op}: {name} must be in [{low:g}, {high:g}], got {show(value)}")
    return v


def integer(value: Any, name: str, op: str, minimum: int = 1) -> int:
    """An integer option of at least ``minimum`` (an integral float is accepted, as MATLAB)."""
    vals = int_values(value, name, op, max_ndim=0)
    if vals[0] < minimum:
        raise OptionError(f"{op}: {name} must be an integer of at least {minimum}, got {show(value)}")
    return vals[0]


def choice(value: Any, allowed: Sequence[str], name: str, op: str) -> str:
    """A MATLAB string option (case-insensitive) checked against ``allowed``; lower case."""
    if not isinstance(value, str) or value.lower() not in allowed:
        raise OptionError(f"{op}: {name} must be one of {', '.join(repr(a) for a in allowed)}, got {show(value)}")
    return value.lower()


def int_values(value: Any, name: str, op: str, max_ndim: int = 1) -> List[int]:
    """A number or a sequence of numbers (at most ``max_ndim`` dims) as Python ints:
    integral values only, none beyond 64 bits."""

    def bad() -> OptionError:
        # Built only on failure: the value's repr costs more than the checks.
        return OptionError(f"{op}: {name} must be {'an integer' if max_ndim == 0 else 'integers'}, got {show(value)}")

    if value is None or isinstance(value, (str, bytes, bool, np.bool_, dict)):
        raise bad()
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        raise bad() from None
    if arr.dtype.kind not in "iuf" or arr.ndim > max_ndim:
        raise bad()
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
        raise bad()
    vals = [int(v) for v in arr.reshape(-1)]
    if any(abs(v) > MAX_SIZE for v in vals):
        raise OptionError(f"{op}: {name} {show(value)} is too large (at most {MAX_SIZE})")
    return vals


_TYPED = tuple(getattr(_core, n) for n in ("ShapeError", "FormatError", "OptionError", "DTypeError", "DlIndexError") if hasattr(_core, n))


def as_dlarray(x: Any, op: str, name: str = "the input") -> dlarray:
    """``x`` itself when it is a dlarray, else ``dlarray(x)``; a value that cannot become one
    raises the constructor's error class (ShapeError for ragged data, DTypeError for data that
    is not numeric) with ``op`` and ``name`` in front."""
    if isinstance(x, dlarray):
        return x
    try:
        return dlarray(x)
    except _TYPED as e:
        text = str(e)
        text = text[len("dlarray: ") :] if text.startswith("dlarray: ") else text
        raise type(e)(f"{op}: {name} ({type(x).__name__}): {text}") from None
    except ValueError as e:  # numpy could not build an array: ragged nesting, no shape
        raise _core.ShapeError(f"{op}: {name} ({type(x).__name__}) cannot become a dlarray: {e}") from None
    except TypeError as e:
        raise DTypeError(f"{op}: {name} ({type(x).__name__}) cannot become a dlarray: {e}") from None
