//! Python exception classes, one per kind of core error. They subclass the builtin that a
//! Python user would catch (`ValueError`, `TypeError`, `IndexError`, `RuntimeError`).

use dlarray_core::Error;
use pyo3::create_exception;
use pyo3::exceptions::{PyIndexError, PyMemoryError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;

create_exception!(
    dlarray,
    ShapeError,
    PyValueError,
    "Array shapes do not fit the operation (a ``ValueError``).\n\
     \n\
     Raised for operands that do not broadcast, inner dims of a matrix product that differ,\n\
     ``reshape`` to a size that does not fit, an index assignment whose value does not broadcast to\n\
     the selection, a reduction of an empty array without identity (``max``, ``min``), the truth\n\
     value of a dlarray of several elements, and sizes that overflow."
);
create_exception!(
    dlarray,
    FormatError,
    PyValueError,
    "Data-format labels are invalid or do not fit the operation (a ``ValueError``).\n\
     \n\
     Raised for a format with a letter other than S, C, B, T, U, a repeated C, B or T, or too few\n\
     labels for the data; operands with different formats; a format letter the array lacks given\n\
     as an axis; and a deep-learning op given data without the dims it needs (see ``data_format=``)."
);
create_exception!(
    dlarray,
    OptionError,
    PyValueError,
    "An option has an invalid value (a ``ValueError``).\n\
     \n\
     Raised when a keyword or positional option is of the wrong kind or out of range, such as\n\
     ``reshape(..., order=\"K\")``, an axis that must name one dim but names several, or an unknown\n\
     choice for a string option."
);
create_exception!(
    dlarray,
    DTypeError,
    PyTypeError,
    "The operation does not support this data type (a ``TypeError``).\n\
     \n\
     Raised for non-numeric data given to ``dlarray``, ``astype`` to a dtype a dlarray cannot hold\n\
     (dlarrays hold float32, float64, complex64 and complex128), and complex input to a function\n\
     defined for real input only (``sigmoid``, ``relu``, ``floor``, ``maximum``, ...)."
);
create_exception!(
    dlarray,
    DlIndexError,
    PyIndexError,
    "An index is out of range or malformed (an ``IndexError``).\n\
     \n\
     Raised by indexing and index assignment (``X[key]``), and for an axis out of range."
);
create_exception!(
    dlarray,
    AutodiffError,
    PyRuntimeError,
    "Automatic differentiation was misused (a ``RuntimeError``).\n\
     \n\
     Raised by ``dlgradient`` outside ``dlfeval``, for a ``y`` that is not a real scalar, for an ``x``\n\
     that is not traced, for a second gradient through a trace already freed or recorded without\n\
     ``enable_higher_derivatives=True``, and by a numpy function given a traced dlarray (which would\n\
     silently drop the trace)."
);
create_exception!(
    dlarray,
    OutOfMemoryError,
    PyMemoryError,
    "A result is too large to allocate (a ``MemoryError``).\n\
     \n\
     Sizes are checked before allocating: a result of 1 GiB or more that the system refuses to\n\
     reserve raises this error instead of aborting the process."
);
create_exception!(
    dlarray,
    DeviceError,
    PyRuntimeError,
    "A device cannot be used for the operation (a ``RuntimeError``).\n\
     \n\
     Raised by ``gpuArray`` without a usable GPU (this build has no GPU backend, or no GPU adapter\n\
     was found: MATLAB's \"no supported GPU device\"), and when the GPU fails during an operation\n\
     (the device was lost, or a wait for it ran out of time)."
);
create_exception!(
    dlarray,
    InternalError,
    PyRuntimeError,
    "A bug in dlarray (an internal invariant broke); please report it (a ``RuntimeError``).\n\
     \n\
     No input should produce one. A panic in the Rust core becomes this error, with the panic\n\
     message and its source location, instead of crashing the process."
);

pub fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Shape { .. } => ShapeError::new_err(msg),
        Error::Format { .. } => FormatError::new_err(msg),
        Error::Value { .. } => OptionError::new_err(msg),
        Error::DType { .. } => DTypeError::new_err(msg),
        Error::Index { .. } => DlIndexError::new_err(msg),
        Error::Autodiff { .. } => AutodiffError::new_err(msg),
        Error::Memory { .. } => OutOfMemoryError::new_err(msg),
        Error::Device { .. } => DeviceError::new_err(msg),
        Error::Internal { .. } => InternalError::new_err(msg),
    }
}

/// Runs the body of a Python-facing function: a panic inside it becomes `InternalError`
/// (pyo3 would raise its `PanicException`, a `BaseException` that `except Exception` misses).
pub fn guard<T>(op: &str, body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    dlarray_core::guard::catch(op, body).map_err(to_py).and_then(|r| r)
}

/// `?`-friendly conversion of core results.
pub trait IntoPy<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for dlarray_core::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ShapeError", py.get_type::<ShapeError>())?;
    m.add("FormatError", py.get_type::<FormatError>())?;
    m.add("OptionError", py.get_type::<OptionError>())?;
    m.add("DTypeError", py.get_type::<DTypeError>())?;
    m.add("DlIndexError", py.get_type::<DlIndexError>())?;
    m.add("AutodiffError", py.get_type::<AutodiffError>())?;
    m.add("OutOfMemoryError", py.get_type::<OutOfMemoryError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    m.add("DeviceError", py.get_type::<DeviceError>())?;
    Ok(())
}
