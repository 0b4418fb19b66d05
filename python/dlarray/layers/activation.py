"""Elementwise layers: ``reluLayer``, ``leakyReluLayer`` (scale 0.01), ``geluLayer``,
``sigmoidLayer``, ``tanhLayer``, ``softmaxLayer`` (over C) and ``dropoutLayer`` (p 0.5:
inverted dropout in ``forward``, the identity in ``predict``)."""

from __future__ import annotations

import numpy as np

from .._arguments import choice, number
from .._core import OptionError
from .base import Layer

__all__ = ["DropoutLayer", "GELULayer", "LeakyReLULayer", "ReLULayer", "SigmoidLayer",
           "SoftmaxLayer", "TanhLayer", "dropoutLayer", "geluLayer", "leakyReluLayer", "reluLayer",
           "sigmoidLayer", "softmaxLayer", "tanhLayer"]


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


reluLayer = ReLULayer
leakyReluLayer = LeakyReLULayer
geluLayer = GELULayer
sigmoidLayer = SigmoidLayer
tanhLayer = TanhLayer
softmaxLayer = SoftmaxLayer
dropoutLayer = DropoutLayer
