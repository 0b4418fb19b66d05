//! Reductions (sum, prod, max, min, mean) over any set of axes, and cumulative sums.
//! Internally a reduction keeps the reduced axes as size 1; `keepdims=false` reshapes after.

use crate::buffer::{Buffer, IntoBuffer};
use crate::dtype::{Element, Real};
use crate::error::{Error, Result};
use crate::kernels::reduce::{reduce_axis, scan_axis};
use crate::limits::ensure_allocatable;
use crate::op::OpKind;
use crate::tensor::Tensor;
use crate::with_buffer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Prod,
    Max,
    Min,
}

impl ReduceOp {
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Max => "max",
            ReduceOp::Min => "min",
        }
    }
}

fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

fn reduce_one<T: Element + IntoBuffer>(v: &[T], shape: &[usize], axis: usize, op: ReduceOp) -> Result<Vec<T>> {
    let (o, n, i) = split(shape, axis);
    Ok(match op {
        ReduceOp::Sum => reduce_axis(v, o, n, i, T::zero(), |a, b| a + b),
        ReduceOp::Prod => reduce_axis(v, o, n, i, T::one(), |a, b| a * b),
        _ => unreachable!(),
    })
}

fn extreme_one<T: Real>(v: &[T], shape: &[usize], axis: usize, op: ReduceOp) -> Vec<T> {
    let (o, n, i) = split(shape, axis);
    // NaN wins (it propagates, as in numpy); on ties the earlier value stays. Written as one
    // unordered comparison and a select, so the row loops vectorise.
    if op == ReduceOp::Max {
        reduce_axis(v, o, n, i, T::from_f64(f64::NEG_INFINITY), |a: T, b: T| if b > a || b.is_nan() { b } else { a })
    } else {
        reduce_axis(v, o, n, i, T::from_f64(f64::INFINITY), |a: T, b: T| if b < a || b.is_nan() { b } else { a })
    }
}

fn reduce_buffer(b: &Buffer, shape: &[usize], axis: usize, op: ReduceOp) -> Result<Buffer> {
    match op {
        ReduceOp::Sum | ReduceOp::Prod => Ok(with_buffer!(b, v => IntoBuffer::into_buffer(reduce_one(v, shape, axis, op)?))),
        _ => match b {
            Buffer::F32(v) => Ok(Buffer::F32(extreme_one(v, shape, axis, op).into())),
            Buffer::F64(v) => Ok(Buffer::F64(extreme_one(v, shape, axis, op).into())),
            _ => Err(Error::dtype(op.name(), format!("not defined for {} input", b.dtype()))),
        },
    }
}

impl Tensor {
    /// Reduces over `axes` (sorted, distinct, in range), keeping them as size-1 axes.
    pub(crate) fn reduce_keep(&self, op: ReduceOp, axes: &[usize]) -> Result<Tensor> {
        if let Some(&a) = axes.iter().find(|&&a| a >= self.ndim()) {
            return Err(Error::index(op.name(), format!("axis {a} is out of bounds for shape {:?}", self.shape())));
        }
        if matches!(op, ReduceOp::Max | ReduceOp::Min) && axes.iter().any(|&a| self.shape()[a] == 0) {
            return Err(Error::shape(op.name(), format!("zero-size reduction along an axis of shape {:?}", self.shape())));
        }
        let mut shape = self.shape().to_vec();
        if let Some(data) = crate::gpu_backend::reduce(op, self, axes)? {
            for &a in axes {
                shape[a] = 1;
            }
            return Ok(Tensor::from_op_storage(data, shape, OpKind::Reduce { op, axes: axes.to_vec() }, &[self]));
        }
        let mut data: Option<Buffer> = None;
        if self.numel() == 0 {
            // Nothing to fold (and the kernel's (outer, n, inner) view would have an empty
            // inner extent): sums are 0 and products 1, numpy's identities.
            for &a in axes {
                shape[a] = 1;
            }
            // An empty input can still have a large result (an empty axis reduced away).
            ensure_allocatable(op.name(), &shape, self.dtype())?;
            let identity = if op == ReduceOp::Prod { 1.0 } else { 0.0 };
            data = Some(Buffer::filled(self.dtype(), crate::shape::numel(&shape), identity));
        }
        if data.is_none() {
            // Adjacent reduced axes are one axis of the row-major data (so a mean over H and W
            // is one pass over rows of H·W, not two).
            let (mut merged, mut merged_axes): (Vec<usize>, Vec<usize>) = (vec![], vec![]);
            let mut prev_reduced = false;
            for (i, &d) in shape.iter().enumerate() {
                let reduced = axes.contains(&i);
                if reduced && prev_reduced {
                    *merged.last_mut().expect("a previous axis") *= d;
                } else {
                    merged.push(d);
                    if reduced {
                        merged_axes.push(merged.len() - 1);
                    }
                }
                prev_reduced = reduced;
            }
            for &a in &merged_axes {
                if merged[a] == 1 {
                    continue;
                }
                let next = reduce_buffer(data.as_ref().unwrap_or(self.buffer()?), &merged, a, op)?;
                merged[a] = 1;
                data = Some(next);
            }
            for &a in axes {
                shape[a] = 1;
            }
        }
        let data = match data {
            Some(d) => d,
            None => return self.reshape(&shape),
        };
        Ok(Tensor::from_op(data, shape, OpKind::Reduce { op, axes: axes.to_vec() }, &[self]))
    }

    fn reduce(&self, op: ReduceOp, axes: &[usize], keepdims: bool) -> Result<Tensor> {
        let y = self.reduce_keep(op, axes)?;
        if keepdims {
            return Ok(y);
        }
        let shape: Vec<usize> = self.shape().iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect();
        y.reshape(&shape)
    }

    pub fn sum_axes(&self, axes: &[usize], keepdims: bool) -> Result<Tensor> {
        self.reduce(ReduceOp::Sum, axes, keepdims)
    }
    pub fn prod_axes(&self, axes: &[usize], keepdims: bool) -> Result<Tensor> {
        self.reduce(ReduceOp::Prod, axes, keepdims)
    }
    pub fn max_axes(&self, axes: &[usize], keepdims: bool) -> Result<Tensor> {
        self.reduce(ReduceOp::Max, axes, keepdims)
    }
    pub fn min_axes(&self, axes: &[usize], keepdims: bool) -> Result<Tensor> {
        self.reduce(ReduceOp::Min, axes, keepdims)
    }
    pub fn mean_axes(&self, axes: &[usize], keepdims: bool) -> Result<Tensor> {
        let n: usize = axes.iter().map(|&a| self.shape().get(a).copied().unwrap_or(1)).product();
        self.sum_axes(axes, keepdims).map_err(|e| e.within("mean"))?.mul_scalar(1.0 / n as f64)
    }
    pub fn sum_all(&self) -> Result<Tensor> {
        let axes: Vec<usize> = (0..self.ndim()).collect();
        self.sum_axes(&axes, false)
    }

    /// Cumulative sum along `axis` (from the end when `reverse`).
    pub fn cumsum(&self, axis: usize, reverse: bool) -> Result<Tensor> {
        if axis >= self.ndim() {
            return Err(Error::index("cumsum", format!("axis {axis} is out of bounds for shape {:?}", self.shape())));
        }
        let (o, n, i) = split(self.shape(), axis);
        let data = with_buffer!(self.buffer()?, v => IntoBuffer::into_buffer(scan_axis(v, o, n, i, reverse, |a, b| a + b)));
        Ok(Tensor::from_op(data, self.shape().to_vec(), OpKind::Cumsum { axis, reverse }, &[self]))
    }
}

/// The product of all *other* elements, for inputs containing zeros: for each reduced
/// position, the product over a copy of the group with that element replaced by one. Built
/// from differentiable ops so second derivatives stay exact at zeros.
pub(crate) fn prod_grad_with_zeros(x: &Tensor, g: &Tensor, axes: &[usize]) -> Result<Tensor> {
    let nd = x.ndim();
    let keep: Vec<usize> = (0..nd).filter(|a| !axes.contains(a)).collect();
    let mut perm = keep.clone();
    perm.extend_from_slice(axes);
    let kept: usize = keep.iter().map(|&a| x.shape()[a]).product();
    let m: usize = axes.iter().map(|&a| x.shape()[a]).product();
    let xp = x.permute(&perm)?.reshape(&[kept, 1, m])?.broadcast_to(&[kept, m, m])?;
    let mut eye = vec![0.0f64; m * m];
    for i in 0..m {
        eye[i * m + i] = 1.0;
    }
    let eye = Tensor::from_vec(eye, vec![1, m, m])?.cast(x.dtype())?;
    let one = Tensor::scalar_like(1.0, x.dtype());
    let others = Tensor::where_(&eye, &one, &xp)?.prod_axes(&[2], false)?; // (kept, m)
    let permuted_shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    let mut inv = vec![0; nd];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    let others = others.reshape(&permuted_shape)?.permute(&inv)?;
    g.mul(&others.conj()?)
}
