"""``dlresize``: resize the spatial dims of a dlarray (MATLAB's ``dlresize``), nearest
neighbour or (multi)linear, composed from differentiable array ops: per S dim, one gather
with an integer index array (and, for linear, a second gather and a weighted sum). The
gradient — a scatter-add back into the gathered positions — and every higher derivative
therefore come from the tape.
"""

from __future__ import annotations

import math
from typing import Any, List, Optional, Sequence

import numpy as np

from .._arguments import as_dlarray, choice, number
from .._core import FormatError, OptionError, ShapeError, dlarray, stripdims
from .._matlab_names import accept_matlab_names

__all__ = ["dlresize"]

_METHODS = ("nearest", "linear")
_MODES = ("half-pixel", "asymmetric")
_ROUNDING = ("round", "floor")


def _labels(X: dlarray, data_format: Optional[str], op: str) -> str:
    if X.fmt:
        if data_format is not None:
            raise FormatError(f"{op}: the input is formatted '{X.fmt}'; data_format= is only for unformatted input")
        return X.fmt
    if not isinstance(data_format, str):
        raise FormatError(f"{op}: an unformatted input (shape {tuple(X.shape)}) needs data_format=, e.g. 'SSCB'")
    labels = data_format.upper()
    if len(labels) != X.ndim or any(c not in "SCBTU" for c in labels):
        raise FormatError(f"{op}: data_format '{data_format}' does not label the {X.ndim} dims of the input (shape {tuple(X.shape)})")
    return labels


def _per_dim(value: Any, n: int, name: str, op: str) -> List[float]:
    try:
        vals = np.asarray(value, dtype=object).reshape(-1).tolist()
    except (TypeError, ValueError):
        vals = [value]
    if len(vals) not in (1, n):
        raise OptionError(f"{op}: {name} must have 1 or {n} elements (one per 'S' dim), got {value!r}")
    return [v for v in (vals * n if len(vals) == 1 else vals)]


def _round_half_away(u: np.ndarray) -> np.ndarray:
    return np.sign(u) * np.floor(np.abs(u) + 0.5)


def source_coordinates(out: int, size: int, scale: float, mode: str) -> np.ndarray:
    """The input coordinate (0-based, float64) each of ``out`` output positions samples."""
    o = np.arange(out, dtype=np.float64)
    if mode == "half-pixel":
        return (o + 0.5) / scale - 0.5
    return o / scale


def dlresize(
    X: Any,
    *,
    scale: Any = None,
    output_size: Any = None,
    method: str = "nearest",
    geometric_transform_mode: str = "half-pixel",
    nearest_rounding_mode: str = "round",
    data_format: Optional[str] = None,
) -> dlarray:
    """Resize the spatial ('S') dims of ``X``: MATLAB's ``Y = dlresize(X, Scale=s)`` or
    ``dlresize(X, OutputSize=sz)``.

    Give exactly one of ``scale`` (a positive number, or one per S dim) or ``output_size``
    (a positive integer per S dim, or one for all). With ``scale`` the output size is
    ``floor(size · scale)``; the coordinate map uses the given scale (with ``output_size``,
    ``output_size / size``).

    ``geometric_transform_mode``: "half-pixel" (default; output position ``o`` samples input
    coordinate ``u = (o + 0.5) / scale − 0.5``) or "asymmetric" (``u = o / scale``).
    ``method``: "nearest" (default; index ``round(u)``, half away from zero, or ``floor(u)``
    with ``nearest_rounding_mode="floor"``, clamped to the input) or "linear" (``u`` clamped
    to ``[0, size − 1]``, then the two neighbours weighted by distance; over two or three
    S dims this is bilinear or trilinear interpolation).

    ``X`` is formatted (the output keeps its format) or unformatted with ``data_format=``.
    Other dims (C, B, T, U) are untouched.
    """
    op = "dlresize"
    X = as_dlarray(X, op, "X")
    labels = _labels(X, data_format, op)
    method = choice(method, _METHODS, "method", op)
    mode = choice(geometric_transform_mode, _MODES, "geometric_transform_mode", op)
    rounding = choice(nearest_rounding_mode, _ROUNDING, "nearest_rounding_mode", op)
    axes = [i for i, c in enumerate(labels) if c == "S"]
    if not axes:
        raise FormatError(f"{op}: the input (format '{labels}', shape {tuple(X.shape)}) has no 'S' dimension to resize")
    if (scale is None) == (output_size is None):
        raise OptionError(f"{op}: give exactly one of scale= and output_size=")
    sizes = [int(X.shape[a]) for a in axes]
    if scale is not None:
        scales = [number(s, "scale", op, positive=True) for s in _per_dim(scale, len(axes), "scale", op)]
        outs = [int(math.floor(n * s + 1e-9)) for n, s in zip(sizes, scales)]
    else:
        outs = []
        for v in _per_dim(output_size, len(axes), "output_size", op):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
                raise OptionError(f"{op}: output_size must hold positive integers, got {output_size!r}")
            outs.append(int(v))
        scales = [o / n if n else 1.0 for o, n in zip(outs, sizes)]
    for n, o in zip(sizes, outs):
        if n == 0 and o > 0:
            raise ShapeError(f"{op}: cannot resize an empty spatial dim (input shape {tuple(X.shape)}) to size {o}")
        if o < 1:
            raise ShapeError(f"{op}: the scale gives an empty output (input shape {tuple(X.shape)}, sizes {outs})")

    fmt = X.fmt
    y = stripdims(X) if fmt else X
    for a, n, o, s in zip(axes, sizes, outs, scales):
        if o == n and s == 1.0:
            continue
        u = source_coordinates(o, n, s, mode)
        if method == "nearest":
            idx = _round_half_away(u) if rounding == "round" else np.floor(u)
            y = _take(y, np.clip(idx, 0, n - 1).astype(np.int64), a)
        else:
            u = np.clip(u, 0.0, n - 1.0)
            i0 = np.floor(u).astype(np.int64)
            i1 = np.minimum(i0 + 1, n - 1)
            w = (u - i0).astype(X.dtype)
            shape = [1] * y.ndim
            shape[a] = o
            w = w.reshape(shape)
            y = _take(y, i0, a) * (1.0 - w) + _take(y, i1, a) * w
    return dlarray(y, fmt) if fmt else y


def _take(y: dlarray, idx: np.ndarray, axis: int) -> dlarray:
    key: Sequence[Any] = (slice(None),) * axis + (idx,)
    return y[tuple(key)]


accept_matlab_names(globals())
