"""``fullyConnectedLayer``, ``embeddingLayer`` and ``flattenLayer``.

``fullyConnectedLayer(outputSize)``: weights ``(OutputSize, InputSize)`` where InputSize is
the product of the S and C sizes of one observation (flattened in MATLAB's column-major
order), bias ``(OutputSize, 1)``; glorot / zeros; bias L2 factor 0. Output ``CB``/``CBT``.

``embeddingLayer(dimension, numWords)``: MATLAB's ``wordEmbeddingLayer`` without the Text
Analytics vocabulary: weights ``(dimension, numWords)`` (narrow-normal), input 0-based word
indices (``CBT`` with C = 1, or ``BT``/``CB``), output with C = dimension (as ``embed``).
"""

from __future__ import annotations

import numpy as np

from .._core import OptionError, ShapeError, dlarray
from . import initializers
from .base import Layer, as_param, check_shape, set_factors

# Several names a line, as the table was written.
# fmt: off
__all__ = ["EmbeddingLayer", "FlattenLayer", "FullyConnectedLayer", "embeddingLayer",
           "flattenLayer", "fullyConnectedLayer"]
# fmt: on


def _nn():
    from .. import nn

    return nn


def _positive(value, option, who):
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)) or value < 1:
        raise OptionError(f"{who}: {option} must be a positive integer, got {value!r}")
    return int(value)


class FullyConnectedLayer(Layer):
    """MATLAB's ``fullyConnectedLayer(outputSize)``."""

    learnable_parameters = ("Weights", "Bias")
    default_name = "fc"
    description = "Fully Connected"

    def __init__(
        self,
        output_size: int,
        *,
        input_size="auto",
        weights_initializer="glorot",
        bias_initializer="zeros",
        weights=None,
        bias=None,
        weight_learn_rate_factor=1.0,
        bias_learn_rate_factor=1.0,
        weight_l2_factor=1.0,
        bias_l2_factor=0.0,
        name="",
    ):
        super().__init__(name)
        who = "fullyConnectedLayer"
        self.output_size = _positive(output_size, "output_size", who)
        auto = isinstance(input_size, str) and input_size == "auto"
        self.input_size = "auto" if auto else _positive(input_size, "input_size", who)
        self.weights_initializer = initializers.check_initializer(weights_initializer, "weights_initializer", who)
        self.bias_initializer = initializers.check_initializer(bias_initializer, "bias_initializer", who)
        self.Weights = as_param(weights, who, "weights")
        self.Bias = as_param(bias, who, "bias")
        set_factors(self, ("Weights", "Bias"), (weight_learn_rate_factor, bias_learn_rate_factor), (weight_l2_factor, bias_l2_factor))

    def initialize(self, X) -> None:
        who = f"fullyConnectedLayer '{self.name}'"
        if not X.fmt or "C" not in X.fmt:
            raise ShapeError(f"{who}: the input (format '{X.fmt}', shape {tuple(X.shape)}) has no 'C' dimension")
        n_in = int(np.prod([s for s, c in zip(X.shape, X.fmt) if c in "SCU"]))
        if self.input_size != "auto" and self.input_size != n_in:
            raise ShapeError(
                f"{who}: input_size is {self.input_size} but the input (format '{X.fmt}', shape {tuple(X.shape)}) has {n_in} features"
            )
        if self.Weights is None:
            self.Weights = initializers.initialize(self.weights_initializer, (self.output_size, n_in), n_in, self.output_size, X.dtype, who)
        check_shape(self.Weights, (self.output_size, n_in), who, "Weights")
        if self.Bias is None:
            self.Bias = initializers.initialize(self.bias_initializer, (self.output_size, 1), n_in, self.output_size, X.dtype, who)
        check_shape(self.Bias, (self.output_size, 1), who, "Bias")

    def predict(self, X):
        return _nn().fullyconnect(X, self.Weights, self.Bias)


class EmbeddingLayer(Layer):
    """Word embedding: maps 0-based indices to columns of ``Weights`` (dimension, numWords)."""

    learnable_parameters = ("Weights",)
    default_name = "embedding"
    _replay_safe = False  # the indices are read from the input's values
    description = "Embedding"

    def __init__(
        self,
        dimension: int,
        num_words: int,
        *,
        weights_initializer="narrow-normal",
        weights=None,
        weight_learn_rate_factor=1.0,
        weight_l2_factor=1.0,
        name="",
    ):
        super().__init__(name)
        who = "embeddingLayer"
        self.dimension = _positive(dimension, "dimension", who)
        self.num_words = _positive(num_words, "num_words", who)
        self.weights_initializer = initializers.check_initializer(weights_initializer, "weights_initializer", who)
        self.Weights = as_param(weights, who, "weights")
        set_factors(self, ("Weights",), (weight_learn_rate_factor,), (weight_l2_factor,))

    def initialize(self, X) -> None:
        who = f"embeddingLayer '{self.name}'"
        shape = (self.dimension, self.num_words)
        if self.Weights is None:
            self.Weights = initializers.initialize(self.weights_initializer, shape, self.num_words, self.dimension, np.float32, who)
        check_shape(self.Weights, shape, who, "Weights")

    def predict(self, X):
        return _nn().embed(X, self.Weights)


class FlattenLayer(Layer):
    """MATLAB's ``flattenLayer``: the S and C dims of each observation become one C dim, in
    MATLAB's column-major order (``SSCB`` → ``CB``, ``SSCBT`` → ``CBT``)."""

    default_name = "flatten"
    description = "Flatten"

    def __init__(self, *, name: str = ""):
        super().__init__(name)

    def predict(self, X):
        if not X.fmt:
            raise ShapeError(f"flattenLayer '{self.name}': the input (shape {tuple(X.shape)}) must be formatted")
        fmt = X.fmt
        feature = [i for i, c in enumerate(fmt) if c in "SCU"]
        rest = [i for i, c in enumerate(fmt) if c in "BT"]
        n = int(np.prod([X.shape[i] for i in feature]))
        from .._core import stripdims

        x = stripdims(X)
        if feature + rest != list(range(X.ndim)):
            x = x.transpose(feature + rest)
        rest_shape = tuple(X.shape[i] for i in rest)
        # Column-major flattening of the features (MATLAB's order): reverse them, then row-major.
        k = len(feature)
        x = x.transpose(list(range(k))[::-1] + list(range(k, x.ndim)))
        y = x.reshape((n,) + rest_shape)
        return dlarray(y, "C" + "".join(fmt[i] for i in rest))


fullyConnectedLayer = FullyConnectedLayer
embeddingLayer = EmbeddingLayer
flattenLayer = FlattenLayer
