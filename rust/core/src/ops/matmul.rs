//! Matrix products with numpy's batch broadcasting (`@`, `pagemtimes`). Each operand may be
//! read transposed, which the backward rules use instead of materialising transposes.

use rayon::prelude::*;

use crate::buffer::{Buffer, IntoBuffer};
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::kernels::gemm::matmul as gemm_matmul;
use crate::kernels::parallel::use_rayon;
use crate::limits::ensure_allocatable;
use crate::op::OpKind;
use crate::shape::{broadcast_shapes, broadcast_strides, numel, StridedIter};
use crate::tensor::Tensor;

fn mat_dims(s: &[usize], t: bool) -> (usize, usize) {
    let (r, c) = (s[s.len() - 2], s[s.len() - 1]);
    if t {
        (c, r)
    } else {
        (r, c)
    }
}

fn batched<T: Element + IntoBuffer>(
    a: &[T],
    sa: &[usize],
    b: &[T],
    sb: &[usize],
    batch: &[usize],
    (m, n, k): (usize, usize, usize),
    (ta, tb): (bool, bool),
) -> Vec<T> {
    let nb = numel(batch);
    let mut out = vec![T::zero(); nb * m * n];
    let (ba, bb) = (&sa[..sa.len() - 2], &sb[..sb.len() - 2]);
    // b shared by every batch and a not transposed: fold the batch into m, one large product.
    if !ta && numel(bb) == 1 && ba == batch {
        gemm_matmul(&mut out, a, b, nb * m, n, k, false, tb, false);
        return out;
    }
    let offsets: Vec<[usize; 2]> = StridedIter::new(batch, [broadcast_strides(ba, batch), broadcast_strides(bb, batch)]).collect();
    let (asz, bsz) = (m * k, k * n);
    let one = |(dst, off): (&mut [T], &[usize; 2]), single: bool| {
        gemm_matmul(dst, &a[off[0] * asz..(off[0] + 1) * asz], &b[off[1] * bsz..(off[1] + 1) * bsz], m, n, k, ta, tb, single);
    };
    if nb > 1 && use_rayon(nb * m * n * k) && m * n * k < 64 * 64 * 64 {
        out.par_chunks_mut(m * n).zip(offsets.par_iter()).for_each(|p| one(p, true));
    } else {
        out.chunks_mut((m * n).max(1)).zip(offsets.iter()).for_each(|p| one(p, false));
    }
    out
}

impl Tensor {
    /// `op(a) @ op(b)` over broadcast batch dims, where op transposes the last two axes when
    /// the flag is set. Both operands need at least two dims.
    pub fn matmul_t(&self, other: &Tensor, ta: bool, tb: bool) -> Result<Tensor> {
        const OP: &str = "matmul";
        if self.dtype() != other.dtype() {
            let (a, b) = super::binary::promote(self, other)?;
            return a.matmul_t(&b, ta, tb);
        }
        if self.ndim() < 2 || other.ndim() < 2 {
            return Err(Error::shape(OP, format!("operands need at least 2 dims, got shapes {:?} and {:?}", self.shape(), other.shape())));
        }
        let (m, k) = mat_dims(self.shape(), ta);
        let (k2, n) = mat_dims(other.shape(), tb);
        if k != k2 {
            return Err(Error::shape(
                OP,
                format!("inner dimensions do not match: shapes {:?} and {:?} (contracting {k} with {k2})", self.shape(), other.shape()),
            ));
        }
        let (sa, sb) = (self.shape(), other.shape());
        let batch = broadcast_shapes(OP, &sa[..sa.len() - 2], &sb[..sb.len() - 2])?;
        let dims = (m, n, k);
        ensure_allocatable(OP, &[batch.clone(), vec![m, n]].concat(), self.dtype())?;
        let kind = OpKind::Matmul { transpose_a: ta, transpose_b: tb };
        if let Some(data) = crate::gpu_backend::matmul(self, other, ta, tb)? {
            return Ok(Tensor::from_op_storage(data, [batch, vec![m, n]].concat(), kind, &[self, other]));
        }
        let data = match (self.buffer()?, other.buffer()?) {
            (Buffer::F32(a), Buffer::F32(b)) => Buffer::F32(batched(a, sa, b, sb, &batch, dims, (ta, tb)).into()),
            (Buffer::F64(a), Buffer::F64(b)) => Buffer::F64(batched(a, sa, b, sb, &batch, dims, (ta, tb)).into()),
            (Buffer::C64(a), Buffer::C64(b)) => Buffer::C64(batched(a, sa, b, sb, &batch, dims, (ta, tb)).into()),
            (Buffer::C128(a), Buffer::C128(b)) => Buffer::C128(batched(a, sa, b, sb, &batch, dims, (ta, tb)).into()),
            _ => unreachable!("promoted above"),
        };
        let mut shape = batch;
        shape.extend([m, n]);
        Ok(Tensor::from_op(data, shape, kind, &[self, other]))
    }

    /// numpy's `matmul`: 1-D operands are promoted to matrices and the added axis removed.
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        if self.ndim() == 0 || other.ndim() == 0 {
            return Err(Error::shape("matmul", "operands must not be scalars (use *)"));
        }
        let a = if self.ndim() == 1 { self.reshape(&[1, self.numel()])? } else { self.clone() };
        let b = if other.ndim() == 1 { other.reshape(&[other.numel(), 1])? } else { other.clone() };
        let y = a.matmul_t(&b, false, false)?;
        let mut shape = y.shape().to_vec();
        if other.ndim() == 1 {
            shape.pop();
        }
        if self.ndim() == 1 {
            let last = shape.len() - if other.ndim() == 1 { 1 } else { 2 };
            shape.remove(last);
        }
        y.reshape(&shape)
    }
}
