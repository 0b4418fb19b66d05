//! The layout rules of the deep-learning ops composed in Python (`dlarray.nn._layout`),
//! forwarded to `dlarray_core::dl_ops::layout`.

use dlarray_core::dl_ops::layout::format_option;
use dlarray_core::dl_ops::OpLayout;
use pyo3::prelude::*;

use crate::array::PyDlarray;
use crate::errors::{guard, IntoPy};

fn labels_string(labels: &[dlarray_core::Label]) -> String {
    labels.iter().map(|l| l.as_char()).collect()
}

/// (labels of x's dims in its own order, whether x is formatted, x's data unformatted with
/// trailing singleton dims up to the labels' length), from x's format or `data_format`.
#[pyfunction]
#[pyo3(signature = (x, data_format, op))]
fn _op_layout(x: PyRef<'_, PyDlarray>, data_format: Option<String>, op: &str) -> PyResult<(String, bool, PyDlarray)> {
    guard(op, || {
        let layout = OpLayout::of(op, &x.arr, data_format.as_deref()).py()?;
        let data = PyDlarray::new_unformatted(layout.plain(&x.arr).py()?);
        Ok((layout.label_string(), layout.formatted(), data))
    })
}

/// A format option's labels, upper case in the order given (an error names `op` and `name`).
#[pyfunction]
#[pyo3(signature = (value, op, name))]
fn _format_option(value: &str, op: &str, name: &str) -> PyResult<String> {
    guard(op, || Ok(format_option(op, name, Some(value)).py()?.map(|l| labels_string(&l)).unwrap_or_default()))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_op_layout, m)?)?;
    m.add_function(wrap_pyfunction!(_format_option, m)?)?;
    Ok(())
}
