//! Indexing by flat element positions. Any numpy index (slices, integer arrays, masks) is
//! turned into the flat positions it selects; `take`, `scatter_add` and `index_put` then do
//! the work, and each one's gradient is written with the others.

use std::sync::Arc;

use crate::buffer::{Buffer, IntoBuffer};
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::gpu_backend;
use crate::op::OpKind;
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
        if let Some(data) = gpu_backend::take_rows(self, (1, self.numel(), 1), &idx)? {
            return Ok(Tensor::from_op_storage(data, shape.clone(), OpKind::Take { idx, shape }, &[self]));
        }
        let data = self.buffer()?.gather(&idx);
        Ok(Tensor::from_op(data, shape.clone(), OpKind::Take { idx, shape }, &[self]))
    }

    /// Zeros of `shape` with `self`'s elements added at flat positions `idx` (repeats add up).
    pub fn scatter_add(&self, idx: Arc<Vec<usize>>, shape: Vec<usize>) -> Result<Tensor> {
        if self.numel() != idx.len() {
            return Err(Error::shape("scatter_add", format!("{} values for {} indices", self.numel(), idx.len())));
        }
        let n = numel(&shape);
        check("scatter_add", &idx, n)?;
        if let Some(data) = gpu_backend::add_rows(self, (1, n, 1), &idx)? {
            return Ok(Tensor::from_op_storage(data, shape.clone(), OpKind::ScatterAdd { idx, shape }, &[self]));
        }
        fn scatter<T: Element>(v: &[T], idx: &[usize], n: usize) -> Vec<T> {
            let mut out = vec![T::zero(); n];
            for (&i, &x) in idx.iter().zip(v) {
                out[i] = out[i] + x;
            }
            out
        }
        let data = with_buffer!(self.buffer()?, v => IntoBuffer::into_buffer(scatter(v, &idx, n)));
        Ok(Tensor::from_op(data, shape.clone(), OpKind::ScatterAdd { idx, shape }, &[self]))
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
        let values = if values.numel() == idx.len() {
            values
        } else {
            values.broadcast_to(&[idx.len()]).map_err(|_| {
                Error::shape(OP, format!("cannot assign values of shape {:?} to {} selected elements", values.shape(), idx.len()))
            })?
        };
        if let Some(data) = gpu_backend::index_put(self, &idx, &values)? {
            return Ok(Tensor::from_op_storage(data, self.shape().to_vec(), OpKind::IndexPut { idx }, &[self, &values]));
        }
        fn put<T: Copy>(dst: &[T], idx: &[usize], v: &[T]) -> Vec<T> {
            let mut out = dst.to_vec();
            for (&i, &x) in idx.iter().zip(v) {
                out[i] = x;
            }
            out
        }
        let data = match (self.buffer()?, values.buffer()?) {
            (Buffer::F32(d), Buffer::F32(v)) => Buffer::F32(put(d, &idx, v).into()),
            (Buffer::F64(d), Buffer::F64(v)) => Buffer::F64(put(d, &idx, v).into()),
            (Buffer::C64(d), Buffer::C64(v)) => Buffer::C64(put(d, &idx, v).into()),
            (Buffer::C128(d), Buffer::C128(v)) => Buffer::C128(put(d, &idx, v).into()),
            _ => unreachable!("cast above"),
        };
        Ok(Tensor::from_op(data, self.shape().to_vec(), OpKind::IndexPut { idx }, &[self, &values]))
    }
}

/// `x` viewed as (outer, n, inner): rows `idx` of the middle axis, as (outer, idx.len(), inner).
fn select_rows<T: Copy + Send + Sync + Default>(x: &[T], outer: usize, n: usize, inner: usize, idx: &[usize]) -> Vec<T> {
    use rayon::prelude::*;
    let k = idx.len();
    let mut out = vec![T::default(); outer * k * inner];
    if out.is_empty() {
        return out;
    }
    let block = |o: usize, dst: &mut [T]| {
        let src = &x[o * n * inner..(o + 1) * n * inner];
        if inner == 1 {
            for (d, &i) in dst.iter_mut().zip(idx) {
                *d = src[i];
            }
        } else {
            for (d, &i) in dst.chunks_exact_mut(inner).zip(idx) {
                d.copy_from_slice(&src[i * inner..(i + 1) * inner]);
            }
        }
    };
    if crate::kernels::parallel::use_rayon(out.len()) && outer > 1 {
        out.par_chunks_mut(k * inner).enumerate().for_each(|(o, dst)| block(o, dst));
    } else {
        out.chunks_mut(k * inner).enumerate().for_each(|(o, dst)| block(o, dst));
    }
    out
}

/// Zeros of (outer, n, inner) with the rows of `v` (outer, idx.len(), inner) added at rows
/// `idx` of the middle axis (repeats add up).
fn add_rows<T: Element>(v: &[T], outer: usize, n: usize, inner: usize, idx: &[usize]) -> Vec<T> {
    use rayon::prelude::*;
    let k = idx.len();
    let mut out = vec![T::zero(); outer * n * inner];
    if out.is_empty() {
        return out;
    }
    let block = |o: usize, dst: &mut [T]| {
        let src = &v[o * k * inner..(o + 1) * k * inner];
        for (j, &i) in idx.iter().enumerate() {
            let (d, s) = (&mut dst[i * inner..(i + 1) * inner], &src[j * inner..(j + 1) * inner]);
            for (d, &s) in d.iter_mut().zip(s) {
                *d = *d + s;
            }
        }
    };
    if crate::kernels::parallel::use_rayon(v.len().max(out.len())) && outer > 1 {
        out.par_chunks_mut(n * inner).enumerate().for_each(|(o, dst)| block(o, dst));
    } else {
        out.chunks_mut(n * inner).enumerate().for_each(|(o, dst)| block(o, dst));
    }
    out
}

fn axis_view(op: &str, shape: &[usize], axis: usize) -> Result<(usize, usize, usize)> {
    if axis >= shape.len() {
        return Err(Error::index(op, format!("axis {axis} is out of bounds for shape {shape:?}")));
    }
    Ok((shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product()))
}

impl Tensor {
    /// The slices at positions `idx` along `axis` (numpy's `take(x, idx, axis)` with a 1-D
    /// `idx`): shape `[..axis, idx.len(), axis+1..]`. A direct row/column gather; its gradient
    /// is [`Tensor::index_add_axis`].
    pub fn take_axis(&self, axis: usize, idx: Arc<Vec<usize>>) -> Result<Tensor> {
        const OP: &str = "take";
        let (outer, n, inner) = axis_view(OP, self.shape(), axis)?;
        if let Some(&bad) = idx.iter().find(|&&i| i >= n) {
            return Err(Error::index(OP, format!("index {bad} is out of bounds for axis {axis} with size {n} (shape {:?})", self.shape())));
        }
        let mut shape = self.shape().to_vec();
        shape[axis] = idx.len();
        if let Some(data) = gpu_backend::take_rows(self, (outer, n, inner), &idx)? {
            return Ok(Tensor::from_op_storage(data, shape, OpKind::TakeAxis { axis, idx }, &[self]));
        }
        let data = with_buffer!(self.buffer()?, v => IntoBuffer::into_buffer(select_rows(v, outer, n, inner, &idx)));
        Ok(Tensor::from_op(data, shape, OpKind::TakeAxis { axis, idx }, &[self]))
    }

    /// Zeros with `axis` of length `n` and `self`'s slices along `axis` added at positions
    /// `idx` (repeats add up): the adjoint of [`Tensor::take_axis`], whose gradient it is.
    pub fn index_add_axis(&self, axis: usize, idx: Arc<Vec<usize>>, n: usize) -> Result<Tensor> {
        const OP: &str = "index_add";
        let (outer, k, inner) = axis_view(OP, self.shape(), axis)?;
        if k != idx.len() {
            return Err(Error::shape(OP, format!("{} indices for {k} slices along axis {axis} (shape {:?})", idx.len(), self.shape())));
        }
        if let Some(&bad) = idx.iter().find(|&&i| i >= n) {
            return Err(Error::index(OP, format!("index {bad} is out of bounds for axis {axis} with size {n}")));
        }
        let mut shape = self.shape().to_vec();
        shape[axis] = n;
        if let Some(data) = gpu_backend::add_rows(self, (outer, n, inner), &idx)? {
            return Ok(Tensor::from_op_storage(data, shape, OpKind::IndexAddAxis { axis, idx, n }, &[self]));
        }
        let data = with_buffer!(self.buffer()?, v => IntoBuffer::into_buffer(add_rows(v, outer, n, inner, &idx)));
        Ok(Tensor::from_op(data, shape, OpKind::IndexAddAxis { axis, idx, n }, &[self]))
    }
}

#[cfg(test)]
mod axis_tests {
    use super::*;

    #[test]
    fn take_axis_matches_flat_take() {
        let x = Tensor::from_vec((0..24).map(|v| v as f64).collect::<Vec<_>>(), vec![2, 3, 4]).unwrap();
        let idx = Arc::new(vec![2usize, 0, 2]);
        let y = x.take_axis(1, idx.clone()).unwrap();
        assert_eq!(y.shape(), &[2, 3, 4]);
        let flat: Vec<usize> = (0..2).flat_map(|o| idx.iter().flat_map(move |&i| (0..4).map(move |j| o * 12 + i * 4 + j))).collect();
        assert_eq!(y.to_f64_vec().unwrap(), x.take(Arc::new(flat), vec![2, 3, 4]).unwrap().to_f64_vec().unwrap());
        let back = y.index_add_axis(1, idx, 3).unwrap().to_f64_vec().unwrap();
        // Row 2 was taken twice, row 1 never.
        assert_eq!(&back[..12], &[0., 1., 2., 3., 0., 0., 0., 0., 16., 18., 20., 22.]);
        assert!(x.take_axis(1, Arc::new(vec![3])).is_err());
        let cols = x.take_axis(2, Arc::new(vec![3, 1])).unwrap();
        assert_eq!(cols.to_f64_vec().unwrap()[..4], [3., 1., 7., 5.]);
    }
}
