//! numpy ⇄ tensor conversion, and turning Python operands into tensors.

use std::sync::Arc;

use dlarray_core::buffer::HostVec;
use dlarray_core::dtype::{C32, C64};
use dlarray_core::host_vec::Lender;
use dlarray_core::{Buffer, DType, Error, Tensor};
use numpy::ndarray::{ArrayViewD, IxDyn};
use numpy::{PyArray1, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
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

/// Holds a numpy array whose memory a lent buffer reads; the array is released (with the
/// GIL, whenever the last tensor reading it goes) by pyo3's reference handling.
struct NumpyLender(#[allow(dead_code)] Py<PyAny>);

/// The elements of a C-contiguous, aligned numpy array read in place, or `None` when the
/// array's layout needs a copy.
fn lend_array<'py, T: numpy::Element + Copy>(arr: &Bound<'py, PyAny>) -> PyResult<Option<(HostVec<T>, Vec<usize>)>> {
    let a: Bound<'py, PyArrayDyn<T>> = arr.extract()?;
    let aligned = a.getattr("flags")?.getattr("aligned")?.extract::<bool>()?;
    if !a.is_c_contiguous() || !aligned {
        return Ok(None);
    }
    let shape = a.shape().to_vec();
    let len = a.len();
    let ptr = a.data() as *const T;
    let lender: Lender = Arc::new(NumpyLender(a.into_any().unbind()));
    // SAFETY: the array is C-contiguous and aligned with `len` elements at `ptr`, and the
    // lender keeps the array (so its memory) alive as long as the buffer lives. dlarray never
    // writes lent memory; that the producer does not either is the sharing contract of
    // `from_dlpack`, documented there (and, for the buffers dlarray itself hands over, true).
    let data = if len == 0 { HostVec::Owned(Vec::new()) } else { unsafe { HostVec::lent(ptr, len, lender) } };
    Ok(Some((data, shape)))
}

/// Another library's tensor as numpy can read it: detached from its autograd graph (torch
/// refuses to export a tensor that requires grad) and bfloat16 widened to float32 (numpy has
/// no bfloat16), through the tensor's own methods.
fn readable_by_numpy<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if obj.is_instance_of::<numpy::PyUntypedArray>() {
        return Ok(obj.clone());
    }
    let mut x = obj.clone();
    if x.getattr("requires_grad").and_then(|r| r.extract::<bool>()).unwrap_or(false) && x.hasattr("detach")? {
        x = x.call_method0("detach")?;
    }
    let is_bfloat16 = x.getattr("dtype").map(|d| d.to_string().ends_with("bfloat16")).unwrap_or(false);
    if is_bfloat16 && x.hasattr("float")? {
        x = x.call_method0("float")?;
    }
    Ok(x)
}

/// `obj` as a native-order numpy array of a dtype a tensor holds, and the dtype it came in
/// when making it converted (so copied) the data: float32/float64/complex kept, everything numeric else
/// becomes float32 (as MATLAB's dlarray of logical/integer data does; float16, bfloat16 and the
/// float8 types included), other complex complex128. DLPack-only objects come through
/// `numpy.from_dlpack`, which shares their memory.
fn numpy_of<'py>(op: &str, arg: &str, obj: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, Option<String>)> {
    let py = obj.py();
    let np = py.import("numpy")?;
    let obj = readable_by_numpy(obj)?;
    let reword = |e: PyErr| {
        // numpy's own refusal (ragged nesting, objects without a numeric value), reworded as
        // ours: a shape problem is a ShapeError, anything else a DTypeError.
        let msg = format!("argument '{arg}' cannot become an array: {}", e.value(py));
        to_py(if e.is_instance_of::<PyValueError>(py) { Error::shape(op, msg) } else { Error::dtype(op, msg) })
    };
    let mut arr = if obj.hasattr("__dlpack__")? && !obj.hasattr("__array__")? {
        np.call_method1("from_dlpack", (&obj,)).map_err(reword)?
    } else {
        np.call_method1("asarray", (&obj,)).map_err(reword)?
    };
    // The dtype the data came in, when it had to be converted (so copied).
    let source_dtype = arr.getattr("dtype")?.str()?.to_string();
    let mut converted = false;
    if !arr.getattr("dtype")?.getattr("isnative")?.extract::<bool>()? {
        // Byte-swapped (e.g. big-endian '>f8') data: the same values in native order.
        arr = arr.call_method1("astype", (arr.getattr("dtype")?.call_method1("newbyteorder", ("=",))?,))?;
        converted = true;
    }
    let dtype = arr.getattr("dtype")?;
    let kind: String = dtype.getattr("kind")?.extract()?;
    let itemsize: usize = dtype.getattr("itemsize")?.extract()?;
    let name: String = dtype.getattr("name")?.extract()?;
    // ml_dtypes' bfloat16 and float8 types (what JAX hands numpy) are kind 'V' with these names.
    let extension_float = kind == "V" && (name == "bfloat16" || name.starts_with("float8"));
    let arr = match (kind.as_str(), itemsize) {
        ("f", 4) | ("f", 8) | ("c", 8) | ("c", 16) => arr,
        ("f", _) | ("i", _) | ("u", _) | ("b", _) => {
            converted = true;
            arr.call_method1("astype", ("float32",))?
        }
        _ if extension_float => {
            converted = true;
            arr.call_method1("astype", ("float32",))?
        }
        ("c", _) => {
            converted = true;
            arr.call_method1("astype", ("complex128",))?
        }
        _ => {
            return Err(to_py(Error::dtype(
                op,
                format!("argument '{arg}' holds data of numpy dtype {}; a dlarray needs numeric data", dtype.str()?),
            )))
        }
    };
    Ok((arr, converted.then_some(source_dtype)))
}

/// A tensor with a copy of a numpy array's elements.
fn copied(arr: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let dtype = arr.getattr("dtype")?;
    let (kind, itemsize): (String, usize) = (dtype.getattr("kind")?.extract()?, dtype.getattr("itemsize")?.extract()?);
    let (buf, shape) = match (kind.as_str(), itemsize) {
        ("f", 4) => copy_array::<f32>(arr).map(|(d, s)| (Buffer::F32(d.into()), s))?,
        ("f", 8) => copy_array::<f64>(arr).map(|(d, s)| (Buffer::F64(d.into()), s))?,
        ("c", 8) => copy_array::<C32>(arr).map(|(d, s)| (Buffer::C64(d.into()), s))?,
        _ => copy_array::<C64>(arr).map(|(d, s)| (Buffer::C128(d.into()), s))?,
    };
    Tensor::from_buffer(buf, shape).py()
}

/// A tensor reading a numpy array's elements in place, or `None` when its layout needs a copy.
fn lent(arr: &Bound<'_, PyAny>) -> PyResult<Option<Tensor>> {
    let dtype = arr.getattr("dtype")?;
    let (kind, itemsize): (String, usize) = (dtype.getattr("kind")?.extract()?, dtype.getattr("itemsize")?.extract()?);
    let found = match (kind.as_str(), itemsize) {
        ("f", 4) => lend_array::<f32>(arr)?.map(|(d, s)| (Buffer::F32(d), s)),
        ("f", 8) => lend_array::<f64>(arr)?.map(|(d, s)| (Buffer::F64(d), s)),
        ("c", 8) => lend_array::<C32>(arr)?.map(|(d, s)| (Buffer::C64(d), s)),
        _ => lend_array::<C64>(arr)?.map(|(d, s)| (Buffer::C128(d), s)),
    };
    found.map(|(buf, shape)| Tensor::from_buffer(buf, shape).py()).transpose()
}

/// Any array-like argument `arg` of `op` as a tensor with its own copy of the data (see
/// [`numpy_of`] for the dtypes).
pub fn tensor_from_arraylike(op: &str, arg: &str, obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    copied(&numpy_of(op, arg, obj)?.0)
}

/// `obj` as a tensor that reads its memory in place where the dtype and layout allow
/// (`copy=None`), always copies (`copy=True`), or refuses to copy (`copy=False`), as numpy's
/// `from_dlpack` and `asarray` do.
pub fn tensor_sharing(op: &str, arg: &str, obj: &Bound<'_, PyAny>, copy: Option<bool>) -> PyResult<Tensor> {
    let (arr, converted_from) = numpy_of(op, arg, obj)?;
    if copy == Some(true) {
        return copied(&arr);
    }
    if converted_from.is_none() {
        if let Some(t) = lent(&arr)? {
            return Ok(t);
        }
    }
    if copy == Some(false) {
        let shape = arr.getattr("shape")?.str()?.to_string();
        let why = match converted_from {
            Some(dtype) => format!("its numpy dtype {dtype} needs converting to {}", arr.getattr("dtype")?.str()?),
            None => "its memory is not C-contiguous and aligned".to_string(),
        };
        return Err(to_py(Error::value(
            op,
            format!("argument '{arg}' (shape {shape}) cannot be shared without a copy: {why}; pass copy=None to allow one"),
        )));
    }
    copied(&arr)
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
        Buffer::F32(v) => PyArray1::from_slice(py, v).into_any(),
        Buffer::F64(v) => PyArray1::from_slice(py, v).into_any(),
        Buffer::C64(v) => PyArray1::from_slice(py, v).into_any(),
        Buffer::C128(v) => PyArray1::from_slice(py, v).into_any(),
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
    unsafe { (*arr.as_array_ptr()).fields.flags &= !numpy::npyffi::NPY_ARRAY_WRITEABLE };
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
