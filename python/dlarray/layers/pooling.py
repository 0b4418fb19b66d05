"""Pooling layers: ``maxPooling2dLayer``, ``averagePooling2dLayer`` (and their 1-D / 3-D
siblings), ``globalAveragePooling1d/2d/3dLayer`` / ``globalMaxPooling1d/2d/3dLayer``.

As in MATLAB (and unlike PyTorch) the **stride defaults to 1**, not to the pool size.
Global pooling keeps the pooled dims with size 1 (``SSCB`` 1×1×C×N); a following
``fullyConnectedLayer`` flattens them. The 2-D and 3-D layers pool over the S dims (two or
three of them); the 1-D layers over the one S dim of ``"SCB"``/``"SCBT"`` input, or over T
of ``"CBT"`` input (MATLAB's rule for time series), which removes T: the output is ``"CB"``.
"""

from __future__ import annotations

import numpy as np

from .._core import FormatError, OptionError
from .base import Layer, padding_list, to_tuple

# Several names a line, as the table was written.
# fmt: off
__all__ = ["AveragePooling1DLayer", "AveragePooling2DLayer", "AveragePooling3DLayer",
           "GlobalAveragePooling1DLayer", "GlobalAveragePooling2DLayer", "GlobalAveragePooling3DLayer",
           "GlobalMaxPooling1DLayer", "GlobalMaxPooling2DLayer", "GlobalMaxPooling3DLayer", "MaxPooling1DLayer",
           "MaxPooling2DLayer", "MaxPooling3DLayer", "averagePooling1dLayer",
           "averagePooling2dLayer", "averagePooling3dLayer", "globalAveragePooling1dLayer",
           "globalAveragePooling2dLayer", "globalAveragePooling3dLayer", "globalMaxPooling1dLayer",
           "globalMaxPooling2dLayer", "globalMaxPooling3dLayer", "maxPooling1dLayer", "maxPooling2dLayer",
           "maxPooling3dLayer"]
# fmt: on


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
        return _nn().avgpool(X, self.pool_size, stride=self.stride, padding=self.padding, padding_value=self.padding_value)


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


class _GlobalPooling(Layer):
    """Global pooling over ``ndims`` S dims (1-D: the S dim, or T when there is none),
    composed of the reductions with ``keepdims=True``."""

    ndims = 1
    reduction = "mean"

    def __init__(self, *, name: str = ""):
        super().__init__(name)

    def _axes(self, X):
        fmt = X.fmt or ""
        spatial = tuple(i for i, label in enumerate(fmt) if label == "S")
        if len(spatial) == self.ndims and "C" in fmt:
            return spatial
        if self.ndims == 1 and not spatial and "C" in fmt and "T" in fmt:
            return (fmt.index("T"),)
        wanted = {1: "one 'S' dim (or 'T' without S)", 2: "two 'S' dims", 3: "three 'S' dims"}[self.ndims]
        raise FormatError(
            f"{type(self).__name__} '{self.name}': the input (format '{fmt}', shape {tuple(X.shape)}) must have a 'C' dim and {wanted}"
        )

    def predict(self, X):
        axes = self._axes(X)
        # Pooled over time, a sequence becomes one feature vector per observation ("CB"), so
        # a sequence-to-label network needs no flatten; pooled S dims stay with size 1.
        over_time = X.fmt[axes[0]] == "T"
        return getattr(X, self.reduction)(axes, keepdims=not over_time)


class GlobalAveragePooling1DLayer(_GlobalPooling):
    """MATLAB's ``globalAveragePooling1dLayer``: the mean over the S dim (kept, size 1) or,
    for ``"CBT"`` input, over T (removed: ``"CB"``)."""

    default_name = "gapool1d"
    description = "1-D Global Average Pooling"


class GlobalAveragePooling3DLayer(_GlobalPooling):
    """MATLAB's ``globalAveragePooling3dLayer``: the mean over the three S dims (kept, size 1)."""

    ndims = 3
    default_name = "gapool3d"
    description = "3-D Global Average Pooling"


class GlobalMaxPooling1DLayer(_GlobalPooling):
    """MATLAB's ``globalMaxPooling1dLayer``: the maximum over the S dim (kept, size 1) or,
    for ``"CBT"`` input, over T (removed: ``"CB"``); at ties the gradient is split evenly."""

    reduction = "max"
    default_name = "gmpool1d"
    description = "1-D Global Max Pooling"


class GlobalMaxPooling3DLayer(_GlobalPooling):
    """MATLAB's ``globalMaxPooling3dLayer``: the maximum over the three S dims (kept, size 1)."""

    ndims = 3
    reduction = "max"
    default_name = "gmpool3d"
    description = "3-D Global Max Pooling"


maxPooling1dLayer = MaxPooling1DLayer
maxPooling2dLayer = MaxPooling2DLayer
maxPooling3dLayer = MaxPooling3DLayer
averagePooling1dLayer = AveragePooling1DLayer
averagePooling2dLayer = AveragePooling2DLayer
averagePooling3dLayer = AveragePooling3DLayer
globalAveragePooling2dLayer = GlobalAveragePooling2DLayer
globalMaxPooling2dLayer = GlobalMaxPooling2DLayer
globalAveragePooling1dLayer = GlobalAveragePooling1DLayer
globalAveragePooling3dLayer = GlobalAveragePooling3DLayer
globalMaxPooling1dLayer = GlobalMaxPooling1DLayer
globalMaxPooling3dLayer = GlobalMaxPooling3DLayer
