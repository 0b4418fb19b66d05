"""Recurrent layers: ``lstmLayer(numHiddenUnits)``, ``bilstmLayer(numHiddenUnits)``,
``gruLayer(numHiddenUnits)`` and the projected ``lstmProjectedLayer`` / ``gruProjectedLayer``.

MATLAB's layouts and defaults: LSTM ``InputWeights`` (4H, C) glorot, ``RecurrentWeights``
(4H, H) orthogonal, ``Bias`` (4H, 1) unit-forget-gate, gate order i, f, g, o; GRU (3H, ·),
bias zeros, ``reset_gate_mode`` "after-multiplication". ``output_mode`` "sequence" (the
output keeps T, ``CBT``) or "last" (the last time step, ``CB``).

The state (``HiddenState``, and ``CellState`` for LSTM) starts as zeros (H, 1). Both
``forward`` and ``predict`` start from the stored state and return the state after the last
time step, shaped (H, N) — assign it back (``net.state = state``) to carry it to the next
call (stateful prediction), or call ``net.reset_state()``. A stored state with one column is
used for every observation. A stored state whose number of columns differs from the batch
size (the state of a full mini-batch assigned with ``net.state = state``, then a partial last
mini-batch) is not carried over: the layer starts that mini-batch from its initial state
(zeros, or the ``hidden_state``/``cell_state`` given to the constructor), as MATLAB resets
the state of a mini-batch of another size.
"""

from __future__ import annotations

import numpy as np

from .._arguments import choice, flag
from .._core import FormatError, OptionError, ShapeError, concatenate, dlarray, flip, stripdims
from . import initializers
from .base import Layer, as_param, channel_size, check_shape, set_factors

# Several names a line, as the table was written.
# fmt: off
__all__ = ["BiLSTMLayer", "GRULayer", "GRUProjectedLayer", "LSTMLayer", "LSTMProjectedLayer", "bilstmLayer", "gruLayer",
           "gruProjectedLayer", "lstmLayer", "lstmProjectedLayer"]
# fmt: on


def _nn():
    from .. import nn

    return nn


_OUTPUT_MODES = ("sequence", "last")


class _Recurrent(Layer):
    learnable_parameters = ("InputWeights", "RecurrentWeights", "Bias")
    gates = 4

    def __init__(
        self,
        num_hidden_units,
        output_mode,
        input_weights_initializer,
        recurrent_weights_initializer,
        bias_initializer,
        input_weights,
        recurrent_weights,
        bias,
        hidden_state,
        factors,
        name,
    ):
        super().__init__(name)
        who = type(self).__name__
        if not isinstance(num_hidden_units, (int, np.integer)) or isinstance(num_hidden_units, bool) or num_hidden_units < 1:
            raise OptionError(f"{who}: num_hidden_units must be a positive integer, got {num_hidden_units!r}")
        self.num_hidden_units = int(num_hidden_units)
        if not isinstance(output_mode, str) or output_mode.lower() not in _OUTPUT_MODES:
            raise OptionError(f"{who}: output_mode must be 'sequence' or 'last', got {output_mode!r}")
        self.output_mode = output_mode.lower()
        self.input_weights_initializer = initializers.check_initializer(input_weights_initializer, "input_weights_initializer", who)
        self.recurrent_weights_initializer = initializers.check_initializer(
            recurrent_weights_initializer, "recurrent_weights_initializer", who
        )
        self.bias_initializer = initializers.check_initializer(bias_initializer, "bias_initializer", who)
        self.InputWeights = as_param(input_weights, who, "input_weights")
        self.RecurrentWeights = as_param(recurrent_weights, who, "recurrent_weights")
        self.Bias = as_param(bias, who, "bias")
        self.HiddenState = as_param(hidden_state, who, "hidden_state")
        self._initial_hidden = self.HiddenState
        lr = factors[:3]
        l2 = factors[3:]
        set_factors(self, self.learnable_parameters, lr, l2)

    def _bias_rows(self) -> int:
        return self.gates * self.num_hidden_units

    def _weights(self):
        """The input and recurrent weights the recurrence uses, (gH, C) and (gH, H)."""
        return self.InputWeights, self.RecurrentWeights

    def _initial_bias(self, c: int, dtype, who: str) -> dlarray:
        return initializers.initialize(self.bias_initializer, (self._bias_rows(), 1), c, self.gates * self.num_hidden_units, dtype, who)

    def _state_size(self) -> int:
        """Rows of ``HiddenState``/``CellState`` (2H for a bidirectional layer)."""
        return self.num_hidden_units

    def _activations(self, state: str, gate: str) -> None:
        who = type(self).__name__
        self.state_activation_function = choice(state, ("tanh", "softsign", "relu"), "state_activation_function", who)
        self.gate_activation_function = choice(gate, ("sigmoid", "hard-sigmoid"), "gate_activation_function", who)

    def _activation_options(self):
        return {"state_activation_function": self.state_activation_function, "gate_activation_function": self.gate_activation_function}

    def initialize(self, X) -> None:
        who = f"{type(self).__name__} '{self.name}'"
        c = channel_size(X, who)
        h, g = self.num_hidden_units, self.gates
        if self.InputWeights is None:
            self.InputWeights = initializers.initialize(self.input_weights_initializer, (g * h, c), c, g * h, X.dtype, who)
        if self.RecurrentWeights is None:
            self.RecurrentWeights = initializers.initialize(self.recurrent_weights_initializer, (g * h, h), h, g * h, X.dtype, who)
        if self.Bias is None:
            self.Bias = self._initial_bias(c, X.dtype, who)
        check_shape(self.InputWeights, (g * h, c), who, "InputWeights")
        check_shape(self.RecurrentWeights, (g * h, h), who, "RecurrentWeights")
        check_shape(self.Bias, (self._bias_rows(), 1), who, "Bias")
        rows = self._state_size()
        for p in self.state_parameters:
            if getattr(self, p) is None:
                setattr(self, p, initializers.initialize("zeros", (rows, 1), dtype=X.dtype, layer=who))
            elif getattr(self, p).ndim not in (1, 2) or getattr(self, p).shape[0] != rows:
                raise ShapeError(f"{who}: {p} has shape {tuple(getattr(self, p).shape)}, expected ({rows}, N)")

    def reset_state(self) -> None:
        h = self._state_size()
        for p in self.state_parameters:
            initial = getattr(self, f"_initial_{p[:-5].lower()}", None)
            dtype = getattr(self, p).dtype if getattr(self, p, None) is not None else np.float32
            setattr(self, p, initial if initial is not None else dlarray(np.zeros((h, 1), dtype)))

    def _initial(self, p: str, X) -> dlarray:
        s = getattr(self, p)
        s = stripdims(s) if s.fmt else s
        n = X.shape[X.fmt.index("B")] if X.fmt and "B" in X.fmt else 1
        cols = s.shape[1] if s.ndim == 2 else 1
        if s.ndim == 1:
            s = s.reshape((-1, 1))
        if cols == n:
            return s
        if cols == 1:
            return s  # shared by every observation
        # A state of another batch size belongs to other observations: start from the initial one.
        initial = getattr(self, f"_initial_{p[:-5].lower()}", None)
        if initial is None:
            return dlarray(np.zeros((self._state_size(), 1), s.dtype))
        initial = stripdims(initial) if initial.fmt else initial
        if initial.ndim == 1:
            initial = initial.reshape((-1, 1))
        if initial.shape[1] not in (1, n):
            raise ShapeError(
                f"{type(self).__name__} '{self.name}': the initial {p} has {initial.shape[1]} columns but "
                f"the mini-batch has {n} observations; give one column (shared) or one per observation"
            )
        return initial

    def _output(self, Y, h):
        if self.output_mode == "sequence":
            return Y
        return h if h.fmt else dlarray(h, "CB")

    @staticmethod
    def _state_value(s):
        return stripdims(s) if isinstance(s, dlarray) and s.fmt else s


class LSTMLayer(_Recurrent):
    """MATLAB's ``lstmLayer(numHiddenUnits)``; state ``HiddenState``, ``CellState``."""

    state_parameters = ("HiddenState", "CellState")
    default_name = "lstm"
    description = "LSTM"
    gates = 4

    def __init__(
        self,
        num_hidden_units: int,
        *,
        output_mode="sequence",
        state_activation_function="tanh",
        gate_activation_function="sigmoid",
        input_weights_initializer="glorot",
        recurrent_weights_initializer="orthogonal",
        bias_initializer="unit-forget-gate",
        input_weights=None,
        recurrent_weights=None,
        bias=None,
        hidden_state=None,
        cell_state=None,
        input_weights_learn_rate_factor=1.0,
        recurrent_weights_learn_rate_factor=1.0,
        bias_learn_rate_factor=1.0,
        input_weights_l2_factor=1.0,
        recurrent_weights_l2_factor=1.0,
        bias_l2_factor=0.0,
        has_state_inputs=False,
        has_state_outputs=False,
        name="",
    ):
        who = "bilstmLayer" if self.gates == 8 else "lstmLayer"
        if flag(has_state_inputs, "has_state_inputs", who) or flag(has_state_outputs, "has_state_outputs", who):
            raise OptionError(f"{who}: has_state_inputs/has_state_outputs are not supported; use the functional lstm in a custom layer")
        super().__init__(
            num_hidden_units,
            output_mode,
            input_weights_initializer,
            recurrent_weights_initializer,
            bias_initializer,
            input_weights,
            recurrent_weights,
            bias,
            hidden_state,
            (
                input_weights_learn_rate_factor,
                recurrent_weights_learn_rate_factor,
                bias_learn_rate_factor,
                input_weights_l2_factor,
                recurrent_weights_l2_factor,
                bias_l2_factor,
            ),
            name,
        )
        self._activations(state_activation_function, gate_activation_function)
        self.CellState = as_param(cell_state, "lstmLayer", "cell_state")
        self._initial_cell = self.CellState

    def predict(self, X):
        Y, h, c = _nn().lstm(
            X,
            self._initial("HiddenState", X),
            self._initial("CellState", X),
            *self._weights(),
            self.Bias,
            **self._activation_options(),
        )
        return self._output(Y, h), self._state_value(h), self._state_value(c)


class GRULayer(_Recurrent):
    """MATLAB's ``gruLayer(numHiddenUnits)``; state ``HiddenState``. ``reset_gate_mode``
    "after-multiplication" (default), "before-multiplication" or
    "recurrent-bias-after-multiplication" (bias (6H, 1))."""

    state_parameters = ("HiddenState",)
    default_name = "gru"
    description = "GRU"
    gates = 3

    def __init__(
        self,
        num_hidden_units: int,
        *,
        output_mode="sequence",
        reset_gate_mode="after-multiplication",
        state_activation_function="tanh",
        gate_activation_function="sigmoid",
        input_weights_initializer="glorot",
        recurrent_weights_initializer="orthogonal",
        bias_initializer="zeros",
        input_weights=None,
        recurrent_weights=None,
        bias=None,
        hidden_state=None,
        input_weights_learn_rate_factor=1.0,
        recurrent_weights_learn_rate_factor=1.0,
        bias_learn_rate_factor=1.0,
        input_weights_l2_factor=1.0,
        recurrent_weights_l2_factor=1.0,
        bias_l2_factor=0.0,
        name="",
    ):
        modes = ("after-multiplication", "before-multiplication", "recurrent-bias-after-multiplication")
        reset_gate_mode = choice(reset_gate_mode, modes, "reset_gate_mode", "gruLayer")
        super().__init__(
            num_hidden_units,
            output_mode,
            input_weights_initializer,
            recurrent_weights_initializer,
            bias_initializer,
            input_weights,
            recurrent_weights,
            bias,
            hidden_state,
            (
                input_weights_learn_rate_factor,
                recurrent_weights_learn_rate_factor,
                bias_learn_rate_factor,
                input_weights_l2_factor,
                recurrent_weights_l2_factor,
                bias_l2_factor,
            ),
            name,
        )
        self.reset_gate_mode = reset_gate_mode
        self._activations(state_activation_function, gate_activation_function)

    def _bias_rows(self) -> int:
        factor = 6 if self.reset_gate_mode == "recurrent-bias-after-multiplication" else 3
        return factor * self.num_hidden_units

    def predict(self, X):
        kwargs = dict(self._activation_options(), reset_gate_mode=self.reset_gate_mode)
        Y, h = _nn().gru(X, self._initial("HiddenState", X), *self._weights(), self.Bias, **kwargs)
        return self._output(Y, h), self._state_value(h)


class BiLSTMLayer(LSTMLayer):
    """MATLAB's ``bilstmLayer(numHiddenUnits)``: a forward and a backward LSTM over the
    sequence, their outputs concatenated along C, ``[forward; backward]`` (2H channels).

    Learnables in MATLAB's layout, the forward direction's gates (i, f, g, o) stacked above
    the backward direction's: ``InputWeights`` (8H, C), ``RecurrentWeights`` (8H, H),
    ``Bias`` (8H, 1); the state ``HiddenState``/``CellState`` (2H, 1) likewise ``[forward;
    backward]``. Initialisers are applied to the whole (8H, ·) parameters (glorot with
    fan-in C and fan-out 8H, orthogonal over (8H, H)), except ``"unit-forget-gate"``, which
    sets the forget-gate block of each direction (rows H…2H−1 and 5H…6H−1) to 1.

    The backward direction is the ``lstm`` op run on the time-reversed sequence, its output
    reversed back; it starts from the backward half of the stored state, and its returned
    state is the one after it has read the whole sequence (at the first time step).
    ``output_mode="last"`` returns the last time step of the output sequence,
    ``[forward h at T; backward output at T]`` (``CB``), as MATLAB's "Output the last time
    step of the sequence". Other options as :class:`LSTMLayer`.

    Example::

        net = dlnetwork([sequenceInputLayer(3), bilstmLayer(8, OutputMode="last"),
                         fullyConnectedLayer(2)])
    """

    default_name = "bilstm"
    description = "BiLSTM"
    gates = 8

    def _state_size(self) -> int:
        return 2 * self.num_hidden_units

    def _initial_bias(self, c: int, dtype, who: str) -> dlarray:
        h = self.num_hidden_units
        if self.bias_initializer == "unit-forget-gate":
            half = initializers.initialize("unit-forget-gate", (4 * h, 1), c, 4 * h, dtype, who)
            return concatenate([half, half], 0)
        return super()._initial_bias(c, dtype, who)

    def predict(self, X):
        h = self.num_hidden_units
        nn = _nn()
        if not X.fmt or "C" not in X.fmt:
            raise FormatError(
                f"bilstmLayer '{self.name}': the input (format '{X.fmt}', shape {tuple(X.shape)}) "
                f"must be formatted with a 'C' dimension (and B, T)"
            )
        h0, c0 = self._initial("HiddenState", X), self._initial("CellState", X)
        W, R, b = self.InputWeights, self.RecurrentWeights, self.Bias
        opts = self._activation_options()
        Yf, hf, cf = nn.lstm(X, h0[:h], c0[:h], W[: 4 * h], R[: 4 * h], b[: 4 * h], **opts)
        has_t = "T" in X.fmt
        Xr = flip(X, "T") if has_t else X
        Yr, hb, cb = nn.lstm(Xr, h0[h:], c0[h:], W[4 * h :], R[4 * h :], b[4 * h :], **opts)
        Yb = flip(Yr, "T") if has_t else Yr
        Y = concatenate([Yf, Yb], X.fmt.index("C"))
        state_h = concatenate([self._state_value(hf), self._state_value(hb)], 0)
        state_c = concatenate([self._state_value(cf), self._state_value(cb)], 0)
        if self.output_mode == "last" and has_t:
            t = Y.fmt.index("T")
            Y = dlarray(stripdims(Y)[(slice(None),) * t + (-1,)], Y.fmt.replace("T", ""))
        return Y, state_h, state_c


class _Projected:
    """The projected layers' factorised weights: the recurrence runs with the input weights
    ``InputWeights @ InputProjector.T`` (gH, C) and the recurrent weights
    ``RecurrentWeights @ OutputProjector.T`` (gH, H), so every factor gets its gradient."""

    def _projectors(self, output_projector_size, input_projector_size, initializers_, values, factors) -> None:
        who = self.matlab_name
        for option, v in (("output_projector_size", output_projector_size), ("input_projector_size", input_projector_size)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
                raise OptionError(f"{who}: {option} must be a positive integer, got {v!r}")
        self.output_projector_size = int(output_projector_size)
        self.input_projector_size = int(input_projector_size)
        self.input_projector_initializer = initializers.check_initializer(initializers_[0], "input_projector_initializer", who)
        self.output_projector_initializer = initializers.check_initializer(initializers_[1], "output_projector_initializer", who)
        self.InputProjector = as_param(values[0], who, "input_projector")
        self.OutputProjector = as_param(values[1], who, "output_projector")
        set_factors(self, ("InputProjector", "OutputProjector"), factors[:2], factors[2:])

    def initialize(self, X) -> None:
        who = f"{self.matlab_name} '{self.name}'"
        c = channel_size(X, who)
        h, g = self.num_hidden_units, self.gates
        pi, po = self.input_projector_size, self.output_projector_size
        shapes = {
            "InputWeights": ((g * h, pi), self.input_weights_initializer, pi, g * h),
            "RecurrentWeights": ((g * h, po), self.recurrent_weights_initializer, po, g * h),
            "InputProjector": ((c, pi), self.input_projector_initializer, c, pi),
            "OutputProjector": ((h, po), self.output_projector_initializer, h, po),
        }
        for p, (shape, init, fan_in, fan_out) in shapes.items():
            if getattr(self, p) is None:
                setattr(self, p, initializers.initialize(init, shape, fan_in, fan_out, X.dtype, who))
            check_shape(getattr(self, p), shape, who, p)
        if self.Bias is None:
            self.Bias = self._initial_bias(c, X.dtype, who)
        check_shape(self.Bias, (self._bias_rows(), 1), who, "Bias")
        for p in self.state_parameters:
            if getattr(self, p) is None:
                setattr(self, p, initializers.initialize("zeros", (h, 1), dtype=X.dtype, layer=who))
            elif getattr(self, p).ndim not in (1, 2) or getattr(self, p).shape[0] != h:
                raise ShapeError(f"{who}: {p} has shape {tuple(getattr(self, p).shape)}, expected ({h}, N)")

    def _weights(self):
        def plain(p):
            return stripdims(p) if p.fmt else p

        W = plain(self.InputWeights) @ plain(self.InputProjector).T
        R = plain(self.RecurrentWeights) @ plain(self.OutputProjector).T
        return W, R


class LSTMProjectedLayer(_Projected, LSTMLayer):
    """MATLAB's ``lstmProjectedLayer(numHiddenUnits, outputProjectorSize, inputProjectorSize)``:
    an LSTM whose weights are factorised to save learnables.

    Learnables in MATLAB's shapes (H hidden units, C input channels, Po / Pi the output /
    input projector sizes): ``InputWeights`` (4H, Pi), ``RecurrentWeights`` (4H, Po),
    ``Bias`` (4H, 1), ``InputProjector`` (C, Pi), ``OutputProjector`` (H, Po). The recurrence
    is :func:`~dlarray.nn.lstm` with input weights ``InputWeights @ InputProjector.T`` and
    recurrent weights ``RecurrentWeights @ OutputProjector.T``. Initialisers: input weights
    ``"glorot"`` (fan-in Pi, fan-out 4H), recurrent weights ``"orthogonal"``, bias
    ``"unit-forget-gate"``, ``input_projector_initializer`` and
    ``output_projector_initializer`` ``"orthogonal"``; the ``*_learn_rate_factor`` /
    ``*_l2_factor`` options of the projectors default to 1. Other options (``output_mode``,
    the activations, the state) as :class:`LSTMLayer`.

    >>> from dlarray import dlnetwork, sequenceInputLayer
    >>> net = dlnetwork([sequenceInputLayer(6), lstmProjectedLayer(8, 3, 2, Name="lstmp")])
    >>> net.learnables["lstmp", "InputProjector"].shape, net.learnables["lstmp", "OutputProjector"].shape
    ((6, 2), (8, 3))
    """

    learnable_parameters = ("InputWeights", "RecurrentWeights", "Bias", "InputProjector", "OutputProjector")
    default_name = "lstmp"
    description = "Projected LSTM"
    matlab_name = "lstmProjectedLayer"

    def __init__(
        self,
        num_hidden_units: int,
        output_projector_size: int,
        input_projector_size: int,
        *,
        output_mode="sequence",
        state_activation_function="tanh",
        gate_activation_function="sigmoid",
        input_weights_initializer="glorot",
        recurrent_weights_initializer="orthogonal",
        bias_initializer="unit-forget-gate",
        input_projector_initializer="orthogonal",
        output_projector_initializer="orthogonal",
        input_weights=None,
        recurrent_weights=None,
        bias=None,
        input_projector=None,
        output_projector=None,
        hidden_state=None,
        cell_state=None,
        input_weights_learn_rate_factor=1.0,
        recurrent_weights_learn_rate_factor=1.0,
        bias_learn_rate_factor=1.0,
        input_projector_learn_rate_factor=1.0,
        output_projector_learn_rate_factor=1.0,
        input_weights_l2_factor=1.0,
        recurrent_weights_l2_factor=1.0,
        bias_l2_factor=0.0,
        input_projector_l2_factor=1.0,
        output_projector_l2_factor=1.0,
        name="",
    ):
        LSTMLayer.__init__(
            self,
            num_hidden_units,
            output_mode=output_mode,
            state_activation_function=state_activation_function,
            gate_activation_function=gate_activation_function,
            input_weights_initializer=input_weights_initializer,
            recurrent_weights_initializer=recurrent_weights_initializer,
            bias_initializer=bias_initializer,
            input_weights=input_weights,
            recurrent_weights=recurrent_weights,
            bias=bias,
            hidden_state=hidden_state,
            cell_state=cell_state,
            input_weights_learn_rate_factor=input_weights_learn_rate_factor,
            recurrent_weights_learn_rate_factor=recurrent_weights_learn_rate_factor,
            bias_learn_rate_factor=bias_learn_rate_factor,
            input_weights_l2_factor=input_weights_l2_factor,
            recurrent_weights_l2_factor=recurrent_weights_l2_factor,
            bias_l2_factor=bias_l2_factor,
            name=name,
        )
        self._projectors(
            output_projector_size,
            input_projector_size,
            (input_projector_initializer, output_projector_initializer),
            (input_projector, output_projector),
            (input_projector_learn_rate_factor, output_projector_learn_rate_factor, input_projector_l2_factor, output_projector_l2_factor),
        )


class GRUProjectedLayer(_Projected, GRULayer):
    """MATLAB's ``gruProjectedLayer(numHiddenUnits, outputProjectorSize, inputProjectorSize)``:
    a GRU whose weights are factorised as :class:`LSTMProjectedLayer`'s, with 3H gate rows:
    ``InputWeights`` (3H, Pi), ``RecurrentWeights`` (3H, Po), ``Bias`` (3H, 1; 6H with
    ``reset_gate_mode="recurrent-bias-after-multiplication"``), ``InputProjector`` (C, Pi),
    ``OutputProjector`` (H, Po). Bias initialiser ``"zeros"``; other options as
    :class:`GRULayer` and :class:`LSTMProjectedLayer`.

    >>> from dlarray import dlnetwork, sequenceInputLayer
    >>> net = dlnetwork([sequenceInputLayer(5), gruProjectedLayer(4, 2, 3, Name="grup")])
    >>> net.learnables["grup", "RecurrentWeights"].shape
    (12, 2)
    """

    learnable_parameters = ("InputWeights", "RecurrentWeights", "Bias", "InputProjector", "OutputProjector")
    default_name = "grup"
    description = "Projected GRU"
    matlab_name = "gruProjectedLayer"

    def __init__(
        self,
        num_hidden_units: int,
        output_projector_size: int,
        input_projector_size: int,
        *,
        output_mode="sequence",
        reset_gate_mode="after-multiplication",
        state_activation_function="tanh",
        gate_activation_function="sigmoid",
        input_weights_initializer="glorot",
        recurrent_weights_initializer="orthogonal",
        bias_initializer="zeros",
        input_projector_initializer="orthogonal",
        output_projector_initializer="orthogonal",
        input_weights=None,
        recurrent_weights=None,
        bias=None,
        input_projector=None,
        output_projector=None,
        hidden_state=None,
        input_weights_learn_rate_factor=1.0,
        recurrent_weights_learn_rate_factor=1.0,
        bias_learn_rate_factor=1.0,
        input_projector_learn_rate_factor=1.0,
        output_projector_learn_rate_factor=1.0,
        input_weights_l2_factor=1.0,
        recurrent_weights_l2_factor=1.0,
        bias_l2_factor=0.0,
        input_projector_l2_factor=1.0,
        output_projector_l2_factor=1.0,
        name="",
    ):
        GRULayer.__init__(
            self,
            num_hidden_units,
            output_mode=output_mode,
            reset_gate_mode=reset_gate_mode,
            state_activation_function=state_activation_function,
            gate_activation_function=gate_activation_function,
            input_weights_initializer=input_weights_initializer,
            recurrent_weights_initializer=recurrent_weights_initializer,
            bias_initializer=bias_initializer,
            input_weights=input_weights,
            recurrent_weights=recurrent_weights,
            bias=bias,
            hidden_state=hidden_state,
            input_weights_learn_rate_factor=input_weights_learn_rate_factor,
            recurrent_weights_learn_rate_factor=recurrent_weights_learn_rate_factor,
            bias_learn_rate_factor=bias_learn_rate_factor,
            input_weights_l2_factor=input_weights_l2_factor,
            recurrent_weights_l2_factor=recurrent_weights_l2_factor,
            bias_l2_factor=bias_l2_factor,
            name=name,
        )
        self._projectors(
            output_projector_size,
            input_projector_size,
            (input_projector_initializer, output_projector_initializer),
            (input_projector, output_projector),
            (input_projector_learn_rate_factor, output_projector_learn_rate_factor, input_projector_l2_factor, output_projector_l2_factor),
        )


lstmLayer = LSTMLayer
lstmProjectedLayer = LSTMProjectedLayer
gruProjectedLayer = GRUProjectedLayer
gruLayer = GRULayer
bilstmLayer = BiLSTMLayer
