//! Elementwise functions of two arrays with numpy broadcasting and dtype promotion, the
//! comparisons (which carry no gradient) and `where`.

use crate::buffer::{Buffer, IntoBuffer};
use crate::dtype::{DType, Element, Real};
use crate::error::{Error, Result};
use crate::gpu_backend;
use crate::kernels::complex_math::ComplexMath;
use crate::kernels::elementwise::{map, where_broadcast, zip_broadcast};
use crate::limits::ensure_allocatable;
use crate::op::OpKind;
use crate::shape::broadcast_shapes;
use crate::tensor::Tensor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Atan2,
    Maximum,
    Minimum,
}

impl BinaryOp {
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "subtract",
            BinaryOp::Mul => "multiply",
            BinaryOp::Div => "divide",
            BinaryOp::Pow => "power",
            BinaryOp::Atan2 => "atan2",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
        }
    }
    fn real_only(self) -> bool {
        matches!(self, BinaryOp::Atan2 | BinaryOp::Maximum | BinaryOp::Minimum)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub fn name(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
        }
    }
}

/// Complex arithmetic; division by Smith's algorithm (the plain formula squares |b|).
fn arith<T: Element + IntoBuffer + ComplexMath>(op: BinaryOp, pow: fn(T, T) -> T) -> impl Fn(T, T) -> T + Sync + Send {
    move |a, b| match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a.smith_div(b),
        BinaryOp::Pow => pow(a, b),
        _ => unreachable!("real-only ops take the real path"),
    }
}

/// How a real binary op is looped over its operands.
pub(crate) trait RealBinaryLoop<T> {
    type Out;
    fn zip(self, f: impl Fn(T, T) -> T + Sync + Send) -> Self::Out;
}

/// The real binary ops' functions, each handed to `l`; matched once so each arm is its own
/// tight loop. One table serves the op itself and the fused elementwise chains of a compiled
/// trace, so both compute the same bits.
pub(crate) fn real_binary_op<T: Real, L: RealBinaryLoop<T>>(op: BinaryOp, l: L) -> L::Out {
    match op {
        BinaryOp::Add => l.zip(|a: T, b: T| a + b),
        BinaryOp::Sub => l.zip(|a: T, b: T| a - b),
        BinaryOp::Mul => l.zip(|a: T, b: T| a * b),
        BinaryOp::Div => l.zip(|a: T, b: T| a / b),
        BinaryOp::Pow => l.zip(|a: T, b: T| a.powf(b)),
        BinaryOp::Atan2 => l.zip(|a: T, b: T| a.atan2(b)),
        // NaN propagates, as in numpy's maximum/minimum.
        BinaryOp::Maximum => l.zip(|a: T, b: T| if a.is_nan() || a >= b { a } else { b }),
        BinaryOp::Minimum => l.zip(|a: T, b: T| if a.is_nan() || a <= b { a } else { b }),
    }
}

/// A real binary op over numpy-broadcast operands, into a new vector.
struct Broadcast<'a, T> {
    x: &'a [T],
    sa: &'a [usize],
    y: &'a [T],
    sb: &'a [usize],
    out: &'a [usize],
}

impl<T: Real> RealBinaryLoop<T> for Broadcast<'_, T> {
    type Out = Vec<T>;
    fn zip(self, f: impl Fn(T, T) -> T + Sync + Send) -> Vec<T> {
        zip_broadcast(self.x, self.sa, self.y, self.sb, self.out, f)
    }
}

fn real_binary<T: Real>(op: BinaryOp, x: &[T], sa: &[usize], y: &[T], sb: &[usize], out: &[usize]) -> Vec<T> {
    real_binary_op(op, Broadcast { x, sa, y, sb, out })
}

/// Casts both operands to their common dtype (recorded, so gradients flow back in each
/// operand's own dtype).
pub(crate) fn promote(a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    let dt = DType::promote(a.dtype(), b.dtype());
    Ok((a.cast(dt)?, b.cast(dt)?))
}

fn binary_buffer(op: BinaryOp, a: &Tensor, b: &Tensor, out: &[usize]) -> Result<Buffer> {
    let (sa, sb) = (a.shape(), b.shape());
    Ok(match (a.buffer()?, b.buffer()?) {
        (Buffer::F32(x), Buffer::F32(y)) => Buffer::F32(real_binary(op, x, sa, y, sb, out).into()),
        (Buffer::F64(x), Buffer::F64(y)) => Buffer::F64(real_binary(op, x, sa, y, sb, out).into()),
        (Buffer::C64(x), Buffer::C64(y)) if !op.real_only() => {
            Buffer::C64(zip_broadcast(x, sa, y, sb, out, arith(op, |a: crate::dtype::C32, b| a.powc(b))).into())
        }
        (Buffer::C128(x), Buffer::C128(y)) if !op.real_only() => {
            Buffer::C128(zip_broadcast(x, sa, y, sb, out, arith(op, |a: crate::dtype::C64, b| a.powc(b))).into())
        }
        _ => return Err(Error::dtype(op.name(), format!("not defined for {} and {} inputs", a.dtype(), b.dtype()))),
    })
}

fn zero_like(t: &Tensor) -> Tensor {
    Tensor::scalar_like(0.0, t.dtype())
}

/// `(g·b/r², −g·a/r²)` for `atan2(a, b)`, `r² = a² + b²`, formed as `(b/m)/(m·s²)` with
/// `m = max(|a|, |b|)` held constant and `s² = (a/m)² + (b/m)²`, so `r²` neither underflows
/// nor overflows. At `a = b = 0` the gradient is taken as 0 (a subgradient, as for `norm`),
/// and so are higher derivatives there: the masked branch of a `where` passes nothing back,
/// so no `0·inf` is ever formed.
pub(crate) fn atan2_grads(a: &Tensor, b: &Tensor, g: &Tensor, need: (bool, bool)) -> Result<(Option<Tensor>, Option<Tensor>)> {
    let m = a.stop_gradient().abs()?.maximum(&b.stop_gradient().abs()?)?;
    let at0 = m.eq_(&zero_like(&m))?;
    let one = Tensor::scalar_like(1.0, m.dtype());
    let m = Tensor::where_(&at0, &one, &m)?;
    let (am, bm) = (a.div(&m)?, b.div(&m)?);
    let den = m.mul(&am.mul(&am)?.add(&bm.mul(&bm)?)?)?;
    let den = Tensor::where_(&at0, &one, &den)?;
    let part = |num: &Tensor| -> Result<Tensor> { Tensor::where_(&at0, &zero_like(&den), &g.mul(&num.div(&den)?)?) };
    Ok((need.0.then(|| part(&bm)).transpose()?, need.1.then(|| part(&am)?.neg()).transpose()?))
}

/// Nonzero-means-true of every element (NaN is true, as in numpy), read straight from the
/// buffer.
fn truth(b: &Buffer) -> Vec<bool> {
    match b {
        Buffer::F32(v) => map(v, |x: f32| x != 0.0),
        Buffer::F64(v) => map(v, |x: f64| x != 0.0),
        Buffer::C64(v) => map(v, |x: crate::dtype::C32| x.re != 0.0 || x.im != 0.0),
        Buffer::C128(v) => map(v, |x: crate::dtype::C64| x.re != 0.0 || x.im != 0.0),
    }
}

impl Tensor {
    pub fn binary(&self, op: BinaryOp, other: &Tensor) -> Result<Tensor> {
        if self.dtype() != other.dtype() {
            let (a, b) = promote(self, other)?;
            return a.binary(op, &b);
        }
        let out = broadcast_shapes(op.name(), self.shape(), other.shape())?;
        ensure_allocatable(op.name(), &out, self.dtype())?;
        if let Some(data) = gpu_backend::binary(op, self, other)? {
            return Ok(Tensor::from_op_storage(data, out, OpKind::Binary(op), &[self, other]));
        }
        let data = binary_buffer(op, self, other, &out)?;
        Ok(Tensor::from_op(data, out, OpKind::Binary(op), &[self, other]))
    }

    pub fn add(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Add, o)
    }
    pub fn sub(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Sub, o)
    }
    pub fn mul(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Mul, o)
    }
    pub fn div(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Div, o)
    }
    pub fn pow(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Pow, o)
    }
    pub fn atan2(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Atan2, o)
    }
    pub fn maximum(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Maximum, o)
    }
    pub fn minimum(&self, o: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Minimum, o)
    }
    /// `self * s` with `s` a constant of this tensor's dtype.
    pub fn mul_scalar(&self, s: f64) -> Result<Tensor> {
        self.mul(&Tensor::scalar_like(s, self.dtype()))
    }
    pub fn add_scalar(&self, s: f64) -> Result<Tensor> {
        self.add(&Tensor::scalar_like(s, self.dtype()))
    }

    /// Elementwise comparison: 1.0 where true, 0.0 where false, in the operands' real dtype.
    /// Recorded (so a replayed trace recomputes its masks), with no gradient.
    pub fn compare(&self, op: CompareOp, other: &Tensor) -> Result<Tensor> {
        let name = "compare";
        if self.dtype() != other.dtype() {
            let (a, b) = promote(self, other)?;
            return a.compare(op, &b);
        }
        let out = broadcast_shapes(name, self.shape(), other.shape())?;
        ensure_allocatable(name, &out, DType::F32)?;
        if let Some(data) = gpu_backend::compare(op, self, other)? {
            return Ok(Tensor::from_op_storage(data, out, OpKind::Compare(op), &[self, other]));
        }
        let (sa, sb) = (self.shape(), other.shape());
        fn cmp<T: PartialOrd>(op: CompareOp) -> impl Fn(T, T) -> bool + Sync + Send {
            move |a, b| match op {
                CompareOp::Eq => a == b,
                CompareOp::Ne => a != b,
                CompareOp::Lt => a < b,
                CompareOp::Le => a <= b,
                CompareOp::Gt => a > b,
                CompareOp::Ge => a >= b,
            }
        }
        let as_num = |v: Vec<bool>, dt: DType| -> Buffer {
            match dt {
                DType::F32 => Buffer::F32(v.into_iter().map(|b| b as u8 as f32).collect()),
                _ => Buffer::F64(v.into_iter().map(|b| b as u8 as f64).collect()),
            }
        };
        let data = match (self.buffer()?, other.buffer()?) {
            (Buffer::F32(x), Buffer::F32(y)) => {
                Buffer::F32(zip_broadcast(x, sa, y, sb, &out, move |a, b| cmp(op)(a, b) as u8 as f32).into())
            }
            (Buffer::F64(x), Buffer::F64(y)) => {
                Buffer::F64(zip_broadcast(x, sa, y, sb, &out, move |a, b| cmp(op)(a, b) as u8 as f64).into())
            }
            (Buffer::C64(x), Buffer::C64(y)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
                as_num(zip_broadcast(x, sa, y, sb, &out, move |a, b| (a == b) == (op == CompareOp::Eq)), DType::F32)
            }
            (Buffer::C128(x), Buffer::C128(y)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
                as_num(zip_broadcast(x, sa, y, sb, &out, move |a, b| (a == b) == (op == CompareOp::Eq)), DType::F64)
            }
            _ => return Err(Error::dtype(name, format!("ordering comparisons are not defined for {} input", self.dtype()))),
        };
        Ok(Tensor::from_op(data, out, OpKind::Compare(op), &[self, other]))
    }

    pub fn eq_(&self, o: &Tensor) -> Result<Tensor> {
        self.compare(CompareOp::Eq, o)
    }
    pub fn gt(&self, o: &Tensor) -> Result<Tensor> {
        self.compare(CompareOp::Gt, o)
    }
    pub fn lt(&self, o: &Tensor) -> Result<Tensor> {
        self.compare(CompareOp::Lt, o)
    }

    /// `cond ? a : b` elementwise with broadcasting; `cond` is nonzero-means-true and takes no
    /// gradient.
    pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        const OP: &str = "where";
        if a.dtype() != b.dtype() {
            let (a, b) = promote(a, b)?;
            return Tensor::where_(cond, &a, &b);
        }
        let out = broadcast_shapes(OP, &broadcast_shapes(OP, cond.shape(), a.shape())?, b.shape())?;
        ensure_allocatable(OP, &out, a.dtype())?;
        if let Some(data) = gpu_backend::where_(cond, a, b)? {
            return Ok(Tensor::from_op_storage(data, out, OpKind::Where, &[a, b, cond]));
        }
        let c = truth(cond.buffer()?);
        let (sc, sa, sb) = (cond.shape(), a.shape(), b.shape());
        let data = match (a.buffer()?, b.buffer()?) {
            (Buffer::F32(x), Buffer::F32(y)) => Buffer::F32(where_broadcast(&c, sc, x, sa, y, sb, &out).into()),
            (Buffer::F64(x), Buffer::F64(y)) => Buffer::F64(where_broadcast(&c, sc, x, sa, y, sb, &out).into()),
            (Buffer::C64(x), Buffer::C64(y)) => Buffer::C64(where_broadcast(&c, sc, x, sa, y, sb, &out).into()),
            (Buffer::C128(x), Buffer::C128(y)) => Buffer::C128(where_broadcast(&c, sc, x, sa, y, sb, &out).into()),
            _ => unreachable!("promoted above"),
        };
        Ok(Tensor::from_op(data, out, OpKind::Where, &[a, b, cond]))
    }
}
