//! Indexing by flat element positions. Any numpy index (slices, integer arrays, masks) is
//! turned into the flat positions it selects; `take`, `scatter_add` and `index_put` then do
//! the work, and each one's gradient is written with the others.

use std::sync::Arc;

use crate::autodiff::Op;
use crate::buffer::{Buffer, IntoBuffer};
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::shape::numel;
use crate::tensor::Tensor;
use crate::with_buffer;

fn check(op: &str, idx: &[usize], n: usize) -> Result<()> {
    if let Some(&bad) = idx.iter().find(|&&i| i >= n) {
        return Err(Error::index(op, format!("flat index {bad} is out of bounds for an array of {n} elements")));
    }
    Ok(())
}

impl Tensor {
    /// Elements at flat positions `idx`, arranged in `shape`.
    pub fn take(&self, idx: Arc<Vec<usize>>, shape: Vec<usize>) -> Result<Tensor> {
        if numel(&shape) != idx.len() {
            return Err(Error::shape("take", format!("{} indices cannot fill shape {shape:?}", idx.len())));
        }
        check("take", &idx, self.numel())?;
        let data = self.buffer().gather(&idx);
        Ok(Tensor::from_op(
            data,
            shape,
            || {
                Op::new("index", vec![self.clone()], move |inp, _, g| {
                    Ok(vec![Some(g.scatter_add(idx.clone(), inp[0].shape().to_vec())?)])
                })
            },
            &[self],
        ))
    }

    /// Zeros of `shape` with `self`'s elements added at flat positions `idx` (repeats add up).
    pub fn scatter_add(&self, idx: Arc<Vec<usize>>, shape: Vec<usize>) -> Result<Tensor> {
        if self.numel() != idx.len() {
            return Err(Error::shape("scatter_add", format!("{} values for {} indices", self.numel(), idx.len())));
        }
        let n = numel(&shape);
        check("scatter_add", &idx, n)?;
        fn scatter<T: Element>(v: &[T], idx: &[usize], n: usize) -> Vec<T> {
            let mut out = vec![T::zero(); n];
            for (&i, &x) in idx.iter().zip(v) {
                out[i] = out[i] + x;
            }
            out
        }
        let data = with_buffer!(self.buffer(), v => IntoBuffer::into_buffer(scatter(v, &idx, n)));
        let src_shape = self.shape().to_vec();
        Ok(Tensor::from_op(
            data,
            shape,
            || Op::new("scatter_add", vec![self.clone()], move |_, _, g| Ok(vec![Some(g.take(idx.clone(), src_shape.clone())?)])),
            &[self],
        ))
    }

    /// A copy of `self` with the elements at flat positions `idx` replaced by `values`
    /// (broadcast to `idx`'s count; the last write wins on repeats, as in numpy).
    ///
    /// The array keeps its dtype, as in numpy and MATLAB: float64 values assigned into a
    /// float32 array are rounded to float32 (the cast is recorded, so their gradient comes
    /// back as float64). Complex values into a real array are an error rather than silently
    /// losing their imaginary part.
    pub fn index_put(&self, idx: Arc<Vec<usize>>, values: &Tensor) -> Result<Tensor> {
        const OP: &str = "index assignment";
        check(OP, &idx, self.numel())?;
        if values.dtype().is_complex() && !self.dtype().is_complex() {
            return Err(Error::dtype(OP, format!("cannot assign {} values into a {} array", values.dtype(), self.dtype())));
        }
        let values = values.cast(self.dtype())?;
        let values = if values.numel() == idx.len() { values } else {
            values.broadcast_to(&[idx.len()]).map_err(|_| {
                Error::shape(OP, format!("cannot assign values of shape {:?} to {} selected elements", values.shape(), idx.len()))
            })?
        };
        fn put<T: Copy>(dst: &[T], idx: &[usize], v: &[T]) -> Vec<T> {
            let mut out = dst.to_vec();
            for (&i, &x) in idx.iter().zip(v) {
                out[i] = x;
            }
            out
        }
        let data = match (self.buffer(), values.buffer()) {
            (Buffer::F32(d), Buffer::F32(v)) => Buffer::F32(put(d, &idx, v)),
            (Buffer::F64(d), Buffer::F64(v)) => Buffer::F64(put(d, &idx, v)),
            (Buffer::C64(d), Buffer::C64(v)) => Buffer::C64(put(d, &idx, v)),
            (Buffer::C128(d), Buffer::C128(v)) => Buffer::C128(put(d, &idx, v)),
            _ => unreachable!("cast above"),
        };
        Ok(Tensor::from_op(
            data,
            self.shape().to_vec(),
            || {
                Op::new("index_put", vec![self.clone(), values.clone()], move |inp, _, g| {
                    let gx = if inp[0].is_traced() {
                        Some(g.index_put(idx.clone(), &Tensor::scalar_like(0.0, g.dtype()))?)
                    } else {
                        None
                    };
                    let gv = if inp[1].is_traced() { Some(g.take(idx.clone(), inp[1].shape().to_vec())?) } else { None };
                    Ok(vec![gx, gv])
                })
            },
            &[self, &values],
        ))
    }
}
