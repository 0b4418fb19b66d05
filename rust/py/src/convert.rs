//! numpy ⇄ tensor conversion, and turning Python operands into tensors.

use std::sync::Arc;

use dlarray_core::dtype::{C32, C64};
use dlarray_core::{Buffer, DType, Error, Tensor};
use numpy::ndarray::{ArrayViewD, IxDyn};
use numpy::{PyArray1, PyArrayDyn, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyComplex, PyFloat, PyInt};

use crate::errors::{to_py, IntoPy};

fn copy_array<'py, T: numpy::Element + Copy>(arr: &Bound<'py, PyAny>) -> PyResult<(Vec<T>, Vec<usize>)> {
    let a: PyReadonlyArrayDyn<'py, T> = arr.extract()?;
    let shape = a.shape().to_vec();
    // as_slice also accepts Fortran-ordered arrays (memory order), so test C order first.
    let data = match a.as_slice() {
        Ok(s) if a.is_c_contiguous() => s.to_vec(),
        _ => a.as_array().iter().copied().collect(),
    };
    Ok((data, shape))
}

/// Any array-like argument `arg` of `op` as a tensor: float32/float64/complex kept, everything
/// numeric else becomes float32 (as MATLAB's dlarray of logical/integer data does).
pub fn tensor_from_arraylike(op: &str, arg: &str, obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let py = obj.py();
    let np = py.import("numpy")?;
    let mut arr = np.call_method1("asarray", (obj,)).map_err(|e| {
        // numpy's own refusal (ragged nesting, objects without a numeric value), reworded as
        // ours: a shape problem is a ShapeError, anything else a DTypeError.
        let msg = format!("argument '{arg}' cannot become an array: {}", e.value(py));
        to_py(if e.is_instance_of::<PyValueError>(py) { Error::shape(op, msg) } else { Error::dtype(op, msg) })
    })?;
    if !arr.getattr("dtype")?.getattr("isnative")?.extract::<bool>()? {
        // Byte-swapped (e.g. big-endian '>f8') data: the same values in native order.
        arr = arr.call_method1("astype", (arr.getattr("dtype")?.call_method1("newbyteorder", ("=",))?,))?;
    }
    let dtype = arr.getattr("dtype")?;
    let kind: String = dtype.getattr("kind")?.extract()?;
    let itemsize: usize = dtype.getattr("itemsize")?.extract()?;
    let arr = match (kind.as_str(), itemsize) {
        ("f", 4) | ("f", 8) | ("c", 8) | ("c", 16) => arr,
        ("f", _) | ("i", _) | ("u", _) | ("b", _) => arr.call_method1("astype", ("float32",))?,
        ("c", _) => arr.call_method1("astype", ("complex128",))?,
        _ => {
            return Err(to_py(Error::dtype(
                op,
                format!("argument '{arg}' holds data of numpy dtype {}; a dlarray needs numeric data", dtype.str()?),
            )))
        }
    };
    let kind: String = arr.getattr("dtype")?.getattr("kind")?.extract()?;
    let itemsize: usize = arr.getattr("dtype")?.getattr("itemsize")?.extract()?;
    let (buf, shape) = match (kind.as_str(), itemsize) {
        ("f", 4) => {
            let (d, s) = copy_array::<f32>(&arr)?;
            (Buffer::F32(d), s)
        }
        ("f", 8) => {
            let (d, s) = copy_array::<f64>(&arr)?;
            (Buffer::F64(d), s)
        }
        ("c", 8) => {
            let (d, s) = copy_array::<C32>(&arr)?;
            (Buffer::C64(d), s)
        }
        _ => {
            let (d, s) = copy_array::<C64>(&arr)?;
            (Buffer::C128(d), s)
        }
    };
    Tensor::from_buffer(buf, shape).py()
}

/// A Python scalar as a 0-d tensor that adopts `like`'s dtype (numpy's weak scalars), or
/// `None` when `obj` is not a Python scalar. Exact type checks: numpy scalars such as
/// `np.float64` subclass `float` but keep their own dtype (NEP 50), so they go the array way.
pub fn tensor_from_scalar(obj: &Bound<'_, PyAny>, like: DType) -> PyResult<Option<Tensor>> {
    if obj.is_exact_instance_of::<PyFloat>() || obj.is_exact_instance_of::<PyInt>() || obj.is_exact_instance_of::<PyBool>() {
        let v: f64 = obj.extract()?;
        return Ok(Some(Tensor::scalar_like(v, like)));
    }
    if obj.is_exact_instance_of::<PyComplex>() {
        let c: C64 = obj.extract()?;
        let t = Tensor::scalar(c).cast(like.complex()).py()?;
        return Ok(Some(t));
    }
    Ok(None)
}

/// The tensor's host data; a GPU array is read back without the GIL (a host one is at hand).
fn host_data(py: Python<'_>, t: &Tensor) -> PyResult<std::sync::Arc<Buffer>> {
    match t.device() {
        dlarray_core::Device::Gpu => py.detach(|| t.shared_buffer()).py(),
        dlarray_core::Device::Cpu => t.shared_buffer().py(),
    }
}

/// A tensor's data as a new numpy array of the same shape.
pub fn tensor_to_numpy<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let shape = t.shape().to_vec();
    let buffer = host_data(py, t)?;
    let arr: Bound<'py, PyAny> = match &*buffer {
        Buffer::F32(v) => PyArray1::from_vec(py, v.clone()).into_any(),
        Buffer::F64(v) => PyArray1::from_vec(py, v.clone()).into_any(),
        Buffer::C64(v) => PyArray1::from_vec(py, v.clone()).into_any(),
        Buffer::C128(v) => PyArray1::from_vec(py, v.clone()).into_any(),
    };
    arr.call_method1("reshape", (shape,))
}

/// Keeps a tensor's storage alive while numpy views of it exist: the `base` of every array
/// made by [`tensor_to_numpy_view`]. Storage is never written once shared (copy-on-write), so
/// the view sees fixed data for as long as it lives.
#[pyclass(frozen, name = "_BufferOwner", module = "dlarray._core")]
pub struct BufferOwner {
    #[allow(dead_code)] // held for its reference count, never read
    buffer: Arc<Buffer>,
}

fn view_of<'py, T: numpy::Element>(data: &[T], shape: &[usize], owner: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let view = ArrayViewD::from_shape(IxDyn(shape), data)
        .map_err(|e| PyTypeError::new_err(format!("dlarray: cannot view data of shape {shape:?}: {e}")))?;
    // SAFETY: `data` lives in the `Arc<Buffer>` that `owner` holds, and numpy keeps `owner`
    // as the array's base for the array's lifetime. A shared buffer is never written or
    // reallocated (copy-on-write), and the view is made read-only below.
    let arr: Bound<'py, PyArrayDyn<T>> = unsafe { PyArrayDyn::borrow_from_array(&view, owner) };
    // Read-only: writing through the view would silently change the dlarray. numpy refuses to
    // set the flag back, because the base exposes no writable buffer.
    // SAFETY: `arr` is the live array object just made (held by this Bound, the GIL held for 'py), so
    // `as_array_ptr` points to a valid PyArrayObject; clearing one flag bit changes nothing else, and no
    // other code holds the array yet.
    unsafe { (*arr.as_array_ptr()).flags &= !numpy::npyffi::NPY_ARRAY_WRITEABLE };
    Ok(arr.into_any())
}

/// A tensor's data as a read-only numpy array sharing its storage (no copy).
pub fn tensor_to_numpy_view<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let buffer = host_data(py, t)?;
    let owner = Bound::new(py, BufferOwner { buffer: buffer.clone() })?.into_any();
    let shape = t.shape();
    match &*buffer {
        Buffer::F32(v) => view_of(v, shape, owner),
        Buffer::F64(v) => view_of(v, shape, owner),
        Buffer::C64(v) => view_of(v, shape, owner),
        Buffer::C128(v) => view_of(v, shape, owner),
    }
}
