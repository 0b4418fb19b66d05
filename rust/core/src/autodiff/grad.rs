//! `dlgradient`: its checks and options around the graph walker.

use super::trace;
use super::walk::Walk;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

pub struct GradOptions {
    pub retain_data: bool,
    pub enable_higher_derivatives: bool,
    /// With `enable_higher_derivatives`: the recorded backward pass will only be replayed
    /// (dlaccelerate's first-order gradients), never differentiated, so rules may record
    /// fused kernels.
    pub for_replay: bool,
}

/// Gradients of the real scalar `y` with respect to each of `xs`.
pub fn gradient(y: &Tensor, xs: &[Tensor], opts: &GradOptions) -> Result<Vec<Tensor>> {
    const OP: &str = "dlgradient";
    if !trace::in_dlfeval() {
        return Err(Error::autodiff(OP, "dlgradient must be called inside a function evaluated by dlfeval"));
    }
    if y.numel() != 1 {
        return Err(Error::autodiff(OP, format!("y must be a scalar, got shape {:?}; reduce it first, e.g. with sum()", y.shape())));
    }
    if y.dtype().is_complex() {
        return Err(Error::autodiff(OP, "y must be real, got a complex value; take real() or abs() first"));
    }
    for (i, x) in xs.iter().enumerate() {
        if !x.is_traced() {
            return Err(Error::autodiff(
                OP,
                format!("input {i} (shape {:?}) is not traced: pass arrays that were inputs of dlfeval or computed from them", x.shape()),
            ));
        }
    }
    if !y.is_traced() {
        return Err(Error::autodiff(
            OP,
            "y is not traced: it does not depend on the inputs of dlfeval (to differentiate a gradient, \
             compute it with enable_higher_derivatives=True)",
        ));
    }

    let higher = opts.enable_higher_derivatives;
    let walk = Walk { targets: xs, stop_at_targets: false, detach_dead_inputs: !higher };
    let replay_only = higher && opts.for_replay;
    let (grads, order) = trace::with_recording(higher, || trace::with_replay_only(replay_only, || walk.run(y, y.ones_like())))?;

    if !opts.retain_data && !higher {
        for t in &order {
            if let Some(n) = t.node() {
                if !n.is_leaf() {
                    n.free();
                }
            }
        }
    }

    xs.iter()
        .zip(grads)
        .map(|(x, g)| {
            let g = g.unwrap_or_else(|| x.zeros_like());
            let g = if g.dtype() != x.dtype() { trace::with_recording(higher, || g.cast(x.dtype()))? } else { g };
            if higher {
                Ok(traced_constant(g, x))
            } else {
                Ok(g.detach())
            }
        })
        .collect()
}

/// With higher derivatives on, every returned gradient must be traced so that it can be
/// differentiated again. A gradient that came out untraced (the zeros of an `x` that `y`
/// does not reach, the ones of `y = sum(x)`, the constant slope of a linear `y`) does not
/// depend on any traced value, so its own derivative is zero: it is attached to `x` by an op
/// that propagates nothing, which makes a further `dlgradient` return exact zeros instead of
/// failing with "y is not traced".
fn traced_constant(g: Tensor, x: &Tensor) -> Tensor {
    if g.is_traced() {
        return g;
    }
    let shape = g.shape().to_vec();
    trace::with_recording(true, || Tensor::from_op_storage(g.storage().clone(), shape, crate::op::OpKind::ConstantGradient, &[x]))
}
