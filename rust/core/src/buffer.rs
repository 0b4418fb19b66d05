//! Host storage: one contiguous, row-major vector per tensor, shared between tensors by
//! reference count. Nothing ever writes into a shared buffer; a write makes a new one
//! (copy-on-write), which is what gives dlarray its value semantics.

use crate::dtype::{DType, Element, C32, C64};
pub use crate::host_vec::HostVec;

#[derive(Debug, Clone)]
pub enum Buffer {
    F32(HostVec<f32>),
    F64(HostVec<f64>),
    C64(HostVec<C32>),
    C128(HostVec<C64>),
}

/// Run `$body` with `$v` bound to the typed vector inside a buffer.
#[macro_export]
macro_rules! with_buffer {
    ($buf:expr, $v:ident => $body:expr) => {
        match $buf {
            $crate::buffer::Buffer::F32($v) => $body,
            $crate::buffer::Buffer::F64($v) => $body,
            $crate::buffer::Buffer::C64($v) => $body,
            $crate::buffer::Buffer::C128($v) => $body,
        }
    };
}

/// Like [`with_buffer`] for kernels that exist only for real dtypes; complex gives `$err`.
#[macro_export]
macro_rules! with_real_buffer {
    ($buf:expr, $v:ident => $body:expr, $err:expr) => {
        match $buf {
            $crate::buffer::Buffer::F32($v) => $body,
            $crate::buffer::Buffer::F64($v) => $body,
            _ => return Err($err),
        }
    };
}

/// Conversion between typed vectors and buffers.
pub trait IntoBuffer: Element {
    fn into_buffer(v: Vec<Self>) -> Buffer;
    fn slice_of(b: &Buffer) -> Option<&[Self]>;
}

macro_rules! into_buffer {
    ($t:ty, $var:ident) => {
        impl IntoBuffer for $t {
            fn into_buffer(v: Vec<Self>) -> Buffer {
                Buffer::$var(v.into())
            }
            fn slice_of(b: &Buffer) -> Option<&[Self]> {
                match b {
                    Buffer::$var(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}
into_buffer!(f32, F32);
into_buffer!(f64, F64);
into_buffer!(C32, C64);
into_buffer!(C64, C128);

impl Buffer {
    pub fn dtype(&self) -> DType {
        match self {
            Buffer::F32(_) => DType::F32,
            Buffer::F64(_) => DType::F64,
            Buffer::C64(_) => DType::C64,
            Buffer::C128(_) => DType::C128,
        }
    }

    pub fn len(&self) -> usize {
        with_buffer!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn zeros(dtype: DType, n: usize) -> Buffer {
        Self::filled(dtype, n, 0.0)
    }

    pub fn filled(dtype: DType, n: usize, value: f64) -> Buffer {
        match dtype {
            DType::F32 => Buffer::F32(vec![value as f32; n].into()),
            DType::F64 => Buffer::F64(vec![value; n].into()),
            DType::C64 => Buffer::C64(vec![C32::new(value as f32, 0.0); n].into()),
            DType::C128 => Buffer::C128(vec![C64::new(value, 0.0); n].into()),
        }
    }

    /// A copy converted to `dtype` (complex to real keeps the real part).
    pub fn cast(&self, dtype: DType) -> Buffer {
        if self.dtype() == dtype {
            return self.clone();
        }
        fn conv<S: Element, T: Element>(v: &[S], f: impl Fn(S) -> T) -> Vec<T> {
            v.iter().map(|&x| f(x)).collect()
        }
        match (self, dtype) {
            (Buffer::F32(v), DType::F64) => Buffer::F64(conv(v, |x| x as f64).into()),
            (Buffer::F64(v), DType::F32) => Buffer::F32(conv(v, |x| x as f32).into()),
            (b, DType::F32) => Buffer::F32(with_buffer!(b, v => conv(v, |x| f32::from_c64(x.to_c64())).into())),
            (b, DType::F64) => Buffer::F64(with_buffer!(b, v => conv(v, |x| x.to_c64().re).into())),
            (b, DType::C64) => Buffer::C64(with_buffer!(b, v => conv(v, |x| C32::from_c64(x.to_c64())).into())),
            (b, DType::C128) => Buffer::C128(with_buffer!(b, v => conv(v, |x| x.to_c64()).into())),
        }
    }

    /// Every element as complex128 (for printing, scalar extraction and tests).
    pub fn to_c64_vec(&self) -> Vec<C64> {
        with_buffer!(self, v => v.iter().map(|x| x.to_c64()).collect())
    }

    /// Every element's real part as f64.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self {
            Buffer::F64(v) => v.to_vec(),
            Buffer::F32(v) => v.iter().map(|&x| x as f64).collect(),
            b => b.to_c64_vec().iter().map(|c| c.re).collect(),
        }
    }

    /// Gather elements by flat index into a new buffer.
    pub fn gather(&self, idx: &[usize]) -> Buffer {
        with_buffer!(self, v => IntoBuffer::into_buffer(idx.iter().map(|&i| v[i]).collect()))
    }
}
