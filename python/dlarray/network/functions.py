"""MATLAB's function forms of the dlnetwork methods: ``forward(net, X)``, ``predict(net, X)``,
``initialize(net)``, ``resetState(net)``.

``forward`` and ``predict`` are the methods (``forward(net, X, return_state=True)`` gives
``(Y, state)``). ``initialize`` and ``resetState`` have MATLAB's value semantics, which the
methods do not: they return a new network and leave the one given unchanged, so MATLAB's
``net = initialize(net)`` and ``net = resetState(net)`` port word for word.
"""

from __future__ import annotations

from typing import Any

from .._core import DTypeError
from .._matlab_names import accept_matlab_names
from .dlnetwork import dlnetwork

__all__ = ["forward", "initialize", "predict", "resetState"]


def _network(net: Any, op: str) -> dlnetwork:
    if not isinstance(net, dlnetwork):
        raise DTypeError(f"{op}: the first argument must be a dlnetwork, got {type(net).__name__}")
    return net


def forward(net: dlnetwork, *X: Any, return_state: bool = False, outputs: Any = None, acceleration: str = "auto"):
    """MATLAB's ``[Y, state] = forward(net, X)``: ``net.forward(X, ...)`` (training mode)."""
    return _network(net, "forward").forward(*X, return_state=return_state, outputs=outputs, acceleration=acceleration)


def predict(net: dlnetwork, *X: Any, return_state: bool = False, outputs: Any = None, acceleration: str = "auto"):
    """MATLAB's ``Y = predict(net, X)``: ``net.predict(X, ...)`` (inference mode)."""
    return _network(net, "predict").predict(*X, return_state=return_state, outputs=outputs, acceleration=acceleration)


def initialize(net: dlnetwork, *example_inputs: Any) -> dlnetwork:
    """MATLAB's ``net = initialize(net, X...)``: an initialised copy of ``net``."""
    return _network(net, "initialize")._clone().initialize(*example_inputs)


def resetState(net: dlnetwork) -> dlnetwork:  # noqa: N802 - MATLAB's name
    """MATLAB's ``net = resetState(net)``: a copy of ``net`` with recurrent states reset."""
    return _network(net, "resetState")._clone().reset_state()


accept_matlab_names(globals())
