//! Module-level array functions: elementwise math, format helpers, joins and products.

use dlarray_core::ops::UnaryOp;
use dlarray_core::{DlArray, Error, Tensor};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::arguments::{flag, format_text, integer, integers_from_args, label_text, text, Passed};
use crate::array::{as_dl, operand, run, PyDlarray};
use crate::convert::{tensor_sharing, tensor_to_numpy};
use crate::errors::{guard, to_py, IntoPy};

macro_rules! unary_functions {
    ($($(#[$doc:meta])* $name:ident => $op:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            #[pyfunction]
            pub fn $name(py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
                let a = as_dl(stringify!($name), "x", x)?;
                let t = run(py, a.tensor.numel(), || a.tensor.unary(UnaryOp::$op))?;
                Ok(PyDlarray::with(t, a.format))
            }
        )*
        fn register_unary(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $(m.add_function(wrap_pyfunction!($name, m)?)?;)*
            Ok(())
        }
    };
}

unary_functions!(
    /// Exponential ``e**x``, elementwise (MATLAB's ``exp``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    /// Differentiable to any order.
    ///
    ///     >>> from dlarray import dlarray, exp
    ///     >>> round(float(exp(dlarray(1.0))), 6)
    ///     2.718282
    exp => Exp,
    /// Natural logarithm, elementwise (MATLAB's ``log``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    /// Real input below 0 gives NaN (as numpy); pass complex input for the complex logarithm.
    ///
    ///     >>> import numpy as np
    ///     >>> from dlarray import dlarray, log
    ///     >>> log(dlarray([1.0, np.e])).tolist()
    ///     [0.0, 1.0]
    log => Log,
    /// ``log(1 + x)``, elementwise, accurate for small ``x`` (MATLAB's ``log1p``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    /// Real input below -1 gives NaN.
    log1p => Log1p,
    /// Square root, elementwise (MATLAB's ``sqrt``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    /// Real input below 0 gives NaN (numpy's rule; MATLAB would return a complex result): pass
    /// complex input for the complex root.
    ///
    ///     >>> from dlarray import dlarray, sqrt
    ///     >>> sqrt(dlarray([4.0, -1.0])).tolist()
    ///     [2.0, nan]
    ///     >>> sqrt(dlarray([-4.0 + 0j])).tolist()
    ///     [2j]
    sqrt => Sqrt,
    /// Sine of an angle in radians, elementwise (MATLAB's ``sin``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    sin => Sin,
    /// Cosine of an angle in radians, elementwise (MATLAB's ``cos``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    cos => Cos,
    /// Tangent of an angle in radians, elementwise (MATLAB's ``tan``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    tan => Tan,
    /// Hyperbolic tangent, elementwise (MATLAB's ``tanh``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    /// ``dlarray.tanh`` is the deep-learning activation built on this function (same result).
    tanh => Tanh,
    /// Hyperbolic sine, elementwise (MATLAB's ``sinh``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    sinh => Sinh,
    /// Hyperbolic cosine, elementwise (MATLAB's ``cosh``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    cosh => Cosh,
    /// Inverse sine in radians, elementwise (MATLAB's ``asin``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    /// Real input outside [-1, 1] gives NaN; complex input gives the complex result.
    asin => Asin,
    /// Inverse cosine in radians, elementwise (MATLAB's ``acos``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    /// Real input outside [-1, 1] gives NaN; complex input gives the complex result.
    acos => Acos,
    /// Inverse tangent in radians, elementwise (MATLAB's ``atan``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real or complex. Returns a dlarray of ``x``'s shape, dtype and format.
    atan => Atan,
    /// Logistic function ``1 / (1 + exp(-x))``, elementwise (MATLAB's ``sigmoid``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real only (complex input is a ``DTypeError``). Returns a dlarray of ``x``'s shape, dtype and format.
    /// ``dlarray.sigmoid`` is the deep-learning activation built on this function.
    ///
    ///     >>> from dlarray import dlarray, sigmoid
    ///     >>> float(sigmoid(dlarray(0.0)))
    ///     0.5
    sigmoid => Sigmoid,
    /// Error function, elementwise (MATLAB's ``erf``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real only (complex input is a ``DTypeError``). Returns a dlarray of ``x``'s shape, dtype and format.
    erf => Erf,
    /// Absolute value, elementwise (MATLAB's ``abs``; Python's ``abs(X)`` is the same).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32). Returns a dlarray of ``x``'s shape and format; complex input gives its
    /// magnitude as the matching real dtype (complex64 to float32). The gradient at 0 is taken as 0.
    ///
    ///     >>> from dlarray import dlarray, abs
    ///     >>> abs(dlarray([-2.0, 3 + 4j])).tolist()
    ///     [2.0, 5.0]
    abs => Abs,
    /// Sign of each element: -1, 0 or 1 (MATLAB's ``sign``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real only (complex input is a ``DTypeError``). Returns a dlarray of ``x``'s shape, dtype and format.
    /// NaN stays NaN. Piecewise constant: its gradient is zero.
    ///
    ///     >>> from dlarray import dlarray, sign
    ///     >>> sign(dlarray([-2.0, 0.0, 3.0])).tolist()
    ///     [-1.0, 0.0, 1.0]
    sign => Sign,
    /// Rounds each element down, towards -inf (MATLAB's ``floor``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real only (complex input is a ``DTypeError``). Returns a dlarray of ``x``'s shape, dtype and format.
    /// Piecewise constant: its gradient is zero.
    ///
    ///     >>> from dlarray import dlarray, floor
    ///     >>> floor(dlarray([-1.5, 1.5])).tolist()
    ///     [-2.0, 1.0]
    floor => Floor,
    /// Rounds each element up, towards +inf (MATLAB's ``ceil``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real only (complex input is a ``DTypeError``). Returns a dlarray of ``x``'s shape, dtype and format.
    /// Piecewise constant: its gradient is zero.
    ///
    ///     >>> from dlarray import dlarray, ceil
    ///     >>> ceil(dlarray([-1.5, 1.5])).tolist()
    ///     [-1.0, 2.0]
    ceil => Ceil,
    /// Rounds each element to the nearest integer, halves to even (numpy's ``round``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real only (complex input is a ``DTypeError``). Returns a dlarray of ``x``'s shape, dtype and format.
    /// Halves go to the even neighbour as in numpy, where MATLAB's ``round`` rounds them away from
    /// zero. Piecewise constant: its gradient is zero.
    ///
    ///     >>> from dlarray import dlarray, round
    ///     >>> round(dlarray([0.5, 1.5, 2.5, -1.5])).tolist()
    ///     [0.0, 2.0, 2.0, -2.0]
    round => Round,
    /// Rectified linear unit ``max(x, 0)``, elementwise (MATLAB's ``relu``).
    ///
    /// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar
    /// becomes float32); real only (complex input is a ``DTypeError``). Returns a dlarray of ``x``'s shape, dtype and format.
    /// NaN stays NaN; the derivative at 0 is taken as 0. ``dlarray.relu`` is the deep-learning
    /// activation built on this function.
    ///
    ///     >>> from dlarray import dlarray, relu
    ///     >>> relu(dlarray([-1.0, 0.0, 2.0])).tolist()
    ///     [0.0, 0.0, 2.0]
    relu => Relu,
);

fn binary_fn(
    py: Python<'_>,
    name: &str,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    f: impl FnOnce(&Tensor, &Tensor) -> dlarray_core::Result<Tensor> + Send,
) -> PyResult<PyDlarray> {
    let x = as_dl(name, "a", a)?;
    let (y, fy) = operand(name, "b", b, x.tensor.dtype())?;
    let t = run(py, x.tensor.numel().max(y.numel()), || f(&x.tensor, &y))?;
    let fmt = DlArray::elementwise_format(name, x.format.as_ref(), fy.as_ref(), t.ndim()).py()?;
    Ok(PyDlarray::with(t, fmt))
}

/// Elementwise maximum of two arrays (MATLAB's ``max(A, B)``, numpy's ``maximum``).
///
/// ``a`` and ``b`` are dlarrays, numpy arrays, lists or Python scalars, broadcast together as in
/// numpy; a Python scalar ``b`` takes ``a``'s dtype, and other dtypes combine as numpy's do. The
/// result is a dlarray with the formatted operand's format (two formatted operands must have the
/// same format, else ``FormatError``; broadcasting must not add dims to a formatted operand).
/// Real input only; NaN propagates. At ties the gradient is split evenly between ``a`` and ``b``.
/// For the largest element along an axis use ``X.max(axis)``.
///
///     >>> from dlarray import dlarray, maximum
///     >>> maximum(dlarray([1.0, 5.0]), 3.0).tolist()
///     [3.0, 5.0]
#[pyfunction]
fn maximum(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("maximum", || binary_fn(py, "maximum", a, b, |x, y| x.maximum(y)))
}
/// Elementwise minimum of two arrays (MATLAB's ``min(A, B)``, numpy's ``minimum``).
///
/// ``a`` and ``b`` are dlarrays, numpy arrays, lists or Python scalars, broadcast together as in
/// numpy; a Python scalar ``b`` takes ``a``'s dtype, and other dtypes combine as numpy's do. The
/// result is a dlarray with the formatted operand's format (two formatted operands must have the
/// same format, else ``FormatError``; broadcasting must not add dims to a formatted operand).
/// Real input only; NaN propagates. At ties the gradient is split evenly between ``a`` and ``b``.
/// For the smallest element along an axis use ``X.min(axis)``.
///
///     >>> from dlarray import dlarray, minimum
///     >>> minimum(dlarray([1.0, 5.0]), 3.0).tolist()
///     [1.0, 3.0]
#[pyfunction]
fn minimum(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("minimum", || binary_fn(py, "minimum", a, b, |x, y| x.minimum(y)))
}
/// Four-quadrant inverse tangent of ``a / b`` in radians, elementwise (MATLAB's ``atan2(Y, X)``).
///
/// ``a`` is the y coordinate and ``b`` the x coordinate. ``a`` and ``b`` are dlarrays, numpy arrays, lists or Python scalars, broadcast together as in
/// numpy; a Python scalar ``b`` takes ``a``'s dtype, and other dtypes combine as numpy's do. The
/// result is a dlarray with the formatted operand's format (two formatted operands must have the
/// same format, else ``FormatError``; broadcasting must not add dims to a formatted operand).
/// Real input only.
///
///     >>> from dlarray import dlarray, atan2
///     >>> round(float(atan2(dlarray(1.0), -1.0)), 6)
///     2.356194
#[pyfunction]
fn atan2(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("atan2", || binary_fn(py, "atan2", a, b, |x, y| x.atan2(y)))
}
/// ``a`` raised to the power ``b``, elementwise (MATLAB's ``power``, ``a.^b``; ``a ** b``).
///
/// ``a`` and ``b`` are dlarrays, numpy arrays, lists or Python scalars, broadcast together as in
/// numpy; a Python scalar ``b`` takes ``a``'s dtype, and other dtypes combine as numpy's do. The
/// result is a dlarray with the formatted operand's format (two formatted operands must have the
/// same format, else ``FormatError``; broadcasting must not add dims to a formatted operand).
/// A negative real base with a non-integer real exponent gives NaN (pass complex input for the
/// complex power). The gradient in ``a`` is taken as 0 where ``b == 0``, and in ``b`` as 0 where ``a == 0``.
///
///     >>> from dlarray import dlarray, power
///     >>> power(dlarray([2.0, 3.0]), 2).tolist()
///     [4.0, 9.0]
#[pyfunction]
fn power(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("power", || binary_fn(py, "power", a, b, |x, y| x.pow(y)))
}
/// The complex array ``re + 1j*im`` from two real arrays (MATLAB's ``complex``).
///
/// ``re`` and ``im`` are real dlarrays, numpy arrays, lists or Python scalars, broadcast together;
/// complex input is a ``DTypeError``. The result is complex64, or complex128 when either part is
/// float64, with the formatted operand's format (as for ``maximum``). The gradient flows to both
/// parts.
///
///     >>> from dlarray import dlarray, complex
///     >>> complex(dlarray([1.0]), 2.0).tolist()
///     [(1+2j)]
#[pyfunction]
fn complex(py: Python<'_>, re: &Bound<'_, PyAny>, im: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("complex", || binary_fn(py, "complex", re, im, Tensor::complex))
}

/// Elements of ``a`` where ``cond`` holds, of ``b`` elsewhere (numpy's ``where(cond, a, b)``).
///
/// ``cond`` is a boolean mask (a numpy array, such as ``X > 0``, or a dlarray: nonzero elements
/// count as true); ``cond``, ``a`` and ``b`` broadcast together as in numpy, and the dtypes of ``a``
/// and ``b`` combine as numpy's do. The result has the format of the formatted operands (which must
/// agree, as for ``maximum``). The gradient flows to ``a`` where ``cond`` holds and to ``b`` elsewhere;
/// ``cond`` has none. MATLAB writes this with logical indexing.
///
///     >>> import numpy as np
///     >>> from dlarray import dlarray, where
///     >>> where(np.array([True, False]), dlarray([1.0, 2.0]), 0.0).tolist()
///     [1.0, 0.0]
#[pyfunction]
#[pyo3(name = "where")]
fn where_(py: Python<'_>, cond: &Bound<'_, PyAny>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("where", || {
        let (c, fc) = operand("where", "cond", cond, dlarray_core::DType::F32)?;
        let x = as_dl("where", "a", a)?;
        let (y, fy) = operand("where", "b", b, x.tensor.dtype())?;
        let t = run(py, c.numel().max(x.tensor.numel()).max(y.numel()), || Tensor::where_(&c, &x.tensor, &y))?;
        let f1 = DlArray::elementwise_format("where", x.format.as_ref(), fy.as_ref(), t.ndim()).py()?;
        let fmt = DlArray::elementwise_format("where", f1.as_ref(), fc.as_ref(), t.ndim()).py()?;
        Ok(PyDlarray::with(t, fmt))
    })
}

/// ``x op other`` (``op`` one of ``"eq" "ne" "lt" "le" "gt" "ge"``) as a dlarray of 1 and 0
/// in the operands' dtype, on their device, with no gradient: the masks that composite ops
/// select with. The operators give numpy booleans instead (numpy's semantics), which would
/// read a GPU array back.
#[pyfunction]
fn _compare(py: Python<'_>, x: &Bound<'_, PyAny>, other: &Bound<'_, PyAny>, op: &str) -> PyResult<PyDlarray> {
    use dlarray_core::ops::CompareOp as C;
    guard("compare", || {
        let op = match op {
            "eq" => C::Eq,
            "ne" => C::Ne,
            "lt" => C::Lt,
            "le" => C::Le,
            "gt" => C::Gt,
            "ge" => C::Ge,
            o => return Err(to_py(Error::value("compare", format!("op must be eq, ne, lt, le, gt or ge, got '{o}'")))),
        };
        let a = as_dl("compare", "x", x)?;
        let (b, fb) = operand("compare", "other", other, a.tensor.dtype())?;
        let t = run(py, a.tensor.numel().max(b.numel()), || a.tensor.compare(op, &b))?;
        let fmt = DlArray::elementwise_format("compare", a.format.as_ref(), fb.as_ref(), t.ndim()).py()?;
        Ok(PyDlarray::with(t, fmt))
    })
}

/// Real part of each element (MATLAB's ``real``; ``X.real``).
///
/// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar becomes float32). Returns a real dlarray of ``x``'s shape and format
/// (complex64 gives float32, complex128 float64); real input is returned unchanged.
///
///     >>> from dlarray import dlarray, real
///     >>> real(dlarray([1 + 2j])).tolist()
///     [1.0]
#[pyfunction]
fn real(x: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("real", || {
        let a = as_dl("real", "x", x)?;
        Ok(PyDlarray::with(a.tensor.real().py()?, a.format))
    })
}
/// Imaginary part of each element (MATLAB's ``imag``; ``X.imag``).
///
/// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar becomes float32). Returns a real dlarray of ``x``'s shape and format
/// (complex64 gives float32, complex128 float64); real input gives zeros.
///
///     >>> from dlarray import dlarray, imag
///     >>> imag(dlarray([1 + 2j])).tolist()
///     [2.0]
#[pyfunction]
fn imag(x: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("imag", || {
        let a = as_dl("imag", "x", x)?;
        Ok(PyDlarray::with(a.tensor.imag().py()?, a.format))
    })
}
/// Complex conjugate of each element (MATLAB's ``conj``; ``X.conj()``).
///
/// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar becomes float32). Returns a dlarray of ``x``'s shape, dtype and format.
/// Real input is returned unchanged.
///
///     >>> from dlarray import dlarray, conj
///     >>> conj(dlarray([1 + 2j])).tolist()
///     [(1-2j)]
#[pyfunction]
fn conj(x: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("conj", || {
        let a = as_dl("conj", "x", x)?;
        Ok(PyDlarray::with(a.tensor.conj().py()?, a.format))
    })
}
/// Phase angle of each element in radians, in [-pi, pi] (MATLAB's ``angle``).
///
/// ``x`` is a dlarray or anything ``dlarray(x)`` accepts (a numpy array, a list; a Python scalar becomes float32). Returns a real dlarray of ``x``'s shape and format
/// (complex64 gives float32, complex128 float64); real input gives 0 or pi.
///
///     >>> from dlarray import dlarray, angle
///     >>> round(float(angle(dlarray(1j))), 6)
///     1.570796
#[pyfunction]
fn angle(x: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("angle", || {
        let a = as_dl("angle", "x", x)?;
        Ok(PyDlarray::with(a.tensor.angle().py()?, a.format))
    })
}

/// The data of ``x`` as a numpy array (MATLAB's ``extractdata``).
///
/// Returns a writable copy of shape ``x.shape`` and ``x``'s dtype, in the stored (canonical) order
/// of the dims, untraced and without labels. Other input (a numpy array, a list, a scalar) comes
/// back as a dlarray would hold it. ``numpy.asarray(X)`` is the zero-copy, read-only view instead.
///
///     >>> import numpy as np
///     >>> from dlarray import dlarray, extractdata
///     >>> A = extractdata(dlarray(np.zeros((5, 4), np.float32), "BC"))
///     >>> type(A).__name__, A.shape, A.flags.writeable
///     ('ndarray', (4, 5), True)
#[pyfunction]
fn extractdata<'py>(py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    guard("extractdata", || {
        match x.cast::<PyDlarray>() {
            Ok(d) => tensor_to_numpy(py, d.borrow().tensor()),
            // Other data as a dlarray would hold it, so that what cannot become one is told so.
            Err(_) => tensor_to_numpy(py, &as_dl("extractdata", "x", x)?.tensor),
        }
    })
}

/// A dlarray sharing the memory of ``x``, an object with ``__dlpack__`` or a numpy array
/// (numpy's and the array API's ``from_dlpack``).
///
/// Zero-copy where ``x`` is float32, float64, complex64 or complex128 in C order on the CPU
/// (``copy=None``, the default): the dlarray reads ``x``'s memory in place and keeps ``x``'s
/// owner alive. dlarray never writes it; writing it through ``x`` afterwards changes the
/// dlarray too, as with ``numpy.from_dlpack`` and ``torch.from_dlpack``. Other dtypes become
/// float32 (complex: complex128) and other layouts are copied, as ``dlarray(x)`` does;
/// ``copy=True`` always copies, ``copy=False`` raises ``ValueError`` instead of copying.
/// ``dlarray(x)`` always copies. A torch tensor that requires grad is detached first.
///
///     >>> import numpy as np
///     >>> from dlarray import from_dlpack
///     >>> a = np.arange(6, dtype=np.float32).reshape(2, 3)
///     >>> X = from_dlpack(a, "CB")
///     >>> np.shares_memory(np.asarray(X), a), X.fmt
///     (True, 'CB')
#[pyfunction]
#[pyo3(signature = (x, fmt = None, *, copy = Passed::ABSENT), text_signature = "(x, fmt=None, *, copy=None)")]
fn from_dlpack(x: &Bound<'_, PyAny>, fmt: Option<&Bound<'_, PyAny>>, copy: Passed<'_>) -> PyResult<PyDlarray> {
    guard("from_dlpack", || {
        let fmt = format_text("from_dlpack", "fmt", fmt)?;
        // None (share where possible), True or False, as the array API's `copy`.
        let copy = match copy.get() {
            Some(c) if !c.is_none() => Some(flag("from_dlpack", "copy", &copy, false)?),
            _ => None,
        };
        PyDlarray::labelled(tensor_sharing("from_dlpack", "x", x, copy)?, fmt.as_deref())
    })
}

/// ``x`` without its format (MATLAB's ``stripdims``).
///
/// The data keeps its stored (canonical) order. With ``fmt``, a permutation of ``x``'s format
/// letters, the dims are first put into the order ``fmt`` names (MATLAB's ``stripdims(X, fmt)``;
/// repeated labels keep their relative order); ``fmt`` on an unformatted array, or one that does
/// not name exactly ``x``'s labels, is a ``FormatError``. The result is an unformatted dlarray and
/// stays traced.
///
///     >>> import numpy as np
///     >>> from dlarray import dlarray, stripdims
///     >>> X = dlarray(np.zeros((8, 28, 28, 3), np.float32), "BSSC")
///     >>> stripdims(X).shape, stripdims(X).fmt
///     ((28, 28, 3, 8), '')
///     >>> stripdims(X, "BSSC").shape
///     (8, 28, 28, 3)
#[pyfunction]
#[pyo3(signature = (x, fmt = None))]
fn stripdims(py: Python<'_>, x: &Bound<'_, PyAny>, fmt: Option<&Bound<'_, PyAny>>) -> PyResult<PyDlarray> {
    guard("stripdims", || {
        let a = as_dl("stripdims", "x", x)?;
        let order = format_text("stripdims", "fmt", fmt)?;
        Ok(PyDlarray::new_unformatted(run(py, a.tensor.numel(), || a.stripdims(order.as_deref()))?))
    })
}

/// The format string of ``x`` (MATLAB's ``dims``; ``X.fmt``).
///
/// Returns the labels in stored (canonical) order, such as ``"SSCB"``, or ``""`` for an unformatted
/// dlarray and for anything that is not a dlarray.
///
///     >>> import numpy as np
///     >>> from dlarray import dlarray, dims
///     >>> dims(dlarray(np.zeros((8, 28, 28, 3)), "BSSC"))
///     'SSCB'
#[pyfunction]
fn dims(x: &Bound<'_, PyAny>) -> PyResult<String> {
    guard("dims", || {
        Ok(match x.cast::<PyDlarray>() {
            Ok(d) => d.borrow().format().map(|f| f.to_string()).unwrap_or_default(),
            Err(_) => String::new(),
        })
    })
}

/// 0-based positions of the dims labelled ``label`` (MATLAB's ``finddim``, which is 1-based).
///
/// ``label`` is a string of one or more format letters; the positions of each letter's dims are
/// listed in the order of the letters. A label the array lacks, or an unformatted array, gives
/// ``[]``; a letter that is not S, C, B, T or U is a ``FormatError``.
///
///     >>> import numpy as np
///     >>> from dlarray import dlarray, finddim
///     >>> X = dlarray(np.zeros((28, 28, 3, 8)), "SSCB")
///     >>> finddim(X, "S"), finddim(X, "B"), finddim(X, "T")
///     ([0, 1], [3], [])
#[pyfunction]
fn finddim(x: &Bound<'_, PyAny>, label: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    guard("finddim", || {
        let a = as_dl("finddim", "x", x)?;
        a.find_dims(&label_text("finddim", "label", label)?).py()
    })
}

/// Whether ``x`` is a dlarray (MATLAB's ``isdlarray``).
///
///     >>> import numpy as np
///     >>> from dlarray import dlarray, isdlarray
///     >>> isdlarray(dlarray([1.0])), isdlarray(np.ones(1))
///     (True, False)
#[pyfunction]
fn isdlarray(x: &Bound<'_, PyAny>) -> bool {
    x.is_instance_of::<PyDlarray>()
}

/// Joins arrays along an existing axis (numpy's ``concatenate``, MATLAB's ``cat``).
///
/// Parameters
/// ----------
/// arrays : dlarrays, numpy arrays or lists, of one shape except along ``axis``; dtypes combine as
///     numpy's do.
/// axis : a 0-based int (negative from the end) or one format letter naming a single dim (``"C"``);
///     ``None`` joins the flattened data (numpy's rule). ``dlarray.concatenate`` defaults to 0.
///
/// Returns
/// -------
/// A dlarray. Along an axis, the arrays' formats must agree (all unformatted, or all the same
/// format, else ``FormatError``) and the result keeps it; with ``axis=None`` it is unformatted.
///
///     >>> import numpy as np
///     >>> from dlarray import dlarray, concatenate
///     >>> X = dlarray(np.zeros((28, 28, 3, 8)), "SSCB")
///     >>> Y = concatenate([X, X], "C")
///     >>> Y.shape, Y.fmt
///     ((28, 28, 6, 8), 'SSCB')
#[pyfunction]
#[pyo3(signature = (arrays, axis))]
fn concatenate(py: Python<'_>, arrays: &Bound<'_, PyAny>, axis: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("concatenate", || {
        let items: Vec<DlArray> = arrays.try_iter()?.map(|x| as_dl("concatenate", "arrays", &x?)).collect::<PyResult<_>>()?;
        let n = items.iter().map(|d| d.tensor.numel()).sum();
        if axis.is_none() {
            return Ok(PyDlarray::new_unformatted(run(py, n, || DlArray::concatenate_flat(&items))?));
        }
        let first = items.first().ok_or_else(|| to_py(Error::value("concatenate", "need at least one array")))?;
        let axes = crate::array::parse_axes("concatenate", first, Some(axis))?;
        if axes.len() != 1 {
            return Err(to_py(Error::value("concatenate", "axis must name exactly one dimension")));
        }
        let joined = run(py, n, || DlArray::concatenate(&items, axes[0]))?;
        Ok(PyDlarray::with(joined.tensor, joined.format))
    })
}

/// Stacks arrays of one shape along a new axis (numpy's ``stack``).
///
/// Parameters
/// ----------
/// arrays : dlarrays, numpy arrays or lists, all of the same shape; dtypes combine as numpy's do.
/// axis : position of the new axis in the result, a 0-based int (negative from the end; default 0).
///
/// Returns
/// -------
/// An unformatted dlarray with one more dim than the inputs (MATLAB's ``cat(ndims + 1, ...)`` is
/// ``axis=-1``); label it with ``dlarray(Y, fmt)``.
///
///     >>> from dlarray import dlarray, stack
///     >>> stack([dlarray([1.0, 2.0]), dlarray([3.0, 4.0])], axis=-1).tolist()
///     [[1.0, 3.0], [2.0, 4.0]]
#[pyfunction]
#[pyo3(signature = (arrays, axis = Passed::ABSENT), text_signature = "(arrays, axis=0)")]
fn stack(py: Python<'_>, arrays: &Bound<'_, PyAny>, axis: Passed<'_>) -> PyResult<PyDlarray> {
    guard("stack", || {
        let axis = match axis.get() {
            Some(a) => integer("stack", "axis", a)?,
            None => 0,
        };
        let items: Vec<DlArray> = arrays.try_iter()?.map(|x| as_dl("stack", "arrays", &x?)).collect::<PyResult<_>>()?;
        let n = items.iter().map(|d| d.tensor.numel()).sum();
        Ok(PyDlarray::new_unformatted(run(py, n, || DlArray::stack(&items, axis))?))
    })
}

/// Tiles ``x`` ``reps[i]`` times along each axis (MATLAB's ``repmat``, with numpy's ``tile`` rules).
///
/// Parameters
/// ----------
/// x : a dlarray or anything ``dlarray(x)`` accepts.
/// reps : non-negative repetition counts, as separate ints or one sequence. As in numpy's ``tile``,
///     fewer counts than dims apply to the last dims, and more counts than dims add leading dims
///     of size 1 first. MATLAB's ``repmat(X, n)`` (n copies along the first two dims) is
///     ``repmat(X, n, n, 1, ..., 1)`` here, with one count per dim.
///
/// Returns
/// -------
/// A dlarray with ``x``'s format when the number of dims is unchanged, else unformatted.
///
///     >>> from dlarray import dlarray, repmat
///     >>> repmat(dlarray([1.0, 2.0]), 2).tolist()
///     [1.0, 2.0, 1.0, 2.0]
///     >>> repmat(dlarray([1.0, 2.0]), 2, 1).tolist()
///     [[1.0, 2.0], [1.0, 2.0]]
#[pyfunction]
#[pyo3(signature = (x, *reps))]
fn repmat(py: Python<'_>, x: &Bound<'_, PyAny>, reps: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<PyDlarray> {
    guard("repmat", || {
        let a = as_dl("repmat", "x", x)?;
        let reps = integers_from_args("repmat", "reps", reps)?;
        let reps: Vec<usize> = reps
            .iter()
            .map(|&r| usize::try_from(r))
            .collect::<Result<_, _>>()
            .map_err(|_| to_py(Error::value("repmat", format!("repetition counts must be non-negative, got {reps:?}"))))?;
        let tiled = run(py, reps.iter().fold(a.tensor.numel(), |n, &r| n.saturating_mul(r)), || a.tile(&reps))?;
        Ok(PyDlarray::with(tiled.tensor, tiled.format))
    })
}

/// Reverses the order of elements along ``axis`` (MATLAB's ``flip``, numpy's ``flip``).
///
/// ``axis`` is ``None`` (every axis, as numpy; MATLAB's default is the first non-singleton dim), an
/// int or a sequence of ints (0-based, negative from the end), or a string of format letters (every
/// dim with those labels). Returns a dlarray of ``x``'s shape, dtype and format.
///
///     >>> from dlarray import dlarray, flip
///     >>> flip(dlarray([[1.0, 2.0], [3.0, 4.0]]), 1).tolist()
///     [[2.0, 1.0], [4.0, 3.0]]
#[pyfunction]
#[pyo3(signature = (x, axis = None))]
fn flip(py: Python<'_>, x: &Bound<'_, PyAny>, axis: Option<&Bound<'_, PyAny>>) -> PyResult<PyDlarray> {
    guard("flip", || {
        let a = as_dl("flip", "x", x)?;
        let axes = crate::array::parse_axes("flip", &a, axis)?;
        let t = run(py, a.tensor.numel(), || a.tensor.flip(&axes))?;
        Ok(PyDlarray::with(t, a.format))
    })
}

/// Removes dims of size 1 (numpy's ``squeeze``; MATLAB's ``squeeze``).
///
/// ``axis`` is ``None`` (every size-1 dim), an int or a sequence of ints (0-based), or a string of
/// format letters; naming a dim whose size is not 1 is a ``ShapeError``. The labels of removed dims
/// are dropped; a result with no labels left is unformatted.
///
///     >>> import numpy as np
///     >>> from dlarray import dlarray, squeeze
///     >>> X = dlarray(np.zeros((1, 3, 1, 5)), "SSCB")
///     >>> squeeze(X).shape, squeeze(X).fmt, squeeze(X, "C").fmt
///     ((3, 5), 'SB', 'SSB')
#[pyfunction]
#[pyo3(signature = (x, axis = None))]
fn squeeze(x: &Bound<'_, PyAny>, axis: Option<&Bound<'_, PyAny>>) -> PyResult<PyDlarray> {
    guard("squeeze", || {
        let a = as_dl("squeeze", "x", x)?;
        let axes = match axis {
            None => None,
            Some(_) => Some(crate::array::parse_axes("squeeze", &a, axis)?),
        };
        let squeezed = a.squeeze(axes.as_deref()).py()?;
        Ok(PyDlarray::with(squeezed.tensor, squeezed.format))
    })
}

/// Matrix product with numpy's rules (numpy's ``matmul``, the ``@`` operator; MATLAB's ``mtimes``).
///
/// 2-D operands multiply as matrices; a 1-D operand is a vector (its dim is removed from the result);
/// operands with more dims are stacks of matrices in the last two dims, the leading dims
/// broadcasting. ``b`` may be a numpy array or a list. The result is unformatted (its dims have no
/// defined relation to the labels); re-label it with ``dlarray(Y, fmt)``.
///
///     >>> import numpy as np
///     >>> from dlarray import dlarray, matmul
///     >>> matmul(dlarray(np.ones((7, 2, 3))), np.ones((3, 4))).shape
///     (7, 2, 4)
#[pyfunction]
fn matmul(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("matmul", || {
        let x = as_dl("matmul", "a", a)?;
        let (y, _) = operand("matmul", "b", b, x.tensor.dtype())?;
        let n = x.tensor.numel().max(y.numel());
        Ok(PyDlarray::new_unformatted(run(py, n, || x.tensor.matmul(&y))?))
    })
}

/// Page-wise matrix products (MATLAB's ``pagemtimes``, in numpy's row-major layout).
///
/// Parameters
/// ----------
/// a, b : the last two dims are the matrices and the leading dims are pages, broadcast as in
///     numpy (MATLAB keeps the matrices in the first two dims and the pages after them).
/// transp_a, transp_b : ``"none"`` (default), ``"transpose"`` or ``"ctranspose"`` (conjugate
///     transpose), applied to each page of ``a`` or ``b``; keywords here, where MATLAB passes them
///     positionally after each operand.
///
/// Returns
/// -------
/// An unformatted dlarray.
///
///     >>> import numpy as np
///     >>> from dlarray import dlarray, pagemtimes
///     >>> P = dlarray(np.ones((5, 2, 3)))
///     >>> pagemtimes(P, np.ones((5, 2, 4)), transp_a="transpose").shape
///     (5, 3, 4)
#[pyfunction]
#[pyo3(signature = (a, b, transp_a = Passed::ABSENT, transp_b = Passed::ABSENT), text_signature = "(a, b, transp_a='none', transp_b='none')")]
fn pagemtimes(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    transp_a: Passed<'_>,
    transp_b: Passed<'_>,
) -> PyResult<PyDlarray> {
    guard("pagemtimes", || {
        let transp_a = text("pagemtimes", "transp_a", &transp_a, "none")?;
        let transp_b = text("pagemtimes", "transp_b", &transp_b, "none")?;
        let x = as_dl("pagemtimes", "a", a)?;
        let (y, _) = operand("pagemtimes", "b", b, x.tensor.dtype())?;
        let parse = |s: &str| -> PyResult<(bool, bool)> {
            match s {
                "none" => Ok((false, false)),
                "transpose" => Ok((true, false)),
                "ctranspose" => Ok((true, true)),
                o => Err(to_py(Error::value(
                    "pagemtimes",
                    format!("transpose option must be 'none', 'transpose' or 'ctranspose', got '{o}'"),
                ))),
            }
        };
        let ((ta, ca), (tb, cb)) = (parse(&transp_a)?, parse(&transp_b)?);
        let xa = if ca { x.tensor.conj().py()? } else { x.tensor.clone() };
        let yb = if cb { y.conj().py()? } else { y };
        let n = xa.numel().max(yb.numel());
        Ok(PyDlarray::new_unformatted(run(py, n, || xa.matmul_t(&yb, ta, tb).map_err(|e| e.within("pagemtimes")))?))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    register_unary(m)?;
    for f in [
        wrap_pyfunction!(from_dlpack, m)?,
        wrap_pyfunction!(maximum, m)?,
        wrap_pyfunction!(minimum, m)?,
        wrap_pyfunction!(atan2, m)?,
        wrap_pyfunction!(power, m)?,
        wrap_pyfunction!(complex, m)?,
        wrap_pyfunction!(where_, m)?,
        wrap_pyfunction!(_compare, m)?,
        wrap_pyfunction!(real, m)?,
        wrap_pyfunction!(imag, m)?,
        wrap_pyfunction!(conj, m)?,
        wrap_pyfunction!(angle, m)?,
        wrap_pyfunction!(extractdata, m)?,
        wrap_pyfunction!(stripdims, m)?,
        wrap_pyfunction!(dims, m)?,
        wrap_pyfunction!(finddim, m)?,
        wrap_pyfunction!(isdlarray, m)?,
        wrap_pyfunction!(concatenate, m)?,
        wrap_pyfunction!(stack, m)?,
        wrap_pyfunction!(repmat, m)?,
        wrap_pyfunction!(flip, m)?,
        wrap_pyfunction!(squeeze, m)?,
        wrap_pyfunction!(matmul, m)?,
        wrap_pyfunction!(pagemtimes, m)?,
    ] {
        m.add_function(f)?;
    }
    let _ = PyList::empty(m.py());
    Ok(())
}
