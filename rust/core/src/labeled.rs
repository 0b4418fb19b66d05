//! `DlArray`: a tensor with an optional format, and the rules by which array operations
//! carry formats along (numpy semantics for data, MATLAB's for labels).

use crate::error::{Error, Result};
use crate::format::{Format, Label};
use crate::tensor::Tensor;

#[derive(Clone, Debug)]
pub struct DlArray {
    pub tensor: Tensor,
    pub format: Option<Format>,
}

impl DlArray {
    pub fn unformatted(tensor: Tensor) -> DlArray {
        DlArray { tensor, format: None }
    }

    /// Labels `tensor` with `fmt` given in any order: pads trailing singleton dims up to the
    /// format's length, then permutes the dims into canonical order.
    pub fn with_format(tensor: Tensor, fmt: &str) -> Result<DlArray> {
        const OP: &str = "dlarray";
        let labels = Format::parse_labels(OP, fmt)?;
        if labels.is_empty() {
            return Ok(DlArray::unformatted(tensor));
        }
        let nd = tensor.ndim();
        if labels.len() < nd {
            let extra = &tensor.shape()[labels.len()..];
            if extra.iter().any(|&d| d != 1) {
                return Err(Error::format(
                    OP,
                    format!("format '{fmt}' has {} labels but the data has {nd} dims (shape {:?})", labels.len(), tensor.shape()),
                ));
            }
        }
        let mut shape = tensor.shape()[..nd.min(labels.len())].to_vec();
        shape.resize(labels.len(), 1);
        let t = tensor.reshape(&shape)?;
        let (perm, format) = Format::canonicalize(&labels);
        Ok(DlArray { tensor: t.permute(&perm)?, format: Some(format) })
    }

    /// Format of an elementwise result of `a` and `b` with `out_ndim` dims: a formatted and
    /// an unformatted operand give the formatted one's format; two formats must agree.
    pub fn elementwise_format(op: &str, a: Option<&Format>, b: Option<&Format>, out_ndim: usize) -> Result<Option<Format>> {
        let f = match (a, b) {
            (None, None) => return Ok(None),
            (Some(f), None) | (None, Some(f)) => f,
            (Some(fa), Some(fb)) => {
                if fa != fb {
                    return Err(Error::format(op, format!("operands have different formats '{fa}' and '{fb}'")));
                }
                fa
            }
        };
        if f.len() != out_ndim {
            return Err(Error::format(
                op,
                format!("broadcasting a '{f}' array gives {out_ndim} dims; the other operand has more dims than the format"),
            ));
        }
        Ok(Some(f.clone()))
    }

    /// Axes named by a format letter (all dims with that label).
    pub fn axes_of_label(&self, op: &str, label: char) -> Result<Vec<usize>> {
        let l = Label::from_char(op, label)?;
        let f = self.format.as_ref().ok_or_else(|| Error::format(op, format!("dimension '{label}' given for an unformatted array")))?;
        let axes = f.find(l);
        if axes.is_empty() {
            return Err(Error::format(op, format!("array with format '{f}' has no '{label}' dimension")));
        }
        Ok(axes)
    }

    /// Format after reducing `axes`: dropped with their labels, or kept (size 1) with `keepdims`.
    pub fn reduced_format(&self, axes: &[usize], keepdims: bool) -> Option<Format> {
        match (&self.format, keepdims) {
            (Some(f), true) => Some(f.clone()),
            (Some(f), false) => {
                let g = f.without(axes);
                if g.is_empty() { None } else { Some(g) }
            }
            (None, _) => None,
        }
    }
}
