//! `dlarray.device`'s compiled half: whether a GPU can be used and what it is.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::IntoPy;

/// Whether this build has the GPU backend and a GPU adapter was found (a CPU adapter such as
/// lavapipe counts only with ``DLARRAY_GPU_ADAPTER=any``). The first call creates the device.
#[pyfunction]
fn _gpu_available(py: Python<'_>) -> bool {
    py.detach(dlarray_core::gpu_backend::available)
}

/// The GPU adapter and its limits as a dict of strings; ``DeviceError`` without one.
#[pyfunction]
fn _gpu_info<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
    let pairs = py.detach(dlarray_core::gpu_backend::info).py()?;
    let d = PyDict::new(py);
    for (k, v) in pairs {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// The GPU engine's counters since the process started (submits, dispatches, uploads,
/// readbacks, allocations, reuses, live_bytes, pipelines_compiled); ``DeviceError`` without a GPU.
#[pyfunction]
fn _gpu_stats<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
    let pairs = py.detach(dlarray_core::gpu_backend::stats).py()?;
    let d = PyDict::new(py);
    for (k, v) in pairs {
        d.set_item(k, v)?;
    }
    Ok(d)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_gpu_available, m)?)?;
    m.add_function(wrap_pyfunction!(_gpu_info, m)?)?;
    m.add_function(wrap_pyfunction!(_gpu_stats, m)?)?;
    Ok(())
}
