//! Convolution and pooling, in MATLAB's layouts (input (S..., C, N), weights (K..., C/G, F/G, G)). The Python layer
//! (dlarray.nn.conv / dlarray.nn.pooling) handles formats, MATLAB's weight layouts and options.

use std::sync::Arc;

use dlarray_core::ops::conv::ConvParams;
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::array::{run, PyDlarray};
use crate::errors::guard;

fn params(
    stride: Vec<usize>,
    dilation: Vec<usize>,
    pad_before: Vec<usize>,
    pad_after: Vec<usize>,
    groups: usize,
    pad_value: f64,
) -> ConvParams {
    ConvParams::new().stride(&stride).dilation(&dilation).padding(&pad_before, &pad_after).groups(groups).pad_value(pad_value)
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn _conv(
    py: Python<'_>,
    x: PyRef<'_, PyDlarray>,
    w: PyRef<'_, PyDlarray>,
    bias: Option<PyRef<'_, PyDlarray>>,
    stride: Vec<usize>,
    dilation: Vec<usize>,
    pad_before: Vec<usize>,
    pad_after: Vec<usize>,
    groups: usize,
    pad_value: f64,
) -> PyResult<PyDlarray> {
    guard("conv", || {
        let p = params(stride, dilation, pad_before, pad_after, groups, pad_value);
        let (xt, wt) = (x.tensor().clone(), w.tensor().clone());
        let bt = bias.map(|b| b.tensor().clone());
        let work = xt.numel() * wt.numel();
        Ok(PyDlarray::new_unformatted(run(py, work, || xt.conv_bias(&wt, bt.as_ref(), &p))?))
    })
}

#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn _transposed_conv(
    py: Python<'_>,
    x: PyRef<'_, PyDlarray>,
    w: PyRef<'_, PyDlarray>,
    stride: Vec<usize>,
    dilation: Vec<usize>,
    crop_before: Vec<usize>,
    crop_after: Vec<usize>,
    groups: usize,
    output_padding: Vec<usize>,
) -> PyResult<PyDlarray> {
    guard("transposed_conv", || {
        let p = params(stride, dilation, crop_before, crop_after, groups, 0.0);
        let (xt, wt) = (x.tensor().clone(), w.tensor().clone());
        let work = xt.numel() * wt.numel();
        Ok(PyDlarray::new_unformatted(run(py, work, || xt.transposed_conv(&wt, &p, &output_padding))?))
    })
}

/// Max pooling; returns (Y, flat argmax positions into x as a numpy uintp array, or None
/// unless `with_indices`: copying them out costs as much as the pooling).
#[pyfunction]
fn _maxpool<'py>(
    py: Python<'py>,
    x: PyRef<'_, PyDlarray>,
    kernel: Vec<usize>,
    stride: Vec<usize>,
    pad_before: Vec<usize>,
    pad_after: Vec<usize>,
    with_indices: bool,
) -> PyResult<(PyDlarray, Option<Bound<'py, PyArray1<usize>>>)> {
    guard("maxpool", || {
        let xt = x.tensor().clone();
        let (y, idx) = run(py, xt.numel(), || xt.maxpool(&kernel, &stride, &pad_before, &pad_after))?;
        Ok((PyDlarray::new_unformatted(y), with_indices.then(|| PyArray1::from_slice(py, &idx))))
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

#[pyfunction]
fn _avgpool(
    py: Python<'_>,
    x: PyRef<'_, PyDlarray>,
    kernel: Vec<usize>,
    stride: Vec<usize>,
    pad_before: Vec<usize>,
    pad_after: Vec<usize>,
    padding_counts: bool,
) -> PyResult<PyDlarray> {
    guard("avgpool", || {
        let xt = x.tensor().clone();
        Ok(PyDlarray::new_unformatted(run(py, xt.numel(), || xt.avgpool(&kernel, &stride, &pad_before, &pad_after, padding_counts))?))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_conv, m)?)?;
    m.add_function(wrap_pyfunction!(_transposed_conv, m)?)?;
    m.add_function(wrap_pyfunction!(_maxpool, m)?)?;
    m.add_function(wrap_pyfunction!(_maxunpool, m)?)?;
    m.add_function(wrap_pyfunction!(_avgpool, m)?)?;
    Ok(())
}
