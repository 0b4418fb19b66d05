"""Elementwise layers: ``reluLayer``, ``leakyReluLayer`` (scale 0.01), ``clippedReluLayer``,
``eluLayer`` (alpha 1), ``geluLayer``, ``swishLayer``, ``softplusLayer``, ``sigmoidLayer``,
``tanhLayer``, ``softmaxLayer`` (over C), ``identityLayer``, ``dropoutLayer`` (p 0.5:
inverted dropout in ``forward``, the identity in ``predict``) and ``spatialDropoutLayer``
(whole channels).

The activations without a functional op of their own are composed of the differentiable
array functions, so they differentiate to any order."""

from __future__ import annotations

import numpy as np

from .. import _random
from .._arguments import choice, number
from .._core import FormatError, OptionError, exp, log, maximum, sign, where
from .base import Layer

# Several names a line, as the table was written.
# fmt: off
__all__ = ["ClippedReLULayer", "DropoutLayer", "ELULayer", "GELULayer", "IdentityLayer", "LeakyReLULayer", "ReLULayer",
           "SigmoidLayer", "SoftmaxLayer", "SoftplusLayer", "SpatialDropoutLayer", "SwishLayer", "TanhLayer",
           "clippedReluLayer", "dropoutLayer", "eluLayer", "geluLayer", "identityLayer", "leakyReluLayer", "reluLayer",
           "sigmoidLayer", "softmaxLayer", "softplusLayer", "spatialDropoutLayer", "swishLayer", "tanhLayer"]
# fmt: on


def _nn():
    from .. import nn

    return nn


class ReLULayer(Layer):
    """MATLAB's ``reluLayer``."""

    default_name = "relu"
    description = "ReLU"

    def __init__(self, *, name: str = ""):
        super().__init__(name)

    def predict(self, X):
        return _nn().relu(X)


class LeakyReLULayer(Layer):
    """MATLAB's ``leakyReluLayer(scale)``; scale defaults to 0.01."""

    default_name = "leakyrelu"
    description = "Leaky ReLU"

    def __init__(self, scale: float = 0.01, *, name: str = ""):
        super().__init__(name)
        self.scale = number(scale, "scale", "leakyReluLayer")

    def predict(self, X):
        return _nn().leakyrelu(X, self.scale)


class ClippedReLULayer(Layer):
    """MATLAB's ``clippedReluLayer(ceiling)``: ``min(max(x, 0), ceiling)``; the slope is 0
    above the ceiling and at it."""

    default_name = "clippedrelu"
    description = "Clipped ReLU"

    def __init__(self, ceiling: float, *, name: str = ""):
        super().__init__(name)
        self.ceiling = number(ceiling, "ceiling", "clippedReluLayer", positive=True)

    def predict(self, X):
        # 1 below the ceiling (NaN where X is, which keeps relu's NaN): a mask made by dlarray
        # ops, so a trace recomputes it; at and above the ceiling the constant (slope 0).
        below = sign(_nn().relu(self.ceiling - X))
        return where(below, _nn().relu(X), self.ceiling)


class ELULayer(Layer):
    """MATLAB's ``eluLayer(alpha)`` (alpha 1): ``x`` for ``x > 0``, else
    ``alpha·(exp(x) − 1)``; the slope at 0 is alpha (the left one)."""

    default_name = "elu"
    description = "ELU"

    def __init__(self, alpha: float = 1.0, *, name: str = ""):
        super().__init__(name)
        self.alpha = number(alpha, "alpha", "eluLayer", positive=True)

    def predict(self, X):
        # 1 where X > 0 (NaN where X is): a mask made by dlarray ops, so a trace recomputes it.
        positive = sign(_nn().relu(X))
        # exp only of the non-positive part, so large inputs never overflow.
        return where(positive, X, self.alpha * (exp(where(positive, 0.0, X)) - 1.0))


class SwishLayer(Layer):
    """MATLAB's ``swishLayer``: ``x·sigmoid(x)``."""

    default_name = "swish"
    description = "Swish"

    def __init__(self, *, name: str = ""):
        super().__init__(name)

    def predict(self, X):
        return X * _nn().sigmoid(X)


class SoftplusLayer(Layer):
    """MATLAB's ``softplusLayer``: ``log(1 + exp(x))``, computed as
    ``m + log(exp(−m) + exp(x − m))`` with ``m = max(x, 0)``, which never overflows and whose
    derivatives are exactly sigmoid's (the identity holds for any ``m``)."""

    default_name = "softplus"
    description = "Softplus"

    def __init__(self, *, name: str = ""):
        super().__init__(name)

    def predict(self, X):
        m = maximum(X, 0.0)
        return m + log(exp(-m) + exp(X - m))


class IdentityLayer(Layer):
    """MATLAB's ``identityLayer``: passes its input on unchanged (a named junction in a
    graph, e.g. the start of a skip connection)."""

    default_name = "identity"
    description = "Identity"

    def __init__(self, *, name: str = ""):
        super().__init__(name)

    def predict(self, X):
        return X


class GELULayer(Layer):
    """MATLAB's ``geluLayer`` (``approximation`` "none" or "tanh")."""

    default_name = "gelu"
    description = "GELU"

    def __init__(self, *, approximation: str = "none", name: str = ""):
        super().__init__(name)
        self.approximation = choice(approximation, ("none", "tanh"), "approximation", "geluLayer")

    def predict(self, X):
        return _nn().gelu(X, self.approximation)


class SigmoidLayer(Layer):
    """MATLAB's ``sigmoidLayer``: the logistic sigmoid, elementwise."""

    default_name = "sigmoid"
    description = "Sigmoid"

    def __init__(self, *, name: str = ""):
        super().__init__(name)

    def predict(self, X):
        return _nn().sigmoid(X)


class TanhLayer(Layer):
    """MATLAB's ``tanhLayer``: the hyperbolic tangent, elementwise."""

    default_name = "tanh"
    description = "Tanh"

    def __init__(self, *, name: str = ""):
        super().__init__(name)

    def predict(self, X):
        return _nn().tanh(X)


class SoftmaxLayer(Layer):
    """MATLAB's ``softmaxLayer``: softmax over the C dim."""

    default_name = "softmax"
    description = "Softmax"

    def __init__(self, *, name: str = ""):
        super().__init__(name)

    def predict(self, X):
        return _nn().softmax(X)


class DropoutLayer(Layer):
    """MATLAB's ``dropoutLayer(probability)`` (default 0.5). Random draws use numpy's global
    random state (seed it with ``dlarray.rng(seed)``, MATLAB's ``rng``)."""

    default_name = "dropout"
    description = "Dropout"

    def __init__(self, probability: float = 0.5, *, name: str = ""):
        super().__init__(name)
        if not isinstance(probability, (int, float, np.integer, np.floating)) or not 0 <= float(probability) < 1:
            raise OptionError(f"dropoutLayer: probability must be in [0, 1), got {probability!r}")
        self.probability = float(probability)

    def forward(self, X):
        return _nn().dropout(X, self.probability) if self.probability > 0 else X

    def predict(self, X):
        return X


class SpatialDropoutLayer(DropoutLayer):
    """MATLAB's ``spatialDropoutLayer(probability)`` (default 0.5): in ``forward``, each
    channel of each observation is zeroed with the probability, whole (every S and T
    position together), and the kept ones are scaled by ``1 / (1 − p)``; the identity in
    ``predict``. The input needs C and B dims (formatted)."""

    default_name = "spatialdropout"
    description = "Spatial Dropout"

    def forward(self, X):
        if self.probability == 0:
            return X
        fmt = X.fmt or ""
        if "C" not in fmt or "B" not in fmt:
            raise FormatError(
                f"spatialDropoutLayer '{self.name}': the input (format '{fmt}', shape {tuple(X.shape)}) needs 'C' and 'B' dims"
            )
        shape = tuple(n if label in "CB" else 1 for n, label in zip(X.shape, fmt))
        keep = _random.random(shape) > self.probability
        real = np.zeros(0, X.dtype).real.dtype
        return X * (keep / (1.0 - self.probability)).astype(real)


reluLayer = ReLULayer
clippedReluLayer = ClippedReLULayer
eluLayer = ELULayer
swishLayer = SwishLayer
softplusLayer = SoftplusLayer
identityLayer = IdentityLayer
spatialDropoutLayer = SpatialDropoutLayer
leakyReluLayer = LeakyReLULayer
geluLayer = GELULayer
sigmoidLayer = SigmoidLayer
tanhLayer = TanhLayer
softmaxLayer = SoftmaxLayer
dropoutLayer = DropoutLayer
