"""Reductions and composite array functions with numpy's names (module level)."""

from __future__ import annotations

from typing import Any, Optional

from . import _core
from ._core import OptionError, dlarray


def _dl(x: Any) -> dlarray:
    return x if isinstance(x, dlarray) else dlarray(x)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> dlarray:  # noqa: A001 - numpy's name
    """Sum over ``axis`` (None: all; an int, a tuple, or a format letter such as "S")."""
    return _dl(x).sum(axis, keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> dlarray:
    return _dl(x).mean(axis, keepdims)


def prod(x: Any, axis: Any = None, keepdims: bool = False) -> dlarray:
    return _dl(x).prod(axis, keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> dlarray:  # noqa: A001
    """Largest element over ``axis`` (for two arrays use ``maximum``)."""
    return _dl(x).max(axis, keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> dlarray:  # noqa: A001
    return _dl(x).min(axis, keepdims)


def cumsum(x: Any, axis: Any = None, reverse: bool = False) -> dlarray:
    return _dl(x).cumsum(axis, reverse)


def norm(x: Any, ord: Optional[float] = 2, axis: Any = None, keepdims: bool = False) -> dlarray:
    """Vector p-norm over ``axis`` (all elements by default): 2, 1, any p > 0, or inf.

    The 2-norm of an all-zero vector has an undefined gradient (as in numpy/PyTorch's
    formula); it is NaN here.
    """
    x = _dl(x)
    a = abs(x)
    if ord is None or ord == 2:
        return (a * a).sum(axis, keepdims) ** 0.5
    if ord == 1:
        return a.sum(axis, keepdims)
    if ord == float("inf"):
        return a.max(axis, keepdims)
    if ord > 0:
        return (a**ord).sum(axis, keepdims) ** (1.0 / ord)
    raise OptionError(f"norm: ord must be positive or inf, got {ord}")


def reshape(x: Any, *shape: Any, order: str = "C") -> dlarray:
    return _dl(x).reshape(*shape, order=order)


def permute(x: Any, axes: Any) -> dlarray:
    """MATLAB's ``permute`` with 0-based axes (numpy's ``transpose``)."""
    return _dl(x).transpose(tuple(axes))


def transpose(x: Any, axes: Any = None) -> dlarray:
    return _dl(x).transpose() if axes is None else _dl(x).transpose(tuple(axes))


def concatenate(arrays: Any, axis: Any = 0) -> dlarray:
    """Joins arrays along an existing axis (an int or a format letter; formats must agree),
    numpy's ``concatenate``: ``axis=None`` joins the flattened arrays (unformatted result)."""
    return _core.concatenate(arrays, axis)
