//! Complex parts, conjugation and dtype casts.

use crate::buffer::Buffer;
use crate::dtype::{DType, C32, C64};
use crate::error::{Error, Result};
use crate::kernels::elementwise::{map, zip_broadcast};
use crate::limits::ensure_allocatable;
use crate::op::OpKind;
use crate::shape::broadcast_shapes;
use crate::tensor::Tensor;

impl Tensor {
    /// A copy in another dtype. Complex → real keeps the real part; the gradient is cast back.
    pub fn cast(&self, dtype: DType) -> Result<Tensor> {
        if self.dtype() == dtype {
            return Ok(self.clone());
        }
        Ok(Tensor::from_op(self.buffer()?.cast(dtype), self.shape().to_vec(), OpKind::Cast { to: dtype }, &[self]))
    }

    /// Complex conjugate; the identity (no copy) on real tensors.
    pub fn conj(&self) -> Result<Tensor> {
        // The identity on real tensors, decided before `buffer()` (which would read a GPU
        // array back: every product's backward takes a conj).
        if !self.dtype().is_complex() {
            return Ok(self.clone());
        }
        let data = match self.buffer()? {
            Buffer::C64(v) => Buffer::C64(map(v, |z: C32| z.conj()).into()),
            Buffer::C128(v) => Buffer::C128(map(v, |z: C64| z.conj()).into()),
            _ => return Ok(self.clone()),
        };
        Ok(Tensor::from_op(data, self.shape().to_vec(), OpKind::Conj, &[self]))
    }

    /// Real part (the identity on real tensors).
    pub fn real(&self) -> Result<Tensor> {
        if !self.dtype().is_complex() {
            return Ok(self.clone());
        }
        let data = match self.buffer()? {
            Buffer::C64(v) => Buffer::F32(map(v, |z: C32| z.re).into()),
            Buffer::C128(v) => Buffer::F64(map(v, |z: C64| z.re).into()),
            _ => unreachable!(),
        };
        Ok(Tensor::from_op(data, self.shape().to_vec(), OpKind::Real, &[self]))
    }

    /// Imaginary part (zeros on real tensors).
    pub fn imag(&self) -> Result<Tensor> {
        if !self.dtype().is_complex() {
            return Ok(self.zeros_like());
        }
        let data = match self.buffer()? {
            Buffer::C64(v) => Buffer::F32(map(v, |z: C32| z.im).into()),
            Buffer::C128(v) => Buffer::F64(map(v, |z: C64| z.im).into()),
            _ => unreachable!(),
        };
        Ok(Tensor::from_op(data, self.shape().to_vec(), OpKind::Imag, &[self]))
    }

    /// `re + i·im` with broadcasting; both must be real.
    pub fn complex(re: &Tensor, im: &Tensor) -> Result<Tensor> {
        const OP: &str = "complex";
        if re.dtype().is_complex() || im.dtype().is_complex() {
            return Err(Error::dtype(OP, "real and imaginary parts must be real arrays"));
        }
        if re.dtype() != im.dtype() {
            let (a, b) = super::binary::promote(re, im)?;
            return Tensor::complex(&a, &b);
        }
        let out = broadcast_shapes(OP, re.shape(), im.shape())?;
        ensure_allocatable(OP, &out, DType::C128)?;
        let data = match (re.buffer()?, im.buffer()?) {
            (Buffer::F32(a), Buffer::F32(b)) => Buffer::C64(zip_broadcast(a, re.shape(), b, im.shape(), &out, C32::new).into()),
            (Buffer::F64(a), Buffer::F64(b)) => Buffer::C128(zip_broadcast(a, re.shape(), b, im.shape(), &out, C64::new).into()),
            _ => unreachable!(),
        };
        Ok(Tensor::from_op(data, out, OpKind::Complex, &[re, im]))
    }

    /// Phase angle; zero (or π for negative values) on real tensors.
    pub fn angle(&self) -> Result<Tensor> {
        if !self.dtype().is_complex() {
            let pi = Tensor::scalar_like(std::f64::consts::PI, self.dtype());
            let zero = Tensor::scalar_like(0.0, self.dtype());
            return Tensor::where_(&self.lt(&zero)?, &pi, &zero)?.broadcast_to(self.shape());
        }
        self.imag()?.atan2(&self.real()?)
    }

    /// |z| of a complex tensor, real-valued; its gradient is g·z/|z| (0 at z = 0).
    pub(crate) fn abs_complex(&self) -> Result<Tensor> {
        let data = match self.buffer()? {
            Buffer::C64(v) => Buffer::F32(map(v, |z: C32| z.norm()).into()),
            Buffer::C128(v) => Buffer::F64(map(v, |z: C64| z.norm()).into()),
            _ => unreachable!(),
        };
        Ok(Tensor::from_op(data, self.shape().to_vec(), OpKind::AbsComplex, &[self]))
    }
}
