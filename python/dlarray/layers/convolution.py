"""Convolution layers: ``convolution1dLayer``, ``convolution2dLayer``, ``convolution3dLayer``,
``groupedConvolution2dLayer``, ``transposedConv1dLayer``, ``transposedConv2dLayer`` and
``transposedConv3dLayer`` (MATLAB's options and defaults: stride 1, dilation 1, padding 0 or
``"same"``, glorot weights, zero bias, bias L2 factor 0).

Weights have MATLAB's layouts: ``(FH, FW, C, F)`` (2-D), ``(K, C, F)`` (1-D),
``(FH, FW, FD, C, F)`` (3-D), ``(FH, FW, C/G, F/G, G)`` (grouped), ``(FH, FW, F, C)``
(transposed; ``(K, F, C)`` and ``(FH, FW, FD, F, C)`` for 1-D and 3-D); the bias is
``1×…×1×F`` after the filter dims (``(1, 1, F)`` for 2-D).
"""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import numpy as np

from .._core import OptionError, ShapeError
from . import initializers
from .base import Layer, as_param, channel_size, check_shape, padding_list, set_factors, to_tuple

# Several names a line, as the table was written.
# fmt: off
__all__ = ["Convolution1DLayer", "Convolution2DLayer", "Convolution3DLayer",
           "GroupedConvolution2DLayer", "TransposedConvolution1DLayer", "TransposedConvolution2DLayer",
           "TransposedConvolution3DLayer", "convolution1dLayer", "convolution2dLayer", "convolution3dLayer",
           "groupedConvolution2dLayer", "transposedConv1dLayer", "transposedConv2dLayer", "transposedConv3dLayer"]
# fmt: on


def _nn():
    from .. import nn

    return nn


class _ConvolutionBase(Layer):
    learnable_parameters = ("Weights", "Bias")
    ndims = 2

    def __init__(
        self,
        filter_size,
        num_filters,
        *,
        stride=1,
        dilation_factor=1,
        padding=0,
        padding_value=0,
        num_channels="auto",
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
        who = type(self).__name__
        d = self.ndims
        self.filter_size = to_tuple(filter_size, d, "filter_size", who)
        if isinstance(num_filters, (bool, np.bool_)) or not isinstance(num_filters, (int, np.integer)) or num_filters < 1:
            raise OptionError(f"{who}: num_filters must be a positive integer, got {num_filters!r}")
        self.num_filters = int(num_filters)
        self.stride = to_tuple(stride, d, "stride", who)
        self.dilation_factor = to_tuple(dilation_factor, d, "dilation_factor", who)
        if isinstance(padding, str):
            if padding.lower() not in ("same", "causal") or (padding.lower() == "causal" and d != 1):
                raise OptionError(
                    f"{who}: padding must be a number, sizes or 'same'" + (" or 'causal'" if d == 1 else "") + f", got '{padding}'"
                )
            padding = padding.lower()
        else:
            padding = padding_list(padding, who)
        self.padding = padding
        self.padding_value = padding_value
        auto = isinstance(num_channels, str) and num_channels == "auto"
        if not auto and (isinstance(num_channels, (bool, np.bool_)) or not isinstance(num_channels, (int, np.integer)) or num_channels < 1):
            raise OptionError(f"{who}: num_channels must be 'auto' or a positive integer, got {num_channels!r}")
        self.num_channels = "auto" if auto else int(num_channels)
        self.weights_initializer = initializers.check_initializer(weights_initializer, "weights_initializer", who)
        self.bias_initializer = initializers.check_initializer(bias_initializer, "bias_initializer", who)
        self.Weights = as_param(weights, who, "weights")
        self.Bias = as_param(bias, who, "bias")
        set_factors(self, ("Weights", "Bias"), (weight_learn_rate_factor, bias_learn_rate_factor), (weight_l2_factor, bias_l2_factor))

    # Shapes and fans for C input channels (overridden by grouped / transposed layers).
    def _weight_shape(self, channels: int) -> Tuple[int, ...]:
        return self.filter_size + (channels, self.num_filters)

    def _bias_shape(self) -> Tuple[int, ...]:
        return (1,) * self.ndims + (self.num_filters,)

    def _fans(self, channels: int) -> Tuple[int, int]:
        k = int(np.prod(self.filter_size))
        return k * channels, k * self.num_filters

    def initialize(self, X) -> None:
        who = f"{type(self).__name__} '{self.name}'"
        channels = channel_size(X, who)
        if self.num_channels != "auto" and self.num_channels != channels:
            raise ShapeError(
                f"{who}: num_channels is {self.num_channels} but the input (format '{X.fmt}', shape "
                f"{tuple(X.shape)}) has {channels} channels"
            )
        shape = self._weight_shape(channels)
        fan_in, fan_out = self._fans(channels)
        if self.Weights is None:
            self.Weights = initializers.initialize(self.weights_initializer, shape, fan_in, fan_out, X.dtype, who)
        check_shape(self.Weights, shape, who, "Weights")
        if self.Bias is None:
            self.Bias = initializers.initialize(self.bias_initializer, self._bias_shape(), fan_in, fan_out, X.dtype, who)
        if self.Bias.size != int(np.prod(self._bias_shape())):
            raise ShapeError(f"{who}: Bias has shape {tuple(self.Bias.shape)}, expected {self._bias_shape()}")

    def _padding_arg(self) -> Any:
        if self.padding == "causal":
            k = self.dilation_factor[0] * (self.filter_size[0] - 1)
            return [[k], [0]]
        return self.padding

    def _bias_vector(self):
        return self.Bias.reshape((-1,))

    def predict(self, X):
        return _nn().dlconv(
            X,
            self.Weights,
            self._bias_vector(),
            stride=self.stride,
            dilation_factor=self.dilation_factor,
            padding=self._padding_arg(),
            padding_value=self.padding_value,
        )


class Convolution1DLayer(_ConvolutionBase):
    """MATLAB's ``convolution1dLayer(filterSize, numFilters)``: over the S dim, or over T for
    sequences (``CBT``); ``padding="causal"`` pads only on the left."""

    ndims = 1
    default_name = "conv1d"
    description = "1-D Convolution"


class Convolution2DLayer(_ConvolutionBase):
    """MATLAB's ``convolution2dLayer(filterSize, numFilters)``; weights ``(FH, FW, C, F)``."""

    ndims = 2
    default_name = "conv"
    description = "2-D Convolution"


class Convolution3DLayer(_ConvolutionBase):
    """MATLAB's ``convolution3dLayer(filterSize, numFilters)``; weights ``(FH, FW, FD, C, F)``."""

    ndims = 3
    default_name = "conv3d"
    description = "3-D Convolution"


class GroupedConvolution2DLayer(_ConvolutionBase):
    """MATLAB's ``groupedConvolution2dLayer(filterSize, numFiltersPerGroup, numGroups)``;
    ``num_groups="channel-wise"`` is depthwise convolution (one group per input channel).
    Weights ``(FH, FW, C/G, F/G, G)``, bias ``(1, 1, F/G, G)``."""

    ndims = 2
    default_name = "groupedconv"
    description = "2-D Grouped Convolution"

    def __init__(self, filter_size, num_filters_per_group, num_groups: Union[int, str], **options):
        super().__init__(filter_size, num_filters_per_group, **options)
        if isinstance(num_groups, str):
            if num_groups.lower() != "channel-wise":
                raise OptionError(f"groupedConvolution2dLayer: num_groups must be a positive integer or 'channel-wise', got '{num_groups}'")
            num_groups = "channel-wise"
        elif isinstance(num_groups, (bool, np.bool_)) or not isinstance(num_groups, (int, np.integer)) or num_groups < 1:
            raise OptionError(f"groupedConvolution2dLayer: num_groups must be a positive integer, got {num_groups!r}")
        self.num_groups = num_groups if isinstance(num_groups, str) else int(num_groups)
        self._groups: Optional[int] = None if isinstance(num_groups, str) else int(num_groups)

    def _g(self, channels: int) -> int:
        # Channel-wise with no channels: one (empty) group.
        g = max(channels, 1) if self.num_groups == "channel-wise" else self.num_groups
        if channels % g:
            raise ShapeError(f"groupedConvolution2dLayer '{self.name}': {channels} input channels cannot be split into {g} groups")
        return g

    def initialize(self, X) -> None:
        self._groups = self._g(channel_size(X, self.name))
        super().initialize(X)

    def _weight_shape(self, channels: int) -> Tuple[int, ...]:
        g = self._g(channels)
        return self.filter_size + (channels // g, self.num_filters, g)

    def _bias_shape(self) -> Tuple[int, ...]:
        return (1, 1, self.num_filters, self._groups or 1)

    def _fans(self, channels: int) -> Tuple[int, int]:
        k, g = int(np.prod(self.filter_size)), self._g(channels)
        return k * channels // g, k * self.num_filters

    def _bias_vector(self):
        # Output channel g·(F/G) + f holds bias (f, g): column-major order of (F/G, G).
        fg = self.num_filters
        return self.Bias.reshape((fg, -1)).transpose().reshape((-1,))


class _TransposedConvolutionBase(_ConvolutionBase):
    """Transposed convolution: ``cropping`` 0 or ``"same"`` (output size stride·input size);
    weights ``(filter dims..., F, C)``; glorot with fan-in prod(filter)·F and fan-out
    prod(filter)·C (MATLAB's convention)."""

    matlab_name = "transposedConv2dLayer"

    def __init__(self, filter_size, num_filters, *, stride=1, cropping=0, **options):
        who = self.matlab_name
        for bad in ("padding", "padding_value"):
            if bad in options:
                raise OptionError(f"{who}: unknown option '{bad}' (use cropping)")
        super().__init__(filter_size, num_filters, stride=stride, **options)
        if isinstance(cropping, str):
            if cropping.lower() != "same":
                raise OptionError(f"{who}: cropping must be a number, sizes or 'same', got '{cropping}'")
            cropping = "same"
        else:
            cropping = padding_list(cropping, who)
        self.cropping = cropping

    def _weight_shape(self, channels: int) -> Tuple[int, ...]:
        return self.filter_size + (self.num_filters, channels)

    def _fans(self, channels: int) -> Tuple[int, int]:
        k = int(np.prod(self.filter_size))
        return k * self.num_filters, k * channels

    def predict(self, X):
        return _nn().dltranspconv(
            X, self.Weights, self._bias_vector(), stride=self.stride, dilation_factor=self.dilation_factor, cropping=self.cropping
        )


class TransposedConvolution1DLayer(_TransposedConvolutionBase):
    """MATLAB's ``transposedConv1dLayer(filterSize, numFilters)``: over the S dim, or over T
    for sequences (``CBT``); ``cropping`` 0, sizes ``[before, after]`` or ``"same"``
    (output length stride·input length); weights ``(K, F, C)``, bias ``(1, F)``."""

    ndims = 1
    matlab_name = "transposedConv1dLayer"
    default_name = "transconv1d"
    description = "1-D Transposed Convolution"


class TransposedConvolution2DLayer(_TransposedConvolutionBase):
    """MATLAB's ``transposedConv2dLayer(filterSize, numFilters)``: ``cropping`` 0 or
    ``"same"`` (output size stride·input size); weights ``(FH, FW, F, C)``; glorot with
    fan-in prod(filter)·F and fan-out prod(filter)·C (MATLAB's convention)."""

    ndims = 2
    matlab_name = "transposedConv2dLayer"
    default_name = "transconv"
    description = "2-D Transposed Convolution"


class TransposedConvolution3DLayer(_TransposedConvolutionBase):
    """MATLAB's ``transposedConv3dLayer(filterSize, numFilters)``: ``cropping`` 0, sizes or
    ``"same"``; weights ``(FH, FW, FD, F, C)``, bias ``(1, 1, 1, F)``."""

    ndims = 3
    matlab_name = "transposedConv3dLayer"
    default_name = "transconv3d"
    description = "3-D Transposed Convolution"


convolution1dLayer = Convolution1DLayer
convolution2dLayer = Convolution2DLayer
convolution3dLayer = Convolution3DLayer
groupedConvolution2dLayer = GroupedConvolution2DLayer
transposedConv1dLayer = TransposedConvolution1DLayer
transposedConv2dLayer = TransposedConvolution2DLayer
transposedConv3dLayer = TransposedConvolution3DLayer
