//! Reading Python option arguments (flags, strings, integers, formats) inside the op that
//! takes them, so a value of the wrong type becomes a dlarray error naming the op and the
//! argument. Letting pyo3 extract them in the signature would raise a bare `TypeError`
//! ("argument 'keepdims': 'str' object cannot be cast as 'bool'") that names neither.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyList, PyString, PyTuple};

use crate::errors::{FormatError, OptionError};

/// An argument as the caller passed it, `None` included, or absent. pyo3 reads a passed
/// `None` into `Option::None`, which would make `keepdims=None` silently mean "not given".
pub struct Passed<'py>(Option<Bound<'py, PyAny>>);

impl<'py> Passed<'py> {
    /// The default of a parameter declared as `name = Passed::ABSENT`.
    pub const ABSENT: Self = Passed(None);

    pub fn get(&self) -> Option<&Bound<'py, PyAny>> {
        self.0.as_ref()
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Passed<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Passed(Some(obj.to_owned())))
    }
}

/// `repr(value)`, shortened for an error message.
pub fn show(value: &Bound<'_, PyAny>) -> String {
    const LIMIT: usize = 80;
    let text = value.repr().map(|r| r.to_string()).unwrap_or_else(|_| "<unprintable>".into());
    if text.chars().count() <= LIMIT {
        text
    } else {
        text.chars().take(LIMIT - 3).collect::<String>() + "..."
    }
}

fn option_error(op: &str, name: &str, wanted: &str, value: &Bound<'_, PyAny>) -> PyErr {
    OptionError::new_err(format!("{op}: {name} must be {wanted}, got {}", show(value)))
}

fn is_numpy_bool(value: &Bound<'_, PyAny>) -> bool {
    let ty = value.get_type();
    let module = ty.module().map(|m| m.to_string()).unwrap_or_default();
    let name = ty.name().map(|n| n.to_string()).unwrap_or_default();
    module == "numpy" && (name == "bool" || name == "bool_")
}

/// A True/False option (numpy's bool too; not 0/1, None or a string), `default` when absent.
pub fn flag(op: &str, name: &str, passed: &Passed<'_>, default: bool) -> PyResult<bool> {
    let Some(value) = passed.get() else {
        return Ok(default);
    };
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(b.is_true());
    }
    if is_numpy_bool(value) {
        return value.is_truthy();
    }
    Err(option_error(op, name, "True or False", value))
}

/// A string option (a `str`, not bytes or a number), `default` when absent.
pub fn text(op: &str, name: &str, passed: &Passed<'_>, default: &str) -> PyResult<String> {
    match passed.get() {
        None => Ok(default.to_string()),
        Some(value) => value.cast::<PyString>().map(|s| s.to_string()).map_err(|_| option_error(op, name, "a string", value)),
    }
}

/// A string of dimension labels such as "SSCB"; anything else is a `FormatError`.
pub fn label_text(op: &str, name: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    match value.cast::<PyString>() {
        Ok(s) => Ok(s.to_string()),
        Err(_) => {
            Err(FormatError::new_err(format!("{op}: {name} must be a string of dimension labels such as 'SSCB', got {}", show(value))))
        }
    }
}

/// A data format, `None` (or absent) for none.
pub fn format_text(op: &str, name: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    value.filter(|v| !v.is_none()).map(|v| label_text(op, name, v)).transpose()
}

/// One integer: a Python or numpy integer (not a bool or a float), within 64 bits.
pub fn integer(op: &str, name: &str, value: &Bound<'_, PyAny>) -> PyResult<isize> {
    let index = match value.is_instance_of::<PyBool>() || is_numpy_bool(value) {
        true => None,
        false => value.call_method0("__index__").ok(),
    };
    let Some(index) = index else {
        return Err(option_error(op, name, "an integer", value));
    };
    index.extract::<isize>().map_err(|_| option_error(op, name, "an integer within 64 bits", value))
}

/// The items of `value` when it is a tuple, a list or a 1-d numpy array: the sequences an
/// option's integers may come in (a string or bytes is a sequence too, but never of integers).
fn int_sequence<'py>(value: &Bound<'py, PyAny>) -> Option<Vec<Bound<'py, PyAny>>> {
    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
        return None;
    }
    let ty = value.get_type();
    let is_ndarray = ty.module().is_ok_and(|m| m == "numpy") && ty.name().is_ok_and(|n| n == "ndarray");
    if is_ndarray && value.getattr("ndim").and_then(|d| d.extract::<usize>()).is_ok_and(|d| d == 1) {
        return value.try_iter().ok().map(|items| items.filter_map(Result::ok).collect());
    }
    if let Ok(t) = value.cast::<PyTuple>() {
        return Some(t.iter().collect());
    }
    if let Ok(l) = value.cast::<PyList>() {
        return Some(l.iter().collect());
    }
    None
}

/// An integer or a tuple/list of integers, as a list.
pub fn integers(op: &str, name: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<isize>> {
    match int_sequence(value) {
        Some(items) => items.iter().map(|item| integer(op, name, item).map_err(|_| option_error(op, name, "integers", value))).collect(),
        None => {
            integer(op, name, value).map(|i| vec![i]).map_err(|_| option_error(op, name, "an integer or a sequence of integers", value))
        }
    }
}

/// Integers given either as separate positional arguments (`x.reshape(2, 3)`) or as one
/// sequence (`x.reshape((2, 3))`), numpy's convention for shapes and permutations.
pub fn integers_from_args(op: &str, name: &str, args: &Bound<'_, PyTuple>) -> PyResult<Vec<isize>> {
    if args.len() == 1 {
        let only = args.get_item(0)?;
        if int_sequence(&only).is_some() {
            return integers(op, name, &only);
        }
    }
    args.iter().map(|item| integer(op, name, &item)).collect()
}
