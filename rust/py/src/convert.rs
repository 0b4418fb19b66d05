//! numpy ⇄ tensor conversion, and turning Python operands into tensors.

use dlarray_core::dtype::{C32, C64};
use dlarray_core::{Buffer, DType, Tensor};
use numpy::{PyArray1, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyComplex, PyFloat, PyInt};

use crate::errors::IntoPy;

fn copy_array<'py, T: numpy::Element + Copy>(arr: &Bound<'py, PyAny>) -> PyResult<(Vec<T>, Vec<usize>)> {
    let a: PyReadonlyArrayDyn<'py, T> = arr.extract()?;
    let shape = a.shape().to_vec();
    let data = match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().iter().copied().collect(),
    };
    Ok((data, shape))
}

/// Any array-like as a tensor: float32/float64/complex kept, everything numeric else becomes
/// float32 (as MATLAB's dlarray of logical/integer data does).
pub fn tensor_from_arraylike(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let py = obj.py();
    let np = py.import("numpy")?;
    let arr = np.call_method1("asarray", (obj,))?;
    let dtype = arr.getattr("dtype")?;
    let kind: String = dtype.getattr("kind")?.extract()?;
    let itemsize: usize = dtype.getattr("itemsize")?.extract()?;
    let arr = match (kind.as_str(), itemsize) {
        ("f", 4) | ("f", 8) | ("c", 8) | ("c", 16) => arr,
        ("f", _) | ("i", _) | ("u", _) | ("b", _) => arr.call_method1("astype", ("float32",))?,
        ("c", _) => arr.call_method1("astype", ("complex128",))?,
        _ => {
            return Err(PyTypeError::new_err(format!(
                "dlarray: cannot convert data of numpy dtype {} to a dlarray (numeric data required)",
                dtype.str()?
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
/// `None` when `obj` is not a Python scalar.
pub fn tensor_from_scalar(obj: &Bound<'_, PyAny>, like: DType) -> PyResult<Option<Tensor>> {
    if obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyBool>() {
        let v: f64 = obj.extract()?;
        return Ok(Some(Tensor::scalar_like(v, like)));
    }
    if obj.is_instance_of::<PyComplex>() {
        let c: C64 = obj.extract()?;
        let t = Tensor::scalar(c).cast(like.complex()).py()?;
        return Ok(Some(t));
    }
    Ok(None)
}

/// A tensor's data as a new numpy array of the same shape.
pub fn tensor_to_numpy<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let shape = t.shape().to_vec();
    let arr: Bound<'py, PyAny> = match t.buffer() {
        Buffer::F32(v) => PyArray1::from_vec(py, v.clone()).into_any(),
        Buffer::F64(v) => PyArray1::from_vec(py, v.clone()).into_any(),
        Buffer::C64(v) => PyArray1::from_vec(py, v.clone()).into_any(),
        Buffer::C128(v) => PyArray1::from_vec(py, v.clone()).into_any(),
    };
    arr.call_method1("reshape", (shape,))
}
