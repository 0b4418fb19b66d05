//! Moving data around without arithmetic: reshape, permute, broadcast, flip, concatenate,
//! narrow/pad (each the other's adjoint), tile.

use crate::buffer::Buffer;
use crate::error::{Error, Result};
use crate::kernels::elementwise::gather_strided;
use crate::limits::{check_ndim, checked_numel, ensure_allocatable};
use crate::op::OpKind;
use crate::shape::{broadcast_strides, strides};
use crate::tensor::Tensor;
use crate::with_buffer;

fn gather(b: &Buffer, out: &[usize], st: &[usize], offset: usize) -> Buffer {
    with_buffer!(b, v => crate::buffer::IntoBuffer::into_buffer(gather_strided(v, out, st, offset)))
}

impl Tensor {
    /// Row-major reshape; shares storage.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        check_ndim("reshape", shape.len())?;
        if checked_numel("reshape", shape)? != self.numel() {
            return Err(Error::shape(
                "reshape",
                format!("cannot reshape array of size {} (shape {:?}) into shape {:?}", self.numel(), self.shape(), shape),
            ));
        }
        if shape == self.shape() {
            return Ok(self.clone());
        }
        // The same elements in the same order: the storage (a GPU array's device buffer too) is
        // shared, never read back.
        Ok(Tensor::from_op_storage(self.storage().clone(), shape.to_vec(), OpKind::Reshape { shape: shape.to_vec() }, &[self]))
    }

    /// Column-major (MATLAB, numpy `order="F"`) reshape: reverse the axes, reshape the
    /// reversed shape row-major, reverse back.
    pub fn reshape_f(&self, shape: &[usize]) -> Result<Tensor> {
        let rev: Vec<usize> = (0..self.ndim()).rev().collect();
        let rshape: Vec<usize> = shape.iter().rev().copied().collect();
        let back: Vec<usize> = (0..shape.len()).rev().collect();
        self.permute(&rev)?.reshape(&rshape)?.permute(&back)
    }

    /// Reorders the axes: output axis i is input axis `perm[i]`.
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let n = self.ndim();
        let mut seen = vec![false; n];
        if perm.len() != n || perm.iter().any(|&p| p >= n || std::mem::replace(&mut seen[p], true)) {
            return Err(Error::value("permute", format!("{perm:?} is not a permutation of the {n} axes of shape {:?}", self.shape())));
        }
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return Ok(self.clone());
        }
        let out: Vec<usize> = perm.iter().map(|&p| self.shape()[p]).collect();
        if let Some(data) = crate::gpu_backend::permute(self, perm)? {
            return Ok(Tensor::from_op_storage(data, out, OpKind::Permute { perm: perm.to_vec() }, &[self]));
        }
        let st = strides(self.shape());
        let pst: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
        let data = gather(self.buffer()?, &out, &pst, 0);
        Ok(Tensor::from_op(data, out, OpKind::Permute { perm: perm.to_vec() }, &[self]))
    }

    /// Swaps the last two axes.
    pub fn transpose_last(&self) -> Result<Tensor> {
        let n = self.ndim();
        if n < 2 {
            return Ok(self.clone());
        }
        let mut perm: Vec<usize> = (0..n).collect();
        perm.swap(n - 2, n - 1);
        self.permute(&perm)
    }

    /// numpy's `broadcast_to`; the gradient sums back over the expanded axes.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let ok = shape.len() >= self.ndim() && self.shape().iter().rev().zip(shape.iter().rev()).all(|(&a, &b)| a == b || a == 1);
        if !ok {
            return Err(Error::shape("broadcast_to", format!("cannot broadcast shape {:?} to {:?}", self.shape(), shape)));
        }
        ensure_allocatable("broadcast_to", shape, self.dtype())?;
        let kind = || OpKind::BroadcastTo { shape: shape.to_vec() };
        if let Some(data) = crate::gpu_backend::broadcast_to(self, shape)? {
            return Ok(Tensor::from_op_storage(data, shape.to_vec(), kind(), &[self]));
        }
        let st = broadcast_strides(self.shape(), shape);
        let data = gather(self.buffer()?, shape, &st, 0);
        Ok(Tensor::from_op(data, shape.to_vec(), kind(), &[self]))
    }

    /// Sums over the axes along which `shape` was broadcast to `self.shape()`.
    pub fn sum_to(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let lead = self
            .ndim()
            .checked_sub(shape.len())
            .ok_or_else(|| Error::shape("sum_to", format!("cannot reduce shape {:?} to {:?}", self.shape(), shape)))?;
        let mut axes: Vec<usize> = (0..lead).collect();
        for (i, &d) in shape.iter().enumerate() {
            if d == 1 && self.shape()[lead + i] != 1 {
                axes.push(lead + i);
            } else if d != self.shape()[lead + i] {
                return Err(Error::shape("sum_to", format!("cannot reduce shape {:?} to {:?}", self.shape(), shape)));
            }
        }
        self.sum_axes(&axes, true)?.reshape(shape)
    }

    /// Reverses the order of elements along each of `axes`.
    pub fn flip(&self, axes: &[usize]) -> Result<Tensor> {
        if axes.is_empty() {
            return Ok(self.clone());
        }
        if let Some(&a) = axes.iter().find(|&&a| a >= self.ndim()) {
            return Err(Error::index("flip", format!("axis {a} is out of bounds for shape {:?}", self.shape())));
        }
        // Flipping = a gather whose index along each flipped axis runs backwards.
        let shape = self.shape().to_vec();
        let st = strides(&shape);
        let n = self.numel();
        let mut idx = Vec::with_capacity(n);
        let mut pos = vec![0usize; shape.len()];
        for _ in 0..n {
            let mut off = 0;
            for d in 0..shape.len() {
                let i = if axes.contains(&d) { shape[d] - 1 - pos[d] } else { pos[d] };
                off += i * st[d];
            }
            idx.push(off);
            for d in (0..shape.len()).rev() {
                pos[d] += 1;
                if pos[d] < shape[d] {
                    break;
                }
                pos[d] = 0;
            }
        }
        if let Some(data) = crate::gpu_backend::take_rows(self, (1, n, 1), &idx)? {
            return Ok(Tensor::from_op_storage(data, shape, OpKind::Flip { axes: axes.to_vec() }, &[self]));
        }
        let data = self.buffer()?.gather(&idx);
        Ok(Tensor::from_op(data, shape, OpKind::Flip { axes: axes.to_vec() }, &[self]))
    }

    /// The slice `start..start+len` along `axis`.
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Result<Tensor> {
        if axis >= self.ndim() || start + len > self.shape()[axis] {
            return Err(Error::index(
                "narrow",
                format!("range {start}..{} along axis {axis} is outside shape {:?}", start + len, self.shape()),
            ));
        }
        if start == 0 && len == self.shape()[axis] {
            return Ok(self.clone());
        }
        let mut out = self.shape().to_vec();
        out[axis] = len;
        if let Some(data) = crate::gpu_backend::narrow(self, axis, start, len)? {
            return Ok(Tensor::from_op_storage(data, out, OpKind::Narrow { axis, start, len }, &[self]));
        }
        let st = strides(self.shape());
        let data = gather(self.buffer()?, &out, &st, start * st[axis]);
        Ok(Tensor::from_op(data, out, OpKind::Narrow { axis, start, len }, &[self]))
    }

    /// Zero-pads `before` and `after` elements along `axis` (the adjoint of `narrow`).
    pub fn pad_axis(&self, axis: usize, before: usize, after: usize) -> Result<Tensor> {
        if axis >= self.ndim() {
            return Err(Error::index("pad", format!("axis {axis} is out of bounds for shape {:?}", self.shape())));
        }
        if before == 0 && after == 0 {
            return Ok(self.clone());
        }
        let len = self.shape()[axis];
        let out = with_dim(self.shape(), axis, before + len + after);
        if let Some(data) = crate::gpu_backend::pad_axis(self, axis, before, after)? {
            return Ok(Tensor::from_op_storage(data, out, OpKind::Pad { axis, before, after }, &[self]));
        }
        let z1 = Tensor::zeros(&with_dim(self.shape(), axis, before), self.dtype());
        let z2 = Tensor::zeros(&with_dim(self.shape(), axis, after), self.dtype());
        let data = concat_buffers(&[&z1, self, &z2], axis)?;
        Ok(Tensor::from_op(data, out, OpKind::Pad { axis, before, after }, &[self]))
    }

    /// Joins tensors along an existing axis.
    pub fn concat(xs: &[Tensor], axis: usize) -> Result<Tensor> {
        const OP: &str = "concatenate";
        let first = xs.first().ok_or_else(|| Error::value(OP, "need at least one array"))?;
        if axis >= first.ndim() {
            return Err(Error::index(OP, format!("axis {axis} is out of bounds for shape {:?}", first.shape())));
        }
        let dt = xs.iter().fold(first.dtype(), |d, x| crate::dtype::DType::promote(d, x.dtype()));
        let xs: Vec<Tensor> = xs.iter().map(|x| x.cast(dt)).collect::<Result<_>>()?;
        for x in &xs {
            let same = x.ndim() == first.ndim() && (0..x.ndim()).all(|d| d == axis || x.shape()[d] == first.shape()[d]);
            if !same {
                let shapes: Vec<_> = xs.iter().map(|x| x.shape().to_vec()).collect();
                return Err(Error::shape(OP, format!("shapes {shapes:?} differ outside axis {axis}")));
            }
        }
        let sizes: Vec<usize> = xs.iter().map(|x| x.shape()[axis]).collect();
        let out = with_dim(first.shape(), axis, sizes.iter().sum());
        let refs: Vec<&Tensor> = xs.iter().collect();
        if let Some(data) = crate::gpu_backend::concat(&refs, axis)? {
            return Ok(Tensor::from_op_storage(data, out, OpKind::Concat { axis }, &refs));
        }
        let data = concat_buffers(&refs, axis)?;
        Ok(Tensor::from_op(data, out, OpKind::Concat { axis }, &refs))
    }

    /// Tiles the array `reps[i]` times along axis i (numpy's `tile`, MATLAB's `repmat`).
    pub fn tile(&self, reps: &[usize]) -> Result<Tensor> {
        let n = reps.len().max(self.ndim());
        let mut shape = vec![1; n - self.ndim()];
        shape.extend_from_slice(self.shape());
        let mut reps_full = vec![1; n - reps.len()];
        reps_full.extend_from_slice(reps);
        // (r0, d0, r1, d1, ...) by broadcasting (1, d0, 1, d1, ...), then merge pairs; dims
        // repeated once need no pair (so the intermediate stays within the dims limit longer).
        let paired = |lead: fn(usize) -> usize| {
            shape.iter().zip(&reps_full).flat_map(move |(&d, &r)| if r == 1 { vec![d] } else { vec![lead(r), d] }).collect::<Vec<usize>>()
        };
        let inter = paired(|_| 1);
        let expanded = paired(|r| r);
        let out = shape
            .iter()
            .zip(&reps_full)
            .map(|(&d, &r)| d.checked_mul(r))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| Error::shape("repmat", format!("repeating shape {:?} by {reps:?} overflows", self.shape())))?;
        ensure_allocatable("repmat", &expanded, self.dtype())?;
        self.reshape(&inter)?.broadcast_to(&expanded)?.reshape(&out)
    }
}

fn with_dim(shape: &[usize], axis: usize, n: usize) -> Vec<usize> {
    let mut s = shape.to_vec();
    s[axis] = n;
    s
}

/// Concatenates same-dtype tensors' data along `axis`.
fn concat_buffers(xs: &[&Tensor], axis: usize) -> Result<Buffer> {
    let outer: usize = xs[0].shape()[..axis].iter().fold(1usize, |n, &d| n.saturating_mul(d));
    let inners: Vec<usize> = xs.iter().map(|x| x.shape()[axis..].iter().product()).collect();
    fn cat<T: Copy>(parts: &[&[T]], outer: usize, inners: &[usize]) -> Vec<T> {
        let total: usize = inners.iter().sum::<usize>().saturating_mul(outer);
        let mut out = Vec::with_capacity(total);
        if total == 0 {
            // Empty pieces: walking `outer` (up to 2**64 slices of nothing) would hang.
            return out;
        }
        for o in 0..outer {
            for (p, &inner) in parts.iter().zip(inners) {
                out.extend_from_slice(&p[o * inner..(o + 1) * inner]);
            }
        }
        out
    }
    Ok(match xs[0].buffer()? {
        Buffer::F32(_) => Buffer::F32(cat(&xs.iter().map(|x| x.typed::<f32>()).collect::<Result<Vec<_>>>()?, outer, &inners).into()),
        Buffer::F64(_) => Buffer::F64(cat(&xs.iter().map(|x| x.typed::<f64>()).collect::<Result<Vec<_>>>()?, outer, &inners).into()),
        Buffer::C64(_) => {
            Buffer::C64(cat(&xs.iter().map(|x| x.typed::<crate::dtype::C32>()).collect::<Result<Vec<_>>>()?, outer, &inners).into())
        }
        Buffer::C128(_) => {
            Buffer::C128(cat(&xs.iter().map(|x| x.typed::<crate::dtype::C64>()).collect::<Result<Vec<_>>>()?, outer, &inners).into())
        }
    })
}
