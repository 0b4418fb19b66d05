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

/// The two ways a real unary op is looped: a scalar function over every element, or a slice
/// kernel (the vectorised exp, tanh and sigmoid).
pub(crate) trait RealUnaryLoop<T> {
    type Out;
    fn map(self, f: impl Fn(T) -> T + Sync + Send) -> Self::Out;
    fn slice(self, f: fn(&[T], &mut [T])) -> Self::Out;
}

/// The real unary ops' functions, each handed to `l`. The op is matched once, outside the
/// loop, so each arm is its own tight (vectorisable) loop. One table serves the op itself and
/// the fused elementwise chains of a compiled trace, so both compute the same bits.
pub(crate) fn real_unary<T: Real, L: RealUnaryLoop<T>>(op: UnaryOp, l: L) -> L::Out {
    use UnaryOp::*;
    let zero = T::zero();
    match op {
        Neg => l.map(|x: T| -x),
        // exp, tanh and sigmoid: vectorised slice kernels (float32 within 2-3 ulp).
        Exp => l.slice(T::exp_into),
        Log => l.map(|x: T| x.ln()),
        Log1p => l.map(|x: T| x.ln_1p()),
        Sqrt => l.map(|x: T| x.sqrt()),
        Sin => l.map(|x: T| x.sin()),
        Cos => l.map(|x: T| x.cos()),
        Tan => l.map(|x: T| x.tan()),
        Tanh => l.slice(T::tanh_into),
        Sinh => l.map(|x: T| x.sinh()),
        Cosh => l.map(|x: T| x.cosh()),
        Asin => l.map(|x: T| x.asin()),
        Acos => l.map(|x: T| x.acos()),
        Atan => l.map(|x: T| x.atan()),
        Sigmoid => l.slice(T::sigmoid_into),
        Erf => l.map(|x: T| x.erf()),
        Abs => l.map(|x: T| x.abs()),
        Sign => l.map(|x: T| x.signum0()),
        Floor => l.map(|x: T| x.floor()),
        Ceil => l.map(|x: T| x.ceil()),
        Round => l.map(|x: T| x.round()),
        // `x > 0 ? x : 0` keeps NaN (the comparison is false, but NaN * 0 would not be 0).
        Relu => l.map(move |x: T| if x > zero || x.is_nan() { x } else { zero }),
    }
}

/// Relu's backward at one element: the gradient `g` where the input `x` is positive, else 0.
#[inline(always)]
pub(crate) fn relu_grad_at<T: Real>(g: T, x: T) -> T {
    if x > T::zero() {
        g
    } else {
        T::zero()
    }
}

/// A real unary op into a new vector.
struct IntoNew<'a, T>(&'a [T]);

impl<T: Real> RealUnaryLoop<T> for IntoNew<'_, T> {
    type Out = Vec<T>;
    fn map(self, f: impl Fn(T) -> T + Sync + Send) -> Vec<T> {
        map(self.0, f)
    }
    fn slice(self, f: fn(&[T], &mut [T])) -> Vec<T> {
        slice_map(self.0, f)
    }
}

fn unary_real<T: Real>(op: UnaryOp, v: &[T]) -> Vec<T> {
    real_unary(op, IntoNew(v))
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
        Buffer::F32(v) => Buffer::F32(unary_real(op, v).into()),
        Buffer::F64(v) => Buffer::F64(unary_real(op, v).into()),
        Buffer::C64(v) => match complex_kernel(op) {
            Some(f) => Buffer::C64(map(v, f).into()),
            None => return Err(unsupported(op, b)),
        },
        Buffer::C128(v) => match complex_kernel(op) {
            Some(f) => Buffer::C128(map(v, f).into()),
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
            crate::kernels::elementwise::zip_broadcast(g, shape, x, shape, shape, relu_grad_at)
        }
        if self.shape() == x.shape() && self.dtype() == x.dtype() {
            if let Some(data) = crate::gpu_backend::relu_grad(self, x)? {
                return Ok(Tensor::from_op_storage(data, x.shape().to_vec(), OpKind::ReluGrad, &[self, x]));
            }
        }
        let data = match (self.buffer()?, x.buffer()?) {
            (Buffer::F32(g), Buffer::F32(v)) if self.shape() == x.shape() => Buffer::F32(masked(g, v, x.shape()).into()),
            (Buffer::F64(g), Buffer::F64(v)) if self.shape() == x.shape() => Buffer::F64(masked(g, v, x.shape()).into()),
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
