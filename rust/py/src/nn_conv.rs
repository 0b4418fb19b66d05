//! Convolution, pooling and fullyconnect: formatted arrays and parsed options in, converted
//! and forwarded to `dlarray_core::dl_ops`, which holds MATLAB's layout rules. The Python
//! layer (dlarray.nn.conv / pooling / fullyconnect) parses and documents the options.

use std::sync::Arc;

use dlarray_core::dl_ops::{ConvOptions, Padding, PoolOptions};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::array::{run, PyDlarray};
use crate::errors::guard;

/// Padding as `dlarray.nn._options.padding_option` passes it: "same", a list of sizes, or a
/// (before, after) pair of lists (a matrix's rows).
fn padding_arg(obj: &Bound<'_, PyAny>) -> PyResult<Padding> {
    if let Ok(s) = obj.cast::<PyString>() {
        if s.to_cow()? == "same" {
            return Ok(Padding::Same);
        }
    } else if let Ok((before, after)) = obj.extract::<(Vec<i64>, Vec<i64>)>() {
        return Ok(Padding::Matrix { before, after });
    } else if let Ok(values) = obj.extract::<Vec<i64>>() {
        return Ok(Padding::Values(values));
    }
    Err(PyTypeError::new_err("padding must be 'same', a list of sizes or a (before, after) pair of lists"))
}

fn tensors<'a>(x: &'a PyDlarray, w: &'a PyDlarray, bias: &'a Option<PyRef<'_, PyDlarray>>) -> (usize, Option<dlarray_core::Tensor>) {
    (x.tensor().numel() * w.tensor().numel(), bias.as_ref().map(|b| b.tensor().clone()))
}

/// `dlconv` of a formatted (or `data_format`-described) input, in one call.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (x, weights, bias, data_format, stride, dilation, padding, padding_value))]
fn _dlconv(
    py: Python<'_>,
    x: PyRef<'_, PyDlarray>,
    weights: PyRef<'_, PyDlarray>,
    bias: Option<PyRef<'_, PyDlarray>>,
    data_format: Option<String>,
    stride: Vec<i64>,
    dilation: Vec<i64>,
    padding: &Bound<'_, PyAny>,
    padding_value: f64,
) -> PyResult<PyDlarray> {
    guard("dlconv", || {
        let o = ConvOptions { stride, dilation, padding: padding_arg(padding)?, padding_value };
        let (work, b) = tensors(&x, &weights, &bias);
        let (xa, w) = (x.arr.clone(), weights.tensor().clone());
        Ok(PyDlarray { arr: run(py, work, || xa.dlconv(data_format.as_deref(), &w, b.as_ref(), &o))? })
    })
}

/// `dltranspconv` of a formatted (or `data_format`-described) input, in one call.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (x, weights, bias, data_format, stride, dilation, cropping))]
fn _dltranspconv(
    py: Python<'_>,
    x: PyRef<'_, PyDlarray>,
    weights: PyRef<'_, PyDlarray>,
    bias: Option<PyRef<'_, PyDlarray>>,
    data_format: Option<String>,
    stride: Vec<i64>,
    dilation: Vec<i64>,
    cropping: &Bound<'_, PyAny>,
) -> PyResult<PyDlarray> {
    guard("dltranspconv", || {
        let o = ConvOptions { stride, dilation, padding: padding_arg(cropping)?, padding_value: 0.0 };
        let (work, b) = tensors(&x, &weights, &bias);
        let (xa, w) = (x.arr.clone(), weights.tensor().clone());
        Ok(PyDlarray { arr: run(py, work, || xa.dltranspconv(data_format.as_deref(), &w, b.as_ref(), &o))? })
    })
}

/// `fullyconnect` of a formatted (or `data_format`-described) input, in one call.
#[pyfunction]
#[pyo3(signature = (x, weights, bias, data_format))]
fn _fullyconnect(
    py: Python<'_>,
    x: PyRef<'_, PyDlarray>,
    weights: PyRef<'_, PyDlarray>,
    bias: Option<PyRef<'_, PyDlarray>>,
    data_format: Option<String>,
) -> PyResult<PyDlarray> {
    guard("fullyconnect", || {
        let (work, b) = tensors(&x, &weights, &bias);
        let (xa, w) = (x.arr.clone(), weights.tensor().clone());
        Ok(PyDlarray { arr: run(py, work, || xa.fullyconnect(data_format.as_deref(), &w, b.as_ref()))? })
    })
}

/// Max pooling; returns (Y, the flat positions in x of the maxima in Y's shape as a numpy
/// int64 array, or None unless `with_indices`: copying them out costs as much as the pooling).
#[pyfunction]
#[pyo3(signature = (x, pool_size, stride, padding, data_format, with_indices))]
fn _maxpool<'py>(
    py: Python<'py>,
    x: PyRef<'_, PyDlarray>,
    pool_size: Option<Vec<i64>>,
    stride: Vec<i64>,
    padding: &Bound<'py, PyAny>,
    data_format: Option<String>,
    with_indices: bool,
) -> PyResult<(PyDlarray, Option<Bound<'py, PyAny>>)> {
    guard("maxpool", || {
        let o = PoolOptions { pool_size, stride, padding: padding_arg(padding)? };
        let xa = x.arr.clone();
        let (y, idx) = run(py, xa.tensor.numel(), || xa.dlmaxpool(data_format.as_deref(), &o, with_indices))?;
        let idx = match idx {
            Some(v) => Some(PyArray1::from_vec(py, v).reshape(numpy::IxDyn(y.tensor.shape()))?.into_any()),
            None => None,
        };
        Ok((PyDlarray { arr: y }, idx))
    })
}

/// Average pooling; `padding_counts`: divide by the full window (MATLAB's PaddingValue 0).
#[pyfunction]
#[pyo3(signature = (x, pool_size, stride, padding, data_format, padding_counts))]
fn _avgpool(
    py: Python<'_>,
    x: PyRef<'_, PyDlarray>,
    pool_size: Option<Vec<i64>>,
    stride: Vec<i64>,
    padding: &Bound<'_, PyAny>,
    data_format: Option<String>,
    padding_counts: bool,
) -> PyResult<PyDlarray> {
    guard("avgpool", || {
        let o = PoolOptions { pool_size, stride, padding: padding_arg(padding)? };
        let xa = x.arr.clone();
        Ok(PyDlarray { arr: run(py, xa.tensor.numel(), || xa.dlavgpool(data_format.as_deref(), &o, padding_counts))? })
    })
}

/// Zeros of `shape` with `y`'s elements added at flat positions `idx`.
#[pyfunction]
fn _maxunpool(py: Python<'_>, y: PyRef<'_, PyDlarray>, idx: PyReadonlyArray1<'_, usize>, shape: Vec<usize>) -> PyResult<PyDlarray> {
    guard("maxunpool", || {
        let idx = Arc::new(idx.as_slice()?.to_vec());
        let yt = y.tensor().clone();
        Ok(PyDlarray::new_unformatted(run(py, yt.numel(), || yt.maxunpool(idx, &shape))?))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_dlconv, m)?)?;
    m.add_function(wrap_pyfunction!(_dltranspconv, m)?)?;
    m.add_function(wrap_pyfunction!(_fullyconnect, m)?)?;
    m.add_function(wrap_pyfunction!(_maxpool, m)?)?;
    m.add_function(wrap_pyfunction!(_maxunpool, m)?)?;
    m.add_function(wrap_pyfunction!(_avgpool, m)?)?;
    Ok(())
}
