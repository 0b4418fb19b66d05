//! A Python index key (`x[key]`) as the core's index items; the rules are the core's
//! (`dlarray_core::indexing`).

use dlarray_core::indexing::IndexItem;
use pyo3::prelude::*;
use pyo3::types::{PySlice, PyTuple};

use crate::array::PyDlarray;
use crate::convert::tensor_to_numpy;
use crate::errors::DlIndexError;

fn bad(what: String) -> PyErr {
    DlIndexError::new_err(format!(
        "index: {what}; only integers, slices (`:`), ellipsis (`...`), None and integer or boolean arrays are valid indices"
    ))
}

fn optional_int(v: Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    if v.is_none() {
        return Ok(None);
    }
    v.call_method0("__index__").and_then(|i| i.extract()).map(Some).map_err(|_| bad(format!("slice bound {v} is not an integer")))
}

/// An array-like item: integer arrays and masks (float dlarrays hold integers by convention).
fn array_item(py: Python<'_>, k: &Bound<'_, PyAny>) -> PyResult<IndexItem> {
    let np = py.import("numpy")?;
    let (arr, from_dlarray) = match k.cast::<PyDlarray>() {
        Ok(d) => (tensor_to_numpy(py, d.borrow().tensor())?, true),
        Err(_) => (np.call_method1("asarray", (k,))?, false),
    };
    let kind: String = arr.getattr("dtype")?.getattr("kind")?.extract()?;
    let shape: Vec<usize> = arr.getattr("shape")?.extract()?;
    let flat = arr.call_method0("ravel")?;
    match kind.as_str() {
        "b" => Ok(IndexItem::Mask { values: flat.extract::<numpy::PyReadonlyArray1<bool>>()?.as_slice()?.to_vec(), shape }),
        // An empty list is a float array to numpy; it selects nothing.
        "i" | "u" | "f" if kind != "f" || from_dlarray || flat.len()? == 0 => {
            let values = flat.call_method1("astype", ("int64",))?.extract::<numpy::PyReadonlyArray1<i64>>()?.as_slice()?.to_vec();
            Ok(IndexItem::Array { values, shape })
        }
        _ => Err(bad(format!("arrays used as indices must be of integer or boolean type, got dtype {}", arr.getattr("dtype")?))),
    }
}

fn item(py: Python<'_>, k: &Bound<'_, PyAny>) -> PyResult<IndexItem> {
    if k.is_none() {
        return Ok(IndexItem::NewAxis);
    }
    if k.is(py.Ellipsis()) {
        return Ok(IndexItem::Ellipsis);
    }
    if let Ok(s) = k.cast::<PySlice>() {
        return Ok(IndexItem::Slice {
            start: optional_int(s.getattr("start")?)?,
            stop: optional_int(s.getattr("stop")?)?,
            step: optional_int(s.getattr("step")?)?,
        });
    }
    // Booleans are 0-d masks (numpy's rule), checked before integers (bool is an int).
    if k.is_instance_of::<pyo3::types::PyBool>() || k.get_type().name()? == "bool" {
        return Ok(IndexItem::Mask { values: vec![k.is_truthy()?], shape: vec![] });
    }
    if k.is_instance_of::<pyo3::types::PyInt>() {
        return Ok(IndexItem::Int(k.extract().map_err(|_| bad(format!("integer {k} is too large")))?));
    }
    if k.cast::<PyDlarray>().is_ok() {
        return match array_item(py, k)? {
            // A one-element dlarray index is an integer, as a numpy scalar is.
            IndexItem::Array { values, shape } if shape.is_empty() => Ok(IndexItem::Int(values[0])),
            other => Ok(other),
        };
    }
    // numpy integer scalars and 0-d integer arrays are integers.
    if let Ok(i) = k.call_method0("__index__") {
        return Ok(IndexItem::Int(i.extract().map_err(|_| bad(format!("integer {k} is too large")))?));
    }
    if k.hasattr("__len__")? || k.hasattr("__array__")? {
        return array_item(py, k);
    }
    Err(bad(format!("got {}", k.get_type().name()?)))
}

/// The items of `key`: a tuple's elements, or the key itself.
pub fn index_items(py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Vec<IndexItem>> {
    match key.cast::<PyTuple>() {
        Ok(t) => t.iter().map(|k| item(py, &k)).collect(),
        Err(_) => Ok(vec![item(py, key)?]),
    }
}
