"""numpy's array-function protocol (NEP 18) for dlarray.

``dlarray.__array_function__`` (rust/py/src/array.rs) forwards here. The rule
(docs/decisions.md, "numpy functions on dlarrays"):

* A numpy function in ``_TABLE`` runs dlarray's own function, with numpy's signature: the
  result is a dlarray (formats as the dlarray function gives them) and, inside ``dlfeval``,
  it is traced. numpy-only keywords (``out``, ``dtype``, ``where``, ``initial``,
  ``casting``) must be absent or at their default; otherwise ``OptionError`` names the numpy
  function, the keyword and what to do instead.
* A few functions whose results carry no gradient (shape and dtype queries, boolean and
  integer results: ``allclose``, ``argmax``, ...) are in ``_DATA_ONLY``: they run numpy on
  the data, traced or not.
* Any other numpy function: when a dlarray argument is traced (inside ``dlfeval``), it
  raises ``AutodiffError`` (numpy would silently drop the trace); otherwise numpy runs on the
  data (each dlarray, also inside lists and tuples, becomes ``numpy.asarray`` of it) and its
  result is returned, as numpy did before the protocol existed.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Iterable, Tuple

import numpy as np

from . import _core
from . import array_functions as _af
from ._arguments import show
from ._core import AutodiffError, OptionError, dlarray

#: What numpy passes for a keyword that was not given (numpy only passes what the caller
#: wrote, but a caller may forward numpy's own default).
_ABSENT: Any = getattr(np, "_NoValue", object())

_ALTERNATIVE = {
    "out": "assign the result instead (Y = {f}(X, ...))",
    "dtype": "convert first with X.astype(dtype)",
    "where": "mask the input first with dlarray.where(mask, X, neutral_value)",
    "initial": "combine the result with the initial value afterwards (+, *, dlarray.maximum, dlarray.minimum)",
    "casting": "convert the inputs first with X.astype(dtype)",
}

#: Hints for the unmapped functions one reaches for most.
_HINT = {
    "copy": "X.copy()",
    "dot": "dlarray.matmul or @",
    "inner": "dlarray.matmul or @",
    "clip": "dlarray.maximum and dlarray.minimum",
    "var": "dlarray.mean((X - dlarray.mean(X)) ** 2)",
    "std": "dlarray.sqrt of the variance from dlarray.mean",
    "abs": "abs(X)",
    "atleast_2d": "dlarray.reshape",
}


def _name(func: Any) -> str:
    module = getattr(func, "__module__", None) or "numpy"
    return f"{module}.{getattr(func, '__name__', repr(func))}"


def _numpy_only(name: str, **given: Any) -> None:
    """OptionError for a numpy-only keyword that is not at its default."""
    for key, value in given.items():
        if value is None or value is _ABSENT:
            continue
        if key == "where" and value is True:
            continue
        if key == "casting" and value == "same_kind":
            continue
        alt = _ALTERNATIVE[key].format(f=f"numpy.{name}")
        raise OptionError(f"numpy.{name}: the keyword {key}={show(value)} is not supported for a dlarray; {alt}")


def _keep(keepdims: Any) -> Any:
    return False if keepdims is _ABSENT else keepdims


# ----- the table --------------------------------------------------------------------------

_TABLE: Dict[Any, Callable[..., Any]] = {}


def _implements(*funcs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        for f in funcs:
            if f is not None:
                _TABLE[f] = impl
        return impl

    return register


def _reduction(name: str, method: str, *numpy_funcs: Any, has_dtype: bool = True, has_initial: bool = True) -> None:
    def with_initial(
        a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = _ABSENT, initial: Any = _ABSENT, where: Any = _ABSENT
    ) -> dlarray:  # sum, prod
        _numpy_only(name, dtype=dtype, out=out, initial=initial, where=where)
        return getattr(_af, method)(a, axis, _keep(keepdims))

    def without_initial(
        a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = _ABSENT, *, where: Any = _ABSENT
    ) -> dlarray:  # mean
        _numpy_only(name, dtype=dtype, out=out, where=where)
        return getattr(_af, method)(a, axis, _keep(keepdims))

    def without_dtype(
        a: Any, axis: Any = None, out: Any = None, keepdims: Any = _ABSENT, initial: Any = _ABSENT, where: Any = _ABSENT
    ) -> dlarray:  # max, min
        _numpy_only(name, out=out, initial=initial, where=where)
        return getattr(_af, method)(a, axis, _keep(keepdims))

    impl = (with_initial if has_initial else without_initial) if has_dtype else without_dtype
    impl.__name__ = impl.__qualname__ = name
    _implements(*numpy_funcs)(impl)


_reduction("sum", "sum", np.sum)
_reduction("prod", "prod", np.prod)
_reduction("mean", "mean", np.mean, has_initial=False)
_reduction("max", "max", np.max, np.amax, has_dtype=False)
_reduction("min", "min", np.min, np.amin, has_dtype=False)


@_implements(np.cumsum)
def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> dlarray:
    _numpy_only("cumsum", dtype=dtype, out=out)
    return _af.cumsum(a, axis)


@_implements(np.concatenate)
def concatenate(arrays: Any, /, axis: Any = 0, out: Any = None, *, dtype: Any = None, casting: Any = "same_kind") -> dlarray:
    _numpy_only("concatenate", out=out, dtype=dtype, casting=casting)
    return _af.concatenate(arrays, axis)


@_implements(np.stack)
def stack(arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None, casting: Any = "same_kind") -> dlarray:
    _numpy_only("stack", out=out, dtype=dtype, casting=casting)
    return _core.stack(arrays, axis)


_MISSING = object()


@_implements(np.where)
def where(condition: Any, x: Any = _MISSING, y: Any = _MISSING, /) -> Any:
    if x is _MISSING and y is _MISSING:  # where(condition): numpy's nonzero, indices only
        return _data_only(np.where, (condition,), {})
    if x is _MISSING or y is _MISSING:
        raise OptionError("numpy.where: give both x and y, or neither")
    return _core.where(condition, x, y)


@_implements(np.reshape)
def reshape(a: Any, /, shape: Any, order: str = "C", *, copy: Any = None) -> dlarray:
    # copy is moot: a dlarray never shares writable data (docs/decisions.md).
    return _af.reshape(a, shape, order=order)


@_implements(np.ravel)
def ravel(a: Any, order: str = "C") -> dlarray:
    return _af.reshape(a, -1, order="F" if order in ("F", "f") else "C")


@_implements(np.transpose)
def transpose(a: Any, axes: Any = None) -> dlarray:
    return _af.transpose(a, axes)


@_implements(np.squeeze)
def squeeze(a: Any, axis: Any = None) -> dlarray:
    return _core.squeeze(a, axis)


@_implements(np.flip)
def flip(m: Any, axis: Any = None) -> dlarray:
    return _core.flip(m, axis)


@_implements(np.tile)
def tile(A: Any, reps: Any) -> dlarray:  # noqa: N803 - numpy's name
    return _core.repmat(A, *np.asarray(reps).reshape(-1).tolist())


@_implements(np.real)
def real(val: Any) -> dlarray:
    return _core.real(val)


@_implements(np.imag)
def imag(val: Any) -> dlarray:
    return _core.imag(val)


@_implements(np.angle)
def angle(z: Any, deg: bool = False) -> dlarray:
    a = _core.angle(z)
    return a * (180.0 / math.pi) if deg else a


@_implements(np.round, np.around)
def round(a: Any, decimals: Any = 0, out: Any = None) -> dlarray:  # noqa: A001 - numpy's name
    _numpy_only("round", out=out)
    d = int(decimals)
    if d == 0:
        return _core.round(a)
    # numpy's own steps: scale, round half to even, scale back.
    if d > 0:
        return _core.round(a * 10.0**d) / 10.0**d
    return _core.round(a / 10.0**-d) * 10.0**-d


@_implements(np.shape)
def shape(a: Any) -> Tuple[int, ...]:
    return tuple(a.shape)


@_implements(np.ndim)
def ndim(a: Any) -> int:
    return int(a.ndim)


@_implements(np.size)
def size(a: Any, axis: Any = None) -> int:
    if axis is None:
        return int(a.size)
    return int(np.prod([a.shape[int(i)] for i in np.asarray(axis).reshape(-1).tolist()], dtype=np.int64))


def _matrix_norm(x: dlarray, ord: Any, axes: Tuple[int, int], keepdims: bool) -> dlarray:
    r, c = axes
    if ord is None or ord == "fro":
        return _af.norm(x, None, axes, keepdims)
    if isinstance(ord, str) or ord not in (1, -1, math.inf, -math.inf):
        raise OptionError(
            f"numpy.linalg.norm: the matrix norm ord={show(ord)} needs singular values, which "
            "dlarray does not compute; use ord=None, 'fro', 1, -1, inf or -inf, or "
            "numpy.linalg.norm(extractdata(X), ...) outside dlfeval"
        )
    a = abs(x)
    inner, outer = (r, c) if ord in (1, -1) else (c, r)
    s = a.sum(inner, True)
    res = s.max(outer, True) if ord > 0 else s.min(outer, True)
    return res if keepdims else _core.squeeze(res, axes)


@_implements(np.linalg.norm)
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> dlarray:
    nd = x.ndim
    if isinstance(axis, Iterable) and not isinstance(axis, (str, bytes)):
        axis = tuple(axis)
        if len(axis) == 2:
            r, c = (int(a) + nd if int(a) < 0 else int(a) for a in axis)
            if r == c:
                raise OptionError("numpy.linalg.norm: the two axes of a matrix norm must differ")
            return _matrix_norm(x, ord, (r, c), keepdims)
        if len(axis) != 1:
            raise OptionError(f"numpy.linalg.norm: axis must be an int or a pair of ints, got {show(axis)}")
    elif axis is None and ord is not None:
        if nd == 2:
            return _matrix_norm(x, ord, (0, 1), keepdims)
        if nd != 1:
            raise OptionError(f"numpy.linalg.norm: ord={show(ord)} without axis needs a 1-D or 2-D array, got {nd}-D")
    if isinstance(ord, str):
        raise OptionError(f"numpy.linalg.norm: ord={show(ord)} is a matrix norm; give a pair of axes")
    return _af.norm(x, ord, axis, keepdims)


# ----- functions whose result carries no gradient: numpy on the data, traced or not --------

_DATA_ONLY = {
    f
    for f in (
        np.result_type,
        np.iscomplexobj,
        np.isrealobj,
        np.allclose,
        np.isclose,
        np.array_equal,
        np.array_equiv,
        np.count_nonzero,
        np.argmax,
        np.argmin,
        np.nonzero,
        np.flatnonzero,
        np.argwhere,
        np.any,
        np.all,
        np.argsort,
    )
}


def _data(value: Any) -> Any:
    """Each dlarray as ``numpy.asarray`` of it, also inside lists and tuples."""
    if isinstance(value, dlarray):
        return np.asarray(value)
    if isinstance(value, list):
        return [_data(v) for v in value]
    if type(value) is tuple:
        return tuple(_data(v) for v in value)
    return value


def _traced(value: Any) -> bool:
    if isinstance(value, dlarray):
        return bool(value.traced)
    if isinstance(value, (list, tuple)):
        return any(_traced(v) for v in value)
    return False


def _data_only(func: Any, args: Any, kwargs: Dict[str, Any]) -> Any:
    return func(*_data(tuple(args)), **{k: _data(v) for k, v in kwargs.items()})


def _handled(t: type) -> bool:
    return issubclass(t, (dlarray, np.ndarray))


def array_function(func: Any, types: Any, args: Any, kwargs: Dict[str, Any]) -> Any:
    """``dlarray.__array_function__``: the rule in this module's docstring."""
    impl = _TABLE.get(func)
    if impl is not None and all(_handled(t) for t in types):
        return impl(*args, **kwargs)
    if func in _DATA_ONLY:
        return _data_only(func, args, kwargs)
    if _traced(tuple(args)) or _traced(tuple(kwargs.values())):
        name = _name(func)
        short = getattr(func, "__name__", "")
        hint = _HINT.get(short, "dlarray's own functions")
        raise AutodiffError(
            f"{name} would drop the trace of a traced dlarray (inside dlfeval): dlarray does not map it; "
            f"use {hint} to keep the gradient, or {name}(extractdata(X), ...) for the untraced data"
        )
    return _data_only(func, args, kwargs)
