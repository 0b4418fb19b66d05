"""Position layers for transformer networks: ``sinusoidalPositionEncodingLayer(outputSize)``
and ``positionEmbeddingLayer(outputSize, maxPosition)``.

Both output the *encoding* of the positions of their input, not the input plus the encoding:
as in MATLAB, add it to the input with an ``additionLayer`` (the input feeds both). The
output keeps the input's format and sizes, with C replaced by ``output_size`` (the
encoding is repeated over B and any dim that is not the position dim), so it adds to an
embedded sequence of ``output_size`` channels directly.

Positions are 0-based indices along T (sequences, ``"auto"``) or along the one S dim
(1-D images, ``"auto"`` without T).
"""

from __future__ import annotations

import numpy as np

from .._arguments import choice
from .._core import FormatError, OptionError, ShapeError, cos, dlarray, sin, stack, stripdims
from . import initializers
from .base import Layer, as_param, check_shape, set_factors

# Several names a line, as the table was written.
# fmt: off
__all__ = ["PositionEmbeddingLayer", "SinusoidalPositionEncodingLayer", "positionEmbeddingLayer",
           "sinusoidalPositionEncodingLayer"]
# fmt: on


def _nn():
    from .. import nn

    return nn


def _positive(value, option, who, even=False):
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)) or value < 1 or (even and value % 2):
        raise OptionError(f"{who}: {option} must be {'an even' if even else 'a'} positive integer, got {value!r}")
    return int(value)


def _position_dim(X, mode: str, who: str) -> int:
    """The index of the dim whose indices are the positions ("temporal" or "spatial")."""
    fmt = X.fmt or ""
    if "C" not in fmt:
        raise FormatError(f"{who}: the input (format '{fmt}', shape {tuple(X.shape)}) must be formatted with a 'C' dimension")
    if mode == "auto":
        mode = "temporal" if "T" in fmt else "spatial"
    if mode == "temporal":
        if "T" not in fmt:
            raise FormatError(f"{who}: temporal positions need a 'T' dimension; the input has format '{fmt}'")
        return fmt.index("T")
    if fmt.count("S") != 1:
        raise FormatError(f"{who}: spatial positions need exactly one 'S' dimension (1-D image input); the input has format '{fmt}'")
    return fmt.index("S")


def _broadcast_index(X, dim: int) -> np.ndarray:
    """0-based position indices of X's shape with C of size 1, varying along ``dim``."""
    shape = list(X.shape)
    c = X.fmt.index("C")
    shape[c] = 1
    along = [1] * X.ndim
    along[dim] = shape[dim]
    return np.broadcast_to(np.arange(shape[dim]).reshape(along), shape)


def sinusoidal_table(positions: np.ndarray, output_size: int) -> np.ndarray:
    """``(output_size, *positions.shape)``: channel 2k is sin(p / 10000^(2k/d)), channel
    2k+1 cos(p / 10000^(2k/d)), d = output_size (float64)."""
    k = np.arange(output_size // 2, dtype=np.float64)
    freq = 1.0 / 10000.0 ** (2.0 * k / output_size)
    angle = freq.reshape((-1,) + (1,) * positions.ndim) * positions[None].astype(np.float64)
    return np.stack([np.sin(angle), np.cos(angle)], axis=1).reshape((output_size,) + positions.shape)


class SinusoidalPositionEncodingLayer(Layer):
    """MATLAB's ``sinusoidalPositionEncodingLayer(outputSize)`` (R2023b): maps positions to
    ``output_size`` channels (an even number) with sines and cosines of geometrically spaced
    frequencies (Vaswani et al.): for position ``p`` and ``k = 0 … d/2 − 1``, channel ``2k``
    is ``sin(p / 10000^(2k/d))`` and channel ``2k + 1`` is ``cos(p / 10000^(2k/d))``.

    ``positions``: ``"auto"`` (default; temporal indices for input with T, spatial indices
    for 1-D image input, the input's values otherwise), ``"temporal-indices"``,
    ``"spatial-indices"`` or ``"data-values"`` (the input's values are the positions; its C
    dim must have size 1, and the encoding is differentiable in them). Indices are 0-based.
    No learnables.

    Example (the encoding added to the embedded words)::

        net = dlnetwork([sequenceInputLayer(1), embeddingLayer(8, 100, name="emb"),
                         sinusoidalPositionEncodingLayer(8), additionLayer(2, name="add")],
                        initialize=False)
        net.connect_layers("emb", "add/in2")
        net.initialize()
    """

    default_name = "sinusoidalposenc"
    description = "Sinusoidal Position Encoding"

    def __init__(self, output_size: int, *, positions: str = "auto", name: str = ""):
        super().__init__(name)
        who = "sinusoidalPositionEncodingLayer"
        self.output_size = _positive(output_size, "output_size", who, even=True)
        self.positions = choice(positions, ("auto", "temporal-indices", "spatial-indices", "data-values"), "positions", who)

    def _mode(self, X) -> str:
        if self.positions != "auto":
            return self.positions
        fmt = X.fmt or ""
        if "T" in fmt:
            return "temporal-indices"
        if fmt.count("S") == 1:
            return "spatial-indices"
        return "data-values"

    def predict(self, X):
        who = f"sinusoidalPositionEncodingLayer '{self.name}'"
        mode = self._mode(X)
        if not X.fmt or "C" not in X.fmt:
            raise FormatError(f"{who}: the input (format '{X.fmt}', shape {tuple(X.shape)}) must be formatted with a 'C' dimension")
        c = X.fmt.index("C")
        d = self.output_size
        if mode == "data-values":
            if X.shape[c] != 1:
                raise ShapeError(
                    f"{who}: with positions 'data-values' the input's 'C' dim must have size 1, got "
                    f"format '{X.fmt}', shape {tuple(X.shape)}"
                )
            k = np.arange(d // 2, dtype=np.float64)
            freq = (1.0 / 10000.0 ** (2.0 * k / d)).astype(X.dtype)
            # Move C first, scale the positions by each frequency, interleave sin and cos.
            perm = [c] + [i for i in range(X.ndim) if i != c]
            x = stripdims(X)
            x = x.transpose(perm) if c else x
            angle = x * freq.reshape((-1,) + (1,) * (X.ndim - 1))  # (d/2, rest...)
            y = stack([sin(angle), cos(angle)], 1).reshape((d,) + tuple(x.shape[1:]))
            if c:
                inverse = list(np.argsort(perm))
                y = y.transpose(inverse)
            return dlarray(y, X.fmt)
        dim = _position_dim(X, "temporal" if mode == "temporal-indices" else "spatial", who)
        table = sinusoidal_table(np.squeeze(_broadcast_index(X, dim), axis=c), d)  # (d, rest...)
        table = np.moveaxis(table, 0, c)
        return dlarray(table.astype(X.dtype), X.fmt)


class PositionEmbeddingLayer(Layer):
    """MATLAB's ``positionEmbeddingLayer(outputSize, maxPosition)`` (R2023b): a learned
    embedding of the positions, ``Weights`` (output_size, max_position), column ``p`` for
    position ``p`` (0-based). Inputs longer than ``max_position`` along the position dim
    raise ``ShapeError``.

    Options: ``position_dimension`` ``"auto"`` (T for sequences, the S dim for 1-D images),
    ``"temporal"`` or ``"spatial"``; ``weights_initializer`` ``"narrow-normal"`` (default;
    glorot and he with fan-in max_position, fan-out output_size), ``weights``,
    ``weight_learn_rate_factor``, ``weight_l2_factor``.
    """

    learnable_parameters = ("Weights",)
    default_name = "posembed"
    description = "Position Embedding"

    def __init__(
        self,
        output_size: int,
        max_position: int,
        *,
        position_dimension: str = "auto",
        weights_initializer="narrow-normal",
        weights=None,
        weight_learn_rate_factor=1.0,
        weight_l2_factor=1.0,
        name: str = "",
    ):
        super().__init__(name)
        who = "positionEmbeddingLayer"
        self.output_size = _positive(output_size, "output_size", who)
        self.max_position = _positive(max_position, "max_position", who)
        self.position_dimension = choice(position_dimension, ("auto", "temporal", "spatial"), "position_dimension", who)
        self.weights_initializer = initializers.check_initializer(weights_initializer, "weights_initializer", who)
        self.Weights = as_param(weights, who, "weights")
        set_factors(self, ("Weights",), (weight_learn_rate_factor,), (weight_l2_factor,))

    def initialize(self, X) -> None:
        who = f"positionEmbeddingLayer '{self.name}'"
        shape = (self.output_size, self.max_position)
        if self.Weights is None:
            self.Weights = initializers.initialize(self.weights_initializer, shape, self.max_position, self.output_size, X.dtype, who)
        check_shape(self.Weights, shape, who, "Weights")

    def predict(self, X):
        who = f"positionEmbeddingLayer '{self.name}'"
        dim = _position_dim(X, self.position_dimension, who)
        if X.shape[dim] > self.max_position:
            raise ShapeError(
                f"{who}: the input (format '{X.fmt}', shape {tuple(X.shape)}) has {X.shape[dim]} positions "
                f"along '{X.fmt[dim]}', more than max_position = {self.max_position}"
            )
        index = dlarray(np.ascontiguousarray(_broadcast_index(X, dim)).astype(np.float32), X.fmt)
        return _nn().embed(index, self.Weights)


sinusoidalPositionEncodingLayer = SinusoidalPositionEncodingLayer
positionEmbeddingLayer = PositionEmbeddingLayer
