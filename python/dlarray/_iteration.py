"""Iterating over a dlarray (``for row in X``, ``a, b = X``, ``list(X)``).

An unformatted dlarray iterates as a numpy array: over its first dim, each item a dlarray.
A formatted one refuses (:class:`~dlarray.errors.FormattedIterationError`, a ``TypeError``):
its first dim is a labelled one (S or C in MATLAB's canonical order), so iteration would
silently split images or channels, and ``Y, state = net.forward(X)`` — MATLAB's
``[Y, state] = forward(net, X)`` ported word for word — would unpack the two rows of a
two-class output instead of failing. Index it (``X[i]``) or iterate over ``stripdims(X)``.
"""

from __future__ import annotations

from typing import Any, Iterator

from .errors import FormattedIterationError, ScalarIterationError

__all__ = ["iterate"]


def iterate(X: Any) -> Iterator[Any]:
    """The iterator ``iter(X)`` returns (called by ``dlarray.__iter__``)."""
    if X.fmt:
        raise FormattedIterationError(
            f"cannot iterate over or unpack a formatted dlarray (format '{X.fmt}', shape {tuple(X.shape)}): "
            "index it (X[i]) or iterate over stripdims(X); for a network's state ask for it: "
            "Y, state = net.forward(X, return_state=True)"
        )
    if X.ndim == 0:
        raise ScalarIterationError("iter: cannot iterate over a 0-d dlarray (shape ()); convert it with float(X) or X.item()")
    return (X[i] for i in range(X.shape[0]))
