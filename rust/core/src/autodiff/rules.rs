//! Every backward rule, one arm per [`OpKind`]: given the op's inputs, its output `y` and the
//! gradient `g` of the output, the gradient of each input (`None` where an input takes none).
//!
//! Rules are written in the core's differentiable ops, so a rule run while recording builds
//! the backward pass's own graph (derivatives of any order). Ops with a fused first-order
//! backward kernel (batchnorm, standardize, the recurrent ops) name it here; it is used when
//! the backward pass is not recorded.
//!
//! Complex inputs follow the convention that makes a real loss's gradient w.r.t. a complex
//! input `∂y/∂Re + i·∂y/∂Im`: for a holomorphic `f`, the input gradient is `g · conj(f'(z))`.
//! `conj` is free on real tensors.

use super::Op;
use crate::error::Result;
use crate::op::OpKind;
use crate::ops::{BinaryOp, ReduceOp, UnaryOp};
use crate::tensor::Tensor;

type Grads = Vec<Option<Tensor>>;

fn zero_like(t: &Tensor) -> Tensor {
    Tensor::scalar_like(0.0, t.dtype())
}
fn one_like(t: &Tensor) -> Tensor {
    Tensor::scalar_like(1.0, t.dtype())
}
/// `f()` for a traced input, `None` for a constant one.
fn when(input: &Tensor, f: impl FnOnce() -> Result<Tensor>) -> Result<Option<Tensor>> {
    if input.is_traced() {
        f().map(Some)
    } else {
        Ok(None)
    }
}

pub(crate) fn backward(op: &Op, inp: &[Tensor], y: &Tensor, g: &Tensor) -> Result<Grads> {
    use OpKind::*;
    let x = inp.first();
    let x0 = || x.expect("the op has an input");
    Ok(match &op.kind {
        Leaf => vec![],
        Alias => vec![Some(g.clone())],
        ToDevice { .. } => vec![Some(g.to_device(x0().device())?)],
        ConstantGradient => vec![None],

        Unary(u) => vec![unary(*u, x0(), y, g)?],
        AbsComplex => {
            // g · z/|z|, taken as 0 at z = 0.
            let safe = Tensor::where_(&y.eq_(&zero_like(y))?, &one_like(y), y)?;
            vec![Some(g.mul(&x0().div(&safe)?)?)]
        }
        // Linear in g (so its own backward is the same op); piecewise constant in x.
        ReluGrad => vec![when(x0(), || g.relu_grad(&inp[1]))?, None],
        // g · slope(x): the slope is piecewise constant in x (it has no gradient), so the rule
        // differentiates again (to zero in x, to the slope in g).
        LeakyRelu { scale } => vec![Some(g.mul(&x0().leaky_relu_slope(*scale)?)?)],
        LeakyReluSlope { .. } | StopGradient => vec![None],
        Binary(b) => binary(*b, &inp[0], &inp[1], y, g)?,
        Compare(_) => vec![None, None],
        Where => {
            let (cond, z) = (&inp[2], zero_like(g));
            vec![
                when(&inp[0], || Tensor::where_(cond, g, &z)?.sum_to(inp[0].shape()))?,
                when(&inp[1], || Tensor::where_(cond, &z, g)?.sum_to(inp[1].shape()))?,
                None,
            ]
        }
        Cast { .. } => vec![Some(g.cast(x0().dtype())?)],
        Conj => vec![Some(g.conj()?)],
        Real => vec![Some(g.cast(x0().dtype())?)],
        // y = Im(z): ∂y/∂Re = 0, ∂y/∂Im = 1, so the gradient is i·g.
        Imag => vec![Some(Tensor::complex(&g.zeros_like(), g)?)],
        Complex => vec![Some(g.real()?.sum_to(inp[0].shape())?), Some(g.imag()?.sum_to(inp[1].shape())?)],

        Reduce { op: r, axes } => vec![Some(reduce(*r, x0(), y, g, axes)?)],
        Cumsum { axis, reverse } => vec![Some(g.cumsum(*axis, !reverse)?)],

        Reshape { .. } => vec![Some(g.reshape(x0().shape())?)],
        Permute { perm } => {
            let mut inv = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inv[p] = i;
            }
            vec![Some(g.permute(&inv)?)]
        }
        BroadcastTo { .. } => vec![Some(g.sum_to(x0().shape())?)],
        Flip { axes } => vec![Some(g.flip(axes)?)],
        Narrow { axis, start, len } => vec![Some(g.pad_axis(*axis, *start, x0().shape()[*axis] - start - len)?)],
        Pad { axis, before, .. } => vec![Some(g.narrow(*axis, *before, x0().shape()[*axis])?)],
        Concat { axis } => {
            let mut start = 0;
            let mut grads = Vec::with_capacity(inp.len());
            for x in inp {
                let len = x.shape()[*axis];
                grads.push(when(x, || g.narrow(*axis, start, len))?);
                start += len;
            }
            grads
        }
        Take { idx, .. } => vec![Some(g.scatter_add(idx.clone(), x0().shape().to_vec())?)],
        ScatterAdd { idx, .. } => vec![Some(g.take(idx.clone(), x0().shape().to_vec())?)],
        IndexPut { idx } => vec![
            when(&inp[0], || g.index_put(idx.clone(), &zero_like(g)))?,
            when(&inp[1], || g.take(idx.clone(), inp[1].shape().to_vec()))?,
        ],
        TakeAxis { axis, idx } => vec![Some(g.index_add_axis(*axis, idx.clone(), x0().shape()[*axis])?)],
        IndexAddAxis { axis, idx, .. } => vec![Some(g.take_axis(*axis, idx.clone())?)],

        Matmul { transpose_a: ta, transpose_b: tb } => {
            let (a, b, (ta, tb)) = (&inp[0], &inp[1], (*ta, *tb));
            vec![
                when(a, || {
                    let bc = b.conj()?;
                    let d = if ta { bc.matmul_t(g, tb, true)? } else { g.matmul_t(&bc, false, !tb)? };
                    d.sum_to(a.shape())
                })?,
                when(b, || {
                    let ac = a.conj()?;
                    let d = if tb { g.matmul_t(&ac, true, ta)? } else { ac.matmul_t(g, !ta, false)? };
                    d.sum_to(b.shape())
                })?,
            ]
        }
        // dx = y ⊙ (g − Σ g ⊙ y): written with the (traced) output, so it differentiates again.
        Softmax { axis } => {
            let gy = g.mul(y)?;
            vec![Some(gy.sub(&y.mul(&gy.sum_axes(&[*axis], true)?)?)?)]
        }
        // g − exp(y) ⊙ Σ g.
        LogSoftmax { axis } => vec![Some(g.sub(&y.exp()?.mul(&g.sum_axes(&[*axis], true)?)?)?)],
        // Asked for the probabilities themselves, as for `log`.
        SoftmaxLog { .. } => vec![Some(g.div(x0())?)],
        Conv { params } => {
            let (x, w) = (&inp[0], &inp[1]);
            let mut grads = vec![
                when(x, || g.conv_input_grad(w, &x.shape()[..x.ndim() - 2], params))?,
                when(w, || x.conv_weight_grad(g, w.shape(), params))?,
            ];
            if let Some(b) = inp.get(2) {
                // Every output element of filter f received b[f]: sum over pixels and batch.
                let d = g.ndim() - 2;
                let axes: Vec<usize> = (0..d).chain([d + 1]).collect();
                grads.push(when(b, || g.sum_axes(&axes, false))?);
            }
            grads
        }
        ConvInputGrad { params, .. } => {
            let (g0, w) = (&inp[0], &inp[1]);
            vec![when(g0, || g.conv(w, params))?, when(w, || g.conv_weight_grad(g0, w.shape(), params))?]
        }
        ConvWeightGrad { params, .. } => {
            let (x, g0) = (&inp[0], &inp[1]);
            vec![when(x, || g0.conv_input_grad(g, &x.shape()[..x.ndim() - 2], params))?, when(g0, || x.conv(g, params))?]
        }
        MaxPool { window } => vec![Some(g.maxpool_backward(x0(), window, op.saved.indices())?)],
        // Piecewise constant in x: the positions of the maxima do not move under a small change.
        MaxPoolBackward { window } => vec![when(x0(), || g.maxpool_gather(&inp[1], window))?, None],
        MaxPoolGather { window } => vec![when(x0(), || g.maxpool_backward(&inp[1], window, None))?, None],
        MaxUnpool { idx, .. } => vec![Some(g.pool_gather(idx.clone(), x0().shape().to_vec())?)],
        PoolGather { idx } => vec![Some(g.maxunpool(idx.clone(), x0().shape())?)],
        AvgPool { window, padding_value_counts } => vec![Some(g.avgpool_backward_impl(x0().shape(), window, *padding_value_counts)?)],
        AvgPoolBackward { window, padding_value_counts, .. } => vec![Some(g.avgpool_impl(window, *padding_value_counts)?)],
        Batchnorm { axis, epsilon } => crate::ops::norm::batchnorm_backward(op, inp, g, *axis, *epsilon)?,
        BatchnormMean { axis } => vec![Some(crate::ops::norm::batch_mean_backward(x0(), g, *axis)?)],
        BatchnormVar { axis } => vec![Some(crate::ops::norm::batch_var_backward(x0(), g, *axis)?)],
        BatchnormParamGrads { .. } | BatchnormInputGrad { .. } => {
            return Err(crate::error::Error::autodiff(
                op.kind.name(),
                "this fused backward kernel was recorded for a replay only and has no derivative; \
                 differentiate the gradient with enable_higher_derivatives=True",
            ))
        }
        Standardize { axes, epsilon } => vec![Some(crate::ops::standardize::standardize_backward(op, x0(), g, axes, *epsilon)?)],
        Lstm { .. } | Gru { .. } => crate::ops::recurrent::recurrent_backward(op, inp, y, g)?,
    })
}

/// The gradient of the logits through `log(softmax(logits))` at once, for a
/// [`OpKind::SoftmaxLog`] op whose shortcut is live: `g − p ⊙ Σg`, with `p` (input 0) the
/// probabilities (traced, so a recorded pass differentiates again through softmax).
pub(crate) fn shortcut(op: &Op, inp: &[Tensor], g: &Tensor) -> Result<Tensor> {
    let OpKind::SoftmaxLog { axis } = op.kind else { unreachable!("only log of a softmax has a shortcut") };
    g.sub(&inp[0].mul(&g.sum_axes(&[axis], true)?)?)
}

fn unary(op: UnaryOp, x: &Tensor, y: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
    use UnaryOp::*;
    let one = one_like;
    let d = match op {
        Neg => return Ok(Some(g.neg()?)),
        Exp => g.mul(&y.conj()?)?,
        Log => g.div(&x.conj()?)?,
        Log1p => g.div(&x.add(&one(x))?.conj()?)?,
        Sqrt => g.div(&y.mul_scalar(2.0)?.conj()?)?,
        Sin => g.mul(&x.cos()?.conj()?)?,
        Cos => g.mul(&x.sin()?.neg()?.conj()?)?,
        Tan => g.mul(&one(y).add(&y.mul(y)?)?.conj()?)?,
        Tanh => g.mul(&one(y).sub(&y.mul(y)?)?.conj()?)?,
        Sinh => g.mul(&x.cosh()?.conj()?)?,
        Cosh => g.mul(&x.sinh()?.conj()?)?,
        Asin => g.div(&one(x).sub(&x.mul(x)?)?.sqrt()?.conj()?)?,
        Acos => g.div(&one(x).sub(&x.mul(x)?)?.sqrt()?.conj()?)?.neg()?,
        Atan => g.div(&one(x).add(&x.mul(x)?)?.conj()?)?,
        Sigmoid => g.mul(&y.mul(&one(y).sub(y)?)?)?,
        Erf => g.mul(&x.mul(x)?.neg()?.exp()?.mul_scalar(2.0 / std::f64::consts::PI.sqrt())?)?,
        Abs => g.mul(&x.sign()?)?,
        Relu => g.relu_grad(x)?,
        Sign | Floor | Ceil | Round => return Ok(None),
    };
    Ok(Some(d))
}

/// Each gradient is reduced back to its operand's (pre-broadcast) shape.
fn binary(op: BinaryOp, a: &Tensor, b: &Tensor, y: &Tensor, g: &Tensor) -> Result<Grads> {
    let (ga, gb) = match op {
        BinaryOp::Add => (Some(g.clone()), Some(g.clone())),
        BinaryOp::Sub => (Some(g.clone()), when(b, || g.neg())?),
        BinaryOp::Mul => (when(a, || g.mul(&b.conj()?))?, when(b, || g.mul(&a.conj()?))?),
        BinaryOp::Div => (when(a, || g.div(&b.conj()?))?, when(b, || g.mul(&y.div(b)?.conj()?)?.neg())?),
        BinaryOp::Pow => {
            // d/da a^b = b·a^(b−1), taken as 0 where b == 0 (so 0^0 has no NaN gradient).
            let ga = when(a, || {
                let d = b.mul(&a.pow(&b.sub(&one_like(b))?)?)?;
                let d = Tensor::where_(&b.eq_(&zero_like(b))?, &zero_like(&d), &d)?;
                g.mul(&d.conj()?)
            })?;
            // d/db a^b = a^b·log(a), taken as 0 where a == 0.
            let gb = when(b, || {
                let d = y.mul(&a.log()?)?;
                let d = Tensor::where_(&a.eq_(&zero_like(a))?, &zero_like(&d), &d)?;
                g.mul(&d.conj()?)
            })?;
            (ga, gb)
        }
        BinaryOp::Atan2 => crate::ops::binary::atan2_grads(a, b, g, (a.is_traced(), b.is_traced()))?,
        BinaryOp::Maximum | BinaryOp::Minimum => {
            // Ties split the gradient evenly, as PyTorch does.
            let wins = if op == BinaryOp::Maximum { a.gt(b)? } else { a.lt(b)? };
            let w = wins.add(&a.eq_(b)?.mul_scalar(0.5)?)?;
            (when(a, || g.mul(&w))?, when(b, || g.mul(&one_like(&w).sub(&w)?))?)
        }
    };
    Ok(vec![ga.map(|t| t.sum_to(a.shape())).transpose()?, gb.map(|t| t.sum_to(b.shape())).transpose()?])
}

/// Backward of a keepdims reduction; `y` and `g` have the reduced axes as size 1.
fn reduce(op: ReduceOp, x: &Tensor, y: &Tensor, g: &Tensor, axes: &[usize]) -> Result<Tensor> {
    match op {
        ReduceOp::Sum => g.broadcast_to(x.shape()),
        ReduceOp::Max | ReduceOp::Min => {
            // The gradient is shared evenly between tied extremes (a constant mask).
            let mask = x.eq_(y)?;
            let count = mask.sum_axes(axes, true)?;
            g.mul(&mask.div(&count)?)
        }
        ReduceOp::Prod => {
            let has_zero = x.eq_(&zero_like(x))?.sum_all()?.item()?.re != 0.0;
            if !has_zero {
                // ∂/∂x_i Π x = Π x / x_i.
                return g.mul(&y.div(x)?.conj()?);
            }
            crate::ops::reduce::prod_grad_with_zeros(x, g, axes)
        }
    }
}
