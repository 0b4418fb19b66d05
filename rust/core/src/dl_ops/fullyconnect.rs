//! `fullyconnect` on formatted arrays: every S, C and U element of an observation weighted
//! and summed, in MATLAB's column-major feature order, so weights exported from MATLAB give
//! identical outputs.

use crate::dl_ops::layout::OpLayout;
use crate::error::{Error, Result};
use crate::format::{Format, Label};
use crate::labeled::DlArray;
use crate::shape::show;
use crate::tensor::Tensor;

impl DlArray {
    /// MATLAB's `fullyconnect(X, weights, bias)`. The features of `X[h, w, c, n]` ("SSCB",
    /// shape (H, W, C, N)) are numbered `h + H*(w + W*c)`; `weights` is (O, features) or
    /// (O, feature dims...); `bias` has O elements (1-D or (O, 1)) or one. The output is
    /// "CB" (O, N), or "CBT" with a T dim; unformatted input gives that layout unformatted.
    pub fn fullyconnect(&self, data_format: Option<&str>, weights: &Tensor, bias: Option<&Tensor>) -> Result<DlArray> {
        const OP: &str = "fullyconnect";
        let layout = OpLayout::of(OP, self, data_format)?;
        layout.require(OP, &[Label::C], self.tensor.shape())?;
        let x = layout.plain(self)?;
        let labels = layout.labels();
        // MATLAB applies a format by permuting into canonical order; an unformatted input
        // given in another order is permuted the same way so the flattening order is MATLAB's.
        let (canonical, _) = Format::canonicalize(labels);
        let features: Vec<usize> = canonical.iter().copied().filter(|&i| matches!(labels[i], Label::S | Label::C | Label::U)).collect();
        let (b_axis, t_axis) = (layout.axis(Label::B), layout.axis(Label::T));
        let mut perm = features.clone();
        perm.extend(b_axis.iter().chain(t_axis.iter()));
        let x = if perm.iter().enumerate().all(|(i, &p)| i == p) { x } else { x.permute(&perm)? };
        let feature_shape = &x.shape()[..features.len()];
        let n_in: usize = feature_shape.iter().product();
        let size = |axis: Option<usize>| axis.map_or(1, |a| self_size(&x, &perm, a));
        let (n_b, n_t) = (size(b_axis), size(t_axis));
        let w = weights_matrix(OP, weights, feature_shape, n_in, &layout, self.tensor.shape())?;
        let n_out = w.shape()[0];
        let mut y = w.matmul(&x.reshape(&[n_in, n_b * n_t])?)?;
        if let Some(b) = bias {
            y = y.add(&bias_column(OP, b, n_out)?)?;
        }
        let y = if t_axis.is_some() { y.reshape(&[n_out, n_b, n_t])? } else { y };
        let out = if t_axis.is_some() { [Label::C, Label::B, Label::T].to_vec() } else { [Label::C, Label::B].to_vec() };
        Ok(DlArray { tensor: y, format: layout.formatted().then(|| Format::from_labels(out)) })
    }
}

/// The size of the dim that was at `axis` before `perm`.
fn self_size(x: &Tensor, perm: &[usize], axis: usize) -> usize {
    perm.iter().position(|&p| p == axis).map_or(1, |i| x.shape()[i])
}

/// Weights as (O, features) with columns in row-major feature order.
fn weights_matrix(op: &str, w: &Tensor, feature_shape: &[usize], n_in: usize, layout: &OpLayout, x_shape: &[usize]) -> Result<Tensor> {
    let shape = w.shape();
    if shape.len() == 2 && shape[1] == n_in {
        if feature_shape.len() == 1 {
            return Ok(w.clone());
        }
        // Column j of MATLAB's matrix is the column-major feature index.
        let mut split = vec![shape[0]];
        split.extend_from_slice(feature_shape);
        return w.reshape_f(&split)?.reshape(&[shape[0], n_in]);
    }
    if shape.len() >= 2 {
        // MATLAB drops trailing singleton dims: (O, H, W) is (O, H, W, 1).
        let given = &shape[1..];
        let matches = given.len() <= feature_shape.len()
            && given == &feature_shape[..given.len()]
            && feature_shape[given.len()..].iter().all(|&d| d == 1);
        if matches {
            return w.reshape(&[shape[0], n_in]);
        }
    }
    let dims: Vec<String> = feature_shape.iter().map(|d| d.to_string()).collect();
    Err(Error::shape(
        op,
        format!(
            "weights of shape {} do not match input of format '{}' and shape {}: expected (output_size, {n_in}) or \
             (output_size, {})",
            show(shape),
            layout.label_string(),
            show(x_shape),
            dims.join(", ")
        ),
    ))
}

fn bias_column(op: &str, b: &Tensor, n_out: usize) -> Result<Tensor> {
    if b.ndim() == 0 || (b.numel() == 1 && n_out != 1) {
        return b.reshape(&[1, 1]);
    }
    if b.shape() != [n_out] && b.shape() != [n_out, 1] {
        return Err(Error::shape(
            op,
            format!("bias must have {n_out} elements, shape ({n_out},) or ({n_out}, 1), got shape {}", show(b.shape())),
        ));
    }
    b.reshape(&[n_out, 1])
}
