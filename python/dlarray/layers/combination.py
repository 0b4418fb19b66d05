"""Layers that combine several inputs: ``additionLayer(numInputs)``,
``multiplicationLayer(numInputs)``, ``concatenationLayer(dim, numInputs)`` and ``depthConcatenationLayer(numInputs)``. Inputs are
named ``in1`` … ``inN``: connect them with ``net.connect_layers("relu", "add/in2")``."""

from __future__ import annotations

from typing import Union

import numpy as np

from .._core import FormatError, OptionError, concatenate
from .base import Layer, port_count

# Several names a line, as the table was written.
# fmt: off
__all__ = ["AdditionLayer", "ConcatenationLayer", "DepthConcatenationLayer", "MultiplicationLayer", "additionLayer",
           "concatenationLayer", "depthConcatenationLayer", "multiplicationLayer"]
# fmt: on


class _Combination(Layer):
    def __init__(self, num_inputs: int, name: str):
        super().__init__(name)
        self.num_inputs = port_count(num_inputs, "num_inputs", type(self).__name__)

    def _check_formats(self, xs):
        fmts = {x.fmt for x in xs}
        if len(fmts) > 1:
            raise FormatError(
                f"{type(self).__name__} '{self.name}': inputs have different formats {sorted(fmts)} (shapes {[tuple(x.shape) for x in xs]})"
            )


class AdditionLayer(_Combination):
    """MATLAB's ``additionLayer(numInputs)``: the elementwise sum of its inputs."""

    default_name = "addition"
    description = "Addition"

    def __init__(self, num_inputs: int = 2, *, name: str = ""):
        super().__init__(num_inputs, name)

    def predict(self, *xs):
        self._check_formats(xs)
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return total


class MultiplicationLayer(_Combination):
    """MATLAB's ``multiplicationLayer(numInputs)``: the elementwise product of its inputs
    (of one format; sizes broadcast as in numpy, MATLAB's implicit expansion)."""

    default_name = "multiplication"
    description = "Multiplication"

    def __init__(self, num_inputs: int = 2, *, name: str = ""):
        super().__init__(num_inputs, name)

    def predict(self, *xs):
        self._check_formats(xs)
        product = xs[0]
        for x in xs[1:]:
            product = product * x
        return product


class ConcatenationLayer(_Combination):
    """MATLAB's ``concatenationLayer(dim, numInputs)``: ``dim`` is a format letter
    (``"C"``, ``"T"``...) or a 0-based dim index (MATLAB's 1-based ``dim`` minus one)."""

    default_name = "concat"
    description = "Concatenation"

    def __init__(self, dim: Union[int, str], num_inputs: int = 2, *, name: str = ""):
        super().__init__(num_inputs, name)
        if isinstance(dim, str):
            if len(dim) != 1 or dim.upper() not in "SCBTU":
                raise OptionError(f"concatenationLayer: dim must be a format letter or an int, got '{dim}'")
            dim = dim.upper()
        elif not isinstance(dim, (int, np.integer)) or dim < 0:
            raise OptionError(f"concatenationLayer: dim must be a format letter or a 0-based int, got {dim!r}")
        self.dim = dim if isinstance(dim, str) else int(dim)

    def predict(self, *xs):
        self._check_formats(xs)
        axis = self.dim
        if isinstance(axis, str):
            fmt = xs[0].fmt
            if fmt.count(axis) != 1:
                raise FormatError(f"concatenationLayer '{self.name}': inputs of format '{fmt}' have {fmt.count(axis)} '{axis}' dimensions")
            axis = fmt.index(axis)
        return concatenate(list(xs), axis)


class DepthConcatenationLayer(ConcatenationLayer):
    """MATLAB's ``depthConcatenationLayer(numInputs)``: concatenation along C."""

    default_name = "depthcat"
    description = "Depth concatenation"

    def __init__(self, num_inputs: int = 2, *, name: str = ""):
        super().__init__("C", num_inputs, name=name)


additionLayer = AdditionLayer
concatenationLayer = ConcatenationLayer
depthConcatenationLayer = DepthConcatenationLayer
multiplicationLayer = MultiplicationLayer
