//! `dlconv` and `dltranspconv` on formatted arrays: the input's layout and MATLAB's weight
//! layout (K..., C/G, F/G, G) — (K..., F/G, C/G, G) for the transposed op — checked and
//! moved to the kernels' layout, the window options resolved, the kernel run once, and the
//! result returned in the input's layout and format.

use crate::dl_ops::layout::{KernelInput, OpLayout};
use crate::dl_ops::window::{per_dim, Padding, Sides};
use crate::error::{Error, Result};
use crate::format::Label;
use crate::labeled::DlArray;
use crate::ops::conv::ConvParams;
use crate::shape::show;
use crate::tensor::Tensor;

/// A convolution's options as the user gave them (one value or one per window dim).
#[derive(Clone, Debug)]
pub struct ConvOptions {
    pub stride: Vec<i64>,
    pub dilation: Vec<i64>,
    /// Padding for `dlconv`, cropping for `dltranspconv`.
    pub padding: Padding,
    /// The value padding reads as (`dlconv` only).
    pub padding_value: f64,
}

/// What both ops share once the input and weights are checked.
struct Setup {
    layout: OpLayout,
    input: KernelInput,
    weights: Tensor,
    groups: usize,
    out_channels: usize,
    stride: Vec<usize>,
    dilation: Vec<usize>,
    /// Dilated kernel extent per window dim.
    extents: Vec<usize>,
}

impl Setup {
    fn new(op: &str, x: &DlArray, data_format: Option<&str>, weights: &Tensor, o: &ConvOptions, transposed: bool) -> Result<Setup> {
        let layout = OpLayout::of(op, x, data_format)?;
        layout.require(op, &[Label::C], x.tensor.shape())?;
        let spatial = layout.window_axes(op)?;
        let d = spatial.len();
        if d > 3 {
            return Err(Error::format(op, format!("at most 3 spatial dims are supported, format '{}' has {d}", layout.label_string())));
        }
        let input = layout.to_kernel(op, x, &spatial)?;
        let given = weights.shape();
        if given.len() > d + 3 {
            return Err(Error::shape(op, format!("weights of shape {} have more than {} dims for {d}-D convolution", show(given), d + 3)));
        }
        let mut full = given.to_vec();
        full.resize(d + 3, 1);
        let weights = if full.len() == given.len() { weights.clone() } else { weights.reshape(&full)? };
        let (a, b, groups) = (full[d], full[d + 1], full[d + 2]);
        let (per_group_in, per_group_out) = if transposed { (b, a) } else { (a, b) };
        let channels = input.tensor.shape()[d];
        if per_group_in * groups != channels {
            return Err(Error::shape(
                op,
                format!(
                    "weights of shape {} expect {} input channels ({per_group_in} per group x {groups} groups) but the input \
                     (format '{}', shape {}) has {channels}",
                    show(given),
                    per_group_in * groups,
                    layout.label_string(),
                    show(x.tensor.shape())
                ),
            ));
        }
        let stride = per_dim(op, "stride", &o.stride, d, 1)?;
        let dilation = per_dim(op, "dilation_factor", &o.dilation, d, 1)?;
        let extents = dilation.iter().zip(&full[..d]).map(|(&di, &k)| di * k.saturating_sub(1) + 1).collect();
        Ok(Setup { layout, input, weights, groups, out_channels: groups * per_group_out, stride, dilation, extents })
    }

    fn window_sizes(&self) -> &[usize] {
        &self.input.tensor.shape()[..self.stride.len()]
    }

    fn params(&self, sides: &Sides, padding_value: f64) -> ConvParams {
        ConvParams::new()
            .stride(&self.stride)
            .dilation(&self.dilation)
            .padding(&sides.before, &sides.after)
            .groups(self.groups)
            .pad_value(padding_value)
    }
}

/// A bias as MATLAB takes it: F values (1-D or (F, 1)), added per output channel inside the
/// kernel, or one value added to every element.
enum BiasTerm {
    PerChannel(Tensor),
    Scalar(Tensor),
}

fn bias_term(op: &str, bias: Option<&Tensor>, channels: usize) -> Result<Option<BiasTerm>> {
    let Some(b) = bias else { return Ok(None) };
    if b.numel() == 1 {
        return Ok(Some(BiasTerm::Scalar(b.reshape(&[])?)));
    }
    if b.numel() != channels {
        return Err(Error::shape(
            op,
            format!("bias has {} elements (shape {}) but the output has {channels} channels", b.numel(), show(b.shape())),
        ));
    }
    Ok(Some(BiasTerm::PerChannel(b.reshape(&[channels])?)))
}

impl DlArray {
    /// MATLAB's `dlconv(X, weights, bias, ...)`: 1-D, 2-D or 3-D convolution over the S dims
    /// (or over T when there are none). The output keeps the input's layout and format
    /// (C = F).
    pub fn dlconv(&self, data_format: Option<&str>, weights: &Tensor, bias: Option<&Tensor>, o: &ConvOptions) -> Result<DlArray> {
        const OP: &str = "dlconv";
        let s = Setup::new(OP, self, data_format, weights, o, false)?;
        let sides = o.padding.resolve(OP, "padding", s.window_sizes(), &s.extents, &s.stride)?;
        let p = s.params(&sides, o.padding_value);
        let y = match bias_term(OP, bias, s.out_channels)? {
            None => s.input.tensor.conv_bias(&s.weights, None, &p)?,
            Some(BiasTerm::PerChannel(b)) => s.input.tensor.conv_bias(&s.weights, Some(&b), &p)?,
            Some(BiasTerm::Scalar(b)) => s.input.tensor.conv_bias(&s.weights, None, &p)?.add(&b)?,
        };
        s.layout.from_kernel(&y, &s.input.perm)
    }

    /// MATLAB's `dltranspconv(X, weights, bias, ...)`; `o.padding` is the cropping. The
    /// output size per dim is `(I − 1)·stride + dilation·(K − 1) + 1 − crop_before −
    /// crop_after`; "same" gives `I·stride` (an odd total crop removes the extra element at
    /// the end; a kernel shorter than the stride pads the end instead).
    pub fn dltranspconv(&self, data_format: Option<&str>, weights: &Tensor, bias: Option<&Tensor>, o: &ConvOptions) -> Result<DlArray> {
        const OP: &str = "dltranspconv";
        let s = Setup::new(OP, self, data_format, weights, o, true)?;
        let d = s.stride.len();
        let mut output_padding = vec![0; d];
        let sides = if o.padding == Padding::Same {
            let mut sides = Sides { before: Vec::with_capacity(d), after: Vec::with_capacity(d) };
            for (i, (&e, &st)) in s.extents.iter().zip(&s.stride).enumerate() {
                let total = if e >= st {
                    e - st
                } else {
                    output_padding[i] = st - e;
                    0
                };
                sides.before.push(total / 2);
                sides.after.push(total - total / 2);
            }
            sides
        } else {
            o.padding.resolve(OP, "cropping", s.window_sizes(), &s.extents, &s.stride)?
        };
        let y = s.input.tensor.transposed_conv(&s.weights, &s.params(&sides, 0.0), &output_padding)?;
        let y = match bias_term(OP, bias, s.out_channels)? {
            None => y,
            Some(BiasTerm::Scalar(b)) => y.add(&b)?,
            Some(BiasTerm::PerChannel(b)) => {
                let mut shape = vec![1; y.ndim()];
                shape[d] = s.out_channels;
                y.add(&b.reshape(&shape)?)?
            }
        };
        s.layout.from_kernel(&y, &s.input.perm)
    }
}
