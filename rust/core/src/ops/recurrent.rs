//! `lstm` and `gru` as single recorded ops over the whole sequence.
//!
//! The forward pass and the first-order backward pass are fused kernels
//! (`kernels::recurrent`). When the backward rule itself runs while recording (higher
//! derivatives requested), it instead rebuilds the sequence from the core's differentiable
//! primitives (matmul, narrow, sigmoid, tanh, ...) and back-propagates the incoming gradient
//! through that composite graph, so the gradient it returns is itself recorded and can be
//! differentiated again, to any order.
//!
//! Layouts (row-major, MATLAB's): `x` (C, B, T); `h0`, `c0` (H, B); weights (G·H, C) and
//! recurrent weights (G·H, H) with the gates stacked in rows (LSTM: i, f, g, o; GRU: r, z,
//! h̃); bias (G·H) — for the GRU's recurrent-bias mode (6H): input bias then recurrent bias.

use std::sync::Arc;

use crate::autodiff::walk::Walk;
use crate::autodiff::{trace, Op};
use crate::buffer::{Buffer, IntoBuffer};
use crate::dtype::{DType, Real};
use crate::error::{Error, Result};
use crate::kernels::recurrent::{self as k, Dims};
pub use crate::kernels::recurrent::{Activation, ResetGateMode};
use crate::op::{OpKind, Saved};
use crate::tensor::Tensor;

// ----- checks -----------------------------------------------------------------------------

/// Promotes every operand to one real dtype; complex input is refused.
fn common_dtype(op: &str, ts: &[&Tensor]) -> Result<Vec<Tensor>> {
    let dt = ts.iter().fold(DType::F32, |d, t| DType::promote(d, t.dtype()));
    if dt.is_complex() {
        return Err(Error::dtype(op, "complex input is not supported; pass real arrays"));
    }
    ts.iter().map(|t| t.cast(dt)).collect()
}

/// Checks the shapes against (C, B, T) input and `gates`·H rows; returns the sizes.
fn check_shapes(
    op: &str,
    x: &Tensor,
    states: &[(&str, &Tensor)],
    w: &Tensor,
    r: &Tensor,
    b: &Tensor,
    gates: usize,
    bias_rows: usize,
) -> Result<Dims> {
    if x.ndim() != 3 {
        return Err(Error::shape(op, format!("input must be (C, B, T), got shape {:?}", x.shape())));
    }
    let (c, bsz, t) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    if r.ndim() != 2 || r.shape()[0] != gates * r.shape()[1] {
        return Err(Error::shape(
            op,
            format!("recurrent weights must be ({gates}*H, H) = (numGates*numHiddenUnits, numHiddenUnits), got shape {:?}", r.shape()),
        ));
    }
    let h = r.shape()[1];
    if w.shape() != [gates * h, c] {
        return Err(Error::shape(
            op,
            format!(
                "weights must be ({gates}*H, C) = ({}, {c}) for H = {h} and input of shape {:?} (C, B, T), got shape {:?}",
                gates * h,
                x.shape(),
                w.shape()
            ),
        ));
    }
    if b.shape() != [bias_rows * h] {
        return Err(Error::shape(
            op,
            format!("bias must have {bias_rows}*H = {} elements for H = {h}, got shape {:?}", bias_rows * h, b.shape()),
        ));
    }
    for (name, s) in states {
        if s.shape() != [h, bsz] {
            return Err(Error::shape(op, format!("{name} must be (H, B) = ({h}, {bsz}), got shape {:?}", s.shape())));
        }
    }
    if t == 0 {
        return Err(Error::shape(op, format!("the sequence is empty (input shape {:?}); need at least one time step", x.shape())));
    }
    Ok(Dims { c, h, b: bsz, t })
}

// ----- the composite (differentiable) path ----------------------------------------------------

/// A fresh recorded identity of `t`: gives each op input its own node, so a tensor passed
/// twice (e.g. the same array as `h0` and `c0`) gets each use's gradient separately.
fn alias(t: &Tensor) -> Tensor {
    Tensor::from_op_storage(t.storage().clone(), t.shape().to_vec(), OpKind::Alias, &[t])
}

fn activate(a: Activation, x: &Tensor) -> Result<Tensor> {
    match a {
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => x.sigmoid(),
        Activation::Relu => x.relu(),
        Activation::Softsign => x.div(&x.abs()?.add_scalar(1.0)?),
        Activation::HardSigmoid => {
            let lin = x.mul_scalar(0.2)?.add_scalar(0.5)?;
            lin.maximum(&Tensor::scalar_like(0.0, x.dtype()))?.minimum(&Tensor::scalar_like(1.0, x.dtype()))
        }
    }
}

/// `w · x + bias` for every step, as (rows, B, T).
fn projection(x: &Tensor, w: &Tensor, bias: &Tensor, d: Dims) -> Result<Tensor> {
    let rows = w.shape()[0];
    w.matmul(&x.reshape(&[d.c, d.b * d.t])?)?.add(&bias.reshape(&[rows, 1])?)?.reshape(&[rows, d.b, d.t])
}

fn step_of(xp: &Tensor, s: usize) -> Result<Tensor> {
    let (rows, b) = (xp.shape()[0], xp.shape()[1]);
    xp.narrow(2, s, 1)?.reshape(&[rows, b])
}

/// The LSTM's packed output built from primitives: Y (H, B, T) then the final cell state
/// (H, B), flattened and concatenated.
#[allow(clippy::too_many_arguments)]
pub fn lstm_composite(
    x: &Tensor,
    h0: &Tensor,
    c0: &Tensor,
    w: &Tensor,
    r: &Tensor,
    b: &Tensor,
    d: Dims,
    state: Activation,
    gate: Activation,
) -> Result<Tensor> {
    let h = d.h;
    let xp = projection(x, w, b, d)?;
    let (mut hs, mut cs) = (h0.clone(), c0.clone());
    let mut outs = Vec::with_capacity(d.t);
    for s in 0..d.t {
        let z = step_of(&xp, s)?.add(&r.matmul(&hs)?)?;
        let ig = activate(gate, &z.narrow(0, 0, h)?)?;
        let fg = activate(gate, &z.narrow(0, h, h)?)?;
        let gg = activate(state, &z.narrow(0, 2 * h, h)?)?;
        let og = activate(gate, &z.narrow(0, 3 * h, h)?)?;
        cs = fg.mul(&cs)?.add(&ig.mul(&gg)?)?;
        hs = og.mul(&activate(state, &cs)?)?;
        outs.push(hs.reshape(&[h, d.b, 1])?);
    }
    let y = Tensor::concat(&outs, 2)?;
    Tensor::concat(&[y.reshape(&[h * d.b * d.t])?, cs.reshape(&[h * d.b])?], 0)
}

/// The GRU's hidden states (H, B, T) built from primitives.
#[allow(clippy::too_many_arguments)]
pub fn gru_composite(
    x: &Tensor,
    h0: &Tensor,
    w: &Tensor,
    r: &Tensor,
    b: &Tensor,
    d: Dims,
    mode: ResetGateMode,
    state: Activation,
    gate: Activation,
) -> Result<Tensor> {
    let h = d.h;
    let xp = projection(x, w, &b.narrow(0, 0, 3 * h)?, d)?;
    let rbias = match mode {
        ResetGateMode::RecurrentBiasAfterMultiplication => Some(b.narrow(0, 3 * h, 3 * h)?.reshape(&[3 * h, 1])?),
        _ => None,
    };
    let mut hs = h0.clone();
    let mut outs = Vec::with_capacity(d.t);
    for s in 0..d.t {
        let xs = step_of(&xp, s)?;
        let n = if mode == ResetGateMode::BeforeMultiplication {
            let rz = r.narrow(0, 0, 2 * h)?.matmul(&hs)?;
            let rg = activate(gate, &xs.narrow(0, 0, h)?.add(&rz.narrow(0, 0, h)?)?)?;
            let zg = activate(gate, &xs.narrow(0, h, h)?.add(&rz.narrow(0, h, h)?)?)?;
            let cand = xs.narrow(0, 2 * h, h)?.add(&r.narrow(0, 2 * h, h)?.matmul(&rg.mul(&hs)?)?)?;
            (activate(state, &cand)?, zg)
        } else {
            let mut rh = r.matmul(&hs)?;
            if let Some(rb) = &rbias {
                rh = rh.add(rb)?;
            }
            let rg = activate(gate, &xs.narrow(0, 0, h)?.add(&rh.narrow(0, 0, h)?)?)?;
            let zg = activate(gate, &xs.narrow(0, h, h)?.add(&rh.narrow(0, h, h)?)?)?;
            let cand = xs.narrow(0, 2 * h, h)?.add(&rg.mul(&rh.narrow(0, 2 * h, h)?)?)?;
            (activate(state, &cand)?, zg)
        };
        let (cand, zg) = n;
        // h_t = (1 − z) ⊙ h̃ + z ⊙ h_{t−1}
        hs = cand.add(&zg.mul(&hs.sub(&cand)?)?)?;
        outs.push(hs.reshape(&[h, d.b, 1])?);
    }
    Tensor::concat(&outs, 2)
}

/// The higher-order backward rule: rebuild the composite from aliases of the inputs and
/// back-propagate `g` through it.
fn composite_rule(inputs: &[Tensor], g: &Tensor, build: impl Fn(&[Tensor]) -> Result<Tensor>) -> Result<Vec<Option<Tensor>>> {
    let aliases: Vec<Tensor> = inputs.iter().map(alias).collect();
    let out = build(&aliases)?;
    if !out.is_traced() {
        return Ok(vec![None; inputs.len()]);
    }
    // The vector-Jacobian product of the composite, itself differentiable: rules run while
    // recording stays as the caller set it.
    let walk = Walk { targets: &aliases, stop_at_targets: true, detach_dead_inputs: false };
    Ok(walk.run(&out, g.clone())?.0)
}

/// The backward rule of `lstm` and `gru`: the fused kernels at first order, the composite
/// (differentiable again) while the backward pass is recorded.
pub(crate) fn recurrent_backward(op: &Op, inp: &[Tensor], out: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
    let saved = op.saved.sequence().filter(|_| !trace::is_recording());
    match op.kind {
        OpKind::Lstm { dims: d, state, gate } => match saved {
            None => composite_rule(inp, g, |a| lstm_composite(&a[0], &a[1], &a[2], &a[3], &a[4], &a[5], d, state, gate)),
            Some(saved) => match out.dtype() {
                DType::F32 => lstm_fused_backward::<f32>(inp, g, saved, d, state, gate),
                _ => lstm_fused_backward::<f64>(inp, g, saved, d, state, gate),
            },
        },
        OpKind::Gru { dims: d, mode, state, gate } => match saved {
            None => composite_rule(inp, g, |a| gru_composite(&a[0], &a[1], &a[2], &a[3], &a[4], d, mode, state, gate)),
            Some(saved) => match out.dtype() {
                DType::F32 => gru_fused_backward::<f32>(inp, g, saved, d, mode, state, gate),
                _ => gru_fused_backward::<f64>(inp, g, saved, d, mode, state, gate),
            },
        },
        _ => unreachable!("only the recurrent ops take this rule"),
    }
}

// ----- the fused ops ----------------------------------------------------------------------------

fn slice<T: IntoBuffer + crate::dtype::Element>(t: &Tensor) -> Result<&[T]> {
    t.typed::<T>()
}

fn tensor<T: IntoBuffer>(v: Vec<T>, shape: &[usize]) -> Tensor {
    Tensor::from_buffer(T::into_buffer(v), shape.to_vec()).expect("kernel output sizes match")
}

fn to_buffer<T: IntoBuffer>(v: Vec<T>) -> Buffer {
    T::into_buffer(v)
}

fn buf<T: IntoBuffer>(b: &Buffer) -> &[T] {
    T::slice_of(b).expect("saved with the op's dtype")
}

fn grads_of(inp: &[Tensor], gs: Vec<Tensor>) -> Vec<Option<Tensor>> {
    inp.iter().zip(gs).map(|(i, g)| if i.is_traced() { Some(g.on_device_of(i)) } else { None }).collect()
}

#[allow(clippy::too_many_arguments)]
fn lstm_fused_backward<T: Real + IntoBuffer>(
    inp: &[Tensor],
    g: &Tensor,
    saved: &[Buffer],
    d: Dims,
    state: Activation,
    gate: Activation,
) -> Result<Vec<Option<Tensor>>> {
    let g_cast = g.cast(T::DTYPE)?;
    let saved = k::LstmSaved {
        gates: buf::<T>(&saved[0]),
        cells: buf::<T>(&saved[1]),
        cells_activated: buf::<T>(&saved[2]),
        inputs: buf::<T>(&saved[3]),
    };
    let gr = k::lstm_backward(
        slice::<T>(&g_cast)?,
        &saved,
        slice::<T>(&inp[2])?,
        slice::<T>(&inp[3])?,
        slice::<T>(&inp[4])?,
        d,
        state,
        gate,
        inp[0].is_traced(),
    );
    let dx = if inp[0].is_traced() { tensor(gr.dx, inp[0].shape()) } else { Tensor::zeros(&[0], T::DTYPE) };
    let parts = vec![
        dx,
        tensor(gr.dh0, inp[1].shape()),
        tensor(gr.dc0, inp[2].shape()),
        tensor(gr.dw, inp[3].shape()),
        tensor(gr.dr, inp[4].shape()),
        tensor(gr.db, inp[5].shape()),
    ];
    Ok(grads_of(inp, parts))
}

#[allow(clippy::too_many_arguments)]
fn gru_fused_backward<T: Real + IntoBuffer>(
    inp: &[Tensor],
    g: &Tensor,
    saved: &[Buffer],
    d: Dims,
    mode: ResetGateMode,
    state: Activation,
    gate: Activation,
) -> Result<Vec<Option<Tensor>>> {
    let g_cast = g.cast(T::DTYPE)?;
    let saved = k::GruSaved { gates: buf::<T>(&saved[0]), aux: buf::<T>(&saved[1]), hidden: buf::<T>(&saved[2]) };
    let gr = k::gru_backward(
        slice::<T>(&g_cast)?,
        &saved,
        slice::<T>(&inp[0])?,
        slice::<T>(&inp[2])?,
        slice::<T>(&inp[3])?,
        d,
        mode,
        state,
        gate,
        inp[0].is_traced(),
    );
    let dx = if inp[0].is_traced() { tensor(gr.dx, inp[0].shape()) } else { Tensor::zeros(&[0], T::DTYPE) };
    let parts = vec![
        dx,
        tensor(gr.dh0, inp[1].shape()),
        tensor(gr.dw, inp[2].shape()),
        tensor(gr.dr, inp[3].shape()),
        tensor(gr.db, inp[4].shape()),
    ];
    Ok(grads_of(inp, parts))
}

impl Tensor {
    /// MATLAB's `[Y, h, c] = lstm(X, H0, C0, weights, recurrentWeights, bias)` on unformatted
    /// (C, B, T) input: returns Y (H, B, T), the final hidden state h (H, B) and cell state
    /// c (H, B). Gate order i, f, g, o.
    #[allow(clippy::too_many_arguments)]
    pub fn lstm(
        x: &Tensor,
        h0: &Tensor,
        c0: &Tensor,
        w: &Tensor,
        r: &Tensor,
        b: &Tensor,
        state: Activation,
        gate: Activation,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        const OP: &str = "lstm";
        let ts = common_dtype(OP, &[x, h0, c0, w, r, b])?;
        let d = check_shapes(OP, &ts[0], &[("H0", &ts[1]), ("C0", &ts[2])], &ts[3], &ts[4], &ts[5], 4, 4)?;
        let packed = if d.is_degenerate() || Tensor::any_on_gpu(&ts) {
            // The fused kernels assume nonzero sizes and host memory; the primitives handle
            // empty sizes, and GPU arrays on the device.
            lstm_composite(&ts[0], &ts[1], &ts[2], &ts[3], &ts[4], &ts[5], d, state, gate)?
        } else {
            Self::lstm_fused(&ts, d, state, gate)?
        };
        // The packed output is flat, Y then c_T, so that each is a contiguous range.
        let hbt = d.h * d.b * d.t;
        let y = packed.narrow(0, 0, hbt)?.reshape(&[d.h, d.b, d.t])?;
        let hn = y.narrow(2, d.t - 1, 1)?.reshape(&[d.h, d.b])?;
        let cn = packed.narrow(0, hbt, d.h * d.b)?.reshape(&[d.h, d.b])?;
        Ok((y, hn, cn))
    }

    /// The LSTM's packed output (Y then c_T) by the fused kernels, recorded as one op.
    pub(crate) fn lstm_fused(ts: &[Tensor], d: Dims, state: Activation, gate: Activation) -> Result<Tensor> {
        macro_rules! fwd {
            ($t:ty) => {{
                let (out, saved) = k::lstm_forward::<$t>(
                    slice(&ts[0])?,
                    slice(&ts[1])?,
                    slice(&ts[2])?,
                    slice(&ts[3])?,
                    slice(&ts[4])?,
                    slice(&ts[5])?,
                    d,
                    state,
                    gate,
                );
                (
                    to_buffer(out),
                    vec![to_buffer(saved.gates), to_buffer(saved.cells), to_buffer(saved.cells_activated), to_buffer(saved.inputs)],
                )
            }};
        }
        let (data, saved) = match ts[0].dtype() {
            DType::F32 => fwd!(f32),
            _ => fwd!(f64),
        };
        let refs: Vec<&Tensor> = ts.iter().collect();
        let kind = OpKind::Lstm { dims: d, state, gate };
        Ok(Tensor::from_op_saved(Arc::new(data), vec![d.h * d.b * (d.t + 1)], kind, &refs, || Saved::Sequence(Arc::new(saved))))
    }

    /// MATLAB's `[Y, h] = gru(X, H0, weights, recurrentWeights, bias)` on unformatted
    /// (C, B, T) input: returns Y (H, B, T) and the final hidden state (H, B). Gate order
    /// r, z, h̃; `bias` has 3H elements, or 6H (input then recurrent) in the
    /// recurrent-bias-after-multiplication mode.
    #[allow(clippy::too_many_arguments)]
    pub fn gru(
        x: &Tensor,
        h0: &Tensor,
        w: &Tensor,
        r: &Tensor,
        b: &Tensor,
        mode: ResetGateMode,
        state: Activation,
        gate: Activation,
    ) -> Result<(Tensor, Tensor)> {
        const OP: &str = "gru";
        let ts = common_dtype(OP, &[x, h0, w, r, b])?;
        let bias_rows = if mode == ResetGateMode::RecurrentBiasAfterMultiplication { 6 } else { 3 };
        let d = check_shapes(OP, &ts[0], &[("H0", &ts[1])], &ts[2], &ts[3], &ts[4], 3, bias_rows)?;
        if d.is_degenerate() || Tensor::any_on_gpu(&ts) {
            // The fused kernels assume nonzero sizes and host memory; the primitives handle
            // empty sizes, and GPU arrays on the device.
            let y = gru_composite(&ts[0], &ts[1], &ts[2], &ts[3], &ts[4], d, mode, state, gate)?;
            let hn = y.narrow(2, d.t - 1, 1)?.reshape(&[d.h, d.b])?;
            return Ok((y, hn));
        }
        macro_rules! fwd {
            ($t:ty) => {{
                let (out, saved) = k::gru_forward::<$t>(
                    slice(&ts[0])?,
                    slice(&ts[1])?,
                    slice(&ts[2])?,
                    slice(&ts[3])?,
                    slice(&ts[4])?,
                    d,
                    mode,
                    state,
                    gate,
                );
                (to_buffer(out), vec![to_buffer(saved.gates), to_buffer(saved.aux), to_buffer(saved.hidden)])
            }};
        }
        let (data, saved) = match ts[0].dtype() {
            DType::F32 => fwd!(f32),
            _ => fwd!(f64),
        };
        let refs: Vec<&Tensor> = ts.iter().collect();
        let kind = OpKind::Gru { dims: d, mode, state, gate };
        let y = Tensor::from_op_saved(Arc::new(data), vec![d.h, d.b, d.t], kind, &refs, || Saved::Sequence(Arc::new(saved)));
        let hn = y.narrow(2, d.t - 1, 1)?.reshape(&[d.h, d.b])?;
        Ok((y, hn))
    }
}
