//! Where the S, C, B and T dims of a deep-learning op's input are, and moving them into the
//! layout the kernels use — MATLAB's own (S1, ..., Sd, C, B), so a formatted input needs no
//! copy — and back.
//!
//! A formatted input names its own dims; an unformatted one needs the op's `data_format`
//! option and keeps its layout: its output is unformatted and laid out in the order
//! `data_format` gave (MATLAB).

use crate::error::{Error, Result};
use crate::format::{Format, Label};
use crate::labeled::DlArray;
use crate::shape::show;
use crate::tensor::Tensor;

/// The labels of an op input's dims, in the array's own order, and whether the result gets
/// a format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpLayout {
    labels: Vec<Label>,
    formatted: bool,
}

/// A format given as an option (`data_format`, `weights_format`, ...): labels S, C, B, T, U
/// in any order and case, C, B and T at most once; `None` and "" mean "not given".
pub fn format_option(op: &str, name: &str, value: Option<&str>) -> Result<Option<Vec<Label>>> {
    match value {
        None | Some("") => Ok(None),
        Some(v) => Format::parse_labels(op, v).map(Some).map_err(|e| Error::format(op, format!("invalid {name} '{v}': {}", e.parts().1))),
    }
}

impl OpLayout {
    /// The layout of `x`: its format, or `data_format` for an unformatted array (missing
    /// trailing dims count as singletons, as in MATLAB).
    pub fn of(op: &str, x: &DlArray, data_format: Option<&str>) -> Result<OpLayout> {
        let given = format_option(op, "data_format", data_format)?;
        match (&x.format, given) {
            (Some(f), None) => Ok(OpLayout { labels: f.labels().to_vec(), formatted: true }),
            (Some(f), Some(g)) => {
                if g != f.labels() {
                    return Err(Error::format(
                        op,
                        format!("data_format='{}' given for an input already formatted '{f}'", data_format.unwrap_or_default()),
                    ));
                }
                Ok(OpLayout { labels: g, formatted: true })
            }
            (None, None) => Err(Error::format(
                op,
                format!("the input (shape {}) is unformatted: give it a format or pass data_format=", show(x.tensor.shape())),
            )),
            (None, Some(g)) => {
                if g.len() < x.tensor.ndim() {
                    return Err(Error::format(
                        op,
                        format!(
                            "data_format '{}' has {} labels but the input has shape {}",
                            data_format.unwrap_or_default(),
                            g.len(),
                            show(x.tensor.shape())
                        ),
                    ));
                }
                Ok(OpLayout { labels: g, formatted: false })
            }
        }
    }

    pub fn labels(&self) -> &[Label] {
        &self.labels
    }
    pub fn formatted(&self) -> bool {
        self.formatted
    }
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// The labels as a string, in the array's own order ("SSCB").
    pub fn label_string(&self) -> String {
        self.labels.iter().map(|l| l.as_char()).collect()
    }
    /// Positions of the dims labelled `label`.
    pub fn axes(&self, label: Label) -> Vec<usize> {
        self.labels.iter().enumerate().filter(|(_, &l)| l == label).map(|(i, _)| i).collect()
    }
    /// Position of the (first) dim labelled `label`.
    pub fn axis(&self, label: Label) -> Option<usize> {
        self.labels.iter().position(|&l| l == label)
    }
    pub fn has(&self, label: Label) -> bool {
        self.labels.contains(&label)
    }

    /// A FormatError unless every one of `labels` is present.
    pub fn require(&self, op: &str, labels: &[Label], shape: &[usize]) -> Result<()> {
        let missing: String = labels.iter().filter(|l| !self.has(**l)).map(|l| l.as_char()).collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(Error::format(op, format!("input with format '{}' (shape {}) has no '{missing}' dimension", self.label_string(), show(shape))))
    }

    /// The dims a convolution or pooling window slides over: the S dims, or T for 1-D
    /// convolution over time.
    pub fn window_axes(&self, op: &str) -> Result<Vec<usize>> {
        let s = self.axes(Label::S);
        if !s.is_empty() {
            if self.has(Label::T) {
                return Err(Error::format(
                    op,
                    format!("convolution of data with both S and T dims ('{}') is not supported", self.label_string()),
                ));
            }
            return Ok(s);
        }
        let t = self.axes(Label::T);
        if !t.is_empty() {
            return Ok(t);
        }
        Err(Error::format(op, format!("input with format '{}' has no spatial (S) or time (T) dimension", self.label_string())))
    }

    /// `x`'s data, unformatted, with trailing singleton dims up to the layout's length.
    pub fn plain(&self, x: &DlArray) -> Result<Tensor> {
        let t = &x.tensor;
        if t.ndim() >= self.len() {
            return Ok(t.clone());
        }
        let mut shape = t.shape().to_vec();
        shape.resize(self.len(), 1);
        t.reshape(&shape)
    }

    /// `x` as (S1..Sd, C, B) — a size-1 C or B appended when absent — with `spatial` the
    /// window dims (any other labelled dim is an error). A formatted input is already in
    /// this layout and is not copied.
    pub fn to_kernel(&self, op: &str, x: &DlArray, spatial: &[usize]) -> Result<KernelInput> {
        let extra: String = self
            .labels
            .iter()
            .enumerate()
            .filter(|(i, l)| !matches!(l, Label::C | Label::B) && !spatial.contains(i))
            .map(|(_, l)| l.as_char())
            .collect();
        if !extra.is_empty() {
            return Err(Error::format(op, format!("unsupported '{extra}' dimension in format '{}'", self.label_string())));
        }
        let mut t = self.plain(x)?;
        let mut shape = t.shape().to_vec();
        let c = self.axis(Label::C).unwrap_or_else(|| {
            shape.push(1);
            shape.len() - 1
        });
        let b = self.axis(Label::B).unwrap_or_else(|| {
            shape.push(1);
            shape.len() - 1
        });
        if shape.len() != t.ndim() {
            t = t.reshape(&shape)?;
        }
        let mut perm = spatial.to_vec();
        perm.extend([c, b]);
        let identity = perm.iter().enumerate().all(|(i, &p)| i == p);
        Ok(KernelInput { tensor: if identity { t } else { t.permute(&perm)? }, perm })
    }

    /// The inverse of [`OpLayout::to_kernel`]: `y` in kernel layout back to the input's dim
    /// order (and format).
    pub fn from_kernel(&self, y: &Tensor, perm: &[usize]) -> Result<DlArray> {
        let mut y = if perm.iter().enumerate().all(|(i, &p)| i == p) {
            y.clone()
        } else {
            let mut inverse = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p] = i;
            }
            y.permute(&inverse)?
        };
        if y.ndim() > self.len() {
            // drop the appended C / B
            y = y.reshape(&y.shape()[..self.len()])?;
        }
        Ok(self.restore(y))
    }

    /// `y`, already in the input's dim order, with the input's format if it had one.
    pub fn restore(&self, y: Tensor) -> DlArray {
        let format = self.formatted.then(|| Format::from_labels(self.labels.clone()));
        DlArray { tensor: y, format }
    }
}

/// An op input moved into kernel layout, and the permutation that did it (for the way back).
pub struct KernelInput {
    pub tensor: Tensor,
    pub perm: Vec<usize>,
}
