"""What ``lstm`` and ``gru`` share: moving the input into the kernels' (C, B, T) layout and
back, shaping the initial states and the parameters, and checking the options.

Decisions (docs/decisions.md):

* The input may be formatted "CBT", "CB" (one time step) or "CT" (one observation); S and U
  dims are refused. ``Y`` has the input's format — "CBT" for "CBT" input — and the final
  states are always "CB" (B = 1 for "CT" input). Unformatted input with ``data_format=``
  gives an unformatted ``Y`` in ``data_format``'s dim order and (H, B) state matrices.
* The initial states may be (H, B), or (H,) / (H, 1) for every observation; a formatted
  state is used by its data (its format must have a C dim).
* Bias is 1-D (G·H,) or MATLAB's (G·H, 1).
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from .._arguments import as_dlarray
from .._core import FormatError, ShapeError, dlarray, stripdims
from ._layout import layout_of, plain
from ._params import as_param

STATE_ACTIVATIONS = ("tanh", "softsign", "relu")
GATE_ACTIVATIONS = ("sigmoid", "hard-sigmoid")


class SequenceInput:
    """The input of a recurrent op moved to (C, B, T), and how to move outputs back."""

    def __init__(self, X: Any, data_format: Optional[str], op: str):
        if not isinstance(X, dlarray) and data_format:
            X = as_dlarray(X, op, "X")
        layout = layout_of(X, data_format, op)
        bad = [c for c in layout.labels if c in "SU"]
        if bad:
            raise FormatError(
                f"{op}: input with format '{layout.labels}' (shape {tuple(X.shape)}) has '{''.join(bad)}' dims; "
                f"a recurrent op takes C, B and T dims only"
            )
        if not layout.has("C"):
            raise FormatError(f"{op}: input with format '{layout.labels}' (shape {tuple(X.shape)}) has no 'C' dimension")
        x = plain(X, layout)
        labels = layout.labels
        for c in "BT":  # missing B / T become trailing singletons
            if c not in labels:
                x = x.reshape(tuple(x.shape) + (1,))
                labels += c
        perm = [labels.index(c) for c in "CBT"]
        self.x = x.transpose(perm) if perm != [0, 1, 2] else x
        self.layout = layout
        self.labels = labels
        self.perm = perm
        self.op = op
        self.C, self.B, self.T = (int(s) for s in self.x.shape)

    def output(self, y: dlarray) -> dlarray:
        """``y`` (H, B, T) back in the input's dim order (and format)."""
        inv = [0, 0, 0]
        for i, p in enumerate(self.perm):
            inv[p] = i
        out = y.transpose(inv) if inv != [0, 1, 2] else y
        n = len(self.layout.labels)
        if n < 3:
            out = out.reshape(tuple(out.shape[:n]))
        return dlarray(out, self.layout.labels) if self.layout.formatted else out

    def state(self, s: dlarray) -> dlarray:
        """A final state (H, B), formatted "CB" when the input was formatted."""
        return dlarray(s, "CB") if self.layout.formatted else s

    def initial_state(self, s: Any, H: int, name: str) -> dlarray:
        """An initial state as (H, B): given as (H, B), or (H,) / (H, 1) for every observation."""
        if isinstance(s, dlarray) and s.fmt:
            if "C" not in s.fmt:
                raise FormatError(f"{self.op}: {name} with format '{s.fmt}' (shape {tuple(s.shape)}) has no 'C' dimension")
            s = stripdims(s)
        p = as_param(s, self.x, self.op, name)
        shape = tuple(p.shape)
        if shape == (H, self.B):
            return p
        if shape in ((H,), (H, 1)):
            p = p.reshape((H, 1))
            return p if self.B == 1 else p + np.zeros((H, self.B), dtype=p.dtype)
        raise ShapeError(
            f"{self.op}: {name} must have shape (H, B) = ({H}, {self.B}), or ({H},) / ({H}, 1), for "
            f"H = {H} hidden units and input of shape {tuple(self.x.shape)} (C, B, T); got shape {shape}"
        )


def weights(w: Any, r: Any, b: Any, like: dlarray, gates: int, bias_rows: int, C: int, op: str) -> Tuple[dlarray, dlarray, dlarray, int]:
    """The (G·H, C) input weights, (G·H, H) recurrent weights and 1-D bias, checked; and H."""
    W, R, Bv = as_param(w, like, op, "weights"), as_param(r, like, op, "recurrent_weights"), as_param(b, like, op, "bias")
    if R.ndim != 2 or R.shape[0] != gates * R.shape[1]:
        raise ShapeError(f"{op}: recurrent_weights must have shape ({gates}*H, H), got shape {tuple(R.shape)}")
    H = int(R.shape[1])
    if tuple(W.shape) != (gates * H, C):
        raise ShapeError(
            f"{op}: weights must have shape ({gates}*H, C) = ({gates * H}, {C}) for H = {H} (from recurrent_weights "
            f"of shape {tuple(R.shape)}) and an input with C = {C}; got shape {tuple(W.shape)}"
        )
    n = bias_rows * H
    if tuple(Bv.shape) not in ((n,), (n, 1)):
        raise ShapeError(f"{op}: bias must have shape ({n},) or ({n}, 1) ({bias_rows}*H, H = {H}), got shape {tuple(Bv.shape)}")
    return W, R, Bv.reshape((n,)) if Bv.ndim != 1 else Bv, H
