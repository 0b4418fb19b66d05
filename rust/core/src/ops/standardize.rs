//! Standardisation over a set of axes, `(x − mean) / sqrt(var + ε)` per group of elements
//! sharing their other indices: the core of layer, group and instance normalisation, as one
//! recorded op.
//!
//! The forward pass reads `x` twice (mean, then squared deviations) and writes once. The
//! backward rule is a fused kernel (one pass for the per-group sums of `g` and `g·(x − μ)`,
//! one for `dx`) when the backward pass is not being recorded; when it is (higher derivatives
//! on), the rule builds the same gradient from differentiable ops, so it differentiates again.

use std::sync::Arc;

use crate::autodiff::{trace, Op};
use crate::buffer::Buffer;
use crate::error::{Error, Result};
use crate::kernels::standardize::{group_affine, group_grad_sums, group_moments, Groups};
use crate::op::{Moments, OpKind, Saved};
use crate::tensor::Tensor;

const OP: &str = "standardize";

/// `a·(x − mean) + b (+ c·g)` per group, `coef` = `(a, b, c)`.
fn apply(x: &Tensor, g: Option<&Tensor>, coef: &[(f64, f64, f64)], mean: &[f64], gr: &Groups) -> Result<Buffer> {
    Ok(match (x.buffer()?, g.map(|g| g.buffer()).transpose()?) {
        (Buffer::F32(v), None) => Buffer::F32(group_affine(v, None, coef, mean, gr).into()),
        (Buffer::F64(v), None) => Buffer::F64(group_affine(v, None, coef, mean, gr).into()),
        (Buffer::F32(v), Some(Buffer::F32(gv))) => Buffer::F32(group_affine(v, Some(gv), coef, mean, gr).into()),
        (Buffer::F64(v), Some(Buffer::F64(gv))) => Buffer::F64(group_affine(v, Some(gv), coef, mean, gr).into()),
        _ => return Err(Error::dtype(OP, format!("needs real float32/float64 data, got {} (shape {:?})", x.dtype(), x.shape()))),
    })
}

impl Tensor {
    /// `(x − mean) / sqrt(var + epsilon)` with the mean and biased variance taken over `axes`
    /// (distinct, in range) separately for every combination of the other axes' indices.
    /// With no axes every element is its own group, so the result is zeros. Real input only.
    pub fn standardize(&self, axes: &[usize], epsilon: f64) -> Result<Tensor> {
        if let Some(&a) = axes.iter().find(|&&a| a >= self.ndim()) {
            return Err(Error::index(OP, format!("axis {a} is out of bounds for shape {:?}", self.shape())));
        }
        if !(epsilon > 0.0) {
            return Err(Error::value(OP, format!("epsilon must be positive, got {epsilon}")));
        }
        if self.numel() == 0 {
            // Empty in, empty out (the per-group statistics could still be a large array).
            return Ok(self.clone());
        }
        let kind = OpKind::Standardize { axes: axes.to_vec(), epsilon };
        if let Some(y) = crate::gpu_backend::standardize(self, axes, epsilon)? {
            // No host moments are saved (reading them back would stall the device): the
            // backward rule builds the gradient from differentiable ops, which run there too.
            return Ok(Tensor::from_op_storage(y, self.shape().to_vec(), kind, &[self]));
        }
        let gr = Groups::new(self.shape(), axes);
        let (mean, var) = match self.buffer()? {
            Buffer::F32(v) => group_moments(v, &gr),
            Buffer::F64(v) => group_moments(v, &gr),
            b => return Err(Error::dtype(OP, format!("needs real float32/float64 data, got {} (shape {:?})", b.dtype(), self.shape()))),
        };
        let invstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
        let coef: Vec<(f64, f64, f64)> = invstd.iter().map(|&s| (s, 0.0, 0.0)).collect();
        let data = apply(self, None, &coef, &mean, &gr)?;
        let saved = || Saved::Moments(Arc::new(Moments { mean, invstd }));
        Ok(Tensor::from_op_saved(Arc::new(data), self.shape().to_vec(), kind, &[self], saved))
    }
}

/// The backward rule of `standardize`: `dx = invstd · (g − mean(g) − x̂ · mean(g · x̂))`,
/// per group.
pub(crate) fn standardize_backward(op: &Op, x: &Tensor, g: &Tensor, axes: &[usize], epsilon: f64) -> Result<Tensor> {
    let saved = match op.saved.moments() {
        Some(m) if !trace::is_recording() && g.shape() == x.shape() => m,
        _ => return composite_grad(x, g, axes, epsilon),
    };
    let g = if g.dtype() != x.dtype() { g.cast(x.dtype())? } else { g.clone() };
    let gr = &Groups::new(x.shape(), axes);
    let sums = match (g.buffer()?, x.buffer()?) {
        (Buffer::F32(gv), Buffer::F32(xv)) => group_grad_sums(gv, xv, &saved.mean, gr),
        (Buffer::F64(gv), Buffer::F64(xv)) => group_grad_sums(gv, xv, &saved.mean, gr),
        _ => return composite_grad(x, &g, axes, epsilon),
    };
    let m = gr.size.max(1) as f64;
    // dx = a g + b (x − μ) + c with a = 1/σ, b = −Σg(x−μ)/(M σ³), c = −a Σg/M.
    let coef: Vec<(f64, f64, f64)> =
        sums.iter().zip(&saved.invstd).map(|(&(sg, sgx), &inv)| (-inv * inv * inv * sgx / m, -inv * sg / m, inv)).collect();
    Tensor::from_buffer(apply(x, Some(&g), &coef, &saved.mean, gr)?, x.shape().to_vec())
}

/// The same gradient from differentiable ops (used while the backward pass is recorded).
fn composite_grad(x: &Tensor, g: &Tensor, axes: &[usize], epsilon: f64) -> Result<Tensor> {
    if axes.is_empty() {
        return g.mul_scalar(0.0);
    }
    let (xhat, inv) = standardized(x, axes, epsilon)?;
    inv.mul(&centred(g, &xhat, axes)?)
}

/// `(x̂, 1/σ)`: x standardised over `axes` (biased variance plus `epsilon`), in
/// differentiable ops.
pub(crate) fn standardized(x: &Tensor, axes: &[usize], epsilon: f64) -> Result<(Tensor, Tensor)> {
    let xc = x.sub(&x.mean_axes(axes, true)?)?;
    let var = xc.mul(&xc)?.mean_axes(axes, true)?;
    let inv = Tensor::scalar_like(1.0, x.dtype()).div(&var.add_scalar(epsilon)?.sqrt()?)?;
    Ok((xc.mul(&inv)?, inv))
}

/// `g − mean(g) − x̂·mean(g·x̂)` over `axes`: the gradient through a standardisation, before
/// the final 1/σ.
pub(crate) fn centred(g: &Tensor, xhat: &Tensor, axes: &[usize]) -> Result<Tensor> {
    g.sub(&g.mean_axes(axes, true)?)?.sub(&xhat.mul(&g.mul(xhat)?.mean_axes(axes, true)?)?)
}

#[cfg(test)]
mod tests {
    use crate::autodiff::{grad::GradOptions, gradient, trace};

    use crate::ops::test_data as data;

    #[test]
    fn fused_and_composite_agree() {
        for axes in [vec![0usize], vec![1], vec![0, 2], vec![1, 2], vec![0, 1, 2]] {
            let x = data(&[3, 4, 5], 0.0);
            let w = data(&[3, 4, 5], 3.0);
            // Forward against the composite formula.
            let mu = x.mean_axes(&axes, true).unwrap();
            let xc = x.sub(&mu).unwrap();
            let var = xc.mul(&xc).unwrap().mean_axes(&axes, true).unwrap();
            let want = xc.div(&var.add_scalar(1e-5).unwrap().sqrt().unwrap()).unwrap().to_f64_vec().unwrap();
            let got = x.standardize(&axes, 1e-5).unwrap().to_f64_vec().unwrap();
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-12, "{axes:?}: {a} vs {b}");
            }
            let run = |higher: bool| -> Vec<f64> {
                let tok = trace::enter();
                let xs = x.traced_leaf();
                let loss = xs.standardize(&axes, 1e-5).unwrap().mul(&w).unwrap().sum_all().unwrap();
                let opts = GradOptions { retain_data: false, enable_higher_derivatives: higher, for_replay: false };
                let gs = gradient(&loss, &[xs], &opts).unwrap();
                trace::exit(tok);
                gs[0].to_f64_vec().unwrap()
            };
            for (u, v) in run(false).iter().zip(&run(true)) {
                assert!((u - v).abs() < 1e-10, "{axes:?}: {u} vs {v}");
            }
        }
    }
}
