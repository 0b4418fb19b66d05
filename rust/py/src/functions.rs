//! Module-level array functions: elementwise math, format helpers, joins and products.

use dlarray_core::ops::UnaryOp;
use dlarray_core::{DlArray, Error, Tensor};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::arguments::{format_text, integer, integers_from_args, label_text, text, Passed};
use crate::array::{as_dl, operand, run, PyDlarray};
use crate::convert::tensor_to_numpy;
use crate::errors::{guard, to_py, IntoPy};

macro_rules! unary_functions {
    ($($name:ident => $op:ident),* $(,)?) => {
        $(
            #[pyfunction]
            pub fn $name(py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
                let a = as_dl(stringify!($name), "x", x)?;
                let t = run(py, a.tensor.numel(), || a.tensor.unary(UnaryOp::$op))?;
                Ok(PyDlarray::with(t, a.format))
            }
        )*
        fn register_unary(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $(m.add_function(wrap_pyfunction!($name, m)?)?;)*
            Ok(())
        }
    };
}

unary_functions!(
    exp => Exp, log => Log, log1p => Log1p, sqrt => Sqrt, sin => Sin, cos => Cos, tan => Tan,
    tanh => Tanh, sinh => Sinh, cosh => Cosh, asin => Asin, acos => Acos, atan => Atan,
    sigmoid => Sigmoid, erf => Erf, abs => Abs, sign => Sign, floor => Floor, ceil => Ceil,
    round => Round, relu => Relu,
);

fn binary_fn(
    py: Python<'_>,
    name: &str,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    f: impl FnOnce(&Tensor, &Tensor) -> dlarray_core::Result<Tensor> + Send,
) -> PyResult<PyDlarray> {
    let x = as_dl(name, "a", a)?;
    let (y, fy) = operand(name, "b", b, x.tensor.dtype())?;
    let t = run(py, x.tensor.numel().max(y.numel()), || f(&x.tensor, &y))?;
    let fmt = DlArray::elementwise_format(name, x.format.as_ref(), fy.as_ref(), t.ndim()).py()?;
    Ok(PyDlarray::with(t, fmt))
}

/// Elementwise maximum of two arrays (numpy's `maximum`, MATLAB's `max(A, B)`).
#[pyfunction]
fn maximum(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("maximum", || binary_fn(py, "maximum", a, b, |x, y| x.maximum(y)))
}
#[pyfunction]
fn minimum(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("minimum", || binary_fn(py, "minimum", a, b, |x, y| x.minimum(y)))
}
#[pyfunction]
fn atan2(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("atan2", || binary_fn(py, "atan2", a, b, |x, y| x.atan2(y)))
}
#[pyfunction]
fn power(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("power", || binary_fn(py, "power", a, b, |x, y| x.pow(y)))
}
/// `re + 1j*im` from two real arrays.
#[pyfunction]
fn complex(py: Python<'_>, re: &Bound<'_, PyAny>, im: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("complex", || binary_fn(py, "complex", re, im, Tensor::complex))
}

/// `cond ? a : b` elementwise; `cond` is a boolean mask (numpy array or dlarray).
#[pyfunction]
#[pyo3(name = "where")]
fn where_(py: Python<'_>, cond: &Bound<'_, PyAny>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("where", || {
        let (c, fc) = operand("where", "cond", cond, dlarray_core::DType::F32)?;
        let x = as_dl("where", "a", a)?;
        let (y, fy) = operand("where", "b", b, x.tensor.dtype())?;
        let t = run(py, c.numel().max(x.tensor.numel()).max(y.numel()), || Tensor::where_(&c, &x.tensor, &y))?;
        let f1 = DlArray::elementwise_format("where", x.format.as_ref(), fy.as_ref(), t.ndim()).py()?;
        let fmt = DlArray::elementwise_format("where", f1.as_ref(), fc.as_ref(), t.ndim()).py()?;
        Ok(PyDlarray::with(t, fmt))
    })
}

#[pyfunction]
fn real(x: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("real", || {
        let a = as_dl("real", "x", x)?;
        Ok(PyDlarray::with(a.tensor.real().py()?, a.format))
    })
}
#[pyfunction]
fn imag(x: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("imag", || {
        let a = as_dl("imag", "x", x)?;
        Ok(PyDlarray::with(a.tensor.imag().py()?, a.format))
    })
}
#[pyfunction]
fn conj(x: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("conj", || {
        let a = as_dl("conj", "x", x)?;
        Ok(PyDlarray::with(a.tensor.conj().py()?, a.format))
    })
}
#[pyfunction]
fn angle(x: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("angle", || {
        let a = as_dl("angle", "x", x)?;
        Ok(PyDlarray::with(a.tensor.angle().py()?, a.format))
    })
}

/// The data as a numpy array of shape `X.shape` (untraced, unformatted). A writable copy, as
/// MATLAB users write into it; `np.asarray(X)` is the zero-copy read-only view (docs/decisions.md).
#[pyfunction]
fn extractdata<'py>(py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    guard("extractdata", || {
        match x.cast::<PyDlarray>() {
            Ok(d) => tensor_to_numpy(py, d.borrow().tensor()),
            // Other data as a dlarray would hold it, so that what cannot become one is told so.
            Err(_) => tensor_to_numpy(py, &as_dl("extractdata", "x", x)?.tensor),
        }
    })
}

/// `X` without its format. With `fmt`, first permutes the dims into the order `fmt` names
/// (MATLAB's `stripdims(X, fmt)`).
#[pyfunction]
#[pyo3(signature = (x, fmt = None))]
fn stripdims(py: Python<'_>, x: &Bound<'_, PyAny>, fmt: Option<&Bound<'_, PyAny>>) -> PyResult<PyDlarray> {
    guard("stripdims", || {
        let a = as_dl("stripdims", "x", x)?;
        let order = format_text("stripdims", "fmt", fmt)?;
        Ok(PyDlarray::new_unformatted(run(py, a.tensor.numel(), || a.stripdims(order.as_deref()))?))
    })
}

/// The format string of `X` ("" when unformatted).
#[pyfunction]
fn dims(x: &Bound<'_, PyAny>) -> PyResult<String> {
    guard("dims", || {
        Ok(match x.cast::<PyDlarray>() {
            Ok(d) => d.borrow().format().map(|f| f.to_string()).unwrap_or_default(),
            Err(_) => String::new(),
        })
    })
}

/// 0-based positions of the dims labelled `label`.
#[pyfunction]
fn finddim(x: &Bound<'_, PyAny>, label: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    guard("finddim", || {
        let a = as_dl("finddim", "x", x)?;
        a.find_dims(&label_text("finddim", "label", label)?).py()
    })
}

#[pyfunction]
fn isdlarray(x: &Bound<'_, PyAny>) -> bool {
    x.is_instance_of::<PyDlarray>()
}

/// Joins arrays along an existing axis (an int or a format letter; formats must agree), or,
/// with `axis=None`, their flattened data (numpy's rule; the result is unformatted). The
/// Python package supplies numpy's default `axis=0`.
#[pyfunction]
#[pyo3(signature = (arrays, axis))]
fn concatenate(py: Python<'_>, arrays: &Bound<'_, PyAny>, axis: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("concatenate", || {
        let items: Vec<DlArray> = arrays.try_iter()?.map(|x| as_dl("concatenate", "arrays", &x?)).collect::<PyResult<_>>()?;
        let n = items.iter().map(|d| d.tensor.numel()).sum();
        if axis.is_none() {
            return Ok(PyDlarray::new_unformatted(run(py, n, || DlArray::concatenate_flat(&items))?));
        }
        let first = items.first().ok_or_else(|| to_py(Error::value("concatenate", "need at least one array")))?;
        let axes = crate::array::parse_axes("concatenate", first, Some(axis))?;
        if axes.len() != 1 {
            return Err(to_py(Error::value("concatenate", "axis must name exactly one dimension")));
        }
        let joined = run(py, n, || DlArray::concatenate(&items, axes[0]))?;
        Ok(PyDlarray::with(joined.tensor, joined.format))
    })
}

/// Stacks arrays along a new axis (numpy's `stack`); the result is unformatted.
#[pyfunction]
#[pyo3(signature = (arrays, axis = Passed::ABSENT), text_signature = "(arrays, axis=0)")]
fn stack(py: Python<'_>, arrays: &Bound<'_, PyAny>, axis: Passed<'_>) -> PyResult<PyDlarray> {
    guard("stack", || {
        let axis = match axis.get() {
            Some(a) => integer("stack", "axis", a)?,
            None => 0,
        };
        let items: Vec<DlArray> = arrays.try_iter()?.map(|x| as_dl("stack", "arrays", &x?)).collect::<PyResult<_>>()?;
        let n = items.iter().map(|d| d.tensor.numel()).sum();
        Ok(PyDlarray::new_unformatted(run(py, n, || DlArray::stack(&items, axis))?))
    })
}

/// Tiles `X` (MATLAB's `repmat`, numpy's `tile`); keeps the format when the rank is kept.
#[pyfunction]
#[pyo3(signature = (x, *reps))]
fn repmat(py: Python<'_>, x: &Bound<'_, PyAny>, reps: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<PyDlarray> {
    guard("repmat", || {
        let a = as_dl("repmat", "x", x)?;
        let reps = integers_from_args("repmat", "reps", reps)?;
        let reps: Vec<usize> = reps
            .iter()
            .map(|&r| usize::try_from(r))
            .collect::<Result<_, _>>()
            .map_err(|_| to_py(Error::value("repmat", format!("repetition counts must be non-negative, got {reps:?}"))))?;
        let tiled = run(py, reps.iter().fold(a.tensor.numel(), |n, &r| n.saturating_mul(r)), || a.tile(&reps))?;
        Ok(PyDlarray::with(tiled.tensor, tiled.format))
    })
}

/// Reverses the order of elements along `axis` (all axes when None).
#[pyfunction]
#[pyo3(signature = (x, axis = None))]
fn flip(py: Python<'_>, x: &Bound<'_, PyAny>, axis: Option<&Bound<'_, PyAny>>) -> PyResult<PyDlarray> {
    guard("flip", || {
        let a = as_dl("flip", "x", x)?;
        let axes = crate::array::parse_axes("flip", &a, axis)?;
        let t = run(py, a.tensor.numel(), || a.tensor.flip(&axes))?;
        Ok(PyDlarray::with(t, a.format))
    })
}

/// Removes size-1 dims (all, or those in `axis`); labels of removed dims are dropped.
#[pyfunction]
#[pyo3(signature = (x, axis = None))]
fn squeeze(x: &Bound<'_, PyAny>, axis: Option<&Bound<'_, PyAny>>) -> PyResult<PyDlarray> {
    guard("squeeze", || {
        let a = as_dl("squeeze", "x", x)?;
        let axes = match axis {
            None => None,
            Some(_) => Some(crate::array::parse_axes("squeeze", &a, axis)?),
        };
        let squeezed = a.squeeze(axes.as_deref()).py()?;
        Ok(PyDlarray::with(squeezed.tensor, squeezed.format))
    })
}

/// Matrix product with numpy's rules (`@`).
#[pyfunction]
fn matmul(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<PyDlarray> {
    guard("matmul", || {
        let x = as_dl("matmul", "a", a)?;
        let (y, _) = operand("matmul", "b", b, x.tensor.dtype())?;
        let n = x.tensor.numel().max(y.numel());
        Ok(PyDlarray::new_unformatted(run(py, n, || x.tensor.matmul(&y))?))
    })
}

/// Page-wise products: the last two dims are matrices, leading dims are pages (broadcast).
/// `transp_a`/`transp_b`: "none", "transpose" or "ctranspose" (MATLAB's pagemtimes options).
#[pyfunction]
#[pyo3(signature = (a, b, transp_a = Passed::ABSENT, transp_b = Passed::ABSENT), text_signature = "(a, b, transp_a='none', transp_b='none')")]
fn pagemtimes(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    transp_a: Passed<'_>,
    transp_b: Passed<'_>,
) -> PyResult<PyDlarray> {
    guard("pagemtimes", || {
        let transp_a = text("pagemtimes", "transp_a", &transp_a, "none")?;
        let transp_b = text("pagemtimes", "transp_b", &transp_b, "none")?;
        let x = as_dl("pagemtimes", "a", a)?;
        let (y, _) = operand("pagemtimes", "b", b, x.tensor.dtype())?;
        let parse = |s: &str| -> PyResult<(bool, bool)> {
            match s {
                "none" => Ok((false, false)),
                "transpose" => Ok((true, false)),
                "ctranspose" => Ok((true, true)),
                o => Err(to_py(Error::value(
                    "pagemtimes",
                    format!("transpose option must be 'none', 'transpose' or 'ctranspose', got '{o}'"),
                ))),
            }
        };
        let ((ta, ca), (tb, cb)) = (parse(&transp_a)?, parse(&transp_b)?);
        let xa = if ca { x.tensor.conj().py()? } else { x.tensor.clone() };
        let yb = if cb { y.conj().py()? } else { y };
        let n = xa.numel().max(yb.numel());
        Ok(PyDlarray::new_unformatted(run(py, n, || xa.matmul_t(&yb, ta, tb).map_err(|e| e.within("pagemtimes")))?))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    register_unary(m)?;
    for f in [
        wrap_pyfunction!(maximum, m)?,
        wrap_pyfunction!(minimum, m)?,
        wrap_pyfunction!(atan2, m)?,
        wrap_pyfunction!(power, m)?,
        wrap_pyfunction!(complex, m)?,
        wrap_pyfunction!(where_, m)?,
        wrap_pyfunction!(real, m)?,
        wrap_pyfunction!(imag, m)?,
        wrap_pyfunction!(conj, m)?,
        wrap_pyfunction!(angle, m)?,
        wrap_pyfunction!(extractdata, m)?,
        wrap_pyfunction!(stripdims, m)?,
        wrap_pyfunction!(dims, m)?,
        wrap_pyfunction!(finddim, m)?,
        wrap_pyfunction!(isdlarray, m)?,
        wrap_pyfunction!(concatenate, m)?,
        wrap_pyfunction!(stack, m)?,
        wrap_pyfunction!(repmat, m)?,
        wrap_pyfunction!(flip, m)?,
        wrap_pyfunction!(squeeze, m)?,
        wrap_pyfunction!(matmul, m)?,
        wrap_pyfunction!(pagemtimes, m)?,
    ] {
        m.add_function(f)?;
    }
    let _ = PyList::empty(m.py());
    Ok(())
}
