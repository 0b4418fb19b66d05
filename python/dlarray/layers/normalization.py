"""Normalisation layers: ``batchNormalizationLayer``, ``layerNormalizationLayer``,
``groupNormalizationLayer``, ``instanceNormalizationLayer``, ``crossChannelNormalizationLayer`` (MATLAB's options and defaults: epsilon 1e-5, offset zeros,
scale ones; batch normalisation's mean/variance decay 0.1).

Per-channel parameters have MATLAB's shapes: ``1×…×1×C`` after the S dims (``(1, 1, C)`` for
images), ``(C, 1)`` for data without S dims. Batch normalisation keeps ``TrainedMean``
(initially 0) and ``TrainedVariance`` (initially 1) as state: ``forward`` normalises with the
mini-batch statistics and returns the updated running statistics; ``predict`` uses them.
"""

from __future__ import annotations

from typing import Union

import numpy as np

from .._arguments import number
from .._core import OptionError
from . import initializers
from .base import Layer, as_param, channel_size, check_shape, per_channel_shape, set_factors

# Several names a line, as the table was written.
# fmt: off
__all__ = ["BatchNormalizationLayer", "CrossChannelNormalizationLayer", "GroupNormalizationLayer",
           "InstanceNormalizationLayer", "LayerNormalizationLayer", "batchNormalizationLayer",
           "crossChannelNormalizationLayer", "groupNormalizationLayer", "instanceNormalizationLayer",
           "layerNormalizationLayer"]
# fmt: on


def _nn():
    from .. import nn

    return nn


def _vector(p):
    return p.reshape((-1,))


def _check_epsilon(epsilon, who: str) -> float:
    return number(epsilon, "epsilon", who, positive=True)


class _AffineNormalization(Layer):
    learnable_parameters = ("Offset", "Scale")

    def __init__(
        self,
        epsilon,
        offset_initializer,
        scale_initializer,
        offset,
        scale,
        offset_learn_rate_factor,
        scale_learn_rate_factor,
        offset_l2_factor,
        scale_l2_factor,
        name,
    ):
        super().__init__(name)
        who = type(self).__name__
        self.epsilon = _check_epsilon(epsilon, who)
        self.offset_initializer = initializers.check_initializer(offset_initializer, "offset_initializer", who)
        self.scale_initializer = initializers.check_initializer(scale_initializer, "scale_initializer", who)
        self.Offset = as_param(offset, who, "offset")
        self.Scale = as_param(scale, who, "scale")
        set_factors(self, ("Offset", "Scale"), (offset_learn_rate_factor, scale_learn_rate_factor), (offset_l2_factor, scale_l2_factor))

    def initialize(self, X) -> None:
        who = f"{type(self).__name__} '{self.name}'"
        c = channel_size(X, who)
        shape = per_channel_shape(X, c)
        if self.Offset is None:
            self.Offset = initializers.initialize(self.offset_initializer, shape, c, c, X.dtype, who)
        if self.Scale is None:
            self.Scale = initializers.initialize(self.scale_initializer, shape, c, c, X.dtype, who)
        for p in ("Offset", "Scale"):
            if getattr(self, p).size != c:
                raise OptionError(f"{who}: {p} has shape {tuple(getattr(self, p).shape)}, expected {shape}")


class BatchNormalizationLayer(_AffineNormalization):
    """MATLAB's ``batchNormalizationLayer``: learnables ``Offset``/``Scale``, state
    ``TrainedMean``/``TrainedVariance``."""

    state_parameters = ("TrainedMean", "TrainedVariance")
    default_name = "batchnorm"
    description = "Batch Normalization"

    def __init__(
        self,
        *,
        epsilon=1e-5,
        mean_decay=0.1,
        variance_decay=0.1,
        offset_initializer="zeros",
        scale_initializer="ones",
        offset=None,
        scale=None,
        trained_mean=None,
        trained_variance=None,
        offset_learn_rate_factor=1.0,
        scale_learn_rate_factor=1.0,
        offset_l2_factor=1.0,
        scale_l2_factor=1.0,
        name="",
    ):
        super().__init__(
            epsilon,
            offset_initializer,
            scale_initializer,
            offset,
            scale,
            offset_learn_rate_factor,
            scale_learn_rate_factor,
            offset_l2_factor,
            scale_l2_factor,
            name,
        )
        for n, d in (("mean_decay", mean_decay), ("variance_decay", variance_decay)):
            if not isinstance(d, (int, float, np.integer, np.floating)) or not 0 <= float(d) <= 1:
                raise OptionError(f"batchNormalizationLayer: {n} must be in [0, 1], got {d!r}")
        self.mean_decay = float(mean_decay)
        self.variance_decay = float(variance_decay)
        self.TrainedMean = as_param(trained_mean, "batchNormalizationLayer", "trained_mean")
        self.TrainedVariance = as_param(trained_variance, "batchNormalizationLayer", "trained_variance")

    def initialize(self, X) -> None:
        super().initialize(X)
        who = f"batchNormalizationLayer '{self.name}'"
        shape = tuple(self.Offset.shape)
        if self.TrainedMean is None:
            self.TrainedMean = initializers.initialize("zeros", shape, dtype=X.dtype, layer=who)
        if self.TrainedVariance is None:
            self.TrainedVariance = initializers.initialize("ones", shape, dtype=X.dtype, layer=who)
        check_shape(self.TrainedMean, shape, who, "TrainedMean")
        check_shape(self.TrainedVariance, shape, who, "TrainedVariance")

    def forward(self, X):
        Y, mean, var = _nn().batchnorm(
            X,
            _vector(self.Offset),
            _vector(self.Scale),
            _vector(self.TrainedMean),
            _vector(self.TrainedVariance),
            training=True,
            epsilon=self.epsilon,
            mean_decay=self.mean_decay,
            variance_decay=self.variance_decay,
        )
        return Y, mean.reshape(tuple(self.TrainedMean.shape)), var.reshape(tuple(self.TrainedVariance.shape))

    def predict(self, X):
        Y = _nn().batchnorm(
            X, _vector(self.Offset), _vector(self.Scale), _vector(self.TrainedMean), _vector(self.TrainedVariance), epsilon=self.epsilon
        )
        return Y, self.TrainedMean, self.TrainedVariance


class LayerNormalizationLayer(_AffineNormalization):
    """MATLAB's ``layerNormalizationLayer`` (``operation_dimension`` "auto", "channel-only",
    "spatial-channel" or "batch-excluded")."""

    default_name = "layernorm"
    description = "Layer Normalization"

    def __init__(
        self,
        *,
        epsilon=1e-5,
        operation_dimension="auto",
        offset_initializer="zeros",
        scale_initializer="ones",
        offset=None,
        scale=None,
        offset_learn_rate_factor=1.0,
        scale_learn_rate_factor=1.0,
        offset_l2_factor=1.0,
        scale_l2_factor=1.0,
        name="",
    ):
        super().__init__(
            epsilon,
            offset_initializer,
            scale_initializer,
            offset,
            scale,
            offset_learn_rate_factor,
            scale_learn_rate_factor,
            offset_l2_factor,
            scale_l2_factor,
            name,
        )
        self.operation_dimension = operation_dimension

    def predict(self, X):
        return _nn().layernorm(
            X, _vector(self.Offset), _vector(self.Scale), epsilon=self.epsilon, operation_dimension=self.operation_dimension
        )


class GroupNormalizationLayer(_AffineNormalization):
    """MATLAB's ``groupNormalizationLayer(numGroups)``: an integer, ``"all-channels"`` or
    ``"channel-wise"``."""

    default_name = "groupnorm"
    description = "Group Normalization"

    def __init__(
        self,
        num_groups: Union[int, str],
        *,
        epsilon=1e-5,
        offset_initializer="zeros",
        scale_initializer="ones",
        offset=None,
        scale=None,
        offset_learn_rate_factor=1.0,
        scale_learn_rate_factor=1.0,
        offset_l2_factor=1.0,
        scale_l2_factor=1.0,
        name="",
    ):
        super().__init__(
            epsilon,
            offset_initializer,
            scale_initializer,
            offset,
            scale,
            offset_learn_rate_factor,
            scale_learn_rate_factor,
            offset_l2_factor,
            scale_l2_factor,
            name,
        )
        ok = (isinstance(num_groups, str) and num_groups.lower() in ("all-channels", "channel-wise")) or (
            isinstance(num_groups, (int, np.integer)) and not isinstance(num_groups, bool) and num_groups > 0
        )
        if not ok:
            raise OptionError(
                f"groupNormalizationLayer: num_groups must be a positive integer, 'all-channels' or 'channel-wise', got {num_groups!r}"
            )
        self.num_groups = num_groups.lower() if isinstance(num_groups, str) else int(num_groups)

    def predict(self, X):
        return _nn().groupnorm(X, self.num_groups, _vector(self.Offset), _vector(self.Scale), epsilon=self.epsilon)


class InstanceNormalizationLayer(_AffineNormalization):
    """MATLAB's ``instanceNormalizationLayer``: each channel of each observation normalised
    over its S and T dims (the functional ``instancenorm``), then scaled and shifted per
    channel; no state, so ``forward`` and ``predict`` agree."""

    default_name = "instancenorm"
    description = "Instance Normalization"

    def __init__(
        self,
        *,
        epsilon=1e-5,
        offset_initializer="zeros",
        scale_initializer="ones",
        offset=None,
        scale=None,
        offset_learn_rate_factor=1.0,
        scale_learn_rate_factor=1.0,
        offset_l2_factor=1.0,
        scale_l2_factor=1.0,
        name="",
    ):
        super().__init__(
            epsilon,
            offset_initializer,
            scale_initializer,
            offset,
            scale,
            offset_learn_rate_factor,
            scale_learn_rate_factor,
            offset_l2_factor,
            scale_l2_factor,
            name,
        )

    def predict(self, X):
        return _nn().instancenorm(X, _vector(self.Offset), _vector(self.Scale), epsilon=self.epsilon)


class CrossChannelNormalizationLayer(Layer):
    """MATLAB's ``crossChannelNormalizationLayer(windowChannelSize)`` (``alpha`` 1e-4,
    ``beta`` 0.75, ``k`` 2): local response normalisation across channels, the functional
    ``crosschannelnorm``; no learnables."""

    default_name = "crossnorm"
    description = "Cross Channel Normalization"

    def __init__(self, window_channel_size: int, *, alpha=1e-4, beta=0.75, k=2.0, name=""):
        super().__init__(name)
        who = "crossChannelNormalizationLayer"
        n = window_channel_size
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
            raise OptionError(f"{who}: window_channel_size must be a positive integer, got {n!r}")
        self.window_channel_size = int(n)
        self.alpha, self.beta, self.k = (number(v, o, who) for o, v in (("alpha", alpha), ("beta", beta), ("k", k)))

    def predict(self, X):
        return _nn().crosschannelnorm(X, self.window_channel_size, alpha=self.alpha, beta=self.beta, k=self.k)


batchNormalizationLayer = BatchNormalizationLayer
crossChannelNormalizationLayer = CrossChannelNormalizationLayer
instanceNormalizationLayer = InstanceNormalizationLayer
layerNormalizationLayer = LayerNormalizationLayer
groupNormalizationLayer = GroupNormalizationLayer
