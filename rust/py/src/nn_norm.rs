//! Fused deep-learning ops of the core (normalisation), for dlarray.nn. The Python layer
//! handles formats, MATLAB's options and per-channel parameter shapes; this converts and
//! forwards.

use pyo3::prelude::*;

use crate::array::{run, PyDlarray};
use crate::errors::guard;

/// Batch normalisation with batch statistics over every axis but `c_axis`:
/// `(Y, mean, var)` with 1-D statistics (biased variance). `offset`/`scale`: 1-D, x's dtype.
#[pyfunction]
fn _batchnorm_train(
    py: Python<'_>,
    x: PyRef<'_, PyDlarray>,
    offset: PyRef<'_, PyDlarray>,
    scale: PyRef<'_, PyDlarray>,
    c_axis: usize,
    epsilon: f64,
) -> PyResult<(PyDlarray, PyDlarray, PyDlarray)> {
    guard("batchnorm_train", || {
        let (xt, ot, st) = (x.tensor().clone(), offset.tensor().clone(), scale.tensor().clone());
        let fmt = x.format().cloned();
        let (y, mean, var) = run(py, xt.numel(), || xt.batchnorm_train(&ot, &st, c_axis, epsilon))?;
        Ok((PyDlarray::with(y, fmt), PyDlarray::new_unformatted(mean), PyDlarray::new_unformatted(var)))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_batchnorm_train, m)?)?;
    Ok(())
}
