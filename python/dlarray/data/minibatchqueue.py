"""MATLAB's ``minibatchqueue``: mini-batches from a datastore, ready for a training loop.

Typical use (MATLAB's canonical epoch loop, ported)::

    XTrain, YTrain, _ = digitTrain4DArrayData()
    ds = combine(arrayDatastore(XTrain, iteration_dimension=3), arrayDatastore(YTrain))
    onehot = lambda xs, ys: (np.stack(xs, -1), np.eye(10)[np.array(ys)].T)
    mbq = minibatchqueue(ds, mini_batch_size=128, mini_batch_fcn=onehot,
                         mini_batch_format=["SSCB", "CB"])
    for epoch in range(num_epochs):
        mbq.shuffle()
        while mbq.hasdata():
            X, T = mbq.next()

Decisions where MATLAB's behaviour is unknown or has no Python counterpart:

* ``next()`` past the end raises :class:`EndOfDataError`, a ``ValueError`` subclass (not
  a ``StopIteration``, which a generator would silently turn into a ``RuntimeError``).
* Iterating (``for X, T in mbq``) yields the remaining mini-batches; when none remain,
  iteration first rewinds with ``reset()``, so a bare ``for`` in an epoch loop sees every
  epoch. ``len(mbq)`` is the number of mini-batches per epoch.
* A single format string is accepted only when there is one output; several outputs
  take a list (``None`` or ``""`` for unformatted). ``output_cast``,
  ``output_as_dlarray`` and ``output_environment`` take a single value for all outputs
  or a list with one value per output, as in MATLAB.
* A non-floating ``output_cast`` (``"int32"``, ``"logical"``, ...) needs
  ``output_as_dlarray=False`` for that output, since a dlarray holds floating data.
* Outputs that are not numeric (lists, strings, object arrays) are returned as they are
  (MATLAB does the same for categorical data).
* ``shuffle()`` draws from numpy's global random state (``numpy.random.seed`` plays the
  part of MATLAB's ``rng``) unless ``seed`` is given, or the queue has a ``shuffle_seed``.
* ``partition=(n, i)`` (or ``partition(mbq, n, i)``) gives this process share ``i`` of every
  mini-batch, for data-parallel training; see :mod:`dlarray.data.partition`.
"""

from __future__ import annotations

import concurrent.futures
import copy
import math

import numpy as np

from .._matlab_names import MatlabProperties, accept_matlab_names
from .datastore import _permutation, _RandomAccessDatastore, arrayDatastore, combine
from .partition import BatchShare, agreed_seed, epoch_rng

__all__ = ["EndOfDataError", "minibatchqueue"]

_CASTS = {
    "single": np.float32,
    "double": np.float64,
    "half": np.float16,
    "logical": np.bool_,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "uint32": np.uint32,
    "uint64": np.uint64,
}
_PARTIAL = ("return", "discard")
_ENVIRONMENTS = ("auto", "cpu", "gpu")


class EndOfDataError(ValueError):
    """``minibatchqueue.next()`` was called when no mini-batch was left."""


def _per_output(value, n: int, name: str, scalar_types) -> list:
    """Broadcast a single option value to n outputs, or check a per-output list."""
    if isinstance(value, scalar_types) or value is None:
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise ValueError(f"minibatchqueue: {name} has {len(values)} entries but there are {n} outputs")
    return values


def _dtype_of(cast):
    if cast is None:
        return None
    if isinstance(cast, str) and cast in _CASTS:
        return np.dtype(_CASTS[cast])
    try:
        return np.dtype(cast)
    except TypeError:
        raise ValueError(f"minibatchqueue: unknown output_cast {cast!r}; use one of {sorted(_CASTS)} or a numpy dtype") from None


def _collate(values):
    """MATLAB's default ``"collate"``: stack numeric observations along a new last axis
    (``cat(ndims+1, ...)``); anything else stays a list."""
    try:
        arrays = [np.asarray(v) for v in values]
    except ValueError:
        return list(values)
    if arrays and all(a.dtype.kind in "biufc" and a.shape == arrays[0].shape for a in arrays):
        return np.stack(arrays, axis=-1)
    return list(values)


def _as_datastore(ds):
    """Plain arrays become arrayDatastores (iteration over axis 0); a tuple of arrays
    becomes their combination."""
    if isinstance(ds, np.ndarray):
        return arrayDatastore(ds)
    if isinstance(ds, (tuple, list)) and ds and all(isinstance(a, np.ndarray) for a in ds):
        return combine(*(arrayDatastore(a) for a in ds))
    if isinstance(ds, _RandomAccessDatastore):
        return ds
    if all(hasattr(ds, m) for m in ("read", "hasdata", "reset")):
        return ds
    raise TypeError(
        f"minibatchqueue: expected a datastore (arrayDatastore, combine(...), "
        f"or an object with read/hasdata/reset), a numpy array or a tuple of "
        f"numpy arrays; got {type(ds).__name__}"
    )


class _SequentialReader:
    """Mini-batches from a generic datastore that only offers read/hasdata/reset."""

    def __init__(self, ds):
        self.ds = ds
        self.buffer = []

    @staticmethod
    def _rows(result):
        return list(result) if isinstance(result, list) else [result]

    def fill(self, count: int) -> int:
        while len(self.buffer) < count and self.ds.hasdata():
            self.buffer.extend(self._rows(self.ds.read()))
        return len(self.buffer)

    def take(self, count: int):
        rows, self.buffer = self.buffer[:count], self.buffer[count:]
        return rows

    def reset(self):
        self.ds.reset()
        self.buffer = []

    def num_columns(self) -> int:
        first = self._rows(self.ds.preview())[0] if hasattr(self.ds, "preview") else None
        if first is None:
            self.fill(1)
            first = self.buffer[0]
        return len(first) if isinstance(first, tuple) else 1


class minibatchqueue(MatlabProperties):
    """Create mini-batches for custom training loops (MATLAB's ``minibatchqueue``).

    Parameters
    ----------
    ds : arrayDatastore, combined datastore (``combine``), any object with
        ``read``/``hasdata``/``reset``, a numpy array (iterated over axis 0), or a tuple
        of numpy arrays (combined).
    num_outputs : number of mini-batch variables; default: the number of datastore
        columns (MATLAB: the number of variables ``read`` returns).
    mini_batch_size : observations per mini-batch (default 128).
    partial_mini_batch : ``"return"`` (default) returns a last, smaller mini-batch;
        ``"discard"`` drops it.
    mini_batch_fcn : ``None`` (MATLAB's ``"collate"``: numeric observations are stacked
        along a new last axis, MATLAB's ``cat(ndims+1, ...)``) or a function receiving,
        per datastore column, the list of observation values, and returning the
        ``num_outputs`` outputs (a tuple when there are several).
    mini_batch_format : format of each output: ``None``/``""`` (default, unformatted),
        a string (one output), or a list of strings per output. Applied after the
        function and the cast; the dlarray reorders to canonical S, C, B, T, U order.
    output_cast : ``"single"`` (default, float32), ``"double"``, ``"half"``, an integer
        type, ``"logical"``, a numpy dtype, or ``None`` (keep); single or per output.
    output_as_dlarray : wrap numeric outputs in ``dlarray`` (default True); per output.
    output_environment : ``"auto"`` (GPU if ``canUseGPU()``, else CPU, MATLAB's
        default), ``"cpu"`` or ``"gpu"``; per output.
    dispatch_in_background : prepare the next mini-batch in a background thread while
        the current one is used (MATLAB's ``DispatchInBackground``;
        ``preprocessing_environment="background"`` is the newer spelling).
    partition : ``(n, i)``: read only share ``i`` (0-based) of ``n`` of every mini-batch of
        ``mini_batch_size`` observations (data-parallel training; needs a random-access
        datastore). ``normalization_factor`` is the share's fraction of the last mini-batch.
    shuffle_seed : an int: each ``shuffle()`` without a seed draws its order from this seed
        and the number of shuffles so far, the same on every process. A partitioned queue
        without one agrees on a seed drawn by process 0 (its construction is collective).
    """

    def __init__(
        self,
        ds,
        num_outputs=None,
        *,
        mini_batch_size: int = 128,
        partial_mini_batch: str = "return",
        mini_batch_fcn=None,
        mini_batch_format=None,
        output_cast="single",
        output_as_dlarray=True,
        output_environment="auto",
        dispatch_in_background: bool = False,
        preprocessing_environment: str = "serial",
        partition=None,
        shuffle_seed=None,
    ):
        self._ds = _as_datastore(ds)
        self._random_access = isinstance(self._ds, _RandomAccessDatastore)
        self._reader = None if self._random_access else _SequentialReader(self._ds)
        columns = self._ds._num_columns if self._random_access else self._reader.num_columns()
        if num_outputs is None:
            num_outputs = columns
        num_outputs = int(num_outputs)
        if num_outputs < 1:
            raise ValueError(f"minibatchqueue: num_outputs must be positive, got {num_outputs}")
        if mini_batch_fcn is None and num_outputs != columns:
            raise ValueError(
                f"minibatchqueue: the datastore has {columns} column(s) but num_outputs is "
                f"{num_outputs}; without a mini_batch_fcn they must match"
            )
        if int(mini_batch_size) < 1:
            raise ValueError(f"minibatchqueue: mini_batch_size must be a positive integer, got {mini_batch_size}")
        if partial_mini_batch not in _PARTIAL:
            raise ValueError(f"minibatchqueue: partial_mini_batch must be one of {_PARTIAL}, got {partial_mini_batch!r}")
        if mini_batch_fcn is not None and not callable(mini_batch_fcn):
            raise TypeError("minibatchqueue: mini_batch_fcn must be callable or None")
        if isinstance(mini_batch_format, str) and num_outputs > 1:
            raise ValueError(
                f"minibatchqueue: mini_batch_format {mini_batch_format!r} is one string but "
                f"there are {num_outputs} outputs; give a list with one format per output, "
                f"e.g. ['SSCB', 'CB']"
            )
        if preprocessing_environment not in ("serial", "background"):
            raise ValueError(
                f"minibatchqueue: preprocessing_environment must be 'serial' or 'background', got {preprocessing_environment!r}"
            )

        self._num_columns = columns
        self._num_outputs = num_outputs
        self._mini_batch_size = int(mini_batch_size)
        self._partial = partial_mini_batch
        self._fcn = mini_batch_fcn
        self._formats = tuple(f or "" for f in _per_output(mini_batch_format, num_outputs, "mini_batch_format", str))
        self._casts = tuple(_per_output(output_cast, num_outputs, "output_cast", (str, type, np.dtype)))
        self._dtypes = tuple(_dtype_of(c) for c in self._casts)
        self._as_dlarray = tuple(bool(b) for b in _per_output(output_as_dlarray, num_outputs, "output_as_dlarray", (bool, int, np.bool_)))
        self._environments = tuple(_per_output(output_environment, num_outputs, "output_environment", str))
        for env in self._environments:
            if env not in _ENVIRONMENTS:
                raise ValueError(f"minibatchqueue: output_environment must be one of {_ENVIRONMENTS}, got {env!r}")
        for i, (dt, wrap) in enumerate(zip(self._dtypes, self._as_dlarray)):
            if wrap and dt is not None and dt.kind not in "fc":
                raise ValueError(
                    f"minibatchqueue: output {i} is cast to {self._casts[i]!r}, which a "
                    f"dlarray cannot hold; set output_as_dlarray=False for that output"
                )
        self._background = bool(dispatch_in_background) or preprocessing_environment == "background"
        self._executor = None
        self._pending = None  # (key, future) of a mini-batch prepared in background
        self._use_gpu = None  # resolved lazily: importing the core may be costly
        self._epoch = 0
        self._order = np.arange(self._ds.numobservations) if self._random_access else None
        self._position = 0
        self._share = None if partition is None else BatchShare.of(partition)
        if self._share is not None and not self._random_access:
            raise TypeError(
                f"minibatchqueue: partition needs a datastore with random access "
                f"(arrayDatastore, combine(...)), got {type(self._ds).__name__}"
            )
        if shuffle_seed is not None and not isinstance(shuffle_seed, (int, np.integer)):
            raise TypeError(f"minibatchqueue: shuffle_seed must be an int, got {type(shuffle_seed).__name__}")
        self._shuffle_seed = int(shuffle_seed) if shuffle_seed is not None else agreed_seed() if self._share is not None else None
        self._shuffles = 0
        self._parts_seed = None  # the shuffle seed of this queue's parts, when it has none
        self._factor = 1.0 if self._share is None else self._share.nominal_factor(self._mini_batch_size)

    # Properties (MATLAB's, snake_case; read-only as in MATLAB) -----------------------
    @property
    def mini_batch_size(self) -> int:
        return self._mini_batch_size

    @property
    def num_outputs(self) -> int:
        return self._num_outputs

    @property
    def partial_mini_batch(self) -> str:
        return self._partial

    @property
    def mini_batch_fcn(self):
        return self._fcn if self._fcn is not None else "collate"

    @property
    def mini_batch_format(self):
        """Formats per output: a string for one output, else a tuple of strings."""
        return self._formats[0] if self._num_outputs == 1 else self._formats

    @property
    def output_cast(self):
        return self._casts[0] if self._num_outputs == 1 else self._casts

    @property
    def output_as_dlarray(self):
        return self._as_dlarray[0] if self._num_outputs == 1 else self._as_dlarray

    @property
    def output_environment(self):
        return self._environments[0] if self._num_outputs == 1 else self._environments

    @property
    def dispatch_in_background(self) -> bool:
        return self._background

    def partition(self, num_parts, index):
        """Part ``index`` (0-based) of ``num_parts``: a queue with the same options reading
        that share of every mini-batch (MATLAB's ``partition(mbq, n, i)``; see
        :mod:`dlarray.data.partition` for how it splits)."""
        return self._partitioned(num_parts, index)

    @property
    def share(self):
        """``(n, i)`` of a partitioned queue (share ``i`` of ``n``), else ``None``."""
        return None if self._share is None else (self._share.num_parts, self._share.index)

    @property
    def shuffle_seed(self):
        return self._shuffle_seed

    @property
    def normalization_factor(self) -> float:
        """The fraction of the last mini-batch that ``next()`` returned from this share:
        its observations divided by the whole mini-batch's (1.0 without partition; before
        the first ``next()``, the share of a full mini-batch). MATLAB's parallel example
        weighs each process's loss, gradients and state by it."""
        return self._factor

    # Epoch control --------------------------------------------------------------------
    def __len__(self) -> int:
        """Mini-batches per epoch (known for random-access datastores)."""
        if not self._random_access:
            raise TypeError("minibatchqueue: the number of mini-batches is unknown for a datastore without random access")
        n, b = self._order.size, self._mini_batch_size
        if self._share is not None:
            return self._share.num_batches(n, b, self._partial)
        return n // b if self._partial == "discard" else math.ceil(n / b)

    def hasdata(self) -> bool:
        """True while ``next()`` can return a mini-batch (MATLAB's ``hasdata``)."""
        need = self._mini_batch_size if self._partial == "discard" else 1
        if self._share is not None:
            return self._window(self._position) is not None
        if self._random_access:
            return self._order.size - self._position >= need
        return self._reader.fill(self._mini_batch_size) >= need

    def reset(self) -> None:
        """Rewind to the first mini-batch without reshuffling (MATLAB's ``reset``)."""
        self._position = 0
        self._epoch += 1
        self._pending = None
        if not self._random_access:
            self._reader.reset()

    def shuffle(self, seed=None) -> None:
        """Reshuffle the observations and rewind (MATLAB's ``shuffle``).

        ``seed`` (an int or ``numpy.random.Generator``) makes the order reproducible;
        by default numpy's global random state is used.
        """
        if seed is None and self._shuffle_seed is not None:
            seed = epoch_rng(self._shuffle_seed, self._shuffles)
            self._shuffles += 1
        if self._random_access:
            self._order = _permutation(self._ds.numobservations, seed)
        elif hasattr(self._ds, "shuffle"):
            shuffled = self._ds.shuffle() if seed is None else self._ds.shuffle(seed)
            self._ds = shuffled if shuffled is not None else self._ds
            self._reader = _SequentialReader(self._ds)
        else:
            raise TypeError(f"minibatchqueue.shuffle: {type(self._ds).__name__} has no shuffle method")
        self.reset()

    # Mini-batches ---------------------------------------------------------------------
    def next(self):
        """The next mini-batch: one array, or a tuple when there are several outputs.

        MATLAB's ``next``. Raises :class:`EndOfDataError` when no data is left.
        """
        if not self.hasdata():
            raise EndOfDataError(
                "minibatchqueue.next: the end of the data has been reached; no mini-batch "
                "is left. Call reset() or shuffle() to start another pass, and check "
                "hasdata() before calling next()."
            )
        if not self._random_access:
            return self._prepare(self._reader.take(self._mini_batch_size))
        position = self._position
        start, stop, advance = self._window(position)
        self._position = position + advance
        self._factor = (stop - start) / advance
        key = (self._epoch, position)
        if self._pending is not None and self._pending[0] == key:
            batch = self._pending[1].result()
        else:
            batch = self._prepare(self._order[start:stop])
        self._pending = None
        if self._background and self.hasdata():
            self._prefetch()
        return batch

    def _prefetch(self):
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="minibatchqueue")
        start, stop, _ = self._window(self._position)
        self._pending = ((self._epoch, self._position), self._executor.submit(self._prepare, self._order[start:stop]))

    def _window(self, position: int):
        """``(start, stop, advance)``: the observations ``_order[start:stop]`` of the next
        mini-batch read at ``position``, which then moves by ``advance``; ``None`` if this
        queue reads nothing more (only asked of a partitioned queue before ``hasdata``)."""
        if self._share is None:
            stop = min(position + self._mini_batch_size, self._order.size)
            return position, stop, stop - position
        found = self._share.window(self._order.size - position, self._mini_batch_size, self._partial)
        if found is None:
            return None
        start, stop, count = found
        return position + start, position + stop, count

    def _partitioned(self, num_parts, index):
        """A copy reading share ``index`` of ``num_parts`` of every mini-batch, rewound."""
        if self._share is not None:
            raise ValueError(
                f"partition: this minibatchqueue is already part {self._share.index} of "
                f"{self._share.num_parts}; partition the original queue"
            )
        share = BatchShare(num_parts, index, "partition")
        if not self._random_access:
            raise TypeError(
                f"partition: needs a datastore with random access (arrayDatastore, combine(...)), got {type(self._ds).__name__}"
            )
        if self._shuffle_seed is None and self._parts_seed is None:
            self._parts_seed = agreed_seed()  # shared by all parts of this queue
        part = copy.copy(self)
        part._share, part._executor, part._pending = share, None, None
        part._shuffle_seed = self._parts_seed if self._shuffle_seed is None else self._shuffle_seed
        part._order, part._position, part._shuffles = np.arange(self._ds.numobservations), 0, 0
        part._factor = share.nominal_factor(self._mini_batch_size)
        return part

    def __iter__(self):
        if not self.hasdata():
            self.reset()
        while self.hasdata():
            yield self.next()

    def _prepare(self, selection):
        """Read, collate (or apply the mini-batch function), cast, wrap, place."""
        if self._random_access:
            if self._fcn is None:
                columns = self._ds._columns_at(selection)
            else:
                columns = self._ds._observations_at(selection)
        else:
            rows = [r if isinstance(r, tuple) else (r,) for r in selection]
            columns = [list(col) for col in zip(*rows)]
            if self._fcn is None:
                columns = [_collate(col) for col in columns]
        if self._fcn is None:
            outputs = columns
        else:
            result = self._fcn(*columns)
            outputs = [result] if self._num_outputs == 1 else list(result)
            if len(outputs) != self._num_outputs:
                raise ValueError(
                    f"minibatchqueue: mini_batch_fcn returned {len(outputs)} outputs, expected num_outputs={self._num_outputs}"
                )
        finished = tuple(self._finish(i, out) for i, out in enumerate(outputs))
        return finished[0] if self._num_outputs == 1 else finished

    def _finish(self, i: int, value):
        dl = _dlarray_api()
        fmt = self._formats[i]
        if dl is not None and isinstance(value, dl.dlarray):
            fmt = fmt or value.fmt
            value = dl.extractdata(value)
        if isinstance(value, list):
            return value
        array = np.asarray(value)
        if array.dtype.kind not in "biufc":
            return value  # non-numeric data passes through untouched
        if self._dtypes[i] is not None:
            array = array.astype(self._dtypes[i], copy=False)
        on_gpu = self._wants_gpu(i)
        if not self._as_dlarray[i]:
            if fmt:
                raise ValueError(f"minibatchqueue: output {i} has format {fmt!r} but output_as_dlarray is False")
            return _require(dl, "gpuArray").gpuArray(array) if on_gpu else array
        make = _require(dl, "dlarray").dlarray
        x = make(array, fmt) if fmt else make(array)
        return x.to("gpu") if on_gpu else x

    def _wants_gpu(self, i: int) -> bool:
        env = self._environments[i]
        if env == "cpu":
            return False
        if env == "gpu":
            return True
        if self._use_gpu is None:
            dl = _dlarray_api()
            can_use = getattr(dl, "canUseGPU", None) if dl is not None else None
            self._use_gpu = bool(can_use()) if can_use is not None else False
        return self._use_gpu

    def __del__(self):
        executor = getattr(self, "_executor", None)
        if executor is not None:
            executor.shutdown(wait=False)

    def __repr__(self) -> str:
        return (
            f"minibatchqueue(num_outputs={self._num_outputs}, "
            f"mini_batch_size={self._mini_batch_size}, "
            f"partial_mini_batch={self._partial!r}, "
            f"mini_batch_format={self.mini_batch_format!r}, "
            f"output_cast={self.output_cast!r}" + (f", partition={self._share!r}" if self._share is not None else "") + ")"
        )


_api_cache = []


def _dlarray_api():
    """The top-level package, imported lazily (it loads the compiled core); None when
    the package (or its ``dlarray`` class) cannot be imported."""
    if not _api_cache:
        import importlib

        try:
            package = importlib.import_module(__name__.rsplit(".", 2)[0])
            _api_cache.append(package if hasattr(package, "dlarray") else None)
        except ImportError:
            _api_cache.append(None)
    return _api_cache[0]


def _require(dl, name):
    if dl is None or not hasattr(dl, name):
        raise ImportError(
            f"minibatchqueue: dlarray.{name} is not available (is the "
            "compiled core dlarray._core built?); pass output_as_dlarray=False "
            "and output_environment='cpu' to get numpy arrays"
        )
    return dl


accept_matlab_names(globals())
