//! Tracing scopes and the gradient call behind `dlfeval` / `dlgradient`.

use dlarray_core::autodiff::trace;
use dlarray_core::{gradient, GradOptions, Tensor};
use pyo3::prelude::*;

use crate::array::PyDlarray;
use crate::errors::{guard, IntoPy};

/// Opens a tracing scope on this thread; returns the token for `_trace_exit`.
#[pyfunction]
fn _trace_enter() -> u32 {
    trace::enter()
}

#[pyfunction]
fn _trace_exit(token: u32) {
    trace::exit(token)
}

#[pyfunction]
fn _in_dlfeval() -> bool {
    trace::in_dlfeval()
}

/// Gradients of `y` w.r.t. each array in `xs`, each keeping its input's format.
#[pyfunction]
#[pyo3(signature = (y, xs, retain_data = false, enable_higher_derivatives = false))]
fn _gradient(
    py: Python<'_>,
    y: PyRef<'_, PyDlarray>,
    xs: Vec<PyRef<'_, PyDlarray>>,
    retain_data: bool,
    enable_higher_derivatives: bool,
) -> PyResult<Vec<PyDlarray>> {
    guard("dlgradient", || {
        let ts: Vec<Tensor> = xs.iter().map(|x| x.tensor().clone()).collect();
        let opts = GradOptions { retain_data, enable_higher_derivatives };
        let yt = y.tensor().clone();
        let n: usize = ts.iter().map(|t| t.numel()).sum();
        let grads = if n > 1 << 16 { py.detach(|| gradient(&yt, &ts, &opts)) } else { gradient(&yt, &ts, &opts) }.py()?;
        Ok(grads.into_iter().zip(xs.iter()).map(|(g, x)| PyDlarray::with(g, x.format().cloned())).collect())
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_trace_enter, m)?)?;
    m.add_function(wrap_pyfunction!(_trace_exit, m)?)?;
    m.add_function(wrap_pyfunction!(_in_dlfeval, m)?)?;
    m.add_function(wrap_pyfunction!(_gradient, m)?)?;
    Ok(())
}
