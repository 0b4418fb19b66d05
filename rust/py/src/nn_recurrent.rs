//! LSTM and GRU on unformatted (C, B, T) input. The Python layer (dlarray.nn.recurrent)
//! handles formats, MATLAB's parameter shapes and option names.

use dlarray_core::ops::recurrent::{Activation, ResetGateMode};
use dlarray_core::{Error, Tensor};
use pyo3::prelude::*;

use crate::array::{run, PyDlarray};
use crate::errors::{guard, to_py};

fn activation(op: &str, name: &str) -> PyResult<Activation> {
    Ok(match name {
        "tanh" => Activation::Tanh,
        "softsign" => Activation::Softsign,
        "relu" => Activation::Relu,
        "sigmoid" => Activation::Sigmoid,
        "hard-sigmoid" => Activation::HardSigmoid,
        o => return Err(to_py(Error::value(op, format!("unknown activation '{o}'")))),
    })
}

fn work(ts: &[&Tensor]) -> usize {
    ts.iter().map(|t| t.numel()).sum::<usize>() * 8
}

/// Returns (Y (H, B, T), h (H, B), c (H, B)).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn _lstm(
    py: Python<'_>,
    x: PyRef<'_, PyDlarray>,
    h0: PyRef<'_, PyDlarray>,
    c0: PyRef<'_, PyDlarray>,
    w: PyRef<'_, PyDlarray>,
    r: PyRef<'_, PyDlarray>,
    b: PyRef<'_, PyDlarray>,
    state_activation: &str,
    gate_activation: &str,
) -> PyResult<(PyDlarray, PyDlarray, PyDlarray)> {
    guard("lstm", || {
        let (s, g) = (activation("lstm", state_activation)?, activation("lstm", gate_activation)?);
        let ts = [x.tensor().clone(), h0.tensor().clone(), c0.tensor().clone(), w.tensor().clone(), r.tensor().clone(), b.tensor().clone()];
        let n = work(&ts.iter().collect::<Vec<_>>());
        let (y, h, c) = run(py, n, || Tensor::lstm(&ts[0], &ts[1], &ts[2], &ts[3], &ts[4], &ts[5], s, g))?;
        Ok((PyDlarray::new_unformatted(y), PyDlarray::new_unformatted(h), PyDlarray::new_unformatted(c)))
    })
}

/// Returns (Y (H, B, T), h (H, B)).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn _gru(
    py: Python<'_>,
    x: PyRef<'_, PyDlarray>,
    h0: PyRef<'_, PyDlarray>,
    w: PyRef<'_, PyDlarray>,
    r: PyRef<'_, PyDlarray>,
    b: PyRef<'_, PyDlarray>,
    reset_gate_mode: &str,
    state_activation: &str,
    gate_activation: &str,
) -> PyResult<(PyDlarray, PyDlarray)> {
    guard("gru", || {
        let mode = match reset_gate_mode {
            "after-multiplication" => ResetGateMode::AfterMultiplication,
            "before-multiplication" => ResetGateMode::BeforeMultiplication,
            "recurrent-bias-after-multiplication" => ResetGateMode::RecurrentBiasAfterMultiplication,
            o => return Err(to_py(Error::value("gru", format!("unknown reset gate mode '{o}'")))),
        };
        let (s, g) = (activation("gru", state_activation)?, activation("gru", gate_activation)?);
        let ts = [x.tensor().clone(), h0.tensor().clone(), w.tensor().clone(), r.tensor().clone(), b.tensor().clone()];
        let n = work(&ts.iter().collect::<Vec<_>>());
        let (y, h) = run(py, n, || Tensor::gru(&ts[0], &ts[1], &ts[2], &ts[3], &ts[4], mode, s, g))?;
        Ok((PyDlarray::new_unformatted(y), PyDlarray::new_unformatted(h)))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_lstm, m)?)?;
    m.add_function(wrap_pyfunction!(_gru, m)?)?;
    Ok(())
}
