//! Single-op versions of deep-learning functions the Python layer would otherwise compose
//! from several elementwise ops (leakyrelu, softmax). The Python layer validates options; this
//! converts and forwards.

use pyo3::prelude::*;

use crate::array::{run, PyDlarray};
use crate::errors::guard;

/// `x` where `x > 0`, `scale * x` elsewhere, keeping x's format. Real input only.
#[pyfunction]
fn _leakyrelu(py: Python<'_>, x: PyRef<'_, PyDlarray>, scale: f64) -> PyResult<PyDlarray> {
    guard("leakyrelu", || {
        let xt = x.tensor().clone();
        let fmt = x.format().cloned();
        let y = run(py, xt.numel(), || xt.leaky_relu(scale))?;
        Ok(PyDlarray::with(y, fmt))
    })
}

/// `(x - mean) / sqrt(var + epsilon)` over `axes`, per group of the other axes' indices,
/// keeping x's format (the core of layernorm, groupnorm and instancenorm). Real input only.
#[pyfunction]
fn _standardize(py: Python<'_>, x: PyRef<'_, PyDlarray>, axes: Vec<usize>, epsilon: f64) -> PyResult<PyDlarray> {
    guard("standardize", || {
        let xt = x.tensor().clone();
        let fmt = x.format().cloned();
        let y = run(py, xt.numel(), || xt.standardize(&axes, epsilon))?;
        Ok(PyDlarray::with(y, fmt))
    })
}

/// Softmax along `axis`, keeping x's format. The result remembers x as its logits.
#[pyfunction]
fn _softmax(py: Python<'_>, x: PyRef<'_, PyDlarray>, axis: usize) -> PyResult<PyDlarray> {
    guard("softmax", || {
        let xt = x.tensor().clone();
        let fmt = x.format().cloned();
        let y = run(py, xt.numel(), || xt.softmax(axis))?;
        Ok(PyDlarray::with(y, fmt))
    })
}

/// `log(y)` from the logits when `y` is a softmax output along `axis`, else None.
#[pyfunction]
fn _softmax_log(py: Python<'_>, y: PyRef<'_, PyDlarray>, axis: usize) -> PyResult<Option<PyDlarray>> {
    guard("crossentropy", || {
        let yt = y.tensor().clone();
        let fmt = y.format().cloned();
        let l = run(py, yt.numel(), || yt.softmax_log(axis))?;
        Ok(l.map(|l| PyDlarray::with(l, fmt)))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_leakyrelu, m)?)?;
    m.add_function(wrap_pyfunction!(_standardize, m)?)?;
    m.add_function(wrap_pyfunction!(_softmax, m)?)?;
    m.add_function(wrap_pyfunction!(_softmax_log, m)?)?;
    Ok(())
}
