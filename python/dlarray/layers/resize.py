"""Resizing and cropping layers: ``resize2dLayer``, ``resize3dLayer`` (on the functional
``dlresize``), ``crop2dLayer`` and ``crop3dLayer`` (the input cropped to the spatial size of
a reference).
"""

from __future__ import annotations

from typing import List

import numpy as np

from .._arguments import choice, int_values
from .._core import FormatError, OptionError, ShapeError
from .base import Layer

# Several names a line, as the table was written.
# fmt: off
__all__ = ["Crop2DLayer", "Crop3DLayer", "Resize2DLayer", "Resize3DLayer", "crop2dLayer", "crop3dLayer",
           "resize2dLayer", "resize3dLayer"]
# fmt: on


def _nn():
    from .. import nn

    return nn


def _check_spatial(X, n: int, who: str) -> None:
    fmt = X.fmt or ""
    if fmt.count("S") != n:
        raise FormatError(f"{who}: the input (format '{fmt}', shape {tuple(X.shape)}) must have {n} 'S' dimensions")


class _ResizeBase(Layer):
    ndims = 2
    matlab_name = "resize2dLayer"
    linear_name = "bilinear"

    def __init__(
        self,
        *,
        scale=None,
        output_size=None,
        enable_reference_input=False,
        method="nearest",
        geometric_transform_mode="half-pixel",
        nearest_rounding_mode="round",
        name="",
    ):
        super().__init__(name)
        who = self.matlab_name
        d = self.ndims
        given = [o for o, v in (("scale", scale), ("output_size", output_size)) if v is not None]
        if enable_reference_input:
            raise OptionError(f"{who}: enable_reference_input is not supported; give scale or output_size")
        if len(given) != 1:
            raise OptionError(f"{who}: give exactly one of scale and output_size")
        if scale is not None:
            vals = np.asarray(scale, dtype=np.float64).reshape(-1) if not isinstance(scale, str) else np.array([])
            if vals.size not in (1, d) or not np.all(np.isfinite(vals)) or np.any(vals <= 0):
                raise OptionError(f"{who}: scale must be a positive number or {d} positive numbers, got {scale!r}")
            scale = tuple(float(v) for v in (np.repeat(vals, d) if vals.size == 1 else vals))
        else:
            vals = int_values(output_size, "output_size", who)
            if len(vals) != d or any(v < 1 for v in vals):
                raise OptionError(f"{who}: output_size must be {d} positive integers, got {output_size!r}")
            output_size = tuple(vals)
        self.scale = scale
        self.output_size = output_size
        self.method = choice(method, ("nearest", self.linear_name), "method", who)
        self.geometric_transform_mode = choice(geometric_transform_mode, ("half-pixel", "asymmetric"), "geometric_transform_mode", who)
        self.nearest_rounding_mode = choice(nearest_rounding_mode, ("round", "floor"), "nearest_rounding_mode", who)

    def predict(self, X):
        _check_spatial(X, self.ndims, f"{self.matlab_name} '{self.name}'")
        return _nn().dlresize(
            X,
            scale=self.scale,
            output_size=self.output_size,
            method="nearest" if self.method == "nearest" else "linear",
            geometric_transform_mode=self.geometric_transform_mode,
            nearest_rounding_mode=self.nearest_rounding_mode,
        )


class Resize2DLayer(_ResizeBase):
    """MATLAB's ``resize2dLayer(Scale=s)`` / ``resize2dLayer(OutputSize=[h w])``: resizes the
    two S dims with :func:`~dlarray.nn.resize.dlresize`. Options: ``scale`` (a number or
    [sh sw]) or ``output_size`` ([h w]), exactly one; ``method`` "nearest" (default) or
    "bilinear"; ``geometric_transform_mode`` "half-pixel" (default) or "asymmetric";
    ``nearest_rounding_mode`` "round" (default) or "floor". MATLAB's
    ``EnableReferenceInput`` is not supported."""

    ndims = 2
    matlab_name = "resize2dLayer"
    linear_name = "bilinear"
    default_name = "resize"
    description = "2-D Resize"


class Resize3DLayer(_ResizeBase):
    """MATLAB's ``resize3dLayer(Scale=s)`` / ``resize3dLayer(OutputSize=[h w d])``: as
    :class:`Resize2DLayer` over three S dims; ``method`` "nearest" or "trilinear"."""

    ndims = 3
    matlab_name = "resize3dLayer"
    linear_name = "trilinear"
    default_name = "resize3d"
    description = "3-D Resize"


class Crop2DLayer(Layer):
    """MATLAB's ``crop2dLayer(mode)``: crops its first input ``in`` to the height and width of
    its second input ``ref`` (only the reference's size is used).

    ``mode`` is ``"centercrop"`` (default; the crop starts at ``floor((size − ref size) / 2)``
    in each S dim) or a location ``(x, y)``: the **0-based** column and row of the crop's
    top-left corner (MATLAB's 1-based ``[X Y]`` minus one).
    """

    default_name = "crop"
    description = "2-D Crop"
    num_inputs = 2
    ndims = 2
    matlab_name = "crop2dLayer"
    location_names = "(x, y)"

    def __init__(self, mode="centercrop", *, name=""):
        super().__init__(name)
        who = self.matlab_name
        if isinstance(mode, str):
            if mode.lower() != "centercrop":
                raise OptionError(f"{who}: mode must be 'centercrop' or a location {self.location_names}, got '{mode}'")
            self.mode = "centercrop"
            self.location = None
        else:
            loc = int_values(mode, "location", who)
            if len(loc) != self.ndims or any(v < 0 for v in loc):
                raise OptionError(f"{who}: the location must be {self.ndims} non-negative integers {self.location_names}, got {mode!r}")
            self.mode = "custom"
            self.location = tuple(loc)

    @property
    def input_names(self) -> List[str]:
        return ["in", "ref"]

    def predict(self, X, ref):
        who = f"{self.matlab_name} '{self.name}'"
        _check_spatial(X, self.ndims, who)
        _check_spatial(ref, self.ndims, who + " (reference)")
        s = [i for i, c in enumerate(X.fmt) if c == "S"]
        r = [i for i, c in enumerate(ref.fmt) if c == "S"]
        size = [int(X.shape[i]) for i in s]
        target = [int(ref.shape[i]) for i in r]
        if any(t > n for t, n in zip(target, size)):
            raise ShapeError(f"{who}: the reference's spatial size {tuple(target)} is larger than the input's {tuple(size)}")
        if self.mode == "centercrop":
            start = [(n - t) // 2 for n, t in zip(size, target)]
        else:
            # MATLAB's location lists the column (x) before the row (y); depth (z) comes last.
            start = [self.location[1], self.location[0], *self.location[2:]]
            if any(b + t > n for b, t, n in zip(start, target, size)):
                raise ShapeError(
                    f"{who}: a crop of size {tuple(target)} at location {self.location_names} = {self.location} does "
                    f"not fit in the input's spatial size {tuple(size)}"
                )
        key = [slice(None)] * X.ndim
        for i, b, t in zip(s, start, target):
            key[i] = slice(b, b + t)
        return X[tuple(key)]


class Crop3DLayer(Crop2DLayer):
    """MATLAB's ``crop3dLayer(mode)``: crops its first input ``in`` (``SSSCB``) to the three
    spatial sizes of its second input ``ref``.

    ``mode`` is ``"centercrop"`` (default; each S dim starts at ``floor((size − ref size) /
    2)``) or a location ``(x, y, z)``: the **0-based** column, row and depth of the crop's
    first corner (MATLAB's 1-based ``[X Y Z]`` minus one).

    >>> import numpy as np
    >>> from dlarray import dlarray
    >>> X = dlarray(np.zeros((5, 6, 4, 2, 1)), "SSSCB")
    >>> ref = dlarray(np.zeros((3, 3, 2, 1, 1)), "SSSCB")
    >>> crop3dLayer((1, 0, 2)).predict(X, ref).shape
    (3, 3, 2, 2, 1)
    """

    default_name = "crop3d"
    description = "3-D Crop"
    ndims = 3
    matlab_name = "crop3dLayer"
    location_names = "(x, y, z)"


resize2dLayer = Resize2DLayer
resize3dLayer = Resize3DLayer
crop2dLayer = Crop2DLayer
crop3dLayer = Crop3DLayer
