"""dlconv and dltranspconv: MATLAB's options parsed and documented here; the layout rules
(the input's dims, MATLAB's weight layout (K..., C/G, F/G, G), the bias, "same" padding) live
in the core (``rust/core/src/dl_ops/conv.rs``), which takes the formatted array in one call."""

from __future__ import annotations

from typing import Any, Optional

from .. import _core
from .._arguments import number
from .._core import dlarray
from .._matlab_names import accept_matlab_names
from ._layout import dl_input
from ._options import padding_option, window_values
from ._params import as_param

__all__ = ["dlconv", "dltranspconv"]


def _param(v: Any, like: dlarray, op: str, name: str) -> dlarray:
    """A weight or bias as a dlarray (the core ignores a dlarray's format)."""
    return v if isinstance(v, dlarray) else as_param(v, like, op, name)


def _bias(bias: Any, like: dlarray, op: str) -> Optional[dlarray]:
    """MATLAB's bias (F elements, 1-D or (F, 1), or a scalar); a plain zero adds nothing."""
    if bias is None:
        return None
    if isinstance(bias, dlarray):
        return bias
    b = as_param(bias, like, op, "bias")
    return None if b.size == 1 and float(abs(b.reshape(()))) == 0.0 else b


def dlconv(
    X: dlarray,
    weights: Any,
    bias: Any = 0,
    stride: Any = 1,
    dilation_factor: Any = 1,
    padding: Any = 0,
    padding_value: float = 0.0,
    data_format: Optional[str] = None,
) -> dlarray:
    """Deep-learning convolution (MATLAB's ``dlconv``), 1-D, 2-D or 3-D.

    ``weights`` has MATLAB's layout ``(FH, FW, C/G, F/G, G)`` for 2-D (one more or fewer
    leading filter dims for 3-D / 1-D; ``G`` may be omitted for one group); channel-wise
    (depthwise) convolution has ``C/G = 1``. ``bias`` has ``F`` elements (1-D or (F, 1)) or
    is a scalar. ``padding`` is a number, per-dim sizes, a (2, d) before/after matrix or
    ``"same"``; ``padding_value`` a number. The output keeps the input's format (C = F). An
    input without S dims but with a T dim is convolved over time (1-D).
    """
    op = "dlconv"
    dl_input(X, data_format, op)
    return _core._dlconv(
        X,
        _param(weights, X, op, "weights"),
        _bias(bias, X, op),
        data_format,
        window_values(stride, "stride", op),
        window_values(dilation_factor, "dilation_factor", op),
        padding_option(padding, op),
        number(padding_value, "padding_value", op, finite=False),
    )


def dltranspconv(
    X: dlarray,
    weights: Any,
    bias: Any = 0,
    stride: Any = 1,
    dilation_factor: Any = 1,
    cropping: Any = 0,
    data_format: Optional[str] = None,
) -> dlarray:
    """Transposed convolution (MATLAB's ``dltranspconv``).

    ``weights`` has MATLAB's layout ``(FH, FW, F/G, C/G, G)`` for 2-D — filters and channels
    swapped relative to ``dlconv``. Output size per dim is
    ``(I − 1)·stride + dilation·(K − 1) + 1 − crop_before − crop_after``. ``cropping`` takes
    the same forms as dlconv's padding; ``"same"`` gives output size ``I·stride`` (an odd
    total crop removes the extra element at the end — decision recorded in docs/decisions.md).
    """
    op = "dltranspconv"
    dl_input(X, data_format, op)
    return _core._dltranspconv(
        X,
        _param(weights, X, op, "weights"),
        _bias(bias, X, op),
        data_format,
        window_values(stride, "stride", op),
        window_values(dilation_factor, "dilation_factor", op),
        padding_option(cropping, op, name="cropping"),
    )


accept_matlab_names(globals())
