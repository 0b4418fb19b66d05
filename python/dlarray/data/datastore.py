"""In-memory datastores: MATLAB's ``arrayDatastore`` and ``combine``.

A datastore hands out *observations* one read at a time. Conventions of this port
(MATLAB's cell arrays have no exact Python counterpart, so these are decisions):

* Dimensions are 0-based: ``iteration_dimension=0`` (MATLAB's default
  ``IterationDimension=1``) iterates over the first axis; images stored as MATLAB's
  h x w x c x N use ``iteration_dimension=3`` (or ``-1``).
* One observation is the slice *without* the iteration dimension: for an (N, d) array
  it is a (d,) vector, for (28, 28, 1, N) images it is a (28, 28, 1) image, for an (N,)
  label vector it is a 0-d value.
* ``read()`` with ``output_type="cell"`` (the default) returns a list with one entry per
  observation (MATLAB's ReadSize x 1 cell); with ``output_type="same"`` it returns the
  array slice *with* the iteration dimension, holding up to ``read_size`` observations.
* A combined datastore reads its datastores in lockstep; in cell mode each entry is a
  tuple with one value per datastore (MATLAB's 1 x k cell row).
* ``shuffle()`` returns a shuffled copy and leaves the original alone, as in MATLAB. The
  order is drawn from numpy's global random state (``numpy.random.seed`` plays the part
  of MATLAB's ``rng``) unless a ``seed`` or ``numpy.random.Generator`` is given.

Besides MATLAB's interface the datastores offer ``_columns_at(indices)``: random access
by observation index, already collated (stacked along a new last axis). The
``minibatchqueue`` uses it to fetch a whole mini-batch with one fancy index.
"""

from __future__ import annotations

import sys

import numpy as np

from .. import _random
from .._matlab_names import MatlabProperties, accept_matlab_names

__all__ = ["CombinedDatastore", "EndOfDatastoreError", "arrayDatastore", "combine"]

_OUTPUT_TYPES = ("cell", "same")


def _permutation(n: int, seed=None) -> np.ndarray:
    if seed is None:
        return _random.permutation(n)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return rng.permutation(n)


def _is_categorical(value) -> bool:
    # The categorical module needs the compiled core; a value can only be one of its
    # categoricals once it has been imported.
    module = sys.modules.get(f"{__package__}.categorical")
    return module is not None and isinstance(value, module.categorical)


class _RandomAccessDatastore(MatlabProperties):
    """Shared read / hasdata / reset logic for datastores with indexable observations.

    Subclasses provide ``numobservations``, ``_observation_rows(indices)`` (the cell
    view: one entry per observation) and ``_same_rows(indices)``.
    """

    read_size: int
    output_type: str

    def __init__(self):
        self._position = 0

    # MATLAB's interface -------------------------------------------------------------
    def __len__(self) -> int:
        return self.numobservations

    def hasdata(self) -> bool:
        """True while ``read`` can return more data (MATLAB's ``hasdata``)."""
        return self._position < self.numobservations

    def reset(self) -> None:
        """Rewind to the first observation (MATLAB's ``reset``)."""
        self._position = 0

    def read(self):
        """Next ``read_size`` observations (MATLAB's ``read``); see the module notes."""
        if not self.hasdata():
            raise EndOfDatastoreError(
                f"{type(self).__name__}.read: no more data; all {self.numobservations} "
                "observations have been read. Call reset() to read them again."
            )
        stop = min(self._position + self.read_size, self.numobservations)
        indices = np.arange(self._position, stop)
        self._position = stop
        return self._rows(indices)

    def preview(self):
        """What the first ``read`` after a reset returns, without moving the position."""
        return self._rows(np.arange(min(self.read_size, self.numobservations)))

    def readall(self):
        """All observations in order: a list (cell mode) or the whole array ("same")."""
        return self._rows(np.arange(self.numobservations))

    def partition(self, num_parts, index):
        """Contiguous block ``index`` (0-based) of ``num_parts`` (MATLAB's
        ``partition(ds, n, i)``): a datastore over those observations."""
        from .partition import partition

        return partition(self, num_parts, index)

    def _rows(self, indices: np.ndarray):
        if self.output_type == "same":
            return self._same_rows(indices)
        return self._observation_rows(indices)


class EndOfDatastoreError(ValueError):
    """``read`` was called on a datastore with no data left."""


class arrayDatastore(_RandomAccessDatastore):
    """Datastore over an in-memory array (MATLAB's ``arrayDatastore``).

    Parameters
    ----------
    array : array-like, a list/tuple of arbitrary objects (MATLAB's cell array:
        each element is one observation and ``iteration_dimension`` must be 0), or a
        :class:`~dlarray.categorical` vector of labels (``arrayDatastore(imds.labels)``),
        whose collated column is the categorical of a mini-batch's labels.
    iteration_dimension : int, 0-based axis to iterate over (MATLAB's 1-based
        ``IterationDimension=1`` is ``0`` here; negative values count from the end).
    read_size : int, observations returned per ``read`` (default 1).
    output_type : ``"cell"`` (default: a list of observations) or ``"same"`` (an array
        slice keeping the iteration dimension).
    """

    def __init__(self, array, iteration_dimension: int = 0, read_size: int = 1, output_type: str = "cell"):
        super().__init__()
        self._objects = None
        if _is_categorical(array):
            if array.ndim != 1:
                raise ValueError(f"arrayDatastore: a categorical must be a vector of labels, got shape {array.shape}")
            self._objects = array
            array = None
        elif isinstance(array, (list, tuple)):
            try:
                converted = np.asarray(array)
            except ValueError:  # ragged: keep as a sequence of objects
                converted = None
            if converted is None or converted.dtype == object:
                self._objects = list(array)
                array = None
            else:
                array = converted
        if self._objects is None:
            array = np.asarray(array)
            if array.ndim == 0:
                array = array.reshape(1)
            axis = int(iteration_dimension)
            if not -array.ndim <= axis < array.ndim:
                raise ValueError(
                    f"arrayDatastore: iteration_dimension={iteration_dimension} is out of "
                    f"range for an array of shape {array.shape} (dimensions are 0-based)"
                )
            self._axis = axis % array.ndim
        elif iteration_dimension not in (0, -1):
            raise ValueError("arrayDatastore: a list of objects iterates over its elements; iteration_dimension must be 0")
        else:
            self._axis = 0
        self._array = array
        if int(read_size) < 1:
            raise ValueError(f"arrayDatastore: read_size must be a positive integer, got {read_size}")
        if output_type not in _OUTPUT_TYPES:
            raise ValueError(f"arrayDatastore: output_type must be one of {_OUTPUT_TYPES}, got {output_type!r}")
        self.read_size = int(read_size)
        self.output_type = output_type

    # Properties with MATLAB's names, snake_case.
    @property
    def iteration_dimension(self) -> int:
        return self._axis

    @property
    def numobservations(self) -> int:
        if self._objects is not None:
            return len(self._objects)
        return self._array.shape[self._axis]

    @property
    def data(self):
        """The underlying array (or list of objects)."""
        return self._objects if self._objects is not None else self._array

    def shuffle(self, seed=None) -> "arrayDatastore":
        """A copy with the observations in random order (MATLAB's ``shuffle``)."""
        order = _permutation(self.numobservations, seed)
        return self._subset(order)

    def subset(self, indices) -> "arrayDatastore":
        """A datastore over the given observations (MATLAB's ``subset``; 0-based)."""
        return self._subset(np.asarray(indices, dtype=np.intp).reshape(-1))

    def _subset(self, order: np.ndarray) -> "arrayDatastore":
        if _is_categorical(self._objects):
            data = self._objects[np.asarray(order, dtype=np.intp)]
        elif self._objects is not None:
            data = [self._objects[i] for i in order]
        else:
            data = np.take(self._array, order, axis=self._axis)
        return arrayDatastore(data, self._axis, self.read_size, self.output_type)

    # Row views ----------------------------------------------------------------------
    def _observation_rows(self, indices):
        if self._objects is not None:
            return [self._objects[i] for i in indices]
        block = np.take(self._array, indices, axis=self._axis)
        return list(np.moveaxis(block, self._axis, 0))

    def _same_rows(self, indices):
        if self._objects is not None:
            return [self._objects[i] for i in indices]
        return np.take(self._array, indices, axis=self._axis)

    def _columns_at(self, indices):
        """One collated column: observations stacked along a new last axis.

        Equal to ``np.stack(observations, axis=-1)`` (MATLAB's ``cat(ndims+1, ...)``)
        but fetched with a single fancy index. For a list of objects the column is the
        list of observations itself (it cannot be collated generically).
        """
        if _is_categorical(self._objects):
            return [self._objects[np.asarray(indices, dtype=np.intp)]]
        if self._objects is not None:
            return [[self._objects[i] for i in indices]]
        block = np.take(self._array, indices, axis=self._axis)
        return [np.moveaxis(block, self._axis, -1)]

    def _observations_at(self, indices):
        """One column as a list of per-observation values (for a mini-batch function); a
        categorical column stays a categorical of those labels."""
        if _is_categorical(self._objects):
            return [self._objects[np.asarray(indices, dtype=np.intp)]]
        if self._objects is not None:
            return [[self._objects[i] for i in indices]]
        block = np.take(self._array, indices, axis=self._axis)
        return [list(np.moveaxis(block, self._axis, 0))]

    @property
    def _num_columns(self) -> int:
        return 1

    def __repr__(self) -> str:
        what = (
            f"list of {len(self._objects)} objects"
            if self._objects is not None
            else f"array of shape {self._array.shape} dtype {self._array.dtype}"
        )
        return f"arrayDatastore({what}, iteration_dimension={self._axis}, read_size={self.read_size}, output_type={self.output_type!r})"


class CombinedDatastore(_RandomAccessDatastore):
    """Datastores read in lockstep (MATLAB's ``CombinedDatastore``, from ``combine``).

    Reading stops when the shortest underlying datastore runs out (decision: MATLAB's
    behaviour for unequal lengths is not documented here). ``read_size`` is the first
    datastore's.
    """

    def __init__(self, *datastores):
        super().__init__()
        flat = []
        for ds in datastores:
            if isinstance(ds, CombinedDatastore):
                flat.extend(ds.underlying_datastores)
            elif isinstance(ds, _RandomAccessDatastore):
                flat.append(ds)
            else:
                raise TypeError(
                    "combine: expected arrayDatastore or combined datastores, got "
                    f"{type(ds).__name__}; wrap arrays with arrayDatastore(...) first"
                )
        if not flat:
            raise ValueError("combine: needs at least one datastore")
        self.underlying_datastores = tuple(flat)
        self.read_size = flat[0].read_size
        self.output_type = "cell"

    @property
    def numobservations(self) -> int:
        return min(ds.numobservations for ds in self.underlying_datastores)

    def shuffle(self, seed=None) -> "CombinedDatastore":
        """A copy with all underlying datastores shuffled by the same permutation."""
        order = _permutation(self.numobservations, seed)
        return CombinedDatastore(*(ds._subset(order) for ds in self.underlying_datastores))

    def subset(self, indices) -> "CombinedDatastore":
        order = np.asarray(indices, dtype=np.intp).reshape(-1)
        return CombinedDatastore(*(ds._subset(order) for ds in self.underlying_datastores))

    def _subset(self, order):
        return CombinedDatastore(*(ds._subset(order) for ds in self.underlying_datastores))

    def _observation_rows(self, indices):
        # Underlying datastores are flattened arrayDatastores: one column each.
        return list(zip(*self._observations_at(indices)))

    def _same_rows(self, indices):  # pragma: no cover - output_type is always "cell"
        return self._observation_rows(indices)

    def _columns_at(self, indices):
        columns = []
        for ds in self.underlying_datastores:
            columns.extend(ds._columns_at(indices))
        return columns

    def _observations_at(self, indices):
        columns = []
        for ds in self.underlying_datastores:
            columns.extend(ds._observations_at(indices))
        return columns

    @property
    def _num_columns(self) -> int:
        return sum(ds._num_columns for ds in self.underlying_datastores)

    def __repr__(self) -> str:
        inner = ", ".join(repr(ds) for ds in self.underlying_datastores)
        return f"CombinedDatastore({inner})"


def combine(*datastores) -> CombinedDatastore:
    """Read several datastores together (MATLAB's ``combine``).

    ``combine(dsX, dsT).read()`` returns a list of ``(x, t)`` tuples, one per
    observation. Combining a combined datastore flattens it.
    """
    return CombinedDatastore(*datastores)


accept_matlab_names(globals())
