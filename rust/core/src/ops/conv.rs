//! Convolution (`dlconv`) and transposed convolution (`dltranspconv`) in MATLAB's layouts:
//! input (S1..Sd, C, N), weights (K1..Kd, C/G, F/G, G), output (O1..Od, F, N), d = 1, 2, 3
//! (a formatted 'SSCB' array needs no permutation). Bias is added separately.
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

use crate::buffer::Buffer;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernels::conv::{conv_backward_input, conv_backward_weight, conv_forward, ConvGeom};
use crate::limits::{checked_size, ensure_allocatable};
use crate::op::OpKind;
use crate::shape::numel;
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
        n => return Err(Error::value(op, format!("{name} needs {d} values (one per spatial dimension) or 1, got {n}: {v:?}"))),
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
/// shape `xs` (S..., C, N) and weights of shape `ws` (K..., C/G, F/G, G).
fn geometry(op: &str, xs: &[usize], ws: &[usize], p: &ConvParams, dtype: DType) -> Result<ConvGeom> {
    if !(3..=5).contains(&xs.len()) {
        return Err(Error::shape(op, format!("input must have 3 to 5 dims (S1[, S2[, S3]], C, N), got shape {xs:?}")));
    }
    let d = xs.len() - 2;
    if ws.len() != d + 3 {
        return Err(Error::shape(
            op,
            format!("weights of shape {ws:?} do not fit input of shape {xs:?}: expected {} dims (K..., C/G, F/G, G)", d + 3),
        ));
    }
    let g = p.groups;
    let (c, n) = (xs[d], xs[d + 1]);
    let (cg, fg) = (ws[d], ws[d + 1]);
    if g == 0 || ws[d + 2] != g {
        return Err(Error::value(op, format!("weights of shape {ws:?} hold {} groups, expected {g}", ws[d + 2])));
    }
    if cg * g != c {
        return Err(Error::shape(
            op,
            format!(
                "channel mismatch: input of shape {xs:?} has {c} channels, weights of shape {ws:?} expect {} ({cg} per group × {g} groups)",
                cg * g
            ),
        ));
    }
    let stride = spatial3(op, "stride", &p.stride, d, 1, 1)?;
    let dil = spatial3(op, "dilation", &p.dilation, d, 1, 1)?;
    let pb = spatial3(op, "padding", &p.pad_before, d, 0, 0)?;
    let pa = spatial3(op, "padding", &p.pad_after, d, 0, 0)?;
    let (in_sp, k) = (sp3(&xs[..d]), sp3(&ws[..d]));
    let mut out_sp = [1; 3];
    for i in 3 - d..3 {
        if k[i] == 0 {
            return Err(Error::shape(op, format!("weights of shape {ws:?} have an empty kernel")));
        }
        let span = checked_size(op, "dilated kernel extent", || dil[i].checked_mul(k[i] - 1)?.checked_add(1))?;
        let padded = checked_size(op, "padded input", || in_sp[i].checked_add(pb[i])?.checked_add(pa[i]))?;
        if span > padded {
            return Err(Error::shape(
                op,
                format!(
                    "kernel {:?} (dilated extent {span} along spatial dim {}) is larger than the padded input ({padded}) of shape {xs:?}",
                    &ws[..d],
                    i + d - 3
                ),
            ));
        }
        out_sp[i] = (padded - span) / stride[i] + 1;
    }
    ensure_allocatable(op, &out_shape(n, fg * g, &out_sp, d), dtype)?;
    Ok(ConvGeom { n, c, f: fg * g, groups: g, in_sp, out_sp, k, stride, dil, pad: pb })
}

/// The forward pass when the kernels have nothing to do (an empty batch, no channels, no
/// filters, an empty input read only through padding): each output is the bias plus the
/// padding value times the sum of the filter's weights over the taps that fall in padding —
/// all of them when the input is empty, none when it has no channels.
fn degenerate_forward(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, geo: &ConvGeom, pad_value: f64) -> Result<Buffer> {
    let d = x.ndim() - 2;
    let shape = out_shape(geo.n, geo.f, &geo.out_sp, d);
    let total = numel(&shape);
    if total == 0 {
        return Ok(Buffer::zeros(x.dtype(), 0));
    }
    // Per filter: the bias, plus pad_value · Σ w when every tap reads padding.
    let mut per_filter = vec![0.0; geo.f];
    if numel(&geo.in_sp) == 0 && pad_value != 0.0 {
        // Each filter collects every tap and channel of its weights.
        for (i, v) in w.buffer()?.to_f64_vec().iter().enumerate() {
            per_filter[geo.filter_of_weight(i)] += pad_value * v;
        }
    }
    if let Some(b) = bias {
        for (p, v) in per_filter.iter_mut().zip(b.buffer()?.to_f64_vec()) {
            *p += v;
        }
    }
    let values: Vec<f64> = (0..total).map(|i| per_filter[geo.filter_of_output(i)]).collect();
    Ok(Buffer::F64(values.into()).cast(x.dtype()))
}

/// The weight gradient when the kernels have nothing to do: zero, except that taps reading
/// padding of an empty input collect pad_value times the output gradient.
fn degenerate_weight_grad(x: &Tensor, g: &Tensor, weight_shape: &[usize], geo: &ConvGeom, pad_value: f64) -> Result<Buffer> {
    let total = numel(weight_shape);
    if numel(&geo.in_sp) != 0 || pad_value == 0.0 || total == 0 {
        return Ok(Buffer::zeros(x.dtype(), total));
    }
    // Every tap of filter f sees pad_value at every output position: Σ over O and N of g.
    let mut per_filter = vec![0.0; geo.f];
    for (i, v) in g.buffer()?.to_f64_vec().iter().enumerate() {
        per_filter[geo.filter_of_output(i)] += v;
    }
    let values: Vec<f64> = (0..total).map(|i| pad_value * per_filter[geo.filter_of_weight(i)]).collect();
    Ok(Buffer::F64(values.into()).cast(x.dtype()))
}

/// (O..., channels, N).
fn out_shape(n: usize, ch: usize, sp: &[usize; 3], d: usize) -> Vec<usize> {
    let mut s = sp[3 - d..].to_vec();
    s.extend_from_slice(&[ch, n]);
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
    /// Cross-correlation (MATLAB's `dlconv` without bias):
    /// x (S..., C, N) with w (K..., C/G, F/G, G) → (O..., F, N),
    /// `O = floor((S + pad_before + pad_after − dilation·(K−1) − 1) / stride) + 1`.
    pub fn conv(&self, w: &Tensor, p: &ConvParams) -> Result<Tensor> {
        self.conv_bias(w, None, p)
    }

    /// [`Tensor::conv`] plus a per-filter `bias` of F elements, added inside the kernel (one
    /// pass over the output fewer than a separate broadcast add).
    pub fn conv_bias(&self, w: &Tensor, bias: Option<&Tensor>, p: &ConvParams) -> Result<Tensor> {
        let (x, w) = real_pair(OP, self, w)?;
        let geo = geometry(OP, x.shape(), w.shape(), p, x.dtype())?;
        let bias = match bias {
            Some(b) if b.numel() != geo.f || b.ndim() != 1 => {
                return Err(Error::shape(OP, format!("bias of shape {:?} must be 1-D with one value per filter ({})", b.shape(), geo.f)));
            }
            Some(b) => Some(if b.dtype() == x.dtype() { b.clone() } else { b.cast(x.dtype())? }),
            None => None,
        };
        let pv = p.pad_value;
        let shape = out_shape(geo.n, geo.f, &geo.out_sp, x.ndim() - 2);
        let mut inputs = vec![&x, &w];
        inputs.extend(bias.as_ref());
        let kind = OpKind::Conv { params: p.clone() };
        if !geo.is_degenerate() {
            if let Some(data) = crate::gpu_backend::conv(&x, &w, bias.as_ref(), &geo, pv)? {
                return Ok(Tensor::from_op_storage(data, shape, kind, &inputs));
            }
        }
        let data = if geo.is_degenerate() {
            degenerate_forward(&x, &w, bias.as_ref(), &geo, pv)?
        } else {
            match (x.buffer()?, w.buffer()?, bias.as_ref().map(|b| b.buffer()).transpose()?) {
                (Buffer::F32(a), Buffer::F32(b), None) => Buffer::F32(conv_forward(a, b, None, &geo, pv as f32).into()),
                (Buffer::F32(a), Buffer::F32(b), Some(Buffer::F32(c))) => Buffer::F32(conv_forward(a, b, Some(c), &geo, pv as f32).into()),
                (Buffer::F64(a), Buffer::F64(b), None) => Buffer::F64(conv_forward(a, b, None, &geo, pv).into()),
                (Buffer::F64(a), Buffer::F64(b), Some(Buffer::F64(c))) => Buffer::F64(conv_forward(a, b, Some(c), &geo, pv).into()),
                _ => unreachable!("real and promoted above"),
            }
        };
        Ok(Tensor::from_op(data, shape, kind, &inputs))
    }

    /// The gradient of `conv` with respect to its input, for the output gradient `self`
    /// (O..., F, N) and weights w (K..., C/G, F/G, G): a transposed convolution giving
    /// (S..., C, N) with S = `input_spatial`. `p.pad_value` is ignored (padding is constant).
    pub fn conv_input_grad(&self, w: &Tensor, input_spatial: &[usize], p: &ConvParams) -> Result<Tensor> {
        let (g, w) = real_pair(OP, self, w)?;
        if g.ndim() < 3 || g.ndim() + 1 != w.ndim() || input_spatial.len() + 2 != g.ndim() {
            return Err(Error::shape(
                OP,
                format!(
                    "input gradient: output gradient of shape {:?}, weights of shape {:?} and input spatial size {input_spatial:?} do not fit",
                    g.shape(),
                    w.shape()
                ),
            ));
        }
        let d = input_spatial.len();
        let mut xs = input_spatial.to_vec();
        xs.extend_from_slice(&[w.shape()[d] * w.shape()[d + 2], g.shape()[d + 1]]);
        let geo = geometry(OP, &xs, w.shape(), p, g.dtype())?;
        ensure_allocatable(OP, &xs, g.dtype())?;
        let expect = out_shape(geo.n, geo.f, &geo.out_sp, input_spatial.len());
        if g.shape() != expect.as_slice() {
            return Err(Error::shape(
                OP,
                format!("output gradient has shape {:?}, but input {xs:?} with weights {:?} gives output {expect:?}", g.shape(), w.shape()),
            ));
        }
        let kind = OpKind::ConvInputGrad { params: p.zero_pad_value(), input_spatial: input_spatial.to_vec() };
        if !geo.is_degenerate() {
            if let Some(data) = crate::gpu_backend::conv_input_grad(&g, &w, &geo)? {
                return Ok(Tensor::from_op_storage(data, xs, kind, &[&g, &w]));
            }
        }
        let data = match (g.buffer()?, w.buffer()?) {
            _ if geo.is_degenerate() => Buffer::zeros(g.dtype(), numel(&xs)),
            (Buffer::F32(a), Buffer::F32(b)) => Buffer::F32(conv_backward_input(a, b, &geo).into()),
            (Buffer::F64(a), Buffer::F64(b)) => Buffer::F64(conv_backward_input(a, b, &geo).into()),
            _ => unreachable!("real and promoted above"),
        };
        Ok(Tensor::from_op(data, xs, kind, &[&g, &w]))
    }

    /// The gradient of `conv` with respect to its weights, for the input `self` (S..., C, N)
    /// and the output gradient g (O..., F, N): shape `weight_shape` = (K..., C/G, F/G, G), summed
    /// over the batch. Padding reads as `p.pad_value`.
    pub fn conv_weight_grad(&self, g: &Tensor, weight_shape: &[usize], p: &ConvParams) -> Result<Tensor> {
        let (x, g) = real_pair(OP, self, g)?;
        let geo = geometry(OP, x.shape(), weight_shape, p, x.dtype())?;
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
        let kind = OpKind::ConvWeightGrad { params: p.clone(), weight_shape: weight_shape.to_vec() };
        if !geo.is_degenerate() {
            if let Some(data) = crate::gpu_backend::conv_weight_grad(&x, &g, &geo, pv)? {
                return Ok(Tensor::from_op_storage(data, weight_shape.to_vec(), kind, &[&x, &g]));
            }
        }
        let data = match (x.buffer()?, g.buffer()?) {
            _ if geo.is_degenerate() => degenerate_weight_grad(&x, &g, weight_shape, &geo, pv)?,
            (Buffer::F32(a), Buffer::F32(b)) => Buffer::F32(conv_backward_weight(a, b, &geo, pv as f32).into()),
            (Buffer::F64(a), Buffer::F64(b)) => Buffer::F64(conv_backward_weight(a, b, &geo, pv).into()),
            _ => unreachable!("real and promoted above"),
        };
        Ok(Tensor::from_op(data, weight_shape.to_vec(), kind, &[&x, &g]))
    }

    /// Transposed convolution (MATLAB's `dltranspconv` without bias): x (I..., C, N) with
    /// w (K..., F/G, C/G, G) → (O..., F, N),
    /// `O = (I − 1)·stride + dilation·(K − 1) + 1 − crop_before − crop_after + output_padding`.
    /// `p.pad_before`/`p.pad_after` are the cropping; `p.pad_value` must be 0.
    /// `output_padding` (per dim, or one value, or empty for 0) must be below the stride.
    pub fn transposed_conv(&self, w: &Tensor, p: &ConvParams, output_padding: &[usize]) -> Result<Tensor> {
        if !(3..=5).contains(&self.ndim()) || w.ndim() != self.ndim() + 1 {
            return Err(Error::shape(
                OP_T,
                format!(
                    "input must have 3 to 5 dims (S..., C, N) and weights (K..., F/G, C/G, G) one more, got shapes {:?} and {:?}",
                    self.shape(),
                    w.shape()
                ),
            ));
        }
        if p.pad_value != 0.0 {
            return Err(Error::value(OP_T, "a padding value is not defined for transposed convolution"));
        }
        let d = self.ndim() - 2;
        let (c, cg, groups) = (self.shape()[d], w.shape()[d + 1], w.shape()[d + 2]);
        if p.groups == 0 || groups != p.groups {
            return Err(Error::value(OP_T, format!("weights of shape {:?} hold {groups} groups, expected {}", w.shape(), p.groups)));
        }
        if c != cg * groups {
            return Err(Error::shape(
                OP_T,
                format!(
                    "channel mismatch: input of shape {:?} has {c} channels, weights of shape {:?} expect {}",
                    self.shape(),
                    w.shape(),
                    cg * groups
                ),
            ));
        }
        let d = self.ndim() - 2;
        let stride = spatial3(OP_T, "stride", &p.stride, d, 1, 1)?;
        let dil = spatial3(OP_T, "dilation", &p.dilation, d, 1, 1)?;
        let cb = spatial3(OP_T, "cropping", &p.pad_before, d, 0, 0)?;
        let ca = spatial3(OP_T, "cropping", &p.pad_after, d, 0, 0)?;
        let opad = spatial3(OP_T, "output_padding", output_padding, d, 0, 0)?;
        let (i_sp, k) = (sp3(&self.shape()[..d]), sp3(&w.shape()[..d]));
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
            let full = checked_size(OP_T, "output", || {
                (i_sp[i] - 1).checked_mul(stride[i])?.checked_add(dil[i].checked_mul(k[i] - 1)?)?.checked_add(1 + opad[i])
            })?;
            if cb[i].saturating_add(ca[i]) >= full {
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
        // The adjoint of dlconv: its errors (an output too large to allocate) are this op's.
        self.conv_input_grad(w, &out, p).map_err(|e| e.within(OP_T))
    }
}
