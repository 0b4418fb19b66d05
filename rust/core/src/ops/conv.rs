//! Convolution (`dlconv`) and transposed convolution (`dltranspconv`) in PyTorch's internal
//! layouts: input (N, C, S1..Sd), weights (F, C/G, K1..Kd), output (N, F, O1..Od), d = 1, 2, 3.
//! The Python layer permutes MATLAB's formatted layouts to these; bias is added separately.
//!
//! Three recorded ops, each one's backward written with the three of them, so derivatives of
//! any order exist:
//!
//! | op | value | d/d(first) | d/d(second) |
//! |---|---|---|---|
//! | `x.conv(w)` | y | `g.conv_input_grad(w)` | `x.conv_weight_grad(g)` |
//! | `g.conv_input_grad(w)` | dx | `G.conv(w)` | `G.conv_weight_grad(g)` |
//! | `x.conv_weight_grad(g)` | dw | `g.conv_input_grad(G)` | `x.conv(G)` |
//!
//! A nonzero padding value (MATLAB's `PaddingValue`) makes `conv` affine in x: the padded
//! constant enters the value and the weight gradient (`conv` and `conv_weight_grad` read the
//! padding as that value), never the input gradient. The adjoint `conv_input_grad` ignores
//! it, and its backward uses a zero padding value.

use crate::autodiff::Op;
use crate::buffer::Buffer;
use crate::error::{Error, Result};
use crate::kernels::conv::{conv_backward_input, conv_backward_weight, conv_forward, ConvGeom};
use crate::tensor::Tensor;

const OP: &str = "dlconv";
const OP_T: &str = "dltranspconv";

/// Options of a convolution. The spatial vectors hold one value per spatial dim, or a single
/// value for all of them, or nothing for the default (stride and dilation 1, no padding).
#[derive(Debug, Clone, PartialEq)]
pub struct ConvParams {
    pub stride: Vec<usize>,
    pub dilation: Vec<usize>,
    pub pad_before: Vec<usize>,
    pub pad_after: Vec<usize>,
    pub groups: usize,
    /// The value the padding reads as (MATLAB's scalar `PaddingValue`; 0 by default).
    pub pad_value: f64,
}

impl Default for ConvParams {
    fn default() -> Self {
        ConvParams { stride: vec![], dilation: vec![], pad_before: vec![], pad_after: vec![], groups: 1, pad_value: 0.0 }
    }
}

impl ConvParams {
    /// Stride 1, dilation 1, no padding, one group, padding value 0.
    pub fn new() -> Self {
        Self::default()
    }
    pub fn stride(mut self, s: &[usize]) -> Self {
        self.stride = s.to_vec();
        self
    }
    pub fn dilation(mut self, d: &[usize]) -> Self {
        self.dilation = d.to_vec();
        self
    }
    pub fn padding(mut self, before: &[usize], after: &[usize]) -> Self {
        self.pad_before = before.to_vec();
        self.pad_after = after.to_vec();
        self
    }
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }
    pub fn pad_value(mut self, v: f64) -> Self {
        self.pad_value = v;
        self
    }
    fn zero_pad_value(&self) -> ConvParams {
        ConvParams { pad_value: 0.0, ..self.clone() }
    }
}

/// A per-dim option (length d, 1 or 0) placed in the last `d` of three slots.
pub(super) fn spatial3(op: &str, name: &str, v: &[usize], d: usize, default: usize, min: usize) -> Result<[usize; 3]> {
    let vals: Vec<usize> = match v.len() {
        0 => vec![default; d],
        1 => vec![v[0]; d],
        n if n == d => v.to_vec(),
        n => {
            return Err(Error::value(op, format!("{name} needs {d} values (one per spatial dimension) or 1, got {n}: {v:?}")))
        }
    };
    if let Some(bad) = vals.iter().find(|&&x| x < min) {
        return Err(Error::value(op, format!("{name} must be at least {min}, got {bad} in {v:?}")));
    }
    let mut out = [default; 3];
    out[3 - d..].copy_from_slice(&vals);
    Ok(out)
}

/// Spatial dims (last d of three slots; leading slots are singleton).
pub(super) fn sp3(s: &[usize]) -> [usize; 3] {
    let mut out = [1; 3];
    out[3 - s.len()..].copy_from_slice(s);
    out
}

/// Checks shapes and options and computes the geometry of `conv(x, w)` for an input of
/// shape `xs` and weights of shape `ws`.
fn geometry(op: &str, xs: &[usize], ws: &[usize], p: &ConvParams) -> Result<ConvGeom> {
    if !(3..=5).contains(&xs.len()) {
        return Err(Error::shape(
            op,
            format!("input must have 3 to 5 dims (N, C, S1[, S2[, S3]]), got shape {xs:?}"),
        ));
    }
    if ws.len() != xs.len() {
        return Err(Error::shape(
            op,
            format!("weights of shape {ws:?} do not fit input of shape {xs:?}: expected {} dims (F, C/G, K...)", xs.len()),
        ));
    }
    let d = xs.len() - 2;
    let g = p.groups;
    let (n, c, f) = (xs[0], xs[1], ws[0]);
    if g == 0 {
        return Err(Error::value(op, "groups must be at least 1"));
    }
    if !c.is_multiple_of(g) || !f.is_multiple_of(g) {
        return Err(Error::value(
            op,
            format!("{g} groups must divide both the {c} input channels and the {f} filters (input {xs:?}, weights {ws:?})"),
        ));
    }
    if ws[1] * g != c {
        return Err(Error::shape(
            op,
            format!(
                "channel mismatch: input of shape {xs:?} has {c} channels, weights of shape {ws:?} expect {} ({} per group × {g} groups)",
                ws[1] * g,
                ws[1]
            ),
        ));
    }
    let stride = spatial3(op, "stride", &p.stride, d, 1, 1)?;
    let dil = spatial3(op, "dilation", &p.dilation, d, 1, 1)?;
    let pb = spatial3(op, "padding", &p.pad_before, d, 0, 0)?;
    let pa = spatial3(op, "padding", &p.pad_after, d, 0, 0)?;
    let (in_sp, k) = (sp3(&xs[2..]), sp3(&ws[2..]));
    let mut out_sp = [1; 3];
    for i in 3 - d..3 {
        if k[i] == 0 {
            return Err(Error::shape(op, format!("weights of shape {ws:?} have an empty kernel")));
        }
        let span = dil[i] * (k[i] - 1) + 1;
        let padded = in_sp[i] + pb[i] + pa[i];
        if span > padded {
            return Err(Error::shape(
                op,
                format!(
                    "kernel {:?} (dilated extent {span} along spatial dim {}) is larger than the padded input ({padded}) of shape {xs:?}",
                    &ws[2..],
                    i + d - 3
                ),
            ));
        }
        out_sp[i] = (padded - span) / stride[i] + 1;
    }
    Ok(ConvGeom { n, c, f, groups: g, in_sp, out_sp, k, stride, dil, pad: pb })
}

fn out_shape(n: usize, ch: usize, sp: &[usize; 3], d: usize) -> Vec<usize> {
    let mut s = vec![n, ch];
    s.extend_from_slice(&sp[3 - d..]);
    s
}

/// Both operands real and of one dtype (promoted by a recorded cast if they differ).
fn real_pair(op: &str, a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    if a.dtype().is_complex() || b.dtype().is_complex() {
        return Err(Error::dtype(op, format!("not defined for complex inputs ({} and {})", a.dtype(), b.dtype())));
    }
    if a.dtype() != b.dtype() {
        return super::binary::promote(a, b);
    }
    Ok((a.clone(), b.clone()))
}

impl Tensor {
    /// Cross-correlation (MATLAB's `dlconv` / PyTorch's `conv{1,2,3}d` without bias):
    /// x (N, C, S...) with w (F, C/G, K...) → (N, F, O...),
    /// `O = floor((S + pad_before + pad_after − dilation·(K−1) − 1) / stride) + 1`.
    pub fn conv(&self, w: &Tensor, p: &ConvParams) -> Result<Tensor> {
        let (x, w) = real_pair(OP, self, w)?;
        let geo = geometry(OP, x.shape(), w.shape(), p)?;
        let pv = p.pad_value;
        let data = match (x.buffer(), w.buffer()) {
            (Buffer::F32(a), Buffer::F32(b)) => Buffer::F32(conv_forward(a, b, &geo, pv as f32)),
            (Buffer::F64(a), Buffer::F64(b)) => Buffer::F64(conv_forward(a, b, &geo, pv)),
            _ => unreachable!("real and promoted above"),
        };
        let shape = out_shape(geo.n, geo.f, &geo.out_sp, x.ndim() - 2);
        let p = p.clone();
        Ok(Tensor::from_op(
            data,
            shape,
            || {
                Op::new(OP, vec![x.clone(), w.clone()], move |inp, _, g| {
                    let (x, w) = (&inp[0], &inp[1]);
                    let gx = if x.is_traced() { Some(g.conv_input_grad(w, &x.shape()[2..], &p)?) } else { None };
                    let gw = if w.is_traced() { Some(x.conv_weight_grad(g, w.shape(), &p)?) } else { None };
                    Ok(vec![gx, gw])
                })
            },
            &[&x, &w],
        ))
    }

    /// The gradient of `conv` with respect to its input, for the output gradient `self`
    /// (N, F, O...) and weights w (F, C/G, K...): a transposed convolution giving
    /// (N, C, S...) with S = `input_spatial`. `p.pad_value` is ignored (padding is constant).
    pub fn conv_input_grad(&self, w: &Tensor, input_spatial: &[usize], p: &ConvParams) -> Result<Tensor> {
        let (g, w) = real_pair(OP, self, w)?;
        if w.ndim() < 2 || g.ndim() != w.ndim() || input_spatial.len() + 2 != w.ndim() {
            return Err(Error::shape(
                OP,
                format!(
                    "input gradient: output gradient of shape {:?}, weights of shape {:?} and input spatial size {input_spatial:?} do not fit",
                    g.shape(),
                    w.shape()
                ),
            ));
        }
        let mut xs = vec![g.shape()[0], w.shape()[1] * p.groups];
        xs.extend_from_slice(input_spatial);
        let geo = geometry(OP, &xs, w.shape(), p)?;
        let expect = out_shape(geo.n, geo.f, &geo.out_sp, input_spatial.len());
        if g.shape() != expect.as_slice() {
            return Err(Error::shape(
                OP,
                format!(
                    "output gradient has shape {:?}, but input {xs:?} with weights {:?} gives output {expect:?}",
                    g.shape(),
                    w.shape()
                ),
            ));
        }
        let data = match (g.buffer(), w.buffer()) {
            (Buffer::F32(a), Buffer::F32(b)) => Buffer::F32(conv_backward_input(a, b, &geo)),
            (Buffer::F64(a), Buffer::F64(b)) => Buffer::F64(conv_backward_input(a, b, &geo)),
            _ => unreachable!("real and promoted above"),
        };
        let p = p.zero_pad_value();
        Ok(Tensor::from_op(
            data,
            xs,
            || {
                Op::new("dlconv_input_grad", vec![g.clone(), w.clone()], move |inp, _, gg| {
                    let (g, w) = (&inp[0], &inp[1]);
                    let dg = if g.is_traced() { Some(gg.conv(w, &p)?) } else { None };
                    let dw = if w.is_traced() { Some(gg.conv_weight_grad(g, w.shape(), &p)?) } else { None };
                    Ok(vec![dg, dw])
                })
            },
            &[&g, &w],
        ))
    }

    /// The gradient of `conv` with respect to its weights, for the input `self` (N, C, S...)
    /// and the output gradient g (N, F, O...): shape `weight_shape` = (F, C/G, K...), summed
    /// over the batch. Padding reads as `p.pad_value`.
    pub fn conv_weight_grad(&self, g: &Tensor, weight_shape: &[usize], p: &ConvParams) -> Result<Tensor> {
        let (x, g) = real_pair(OP, self, g)?;
        let geo = geometry(OP, x.shape(), weight_shape, p)?;
        let expect = out_shape(geo.n, geo.f, &geo.out_sp, x.ndim() - 2);
        if g.shape() != expect.as_slice() {
            return Err(Error::shape(
                OP,
                format!(
                    "output gradient has shape {:?}, but input {:?} with weights {weight_shape:?} gives output {expect:?}",
                    g.shape(),
                    x.shape()
                ),
            ));
        }
        let pv = p.pad_value;
        let data = match (x.buffer(), g.buffer()) {
            (Buffer::F32(a), Buffer::F32(b)) => Buffer::F32(conv_backward_weight(a, b, &geo, pv as f32)),
            (Buffer::F64(a), Buffer::F64(b)) => Buffer::F64(conv_backward_weight(a, b, &geo, pv)),
            _ => unreachable!("real and promoted above"),
        };
        let p = p.clone();
        Ok(Tensor::from_op(
            data,
            weight_shape.to_vec(),
            || {
                Op::new("dlconv_weight_grad", vec![x.clone(), g.clone()], move |inp, _, gw| {
                    let (x, g) = (&inp[0], &inp[1]);
                    let dx = if x.is_traced() { Some(g.conv_input_grad(gw, &x.shape()[2..], &p)?) } else { None };
                    let dg = if g.is_traced() { Some(x.conv(gw, &p)?) } else { None };
                    Ok(vec![dx, dg])
                })
            },
            &[&x, &g],
        ))
    }

    /// Transposed convolution (MATLAB's `dltranspconv`, PyTorch's `conv_transpose{1,2,3}d`
    /// without bias): x (N, C_in, I...) with w (C_in, F_out/G, K...) → (N, F_out, O...),
    /// `O = (I − 1)·stride + dilation·(K − 1) + 1 − crop_before − crop_after + output_padding`.
    /// `p.pad_before`/`p.pad_after` are the cropping; `p.pad_value` must be 0.
    /// `output_padding` (per dim, or one value, or empty for 0) must be below the stride.
    pub fn transposed_conv(&self, w: &Tensor, p: &ConvParams, output_padding: &[usize]) -> Result<Tensor> {
        if !(3..=5).contains(&self.ndim()) || w.ndim() != self.ndim() {
            return Err(Error::shape(
                OP_T,
                format!(
                    "input must have 3 to 5 dims (N, C, S...) and weights (C, F/G, K...) as many, got shapes {:?} and {:?}",
                    self.shape(),
                    w.shape()
                ),
            ));
        }
        if p.pad_value != 0.0 {
            return Err(Error::value(OP_T, "a padding value is not defined for transposed convolution"));
        }
        if p.groups == 0 || !w.shape()[0].is_multiple_of(p.groups) {
            return Err(Error::value(OP_T, format!("{} groups must divide the {} input channels", p.groups, w.shape()[0])));
        }
        if self.shape()[1] != w.shape()[0] {
            return Err(Error::shape(
                OP_T,
                format!(
                    "channel mismatch: input of shape {:?} has {} channels, weights of shape {:?} expect {}",
                    self.shape(),
                    self.shape()[1],
                    w.shape(),
                    w.shape()[0]
                ),
            ));
        }
        let d = self.ndim() - 2;
        let stride = spatial3(OP_T, "stride", &p.stride, d, 1, 1)?;
        let dil = spatial3(OP_T, "dilation", &p.dilation, d, 1, 1)?;
        let cb = spatial3(OP_T, "cropping", &p.pad_before, d, 0, 0)?;
        let ca = spatial3(OP_T, "cropping", &p.pad_after, d, 0, 0)?;
        let opad = spatial3(OP_T, "output_padding", output_padding, d, 0, 0)?;
        let (i_sp, k) = (sp3(&self.shape()[2..]), sp3(&w.shape()[2..]));
        let mut out = Vec::with_capacity(d);
        for i in 3 - d..3 {
            if k[i] == 0 || i_sp[i] == 0 {
                return Err(Error::shape(OP_T, format!("empty input {:?} or kernel {:?}", self.shape(), w.shape())));
            }
            if opad[i] >= stride[i] {
                return Err(Error::value(
                    OP_T,
                    format!("output_padding {output_padding:?} must be smaller than the stride {:?}", p.stride),
                ));
            }
            let full = (i_sp[i] - 1) * stride[i] + dil[i] * (k[i] - 1) + 1 + opad[i];
            if cb[i] + ca[i] >= full {
                return Err(Error::shape(
                    OP_T,
                    format!(
                        "cropping {:?}/{:?} removes the whole output (size {full} along spatial dim {}) for input {:?} and weights {:?}",
                        p.pad_before,
                        p.pad_after,
                        i + d - 3,
                        self.shape(),
                        w.shape()
                    ),
                ));
            }
            out.push(full - cb[i] - ca[i]);
        }
        self.conv_input_grad(w, &out, p)
    }
}
