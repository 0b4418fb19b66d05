//! Activations with a parameter, as single elementwise ops (one pass instead of a mask, a
//! product and a select).

use crate::buffer::Buffer;
use crate::dtype::Real;
use crate::error::{Error, Result};
use crate::gpu_backend;
use crate::kernels::elementwise::map;
use crate::op::OpKind;
use crate::tensor::Tensor;

const LEAKY: &str = "leakyrelu";

fn leaky<T: Real>(v: &[T], scale: f64) -> Vec<T> {
    let (zero, s) = (T::zero(), T::from_f64(scale));
    // `x > 0 ? x : s·x`: NaN takes the second branch and stays NaN.
    map(v, move |x: T| if x > zero { x } else { s * x })
}

/// The slope of leakyrelu at each element of `x`: 1 where `x > 0`, `scale` elsewhere.
fn slope<T: Real>(v: &[T], scale: f64) -> Vec<T> {
    let (zero, one, s) = (T::zero(), T::one(), T::from_f64(scale));
    map(v, move |x: T| if x > zero { one } else { s })
}

impl Tensor {
    /// `x` where `x > 0`, `scale · x` elsewhere (MATLAB's `leakyrelu`); the derivative at 0
    /// is `scale`. Real input only.
    pub fn leaky_relu(&self, scale: f64) -> Result<Tensor> {
        if let Some(data) = gpu_backend::leaky_relu(self, scale, false)? {
            return Ok(Tensor::from_op_storage(data, self.shape().to_vec(), OpKind::LeakyRelu { scale }, &[self]));
        }
        let data = match self.buffer()? {
            Buffer::F32(v) => Buffer::F32(leaky(v, scale).into()),
            Buffer::F64(v) => Buffer::F64(leaky(v, scale).into()),
            b => return Err(Error::dtype(LEAKY, format!("not defined for {} input (shape {:?})", b.dtype(), self.shape()))),
        };
        Ok(Tensor::from_op(data, self.shape().to_vec(), OpKind::LeakyRelu { scale }, &[self]))
    }

    /// The slope of leakyrelu at each element: 1 where `x > 0`, `scale` elsewhere. Piecewise
    /// constant in `x`, so it has no gradient.
    pub(crate) fn leaky_relu_slope(&self, scale: f64) -> Result<Tensor> {
        if let Some(data) = gpu_backend::leaky_relu(self, scale, true)? {
            return Ok(Tensor::from_op_storage(data, self.shape().to_vec(), OpKind::LeakyReluSlope { scale }, &[self]));
        }
        let s = match self.buffer()? {
            Buffer::F32(v) => Buffer::F32(slope(v, scale).into()),
            Buffer::F64(v) => Buffer::F64(slope(v, scale).into()),
            b => return Err(Error::dtype(LEAKY, format!("not defined for {} input (shape {:?})", b.dtype(), self.shape()))),
        };
        Ok(Tensor::from_op(s, self.shape().to_vec(), OpKind::LeakyReluSlope { scale }, &[self]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaky_relu_values() {
        let x = Tensor::from_vec(vec![-2.0f64, 0.0, 3.0, f64::NAN], vec![4]).unwrap();
        let y = x.leaky_relu(0.1).unwrap().to_f64_vec().unwrap();
        assert_eq!(&y[..3], &[-0.2, 0.0, 3.0]);
        assert!(y[3].is_nan());
    }
}
