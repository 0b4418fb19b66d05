"""The ``Layer`` base class: what a dlnetwork needs from a layer, and how to write your own.

A layer is a small object holding its options and, once its network is initialised, its
learnable parameters and state as attributes with MATLAB's names (``Weights``, ``Bias``,
``Offset``, ``Scale``, ``TrainedMean``...). ``predict`` computes the layer's output in
inference mode from the functional ops; ``forward`` (optional) in training mode. A network
never modifies a layer it holds: it copies it with new values (value semantics), so layer
objects can be shared between networks.

Writing a custom layer (MATLAB's ``classdef ... < nnet.layer.Layer`` with a ``Learnable``
properties block) — a PReLU with one learnable slope per channel::

    import numpy as np
    from dlarray import dlarray, relu
    from dlarray.layers import Layer

    class PReLULayer(Layer):
        learnable_parameters = ("Alpha",)     # MATLAB: properties (Learnable) Alpha
        description = "PReLU"

        def __init__(self, name=""):
            super().__init__(name)
            self.Alpha = None                  # set by initialize()

        def initialize(self, X):               # X: a formatted example input
            if self.Alpha is None:
                channels = X.shape[X.fmt.index("C")]
                self.Alpha = dlarray(np.full((channels,), 0.25, np.float32))

        def predict(self, X):
            c = X.fmt.index("C")               # broadcast Alpha along the C dim
            alpha = self.Alpha.reshape([-1 if i == c else 1 for i in range(X.ndim)])
            return relu(X) - alpha * relu(-X)

    net = dlnetwork([featureInputLayer(3), PReLULayer(), fullyConnectedLayer(2)])

The network traces ``Alpha`` inside ``dlfeval``, lists it in ``net.learnables`` as
(``"layer"``, ``"Alpha"``) and updates it with the optimizers. A layer with state lists its
names in ``state_parameters`` and returns ``(Y, new_state_1, ..., new_state_k)`` from
``forward``/``predict`` (MATLAB's ``[Z, state1, ..., stateK] = forward(layer, X)``);
returning only ``Y`` leaves the state unchanged. Multi-input layers set ``num_inputs``
(inputs ``in1``, ``in2``, ...); multi-output layers ``num_outputs``.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._arguments import int_values, number, show
from .._core import DTypeError, FormatError, OptionError, dlarray
from .._matlab_names import MatlabProperties, matlab_options

__all__ = ["Layer"]


class Layer(MatlabProperties):
    """Base class of every layer (built-in and custom). A network with custom layers saves
    as any other; to load it, pass the classes (``load(path, custom_objects=[MyLayer])``) or
    register them once (``@register_custom`` on the class): a checkpoint never imports code.

    Constructors take MATLAB's option names too (``convolution2dLayer(3, 8, Padding="same")``)
    and options read with MATLAB's property names (``layer.NumFilters``); see
    ``dlarray._matlab_names``."""

    #: MATLAB's names of the learnable parameters, in table order.
    learnable_parameters: Tuple[str, ...] = ()
    #: MATLAB's names of the state parameters, in table order.
    state_parameters: Tuple[str, ...] = ()
    num_inputs: int = 1
    num_outputs: int = 1
    #: Base of the automatic name (MATLAB's default names: "conv", "relu", "fc", ...).
    default_name: str = "layer"
    #: The layer type shown in the network summary (MATLAB's ``Type``).
    description: str = "Custom"
    #: Whether ``predict`` computes only with dlarray ops on its inputs, learnables and state
    #: (it reads no input value into numpy), so that a recorded trace of it replays; the
    #: built-in layers that read values (masks, indices) say False.
    _replay_safe: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            cls.__init__ = matlab_options(vars(cls)["__init__"], cls.__name__)  # type: ignore[method-assign]

    # Options are set under their own names: MATLAB's spelling is for reading only.
    __setattr__ = object.__setattr__

    # The cached architecture key lives outside ``__dict__``: it is not an option, so it is
    # neither saved nor shown.
    __slots__ = ("_architecture_key", "__dict__", "__weakref__")

    def __getattr__(self, name: str) -> Any:
        if name in type(self).learnable_parameters or name in type(self).state_parameters:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        return super().__getattr__(name)

    def __init__(self, name: str = ""):
        if not isinstance(name, str):
            raise OptionError(f"{type(self).__name__}: name must be a string, got {name!r}")
        if "/" in name:
            raise OptionError(f"{type(self).__name__}: name '{name}' must not contain '/'")
        self.name = name
        self.learn_rate_factors: Dict[str, float] = {}
        self.l2_factors: Dict[str, float] = {}

    # ---- ports -----------------------------------------------------------------------
    @property
    def input_names(self) -> List[str]:
        """MATLAB's ``InputNames``: ``["in"]`` or ``["in1", ..., "inN"]``."""
        return ["in"] if self.num_inputs == 1 else [f"in{i + 1}" for i in range(self.num_inputs)]

    @property
    def output_names(self) -> List[str]:
        return ["out"] if self.num_outputs == 1 else [f"out{i + 1}" for i in range(self.num_outputs)]

    # ---- behaviour (override) -----------------------------------------------------------
    def initialize(self, *examples: dlarray) -> None:
        """Set learnables/state that are still ``None`` from formatted example inputs (a
        batch of one). Called on a private copy owned by the network."""

    def predict(self, *inputs: dlarray):
        raise NotImplementedError(f"{type(self).__name__} must define predict()")

    def forward(self, *inputs: dlarray):
        """Training-mode output; defaults to ``predict`` (MATLAB's behaviour)."""
        return self.predict(*inputs)

    def reset_state(self) -> None:
        """Reset the state to its initial value (on a private copy owned by the network)."""

    # ---- factors -----------------------------------------------------------------------
    def learn_rate_factor(self, parameter: str) -> float:
        return float(getattr(self, "learn_rate_factors", {}).get(parameter, 1.0))

    def l2_factor(self, parameter: str) -> float:
        return float(getattr(self, "l2_factors", {}).get(parameter, 1.0))

    # ---- helpers -----------------------------------------------------------------------
    def _with(self, **attrs: Any) -> "Layer":
        """A shallow copy with ``attrs`` replaced."""
        out = copy.copy(self)
        # The factor dicts are the only mutable options: never share them between copies.
        out.learn_rate_factors = dict(getattr(self, "learn_rate_factors", {}))
        out.l2_factors = dict(getattr(self, "l2_factors", {}))
        out.__dict__.update(attrs)
        # New parameter values keep the options and so their key; any other copy may be
        # changed (by initialize, or by whoever it is given to), so it computes its own.
        parameters = set(self.learnable_parameters) | set(self.state_parameters)
        if not attrs or not parameters.issuperset(attrs):
            out._architecture_key = None
        return out

    def _architecture(self, options_key: Callable[[Any], Any]) -> Any:
        """The layer's kind and options as a comparable value (the arrays left out): what,
        with the connections, decides what a network computes. Computed once per copy."""
        key = getattr(self, "_architecture_key", None)
        if key is None:
            key = self._architecture_key = (type(self).__name__, options_key(vars(self)))
        return key

    def _options(self) -> Dict[str, Any]:
        values = set(self.learnable_parameters) | set(self.state_parameters)
        return {k: v for k, v in self.__dict__.items() if k not in values and not k.startswith("_")}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={_short(v)}" for k, v in self._options().items() if k not in ("learn_rate_factors", "l2_factors"))
        params = [p for p in self.learnable_parameters + self.state_parameters if getattr(self, p, None) is not None]
        shown = "".join(f", {p}: {'x'.join(map(str, getattr(self, p).shape))}" for p in params)
        return f"{type(self).__name__}({opts}{shown})"


#: The most inputs or outputs a layer may have: each is a named port of the network graph,
#: listed and connected one by one.
MAX_PORTS = 2**16


def port_count(n: Any, option: str, layer: str) -> int:
    """A number of inputs or outputs: a positive integer of at most ``MAX_PORTS``."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_PORTS:
        raise OptionError(f"{layer}: {option} must be an integer from 1 to {MAX_PORTS}, got {n!r}")
    return int(n)


def _short(v: Any) -> str:
    if isinstance(v, (dlarray, np.ndarray)):
        return f"<array {'x'.join(map(str, v.shape))}>"
    if callable(v):
        return getattr(v, "__name__", repr(v))
    return repr(v)


def channel_size(X: dlarray, layer: str) -> int:
    """The size of the C dim of a formatted example input."""
    if not X.fmt or "C" not in X.fmt:
        raise FormatError(f"{layer}: the input (format '{X.fmt}', shape {tuple(X.shape)}) has no 'C' dimension")
    return int(X.shape[X.fmt.index("C")])


def num_spatial(X: dlarray) -> int:
    return X.fmt.count("S") if X.fmt else 0


def per_channel_shape(X: dlarray, channels: int) -> Tuple[int, ...]:
    """MATLAB's shape of a per-channel parameter for input X: 1×…×1×C after the S dims
    (1×1×C for images), C×1 without S dims."""
    s = num_spatial(X)
    return (1,) * s + (channels,) if s else (channels, 1)


def set_factors(layer: Layer, names: Sequence[str], learn: Sequence[Optional[float]], l2: Sequence[Optional[float]]) -> None:
    who = type(layer).__name__
    for n, lr, l2f in zip(names, learn, l2):
        if lr is not None:
            layer.learn_rate_factors[n] = number(lr, f"learn-rate factor of {n}", who)
        if l2f is not None:
            layer.l2_factors[n] = number(l2f, f"L2 factor of {n}", who)


def as_param(value: Any, layer: str, option: str) -> Optional[dlarray]:
    """An explicit initial value given to a constructor (``weights=``, ``bias=``...)."""
    if value is None:
        return None
    if isinstance(value, dlarray):
        return value
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        arr = np.asarray(None)
    if arr.dtype.kind not in "biufc":
        raise DTypeError(f"{layer}: {option} must be a numeric array, got {show(value)}")
    if arr.dtype.kind not in "fc":
        arr = arr.astype(np.float32)
    return dlarray(arr)


def check_shape(value: Optional[dlarray], shape: Tuple[int, ...], layer: str, parameter: str) -> None:
    from .._core import ShapeError

    if value is not None and tuple(value.shape) != tuple(shape):
        raise ShapeError(f"{layer}: {parameter} has shape {tuple(value.shape)}, expected {tuple(shape)} for this input")


def padding_list(padding: Any, layer: str) -> Any:
    """A numeric padding option as nested lists of ints (checked in full when the layer runs:
    its valid forms depend on the input's dims)."""
    try:
        arr = np.asarray(padding) if not isinstance(padding, (bytes, dict)) and padding is not None else None
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.dtype.kind not in "iuf" or arr.ndim > 2:
        raise OptionError(f"{layer}: padding must be a number, sizes, a (2, d) array or 'same', got {show(padding)}")
    int_values(arr.reshape(-1), "padding", layer)
    return arr.tolist()


def to_tuple(value: Any, n: int, option: str, layer: str) -> Tuple[int, ...]:
    bad = f"{layer}: {option} must be a positive integer or {n} positive integers, got {show(value)}"
    try:
        vals = int_values(value, option, layer)
    except OptionError:
        raise OptionError(bad) from None
    if len(vals) not in (1, n) or any(v < 1 for v in vals):
        raise OptionError(bad)
    return tuple(vals * n if len(vals) == 1 else vals)
