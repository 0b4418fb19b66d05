"""``functionLayer(fn)``: a layer computing ``fn(X1, ..., Xn)`` (MATLAB's ``functionLayer``).

Options as MATLAB: ``num_inputs`` / ``num_outputs`` (default 1), ``formattable`` (default
False: ``fn`` receives unformatted arrays, and the outputs get the first input's format back
when they have as many dims; True: ``fn`` receives and returns formatted dlarrays),
``description``. A network holding a ``functionLayer`` can be saved only if ``fn`` is a
module-level function (it is stored by name, never pickled); loading it back needs ``fn`` to
be one of dlarray's own functions or passed to ``load(..., custom_objects=[fn])`` or
registered with ``register_custom(fn)`` — a checkpoint never imports code
(docs/checkpoints.md).
"""

from __future__ import annotations

from typing import Callable

from .._arguments import flag
from .._core import OptionError, dlarray, stripdims
from .base import Layer, port_count

__all__ = ["FunctionLayer", "functionLayer"]


class FunctionLayer(Layer):
    """MATLAB's ``functionLayer(fn)``: a layer without learnables computing ``fn(X1, ..., Xn)``.

    ``num_inputs`` / ``num_outputs`` (default 1), ``formattable`` (default False: ``fn`` gets
    unformatted arrays and the outputs get the first input's format back), ``description``,
    ``name``. See the module documentation for saving networks that hold one.

    >>> import numpy as np
    >>> from dlarray import dlarray, dlnetwork, featureInputLayer, functionLayer
    >>> def square(x):
    ...     return x * x
    >>> net = dlnetwork([featureInputLayer(2), functionLayer(square)])
    >>> Y = net.predict(dlarray(np.array([[1.0], [3.0]], np.float32), "CB"))
    >>> Y.fmt, Y.tolist()
    ('CB', [[1.0], [9.0]])
    """

    default_name = "layer"

    def __init__(
        self, fn: Callable, *, num_inputs: int = 1, num_outputs: int = 1, formattable: bool = False, description: str = "", name: str = ""
    ):
        super().__init__(name)
        if not callable(fn):
            raise OptionError(f"functionLayer: fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.num_inputs = port_count(num_inputs, "num_inputs", "functionLayer")
        self.num_outputs = port_count(num_outputs, "num_outputs", "functionLayer")
        self.formattable = flag(formattable, "formattable", "functionLayer")
        if not isinstance(description, str):
            raise OptionError(f"functionLayer: description must be a string, got {description!r}")
        self.description = description or f"Function ({getattr(fn, '__name__', 'fn')})"

    def predict(self, *xs):
        if self.formattable:
            return self.fn(*xs)
        fmt = xs[0].fmt if xs and isinstance(xs[0], dlarray) else ""
        plain = [stripdims(x) if isinstance(x, dlarray) and x.fmt else x for x in xs]
        out = self.fn(*plain)
        outs = list(out) if isinstance(out, tuple) else [out]
        outs = [dlarray(y, fmt) if fmt and isinstance(y, dlarray) and not y.fmt and y.ndim == len(fmt) else y for y in outs]
        return tuple(outs) if isinstance(out, tuple) else outs[0]


functionLayer = FunctionLayer
