//! The `dlarray` class: a tensor with an optional format. Every operator is Rust, so
//! arithmetic on dlarrays runs no Python code.

use std::sync::Arc;

use dlarray_core::indexing::{select, Selection};
use dlarray_core::ops::{BinaryOp, CompareOp};
use dlarray_core::shape::normalize_axes;
use dlarray_core::{DlArray, Error, Format, Tensor};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::arguments::{flag, format_text, integers, integers_from_args, text, Passed};
use crate::convert::{tensor_from_arraylike, tensor_from_scalar, tensor_to_numpy, tensor_to_numpy_view};
use crate::errors::{guard, to_py, IntoPy};
use crate::index_key::index_items;

/// Above this many elements an op releases the GIL while it runs.
const GIL_RELEASE_NUMEL: usize = 1 << 16;

/// Runs a core op, releasing the GIL for large work.
pub fn run<T: Send>(py: Python<'_>, numel: usize, f: impl FnOnce() -> dlarray_core::Result<T> + Send) -> PyResult<T> {
    if numel >= GIL_RELEASE_NUMEL {
        py.detach(f).py()
    } else {
        f().py()
    }
}

/// A deep-learning array: numeric data with optional dimension labels (MATLAB's ``dlarray``).
///
/// ``dlarray(x, fmt=None)``
///
/// Parameters
/// ----------
/// x : anything ``numpy.asarray`` accepts (an array, a nested list, a scalar), another dlarray, or an
///     object with ``__dlpack__``. float32, float64, complex64 and complex128 data keep their dtype;
///     integer, bool and float16 data become float32 (MATLAB's ``single``); a list of Python floats is
///     float64, as ``numpy.asarray`` makes it. Non-numeric data is a ``DTypeError``.
/// fmt : the data format, one label per dim: ``S`` spatial, ``C`` channel, ``B`` batch (observations),
///     ``T`` time, ``U`` unspecified; ``C``, ``B`` and ``T`` at most once (lower case is accepted).
///     ``"SSCB"`` is a batch of 2-D images, ``"CB"`` a batch of feature vectors, ``"CBT"`` a batch of
///     sequences. ``None`` or ``""``: unformatted.
///
/// Given a format, the dims are permuted into MATLAB's canonical order S..., C, B, T, U... (stable for
/// repeated S and U), so ``dlarray(x_nhwc, "BSSC")`` has format ``"SSCB"`` and shape ``(H, W, C, N)``.
/// A formatted array has exactly ``len(fmt)`` dims: a longer format adds trailing dims of size 1,
/// and a shorter one may leave out only trailing dims of size 1 (otherwise ``FormatError``). Given a
/// dlarray and a format, its dims are relabelled in their stored order and then permuted; without a
/// format, the dlarray is copied with its own format.
///
/// Array semantics are numpy's. The operators ``+ - * / **``, unary ``-`` and ``abs()`` work
/// elementwise with numpy broadcasting, with a dlarray, numpy array, list or Python scalar on either
/// side, and always give a dlarray (a Python scalar takes the array's dtype). A formatted operand's
/// format is kept when the other is unformatted; two formatted operands must have the same format
/// (else ``FormatError``). ``@`` is numpy's ``matmul`` and gives an unformatted result. Comparisons
/// (``< <= > >= == !=``) give numpy bool arrays, so masks index and combine as in numpy; they are
/// never traced. A dlarray is not hashable.
///
/// Indexing ``X[key]`` takes numpy's keys (ints, slices, ``...``, ``None``, integer arrays, boolean
/// masks, dlarrays of integer values). The result keeps the format only when it keeps every dim
/// through slices and ``...``; otherwise it is unformatted. ``X[key] = v`` broadcasts ``v`` to the
/// selection and replaces the data of this object only (storage is copied on write, so other
/// dlarrays and numpy arrays taken from ``X`` earlier do not change); it is differentiated. An
/// index out of range is a ``DlIndexError``.
///
/// ``numpy.asarray(X)`` is a read-only view of the data without a copy; ``extractdata(X)`` a writable
/// copy. ``float``, ``complex``, ``int`` and ``bool`` take one-element arrays; ``len``, ``repr``,
/// pickling and ``__dlpack__`` work. Inside ``dlfeval`` the operations on traced arrays are recorded
/// for ``dlgradient``.
///
///     >>> import numpy as np
///     >>> from dlarray import dlarray
///     >>> X = dlarray(np.zeros((8, 28, 28, 3), np.float32), "BSSC")
///     >>> X.shape, X.fmt, X.dtype
///     ((28, 28, 3, 8), 'SSCB', dtype('float32'))
///     >>> (2 * X + 1).fmt, X[:, :, :, :4].fmt, X[0].fmt
///     ('SSCB', 'SSCB', '')
///     >>> type(X > 0).__name__
///     'ndarray'
#[pyclass(name = "dlarray", module = "dlarray", subclass, weakref)]
#[derive(Clone)]
pub struct PyDlarray {
    pub arr: DlArray,
}

impl PyDlarray {
    pub fn new_unformatted(t: Tensor) -> Self {
        PyDlarray { arr: DlArray::unformatted(t) }
    }
    pub fn with(t: Tensor, format: Option<Format>) -> Self {
        PyDlarray { arr: DlArray { tensor: t, format } }
    }
    /// `t` with the format `fmt` (dims permuted to MATLAB's canonical order), or unformatted.
    pub fn labelled(t: Tensor, fmt: Option<&str>) -> PyResult<Self> {
        let arr = match fmt {
            Some(f) => DlArray::with_format(t, f).py()?,
            None => DlArray::unformatted(t),
        };
        Ok(PyDlarray { arr })
    }
    pub fn tensor(&self) -> &Tensor {
        &self.arr.tensor
    }
    pub fn format(&self) -> Option<&Format> {
        self.arr.format.as_ref()
    }
    fn fmt_string(&self) -> String {
        self.arr.format.as_ref().map(|f| f.to_string()).unwrap_or_default()
    }
}

/// A dlarray, Python scalar or array-like as (tensor, format); scalars adopt `like`'s dtype.
pub fn operand(op: &str, arg: &str, obj: &Bound<'_, PyAny>, like: dlarray_core::DType) -> PyResult<(Tensor, Option<Format>)> {
    if let Ok(d) = obj.cast::<PyDlarray>() {
        let d = d.borrow();
        return Ok((d.arr.tensor.clone(), d.arr.format.clone()));
    }
    if let Some(t) = tensor_from_scalar(obj, like)? {
        return Ok((t, None));
    }
    Ok((tensor_from_arraylike(op, arg, obj)?, None))
}

/// Any dlarray-convertible argument `arg` of `op` as a `DlArray` (float scalars become float32).
pub fn as_dl(op: &str, arg: &str, obj: &Bound<'_, PyAny>) -> PyResult<DlArray> {
    let (tensor, format) = operand(op, arg, obj, dlarray_core::DType::F32)?;
    Ok(DlArray { tensor, format })
}

/// Axes from `None`, an int, a sequence of ints, or a format letter string.
pub fn parse_axes(op: &str, a: &DlArray, axis: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<usize>> {
    let nd = a.tensor.ndim();
    let Some(axis) = axis.filter(|x| !x.is_none()) else {
        return Ok((0..nd).collect());
    };
    if let Ok(s) = axis.cast::<PyString>() {
        let s = s.to_string();
        // MATLAB's `sum(X, "all")`: every dim, as `None`.
        if s == "all" {
            return Ok((0..nd).collect());
        }
        let mut axes = Vec::new();
        for c in s.chars() {
            axes.extend(a.axes_of_label(op, c).py()?);
        }
        axes.sort_unstable();
        axes.dedup();
        return Ok(axes);
    }
    let list = integers(op, "axis", axis)?;
    normalize_axes(op, Some(&list), nd).py()
}

fn binary(py: Python<'_>, a: &PyDlarray, other: &Bound<'_, PyAny>, op: BinaryOp, reflected: bool) -> PyResult<Py<PyAny>> {
    let (ot, of) = match operand(op.name(), "other", other, a.tensor().dtype()) {
        Ok(x) => x,
        Err(_) => return Ok(py.NotImplemented()),
    };
    let (x, fx, y, fy) = if reflected { (&ot, of.as_ref(), a.tensor(), a.format()) } else { (a.tensor(), a.format(), &ot, of.as_ref()) };
    let n = x.numel().max(y.numel());
    let t = run(py, n, || x.binary(op, y))?;
    let f = DlArray::elementwise_format(op.name(), fx, fy, t.ndim()).py()?;
    PyDlarray::with(t, f).into_py_any(py)
}

fn compare(py: Python<'_>, a: &PyDlarray, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
    let (ot, _) = match operand("compare", "other", other, a.tensor().dtype()) {
        Ok(x) => x,
        Err(_) => return Ok(py.NotImplemented()),
    };
    let t = run(py, a.tensor().numel(), || a.tensor().compare(op, &ot))?;
    // Comparisons give numpy booleans, so masks index and combine as in numpy.
    Ok(tensor_to_numpy(py, &t)?.call_method1("astype", ("bool",))?.unbind())
}

#[pymethods]
impl PyDlarray {
    #[new]
    #[pyo3(signature = (x, fmt = None))]
    fn py_new(x: &Bound<'_, PyAny>, fmt: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        guard("dlarray", || {
            let fmt = format_text("dlarray", "fmt", fmt)?;
            let tensor = if let Ok(d) = x.cast::<PyDlarray>() {
                let d = d.borrow();
                if fmt.is_none() {
                    return Ok(d.clone());
                }
                // Relabelling: MATLAB's dlarray(X, fmt) on a dlarray; the data keeps its layout.
                d.arr.tensor.clone()
            } else {
                tensor_from_arraylike("dlarray", "x", x)?
            };
            PyDlarray::labelled(tensor, fmt.as_deref())
        })
    }

    /// The size of each dim, as a tuple of ints (numpy's ``shape``; MATLAB's ``size``).
    ///
    /// A formatted array has exactly ``len(X.fmt)`` dims, trailing singleton dims included (MATLAB's
    /// ``size`` would not show them). Unformatted arrays keep numpy's shape, 0-d and 1-d included.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        guard("dlarray.shape", || PyTuple::new(py, self.tensor().shape()))
    }
    /// The number of dims (numpy's ``ndim``; MATLAB's ``ndims``); ``len(X.fmt)`` when formatted.
    #[getter]
    fn ndim(&self) -> usize {
        self.tensor().ndim()
    }
    /// The number of elements (numpy's ``size``; MATLAB's ``numel``).
    #[getter]
    fn size(&self) -> usize {
        self.tensor().numel()
    }
    /// The element type, as a numpy dtype: float32, float64, complex64 or complex128.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        use dlarray_core::DType;
        use num_complex::{Complex32, Complex64};
        let descr = match self.tensor().dtype() {
            DType::F32 => numpy::dtype::<f32>(py),
            DType::F64 => numpy::dtype::<f64>(py),
            DType::C64 => numpy::dtype::<Complex32>(py),
            DType::C128 => numpy::dtype::<Complex64>(py),
        };
        Ok(descr.into_any())
    }
    /// What selects a cached trace of ``dlaccelerate`` for this array: its shape, format,
    /// dtype name and device (not its values), in one call.
    #[getter]
    fn _signature<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let t = self.tensor();
        // Interned strings keep their hash: the key is hashed and compared on every call.
        let text = |s: &str| PyString::intern(py, s);
        (PyTuple::new(py, t.shape())?, text(&self.fmt_string()), text(t.dtype().name()), text(t.device().name())).into_pyobject(py)
    }
    /// The format string (MATLAB's ``dims(X)``), ``""`` when unformatted.
    ///
    /// The labels are in stored (canonical) order S..., C, B, T, U..., one per dim.
    #[getter]
    fn fmt(&self) -> String {
        self.fmt_string()
    }
    /// Whether this array is recorded for automatic differentiation.
    ///
    /// True inside ``dlfeval`` for its traced inputs and every array computed from them; False
    /// outside it and for the arrays ``dlfeval`` returns.
    #[getter]
    fn traced(&self) -> bool {
        self.tensor().is_traced()
    }
    /// The array with its dims reversed (numpy's ``.T``; MATLAB's ``X.'`` for a matrix).
    ///
    /// The result is unformatted.
    #[getter(T)]
    fn transposed(&self, py: Python<'_>) -> PyResult<Self> {
        guard("dlarray.transposed", || {
            let perm: Vec<usize> = (0..self.tensor().ndim()).rev().collect();
            Ok(Self::new_unformatted(run(py, self.tensor().numel(), || self.tensor().permute(&perm))?))
        })
    }
    /// The real part (MATLAB's ``real``), with the array's format.
    ///
    /// complex64 gives float32 and complex128 float64; real arrays are returned unchanged.
    #[getter]
    fn real(&self) -> PyResult<Self> {
        guard("dlarray.real", || Ok(Self::with(self.tensor().real().py()?, self.arr.format.clone())))
    }
    /// The imaginary part (MATLAB's ``imag``), with the array's format.
    ///
    /// complex64 gives float32 and complex128 float64; real arrays give zeros.
    #[getter]
    fn imag(&self) -> PyResult<Self> {
        guard("dlarray.imag", || Ok(Self::with(self.tensor().imag().py()?, self.arr.format.clone())))
    }

    /// Iteration (and so unpacking) is numpy's for unformatted arrays; the rule for formatted
    /// ones is in python/dlarray/_iteration.py (docs/decisions.md).
    fn __iter__(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__iter__", || {
            let rule = slf.py().import("dlarray._iteration")?;
            Ok(rule.getattr("iterate")?.call1((slf,))?.unbind())
        })
    }

    fn __len__(&self) -> PyResult<usize> {
        guard("dlarray.__len__", || self.tensor().shape().first().copied().ok_or_else(|| PyTypeError::new_err("len() of a 0-d dlarray")))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        guard("dlarray.__repr__", || {
            let data = tensor_to_numpy(py, self.tensor())?;
            let np = py.import("numpy")?;
            let kwargs = pyo3::types::PyDict::new(py);
            kwargs.set_item("precision", 4)?;
            kwargs.set_item("threshold", 50)?;
            kwargs.set_item("separator", ", ")?;
            let body: String = np.call_method("array2string", (data,), Some(&kwargs))?.extract()?;
            let fmt = match self.format() {
                Some(f) => format!(", fmt=\"{f}\""),
                None => String::new(),
            };
            let traced = if self.tensor().is_traced() { ", traced" } else { "" };
            // The shape as Python writes a tuple: (3,) and (2, 3).
            let dims: Vec<String> = self.tensor().shape().iter().map(|d| d.to_string()).collect();
            let shape = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
            Ok(format!("dlarray({}, shape={}{}, dtype={}{})", body.replace('\n', "\n        "), shape, fmt, self.tensor().dtype(), traced))
        })
    }

    #[pyo3(signature = (dtype = None, copy = None))]
    fn __array__<'py>(&self, py: Python<'py>, dtype: Option<&Bound<'py, PyAny>>, copy: Option<bool>) -> PyResult<Bound<'py, PyAny>> {
        guard("dlarray.__array__", || {
            // Zero-copy, read-only view unless a copy is asked for (docs/decisions.md).
            let a = if copy == Some(true) { tensor_to_numpy(py, self.tensor())? } else { tensor_to_numpy_view(py, self.tensor())? };
            let Some(d) = dtype.filter(|d| !d.is_none()) else { return Ok(a) };
            let want = py.import("numpy")?.getattr("dtype")?.call1((d,))?;
            if copy == Some(false) && !a.getattr("dtype")?.eq(&want)? {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "dlarray.__array__: copy=False, but converting {} to {} needs a copy",
                    self.tensor().dtype(),
                    want.str()?
                )));
            }
            let kwargs = pyo3::types::PyDict::new(py);
            kwargs.set_item("copy", false)?;
            a.call_method("astype", (want,), Some(&kwargs))
        })
    }

    /// numpy defers binary operators to dlarray, so `ndarray * X` is a dlarray.
    #[classattr]
    fn __array_priority__() -> f64 {
        1000.0
    }
    #[classattr]
    fn __array_ufunc__(py: Python<'_>) -> Py<PyAny> {
        py.None()
    }
    /// numpy's array-function protocol (NEP 18): `np.sum(X)`, `np.concatenate([X, Y])`, ...
    /// call dlarray's own functions; the table and the rule for the others are in
    /// python/dlarray/_numpy_protocol.py (docs/decisions.md).
    fn __array_function__(
        &self,
        py: Python<'_>,
        func: &Bound<'_, PyAny>,
        types: &Bound<'_, PyAny>,
        args: &Bound<'_, PyAny>,
        kwargs: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        guard("dlarray.__array_function__", || {
            let protocol = py.import("dlarray._numpy_protocol")?;
            Ok(protocol.getattr("array_function")?.call1((func, types, args, kwargs))?.unbind())
        })
    }

    fn __float__(&self) -> PyResult<f64> {
        guard("dlarray.__float__", || {
            let c = self.tensor().item().py()?;
            if c.im != 0.0 {
                return Err(PyTypeError::new_err("float() of a complex dlarray"));
            }
            Ok(c.re)
        })
    }
    fn __complex__(&self) -> PyResult<num_complex::Complex64> {
        guard("dlarray.__complex__", || self.tensor().item().py())
    }
    fn __int__(&self) -> PyResult<i64> {
        guard("dlarray.__int__", || Ok(self.__float__()? as i64))
    }
    fn __bool__(&self) -> PyResult<bool> {
        guard("dlarray.__bool__", || {
            let c = self
                .tensor()
                .item()
                .map_err(|_| crate::errors::ShapeError::new_err("The truth value of a dlarray with more than one element is ambiguous"))?;
            Ok(c.re != 0.0 || c.im != 0.0)
        })
    }

    #[allow(clippy::type_complexity)] // pickle's (callable, args) pair, as Python defines it
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyAny>, String))> {
        guard("dlarray.__reduce__", || {
            let py = slf.py();
            let me = slf.borrow();
            let data = tensor_to_numpy(py, me.tensor())?;
            Ok((slf.get_type().into_any(), (data, me.fmt_string())))
        })
    }

    /// Exported without a copy, marked read-only, to consumers of DLPack 1.0 or later (which
    /// pass ``max_version``) where numpy can mark it (numpy 2.1 and later); otherwise the
    /// consumer gets a copy (``copy=False`` then raises ``BufferError``).
    #[pyo3(signature = (**kwargs))]
    fn __dlpack__<'py>(&self, py: Python<'py>, kwargs: Option<&Bound<'py, pyo3::types::PyDict>>) -> PyResult<Bound<'py, PyAny>> {
        guard("dlarray.__dlpack__", || {
            // `copy` is decided here; the rest (stream, max_version, dl_device) goes to numpy's
            // exporter, without the keywords an older numpy does not know if it refuses them.
            let forwarded = pyo3::types::PyDict::new(py);
            let mut wants_copy = None;
            if let Some(k) = kwargs {
                for (key, value) in k.iter() {
                    if key.extract::<String>()? == "copy" {
                        wants_copy = if value.is_none() { None } else { Some(value.is_truthy()?) };
                    } else {
                        forwarded.set_item(key, value)?;
                    }
                }
            }
            let export = |a: &Bound<'py, PyAny>| -> PyResult<Bound<'py, PyAny>> {
                match a.call_method("__dlpack__", (), Some(&forwarded)) {
                    Err(e) if e.is_instance_of::<PyTypeError>(py) && !forwarded.is_empty() => {
                        let stream = forwarded.get_item("stream")?;
                        let basic = pyo3::types::PyDict::new(py);
                        if let Some(s) = stream {
                            basic.set_item("stream", s)?;
                        }
                        a.call_method("__dlpack__", (), Some(&basic))
                    }
                    r => r,
                }
            };
            if wants_copy != Some(true) {
                match export(&tensor_to_numpy_view(py, self.tensor())?) {
                    Ok(capsule) => return Ok(capsule),
                    Err(e) if e.is_instance_of::<pyo3::exceptions::PyBufferError>(py) && wants_copy.is_none() => {}
                    Err(e) => return Err(e),
                }
            }
            export(&tensor_to_numpy(py, self.tensor())?)
        })
    }
    fn __dlpack_device__(&self) -> (i32, i32) {
        (1, 0) // kDLCPU
    }

    fn __add__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__add__", || binary(py, self, other, BinaryOp::Add, false))
    }
    fn __radd__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__radd__", || binary(py, self, other, BinaryOp::Add, true))
    }
    fn __sub__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__sub__", || binary(py, self, other, BinaryOp::Sub, false))
    }
    fn __rsub__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__rsub__", || binary(py, self, other, BinaryOp::Sub, true))
    }
    fn __mul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__mul__", || binary(py, self, other, BinaryOp::Mul, false))
    }
    fn __rmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__rmul__", || binary(py, self, other, BinaryOp::Mul, true))
    }
    fn __truediv__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__truediv__", || binary(py, self, other, BinaryOp::Div, false))
    }
    fn __rtruediv__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__rtruediv__", || binary(py, self, other, BinaryOp::Div, true))
    }
    fn __neg__(&self, py: Python<'_>) -> PyResult<Self> {
        guard("dlarray.__neg__", || Ok(Self::with(run(py, self.tensor().numel(), || self.tensor().neg())?, self.arr.format.clone())))
    }
    fn __pos__(&self) -> Self {
        self.clone()
    }
    fn __abs__(&self, py: Python<'_>) -> PyResult<Self> {
        guard("dlarray.__abs__", || Ok(Self::with(run(py, self.tensor().numel(), || self.tensor().abs())?, self.arr.format.clone())))
    }
    fn __pow__(&self, py: Python<'_>, other: &Bound<'_, PyAny>, modulo: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__pow__", || {
            let _ = modulo;
            binary(py, self, other, BinaryOp::Pow, false)
        })
    }
    fn __rpow__(&self, py: Python<'_>, other: &Bound<'_, PyAny>, modulo: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__rpow__", || {
            let _ = modulo;
            binary(py, self, other, BinaryOp::Pow, true)
        })
    }
    fn __matmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__matmul__", || {
            let (o, _) = match operand("matmul", "other", other, self.tensor().dtype()) {
                Ok(x) => x,
                Err(_) => return Ok(py.NotImplemented()),
            };
            let n = self.tensor().numel().max(o.numel());
            PyDlarray::new_unformatted(run(py, n, || self.tensor().matmul(&o))?).into_py_any(py)
        })
    }
    fn __rmatmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__rmatmul__", || {
            let (o, _) = match operand("matmul", "other", other, self.tensor().dtype()) {
                Ok(x) => x,
                Err(_) => return Ok(py.NotImplemented()),
            };
            let n = self.tensor().numel().max(o.numel());
            PyDlarray::new_unformatted(run(py, n, || o.matmul(self.tensor()))?).into_py_any(py)
        })
    }

    fn __lt__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__lt__", || compare(py, self, o, CompareOp::Lt))
    }
    fn __le__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__le__", || compare(py, self, o, CompareOp::Le))
    }
    fn __gt__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__gt__", || compare(py, self, o, CompareOp::Gt))
    }
    fn __ge__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__ge__", || compare(py, self, o, CompareOp::Ge))
    }
    fn __eq__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__eq__", || compare(py, self, o, CompareOp::Eq))
    }
    fn __ne__(&self, py: Python<'_>, o: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard("dlarray.__ne__", || compare(py, self, o, CompareOp::Ne))
    }
    #[classattr]
    fn __hash__(py: Python<'_>) -> Py<PyAny> {
        py.None() // mutable arrays are unhashable, as in numpy
    }

    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Self> {
        guard("dlarray.__getitem__", || {
            let items = index_items(py, key)?;
            let x = self.tensor();
            match select(x.shape(), &items).py()? {
                Selection::Axis { axis, positions, index_shape } => {
                    let mut shape = x.shape()[..axis].to_vec();
                    shape.extend_from_slice(&index_shape);
                    shape.extend_from_slice(&x.shape()[axis + 1..]);
                    let n = x.numel() / x.shape()[axis].max(1) * positions.len();
                    let t = run(py, n, || x.take_axis(axis, Arc::new(positions))?.reshape(&shape))?;
                    Ok(Self::with(t, None))
                }
                Selection::Flat { positions, shape, basic } => {
                    let t = x.take(Arc::new(positions), shape).py()?;
                    // The format survives indexing that keeps every dim (slices); otherwise it is dropped.
                    let f = if basic && t.ndim() == x.ndim() { self.arr.format.clone() } else { None };
                    Ok(Self::with(t, f))
                }
            }
        })
    }

    fn __setitem__(&mut self, py: Python<'_>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        guard("dlarray.__setitem__", || {
            let items = index_items(py, key)?;
            let shape = self.tensor().shape().to_vec();
            let (idx, selected) = select(&shape, &items).py()?.into_flat(&shape);
            let (v, _) = operand("index assignment", "value", value, self.tensor().dtype())?;
            let v = v.broadcast_to(&selected).map_err(|_| {
                to_py(Error::shape(
                    "index assignment",
                    format!("cannot assign values of shape {:?} to a selection of shape {:?}", v.shape(), selected),
                ))
            })?;
            let v = v.reshape(&[idx.len()]).py()?;
            // A new tensor replaces this object's data: no other array sharing storage changes.
            self.arr.tensor = self.tensor().index_put(Arc::new(idx), &v).py()?;
            Ok(())
        })
    }

    // ----- reductions -----------------------------------------------------------------------

    /// Sum of the elements over ``axis`` (numpy's ``sum``; MATLAB's ``sum``).
    ///
    /// Parameters
    /// ----------
    /// axis : ``None`` (every element), an int or a sequence of ints (0-based, negative from the end),
    ///     or a string of format letters such as ``"S"`` or ``"SC"`` (every dim with those labels;
    ///     a letter the array lacks is a ``FormatError``).
    /// keepdims : keep the reduced dims with size 1, and their labels (MATLAB's ``sum(X, dim)`` is
    ///     ``keepdims=True``). Default False, numpy's rule: the reduced dims and their labels are
    ///     dropped, and a result with no labels left is unformatted.
    ///
    /// Returns
    /// -------
    /// A dlarray of ``X``'s dtype. The sum of no elements is 0.
    ///
    ///     >>> import numpy as np
    ///     >>> from dlarray import dlarray
    ///     >>> X = dlarray(np.ones((4, 4, 3, 2), np.float32), "SSCB")
    ///     >>> Y = X.sum("S")
    ///     >>> Y.shape, Y.fmt
    ///     ((3, 2), 'CB')
    ///     >>> X.sum("S", keepdims=True).shape
    ///     (1, 1, 3, 2)
    ///     >>> float(X.sum())
    ///     96.0
    #[pyo3(signature = (axis = None, keepdims = Passed::ABSENT), text_signature = "($self, axis=None, keepdims=False)")]
    fn sum(&self, py: Python<'_>, axis: Option<&Bound<'_, PyAny>>, keepdims: Passed<'_>) -> PyResult<Self> {
        guard("dlarray.sum", || self.reduce(py, "sum", axis, &keepdims, |t, a, k| t.sum_axes(a, k)))
    }
    /// Mean of the elements over ``axis`` (numpy's ``mean``; MATLAB's ``mean``).
    ///
    /// Parameters
    /// ----------
    /// axis : ``None`` (every element), an int or a sequence of ints (0-based, negative from the end),
    ///     or a string of format letters such as ``"S"`` or ``"SC"`` (every dim with those labels;
    ///     a letter the array lacks is a ``FormatError``).
    /// keepdims : keep the reduced dims with size 1, and their labels (MATLAB's ``mean(X, dim)`` is
    ///     ``keepdims=True``). Default False, numpy's rule: the reduced dims and their labels are
    ///     dropped, and a result with no labels left is unformatted.
    ///
    /// Returns
    /// -------
    /// A dlarray of ``X``'s dtype.
    ///
    ///     >>> import numpy as np
    ///     >>> from dlarray import dlarray
    ///     >>> X = dlarray(np.arange(6.0).reshape(3, 2), "CB")
    ///     >>> X.mean("C").tolist(), X.mean("C").fmt
    ///     ([2.0, 3.0], 'B')
    #[pyo3(signature = (axis = None, keepdims = Passed::ABSENT), text_signature = "($self, axis=None, keepdims=False)")]
    fn mean(&self, py: Python<'_>, axis: Option<&Bound<'_, PyAny>>, keepdims: Passed<'_>) -> PyResult<Self> {
        guard("dlarray.mean", || self.reduce(py, "mean", axis, &keepdims, |t, a, k| t.mean_axes(a, k)))
    }
    /// Product of the elements over ``axis`` (numpy's ``prod``; MATLAB's ``prod``).
    ///
    /// Parameters
    /// ----------
    /// axis : ``None`` (every element), an int or a sequence of ints (0-based, negative from the end),
    ///     or a string of format letters such as ``"S"`` or ``"SC"`` (every dim with those labels;
    ///     a letter the array lacks is a ``FormatError``).
    /// keepdims : keep the reduced dims with size 1, and their labels (MATLAB's ``prod(X, dim)`` is
    ///     ``keepdims=True``). Default False, numpy's rule: the reduced dims and their labels are
    ///     dropped, and a result with no labels left is unformatted.
    ///
    /// Returns
    /// -------
    /// A dlarray of ``X``'s dtype. The product of no elements is 1. Differentiable to any order, also where elements are
    /// zero.
    ///
    ///     >>> from dlarray import dlarray
    ///     >>> float(dlarray([1.0, 2.0, 3.0]).prod())
    ///     6.0
    #[pyo3(signature = (axis = None, keepdims = Passed::ABSENT), text_signature = "($self, axis=None, keepdims=False)")]
    fn prod(&self, py: Python<'_>, axis: Option<&Bound<'_, PyAny>>, keepdims: Passed<'_>) -> PyResult<Self> {
        guard("dlarray.prod", || self.reduce(py, "prod", axis, &keepdims, |t, a, k| t.prod_axes(a, k)))
    }
    /// Largest element over ``axis`` (numpy's ``max``; MATLAB's ``max(X, [], dim)``).
    ///
    /// Parameters
    /// ----------
    /// axis : ``None`` (every element), an int or a sequence of ints (0-based, negative from the end),
    ///     or a string of format letters such as ``"S"`` or ``"SC"`` (every dim with those labels;
    ///     a letter the array lacks is a ``FormatError``).
    /// keepdims : keep the reduced dims with size 1, and their labels (MATLAB's ``max(X, dim)`` is
    ///     ``keepdims=True``). Default False, numpy's rule: the reduced dims and their labels are
    ///     dropped, and a result with no labels left is unformatted.
    ///
    /// Returns
    /// -------
    /// A dlarray of ``X``'s dtype. Real input only; an empty reduction is a ``ShapeError``. At ties the gradient is split evenly
    /// between the tied elements. For the elementwise maximum of two arrays use ``maximum``.
    ///
    ///     >>> from dlarray import dlarray
    ///     >>> dlarray([[1.0, 5.0], [3.0, 2.0]]).max(0).tolist()
    ///     [3.0, 5.0]
    #[pyo3(signature = (axis = None, keepdims = Passed::ABSENT), text_signature = "($self, axis=None, keepdims=False)")]
    fn max(&self, py: Python<'_>, axis: Option<&Bound<'_, PyAny>>, keepdims: Passed<'_>) -> PyResult<Self> {
        guard("dlarray.max", || self.reduce(py, "max", axis, &keepdims, |t, a, k| t.max_axes(a, k)))
    }
    /// Smallest element over ``axis`` (numpy's ``min``; MATLAB's ``min(X, [], dim)``).
    ///
    /// Parameters
    /// ----------
    /// axis : ``None`` (every element), an int or a sequence of ints (0-based, negative from the end),
    ///     or a string of format letters such as ``"S"`` or ``"SC"`` (every dim with those labels;
    ///     a letter the array lacks is a ``FormatError``).
    /// keepdims : keep the reduced dims with size 1, and their labels (MATLAB's ``min(X, dim)`` is
    ///     ``keepdims=True``). Default False, numpy's rule: the reduced dims and their labels are
    ///     dropped, and a result with no labels left is unformatted.
    ///
    /// Returns
    /// -------
    /// A dlarray of ``X``'s dtype. Real input only; an empty reduction is a ``ShapeError``. At ties the gradient is split evenly
    /// between the tied elements. For the elementwise minimum of two arrays use ``minimum``.
    ///
    ///     >>> from dlarray import dlarray
    ///     >>> dlarray([[1.0, 5.0], [3.0, 2.0]]).min(1).tolist()
    ///     [1.0, 2.0]
    #[pyo3(signature = (axis = None, keepdims = Passed::ABSENT), text_signature = "($self, axis=None, keepdims=False)")]
    fn min(&self, py: Python<'_>, axis: Option<&Bound<'_, PyAny>>, keepdims: Passed<'_>) -> PyResult<Self> {
        guard("dlarray.min", || self.reduce(py, "min", axis, &keepdims, |t, a, k| t.min_axes(a, k)))
    }
    /// Cumulative sum along one axis (numpy's ``cumsum``; MATLAB's ``cumsum``).
    ///
    /// Parameters
    /// ----------
    /// axis : ``None`` (the flattened array, as numpy), an int (0-based, negative from the end), or one
    ///     format letter that names a single dim.
    /// reverse : sum from the end (MATLAB's ``cumsum(X, dim, "reverse")``); default False.
    ///
    /// Returns
    /// -------
    /// A dlarray of ``X``'s shape and format along an axis; with ``axis=None`` an unformatted 1-D array.
    ///
    ///     >>> from dlarray import dlarray
    ///     >>> dlarray([1.0, 2.0, 3.0]).cumsum().tolist()
    ///     [1.0, 3.0, 6.0]
    ///     >>> dlarray([1.0, 2.0, 3.0]).cumsum(reverse=True).tolist()
    ///     [6.0, 5.0, 3.0]
    #[pyo3(signature = (axis = None, reverse = Passed::ABSENT), text_signature = "($self, axis=None, reverse=False)")]
    fn cumsum(&self, py: Python<'_>, axis: Option<&Bound<'_, PyAny>>, reverse: Passed<'_>) -> PyResult<Self> {
        guard("dlarray.cumsum", || {
            let reverse = flag("cumsum", "reverse", &reverse, false)?;
            match axis.filter(|a| !a.is_none()) {
                None => {
                    let flat = self.tensor().reshape(&[self.tensor().numel()]).py()?;
                    Ok(Self::new_unformatted(run(py, flat.numel(), || flat.cumsum(0, reverse))?))
                }
                Some(a) => {
                    let axes = parse_axes("cumsum", &self.arr, Some(a))?;
                    if axes.len() != 1 {
                        return Err(crate::errors::OptionError::new_err("cumsum: axis must name exactly one dimension"));
                    }
                    let t = run(py, self.tensor().numel(), || self.tensor().cumsum(axes[0], reverse))?;
                    Ok(Self::with(t, self.arr.format.clone()))
                }
            }
        })
    }

    // ----- shape ----------------------------------------------------------------------------

    /// The data in a new shape (numpy's ``reshape``; MATLAB's ``reshape`` with ``order="F"``).
    ///
    /// Parameters
    /// ----------
    /// shape : the new dims, as separate ints or one sequence; one of them may be -1 (inferred from
    ///     the number of elements).
    /// order : ``"C"`` (default, row-major as numpy) or ``"F"`` (column-major, MATLAB's element order).
    ///
    /// Returns
    /// -------
    /// An unformatted dlarray (its dims have no defined relation to the labels); re-label it with
    /// ``dlarray(Y, fmt)``. A size that does not fit is a ``ShapeError``.
    ///
    ///     >>> from dlarray import dlarray
    ///     >>> X = dlarray([[1.0, 2.0], [3.0, 4.0]])
    ///     >>> X.reshape(4).tolist()
    ///     [1.0, 2.0, 3.0, 4.0]
    ///     >>> X.reshape(-1, order="F").tolist()
    ///     [1.0, 3.0, 2.0, 4.0]
    #[pyo3(signature = (*shape, order = Passed::ABSENT), text_signature = "($self, *shape, order='C')")]
    fn reshape(&self, py: Python<'_>, shape: &Bound<'_, PyTuple>, order: Passed<'_>) -> PyResult<Self> {
        guard("dlarray.reshape", || {
            let dims = integers_from_args("reshape", "shape", shape)?;
            let order = text("reshape", "order", &order, "C")?;
            let dims = dlarray_core::shape::resolve_shape(self.tensor().numel(), &dims).py()?;
            let t = match order.as_str() {
                "C" | "c" => self.tensor().reshape(&dims).py()?,
                "F" | "f" => run(py, self.tensor().numel(), || self.tensor().reshape_f(&dims))?,
                o => return Err(crate::errors::OptionError::new_err(format!("reshape: order must be 'C' or 'F', got '{o}'"))),
            };
            Ok(Self::new_unformatted(t))
        })
    }

    /// The dims in a new order (numpy's ``transpose``; MATLAB's ``permute``).
    ///
    /// ``axes`` is a permutation of ``range(X.ndim)``, as separate ints or one sequence (negative from
    /// the end); no axes reverses the dims. The result is unformatted (re-label it with
    /// ``dlarray(Y, fmt)``; to reorder a formatted array by its labels use ``stripdims(X, fmt)``).
    ///
    ///     >>> import numpy as np
    ///     >>> from dlarray import dlarray
    ///     >>> X = dlarray(np.zeros((2, 3, 4)))
    ///     >>> X.transpose(1, 0, 2).shape, X.transpose().shape
    ///     ((3, 2, 4), (4, 3, 2))
    #[pyo3(signature = (*axes))]
    fn transpose(&self, py: Python<'_>, axes: &Bound<'_, PyTuple>) -> PyResult<Self> {
        guard("dlarray.transpose", || {
            let nd = self.tensor().ndim();
            let perm: Vec<isize> =
                if axes.is_empty() { (0..nd as isize).rev().collect() } else { integers_from_args("transpose", "axes", axes)? };
            let perm: Vec<usize> =
                perm.iter().map(|&p| dlarray_core::shape::normalize_axis("transpose", p, nd)).collect::<dlarray_core::Result<_>>().py()?;
            Ok(Self::new_unformatted(run(py, self.tensor().numel(), || self.tensor().permute(&perm))?))
        })
    }

    /// A copy with elements of another dtype (numpy's ``astype``; MATLAB's ``cast``, ``single``, ``double``).
    ///
    /// ``dtype`` is anything ``numpy.dtype`` accepts that names float32, float64, complex64 or
    /// complex128; any other dtype is a ``DTypeError``. Complex to real keeps the real part. The format
    /// is kept, and the cast is differentiable.
    ///
    ///     >>> import numpy as np
    ///     >>> from dlarray import dlarray
    ///     >>> dlarray(np.ones(2, np.float32), "C").astype(np.float64).dtype
    ///     dtype('float64')
    fn astype(&self, dtype: &Bound<'_, PyAny>) -> PyResult<Self> {
        guard("dlarray.astype", || {
            let py = dtype.py();
            let numpy_dtype =
                py.import("numpy")?.getattr("dtype")?.call1((dtype,)).map_err(|_| {
                    crate::errors::DTypeError::new_err(format!("astype: {} is not a data type", crate::arguments::show(dtype)))
                })?;
            let name: String = numpy_dtype.getattr("name")?.extract()?;
            let dt = dlarray_core::DType::from_name(&name).ok_or_else(|| {
                crate::errors::DTypeError::new_err(format!("astype: dlarray holds float32, float64, complex64 or complex128, not {name}"))
            })?;
            Ok(Self::with(self.tensor().cast(dt).py()?, self.arr.format.clone()))
        })
    }

    /// A copy of the array with the same data, format and trace.
    ///
    /// Storage is shared until either array is written to (``X[idx] = v``), so the copy is cheap and
    /// the two never affect each other.
    fn copy(&self) -> Self {
        self.clone()
    }
    /// The complex conjugate (MATLAB's ``conj``, numpy's ``conj``); the format is kept.
    ///
    /// Real input is returned unchanged.
    fn conj(&self) -> PyResult<Self> {
        guard("dlarray.conj", || Ok(Self::with(self.tensor().conj().py()?, self.arr.format.clone())))
    }
    /// The value of a one-element array as a Python float, or a Python complex for a complex
    /// array (numpy's ``item``).
    ///
    /// An array of more than one element is a ``ShapeError``.
    ///
    ///     >>> from dlarray import dlarray
    ///     >>> dlarray([[2.5]]).item(), dlarray(1j).item()
    ///     (2.5, 1j)
    fn item(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard("dlarray.item", || {
            let c = self.tensor().item().py()?;
            if self.tensor().dtype().is_complex() {
                c.into_py_any(py)
            } else {
                c.re.into_py_any(py)
            }
        })
    }
    /// The data as nested Python lists of floats or complex numbers (numpy's ``tolist``).
    ///
    /// A 0-d array gives a scalar.
    ///
    ///     >>> from dlarray import dlarray
    ///     >>> dlarray([[1.0, 2.0]]).tolist()
    ///     [[1.0, 2.0]]
    fn tolist<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard("dlarray.tolist", || tensor_to_numpy(py, self.tensor())?.call_method0("tolist"))
    }

    // ----- tracing (used by dlfeval) ---------------------------------------------------------

    fn _traced_leaf(&self) -> Self {
        Self::with(self.tensor().traced_leaf(), self.arr.format.clone())
    }
    fn _detach(&self) -> Self {
        Self::with(self.tensor().detach(), self.arr.format.clone())
    }
    /// The device holding the data: ``"cpu"`` or ``"gpu"`` (see ``gpuArray``).
    #[getter]
    fn device(&self) -> &'static str {
        self.tensor().device().name()
    }
    /// The same values on ``device`` (``"cpu"`` or ``"gpu"``), recorded: a gradient goes back
    /// to this array's device.
    fn to(&self, py: Python<'_>, device: &str) -> PyResult<Self> {
        let target = dlarray_core::Device::from_name(device)
            .ok_or_else(|| crate::errors::OptionError::new_err(format!("device must be \"cpu\" or \"gpu\", got {device:?}")))?;
        let t = py.detach(|| self.tensor().to_device(target)).py()?;
        Ok(Self::with(t, self.arr.format.clone()))
    }
    /// The same values, recorded as an op that passes no gradient back.
    fn _stop_gradient(&self) -> Self {
        Self::with(self.tensor().stop_gradient(), self.arr.format.clone())
    }
    fn _id(&self) -> u64 {
        self.tensor().id()
    }
}

impl PyDlarray {
    fn reduce(
        &self,
        py: Python<'_>,
        op: &str,
        axis: Option<&Bound<'_, PyAny>>,
        keepdims: &Passed<'_>,
        f: impl FnOnce(&Tensor, &[usize], bool) -> dlarray_core::Result<Tensor> + Send,
    ) -> PyResult<Self> {
        let keepdims = flag(op, "keepdims", keepdims, false)?;
        let axes = parse_axes(op, &self.arr, axis)?;
        let t = run(py, self.tensor().numel(), || f(self.tensor(), &axes, keepdims))?;
        Ok(Self::with(t, self.arr.reduced_format(&axes, keepdims)))
    }
}
