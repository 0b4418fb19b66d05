"""MATLAB's weight initialisers, by name or as a callable ``fn(shape) -> array``.

=================== =================================================================
``"glorot"``        U(−a, a), a = sqrt(6 / (fan_in + fan_out)) (Xavier uniform; MATLAB's
                    default for convolution, fully connected and recurrent input weights)
``"he"``            N(0, 2 / fan_in)
``"orthogonal"``    Q of the QR decomposition of a standard-normal matrix (default for
                    recurrent weights); non-square weights get orthonormal columns (rows
                    when wider than tall)
``"narrow-normal"`` N(0, 0.01²)
``"zeros"``/``"ones"`` constants
``"unit-forget-gate"`` LSTM bias: the forget-gate block (the second quarter, MATLAB's gate
                    order i, f, g, o) is 1, the rest 0
=================== =================================================================

A callable receives the parameter's shape (a tuple, MATLAB's layout) and returns an array of
that shape (numpy or dlarray). Random draws use numpy's global random state, which plays
the part of MATLAB's ``rng`` (seed it with ``dlarray.rng(seed)``, see ``dlarray._random``).

Fan-in and fan-out follow MATLAB: convolution fan-in = prod(filter_size)·channels/groups,
fan-out = prod(filter_size)·num_filters; fully connected fan-in = input size, fan-out =
output size; recurrent input weights (4H, C) fan-in C, fan-out 4H.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Callable, Tuple, Union

import numpy as np

from .. import _random
from .._core import DTypeError, OptionError, OutOfMemoryError, ShapeError, dlarray, extractdata

__all__ = ["NAMES", "Initializer", "check_initializer", "initialize"]

Initializer = Union[str, Callable[[Tuple[int, ...]], Any]]

NAMES = ("glorot", "he", "orthogonal", "narrow-normal", "zeros", "ones", "unit-forget-gate")


def check_initializer(init: Any, option: str, layer: str) -> Initializer:
    """Validate an initialiser option when the layer is constructed (not at initialisation)."""
    if callable(init):
        return init
    if isinstance(init, str) and init.lower() in NAMES:
        return init.lower()
    raise OptionError(f"{layer}: {option} must be one of {list(NAMES)} or a callable fn(shape), got {init!r}")


def _orthogonal(shape: Tuple[int, ...]) -> np.ndarray:
    rows, cols = shape[0], int(np.prod(shape[1:])) if len(shape) > 1 else 1
    tall = rows >= cols
    z = _random.normal((rows, cols) if tall else (cols, rows))
    q, r = np.linalg.qr(z)
    q = q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))  # a uniformly distributed Q
    return (q if tall else q.T).reshape(shape)


def initialize(
    init: Initializer, shape: Tuple[int, ...], fan_in: int = 1, fan_out: int = 1, dtype: Any = np.float32, layer: str = "layer"
) -> dlarray:
    """A new unformatted dlarray of ``shape`` drawn from initialiser ``init``."""
    shape = tuple(int(s) for s in shape)
    if callable(init):
        value = init(shape)
        try:
            data = extractdata(value) if isinstance(value, dlarray) else np.asarray(value)
        except (ValueError, TypeError):
            data = np.asarray(None)
        if data.dtype.kind not in "biuf":
            raise DTypeError(f"{layer}: the initializer returned {type(value).__name__} of dtype {data.dtype}, not real numbers")
        if tuple(data.shape) != shape and data.size == int(np.prod(shape)) and data.ndim <= 1:
            data = data.reshape(shape)
        if tuple(data.shape) != shape:
            raise ShapeError(f"{layer}: the initializer returned shape {tuple(data.shape)}, expected {shape}")
        return dlarray(np.asarray(data, dtype=dtype))
    try:
        return dlarray(np.asarray(_draw(init.lower(), shape, fan_in, fan_out, layer), dtype=dtype))
    except MemoryError:
        raise OutOfMemoryError(f"{layer}: cannot allocate a parameter of shape {shape}") from None


def _draw(name: str, shape: Tuple[int, ...], fan_in: int, fan_out: int, layer: str) -> np.ndarray:
    """Values of ``shape`` from the named initialiser (float64; cast by the caller)."""
    if math.prod(shape) * 8 > sys.maxsize:  # more bytes than numpy can address
        raise MemoryError
    if name == "glorot":
        a = np.sqrt(6.0 / max(fan_in + fan_out, 1))  # no fan at all: a zero-size parameter
        data = _random.uniform(-a, a, shape)
    elif name == "he":
        data = _random.normal(shape) * np.sqrt(2.0 / max(fan_in, 1))
    elif name == "orthogonal":
        data = _orthogonal(shape)
    elif name == "narrow-normal":
        data = _random.normal(shape) * 0.01
    elif name == "zeros":
        data = np.zeros(shape)
    elif name == "ones":
        data = np.ones(shape)
    elif name == "unit-forget-gate":
        if shape[0] % 4:
            raise ShapeError(f"{layer}: 'unit-forget-gate' needs a bias of 4·H rows, got shape {shape}")
        h = shape[0] // 4
        data = np.zeros(shape)
        data[h : 2 * h] = 1.0
    else:  # pragma: no cover - rejected by check_initializer
        raise OptionError(f"{layer}: unknown initializer {name!r}")
    return data
