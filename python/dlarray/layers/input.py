"""Input layers: ``imageInputLayer``, ``image3dInputLayer``, ``featureInputLayer``,
``sequenceInputLayer`` and the generic ``inputLayer(inputSize, format)``.

An input layer names a network input, fixes its format (``SSCB``, ``CB``, ``CBT``/``SSCBT``)
and its non-batch sizes, and normalises the data. Decisions (MATLAB's behaviour unconfirmed
or without a Python counterpart):

* An unformatted input (numpy array or unformatted dlarray) is given the layer's format; a
  missing trailing batch (and time) dim counts as size 1. A formatted input must have the
  layer's format.
* ``"zerocenter"`` (imageInputLayer's default, as MATLAB) subtracts ``mean``; MATLAB's
  trainnet computes it from the training data, a custom loop must set it. When it is not
  set, ``initialize`` sets it to zeros (so the layer is the identity until ``mean`` is
  given) — same for ``"zscore"`` (mean 0, standard deviation 1) and the rescalings (min 0,
  max 1).
* ``mean``/``standard_deviation``/``min``/``max`` are numpy arrays broadcast against one
  observation (``(h, w, c)``, ``(1, 1, c)`` or a scalar for images; ``(c,)`` or ``(c, 1)``
  for features). They are options, not learnables, and are saved with the network.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from .._arguments import int_values, integer, show
from .._core import DTypeError, FormatError, OptionError, ShapeError, dlarray
from .base import Layer

# Several names a line, as the table was written.
# fmt: off
__all__ = ["FeatureInputLayer", "GenericInputLayer", "Image3DInputLayer", "ImageInputLayer", "InputLayer",
           "SequenceInputLayer", "featureInputLayer", "image3dInputLayer", "imageInputLayer", "inputLayer",
           "sequenceInputLayer"]
# fmt: on

_NORMALIZATIONS = ("zerocenter", "zscore", "rescale-symmetric", "rescale-zero-one", "none")


class InputLayer(Layer):
    """Base of the input layers: no graph inputs, one network input."""

    num_inputs = 0
    is_input = True
    fmt = ""

    def __init__(
        self,
        input_size: Sequence[int],
        normalization: Union[str, Callable],
        name: str,
        mean=None,
        standard_deviation=None,
        min=None,
        max=None,
    ):  # noqa: A002 - MATLAB names
        super().__init__(name)
        self.input_size = tuple(int_values(input_size, "input_size", type(self).__name__))
        if any(s < 1 for s in self.input_size):
            raise OptionError(f"{type(self).__name__}: input_size must be positive, got {input_size}")
        if not callable(normalization):
            if not isinstance(normalization, str) or normalization.lower() not in _NORMALIZATIONS:
                raise OptionError(
                    f"{type(self).__name__}: normalization must be one of {list(_NORMALIZATIONS)} or a callable, got {normalization!r}"
                )
            normalization = normalization.lower()
        self.normalization = normalization
        who = type(self).__name__
        self.mean = _stat(mean, "mean", who)
        self.standard_deviation = _stat(standard_deviation, "standard_deviation", who)
        self.min = _stat(min, "min", who)
        self.max = _stat(max, "max", who)

    @property
    def input_names(self):
        return []

    def example(self, dtype=np.float32) -> dlarray:
        """A formatted zero input of one observation (one time step)."""
        shape = self.input_size + (1,) * (len(self.fmt) - len(self.input_size))
        return dlarray(np.zeros(shape, dtype), self.fmt)

    def initialize(self, *examples) -> None:
        norm = self.normalization
        if norm in ("zerocenter", "zscore") and self.mean is None:
            self.mean = np.zeros((), np.float32)
        if norm == "zscore" and self.standard_deviation is None:
            self.standard_deviation = np.ones((), np.float32)
        if norm in ("rescale-symmetric", "rescale-zero-one"):
            if self.min is None:
                self.min = np.zeros((), np.float32)
            if self.max is None:
                self.max = np.ones((), np.float32)

    def prepare(self, X: Any) -> dlarray:
        """The network input as a dlarray with this layer's format, sizes checked."""
        who = f"{type(self).__name__} '{self.name}'"
        if not isinstance(X, dlarray):
            try:
                X = np.asarray(X)
            except (ValueError, TypeError):
                X = np.asarray(None)
            if X.dtype.kind not in "biufc":
                raise DTypeError(f"{who}: the input must be numeric data, got dtype {X.dtype}")
            X = dlarray(X if X.dtype.kind in "fc" else X.astype(np.float32))
        if not X.fmt:
            if X.ndim > len(self.fmt) or X.ndim < len(self.input_size):
                raise ShapeError(
                    f"{who}: an unformatted input of shape {tuple(X.shape)} does not fit format "
                    f"'{self.fmt}' with input size {self.input_size}"
                )
            shape = tuple(X.shape) + (1,) * (len(self.fmt) - X.ndim)
            X = dlarray(X.reshape(shape) if shape != tuple(X.shape) else X, self.fmt)
        elif X.fmt != self.fmt:
            raise FormatError(f"{who}: expected input format '{self.fmt}', got '{X.fmt}' (shape {tuple(X.shape)})")
        if tuple(X.shape[: len(self.input_size)]) != self.input_size:
            raise ShapeError(f"{who}: expected input size {self.input_size} (format '{self.fmt}'), got shape {tuple(X.shape)}")
        return X

    def _observation_shape(self, stat: np.ndarray) -> Tuple[int, ...]:
        # A statistic covers one observation: pad it with trailing singleton dims (B, T).
        return stat.shape + (1,) * (len(self.fmt) - stat.ndim) if stat.ndim else ()

    def _constant(self, stat: np.ndarray, X: dlarray) -> Any:
        if stat.ndim == 0:
            return float(stat)
        return dlarray(stat.astype(X.dtype, copy=False).reshape(self._observation_shape(stat)))

    def predict(self, X: dlarray) -> dlarray:
        X = self.prepare(X)
        norm = self.normalization
        if callable(norm):
            return norm(X)
        if norm == "none":
            return X
        missing = [
            n
            for n, v in (("mean", self.mean), ("standard_deviation", self.standard_deviation), ("min", self.min), ("max", self.max))
            if v is None and _needs(norm, n)
        ]
        if missing:
            raise OptionError(
                f"{type(self).__name__} '{self.name}': normalization '{norm}' needs {missing} (set them, or initialize the network)"
            )
        if norm == "zerocenter":
            return X - self._constant(self.mean, X)
        if norm == "zscore":
            return (X - self._constant(self.mean, X)) / self._constant(self.standard_deviation, X)
        span = self._constant(self.max - self.min, X)
        unit = (X - self._constant(self.min, X)) / span
        return unit if norm == "rescale-zero-one" else unit * 2.0 - 1.0


def _needs(norm: str, stat: str) -> bool:
    return {"zerocenter": ("mean",), "zscore": ("mean", "standard_deviation")}.get(norm, ("min", "max")).__contains__(stat)


def _stat(value: Any, name: str, layer: str) -> Optional[np.ndarray]:
    if value is None:
        return None
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        arr = np.asarray(None)
    if arr.dtype.kind not in "biuf":
        raise DTypeError(f"{layer}: {name} must be real numbers, got {show(value)}")
    return arr.astype(np.float32)


class ImageInputLayer(InputLayer):
    """MATLAB's ``imageInputLayer(inputSize)``: ``(h, w, c)`` images, format ``SSCB``;
    ``normalization`` defaults to ``"zerocenter"`` as in MATLAB (see the module notes)."""

    default_name = "imageinput"
    description = "Image Input"
    fmt = "SSCB"

    def __init__(
        self,
        input_size: Sequence[int],
        normalization: Union[str, Callable] = "zerocenter",
        name: str = "",
        mean=None,
        standard_deviation=None,
        min=None,
        max=None,
    ):  # noqa: A002
        size = tuple(int_values(input_size, "input_size", "imageInputLayer"))
        if len(size) == 2:
            size = size + (1,)
        if len(size) != 3:
            raise OptionError(f"imageInputLayer: input_size must be (h, w) or (h, w, c), got {input_size}")
        super().__init__(size, normalization, name, mean, standard_deviation, min, max)


class FeatureInputLayer(InputLayer):
    """MATLAB's ``featureInputLayer(numFeatures)``: format ``CB``; normalization ``"none"``."""

    default_name = "input"
    description = "Feature Input"
    fmt = "CB"

    def __init__(
        self,
        num_features: int,
        normalization: Union[str, Callable] = "none",
        name: str = "",
        mean=None,
        standard_deviation=None,
        min=None,
        max=None,
    ):  # noqa: A002
        super().__init__(
            (integer(num_features, "num_features", "featureInputLayer"),), normalization, name, mean, standard_deviation, min, max
        )


class SequenceInputLayer(InputLayer):
    """MATLAB's ``sequenceInputLayer(inputSize)``: an int (features, format ``CBT``) or
    ``(h, w, c)`` (image sequences, ``SSCBT``); normalization ``"none"``."""

    default_name = "sequenceinput"
    description = "Sequence Input"

    def __init__(
        self,
        input_size: Union[int, Sequence[int]],
        normalization: Union[str, Callable] = "none",
        name: str = "",
        min_length: int = 1,
        mean=None,
        standard_deviation=None,
        min=None,
        max=None,
    ):  # noqa: A002
        size = tuple(int_values(input_size, "input_size", "sequenceInputLayer"))
        if len(size) not in (1, 3):
            raise OptionError(f"sequenceInputLayer: input_size must be an int or (h, w, c), got {input_size}")
        super().__init__(size, normalization, name, mean, standard_deviation, min, max)
        self.min_length = integer(min_length, "min_length", "sequenceInputLayer")

    @property
    def fmt(self) -> str:  # type: ignore[override]
        return "CBT" if len(self.input_size) == 1 else "SSCBT"


class Image3DInputLayer(InputLayer):
    """MATLAB's ``image3dInputLayer(inputSize)``: volumes ``(h, w, d, c)`` (``(h, w, d)`` means
    one channel), format ``SSSCB``; ``normalization`` defaults to ``"zerocenter"`` as in
    MATLAB, the statistics as :class:`ImageInputLayer` (broadcast against one ``(h, w, d, c)``
    observation).

    >>> layer = image3dInputLayer((4, 4, 2), Normalization="none")
    >>> layer.input_size, layer.example().fmt
    ((4, 4, 2, 1), 'SSSCB')
    """

    default_name = "image3dinput"
    description = "3-D Image Input"
    fmt = "SSSCB"

    def __init__(
        self,
        input_size: Sequence[int],
        normalization: Union[str, Callable] = "zerocenter",
        name: str = "",
        mean=None,
        standard_deviation=None,
        min=None,
        max=None,
    ):  # noqa: A002
        size = tuple(int_values(input_size, "input_size", "image3dInputLayer"))
        if len(size) == 3:
            size = size + (1,)
        if len(size) != 4:
            raise OptionError(f"image3dInputLayer: input_size must be (h, w, d) or (h, w, d, c), got {input_size}")
        super().__init__(size, normalization, name, mean, standard_deviation, min, max)


class GenericInputLayer(InputLayer):
    """MATLAB's ``inputLayer(inputSize, format)`` (R2023b): a network input of any format.

    ``input_size`` gives one size per label of ``data_format`` (MATLAB's ``InputFormat``, e.g.
    ``"SSCB"``, ``"CBT"``, ``"BTC"``), in the order written; ``NaN`` (or ``None``) marks a dim
    whose size may vary (typically B and T). The layer's format is the canonical order of the
    labels (``"BTC"`` → ``"CBT"``, as ``dlarray`` orders them) and ``input_size`` is stored in
    that order, variable sizes as ``None``. No normalization. An unformatted input is read in
    the order of ``data_format`` (as ``dlarray(X, data_format)``); missing trailing dims count
    as size 1.

    >>> layer = inputLayer([float("nan"), 3, float("nan")], "BCT")
    >>> layer.fmt, layer.input_size
    ('CBT', (3, None, None))
    """

    default_name = "input"
    description = "Input"

    def __init__(self, input_size: Sequence[Any], data_format: str, name: str = ""):
        Layer.__init__(self, name)
        who = "inputLayer"
        if not isinstance(data_format, str) or not data_format or any(c not in "SCBTU" for c in data_format):
            raise FormatError(f"{who}: data_format must be a string of the labels S, C, B, T, U, got {data_format!r}")
        if any(data_format.count(c) > 1 for c in "CBT"):
            raise FormatError(f"{who}: data_format '{data_format}' repeats one of the labels C, B, T")
        sizes = _variable_sizes(input_size, who)
        if len(sizes) != len(data_format):
            raise ShapeError(f"{who}: input_size {tuple(input_size)} must give one size per label of data_format '{data_format}'")
        order = sorted(range(len(data_format)), key=lambda i: ("SCBTU".index(data_format[i]), i))
        self.data_format = data_format
        self.fmt = "".join(data_format[i] for i in order)
        self.input_size = tuple(sizes[i] for i in order)
        self.normalization = "none"
        self.mean = self.standard_deviation = self.min = self.max = None

    def example(self, dtype=np.float32) -> dlarray:
        """A formatted zero input, variable dims of size 1."""
        return dlarray(np.zeros(tuple(1 if s is None else s for s in self.input_size), dtype), self.fmt)

    def prepare(self, X: Any) -> dlarray:
        who = f"inputLayer '{self.name}'"
        if not isinstance(X, dlarray):
            try:
                X = np.asarray(X)
            except (ValueError, TypeError):
                X = np.asarray(None)
            if X.dtype.kind not in "biufc":
                raise DTypeError(f"{who}: the input must be numeric data, got dtype {X.dtype}")
            X = dlarray(X if X.dtype.kind in "fc" else X.astype(np.float32))
        if not X.fmt:
            if X.ndim > len(self.fmt):
                raise ShapeError(f"{who}: an unformatted input of shape {tuple(X.shape)} has more dims than format '{self.data_format}'")
            shape = tuple(X.shape) + (1,) * (len(self.fmt) - X.ndim)
            X = dlarray(X.reshape(shape) if shape != tuple(X.shape) else X, self.data_format)
        elif X.fmt != self.fmt:
            raise FormatError(f"{who}: expected input format '{self.fmt}', got '{X.fmt}' (shape {tuple(X.shape)})")
        if len(X.shape) != len(self.input_size) or any(s is not None and s != n for s, n in zip(self.input_size, X.shape)):
            raise ShapeError(f"{who}: expected input size {self.input_size} (format '{self.fmt}', None: any), got shape {tuple(X.shape)}")
        return X


def _variable_sizes(value: Any, who: str) -> Tuple[Optional[int], ...]:
    """Sizes where NaN or None marks a variable dim; the others positive integers."""
    items = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
    out = []
    for v in items:
        if v is None or (isinstance(v, (float, np.floating)) and np.isnan(v)):
            out.append(None)
            continue
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer, float, np.floating)) or v != int(v) or v < 1:
            raise OptionError(f"{who}: input_size must hold positive integers or NaN, got {show(value)}")
        out.append(int(v))
    return tuple(out)


imageInputLayer = ImageInputLayer
image3dInputLayer = Image3DInputLayer
inputLayer = GenericInputLayer
featureInputLayer = FeatureInputLayer
sequenceInputLayer = SequenceInputLayer
