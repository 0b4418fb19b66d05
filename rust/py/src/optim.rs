//! Bindings of the fused optimizer steps: one call updates a whole parameter set, with the GIL
//! released. Arguments are flat lists; the Python package flattens and rebuilds containers.

use dlarray_core::optim::{self, Adam, RmsProp, Sgdm, Stepped};
use dlarray_core::Tensor;
use pyo3::prelude::*;

use crate::array::{run, PyDlarray};
use crate::errors::guard;

type StateList<'py> = Option<Vec<Option<PyRef<'py, PyDlarray>>>>;

fn tensors(xs: &[PyRef<'_, PyDlarray>]) -> Vec<Tensor> {
    xs.iter().map(|x| x.tensor().clone()).collect()
}

/// A state list (or `None`: all zeros) as tensors, `n` long.
fn state(xs: StateList<'_>, n: usize) -> Vec<Option<Tensor>> {
    match xs {
        None => vec![None; n],
        Some(v) => v.iter().map(|x| x.as_ref().map(|x| x.tensor().clone())).collect(),
    }
}

/// The step's results as dlarrays, each with its parameter's format.
fn wrap(out: Stepped, params: &[PyRef<'_, PyDlarray>]) -> (Vec<PyDlarray>, Vec<Vec<PyDlarray>>) {
    let fmt = |i: usize| params[i].format().cloned();
    let ps = out.params.into_iter().enumerate().map(|(i, t)| PyDlarray::with(t, fmt(i))).collect();
    let ss = out.states.into_iter().map(|s| s.into_iter().enumerate().map(|(i, t)| PyDlarray::with(t, fmt(i))).collect()).collect();
    (ps, ss)
}

fn numel(xs: &[PyRef<'_, PyDlarray>]) -> usize {
    xs.iter().map(|x| x.tensor().numel()).sum()
}

/// `(params, [averageGrad, averageSqGrad])` after one Adam step.
#[pyfunction]
#[pyo3(signature = (op, params, grads, avg_grad, avg_sq_grad, lrs, grad_decay, sq_grad_decay, epsilon, iteration))]
#[allow(clippy::too_many_arguments)]
fn _adam_step(
    py: Python<'_>,
    op: &str,
    params: Vec<PyRef<'_, PyDlarray>>,
    grads: Vec<PyRef<'_, PyDlarray>>,
    avg_grad: StateList<'_>,
    avg_sq_grad: StateList<'_>,
    lrs: Vec<f64>,
    grad_decay: f64,
    sq_grad_decay: f64,
    epsilon: f64,
    iteration: f64,
) -> PyResult<(Vec<PyDlarray>, Vec<Vec<PyDlarray>>)> {
    guard("adam_step", || {
        let n = params.len();
        let (p, g, m, v) = (tensors(&params), tensors(&grads), state(avg_grad, n), state(avg_sq_grad, n));
        let rule = Adam { grad_decay, sq_grad_decay, epsilon, iteration };
        let out = run(py, numel(&params), || optim::adam_step(op, p, &g, m, v, &lrs, &rule))?;
        Ok(wrap(out, &params))
    })
}

/// `(params, [averageSqGrad])` after one RMSProp step.
#[pyfunction]
#[pyo3(signature = (op, params, grads, avg_sq_grad, lrs, sq_grad_decay, epsilon))]
fn _rmsprop_step(
    py: Python<'_>,
    op: &str,
    params: Vec<PyRef<'_, PyDlarray>>,
    grads: Vec<PyRef<'_, PyDlarray>>,
    avg_sq_grad: StateList<'_>,
    lrs: Vec<f64>,
    sq_grad_decay: f64,
    epsilon: f64,
) -> PyResult<(Vec<PyDlarray>, Vec<Vec<PyDlarray>>)> {
    guard("rmsprop_step", || {
        let n = params.len();
        let (p, g, s) = (tensors(&params), tensors(&grads), state(avg_sq_grad, n));
        let rule = RmsProp { sq_grad_decay, epsilon };
        let out = run(py, numel(&params), || optim::rmsprop_step(op, p, &g, s, &lrs, &rule))?;
        Ok(wrap(out, &params))
    })
}

/// `(params, [vel])` after one SGD-with-momentum step.
#[pyfunction]
#[pyo3(signature = (op, params, grads, vel, lrs, momentum))]
fn _sgdm_step(
    py: Python<'_>,
    op: &str,
    params: Vec<PyRef<'_, PyDlarray>>,
    grads: Vec<PyRef<'_, PyDlarray>>,
    vel: StateList<'_>,
    lrs: Vec<f64>,
    momentum: f64,
) -> PyResult<(Vec<PyDlarray>, Vec<Vec<PyDlarray>>)> {
    guard("sgdm_step", || {
        let n = params.len();
        let (p, g, v) = (tensors(&params), tensors(&grads), state(vel, n));
        let out = run(py, numel(&params), || optim::sgdm_step(op, p, &g, v, &lrs, &Sgdm { momentum }))?;
        Ok(wrap(out, &params))
    })
}

/// The optimizer buffer pool's counters: parked, idle, idle_bytes, hits, misses.
#[pyfunction]
fn _optim_pool_stats() -> (usize, usize, usize, u64, u64) {
    let s = optim::pool::global().stats();
    (s.parked, s.idle, s.idle_bytes, s.hits, s.misses)
}

/// Releases every buffer the optimizer pool keeps for reuse.
#[pyfunction]
fn _optim_pool_clear() {
    optim::pool::global().clear()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_adam_step, m)?)?;
    m.add_function(wrap_pyfunction!(_rmsprop_step, m)?)?;
    m.add_function(wrap_pyfunction!(_sgdm_step, m)?)?;
    m.add_function(wrap_pyfunction!(_optim_pool_stats, m)?)?;
    m.add_function(wrap_pyfunction!(_optim_pool_clear, m)?)?;
    Ok(())
}
