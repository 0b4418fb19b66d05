"""Turning the numeric arguments of the deep-learning ops (weights, biases, per-channel
offsets and scales, statistics) into dlarrays that combine with the op's input.

A numpy array or Python number adopts the input's dtype (MATLAB's ``single`` data keeps
``double`` parameters from promoting it); a dlarray argument is used as it is (formats
stripped: parameters are plain numbers), so it stays traced and gets its gradient.
"""

from __future__ import annotations

from typing import Any, Sequence, Tuple

import numpy as np

from .._core import DTypeError, ShapeError, dlarray, stripdims


def numeric(v: Any, op: str, name: str, kinds: str = "biufc") -> np.ndarray:
    """``v`` as a numpy array whose dtype kind is one of ``kinds``, or an error naming the op
    and the argument: ShapeError for ragged data, DTypeError for strings, objects..."""
    try:
        a = np.asarray(v)
    except ValueError as e:  # ragged nesting: the data has no shape
        raise ShapeError(f"{op}: {name} ({type(v).__name__}) cannot become an array: {e}") from None
    except TypeError as e:
        raise DTypeError(f"{op}: {name} must be a numeric array, got {type(v).__name__} ({e})") from None
    if a.dtype.kind not in kinds:
        what = "numeric" if kinds == "biufc" else "real" if kinds == "biuf" else f"of kind {kinds!r}"
        raise DTypeError(f"{op}: {name} must be {what}, got {type(v).__name__} of dtype {a.dtype}")
    return a


def as_param(v: Any, like: dlarray, op: str, name: str) -> dlarray:
    """``v`` as an unformatted dlarray; non-dlarray values take ``like``'s dtype."""
    if isinstance(v, dlarray):
        return stripdims(v) if v.fmt else v
    a = numeric(v, op, name)
    if np.iscomplexobj(a) and not np.iscomplexobj(np.zeros(0, like.dtype)):
        return dlarray(a)
    return dlarray(a.astype(like.dtype, copy=False))


def channel_param(v: Any, like: dlarray, n_channels: int, op: str, name: str) -> Tuple[dlarray, Tuple[int, ...]]:
    """A per-channel parameter as a 1-D dlarray of length C, and the shape it was given in.

    Accepted: 1-D of length C, or MATLAB's (C, 1). A scalar is accepted too (broadcast over
    the channels, as MATLAB's numeric scalar offset), and its given shape is ().
    """
    p = as_param(v, like, op, name)
    shape = tuple(p.shape)
    if shape == ():
        return p.reshape(()) * np.ones(n_channels, dtype=like.dtype), shape
    if shape not in ((n_channels,), (n_channels, 1)):
        raise ShapeError(
            f"{op}: {name} must have {n_channels} elements as a vector of shape ({n_channels},) or "
            f"({n_channels}, 1) (one per channel), got shape {shape}"
        )
    return p.reshape(n_channels), shape


def along_axis(p: dlarray, axis: int, ndim: int) -> dlarray:
    """A 1-D parameter reshaped to broadcast along ``axis`` of an ``ndim``-d array."""
    shape = [1] * ndim
    shape[axis] = p.shape[0]
    return p.reshape(tuple(shape))


def in_shape(p: dlarray, shape: Sequence[int]) -> dlarray:
    """A per-channel result returned in the shape its parameter was given in (1-D when that
    was a scalar broadcast over several channels)."""
    shape = tuple(shape)
    if tuple(p.shape) == shape or int(np.prod(shape, dtype=np.int64)) != p.size:
        return p
    return p.reshape(shape)
