//! Tracing scopes, the gradient call behind `dlfeval` / `dlgradient`, and the recorded trace
//! (its listing, and its replay on new inputs).

use dlarray_core::autodiff::replay::Plan;
use dlarray_core::autodiff::{listing, trace};
use dlarray_core::{gradient, Format, GradOptions, Tensor};
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
#[pyo3(signature = (y, xs, retain_data = false, enable_higher_derivatives = false, for_replay = false))]
fn _gradient(
    py: Python<'_>,
    y: PyRef<'_, PyDlarray>,
    xs: Vec<PyRef<'_, PyDlarray>>,
    retain_data: bool,
    enable_higher_derivatives: bool,
    for_replay: bool,
) -> PyResult<Vec<PyDlarray>> {
    guard("dlgradient", || {
        let ts: Vec<Tensor> = xs.iter().map(|x| x.tensor().clone()).collect();
        let opts = GradOptions { retain_data, enable_higher_derivatives, for_replay };
        let yt = y.tensor().clone();
        let n: usize = ts.iter().map(|t| t.numel()).sum();
        let grads = if n > 1 << 16 { py.detach(|| gradient(&yt, &ts, &opts)) } else { gradient(&yt, &ts, &opts) }.py()?;
        Ok(grads.into_iter().zip(xs.iter()).map(|(g, x)| PyDlarray::with(g, x.format().cloned())).collect())
    })
}

/// The recorded ops that computed `y`, one a line.
#[pyfunction]
fn _trace_listing(y: PyRef<'_, PyDlarray>) -> String {
    listing::listing(y.tensor())
}

/// The trace that made `outputs`, run again with `new_inputs` in place of `inputs`; each
/// output keeps its recorded format.
#[pyfunction]
fn _replay(
    py: Python<'_>,
    outputs: Vec<PyRef<'_, PyDlarray>>,
    inputs: Vec<PyRef<'_, PyDlarray>>,
    new_inputs: Vec<PyRef<'_, PyDlarray>>,
) -> PyResult<Vec<PyDlarray>> {
    PyPlan::new(outputs, inputs)?.run(py, new_inputs)
}

/// A trace compiled for running again (the cache entry of `dlaccelerate`).
#[pyclass(name = "_Plan", module = "dlarray._core", frozen)]
pub struct PyPlan {
    plan: Plan,
    formats: Vec<Option<Format>>,
}

fn tensors(v: &[PyRef<'_, PyDlarray>]) -> Vec<Tensor> {
    v.iter().map(|x| x.tensor().clone()).collect()
}

#[pymethods]
impl PyPlan {
    #[new]
    fn new(outputs: Vec<PyRef<'_, PyDlarray>>, inputs: Vec<PyRef<'_, PyDlarray>>) -> PyResult<Self> {
        guard("replay", || {
            let plan = Plan::compile(&tensors(&outputs), &tensors(&inputs));
            Ok(PyPlan { plan, formats: outputs.iter().map(|o| o.format().cloned()).collect() })
        })
    }

    /// The outputs for new values of the inputs, each in its recorded format.
    fn run(&self, py: Python<'_>, new_inputs: Vec<PyRef<'_, PyDlarray>>) -> PyResult<Vec<PyDlarray>> {
        guard("replay", || {
            let news = tensors(&new_inputs);
            let values = crate::array::run(py, self.plan.elements(), || self.plan.run(&news))?;
            Ok(values.into_iter().zip(&self.formats).map(|(v, f)| PyDlarray::with(v, f.clone())).collect())
        })
    }

    /// The number of ops a run executes.
    fn __len__(&self) -> usize {
        self.plan.len()
    }

    /// The steps a run outside recording executes, each one pass over memory, and how many of
    /// them are fused chains of elementwise ops.
    #[getter]
    fn _passes(&self) -> (usize, usize) {
        self.plan.fused_len()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_trace_listing, m)?)?;
    m.add_function(wrap_pyfunction!(_replay, m)?)?;
    m.add_class::<PyPlan>()?;
    m.add_function(wrap_pyfunction!(_trace_enter, m)?)?;
    m.add_function(wrap_pyfunction!(_trace_exit, m)?)?;
    m.add_function(wrap_pyfunction!(_in_dlfeval, m)?)?;
    m.add_function(wrap_pyfunction!(_gradient, m)?)?;
    Ok(())
}
