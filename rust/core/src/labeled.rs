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
                if g.is_empty() {
                    None
                } else {
                    Some(g)
                }
            }
            (None, _) => None,
        }
    }

    /// The labels' axes (0-based positions of the dims labelled by each letter of `labels`, in
    /// order); none for an unformatted array (MATLAB's `finddim`).
    pub fn find_dims(&self, labels: &str) -> Result<Vec<usize>> {
        let mut out = Vec::new();
        for c in labels.chars() {
            let l = Label::from_char("finddim", c)?;
            if let Some(f) = &self.format {
                out.extend(f.find(l));
            }
        }
        Ok(out)
    }

    /// The data without its format; with `order`, first permuted into the order of dims that
    /// `order` names (MATLAB's `stripdims(X, fmt)`; repeated labels keep their relative order).
    pub fn stripdims(&self, order: Option<&str>) -> Result<Tensor> {
        const OP: &str = "stripdims";
        let Some(target) = order else {
            return Ok(self.tensor.clone());
        };
        let f = self.format.as_ref().ok_or_else(|| Error::format(OP, "a format order was given for an unformatted array"))?;
        let labels = Format::parse_labels(OP, target)?;
        let mut sorted = labels.clone();
        sorted.sort();
        if sorted != f.labels() {
            return Err(Error::format(OP, format!("'{target}' does not name the dims of format '{f}'")));
        }
        // For each target position, the next unused dim with that label.
        let mut used = vec![false; f.len()];
        let mut perm = Vec::with_capacity(labels.len());
        for l in &labels {
            let i = (0..f.len()).find(|&i| !used[i] && f.labels()[i] == *l).ok_or_else(|| Error::internal(OP, "labels matched"))?;
            used[i] = true;
            perm.push(i);
        }
        self.tensor.permute(&perm)
    }

    /// Removes size-1 dims: `axes`, or every size-1 dim when None (numpy's `squeeze`); the
    /// labels of removed dims go with them.
    pub fn squeeze(&self, axes: Option<&[usize]>) -> Result<DlArray> {
        const OP: &str = "squeeze";
        let shape = self.tensor.shape();
        let axes: Vec<usize> = match axes {
            None => (0..shape.len()).filter(|&i| shape[i] == 1).collect(),
            Some(a) => a.to_vec(),
        };
        if let Some(&bad) = axes.iter().find(|&&i| i >= shape.len()) {
            return Err(Error::index(OP, format!("axis {bad} is out of bounds for an array of shape {shape:?}")));
        }
        if let Some(&bad) = axes.iter().find(|&&i| shape[i] != 1) {
            return Err(Error::shape(OP, format!("cannot remove axis {bad} of size {} from shape {shape:?}", shape[bad])));
        }
        let kept: Vec<usize> = (0..shape.len()).filter(|i| !axes.contains(i)).map(|i| shape[i]).collect();
        Ok(DlArray { tensor: self.tensor.reshape(&kept)?, format: self.reduced_format(&axes, false) })
    }

    /// Tiles the data (MATLAB's `repmat`); the format stays when the rank does.
    pub fn tile(&self, reps: &[usize]) -> Result<DlArray> {
        let tensor = self.tensor.tile(reps)?;
        let format = if tensor.ndim() == self.tensor.ndim() { self.format.clone() } else { None };
        Ok(DlArray { tensor, format })
    }

    /// Joins arrays along an existing axis; their formats must agree and are kept.
    pub fn concatenate(items: &[DlArray], axis: usize) -> Result<DlArray> {
        const OP: &str = "concatenate";
        let first = items.first().ok_or_else(|| Error::value(OP, "need at least one array"))?;
        if items.iter().any(|d| d.format != first.format) {
            return Err(Error::format(OP, "arrays have different formats"));
        }
        let ts: Vec<Tensor> = items.iter().map(|d| d.tensor.clone()).collect();
        Ok(DlArray { tensor: Tensor::concat(&ts, axis)?, format: first.format.clone() })
    }

    /// Joins the flattened data of arrays (numpy's `concatenate(axis=None)`); unformatted.
    pub fn concatenate_flat(items: &[DlArray]) -> Result<Tensor> {
        let flat: Vec<Tensor> = items.iter().map(|d| d.tensor.reshape(&[d.tensor.numel()])).collect::<Result<_>>()?;
        if flat.is_empty() {
            return Err(Error::value("concatenate", "need at least one array"));
        }
        Tensor::concat(&flat, 0)
    }

    /// Stacks arrays of one shape along a new axis `axis` (numpy's `stack`, negative axes
    /// from the end); the result is unformatted.
    pub fn stack(items: &[DlArray], axis: isize) -> Result<Tensor> {
        const OP: &str = "stack";
        let first = items.first().ok_or_else(|| Error::value(OP, "need at least one array"))?;
        if let Some(other) = items.iter().find(|d| d.tensor.shape() != first.tensor.shape()) {
            return Err(Error::shape(
                OP,
                format!("all arrays must have the same shape, got {:?} and {:?}", first.tensor.shape(), other.tensor.shape()),
            ));
        }
        let ax = crate::shape::normalize_axis(OP, axis, first.tensor.ndim() + 1)?;
        let mut shape = first.tensor.shape().to_vec();
        shape.insert(ax, 1);
        let ts: Vec<Tensor> = items.iter().map(|d| d.tensor.reshape(&shape)).collect::<Result<_>>()?;
        Tensor::concat(&ts, ax).map_err(|e| e.within(OP))
    }
}
