"""``fullyconnect``: the weighted sum of every S, C (and U) element of an observation, plus a
bias, with MATLAB's weight layout so weights exported from MATLAB give identical outputs
(the layout rules are the core's, ``dl_ops/fullyconnect.rs``)."""

from __future__ import annotations

from typing import Any, Optional

from .. import _core
from .._core import dlarray
from .._matlab_names import accept_matlab_names
from ._layout import dl_input
from ._params import as_param

__all__ = ["fullyconnect"]


def fullyconnect(X: dlarray, weights: Any, bias: Any = None, data_format: Optional[str] = None) -> dlarray:
    """MATLAB's ``Y = fullyconnect(X, weights, bias)``.

    The S, C and U dims of each observation are flattened in MATLAB's **column-major** order
    of the canonical layout (S1, S2, ..., C, U...): for ``X`` formatted "SSCB" with shape
    ``(H, W, C, N)`` the feature index of ``X[h, w, c, n]`` is ``h + H*(w + W*c)``.

    ``weights`` is ``(output_size, input_size)``, or MATLAB's ``(output_size, *feature_shape)``
    such as ``(output_size, H, W, C)``; ``bias`` has ``output_size`` elements (1-D or
    ``(output_size, 1)``; a scalar broadcasts; ``None`` means no bias — a convenience MATLAB
    does not have).

    The output is formatted "CB" (``(output_size, N)``), or "CBT" when ``X`` has a T dim; an
    input without a B dim gets a size-1 B. Unformatted input needs ``data_format`` and gives an
    unformatted output laid out as "CB"/"CBT". A C dim is required (decision: MATLAB's
    fullyconnect documents C-carrying formats only).
    """
    op = "fullyconnect"
    dl_input(X, data_format, op)
    w = weights if isinstance(weights, dlarray) else as_param(weights, X, op, "weights")
    b = bias if bias is None or isinstance(bias, dlarray) else as_param(bias, X, op, "bias")
    return _core._fullyconnect(X, w, b, data_format)


accept_matlab_names(globals())
