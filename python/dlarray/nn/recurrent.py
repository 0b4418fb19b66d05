"""``lstm`` and ``gru``: MATLAB's functional recurrent ops, differentiable to any order.

Each runs as one fused Rust op over the whole sequence (one GEMM for the input projection of
all steps, then one recurrent GEMM and one pass over the gates per step). Its first-order
backward pass is a fused BPTT kernel; when higher derivatives are requested
(``dlgradient(..., enable_higher_derivatives=True)``) the backward pass is rebuilt from
differentiable primitives instead, so gradients of gradients work through the recurrence —
which MATLAB itself does not support for ``lstm``/``gru``.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

from .. import _core
from .._arguments import choice
from .._core import dlarray
from .._matlab_names import accept_matlab_names
from ._recurrent_common import GATE_ACTIVATIONS, STATE_ACTIVATIONS, SequenceInput
from ._recurrent_common import weights as _parameters

__all__ = ["lstm", "gru"]

RESET_GATE_MODES = ("after-multiplication", "before-multiplication", "recurrent-bias-after-multiplication")


def lstm(
    X: Any,
    H0: Any,
    C0: Any,
    weights: Any,
    recurrent_weights: Any,
    bias: Any,
    *,
    state_activation_function: str = "tanh",
    gate_activation_function: str = "sigmoid",
    data_format: Optional[str] = None,
) -> Tuple[dlarray, dlarray, dlarray]:
    """Long short-term memory over a sequence: MATLAB's
    ``[Y, hiddenState, cellState] = lstm(X, H0, C0, weights, recurrentWeights, bias)``.

    Per step, with the gates stacked in MATLAB's order **i, f, g, o** (input, forget, cell
    candidate, output) in the rows of ``weights`` (4H, C), ``recurrent_weights`` (4H, H) and
    ``bias`` (4H,) or (4H, 1)::

        [zi; zf; zg; zo] = W x_t + R h_{t-1} + b
        i, f, o = σ_g(zi), σ_g(zf), σ_g(zo);   g = σ_s(zg)
        c_t = f ⊙ c_{t-1} + i ⊙ g;              h_t = o ⊙ σ_s(c_t)

    ``state_activation_function`` σ_s: "tanh" (default), "softsign" (x / (1 + |x|)) or "relu";
    ``gate_activation_function`` σ_g: "sigmoid" (default) or "hard-sigmoid"
    (max(0, min(1, 0.2 x + 0.5)), MATLAB's definition).

    ``X`` is formatted with a C dim and optionally B and T ("CBT", "CB" for one step, "CT" for
    one observation), or unformatted with ``data_format=``. ``H0``, ``C0`` are (H, B), or (H,)
    / (H, 1) shared by every observation. Returns ``(Y, h, c)``: ``Y`` holds the hidden state
    of every step in the input's format (e.g. "CBT"), ``h`` and ``c`` the final states ("CB";
    unformatted (H, B) for unformatted input).

    Decisions where MATLAB is unconfirmed: "relu" is accepted as a state activation (newer
    releases); a "CB" input is one time step and ``Y`` keeps the "CB" format.
    """
    op = "lstm"
    state = choice(state_activation_function, STATE_ACTIVATIONS, "state_activation_function", op)
    gate = choice(gate_activation_function, GATE_ACTIVATIONS, "gate_activation_function", op)
    seq = SequenceInput(X, data_format, op)
    W, R, b, H = _parameters(weights, recurrent_weights, bias, seq.x, 4, 4, seq.C, op)
    h0 = seq.initial_state(H0, H, "H0")
    c0 = seq.initial_state(C0, H, "C0")
    y, h, c = _core._lstm(seq.x, h0, c0, W, R, b, state, gate)
    return seq.output(y), seq.state(h), seq.state(c)


def gru(
    X: Any,
    H0: Any,
    weights: Any,
    recurrent_weights: Any,
    bias: Any,
    *,
    reset_gate_mode: str = "after-multiplication",
    state_activation_function: str = "tanh",
    gate_activation_function: str = "sigmoid",
    data_format: Optional[str] = None,
) -> Tuple[dlarray, dlarray]:
    """Gated recurrent unit over a sequence: MATLAB's
    ``[Y, hiddenState] = gru(X, H0, weights, recurrentWeights, bias)``.

    Gates stacked in MATLAB's order **r, z, h̃** (reset, update, candidate) in the rows of
    ``weights`` (3H, C) and ``recurrent_weights`` (3H, H)::

        r = σ_g(W_r x_t + b_r + R_r h_{t-1} [+ b_Rr])
        z = σ_g(W_z x_t + b_z + R_z h_{t-1} [+ b_Rz])
        h̃ = σ_s(W_h̃ x_t + b_h̃ + r ⊙ (R_h̃ h_{t-1} [+ b_Rh̃]))   "after-multiplication" (default)
        h̃ = σ_s(W_h̃ x_t + b_h̃ + R_h̃ (r ⊙ h_{t-1}))           "before-multiplication"
        h_t = (1 − z) ⊙ h̃ + z ⊙ h_{t-1}

    The bracketed recurrent biases exist only with
    ``reset_gate_mode="recurrent-bias-after-multiplication"``: then ``bias`` has 6H elements,
    the input biases (r, z, h̃) followed by the recurrent biases (r, z, h̃) — PyTorch's GRU is
    this mode with ``bias = [b_ih; b_hh]``. Otherwise ``bias`` has 3H elements.

    Options, formats and outputs as in :func:`lstm`; returns ``(Y, h)``.

    Decisions where MATLAB is unconfirmed: the functional default reset-gate mode is
    "after-multiplication" (as ``gruLayer``'s); the 6H bias is ordered input then recurrent.
    """
    op = "gru"
    mode = choice(reset_gate_mode, RESET_GATE_MODES, "reset_gate_mode", op)
    state = choice(state_activation_function, STATE_ACTIVATIONS, "state_activation_function", op)
    gate = choice(gate_activation_function, GATE_ACTIVATIONS, "gate_activation_function", op)
    seq = SequenceInput(X, data_format, op)
    bias_rows = 6 if mode == "recurrent-bias-after-multiplication" else 3
    W, R, b, H = _parameters(weights, recurrent_weights, bias, seq.x, 3, bias_rows, seq.C, op)
    h0 = seq.initial_state(H0, H, "H0")
    y, h = _core._gru(seq.x, h0, W, R, b, mode, state, gate)
    return seq.output(y), seq.state(h)


accept_matlab_names(globals())
