"""Pooling layers: ``maxPooling2dLayer``, ``averagePooling2dLayer`` (and their 1-D / 3-D
siblings), ``globalAveragePooling2dLayer`` / ``globalMaxPooling2dLayer``.

As in MATLAB (and unlike PyTorch) the **stride defaults to 1**, not to the pool size.
Global pooling keeps the S dims with size 1 (``SSCB`` 1×1×C×N); a following
``fullyConnectedLayer`` flattens them.
"""

from __future__ import annotations

import numpy as np

from .._core import OptionError
from .base import Layer, padding_list, to_tuple

__all__ = ["AveragePooling1DLayer", "AveragePooling2DLayer", "AveragePooling3DLayer",
           "GlobalAveragePooling2DLayer", "GlobalMaxPooling2DLayer", "MaxPooling1DLayer",
           "MaxPooling2DLayer", "MaxPooling3DLayer", "averagePooling1dLayer",
           "averagePooling2dLayer", "averagePooling3dLayer", "globalAveragePooling2dLayer",
           "globalMaxPooling2dLayer", "maxPooling1dLayer", "maxPooling2dLayer", "maxPooling3dLayer"]


def _nn():
    from .. import nn

    return nn


def _padding(padding, who):
    if isinstance(padding, str):
        if padding.lower() != "same":
            raise OptionError(f"{who}: padding must be a number, sizes or 'same', got '{padding}'")
        return "same"
    return padding_list(padding, who)


class _Pooling(Layer):
    ndims = 2

    def __init__(self, pool_size, *, stride=1, padding=0, name=""):
        super().__init__(name)
        who = type(self).__name__
        self.pool_size = to_tuple(pool_size, self.ndims, "pool_size", who)
        self.stride = to_tuple(stride, self.ndims, "stride", who)
        self.padding = _padding(padding, who)


class MaxPooling2DLayer(_Pooling):
    """MATLAB's ``maxPooling2dLayer(poolSize)`` (stride 1, padding 0 or "same")."""

    default_name = "maxpool"
    description = "2-D Max Pooling"

    def predict(self, X):
        return _nn().maxpool(X, self.pool_size, stride=self.stride, padding=self.padding)


class MaxPooling1DLayer(MaxPooling2DLayer):
    """MATLAB's ``maxPooling1dLayer``: 1-D max pooling; options as :class:`MaxPooling2DLayer`."""

    ndims = 1
    default_name = "maxpool1d"
    description = "1-D Max Pooling"


class MaxPooling3DLayer(MaxPooling2DLayer):
    """MATLAB's ``maxPooling3dLayer``: 3-D max pooling; options as :class:`MaxPooling2DLayer`."""

    ndims = 3
    default_name = "maxpool3d"
    description = "3-D Max Pooling"


class AveragePooling2DLayer(_Pooling):
    """MATLAB's ``averagePooling2dLayer(poolSize)``; ``padding_value`` 0 (padding counts as
    zeros) or "mean"."""

    default_name = "avgpool"
    description = "2-D Average Pooling"

    def __init__(self, pool_size, *, stride=1, padding=0, padding_value=0, name=""):
        super().__init__(pool_size, stride=stride, padding=padding, name=name)
        is_zero = isinstance(padding_value, (int, float, np.integer, np.floating)) and padding_value == 0
        if not (is_zero or (isinstance(padding_value, str) and padding_value.lower() == "mean")):
            raise OptionError(f"averagePooling2dLayer: padding_value must be 0 or 'mean', got {padding_value!r}")
        self.padding_value = padding_value

    def predict(self, X):
        return _nn().avgpool(X, self.pool_size, stride=self.stride, padding=self.padding,
                             padding_value=self.padding_value)


class AveragePooling1DLayer(AveragePooling2DLayer):
    """MATLAB's ``averagePooling1dLayer``: 1-D average pooling; options as :class:`AveragePooling2DLayer`."""

    ndims = 1
    default_name = "avgpool1d"
    description = "1-D Average Pooling"


class AveragePooling3DLayer(AveragePooling2DLayer):
    """MATLAB's ``averagePooling3dLayer``: 3-D average pooling; options as :class:`AveragePooling2DLayer`."""

    ndims = 3
    default_name = "avgpool3d"
    description = "3-D Average Pooling"


class GlobalAveragePooling2DLayer(Layer):
    """MATLAB's ``globalAveragePooling2dLayer``: the mean over the S dims (kept, size 1)."""

    default_name = "gapool"
    description = "2-D Global Average Pooling"

    def __init__(self, *, name: str = ""):
        super().__init__(name)

    def predict(self, X):
        return _nn().avgpool(X, "global")


class GlobalMaxPooling2DLayer(Layer):
    """MATLAB's ``globalMaxPooling2dLayer``: the maximum over the S dims (kept, size 1)."""

    default_name = "gmpool"
    description = "2-D Global Max Pooling"

    def __init__(self, *, name: str = ""):
        super().__init__(name)

    def predict(self, X):
        return _nn().maxpool(X, "global")


maxPooling1dLayer = MaxPooling1DLayer
maxPooling2dLayer = MaxPooling2DLayer
maxPooling3dLayer = MaxPooling3DLayer
averagePooling1dLayer = AveragePooling1DLayer
averagePooling2dLayer = AveragePooling2DLayer
averagePooling3dLayer = AveragePooling3DLayer
globalAveragePooling2dLayer = GlobalAveragePooling2DLayer
globalMaxPooling2dLayer = GlobalMaxPooling2DLayer
