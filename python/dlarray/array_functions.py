"""Reductions and composite array functions with numpy's names (module level)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import _core
from ._arguments import as_dlarray, show
from ._core import DlIndexError, FormatError, OptionError, ShapeError, dlarray
from ._matlab_names import accept_matlab_names

# Several names a line, as the table was written.
# fmt: off
__all__ = ["concatenate", "cumsum", "max", "mean", "min", "norm", "permute", "prod", "reshape",
           "sum", "transpose"]
# fmt: on

_TYPED = (DlIndexError, FormatError, OptionError, ShapeError)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> dlarray:  # noqa: A001 - numpy's name
    """Sum over ``axis`` (None or MATLAB's ``"all"``: every element; an int, a tuple, or a
    format letter such as "S"). ``"all"`` works for ``mean``, ``prod``, ``max``, ``min`` and
    the methods (``X.sum("all")``) too."""
    return as_dlarray(x, "sum", "x").sum(axis, keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> dlarray:
    """Mean over ``axis`` (None: all; an int, a tuple, or a format letter).

    A reduction drops the reduced dims and their labels unless ``keepdims=True`` (numpy's rule;
    MATLAB's ``mean(X, dim)`` keeps them, which is ``keepdims=True``).

    >>> import numpy as np
    >>> from dlarray import dlarray, mean
    >>> X = dlarray(np.ones((4, 4, 3, 2), np.float32), "SSCB")
    >>> Y = mean(X, "S")
    >>> Y.shape, Y.fmt
    ((3, 2), 'CB')
    >>> mean(X, "S", keepdims=True).shape
    (1, 1, 3, 2)
    """
    return as_dlarray(x, "mean", "x").mean(axis, keepdims)


def prod(x: Any, axis: Any = None, keepdims: bool = False) -> dlarray:
    """Product over ``axis`` (None: all; an int, a tuple, or a format letter).

    Differentiable to any order, also where elements are zero.

    >>> from dlarray import dlarray, prod
    >>> float(prod(dlarray([1.0, 2.0, 3.0])))
    6.0
    """
    return as_dlarray(x, "prod", "x").prod(axis, keepdims)


def _matlab_dim(axis: Any, keepdims: Any) -> tuple:
    """MATLAB's ``max(X, [], dim)``: an empty second operand (``[]`` or ``()``) followed by
    a dimension (``"all"``, a format letter, an int) is ``max(X, dim)``."""
    if isinstance(axis, (list, tuple)) and len(axis) == 0 and not isinstance(keepdims, (bool, np.bool_)):
        return keepdims, False
    return axis, keepdims


def max(x: Any, axis: Any = None, keepdims: bool = False) -> dlarray:  # noqa: A001
    """Largest element over ``axis`` (for two arrays use ``maximum``). MATLAB's
    ``max(X, [], "all")`` and ``max(X, [], dim)`` are accepted as ``max(X, dim)``."""
    axis, keepdims = _matlab_dim(axis, keepdims)
    return as_dlarray(x, "max", "x").max(axis, keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> dlarray:  # noqa: A001
    """Smallest element over ``axis`` (for two arrays use ``minimum``). MATLAB's
    ``min(X, [], "all")`` and ``min(X, [], dim)`` are accepted as ``min(X, dim)``.

    At ties the gradient is split evenly between the tied elements.
    """
    axis, keepdims = _matlab_dim(axis, keepdims)
    return as_dlarray(x, "min", "x").min(axis, keepdims)


def cumsum(x: Any, axis: Any = None, reverse: bool = False) -> dlarray:
    """Cumulative sum along ``axis`` (None: over the flattened array, as numpy);
    ``reverse=True`` sums from the end (MATLAB's ``cumsum(X, dim, "reverse")``).

    >>> from dlarray import dlarray, cumsum
    >>> cumsum(dlarray([1.0, 2.0, 3.0])).tolist()
    [1.0, 3.0, 6.0]
    >>> cumsum(dlarray([1.0, 2.0, 3.0]), reverse=True).tolist()
    [6.0, 5.0, 3.0]
    """
    return as_dlarray(x, "cumsum", "x").cumsum(axis, reverse)


def norm(x: Any, ord: Optional[float] = 2, axis: Any = None, keepdims: bool = False) -> dlarray:
    """Vector p-norm over ``axis`` (all elements by default): 2, 1, any p > 0, or inf.

    The norm is not differentiable at the zero vector; its gradient there is taken as 0 (the
    subgradient PyTorch uses), and so are its higher derivatives, so a zero vector never puts
    a NaN into a sum of gradients. (Where the formula itself is infinite, it stays so: for
    0 < p < 1 the derivative at a zero element, for 1 < p < 2 the second derivative.)
    """
    x = as_dlarray(x, "norm", "x")
    if ord is not None and (isinstance(ord, (bool, np.bool_)) or not isinstance(ord, (int, float, np.integer, np.floating))):
        raise OptionError(f"norm: ord must be a positive number or inf, got {show(ord)}")
    if ord is not None and not ord > 0:
        raise OptionError(f"norm: ord must be positive or inf, got {ord}")
    try:
        if ord is None or ord == 2:
            # x·x (or |re|² + |im|²), not abs(x)², whose second derivative at 0 is lost to abs's
            # piecewise-constant slope.
            sq = x * x if np.dtype(x.dtype).kind == "f" else _core.real(x * _core.conj(x))
            return _root(sq.sum(axis, keepdims), 0.5)
        a = abs(x)
        if ord == 1:
            return a.sum(axis, keepdims)
        if ord == float("inf"):
            return a.max(axis, keepdims)
        return _root((a**ord).sum(axis, keepdims), 1.0 / ord)
    except _TYPED as e:  # the reduction's error (a bad axis), told as norm's
        raise type(e)(f"norm: {e}") from None


def _root(s: dlarray, e: float) -> dlarray:
    """``s ** e`` for a sum of powers ``s >= 0``, with derivatives 0 where ``s == 0``: the
    power's slope (infinite there) is never formed, because the zero entries are replaced by 1
    before it and their result by 0 after it, and a ``where`` passes nothing back through the
    branch it did not take."""
    zero = np.asarray(s) == 0
    if not zero.any():
        return s**e
    return _core.where(zero, 0.0, _core.where(zero, 1.0, s) ** e)


def reshape(x: Any, *shape: Any, order: str = "C") -> dlarray:
    """numpy's ``reshape``: row-major by default, ``order="F"`` for MATLAB's column-major
    ``reshape``. One dim may be -1 (MATLAB's ``[]``). The result is unformatted.

    >>> import numpy as np
    >>> from dlarray import dlarray, reshape
    >>> X = dlarray(np.arange(6.0))
    >>> reshape(X, 2, 3).tolist()
    [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    >>> reshape(X, (2, -1), order="F").tolist()
    [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]
    """
    return as_dlarray(x, "reshape", "x").reshape(*shape, order=order)


def _axes(axes: Any, op: str) -> tuple:
    """A permutation's axes as a tuple of ints (the core checks it is a permutation)."""
    try:
        items = tuple(axes)
    except TypeError:
        items = None
    if (
        items is None
        or isinstance(axes, (str, bytes))
        or not all(isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)) for a in items)
    ):
        raise OptionError(f"{op}: axes must be a sequence of 0-based ints, got {show(axes)}")
    return tuple(int(a) for a in items)


def permute(x: Any, axes: Any) -> dlarray:
    """MATLAB's ``permute`` with 0-based axes (numpy's ``transpose``); unformatted result.

    >>> import numpy as np
    >>> from dlarray import dlarray, permute
    >>> permute(dlarray(np.zeros((2, 3, 4))), (1, 0, 2)).shape
    (3, 2, 4)
    """
    x = as_dlarray(x, "permute", "x")
    try:
        return x.transpose(_axes(axes, "permute"))
    except _TYPED as e:  # the core's error names transpose
        raise type(e)(f"permute: {e}") from None


def transpose(x: Any, axes: Any = None) -> dlarray:
    """numpy's ``transpose``: reverses the dims, or permutes them by ``axes`` (0-based).
    The result is unformatted.

    >>> import numpy as np
    >>> from dlarray import dlarray, transpose
    >>> transpose(dlarray(np.zeros((2, 3, 4)))).shape
    (4, 3, 2)
    """
    x = as_dlarray(x, "transpose", "x")
    return x.transpose() if axes is None else x.transpose(_axes(axes, "transpose"))


def concatenate(arrays: Any, axis: Any = 0) -> dlarray:
    """Joins arrays along an existing axis (an int or a format letter; formats must agree),
    numpy's ``concatenate``: ``axis=None`` joins the flattened arrays (unformatted result)."""
    return _core.concatenate(arrays, axis)


accept_matlab_names(globals())
