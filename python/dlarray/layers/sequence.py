"""Layers on the position dim of a sequence (T, or the one S dim of a 1-D image):
``indexing1dLayer`` (one position taken out) and ``embeddingConcatenationLayer`` (a learnable
vector prepended, the class token of a vision transformer).

The position dim is T when the input has one, else its only S dim, as MATLAB's layers pick it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._arguments import show
from .._core import FormatError, OptionError, ShapeError, concatenate, dlarray, stripdims
from . import initializers
from .base import Layer, as_param, channel_size, check_shape, set_factors

# Several names a line, as the table was written.
# fmt: off
__all__ = ["EmbeddingConcatenationLayer", "Indexing1DLayer", "embeddingConcatenationLayer", "indexing1dLayer"]
# fmt: on


def _position_axis(X: Any, who: str) -> int:
    fmt = X.fmt if isinstance(X, dlarray) else ""
    if "T" in fmt:
        return fmt.index("T")
    if fmt.count("S") == 1:
        return fmt.index("S")
    raise FormatError(f"{who}: the input (format '{fmt}', shape {tuple(X.shape)}) needs a 'T' dim, or one 'S' dim without T")


class Indexing1DLayer(Layer):
    """MATLAB's ``indexing1dLayer(mode)`` (R2024b): one position of the T dim (or of the one S
    dim, without T) — ``"CBT"`` → ``"CB"``, ``"SCB"`` → ``"CB"``; the indexed dim is removed.

    ``indexing_mode`` (MATLAB's ``IndexingMode``): ``"first"`` (default), ``"last"``, or a
    **0-based** position (MATLAB's 1-based index minus one); a position past the end of the
    input raises ``ShapeError``.

    >>> import numpy as np
    >>> from dlarray import dlarray
    >>> X = dlarray(np.arange(12.0).reshape(2, 2, 3), "CBT")
    >>> y = indexing1dLayer("last").predict(X)
    >>> y.fmt, np.asarray(y).tolist()
    ('CB', [[2.0, 5.0], [8.0, 11.0]])
    """

    default_name = "index1d"
    description = "1-D Indexing"

    def __init__(self, indexing_mode="first", *, name=""):
        super().__init__(name)
        if isinstance(indexing_mode, str) and indexing_mode.lower() in ("first", "last"):
            indexing_mode = indexing_mode.lower()
        elif isinstance(indexing_mode, (bool, np.bool_)) or not isinstance(indexing_mode, (int, np.integer)) or indexing_mode < 0:
            raise OptionError(f"indexing1dLayer: indexing_mode must be 'first', 'last' or a 0-based position, got {show(indexing_mode)}")
        else:
            indexing_mode = int(indexing_mode)
        self.indexing_mode = indexing_mode

    def predict(self, X):
        who = f"indexing1dLayer '{self.name}'"
        axis = _position_axis(X, who)
        n = int(X.shape[axis])
        mode = self.indexing_mode
        i = 0 if mode == "first" else n - 1 if mode == "last" else mode
        if not 0 <= i < n:
            raise ShapeError(f"{who}: position {i} is outside the '{X.fmt[axis]}' dim of size {n} (input shape {tuple(X.shape)})")
        y = stripdims(X)[(slice(None),) * axis + (i,)]
        return dlarray(y, X.fmt[:axis] + X.fmt[axis + 1 :])


class EmbeddingConcatenationLayer(Layer):
    """MATLAB's ``embeddingConcatenationLayer`` (R2023b): prepends a learnable vector to the
    sequence along T (or the one S dim, without T), the same for every observation — the
    class token of a vision transformer. The output has one more position: ``(C, B, T)`` →
    ``(C, B, T + 1)``, the vector at position 0.

    Learnable ``Weights`` (C, 1), C from the input; ``weights_initializer`` (default
    ``"narrow-normal"``, N(0, 0.01²), as MATLAB), ``weights`` (an initial value),
    ``weights_learn_rate_factor``, ``weights_l2_factor``, ``name``.

    >>> import numpy as np
    >>> from dlarray import dlarray
    >>> layer = embeddingConcatenationLayer(Weights=np.array([[7.0], [8.0]]))
    >>> y = layer.predict(dlarray(np.zeros((2, 1, 3)), "CBT"))
    >>> y.shape, np.asarray(y)[:, 0, 0].tolist()
    ((2, 1, 4), [7.0, 8.0])
    """

    learnable_parameters = ("Weights",)
    default_name = "embed_concat"
    description = "Embedding Concatenation"

    def __init__(self, *, weights_initializer="narrow-normal", weights=None, weights_learn_rate_factor=1.0, weights_l2_factor=1.0, name=""):
        super().__init__(name)
        who = "embeddingConcatenationLayer"
        self.weights_initializer = initializers.check_initializer(weights_initializer, "weights_initializer", who)
        self.Weights = as_param(weights, who, "weights")
        set_factors(self, ("Weights",), (weights_learn_rate_factor,), (weights_l2_factor,))

    def initialize(self, X) -> None:
        who = f"embeddingConcatenationLayer '{self.name}'"
        c = channel_size(X, who)
        _position_axis(X, who)
        if self.Weights is None:
            self.Weights = initializers.initialize(self.weights_initializer, (c, 1), c, c, X.dtype, who)
        check_shape(self.Weights, (c, 1), who, "Weights")

    def predict(self, X):
        who = f"embeddingConcatenationLayer '{self.name}'"
        c = channel_size(X, who)
        axis = _position_axis(X, who)
        check_shape(self.Weights, (c, 1), who, "Weights")
        ci = X.fmt.index("C")
        w = stripdims(self.Weights) if self.Weights.fmt else self.Weights
        # The vector along C, repeated over every other dim but the position dim (size 1).
        block = tuple(1 if i == axis else int(n) for i, n in enumerate(X.shape))
        w = w.reshape(tuple(c if i == ci else 1 for i in range(X.ndim)))
        token = w * np.ones(block, dtype=np.dtype(X.dtype))
        return dlarray(concatenate([token, stripdims(X)], axis), X.fmt)


indexing1dLayer = Indexing1DLayer
embeddingConcatenationLayer = EmbeddingConcatenationLayer
