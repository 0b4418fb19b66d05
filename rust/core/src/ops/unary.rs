//! Elementwise functions of one array (their backward rules are in `autodiff::rules`).

use num_complex::ComplexFloat;

use crate::buffer::Buffer;
use crate::dtype::{Element, Real};
use crate::error::{Error, Result};
use crate::kernels::complex_math::ComplexMath;
use crate::kernels::elementwise::map;
use crate::kernels::parallel::{use_rayon, PAR_CHUNK};
use crate::op::OpKind;
use crate::tensor::Tensor;
use rayon::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Log1p,
    Sqrt,
    Sin,
    Cos,
    Tan,
    Tanh,
    Sinh,
    Cosh,
    Asin,
    Acos,
    Atan,
    Sigmoid,
    Erf,
    Abs,
    Sign,
    Floor,
    Ceil,
    Round,
    Relu,
}

impl UnaryOp {
    pub fn name(self) -> &'static str {
        use UnaryOp::*;
        match self {
            Neg => "neg",
            Exp => "exp",
            Log => "log",
            Log1p => "log1p",
            Sqrt => "sqrt",
            Sin => "sin",
            Cos => "cos",
            Tan => "tan",
            Tanh => "tanh",
            Sinh => "sinh",
            Cosh => "cosh",
            Asin => "asin",
            Acos => "acos",
            Atan => "atan",
            Sigmoid => "sigmoid",
            Erf => "erf",
            Abs => "abs",
            Sign => "sign",
            Floor => "floor",
            Ceil => "ceil",
            Round => "round",
            Relu => "relu",
        }
    }
}

/// `f` (a slice kernel) over `v` into a new vector, in parallel chunks for large inputs.
fn slice_map<T: Real>(v: &[T], f: fn(&[T], &mut [T])) -> Vec<T> {
    let mut out = vec![T::zero(); v.len()];
    if use_rayon(v.len()) {
        out.par_chunks_mut(PAR_CHUNK).zip(v.par_chunks(PAR_CHUNK)).for_each(|(o, x)| f(x, o));
    } else {
        f(v, &mut out);
    }
    out
}

/// Applies `op` to every element. The op is matched once, outside the loop, so each arm is
/// its own tight (vectorisable) loop.
fn unary_real<T: Real>(op: UnaryOp, v: &[T]) -> Vec<T> {
    use UnaryOp::*;
    let zero = T::zero();
    match op {
        Neg => map(v, |x: T| -x),
        // exp, tanh and sigmoid: vectorised slice kernels (float32 within 2-3 ulp).
        Exp => slice_map(v, T::exp_into),
        Log => map(v, |x: T| x.ln()),
        Log1p => map(v, |x: T| x.ln_1p()),
        Sqrt => map(v, |x: T| x.sqrt()),
        Sin => map(v, |x: T| x.sin()),
        Cos => map(v, |x: T| x.cos()),
        Tan => map(v, |x: T| x.tan()),
        Tanh => slice_map(v, T::tanh_into),
        Sinh => map(v, |x: T| x.sinh()),
        Cosh => map(v, |x: T| x.cosh()),
        Asin => map(v, |x: T| x.asin()),
        Acos => map(v, |x: T| x.acos()),
        Atan => map(v, |x: T| x.atan()),
        Sigmoid => slice_map(v, T::sigmoid_into),
        Erf => map(v, |x: T| x.erf()),
        Abs => map(v, |x: T| x.abs()),
        Sign => map(v, |x: T| x.signum0()),
        Floor => map(v, |x: T| x.floor()),
        Ceil => map(v, |x: T| x.ceil()),
        Round => map(v, |x: T| x.round()),
        // `x > 0 ? x : 0` keeps NaN (the comparison is false, but NaN * 0 would not be 0).
        Relu => map(v, move |x: T| if x > zero || x.is_nan() { x } else { zero }),
    }
}

fn complex_kernel<T>(op: UnaryOp) -> Option<impl Fn(T) -> T + Sync + Send>
where
    T: ComplexFloat + Element + ComplexMath,
{
    use UnaryOp::*;
    let ok = matches!(op, Neg | Exp | Log | Sqrt | Sin | Cos | Tan | Tanh | Sinh | Cosh | Asin | Acos | Atan | Log1p);
    if !ok {
        return None;
    }
    Some(move |x: T| match op {
        Neg => -x,
        Exp => x.exp(),
        Log => x.ln(),
        Log1p => (x + <T as Element>::one()).ln(),
        Sqrt => x.sqrt(),
        Sin => x.sin(),
        Cos => x.cos(),
        // These four overflow or cancel in their textbook forms where numpy's stay finite.
        Tan => x.safe_tan(),
        Tanh => x.safe_tanh(),
        Sinh => x.sinh(),
        Cosh => x.cosh(),
        Asin => x.safe_asin(),
        Acos => x.safe_acos(),
        _ => x.atan(),
    })
}

fn unary_buffer(op: UnaryOp, b: &Buffer) -> Result<Buffer> {
    Ok(match b {
        Buffer::F32(v) => Buffer::F32(unary_real(op, v)),
        Buffer::F64(v) => Buffer::F64(unary_real(op, v)),
        Buffer::C64(v) => match complex_kernel(op) {
            Some(f) => Buffer::C64(map(v, f)),
            None => return Err(unsupported(op, b)),
        },
        Buffer::C128(v) => match complex_kernel(op) {
            Some(f) => Buffer::C128(map(v, f)),
            None => return Err(unsupported(op, b)),
        },
    })
}

fn unsupported(op: UnaryOp, b: &Buffer) -> Error {
    let hint = if op == UnaryOp::Abs { " (abs of complex input is handled by ops::complex)" } else { "" };
    Error::dtype(op.name(), format!("not defined for {} input{hint}", b.dtype()))
}

impl Tensor {
    pub fn unary(&self, op: UnaryOp) -> Result<Tensor> {
        if op == UnaryOp::Abs && self.dtype().is_complex() {
            return self.abs_complex();
        }
        if let Some(data) = crate::gpu_backend::unary(op, self)? {
            return Ok(Tensor::from_op_storage(data, self.shape().to_vec(), OpKind::Unary(op), &[self]));
        }
        let out = unary_buffer(op, self.buffer()?)?;
        Ok(Tensor::from_op(out, self.shape().to_vec(), OpKind::Unary(op), &[self]))
    }
}

impl Tensor {
    /// Relu's backward: `self` (the output gradient) where `x > 0`, else 0 — one pass, no mask
    /// array. Linear in `self`, so its own backward is the same op; it has no gradient in `x`
    /// (piecewise constant).
    pub fn relu_grad(&self, x: &Tensor) -> Result<Tensor> {
        fn masked<T: crate::dtype::Real>(g: &[T], x: &[T], shape: &[usize]) -> Vec<T> {
            crate::kernels::elementwise::zip_broadcast(g, shape, x, shape, shape, |g, v| if v > T::zero() { g } else { T::zero() })
        }
        let data = match (self.buffer()?, x.buffer()?) {
            (Buffer::F32(g), Buffer::F32(v)) if self.shape() == x.shape() => Buffer::F32(masked(g, v, x.shape())),
            (Buffer::F64(g), Buffer::F64(v)) if self.shape() == x.shape() => Buffer::F64(masked(g, v, x.shape())),
            // Mixed dtypes or a broadcast gradient: the composite form.
            _ => return self.mul(&x.gt(&Tensor::scalar_like(0.0, x.dtype()))?),
        };
        Ok(Tensor::from_op(data, x.shape().to_vec(), OpKind::ReluGrad, &[self, x]))
    }
}

macro_rules! unary_methods {
    ($($name:ident => $op:ident),* $(,)?) => {
        impl Tensor {
            $(pub fn $name(&self) -> Result<Tensor> { self.unary(UnaryOp::$op) })*
        }
    };
}
unary_methods!(
    neg => Neg, exp => Exp, log => Log, log1p => Log1p, sqrt => Sqrt, sin => Sin, cos => Cos,
    tan => Tan, tanh => Tanh, sinh => Sinh, cosh => Cosh, asin => Asin, acos => Acos,
    atan => Atan, sigmoid => Sigmoid, erf => Erf, abs => Abs, sign => Sign, floor => Floor,
    ceil => Ceil, round => Round, relu => Relu,
);
