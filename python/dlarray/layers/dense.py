"""``fullyConnectedLayer``, ``embeddingLayer`` and ``flattenLayer``.

``fullyConnectedLayer(outputSize)``: weights ``(OutputSize, InputSize)`` where InputSize is
the product of the S and C sizes of one observation (flattened in MATLAB's column-major
order), bias ``(OutputSize, 1)``; glorot / zeros; bias L2 factor 0. Output ``CB``/``CBT``.

``embeddingLayer(dimension, numWords)``: MATLAB's ``wordEmbeddingLayer`` without the Text
Analytics vocabulary: weights ``(dimension, numWords)`` (narrow-normal), input 0-based word
indices (``CBT`` with C = 1, or ``BT``/``CB``), output with C = dimension (as ``embed``).

``wordEmbeddingLayer(dimension, numWords)``: the same lookup with MATLAB's ``OOVMode``:
``"map-to-unknown"`` (default) adds one column for the unknown word (weights
``(dimension, numWords + 1)``), to which every index outside ``0..numWords-1`` maps;
``"error"`` keeps ``(dimension, numWords)`` and raises on such an index.
"""

from __future__ import annotations

import numpy as np

from .._arguments import choice
from .._core import OptionError, ShapeError, dlarray, extractdata
from . import initializers
from .base import Layer, as_param, check_shape, set_factors

# Several names a line, as the table was written.
# fmt: off
__all__ = ["EmbeddingLayer", "FlattenLayer", "FullyConnectedLayer", "WordEmbeddingLayer", "embeddingLayer",
           "flattenLayer", "fullyConnectedLayer", "wordEmbeddingLayer"]
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
    """Word embedding: maps 0-based indices to columns of ``Weights`` (dimension, numWords).

    Parameters: ``dimension`` (rows of ``Weights``), ``num_words``, ``weights_initializer``
    (default ``"narrow-normal"``, N(0, 0.01²)), ``weights`` (an initial value),
    ``weight_learn_rate_factor``, ``weight_l2_factor``, ``name``. An index outside
    ``0..num_words-1`` raises ``DlIndexError`` (see :class:`WordEmbeddingLayer` for MATLAB's
    ``OOVMode``).

    >>> import numpy as np
    >>> from dlarray import dlarray
    >>> layer = embeddingLayer(3, 5, weights=np.arange(15.0).reshape(3, 5))
    >>> y = layer.predict(dlarray(np.array([[0.0, 4.0]]), "BT"))
    >>> y.fmt, y.shape
    ('CBT', (3, 1, 2))
    """

    learnable_parameters = ("Weights",)
    default_name = "embedding"
    _replay_safe = False  # the indices are read from the input's values
    description = "Embedding"
    matlab_name = "embeddingLayer"
    #: What an index outside the vocabulary does: "error", or "map-to-unknown" (one more column).
    oov_mode = "error"

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
        who = self.matlab_name
        self.dimension = _positive(dimension, "dimension", who)
        self.num_words = _positive(num_words, "num_words", who)
        self.weights_initializer = initializers.check_initializer(weights_initializer, "weights_initializer", who)
        self.Weights = as_param(weights, who, "weights")
        set_factors(self, ("Weights",), (weight_learn_rate_factor,), (weight_l2_factor,))

    def _columns(self) -> int:
        return self.num_words + (1 if self.oov_mode == "map-to-unknown" else 0)

    def initialize(self, X) -> None:
        who = f"{self.matlab_name} '{self.name}'"
        shape = (self.dimension, self._columns())
        if self.Weights is None:
            self.Weights = initializers.initialize(self.weights_initializer, shape, self.num_words, self.dimension, np.float32, who)
        check_shape(self.Weights, shape, who, "Weights")

    def predict(self, X):
        if self.oov_mode == "map-to-unknown" and isinstance(X, dlarray):
            values = np.asarray(extractdata(X))
            # Integer values outside the vocabulary are the unknown word; non-integers stay
            # an error (raised by embed).
            integral = values == np.round(values) if values.dtype.kind == "f" else np.ones(values.shape, bool)
            outside = integral & ((values < 0) | (values >= self.num_words))
            if outside.any():
                values = np.where(outside, self.num_words, values).astype(values.dtype)
                X = dlarray(values, X.fmt) if X.fmt else dlarray(values)
        return _nn().embed(X, self.Weights)


class WordEmbeddingLayer(EmbeddingLayer):
    """MATLAB's ``wordEmbeddingLayer(dimension, numWords)`` (Text Analytics Toolbox).

    Options as :class:`EmbeddingLayer`, plus ``oov_mode`` (MATLAB's ``OOVMode``):
    ``"map-to-unknown"`` (default) gives ``Weights`` of shape ``(dimension, num_words + 1)``,
    the last column being the unknown word that every integer index outside
    ``0..num_words-1`` maps to; ``"error"`` gives ``(dimension, num_words)`` and raises
    ``DlIndexError`` on such an index. Indices are 0-based (MATLAB's are 1-based).

    >>> import numpy as np
    >>> from dlarray import dlarray
    >>> layer = wordEmbeddingLayer(2, 3, Weights=np.arange(8.0).reshape(2, 4))
    >>> np.asarray(layer.predict(dlarray(np.array([[1.0, 7.0]]), "BT"))).reshape(2, 2)
    array([[1., 3.],
           [5., 7.]])
    """

    default_name = "embedding"
    description = "Word Embedding Layer"
    matlab_name = "wordEmbeddingLayer"

    def __init__(
        self,
        dimension: int,
        num_words: int,
        *,
        oov_mode="map-to-unknown",
        weights_initializer="narrow-normal",
        weights=None,
        weight_learn_rate_factor=1.0,
        weight_l2_factor=1.0,
        name="",
    ):
        super().__init__(
            dimension,
            num_words,
            weights_initializer=weights_initializer,
            weights=weights,
            weight_learn_rate_factor=weight_learn_rate_factor,
            weight_l2_factor=weight_l2_factor,
            name=name,
        )
        self.oov_mode = choice(oov_mode, ("map-to-unknown", "error"), "oov_mode", "wordEmbeddingLayer")


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
wordEmbeddingLayer = WordEmbeddingLayer
flattenLayer = FlattenLayer
