//! PyO3 bindings of dlarray-core, compiled as `dlarray._core`. This crate converts and
//! forwards; the semantics live in the core and the Python package composes them.

use pyo3::prelude::*;

mod arguments;
mod array;
mod autodiff;
mod convert;
mod device;
mod errors;
mod functions;
mod index_key;
mod nn_activation;
mod nn_conv;
mod nn_layout;
mod nn_norm;
mod nn_recurrent;
mod optim;

/// This module's own Rust allocations reuse freed large buffers (the host process's allocator
/// is left as it is).
#[global_allocator]
static ALLOCATOR: dlarray_core::memory::BlockCache = dlarray_core::memory::BlockCache::new();

fn is_main_thread(py: Python<'_>) -> PyResult<bool> {
    let threading = py.import("threading")?;
    let main = threading.call_method0("main_thread")?;
    Ok(threading.call_method0("current_thread")?.is(&main))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    dlarray_core::kernels::parallel::install_fork_hook();
    // Only Python's main thread joins the pool: it lives as long as the process, and a pool
    // thread that exits would leave its part of the pool unserved.
    if is_main_thread(m.py())? {
        dlarray_core::kernels::parallel::join_pool_on_this_thread();
    }
    m.add_class::<array::PyDlarray>()?;
    errors::register(m)?;
    functions::register(m)?;
    autodiff::register(m)?;
    device::register(m)?;
    nn_conv::register(m)?;
    nn_layout::register(m)?;
    nn_activation::register(m)?;
    nn_norm::register(m)?;
    nn_recurrent::register(m)?;
    optim::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
