//! Batch normalisation with batch statistics as one recorded op.
//!
//! The forward pass is two reads of `x` (per-channel moments) and one write. Its backward
//! rule is a fused kernel (one read of `g` and `x` for the per-channel sums, one pass for
//! `dx`) when the backward pass is not being recorded; when it is (higher derivatives on),
//! the rule builds the same gradient from differentiable ops instead, so it can be
//! differentiated again.

use std::sync::Arc;

use crate::autodiff::{trace, Op};
use crate::buffer::Buffer;
use crate::error::{Error, Result};
use crate::kernels::norm::{channel_affine, channel_grad_sums, channel_moments};
use crate::op::{Moments, OpKind, Saved};
use crate::tensor::Tensor;

use super::standardize::{centred, standardized};

const OP: &str = "batchnorm";

/// Where the channel axis sits: the array viewed as (outer, C, inner).
struct Geometry {
    outer: usize,
    c: usize,
    inner: usize,
    /// Every axis but the channel axis: the axes the statistics reduce over.
    axes: Vec<usize>,
    /// `[1, ..., C, ..., 1]`: a per-channel vector broadcast against `x`.
    bshape: Vec<usize>,
    /// Elements per channel.
    m: usize,
}

impl Geometry {
    fn new(shape: &[usize], axis: usize) -> Geometry {
        let c = shape[axis];
        let outer: usize = shape[..axis].iter().product();
        let inner: usize = shape[axis + 1..].iter().product();
        let mut bshape = vec![1; shape.len()];
        bshape[axis] = c;
        Geometry { outer, c, inner, axes: (0..shape.len()).filter(|&a| a != axis).collect(), bshape, m: outer * inner }
    }
}

/// Per-channel mean and biased variance.
fn moments(x: &Tensor, geo: &Geometry) -> Result<(Vec<f64>, Vec<f64>)> {
    Ok(match x.buffer()? {
        Buffer::F32(v) => channel_moments(v, geo.outer, geo.c, geo.inner),
        Buffer::F64(v) => channel_moments(v, geo.outer, geo.c, geo.inner),
        _ => return Err(Error::dtype(OP, format!("needs real float32/float64 data, got {}", x.dtype()))),
    })
}

fn vector(values: &[f64], like: &Tensor) -> Buffer {
    Buffer::F64(values.to_vec().into()).cast(like.dtype())
}

/// `a·(x − mean) + b (+ k·g)` per channel, `coef` = `(a, b, k)`.
fn affine(x: &Tensor, g: Option<&Tensor>, coef: &[(f64, f64, f64)], mean: &[f64], geo: &Geometry) -> Result<Buffer> {
    Ok(match (x.buffer()?, g.map(|g| g.buffer()).transpose()?) {
        (Buffer::F32(v), None) => Buffer::F32(channel_affine(v, None, coef, mean, geo.c, geo.inner).into()),
        (Buffer::F64(v), None) => Buffer::F64(channel_affine(v, None, coef, mean, geo.c, geo.inner).into()),
        (Buffer::F32(v), Some(Buffer::F32(gv))) => Buffer::F32(channel_affine(v, Some(gv), coef, mean, geo.c, geo.inner).into()),
        (Buffer::F64(v), Some(Buffer::F64(gv))) => Buffer::F64(channel_affine(v, Some(gv), coef, mean, geo.c, geo.inner).into()),
        _ => return Err(Error::dtype(OP, format!("needs real float32/float64 data, got {}", x.dtype()))),
    })
}

impl Tensor {
    /// Normalises each channel (axis `c_axis`) over every other axis with the batch mean and
    /// biased variance, then scales and offsets it: `y = scale * (x - mean) / sqrt(var + eps)
    /// + offset`. `offset` and `scale` are 1-D of length C with `x`'s dtype. Returns
    /// `(y, mean, var)`, the statistics 1-D of length C; all three are differentiable.
    pub fn batchnorm_train(&self, offset: &Tensor, scale: &Tensor, c_axis: usize, epsilon: f64) -> Result<(Tensor, Tensor, Tensor)> {
        if c_axis >= self.ndim() {
            return Err(Error::index(OP, format!("channel axis {c_axis} is out of range for shape {:?}", self.shape())));
        }
        let geo = Geometry::new(self.shape(), c_axis);
        for (name, p) in [("offset", offset), ("scale", scale)] {
            if p.shape() != [geo.c] {
                return Err(Error::shape(
                    OP,
                    format!("{name} must have shape ({},) for input of shape {:?}, got {:?}", geo.c, self.shape(), p.shape()),
                ));
            }
            if p.dtype() != self.dtype() {
                return Err(Error::dtype(OP, format!("{name} is {} but the input is {}", p.dtype(), self.dtype())));
            }
        }
        if !(epsilon > 0.0) {
            return Err(Error::value(OP, format!("epsilon must be positive, got {epsilon}")));
        }
        let kind = OpKind::Batchnorm { axis: c_axis, epsilon };
        if let Some((y, mean, var)) = crate::gpu_backend::batchnorm_train(self, offset, scale, (geo.outer, geo.c, geo.inner), epsilon)? {
            // No host moments are saved (reading them back would stall the device), so the
            // backward rule builds the gradient from differentiable ops, which run there too.
            let y = Tensor::from_op_storage(y, self.shape().to_vec(), kind, &[self, offset, scale]);
            let c = vec![geo.c];
            let mean = Tensor::from_op_storage(mean, c.clone(), OpKind::BatchnormMean { axis: c_axis }, &[self]);
            let var = Tensor::from_op_storage(var, c, OpKind::BatchnormVar { axis: c_axis }, &[self]);
            return Ok((y, mean, var));
        }
        let (mean, var) = moments(self, &geo)?;
        let invstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
        let (off, sc) = (offset.to_f64_vec()?, scale.to_f64_vec()?);
        let coef: Vec<(f64, f64, f64)> = (0..geo.c).map(|ch| (sc[ch] * invstd[ch], off[ch], 0.0)).collect();
        let ydata = affine(self, None, &coef, &mean, &geo)?;
        let (mean_t, var_t) = self.statistics(c_axis, &mean, &var);
        let saved = || Saved::Moments(Arc::new(Moments { mean, invstd }));
        let y = Tensor::from_op_saved(Arc::new(ydata), self.shape().to_vec(), kind, &[self, offset, scale], saved);
        Ok((y, mean_t, var_t))
    }

    /// The batch mean and biased variance of each channel (axis `c_axis`) over every other
    /// axis, as two differentiable 1-D arrays.
    pub fn batch_statistics(&self, c_axis: usize) -> Result<(Tensor, Tensor)> {
        if c_axis >= self.ndim() {
            return Err(Error::index(OP, format!("channel axis {c_axis} is out of range for shape {:?}", self.shape())));
        }
        let geo = Geometry::new(self.shape(), c_axis);
        let (mean, var) = moments(self, &geo)?;
        Ok(self.statistics(c_axis, &mean, &var))
    }

    /// The recorded statistics tensors for moments computed from `self`.
    fn statistics(&self, c_axis: usize, mean: &[f64], var: &[f64]) -> (Tensor, Tensor) {
        let c = vec![mean.len()];
        (
            Tensor::from_op(vector(mean, self), c.clone(), OpKind::BatchnormMean { axis: c_axis }, &[self]),
            Tensor::from_op(vector(var, self), c, OpKind::BatchnormVar { axis: c_axis }, &[self]),
        )
    }
}

/// The backward rule of `batchnorm`: gradients of `y` w.r.t. (x, offset, scale).
pub(crate) fn batchnorm_backward(op: &Op, inp: &[Tensor], g: &Tensor, axis: usize, epsilon: f64) -> Result<Vec<Option<Tensor>>> {
    let (x, scale) = (&inp[0], &inp[2]);
    let geo = &Geometry::new(x.shape(), axis);
    if trace::recording_for_replay_only() && g.shape() == x.shape() && x.device() == crate::storage::Device::Cpu && g.dtype() == x.dtype() {
        return replayed_grad(x, scale, g, geo, axis, epsilon);
    }
    let saved = match op.saved.moments() {
        Some(m) if !trace::is_recording() && g.shape() == x.shape() => m,
        _ => return composite_grad(x, scale, g, geo, epsilon),
    };
    let g = if g.dtype() != x.dtype() { g.cast(x.dtype())? } else { g.clone() };
    let Some(sums) = grad_sums(&g, x, &saved.mean, geo)? else { return composite_grad(x, scale, &g, geo, epsilon) };
    let coef = input_grad_coefs(&sums, &saved.invstd, &scale.to_f64_vec()?, geo);
    let dx = Tensor::from_buffer(affine(x, Some(&g), &coef, &saved.mean, geo)?, x.shape().to_vec())?;
    let doff: Vec<f64> = sums.iter().map(|s| s.0).collect();
    let dsc: Vec<f64> = sums.iter().zip(&saved.invstd).map(|(s, inv)| s.1 * inv).collect();
    let doff = Tensor::from_buffer(vector(&doff, x), vec![geo.c])?;
    let dsc = Tensor::from_buffer(vector(&dsc, x), vec![geo.c])?;
    Ok(vec![Some(dx), Some(doff), Some(dsc)])
}

/// Per channel `(Σg, Σg·(x − mean))`, or `None` for dtypes the kernel does not take.
fn grad_sums(g: &Tensor, x: &Tensor, mean: &[f64], geo: &Geometry) -> Result<Option<Vec<(f64, f64)>>> {
    Ok(match (g.buffer()?, x.buffer()?) {
        (Buffer::F32(gv), Buffer::F32(xv)) => Some(channel_grad_sums(gv, xv, mean, geo.outer, geo.c, geo.inner)),
        (Buffer::F64(gv), Buffer::F64(xv)) => Some(channel_grad_sums(gv, xv, mean, geo.outer, geo.c, geo.inner)),
        _ => None,
    })
}

/// The per-channel `(B, C, A)` of `dx = A g + B (x − μ) + C` from the sums `(Σg, Σg(x−μ))`:
/// `A = s/σ`, `B = −s/σ³ · Σg(x−μ)/M`, `C = −A · Σg/M`.
fn input_grad_coefs(sums: &[(f64, f64)], invstd: &[f64], scale: &[f64], geo: &Geometry) -> Vec<(f64, f64, f64)> {
    let m = geo.m.max(1) as f64;
    sums.iter()
        .zip(invstd)
        .zip(scale)
        .map(|((&(sg, sgx), &inv), &s)| {
            let a = s * inv;
            (-s * inv * inv * inv * sgx / m, -a * sg / m, a)
        })
        .collect()
}

/// The operands of the replayed gradient ops: `g` shaped and typed as x, `axis` one of x's.
fn check_grad_operands(what: &str, x: &Tensor, g: &Tensor, axis: usize) -> Result<()> {
    if g.shape() != x.shape() || g.dtype() != x.dtype() || axis >= x.ndim() {
        return Err(Error::shape(
            what,
            format!("g {:?} ({}) must match x {:?} ({}), axis {axis}", g.shape(), g.dtype(), x.shape(), x.dtype()),
        ));
    }
    Ok(())
}

/// The gradients as two fused recorded ops, for a backward pass that is only replayed: the
/// per-channel sums (one op, packed), then the input gradient from them. Each recomputes the
/// statistics from x (a replay keeps no saved values), which still reads x and g far fewer
/// times than the composite gradient's dozen elementwise ops and reductions.
fn replayed_grad(x: &Tensor, scale: &Tensor, g: &Tensor, geo: &Geometry, axis: usize, epsilon: f64) -> Result<Vec<Option<Tensor>>> {
    let sums = x.batchnorm_param_grads(g, axis, epsilon)?;
    let dx = x.batchnorm_input_grad(scale, g, &sums, axis, epsilon)?;
    let doff = sums.narrow(0, 0, geo.c)?;
    let dsc = sums.narrow(0, geo.c, geo.c)?;
    Ok(vec![Some(dx), Some(doff), Some(dsc)])
}

/// Per-channel mean and `1/sqrt(var + epsilon)` of x.
fn mean_invstd(x: &Tensor, geo: &Geometry, epsilon: f64) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mean, var) = moments(x, geo)?;
    Ok((mean, var.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect()))
}

impl Tensor {
    /// batchnorm's offset and scale gradients for upstream gradient `g`, packed as
    /// `[Σg; Σg·x̂]` per channel (`x̂` standardised with x's batch statistics).
    pub fn batchnorm_param_grads(&self, g: &Tensor, axis: usize, epsilon: f64) -> Result<Tensor> {
        const WHAT: &str = "batchnorm_param_grads";
        check_grad_operands(WHAT, self, g, axis)?;
        let geo = Geometry::new(self.shape(), axis);
        let (mean, invstd) = mean_invstd(self, &geo, epsilon)?;
        let sums = grad_sums(g, self, &mean, &geo)?
            .ok_or_else(|| Error::dtype(WHAT, format!("needs real float32/float64 data, got {}", self.dtype())))?;
        let packed: Vec<f64> = sums.iter().map(|s| s.0).chain(sums.iter().zip(&invstd).map(|(s, inv)| s.1 * inv)).collect();
        Ok(Tensor::from_op(vector(&packed, self), vec![2 * geo.c], OpKind::BatchnormParamGrads { axis, epsilon }, &[self, g]))
    }

    /// batchnorm's input gradient for upstream gradient `g`, from the packed sums that
    /// [`Tensor::batchnorm_param_grads`] gives.
    pub fn batchnorm_input_grad(&self, scale: &Tensor, g: &Tensor, param_grads: &Tensor, axis: usize, epsilon: f64) -> Result<Tensor> {
        const WHAT: &str = "batchnorm_input_grad";
        check_grad_operands(WHAT, self, g, axis)?;
        let geo = Geometry::new(self.shape(), axis);
        if scale.shape() != [geo.c] || param_grads.shape() != [2 * geo.c] {
            return Err(Error::shape(WHAT, format!("scale {:?} and sums {:?} for {} channels", scale.shape(), param_grads.shape(), geo.c)));
        }
        let (mean, invstd) = mean_invstd(self, &geo, epsilon)?;
        let packed = param_grads.to_f64_vec()?;
        // Back from the packed [Σg; Σg·x̂] to (Σg, Σg(x−μ)): Σg(x−μ) = σ Σg·x̂.
        let sums: Vec<(f64, f64)> = (0..geo.c).map(|ch| (packed[ch], packed[geo.c + ch] / invstd[ch])).collect();
        let coef = input_grad_coefs(&sums, &invstd, &scale.to_f64_vec()?, &geo);
        let dx = affine(self, Some(g), &coef, &mean, &geo)?;
        Ok(Tensor::from_op(dx, self.shape().to_vec(), OpKind::BatchnormInputGrad { axis, epsilon }, &[self, scale, g, param_grads]))
    }
}

/// The backward rule of the batch mean: `g / M`, spread over each channel.
pub(crate) fn batch_mean_backward(x: &Tensor, g: &Tensor, axis: usize) -> Result<Tensor> {
    let geo = Geometry::new(x.shape(), axis);
    g.reshape(&geo.bshape)?.broadcast_to(x.shape())?.mul_scalar(1.0 / geo.m.max(1) as f64)
}

/// The backward rule of the batch variance: d var / dx = 2 (x - mean) / M, with the mean
/// recomputed from x so that a recorded backward pass carries its dependence on x.
pub(crate) fn batch_var_backward(x: &Tensor, g: &Tensor, axis: usize) -> Result<Tensor> {
    let geo = Geometry::new(x.shape(), axis);
    let xc = x.sub(&x.mean_axes(&geo.axes, true)?)?;
    xc.mul(&g.reshape(&geo.bshape)?)?.mul_scalar(2.0 / geo.m.max(1) as f64)
}

/// The same gradient from differentiable ops (used while the backward pass is recorded).
fn composite_grad(x: &Tensor, scale: &Tensor, g: &Tensor, geo: &Geometry, epsilon: f64) -> Result<Vec<Option<Tensor>>> {
    let axes = &geo.axes;
    let (xhat, inv) = standardized(x, axes, epsilon)?;
    let dx = scale.reshape(&geo.bshape)?.mul(&inv)?.mul(&centred(g, &xhat, axes)?)?;
    let dsc = g.mul(&xhat)?.sum_axes(axes, false)?;
    let doff = g.sum_axes(axes, false)?;
    Ok(vec![Some(dx), Some(doff), Some(dsc)])
}

#[cfg(test)]
mod tests {
    use crate::autodiff::{grad::GradOptions, gradient, trace};

    use crate::ops::test_data as data;

    #[test]
    fn fused_and_composite_backward_agree() {
        let x = data(&[3, 4, 2], 0.0);
        let off = data(&[4], 1.0);
        let sc = data(&[4], 2.0);
        let w = data(&[3, 4, 2], 3.0);
        let run = |higher: bool| -> Vec<Vec<f64>> {
            let tok = trace::enter();
            let (xs, os, ss) = (x.traced_leaf(), off.traced_leaf(), sc.traced_leaf());
            let (y, _, _) = xs.batchnorm_train(&os, &ss, 1, 1e-5).unwrap();
            let loss = y.mul(&w).unwrap().sum_all().unwrap();
            let opts = GradOptions { retain_data: false, enable_higher_derivatives: higher, for_replay: false };
            let gs = gradient(&loss, &[xs, os, ss], &opts).unwrap();
            trace::exit(tok);
            gs.iter().map(|t| t.to_f64_vec().unwrap()).collect()
        };
        let (fused, composite) = (run(false), run(true));
        for (a, b) in fused.iter().zip(&composite) {
            for (u, v) in a.iter().zip(b) {
                assert!((u - v).abs() < 1e-10, "{u} vs {v}");
            }
        }
    }

    #[test]
    fn replay_only_backward_records_the_fused_ops_and_agrees() {
        let x = data(&[3, 4, 2], 0.0);
        let off = data(&[4], 1.0);
        let sc = data(&[4], 2.0);
        let w = data(&[3, 4, 2], 3.0);
        let run = |for_replay: bool| -> (Vec<Vec<f64>>, String) {
            let tok = trace::enter();
            let (xs, os, ss) = (x.traced_leaf(), off.traced_leaf(), sc.traced_leaf());
            let (y, _, _) = xs.batchnorm_train(&os, &ss, 1, 1e-5).unwrap();
            let loss = y.mul(&w).unwrap().sum_all().unwrap();
            let opts = GradOptions { retain_data: true, enable_higher_derivatives: true, for_replay };
            let gs = gradient(&loss, &[xs, os, ss], &opts).unwrap();
            let listing = crate::autodiff::listing::listing(&gs[0]);
            trace::exit(tok);
            (gs.iter().map(|t| t.to_f64_vec().unwrap()).collect(), listing)
        };
        let ((fused, listing), (composite, _)) = (run(true), run(false));
        assert!(listing.contains("batchnorm_input_grad") && listing.contains("batchnorm_param_grads"), "{listing}");
        for (a, b) in fused.iter().zip(&composite) {
            for (u, v) in a.iter().zip(b) {
                assert!((u - v).abs() < 1e-10, "{u} vs {v}");
            }
        }
    }
}
