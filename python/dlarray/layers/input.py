"""Input layers: ``imageInputLayer``, ``featureInputLayer``, ``sequenceInputLayer``.

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
__all__ = ["FeatureInputLayer", "ImageInputLayer", "InputLayer", "SequenceInputLayer",
           "featureInputLayer", "imageInputLayer", "sequenceInputLayer"]
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


imageInputLayer = ImageInputLayer
featureInputLayer = FeatureInputLayer
sequenceInputLayer = SequenceInputLayer
