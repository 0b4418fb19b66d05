//! Max and average pooling (MATLAB's `maxpool`, `maxunpool`, `avgpool`) on input in MATLAB's
//! layout (S1..Sd, C, N), d = 1, 2, 3, pooling each channel of each observation separately.
//! Global pooling is a mean or max over the spatial axes and lives with the caller.
//!
//! Max pooling finds each window's maximum and its flat index with a fast kernel; the result
//! is recorded as a gather of x at those indices, whose backward is `maxunpool` (a scatter-add),
//! whose backward is the gather again (the pair `take` / `scatter_add`, with kernels that run
//! column ranges in parallel), so every order of derivative works. Average pooling and its adjoint `avgpool_backward` are linear and each one's
//! backward is the other.

use std::sync::Arc;

use super::conv::{sp3, spatial3};
use crate::buffer::Buffer;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernels::pool::{avgpool_backward, avgpool_forward, gather, maxpool_forward, scatter_columns, PoolGeom};
use crate::limits::{checked_size, ensure_allocatable};
use crate::op::{OpKind, Saved};
use crate::shape::numel;
use crate::storage::Device;
use crate::tensor::Tensor;

/// Window options, each per spatial dim or a single value for all (`stride` and the
/// paddings may be empty: stride 1, as MATLAB's default, and no padding).
#[derive(Debug, Clone, PartialEq)]
pub struct PoolWindow {
    kernel: Vec<usize>,
    stride: Vec<usize>,
    pad_before: Vec<usize>,
    pad_after: Vec<usize>,
}

impl PoolWindow {
    pub fn new(kernel: &[usize], stride: &[usize], pad_before: &[usize], pad_after: &[usize]) -> PoolWindow {
        PoolWindow { kernel: kernel.to_vec(), stride: stride.to_vec(), pad_before: pad_before.to_vec(), pad_after: pad_after.to_vec() }
    }

    /// The options as `name=value` pairs.
    pub fn describe(&self) -> String {
        format!("pool_size={:?}, stride={:?}, pad_before={:?}, pad_after={:?}", self.kernel, self.stride, self.pad_before, self.pad_after)
    }

    /// Checks the options against an input of shape `xs`; `max` additionally requires every
    /// window to overlap the input (padding smaller than the window).
    fn geometry(&self, op: &str, xs: &[usize], max: bool) -> Result<PoolGeom> {
        if !(3..=5).contains(&xs.len()) {
            return Err(Error::shape(op, format!("input must have 3 to 5 dims (S1[, S2[, S3]], C, N), got shape {xs:?}")));
        }
        let d = xs.len() - 2;
        if self.kernel.is_empty() {
            return Err(Error::value(op, "pool size must be given"));
        }
        let k = spatial3(op, "pool size", &self.kernel, d, 1, 1)?;
        let stride = spatial3(op, "stride", &self.stride, d, 1, 1)?;
        let pb = spatial3(op, "padding", &self.pad_before, d, 0, 0)?;
        let pa = spatial3(op, "padding", &self.pad_after, d, 0, 0)?;
        let in_sp = sp3(&xs[..d]);
        let mut out_sp = [1; 3];
        for i in 3 - d..3 {
            let padded = checked_size(op, "padded input", || in_sp[i].checked_add(pb[i])?.checked_add(pa[i]))?;
            if k[i] > padded {
                return Err(Error::shape(
                    op,
                    format!(
                        "pool size {:?} is larger than the padded input ({padded} along spatial dim {}) of shape {xs:?}",
                        self.kernel,
                        i + d - 3
                    ),
                ));
            }
            if max && in_sp[i] == 0 {
                return Err(Error::shape(
                    op,
                    format!("input of shape {xs:?} is empty along spatial dim {}: every window would hold only padding", i + d - 3),
                ));
            }
            if max && (pb[i] >= k[i] || pa[i] >= k[i]) {
                return Err(Error::value(
                    op,
                    format!("padding {:?}/{:?} must be smaller than the pool size {:?}", self.pad_before, self.pad_after, self.kernel),
                ));
            }
            out_sp[i] = (padded - k[i]) / stride[i] + 1;
        }
        let geo = PoolGeom { inner: xs[d] * xs[d + 1], in_sp, out_sp, k, stride, pad: pb };
        ensure_allocatable(op, &pooled_shape(xs, &geo), DType::F64)?;
        Ok(geo)
    }
}

/// (O..., C, N).
fn pooled_shape(xs: &[usize], geo: &PoolGeom) -> Vec<usize> {
    let d = xs.len() - 2;
    let mut s = geo.out_sp[3 - d..].to_vec();
    s.extend_from_slice(&xs[d..]);
    s
}

/// Whether an operand is on the GPU and every operand is real (a complex array never is).
fn on_gpu(operands: &[&Tensor]) -> bool {
    Tensor::any_on_gpu(operands.iter().copied()) && operands.iter().all(|t| !t.dtype().is_complex())
}

fn real_only(op: &str, x: &Tensor) -> Result<()> {
    if x.dtype().is_complex() {
        return Err(Error::dtype(op, format!("not defined for {} input", x.dtype())));
    }
    Ok(())
}

impl Tensor {
    /// Max pooling of x (S..., C, N) → (Y (O..., C, N), indices), with
    /// `O = floor((S + pad_before + pad_after − kernel) / stride) + 1`. `indices` holds, for
    /// each element of Y, the flat (row-major) position in x of the maximum it took (for
    /// [`Tensor::maxunpool`]). Padding is never selected (it must be smaller than the pool
    /// size); NaN propagates; ties take the first position in row-major order.
    pub fn maxpool(
        &self,
        kernel: &[usize],
        stride: &[usize],
        pad_before: &[usize],
        pad_after: &[usize],
    ) -> Result<(Tensor, Arc<Vec<usize>>)> {
        let (y, idx) = self.maxpool_with(PoolWindow::new(kernel, stride, pad_before, pad_after))?;
        Ok((y, idx))
    }

    /// [`Tensor::maxpool`]'s values alone. On the GPU no positions are kept: the backward
    /// finds the maxima again there (as a replayed trace does).
    pub(crate) fn maxpool_window(&self, window: &PoolWindow) -> Result<Tensor> {
        if self.device() == Device::Gpu && !self.dtype().is_complex() {
            let geo = window.geometry("maxpool", self.shape(), true)?;
            if let Some(data) = crate::gpu_backend::maxpool_gather(self, self, &geo)? {
                let kind = OpKind::MaxPool { window: window.clone() };
                return Ok(Tensor::from_op_storage(data, pooled_shape(self.shape(), &geo), kind, &[self]));
            }
        }
        Ok(self.maxpool_with(window.clone())?.0)
    }

    /// [`Tensor::maxpool`] for a window already made (a replayed trace's maxpool, which keeps
    /// the positions for its backward).
    pub(crate) fn maxpool_indexed(&self, window: &PoolWindow) -> Result<(Tensor, Arc<Vec<usize>>)> {
        self.maxpool_with(window.clone())
    }

    fn maxpool_with(&self, window: PoolWindow) -> Result<(Tensor, Arc<Vec<usize>>)> {
        let (vals, idx, shape) = self.max_positions(&window)?;
        let idx = Arc::new(idx);
        let saved = || Saved::Indices(idx.clone());
        let y = Tensor::from_op_saved(Arc::new(vals), shape, OpKind::MaxPool { window }, &[self], saved);
        Ok((y, idx))
    }

    /// Each window's maximum, its flat position in `self`, and the pooled shape.
    fn max_positions(&self, window: &PoolWindow) -> Result<(Buffer, Vec<usize>, Vec<usize>)> {
        const OP: &str = "maxpool";
        real_only(OP, self)?;
        let geo = window.geometry(OP, self.shape(), true)?;
        let (vals, idx) = match self.buffer()? {
            Buffer::F32(v) => {
                let (y, i) = maxpool_forward(v, &geo);
                (Buffer::F32(y.into()), i)
            }
            Buffer::F64(v) => {
                let (y, i) = maxpool_forward(v, &geo);
                (Buffer::F64(y.into()), i)
            }
            _ => unreachable!("checked above"),
        };
        Ok((vals, idx, pooled_shape(self.shape(), &geo)))
    }

    /// Maxpool's backward: zeros of `x`'s shape with each element of `self` (the output
    /// gradient) added where its window's maximum was. `idx` are those positions when known
    /// (maxpool's own for `x`); otherwise they are found again, as a replayed trace must.
    /// Recorded with `x` as an input (piecewise constant in it), so that it replays.
    pub(crate) fn maxpool_backward(&self, x: &Tensor, window: &PoolWindow, idx: Option<&Arc<Vec<usize>>>) -> Result<Tensor> {
        let kind = || OpKind::MaxPoolBackward { window: window.clone() };
        if on_gpu(&[self, x]) {
            let geo = window.geometry("maxpool", x.shape(), true)?;
            if self.shape() == pooled_shape(x.shape(), &geo).as_slice() {
                if let Some(data) = crate::gpu_backend::maxpool_backward(self, x, &geo)? {
                    return Ok(Tensor::from_op_storage(data, x.shape().to_vec(), kind(), &[self, x]));
                }
            }
        }
        let found;
        let idx = match idx {
            Some(i) => i.as_slice(),
            None => {
                found = x.max_positions(window)?.1;
                &found
            }
        };
        let data = self.scatter(idx, x.shape(), true)?;
        Ok(Tensor::from_op(data, x.shape().to_vec(), kind(), &[self, x]))
    }

    /// The elements of `self` (shaped like `x`) where the windows of `x` have their maxima:
    /// the adjoint of [`Tensor::maxpool_backward`] in its gradient.
    pub(crate) fn maxpool_gather(&self, x: &Tensor, window: &PoolWindow) -> Result<Tensor> {
        if on_gpu(&[self, x]) && self.shape() == x.shape() {
            let geo = window.geometry("maxpool", x.shape(), true)?;
            if let Some(data) = crate::gpu_backend::maxpool_gather(self, x, &geo)? {
                let kind = OpKind::MaxPoolGather { window: window.clone() };
                return Ok(Tensor::from_op_storage(data, pooled_shape(x.shape(), &geo), kind, &[self, x]));
            }
        }
        let (_, idx, shape) = x.max_positions(window)?;
        let vals = self.gather_at(&idx)?;
        Ok(Tensor::from_op(vals, shape, OpKind::MaxPoolGather { window: window.clone() }, &[self, x]))
    }

    /// The elements of `self` at flat positions `idx`, in `shape`: the adjoint of
    /// [`Tensor::maxunpool`].
    pub(crate) fn pool_gather(&self, idx: Arc<Vec<usize>>, shape: Vec<usize>) -> Result<Tensor> {
        let vals = self.gather_at(&idx)?;
        Ok(Tensor::from_op(vals, shape, OpKind::PoolGather { idx }, &[self]))
    }

    fn gather_at(&self, idx: &[usize]) -> Result<Buffer> {
        Ok(match self.buffer()? {
            Buffer::F32(v) => Buffer::F32(gather(v, idx).into()),
            Buffer::F64(v) => Buffer::F64(gather(v, idx).into()),
            _ => return Err(Error::dtype("maxpool", format!("not defined for {} input", self.dtype()))),
        })
    }

    /// MATLAB's `maxunpool`: zeros of `input_shape` with each element of `self` added at its
    /// flat position in `idx` (from [`Tensor::maxpool`]; positions selected twice, possible
    /// with overlapping windows, add up, which makes it the adjoint of `maxpool`).
    pub fn maxunpool(&self, idx: Arc<Vec<usize>>, input_shape: &[usize]) -> Result<Tensor> {
        let data = self.scatter(&idx, input_shape, false)?;
        Ok(Tensor::from_op(data, input_shape.to_vec(), OpKind::MaxUnpool { idx, shape: input_shape.to_vec() }, &[self]))
    }

    /// Zeros of `input_shape` with `self`'s elements added at `idx`; `from_maxpool` says the
    /// indices are maxpool's own for this shape (in range, each within its column), which
    /// spares the checks.
    fn scatter(&self, idx: &[usize], input_shape: &[usize], from_maxpool: bool) -> Result<Buffer> {
        const OP: &str = "maxunpool";
        real_only(OP, self)?;
        if idx.len() != self.numel() {
            return Err(Error::shape(OP, format!("{} indices for an input of shape {:?}", idx.len(), self.shape())));
        }
        let n = ensure_allocatable(OP, input_shape, self.dtype())?;
        if let Some(&bad) = idx.iter().find(|&&i| !from_maxpool && i >= n) {
            return Err(Error::index(OP, format!("index {bad} is outside the output size {input_shape:?}")));
        }
        // The trailing dims both shapes share (C and N after pooling): pooling never moves an
        // element across them, which lets the scatter run by column ranges.
        let shared = self.shape().iter().rev().zip(input_shape.iter().rev()).take_while(|(a, b)| a == b).count();
        let inner = numel(&input_shape[input_shape.len() - shared..]);
        Ok(match self.buffer()? {
            Buffer::F32(v) => Buffer::F32(scatter_columns(v, idx, n, inner, from_maxpool).into()),
            Buffer::F64(v) => Buffer::F64(scatter_columns(v, idx, n, inner, from_maxpool).into()),
            _ => unreachable!("checked above"),
        })
    }

    /// Average pooling of x (S..., C, N) → (O..., C, N), shapes as in [`Tensor::maxpool`].
    /// Padding contributes zeros. With `padding_value_counts` (MATLAB's default) every window
    /// is divided by the full pool size, padding included; without, by the number of input
    /// elements it covers (PyTorch's `count_include_pad=False`).
    pub fn avgpool(
        &self,
        kernel: &[usize],
        stride: &[usize],
        pad_before: &[usize],
        pad_after: &[usize],
        padding_value_counts: bool,
    ) -> Result<Tensor> {
        self.avgpool_impl(&PoolWindow::new(kernel, stride, pad_before, pad_after), padding_value_counts)
    }

    /// The adjoint of [`Tensor::avgpool`] (its gradient): spreads `self` (O..., C, N) evenly
    /// back over the windows of an input of shape `input_shape`.
    pub fn avgpool_backward(
        &self,
        input_shape: &[usize],
        kernel: &[usize],
        stride: &[usize],
        pad_before: &[usize],
        pad_after: &[usize],
        padding_value_counts: bool,
    ) -> Result<Tensor> {
        self.avgpool_backward_impl(input_shape, &PoolWindow::new(kernel, stride, pad_before, pad_after), padding_value_counts)
    }

    pub(crate) fn avgpool_impl(&self, win: &PoolWindow, count: bool) -> Result<Tensor> {
        const OP: &str = "avgpool";
        real_only(OP, self)?;
        let geo = win.geometry(OP, self.shape(), false)?;
        let kind = OpKind::AvgPool { window: win.clone(), padding_value_counts: count };
        if let Some(data) = crate::gpu_backend::avgpool(self, &geo, count)? {
            return Ok(Tensor::from_op_storage(data, pooled_shape(self.shape(), &geo), kind, &[self]));
        }
        let data = match self.buffer()? {
            Buffer::F32(v) => Buffer::F32(avgpool_forward(v, &geo, count).into()),
            Buffer::F64(v) => Buffer::F64(avgpool_forward(v, &geo, count).into()),
            _ => unreachable!("checked above"),
        };
        Ok(Tensor::from_op(data, pooled_shape(self.shape(), &geo), kind, &[self]))
    }

    pub(crate) fn avgpool_backward_impl(&self, input_shape: &[usize], win: &PoolWindow, count: bool) -> Result<Tensor> {
        const OP: &str = "avgpool";
        real_only(OP, self)?;
        let geo = win.geometry(OP, input_shape, false)?;
        let expect = pooled_shape(input_shape, &geo);
        if self.shape() != expect.as_slice() {
            return Err(Error::shape(
                OP,
                format!("gradient of shape {:?} does not fit input {input_shape:?}, whose output is {expect:?}", self.shape()),
            ));
        }
        let kind = OpKind::AvgPoolBackward { window: win.clone(), padding_value_counts: count, input_shape: input_shape.to_vec() };
        if let Some(data) = crate::gpu_backend::avgpool_backward(self, &geo, count)? {
            return Ok(Tensor::from_op_storage(data, input_shape.to_vec(), kind, &[self]));
        }
        let data = match self.buffer()? {
            Buffer::F32(v) => Buffer::F32(avgpool_backward(v, &geo, count).into()),
            Buffer::F64(v) => Buffer::F64(avgpool_backward(v, &geo, count).into()),
            _ => unreachable!("checked above"),
        };
        Ok(Tensor::from_op(data, input_shape.to_vec(), kind, &[self]))
    }
}
