"""Type stubs for the compiled module ``dlarray._core`` (rust/py/src/*.rs).

Public names are re-exported by ``dlarray``; names with a leading underscore are internal
entry points used by the Python package (tracing, convolution and pooling kernels).
"""

import builtins
from typing import Any, Iterable, Iterator, Optional, Sequence, SupportsIndex, Tuple, Union, final

import numpy as np
import numpy.typing as npt
from typing_extensions import Self, disjoint_base

__version__: str

# What the module itself lists (pyo3 fills it with every name it adds).
__all__ = [
    "dlarray",
    "ShapeError",
    "FormatError",
    "OptionError",
    "DTypeError",
    "DlIndexError",
    "AutodiffError",
    "OutOfMemoryError",
    "InternalError",
    "DeviceError",
    "exp",
    "log",
    "log1p",
    "sqrt",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sinh",
    "cosh",
    "asin",
    "acos",
    "atan",
    "sigmoid",
    "erf",
    "abs",
    "sign",
    "floor",
    "ceil",
    "round",
    "relu",
    "maximum",
    "minimum",
    "atan2",
    "power",
    "complex",
    "where",
    "real",
    "imag",
    "conj",
    "angle",
    "extractdata",
    "from_dlpack",
    "stripdims",
    "dims",
    "finddim",
    "isdlarray",
    "concatenate",
    "stack",
    "repmat",
    "flip",
    "squeeze",
    "matmul",
    "pagemtimes",
    "_gpu_available",
    "_gpu_info",
    "_gpu_stats",
    "_trace_enter",
    "_trace_exit",
    "_in_dlfeval",
    "_gradient",
    "_trace_listing",
    "_replay",
    "_Plan",
    "_dlconv",
    "_dltranspconv",
    "_fullyconnect",
    "_op_layout",
    "_format_option",
    "_maxpool",
    "_maxunpool",
    "_avgpool",
    "_leakyrelu",
    "_standardize",
    "_softmax",
    "_softmax_log",
    "_compare",
    "_batchnorm_train",
    "_lstm",
    "_gru",
    "_adam_step",
    "_rmsprop_step",
    "_sgdm_step",
    "_optim_pool_stats",
    "_optim_pool_clear",
    "__version__",
]

_Axis = Union[None, int, Sequence[int], str]
_Operand = Union["dlarray", npt.ArrayLike, float, int, builtins.complex, bool]

# ----- errors (rust/py/src/errors.rs) ---------------------------------------------------------

class ShapeError(ValueError):
    """Array shapes do not fit the operation (a ``ValueError``).

    Raised for operands that do not broadcast, inner dims of a matrix product that differ,
    ``reshape`` to a size that does not fit, an index assignment whose value does not broadcast to
    the selection, a reduction of an empty array without identity (``max``, ``min``), the truth
    value of a dlarray of several elements, and sizes that overflow.
    """

class FormatError(ValueError):
    """Data-format labels are invalid or do not fit the operation (a ``ValueError``).

    Raised for a format with a letter other than S, C, B, T, U, a repeated C, B or T, or too few
    labels for the data; operands with different formats; a format letter the array lacks given
    as an axis; and a deep-learning op given data without the dims it needs (see ``data_format=``).
    """

class OptionError(ValueError):
    """An option has an invalid value (a ``ValueError``).

    Raised when a keyword or positional option is of the wrong kind or out of range, such as
    ``reshape(..., order="K")``, an axis that must name one dim but names several, or an unknown
    choice for a string option.
    """

class DTypeError(TypeError):
    """The operation does not support this data type (a ``TypeError``).

    Raised for non-numeric data given to ``dlarray``, ``astype`` to a dtype a dlarray cannot hold
    (dlarrays hold float32, float64, complex64 and complex128), and complex input to a function
    defined for real input only (``sigmoid``, ``relu``, ``floor``, ``maximum``, ...).
    """

class DlIndexError(IndexError):
    """An index is out of range or malformed (an ``IndexError``).

    Raised by indexing and index assignment (``X[key]``), and for an axis out of range.
    """

class AutodiffError(RuntimeError):
    """Automatic differentiation was misused (a ``RuntimeError``).

    Raised by ``dlgradient`` outside ``dlfeval``, for a ``y`` that is not a real scalar, for an ``x``
    that is not traced, for a second gradient through a trace already freed or recorded without
    ``enable_higher_derivatives=True``, and by a numpy function given a traced dlarray (which would
    silently drop the trace).
    """

class OutOfMemoryError(MemoryError):
    """A result is too large to allocate (a ``MemoryError``).

    Sizes are checked before allocating: a result of 1 GiB or more that the system refuses to
    reserve raises this error instead of aborting the process.
    """

class InternalError(RuntimeError):
    """A bug in dlarray (an internal invariant broke); please report it (a ``RuntimeError``).

    No input should produce one. A panic in the Rust core becomes this error, with the panic
    message and its source location, instead of crashing the process.
    """

class DeviceError(RuntimeError):
    """A device cannot be used for the operation (a ``RuntimeError``).

    Raised by ``gpuArray`` without a usable GPU (this build has no GPU backend, or no GPU adapter
    was found: MATLAB's "no supported GPU device"), and when the GPU fails during an operation
    (the device was lost, or a wait for it ran out of time).
    """

# ----- the dlarray class (rust/py/src/array.rs) ------------------------------------------------

# A compiled class with its own instance layout: no class can inherit from it and from
# another such class at once.
@disjoint_base
class dlarray:
    """A deep-learning array: numeric data with optional dimension labels (MATLAB's ``dlarray``).

    ``dlarray(x, fmt=None)``

    Parameters
    ----------
    x : anything ``numpy.asarray`` accepts (an array, a nested list, a scalar), another dlarray, or an
        object with ``__dlpack__``. float32, float64, complex64 and complex128 data keep their dtype;
        integer, bool and float16 data become float32 (MATLAB's ``single``); a list of Python floats is
        float64, as ``numpy.asarray`` makes it. Non-numeric data is a ``DTypeError``.
    fmt : the data format, one label per dim: ``S`` spatial, ``C`` channel, ``B`` batch (observations),
        ``T`` time, ``U`` unspecified; ``C``, ``B`` and ``T`` at most once (lower case is accepted).
        ``"SSCB"`` is a batch of 2-D images, ``"CB"`` a batch of feature vectors, ``"CBT"`` a batch of
        sequences. ``None`` or ``""``: unformatted.

    Given a format, the dims are permuted into MATLAB's canonical order S..., C, B, T, U... (stable for
    repeated S and U), so ``dlarray(x_nhwc, "BSSC")`` has format ``"SSCB"`` and shape ``(H, W, C, N)``.
    A formatted array has exactly ``len(fmt)`` dims: a longer format adds trailing dims of size 1,
    and a shorter one may leave out only trailing dims of size 1 (otherwise ``FormatError``). Given a
    dlarray and a format, its dims are relabelled in their stored order and then permuted; without a
    format, the dlarray is copied with its own format.

    Array semantics are numpy's. The operators ``+ - * / **``, unary ``-`` and ``abs()`` work
    elementwise with numpy broadcasting, with a dlarray, numpy array, list or Python scalar on either
    side, and always give a dlarray (a Python scalar takes the array's dtype). A formatted operand's
    format is kept when the other is unformatted; two formatted operands must have the same format
    (else ``FormatError``). ``@`` is numpy's ``matmul`` and gives an unformatted result. Comparisons
    (``< <= > >= == !=``) give numpy bool arrays, so masks index and combine as in numpy; they are
    never traced. A dlarray is not hashable.

    Indexing ``X[key]`` takes numpy's keys (ints, slices, ``...``, ``None``, integer arrays, boolean
    masks, dlarrays of integer values). The result keeps the format only when it keeps every dim
    through slices and ``...``; otherwise it is unformatted. ``X[key] = v`` broadcasts ``v`` to the
    selection and replaces the data of this object only (storage is copied on write, so other
    dlarrays and numpy arrays taken from ``X`` earlier do not change); it is differentiated. An
    index out of range is a ``DlIndexError``.

    ``numpy.asarray(X)`` is a read-only view of the data without a copy; ``extractdata(X)`` a writable
    copy. ``float``, ``complex``, ``int`` and ``bool`` take one-element arrays; ``len``, ``repr``,
    pickling and ``__dlpack__`` work. Inside ``dlfeval`` the operations on traced arrays are recorded
    for ``dlgradient``.

        >>> import numpy as np
        >>> from dlarray import dlarray
        >>> X = dlarray(np.zeros((8, 28, 28, 3), np.float32), "BSSC")
        >>> X.shape, X.fmt, X.dtype
        ((28, 28, 3, 8), 'SSCB', dtype('float32'))
        >>> (2 * X + 1).fmt, X[:, :, :, :4].fmt, X[0].fmt
        ('SSCB', 'SSCB', '')
        >>> type(X > 0).__name__
        'ndarray'
    """

    __array_priority__: float
    __array_ufunc__: None
    __hash__: None  # type: ignore[assignment]

    def __new__(cls, x: Any, fmt: Optional[str] = None) -> Self: ...
    @property
    def shape(self) -> Tuple[int, ...]:
        """The size of each dim, as a tuple of ints (numpy's ``shape``; MATLAB's ``size``).

        A formatted array has exactly ``len(X.fmt)`` dims, trailing singleton dims included (MATLAB's
        ``size`` would not show them). Unformatted arrays keep numpy's shape, 0-d and 1-d included.
        """
    @property
    def ndim(self) -> int:
        """The number of dims (numpy's ``ndim``; MATLAB's ``ndims``); ``len(X.fmt)`` when formatted."""
    @property
    def size(self) -> int:
        """The number of elements (numpy's ``size``; MATLAB's ``numel``)."""
    @property
    def dtype(self) -> np.dtype[Any]:
        """The element type, as a numpy dtype: float32, float64, complex64 or complex128."""
    @property
    def _signature(self) -> Tuple[Tuple[int, ...], str, str, str]:
        """What selects a cached trace of ``dlaccelerate`` for this array: its shape, format,
        dtype name and device (not its values), in one call."""
    @property
    def fmt(self) -> str:
        """The format string (MATLAB's ``dims(X)``), ``""`` when unformatted.

        The labels are in stored (canonical) order S..., C, B, T, U..., one per dim.
        """
    @property
    def traced(self) -> bool:
        """Whether this array is recorded for automatic differentiation.

        True inside ``dlfeval`` for its traced inputs and every array computed from them; False
        outside it and for the arrays ``dlfeval`` returns.
        """
    @property
    def device(self) -> str:
        """The device holding the data: ``"cpu"`` or ``"gpu"`` (see ``gpuArray``)."""
    @property
    def T(self) -> dlarray:
        """The array with its dims reversed (numpy's ``.T``; MATLAB's ``X.'`` for a matrix).

        The result is unformatted.
        """
    @property
    def real(self) -> dlarray:
        """The real part (MATLAB's ``real``), with the array's format.

        complex64 gives float32 and complex128 float64; real arrays are returned unchanged.
        """
    @property
    def imag(self) -> dlarray:
        """The imaginary part (MATLAB's ``imag``), with the array's format.

        complex64 gives float32 and complex128 float64; real arrays give zeros.
        """
    def __iter__(self) -> Iterator[dlarray]:
        """numpy's iteration over the first dim; a formatted array raises
        ``FormattedIterationError`` (python/dlarray/_iteration.py)."""
    def __len__(self) -> int: ...
    def __repr__(self) -> str: ...
    def __array__(self, dtype: Optional[npt.DTypeLike] = None, copy: Optional[bool] = None) -> np.ndarray:
        """A read-only zero-copy view of the data (a writable copy with ``copy=True``)."""
    def __array_function__(self, func: Any, types: Any, args: Tuple[Any, ...], kwargs: Any) -> Any:
        """numpy's array-function protocol (NEP 18): ``np.sum(X)`` runs dlarray's ``sum``
        (python/dlarray/_numpy_protocol.py)."""
    def __float__(self) -> float: ...
    def __complex__(self) -> builtins.complex: ...
    def __int__(self) -> int: ...
    def __bool__(self) -> bool: ...
    def __reduce__(self) -> Tuple[Any, Tuple[np.ndarray, str]]: ...
    def __dlpack__(self, **kwargs: Any) -> Any:
        """Exported without a copy, marked read-only, to consumers of DLPack 1.0 or later (which
        pass ``max_version``) where numpy can mark it (numpy 2.1 and later); otherwise the
        consumer gets a copy (``copy=False`` then raises ``BufferError``)."""
    def __dlpack_device__(self) -> Tuple[int, int]: ...
    def __add__(self, other: _Operand, /) -> dlarray: ...
    def __radd__(self, other: _Operand, /) -> dlarray: ...
    def __sub__(self, other: _Operand, /) -> dlarray: ...
    def __rsub__(self, other: _Operand, /) -> dlarray: ...
    def __mul__(self, other: _Operand, /) -> dlarray: ...
    def __rmul__(self, other: _Operand, /) -> dlarray: ...
    def __truediv__(self, other: _Operand, /) -> dlarray: ...
    def __rtruediv__(self, other: _Operand, /) -> dlarray: ...
    def __pow__(self, other: _Operand, mod: None = None, /) -> dlarray: ...
    def __rpow__(self, other: _Operand, mod: None = None, /) -> dlarray: ...
    def __matmul__(self, other: _Operand, /) -> dlarray: ...
    def __rmatmul__(self, other: _Operand, /) -> dlarray: ...
    def __neg__(self) -> dlarray: ...
    def __pos__(self) -> dlarray: ...
    def __abs__(self) -> dlarray: ...
    # Comparisons give numpy bool arrays (docs/decisions.md).
    def __lt__(self, other: _Operand, /) -> npt.NDArray[np.bool_]: ...
    def __le__(self, other: _Operand, /) -> npt.NDArray[np.bool_]: ...
    def __gt__(self, other: _Operand, /) -> npt.NDArray[np.bool_]: ...
    def __ge__(self, other: _Operand, /) -> npt.NDArray[np.bool_]: ...
    def __eq__(self, other: _Operand, /) -> npt.NDArray[np.bool_]: ...  # type: ignore[override]
    def __ne__(self, other: _Operand, /) -> npt.NDArray[np.bool_]: ...  # type: ignore[override]
    def __getitem__(self, key: Any, /) -> dlarray: ...
    def __setitem__(self, key: Any, value: _Operand, /) -> None: ...
    def sum(self, axis: _Axis = None, keepdims: bool = False) -> dlarray:
        """Sum of the elements over ``axis`` (numpy's ``sum``; MATLAB's ``sum``).

        Parameters
        ----------
        axis : ``None`` (every element), an int or a sequence of ints (0-based, negative from the end),
            or a string of format letters such as ``"S"`` or ``"SC"`` (every dim with those labels;
            a letter the array lacks is a ``FormatError``).
        keepdims : keep the reduced dims with size 1, and their labels (MATLAB's ``sum(X, dim)`` is
            ``keepdims=True``). Default False, numpy's rule: the reduced dims and their labels are
            dropped, and a result with no labels left is unformatted.

        Returns
        -------
        A dlarray of ``X``'s dtype. The sum of no elements is 0.

            >>> import numpy as np
            >>> from dlarray import dlarray
            >>> X = dlarray(np.ones((4, 4, 3, 2), np.float32), "SSCB")
            >>> Y = X.sum("S")
            >>> Y.shape, Y.fmt
            ((3, 2), 'CB')
            >>> X.sum("S", keepdims=True).shape
            (1, 1, 3, 2)
            >>> float(X.sum())
            96.0
        """
    def mean(self, axis: _Axis = None, keepdims: bool = False) -> dlarray:
        """Mean of the elements over ``axis`` (numpy's ``mean``; MATLAB's ``mean``).

        Parameters
        ----------
        axis : ``None`` (every element), an int or a sequence of ints (0-based, negative from the end),
            or a string of format letters such as ``"S"`` or ``"SC"`` (every dim with those labels;
            a letter the array lacks is a ``FormatError``).
        keepdims : keep the reduced dims with size 1, and their labels (MATLAB's ``mean(X, dim)`` is
            ``keepdims=True``). Default False, numpy's rule: the reduced dims and their labels are
            dropped, and a result with no labels left is unformatted.

        Returns
        -------
        A dlarray of ``X``'s dtype.

            >>> import numpy as np
            >>> from dlarray import dlarray
            >>> X = dlarray(np.arange(6.0).reshape(3, 2), "CB")
            >>> X.mean("C").tolist(), X.mean("C").fmt
            ([2.0, 3.0], 'B')
        """
    def prod(self, axis: _Axis = None, keepdims: bool = False) -> dlarray:
        """Product of the elements over ``axis`` (numpy's ``prod``; MATLAB's ``prod``).

        Parameters
        ----------
        axis : ``None`` (every element), an int or a sequence of ints (0-based, negative from the end),
            or a string of format letters such as ``"S"`` or ``"SC"`` (every dim with those labels;
            a letter the array lacks is a ``FormatError``).
        keepdims : keep the reduced dims with size 1, and their labels (MATLAB's ``prod(X, dim)`` is
            ``keepdims=True``). Default False, numpy's rule: the reduced dims and their labels are
            dropped, and a result with no labels left is unformatted.

        Returns
        -------
        A dlarray of ``X``'s dtype. The product of no elements is 1. Differentiable to any order, also where elements are
        zero.

            >>> from dlarray import dlarray
            >>> float(dlarray([1.0, 2.0, 3.0]).prod())
            6.0
        """
    def max(self, axis: _Axis = None, keepdims: bool = False) -> dlarray:
        """Largest element over ``axis`` (numpy's ``max``; MATLAB's ``max(X, [], dim)``).

        Parameters
        ----------
        axis : ``None`` (every element), an int or a sequence of ints (0-based, negative from the end),
            or a string of format letters such as ``"S"`` or ``"SC"`` (every dim with those labels;
            a letter the array lacks is a ``FormatError``).
        keepdims : keep the reduced dims with size 1, and their labels (MATLAB's ``max(X, dim)`` is
            ``keepdims=True``). Default False, numpy's rule: the reduced dims and their labels are
            dropped, and a result with no labels left is unformatted.

        Returns
        -------
        A dlarray of ``X``'s dtype. Real input only; an empty reduction is a ``ShapeError``. At ties the gradient is split evenly
        between the tied elements. For the elementwise maximum of two arrays use ``maximum``.

            >>> from dlarray import dlarray
            >>> dlarray([[1.0, 5.0], [3.0, 2.0]]).max(0).tolist()
            [3.0, 5.0]
        """
    def min(self, axis: _Axis = None, keepdims: bool = False) -> dlarray:
        """Smallest element over ``axis`` (numpy's ``min``; MATLAB's ``min(X, [], dim)``).

        Parameters
        ----------
        axis : ``None`` (every element), an int or a sequence of ints (0-based, negative from the end),
            or a string of format letters such as ``"S"`` or ``"SC"`` (every dim with those labels;
            a letter the array lacks is a ``FormatError``).
        keepdims : keep the reduced dims with size 1, and their labels (MATLAB's ``min(X, dim)`` is
            ``keepdims=True``). Default False, numpy's rule: the reduced dims and their labels are
            dropped, and a result with no labels left is unformatted.

        Returns
        -------
        A dlarray of ``X``'s dtype. Real input only; an empty reduction is a ``ShapeError``. At ties the gradient is split evenly
        between the tied elements. For the elementwise minimum of two arrays use ``minimum``.

            >>> from dlarray import dlarray
            >>> dlarray([[1.0, 5.0], [3.0, 2.0]]).min(1).tolist()
            [1.0, 2.0]
        """
    def cumsum(self, axis: _Axis = None, reverse: bool = False) -> dlarray:
        """Cumulative sum along one axis (numpy's ``cumsum``; MATLAB's ``cumsum``).

        Parameters
        ----------
        axis : ``None`` (the flattened array, as numpy), an int (0-based, negative from the end), or one
            format letter that names a single dim.
        reverse : sum from the end (MATLAB's ``cumsum(X, dim, "reverse")``); default False.

        Returns
        -------
        A dlarray of ``X``'s shape and format along an axis; with ``axis=None`` an unformatted 1-D array.

            >>> from dlarray import dlarray
            >>> dlarray([1.0, 2.0, 3.0]).cumsum().tolist()
            [1.0, 3.0, 6.0]
            >>> dlarray([1.0, 2.0, 3.0]).cumsum(reverse=True).tolist()
            [6.0, 5.0, 3.0]
        """
    def reshape(self, *shape: Union[SupportsIndex, Sequence[SupportsIndex]], order: str = "C") -> dlarray:
        """The data in a new shape (numpy's ``reshape``; MATLAB's ``reshape`` with ``order="F"``).

        Parameters
        ----------
        shape : the new dims, as separate ints or one sequence; one of them may be -1 (inferred from
            the number of elements).
        order : ``"C"`` (default, row-major as numpy) or ``"F"`` (column-major, MATLAB's element order).

        Returns
        -------
        An unformatted dlarray (its dims have no defined relation to the labels); re-label it with
        ``dlarray(Y, fmt)``. A size that does not fit is a ``ShapeError``.

            >>> from dlarray import dlarray
            >>> X = dlarray([[1.0, 2.0], [3.0, 4.0]])
            >>> X.reshape(4).tolist()
            [1.0, 2.0, 3.0, 4.0]
            >>> X.reshape(-1, order="F").tolist()
            [1.0, 3.0, 2.0, 4.0]
        """
    def transpose(self, *axes: Union[SupportsIndex, Sequence[SupportsIndex]]) -> dlarray:
        """The dims in a new order (numpy's ``transpose``; MATLAB's ``permute``).

        ``axes`` is a permutation of ``range(X.ndim)``, as separate ints or one sequence (negative from
        the end); no axes reverses the dims. The result is unformatted (re-label it with
        ``dlarray(Y, fmt)``; to reorder a formatted array by its labels use ``stripdims(X, fmt)``).

            >>> import numpy as np
            >>> from dlarray import dlarray
            >>> X = dlarray(np.zeros((2, 3, 4)))
            >>> X.transpose(1, 0, 2).shape, X.transpose().shape
            ((3, 2, 4), (4, 3, 2))
        """
    def astype(self, dtype: npt.DTypeLike) -> dlarray:
        """A copy with elements of another dtype (numpy's ``astype``; MATLAB's ``cast``, ``single``, ``double``).

        ``dtype`` is anything ``numpy.dtype`` accepts that names float32, float64, complex64 or
        complex128; any other dtype is a ``DTypeError``. Complex to real keeps the real part. The format
        is kept, and the cast is differentiable.

            >>> import numpy as np
            >>> from dlarray import dlarray
            >>> dlarray(np.ones(2, np.float32), "C").astype(np.float64).dtype
            dtype('float64')
        """
    def copy(self) -> dlarray:
        """A copy of the array with the same data, format and trace.

        Storage is shared until either array is written to (``X[idx] = v``), so the copy is cheap and
        the two never affect each other.
        """
    def conj(self) -> dlarray:
        """The complex conjugate (MATLAB's ``conj``, numpy's ``conj``); the format is kept.

        Real input is returned unchanged.
        """
    def item(self) -> Union[float, builtins.complex]:
        """The value of a one-element array as a Python float, or a Python complex for a complex
        array (numpy's ``item``).

        An array of more than one element is a ``ShapeError``.

            >>> from dlarray import dlarray
            >>> dlarray([[2.5]]).item(), dlarray(1j).item()
            (2.5, 1j)
        """
    def tolist(self) -> Any:
        """The data as nested Python lists of floats or complex numbers (numpy's ``tolist``).

        A 0-d array gives a scalar.

            >>> from dlarray import dlarray
            >>> dlarray([[1.0, 2.0]]).tolist()
            [[1.0, 2.0]]
        """
    # used by dlfeval
    def _traced_leaf(self) -> dlarray: ...
    def to(self, device: str) -> dlarray:
        """The same values on ``device`` (``"cpu"`` or ``"gpu"``), recorded: a gradient goes back
        to this array's device."""
    def _stop_gradient(self) -> dlarray: ...
    def _detach(self) -> dlarray: ...
    def _id(self) -> int: ...

# ----- elementwise functions (rust/py/src/functions.rs) ---------------------------------------

def exp(x: _Operand) -> dlarray:
    """Exponential ``e**x``, elementwise (MATLAB's ``exp``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    Differentiable to any order.

        >>> from dlarray import dlarray, exp
        >>> round(float(exp(dlarray(1.0))), 6)
        2.718282
    """

def log(x: _Operand) -> dlarray:
    """Natural logarithm, elementwise (MATLAB's ``log``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    Real input below 0 gives NaN (as numpy); pass complex input for the complex logarithm.

        >>> import numpy as np
        >>> from dlarray import dlarray, log
        >>> log(dlarray([1.0, np.e])).tolist()
        [0.0, 1.0]
    """

def log1p(x: _Operand) -> dlarray:
    """``log(1 + x)``, elementwise, accurate for small ``x`` (MATLAB's ``log1p``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    Real input below -1 gives NaN.
    """

def sqrt(x: _Operand) -> dlarray:
    """Square root, elementwise (MATLAB's ``sqrt``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    Real input below 0 gives NaN (numpy's rule; MATLAB would return a complex result): pass
    complex input for the complex root.

        >>> from dlarray import dlarray, sqrt
        >>> sqrt(dlarray([4.0, -1.0])).tolist()
        [2.0, nan]
        >>> sqrt(dlarray([-4.0 + 0j])).tolist()
        [2j]
    """

def sin(x: _Operand) -> dlarray:
    """Sine of an angle in radians, elementwise (MATLAB's ``sin``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    """

def cos(x: _Operand) -> dlarray:
    """Cosine of an angle in radians, elementwise (MATLAB's ``cos``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    """

def tan(x: _Operand) -> dlarray:
    """Tangent of an angle in radians, elementwise (MATLAB's ``tan``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    """

def tanh(x: _Operand) -> dlarray:
    """Hyperbolic tangent, elementwise (MATLAB's ``tanh``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    ``dlarray.tanh`` is the deep-learning activation built on this function (same result).
    """

def sinh(x: _Operand) -> dlarray:
    """Hyperbolic sine, elementwise (MATLAB's ``sinh``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    """

def cosh(x: _Operand) -> dlarray:
    """Hyperbolic cosine, elementwise (MATLAB's ``cosh``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    """

def asin(x: _Operand) -> dlarray:
    """Inverse sine in radians, elementwise (MATLAB's ``asin``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    Real input outside [-1, 1] gives NaN; complex input gives the complex result.
    """

def acos(x: _Operand) -> dlarray:
    """Inverse cosine in radians, elementwise (MATLAB's ``acos``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    Real input outside [-1, 1] gives NaN; complex input gives the complex result.
    """

def atan(x: _Operand) -> dlarray:
    """Inverse tangent in radians, elementwise (MATLAB's ``atan``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    """

def sigmoid(x: _Operand) -> dlarray:
    """Logistic function ``1 / (1 + exp(-x))``, elementwise (MATLAB's ``sigmoid``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real only (complex input is a ``DTypeError``). Returns a dlarray of ``x``'s shape, dtype and format.
    ``dlarray.sigmoid`` is the deep-learning activation built on this function.

        >>> from dlarray import dlarray, sigmoid
        >>> float(sigmoid(dlarray(0.0)))
        0.5
    """

def erf(x: _Operand) -> dlarray:
    """Error function, elementwise (MATLAB's ``erf``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real only (complex input is a ``DTypeError``). Returns a dlarray of ``x``'s shape, dtype and format.
    """

def abs(x: _Operand) -> dlarray:
    """Absolute value, elementwise (MATLAB's ``abs``; Python's ``abs(X)`` is the same).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32). Returns a dlarray of ``x``'s shape and format; complex input gives its
    magnitude as the matching real dtype (complex64 to float32). The gradient at 0 is taken as 0.

        >>> from dlarray import dlarray, abs
        >>> abs(dlarray([-2.0, 3 + 4j])).tolist()
        [2.0, 5.0]
    """

def sign(x: _Operand) -> dlarray:
    """Sign of each element: -1, 0 or 1 (MATLAB's ``sign``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real only (complex input is a ``DTypeError``). Returns a dlarray of ``x``'s shape, dtype and format.
    NaN stays NaN. Piecewise constant: its gradient is zero.

        >>> from dlarray import dlarray, sign
        >>> sign(dlarray([-2.0, 0.0, 3.0])).tolist()
        [-1.0, 0.0, 1.0]
    """

def floor(x: _Operand) -> dlarray:
    """Rounds each element down, towards -inf (MATLAB's ``floor``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real only (complex input is a ``DTypeError``). Returns a dlarray of ``x``'s shape, dtype and format.
    Piecewise constant: its gradient is zero.

        >>> from dlarray import dlarray, floor
        >>> floor(dlarray([-1.5, 1.5])).tolist()
        [-2.0, 1.0]
    """

def ceil(x: _Operand) -> dlarray:
    """Rounds each element up, towards +inf (MATLAB's ``ceil``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real only (complex input is a ``DTypeError``). Returns a dlarray of ``x``'s shape, dtype and format.
    Piecewise constant: its gradient is zero.

        >>> from dlarray import dlarray, ceil
        >>> ceil(dlarray([-1.5, 1.5])).tolist()
        [-1.0, 2.0]
    """

def round(x: _Operand) -> dlarray:
    """Rounds each element to the nearest integer, halves to even (numpy's ``round``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real only (complex input is a ``DTypeError``). Returns a dlarray of ``x``'s shape, dtype and format.
    Halves go to the even neighbour as in numpy, where MATLAB's ``round`` rounds them away from
    zero. Piecewise constant: its gradient is zero.

        >>> from dlarray import dlarray, round
        >>> round(dlarray([0.5, 1.5, 2.5, -1.5])).tolist()
        [0.0, 2.0, 2.0, -2.0]
    """

def relu(x: _Operand) -> dlarray:
    """Rectified linear unit ``max(x, 0)``, elementwise (MATLAB's ``relu``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    becomes float32); real only (complex input is a ``DTypeError``). Returns a dlarray of ``x``'s shape, dtype and format.
    NaN stays NaN; the derivative at 0 is taken as 0. ``dlarray.relu`` is the deep-learning
    activation built on this function.

        >>> from dlarray import dlarray, relu
        >>> relu(dlarray([-1.0, 0.0, 2.0])).tolist()
        [0.0, 0.0, 2.0]
    """

def maximum(a: _Operand, b: _Operand) -> dlarray:
    """Elementwise maximum of two arrays (MATLAB's ``max(A, B)``, numpy's ``maximum``).

    ``a`` and ``b`` are dlarrays, numpy arrays, lists or Python scalars, broadcast together as in
    numpy; a Python scalar ``b`` takes ``a``'s dtype, and other dtypes combine as numpy's do. The
    result is a dlarray with the formatted operand's format (two formatted operands must have the
    same format, else ``FormatError``; broadcasting must not add dims to a formatted operand).
    Real input only; NaN propagates. At ties the gradient is split evenly between ``a`` and ``b``.
    For the largest element along an axis use ``X.max(axis)``.

        >>> from dlarray import dlarray, maximum
        >>> maximum(dlarray([1.0, 5.0]), 3.0).tolist()
        [3.0, 5.0]
    """

def minimum(a: _Operand, b: _Operand) -> dlarray:
    """Elementwise minimum of two arrays (MATLAB's ``min(A, B)``, numpy's ``minimum``).

    ``a`` and ``b`` are dlarrays, numpy arrays, lists or Python scalars, broadcast together as in
    numpy; a Python scalar ``b`` takes ``a``'s dtype, and other dtypes combine as numpy's do. The
    result is a dlarray with the formatted operand's format (two formatted operands must have the
    same format, else ``FormatError``; broadcasting must not add dims to a formatted operand).
    Real input only; NaN propagates. At ties the gradient is split evenly between ``a`` and ``b``.
    For the smallest element along an axis use ``X.min(axis)``.

        >>> from dlarray import dlarray, minimum
        >>> minimum(dlarray([1.0, 5.0]), 3.0).tolist()
        [1.0, 3.0]
    """

def atan2(a: _Operand, b: _Operand) -> dlarray:
    """Four-quadrant inverse tangent of ``a / b`` in radians, elementwise (MATLAB's ``atan2(Y, X)``).

    ``a`` is the y coordinate and ``b`` the x coordinate. ``a`` and ``b`` are dlarrays, numpy arrays, lists or Python scalars, broadcast together as in
    numpy; a Python scalar ``b`` takes ``a``'s dtype, and other dtypes combine as numpy's do. The
    result is a dlarray with the formatted operand's format (two formatted operands must have the
    same format, else ``FormatError``; broadcasting must not add dims to a formatted operand).
    Real input only.

        >>> from dlarray import dlarray, atan2
        >>> round(float(atan2(dlarray(1.0), -1.0)), 6)
        2.356194
    """

def power(a: _Operand, b: _Operand) -> dlarray:
    """``a`` raised to the power ``b``, elementwise (MATLAB's ``power``, ``a.^b``; ``a ** b``).

    ``a`` and ``b`` are dlarrays, numpy arrays, lists or Python scalars, broadcast together as in
    numpy; a Python scalar ``b`` takes ``a``'s dtype, and other dtypes combine as numpy's do. The
    result is a dlarray with the formatted operand's format (two formatted operands must have the
    same format, else ``FormatError``; broadcasting must not add dims to a formatted operand).
    A negative real base with a non-integer real exponent gives NaN (pass complex input for the
    complex power). The gradient in ``a`` is taken as 0 where ``b == 0``, and in ``b`` as 0 where ``a == 0``.

        >>> from dlarray import dlarray, power
        >>> power(dlarray([2.0, 3.0]), 2).tolist()
        [4.0, 9.0]
    """

def complex(re: _Operand, im: _Operand) -> dlarray:
    """The complex array ``re + 1j*im`` from two real arrays (MATLAB's ``complex``).

    ``re`` and ``im`` are real dlarrays, numpy arrays, lists or Python scalars, broadcast together;
    complex input is a ``DTypeError``. The result is complex64, or complex128 when either part is
    float64, with the formatted operand's format (as for ``maximum``). The gradient flows to both
    parts.

        >>> from dlarray import dlarray, complex
        >>> complex(dlarray([1.0]), 2.0).tolist()
        [(1+2j)]
    """

def where(cond: Any, a: _Operand, b: _Operand) -> dlarray:
    """Elements of ``a`` where ``cond`` holds, of ``b`` elsewhere (numpy's ``where(cond, a, b)``).

    ``cond`` is a boolean mask (a numpy array, such as ``X > 0``, or a dlarray: nonzero elements
    count as true); ``cond``, ``a`` and ``b`` broadcast together as in numpy, and the dtypes of ``a``
    and ``b`` combine as numpy's do. The result has the format of the formatted operands (which must
    agree, as for ``maximum``). The gradient flows to ``a`` where ``cond`` holds and to ``b`` elsewhere;
    ``cond`` has none. MATLAB writes this with logical indexing.

        >>> import numpy as np
        >>> from dlarray import dlarray, where
        >>> where(np.array([True, False]), dlarray([1.0, 2.0]), 0.0).tolist()
        [1.0, 0.0]
    """

def real(x: _Operand) -> dlarray:
    """Real part of each element (MATLAB's ``real``; ``X.real``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar becomes float32). Returns a real dlarray of ``x``'s shape and format
    (complex64 gives float32, complex128 float64); real input is returned unchanged.

        >>> from dlarray import dlarray, real
        >>> real(dlarray([1 + 2j])).tolist()
        [1.0]
    """

def imag(x: _Operand) -> dlarray:
    """Imaginary part of each element (MATLAB's ``imag``; ``X.imag``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar becomes float32). Returns a real dlarray of ``x``'s shape and format
    (complex64 gives float32, complex128 float64); real input gives zeros.

        >>> from dlarray import dlarray, imag
        >>> imag(dlarray([1 + 2j])).tolist()
        [2.0]
    """

def conj(x: _Operand) -> dlarray:
    """Complex conjugate of each element (MATLAB's ``conj``; ``X.conj()``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar becomes float32). Returns a dlarray of ``x``'s shape, dtype and format.
    Real input is returned unchanged.

        >>> from dlarray import dlarray, conj
        >>> conj(dlarray([1 + 2j])).tolist()
        [(1-2j)]
    """

def angle(x: _Operand) -> dlarray:
    """Phase angle of each element in radians, in [-pi, pi] (MATLAB's ``angle``).

    ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar becomes float32). Returns a real dlarray of ``x``'s shape and format
    (complex64 gives float32, complex128 float64); real input gives 0 or pi.

        >>> from dlarray import dlarray, angle
        >>> round(float(angle(dlarray(1j))), 6)
        1.570796
    """

# ----- format helpers, joins, products ---------------------------------------------------------

def from_dlpack(x: Any, fmt: Optional[str] = None, *, copy: Optional[bool] = None) -> dlarray:
    """A dlarray sharing the memory of ``x``, an object with ``__dlpack__`` or a numpy array
    (numpy's and the array API's ``from_dlpack``).

    Zero-copy where ``x`` is float32, float64, complex64 or complex128 in C order on the CPU
    (``copy=None``, the default): the dlarray reads ``x``'s memory in place and keeps ``x``'s
    owner alive. dlarray never writes it; writing it through ``x`` afterwards changes the
    dlarray too, as with ``numpy.from_dlpack`` and ``torch.from_dlpack``. Other dtypes become
    float32 (complex: complex128) and other layouts are copied, as ``dlarray(x)`` does;
    ``copy=True`` always copies, ``copy=False`` raises ``ValueError`` instead of copying.
    ``dlarray(x)`` always copies. A torch tensor that requires grad is detached first.

        >>> import numpy as np
        >>> from dlarray import from_dlpack
        >>> a = np.arange(6, dtype=np.float32).reshape(2, 3)
        >>> X = from_dlpack(a, "CB")
        >>> np.shares_memory(np.asarray(X), a), X.fmt
        (True, 'CB')
    """

def extractdata(x: Any) -> np.ndarray:
    """The data of ``x`` as a numpy array (MATLAB's ``extractdata``).

    Returns a writable copy of shape ``x.shape`` and ``x``'s dtype, in the stored (canonical) order
    of the dims, untraced and without labels. Other input (a numpy array, a list, a scalar) comes
    back as a dlarray would hold it. ``numpy.asarray(X)`` is the zero-copy, read-only view instead.

        >>> import numpy as np
        >>> from dlarray import dlarray, extractdata
        >>> A = extractdata(dlarray(np.zeros((5, 4), np.float32), "BC"))
        >>> type(A).__name__, A.shape, A.flags.writeable
        ('ndarray', (4, 5), True)
    """

def stripdims(x: _Operand, fmt: Optional[str] = None) -> dlarray:
    """``x`` without its format (MATLAB's ``stripdims``).

    The data keeps its stored (canonical) order. With ``fmt``, a permutation of ``x``'s format
    letters, the dims are first put into the order ``fmt`` names (MATLAB's ``stripdims(X, fmt)``;
    repeated labels keep their relative order); ``fmt`` on an unformatted array, or one that does
    not name exactly ``x``'s labels, is a ``FormatError``. The result is an unformatted dlarray and
    stays traced.

        >>> import numpy as np
        >>> from dlarray import dlarray, stripdims
        >>> X = dlarray(np.zeros((8, 28, 28, 3), np.float32), "BSSC")
        >>> stripdims(X).shape, stripdims(X).fmt
        ((28, 28, 3, 8), '')
        >>> stripdims(X, "BSSC").shape
        (8, 28, 28, 3)
    """

def dims(x: Any) -> str:
    """The format string of ``x`` (MATLAB's ``dims``; ``X.fmt``).

    Returns the labels in stored (canonical) order, such as ``"SSCB"``, or ``""`` for an unformatted
    dlarray and for anything that is not a dlarray.

        >>> import numpy as np
        >>> from dlarray import dlarray, dims
        >>> dims(dlarray(np.zeros((8, 28, 28, 3)), "BSSC"))
        'SSCB'
    """

def finddim(x: _Operand, label: str) -> list[int]:
    """0-based positions of the dims labelled ``label`` (MATLAB's ``finddim``, which is 1-based).

    ``label`` is a string of one or more format letters; the positions of each letter's dims are
    listed in the order of the letters. A label the array lacks, or an unformatted array, gives
    ``[]``; a letter that is not S, C, B, T or U is a ``FormatError``.

        >>> import numpy as np
        >>> from dlarray import dlarray, finddim
        >>> X = dlarray(np.zeros((28, 28, 3, 8)), "SSCB")
        >>> finddim(X, "S"), finddim(X, "B"), finddim(X, "T")
        ([0, 1], [3], [])
    """

def isdlarray(x: Any) -> bool:
    """Whether ``x`` is a dlarray (MATLAB's ``isdlarray``).

    >>> import numpy as np
    >>> from dlarray import dlarray, isdlarray
    >>> isdlarray(dlarray([1.0])), isdlarray(np.ones(1))
    (True, False)
    """

def concatenate(arrays: Iterable[_Operand], axis: _Axis) -> dlarray:
    """Joins arrays along an existing axis (numpy's ``concatenate``, MATLAB's ``cat``).

    Parameters
    ----------
    arrays : dlarrays, numpy arrays or lists, of one shape except along ``axis``; dtypes combine as
        numpy's do.
    axis : a 0-based int (negative from the end) or one format letter naming a single dim (``"C"``);
        ``None`` joins the flattened data (numpy's rule). ``dlarray.concatenate`` defaults to 0.

    Returns
    -------
    A dlarray. Along an axis, the arrays' formats must agree (all unformatted, or all the same
    format, else ``FormatError``) and the result keeps it; with ``axis=None`` it is unformatted.

        >>> import numpy as np
        >>> from dlarray import dlarray, concatenate
        >>> X = dlarray(np.zeros((28, 28, 3, 8)), "SSCB")
        >>> Y = concatenate([X, X], "C")
        >>> Y.shape, Y.fmt
        ((28, 28, 6, 8), 'SSCB')
    """

def stack(arrays: Iterable[_Operand], axis: int = 0) -> dlarray:
    """Stacks arrays of one shape along a new axis (numpy's ``stack``).

    Parameters
    ----------
    arrays : dlarrays, numpy arrays or lists, all of the same shape; dtypes combine as numpy's do.
    axis : position of the new axis in the result, a 0-based int (negative from the end; default 0).

    Returns
    -------
    An unformatted dlarray with one more dim than the inputs (MATLAB's ``cat(ndims + 1, ...)`` is
    ``axis=-1``); label it with ``dlarray(Y, fmt)``.

        >>> from dlarray import dlarray, stack
        >>> stack([dlarray([1.0, 2.0]), dlarray([3.0, 4.0])], axis=-1).tolist()
        [[1.0, 3.0], [2.0, 4.0]]
    """

def repmat(x: _Operand, *reps: Union[int, Sequence[int]]) -> dlarray:
    """Tiles ``x`` ``reps[i]`` times along each axis (MATLAB's ``repmat``, with numpy's ``tile`` rules).

    Parameters
    ----------
    x : a dlarray or anything ``dlarray(x)`` accepts.
    reps : non-negative repetition counts, as separate ints or one sequence. As in numpy's ``tile``,
        fewer counts than dims apply to the last dims, and more counts than dims add leading dims
        of size 1 first. MATLAB's ``repmat(X, n)`` (n copies along the first two dims) is
        ``repmat(X, n, n, 1, ..., 1)`` here, with one count per dim.

    Returns
    -------
    A dlarray with ``x``'s format when the number of dims is unchanged, else unformatted.

        >>> from dlarray import dlarray, repmat
        >>> repmat(dlarray([1.0, 2.0]), 2).tolist()
        [1.0, 2.0, 1.0, 2.0]
        >>> repmat(dlarray([1.0, 2.0]), 2, 1).tolist()
        [[1.0, 2.0], [1.0, 2.0]]
    """

def flip(x: _Operand, axis: _Axis = None) -> dlarray:
    """Reverses the order of elements along ``axis`` (MATLAB's ``flip``, numpy's ``flip``).

    ``axis`` is ``None`` (every axis, as numpy; MATLAB's default is the first non-singleton dim), an
    int or a sequence of ints (0-based, negative from the end), or a string of format letters (every
    dim with those labels). Returns a dlarray of ``x``'s shape, dtype and format.

        >>> from dlarray import dlarray, flip
        >>> flip(dlarray([[1.0, 2.0], [3.0, 4.0]]), 1).tolist()
        [[2.0, 1.0], [4.0, 3.0]]
    """

def squeeze(x: _Operand, axis: _Axis = None) -> dlarray:
    """Removes dims of size 1 (numpy's ``squeeze``; MATLAB's ``squeeze``).

    ``axis`` is ``None`` (every size-1 dim), an int or a sequence of ints (0-based), or a string of
    format letters; naming a dim whose size is not 1 is a ``ShapeError``. The labels of removed dims
    are dropped; a result with no labels left is unformatted.

        >>> import numpy as np
        >>> from dlarray import dlarray, squeeze
        >>> X = dlarray(np.zeros((1, 3, 1, 5)), "SSCB")
        >>> squeeze(X).shape, squeeze(X).fmt, squeeze(X, "C").fmt
        ((3, 5), 'SB', 'SSB')
    """

def matmul(a: _Operand, b: _Operand) -> dlarray:
    """Matrix product with numpy's rules (numpy's ``matmul``, the ``@`` operator; MATLAB's ``mtimes``).

    2-D operands multiply as matrices; a 1-D operand is a vector (its dim is removed from the result);
    operands with more dims are stacks of matrices in the last two dims, the leading dims
    broadcasting. ``b`` may be a numpy array or a list. The result is unformatted (its dims have no
    defined relation to the labels); re-label it with ``dlarray(Y, fmt)``.

        >>> import numpy as np
        >>> from dlarray import dlarray, matmul
        >>> matmul(dlarray(np.ones((7, 2, 3))), np.ones((3, 4))).shape
        (7, 2, 4)
    """

def pagemtimes(a: _Operand, b: _Operand, transp_a: str = "none", transp_b: str = "none") -> dlarray:
    """Page-wise matrix products (MATLAB's ``pagemtimes``, in numpy's row-major layout).

    Parameters
    ----------
    a, b : the last two dims are the matrices and the leading dims are pages, broadcast as in
        numpy (MATLAB keeps the matrices in the first two dims and the pages after them).
    transp_a, transp_b : ``"none"`` (default), ``"transpose"`` or ``"ctranspose"`` (conjugate
        transpose), applied to each page of ``a`` or ``b``; keywords here, where MATLAB passes them
        positionally after each operand.

    Returns
    -------
    An unformatted dlarray.

        >>> import numpy as np
        >>> from dlarray import dlarray, pagemtimes
        >>> P = dlarray(np.ones((5, 2, 3)))
        >>> pagemtimes(P, np.ones((5, 2, 4)), transp_a="transpose").shape
        (5, 3, 4)
    """

# ----- tracing (rust/py/src/autodiff.rs) --------------------------------------------------------

def _gpu_available() -> bool: ...
def _gpu_info() -> dict[str, str]: ...
def _gpu_stats() -> dict[str, int]: ...
def _trace_enter() -> int: ...
def _trace_exit(token: int) -> None: ...
def _in_dlfeval() -> bool: ...
def _gradient(
    y: dlarray, xs: Sequence[dlarray], retain_data: bool = False, enable_higher_derivatives: bool = False, for_replay: bool = False
) -> list[dlarray]: ...
def _trace_listing(y: dlarray) -> str: ...
def _replay(outputs: Sequence[dlarray], inputs: Sequence[dlarray], new_inputs: Sequence[dlarray]) -> list[dlarray]: ...

@final
class _Plan:
    def __new__(cls, outputs: Sequence[dlarray], inputs: Sequence[dlarray]) -> Self: ...
    def run(self, new_inputs: Sequence[dlarray]) -> list[dlarray]: ...
    def __len__(self) -> int: ...
    @property
    def _passes(self) -> Tuple[int, int]: ...

# ----- convolution, pooling and fullyconnect on formatted arrays (rust/py/src/nn_conv.rs) -------
# padding: "same", a list of sizes, or a (before, after) pair of lists (dlarray.nn._options).

_Padding = Union[str, Sequence[int], Tuple[Sequence[int], Sequence[int]]]

def _dlconv(
    x: dlarray,
    weights: dlarray,
    bias: Optional[dlarray],
    data_format: Optional[str],
    stride: Sequence[int],
    dilation: Sequence[int],
    padding: _Padding,
    padding_value: float,
) -> dlarray: ...
def _dltranspconv(
    x: dlarray,
    weights: dlarray,
    bias: Optional[dlarray],
    data_format: Optional[str],
    stride: Sequence[int],
    dilation: Sequence[int],
    cropping: _Padding,
) -> dlarray: ...
def _fullyconnect(x: dlarray, weights: dlarray, bias: Optional[dlarray], data_format: Optional[str]) -> dlarray: ...
def _maxpool(
    x: dlarray,
    pool_size: Optional[Sequence[int]],
    stride: Sequence[int],
    padding: _Padding,
    data_format: Optional[str],
    with_indices: bool,
) -> Tuple[dlarray, Optional[npt.NDArray[np.int64]]]: ...
def _maxunpool(y: dlarray, idx: npt.NDArray[np.uintp], shape: Sequence[int]) -> dlarray: ...
def _avgpool(
    x: dlarray,
    pool_size: Optional[Sequence[int]],
    stride: Sequence[int],
    padding: _Padding,
    data_format: Optional[str],
    padding_counts: bool,
) -> dlarray: ...

# ----- the layout rules of the ops composed in Python (rust/py/src/nn_layout.rs) ---------------

def _op_layout(x: dlarray, data_format: Optional[str], op: str) -> Tuple[str, bool, dlarray]: ...
def _format_option(value: str, op: str, name: str) -> str: ...
def _leakyrelu(x: dlarray, scale: float) -> dlarray: ...
def _standardize(x: dlarray, axes: Sequence[int], epsilon: float) -> dlarray: ...
def _softmax(x: dlarray, axis: int) -> dlarray: ...
def _softmax_log(y: dlarray, axis: int) -> Optional[dlarray]: ...
def _compare(x: _Operand, other: _Operand, op: str) -> dlarray: ...

# ----- fused deep-learning kernels (rust/py/src/nn_norm.rs, nn_activation.rs, nn_recurrent.rs) ----

def _batchnorm_train(x: dlarray, offset: dlarray, scale: dlarray, c_axis: int, epsilon: float) -> Tuple[dlarray, dlarray, dlarray]:
    """``(Y, mean, var)`` with batch statistics over every axis but ``c_axis``."""

def _lstm(
    x: dlarray,
    h0: dlarray,
    c0: dlarray,
    w: dlarray,
    r: dlarray,
    b: dlarray,
    state_activation: str,
    gate_activation: str,
) -> Tuple[dlarray, dlarray, dlarray]: ...
def _gru(
    x: dlarray,
    h0: dlarray,
    w: dlarray,
    r: dlarray,
    b: dlarray,
    reset_gate_mode: str,
    state_activation: str,
    gate_activation: str,
) -> Tuple[dlarray, dlarray]: ...

# ----- fused optimizer steps (rust/py/src/optim.rs) ----------------------------------------------

_State = Optional[Sequence[Optional[dlarray]]]

def _adam_step(
    op: str,
    params: Sequence[dlarray],
    grads: Sequence[dlarray],
    avg_grad: _State,
    avg_sq_grad: _State,
    lrs: Sequence[float],
    grad_decay: float,
    sq_grad_decay: float,
    epsilon: float,
    iteration: float,
) -> Tuple[list[dlarray], list[list[dlarray]]]: ...
def _rmsprop_step(
    op: str,
    params: Sequence[dlarray],
    grads: Sequence[dlarray],
    avg_sq_grad: _State,
    lrs: Sequence[float],
    sq_grad_decay: float,
    epsilon: float,
) -> Tuple[list[dlarray], list[list[dlarray]]]: ...
def _sgdm_step(
    op: str,
    params: Sequence[dlarray],
    grads: Sequence[dlarray],
    vel: _State,
    lrs: Sequence[float],
    momentum: float,
) -> Tuple[list[dlarray], list[list[dlarray]]]: ...
def _optim_pool_stats() -> Tuple[int, int, int, int, int]: ...
def _optim_pool_clear() -> None: ...
