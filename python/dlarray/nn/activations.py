"""Activation functions: ``relu``, ``leakyrelu``, ``gelu``, ``sigmoid``, ``tanh``, ``softmax``.

The elementwise ones accept any dlarray (or array-like) and keep its format; ``softmax``
normalises over the C dimension, so it needs a formatted input or ``data_format=``.
Every one is a differentiable core op (or built from them), so it differentiates to any order.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .. import _core
from .._arguments import as_dlarray, choice, number
from .._core import dlarray
from .._matlab_names import accept_matlab_names
from ._layout import layout_of, plain, require

__all__ = ["relu", "leakyrelu", "gelu", "sigmoid", "tanh", "softmax"]


def relu(X: Any) -> dlarray:
    """``max(X, 0)`` elementwise; the format is kept (MATLAB's ``relu``).

    The derivative at 0 is taken as 0 (as MATLAB and PyTorch); NaN propagates.
    """
    return _core.relu(as_dlarray(X, "relu", "X"))


def leakyrelu(X: Any, scale_factor: float = 0.01) -> dlarray:
    """``X`` where ``X > 0``, ``scale_factor * X`` elsewhere (MATLAB's ``leakyrelu``, default
    scale 0.01). The derivative at 0 is ``scale_factor`` (the ``X <= 0`` branch)."""
    X = as_dlarray(X, "leakyrelu", "X")
    scale = number(scale_factor, "scale_factor", "leakyrelu")
    if X.dtype in (np.float32, np.float64):
        return _core._leakyrelu(X, scale)  # one elementwise op, differentiable to any order
    return _core.where(np.asarray(X) > 0, X, X * scale)


_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(X: Any, approximation: str = "none") -> dlarray:
    """Gaussian error linear unit (MATLAB's ``gelu``, R2022b).

    ``approximation="none"`` (default): ``X/2 * (1 + erf(X/sqrt(2)))``;
    ``"tanh"``: ``X/2 * (1 + tanh(sqrt(2/pi) * (X + 0.044715 X^3)))``.
    """
    X = as_dlarray(X, "gelu", "X")
    if choice(approximation, ("none", "tanh"), "approximation", "gelu") == "none":
        inner = _core.erf(X * _SQRT_HALF)
    else:
        inner = _core.tanh((X + 0.044715 * X * X * X) * _SQRT_2_OVER_PI)
    return 0.5 * X * (1.0 + inner)


def sigmoid(X: Any) -> dlarray:
    """Logistic function ``1 / (1 + exp(-X))`` elementwise; the format is kept."""
    return _core.sigmoid(as_dlarray(X, "sigmoid", "X"))


def tanh(X: Any) -> dlarray:
    """Hyperbolic tangent elementwise (complex input allowed); the format is kept."""
    return _core.tanh(as_dlarray(X, "tanh", "X"))


def softmax(X: dlarray, data_format: Optional[str] = None) -> dlarray:
    """Softmax over the C dimension (MATLAB's ``softmax``): for every S/B/T position,
    ``exp(x_c) / sum_c exp(x_c)``. The output has the input's format (or, for an unformatted
    input with ``data_format``, its layout, unformatted).

    The per-position maximum is subtracted first (a constant, so the result and its
    derivatives are unchanged) to keep ``exp`` from overflowing. The output remembers ``X``
    as its logits: ``crossentropy`` of it takes ``log`` from the logits, so the loss and its
    gradient stay exact where a probability underflows (see docs/decisions.md).
    """
    layout = layout_of(X, data_format, "softmax")
    require(layout, "C", "softmax", X.shape)
    c = layout.axis("C")
    if c >= X.ndim:
        # C is an implicit trailing singleton: one class, probability 1 (NaN stays NaN).
        return _core._softmax(plain(X, layout), c).reshape(X.shape)
    return _core._softmax(X, c)


accept_matlab_names(globals())
