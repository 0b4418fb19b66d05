//! Python exception classes, one per kind of core error. They subclass the builtin that a
//! Python user would catch (`ValueError`, `TypeError`, `IndexError`, `RuntimeError`).

use dlarray_core::Error;
use pyo3::create_exception;
use pyo3::exceptions::{PyIndexError, PyMemoryError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;

create_exception!(dlarray, ShapeError, PyValueError, "Array shapes do not fit the operation.");
create_exception!(dlarray, FormatError, PyValueError, "Data-format labels are invalid or do not fit the operation.");
create_exception!(dlarray, OptionError, PyValueError, "An option has an invalid value.");
create_exception!(dlarray, DTypeError, PyTypeError, "The operation does not support this data type.");
create_exception!(dlarray, DlIndexError, PyIndexError, "An index is out of range or malformed.");
create_exception!(dlarray, AutodiffError, PyRuntimeError, "Automatic differentiation was misused.");
create_exception!(dlarray, OutOfMemoryError, PyMemoryError, "A result is too large to allocate.");
create_exception!(dlarray, InternalError, PyRuntimeError, "A bug in dlarray (an internal invariant broke); please report it.");

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
    Ok(())
}
