//! Element types. Real kernels are generic over [`Real`]; complex ones over [`Element`].

use num_complex::Complex;
use std::fmt;

pub type C32 = Complex<f32>;
pub type C64 = Complex<f64>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F64,
    C64,
    C128,
}

impl DType {
    pub fn is_complex(self) -> bool {
        matches!(self, DType::C64 | DType::C128)
    }
    /// The real dtype of the same precision.
    pub fn real(self) -> DType {
        match self {
            DType::F32 | DType::C64 => DType::F32,
            DType::F64 | DType::C128 => DType::F64,
        }
    }
    /// The complex dtype of the same precision.
    pub fn complex(self) -> DType {
        match self {
            DType::F32 | DType::C64 => DType::C64,
            DType::F64 | DType::C128 => DType::C128,
        }
    }
    fn is_double(self) -> bool {
        matches!(self, DType::F64 | DType::C128)
    }
    /// numpy's promotion between two array dtypes.
    pub fn promote(a: DType, b: DType) -> DType {
        let double = a.is_double() || b.is_double();
        match (a.is_complex() || b.is_complex(), double) {
            (false, false) => DType::F32,
            (false, true) => DType::F64,
            (true, false) => DType::C64,
            (true, true) => DType::C128,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::C64 => "complex64",
            DType::C128 => "complex128",
        }
    }
    /// The dtype of a numpy dtype name; `None` for a dtype a dlarray cannot hold.
    pub fn from_name(name: &str) -> Option<DType> {
        [DType::F32, DType::F64, DType::C64, DType::C128].into_iter().find(|d| d.name() == name)
    }
    pub fn size_of(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 | DType::C64 => 8,
            DType::C128 => 16,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Any element a buffer can hold.
pub trait Element:
    Copy
    + Send
    + Sync
    + 'static
    + PartialEq
    + Default
    + fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + std::iter::Sum
{
    const DTYPE: DType;
    fn zero() -> Self;
    fn one() -> Self;
    fn from_f64(v: f64) -> Self;
    fn from_c64(v: C64) -> Self;
    fn to_c64(self) -> C64;
}

/// Real floating-point elements: what every non-complex kernel works on.
/// `SliceMath` gives the vectorised slice forms of exp, tanh and sigmoid.
pub trait Real: Element + PartialOrd + libm_ops::Float + crate::kernels::vmath::SliceMath {
    fn to_f64(self) -> f64;
}

macro_rules! real_element {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            fn zero() -> Self {
                0.0
            }
            fn one() -> Self {
                1.0
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn from_c64(v: C64) -> Self {
                v.re as $t
            }
            fn to_c64(self) -> C64 {
                C64::new(self as f64, 0.0)
            }
        }
        impl Real for $t {
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    };
}
real_element!(f32, DType::F32);
real_element!(f64, DType::F64);

macro_rules! complex_element {
    ($t:ty, $r:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            fn zero() -> Self {
                <$t>::new(0.0, 0.0)
            }
            fn one() -> Self {
                <$t>::new(1.0, 0.0)
            }
            fn from_f64(v: f64) -> Self {
                <$t>::new(v as $r, 0.0)
            }
            fn from_c64(v: C64) -> Self {
                <$t>::new(v.re as $r, v.im as $r)
            }
            fn to_c64(self) -> C64 {
                C64::new(self.re as f64, self.im as f64)
            }
        }
    };
}
complex_element!(C32, f32, DType::C64);
complex_element!(C64, f64, DType::C128);

/// The real math functions kernels need, for f32 and f64 alike.
pub mod libm_ops {
    pub trait Float: Copy {
        fn exp(self) -> Self;
        fn ln(self) -> Self;
        fn ln_1p(self) -> Self;
        fn sqrt(self) -> Self;
        fn sin(self) -> Self;
        fn cos(self) -> Self;
        fn tan(self) -> Self;
        fn tanh(self) -> Self;
        fn sinh(self) -> Self;
        fn cosh(self) -> Self;
        fn asin(self) -> Self;
        fn acos(self) -> Self;
        fn atan(self) -> Self;
        fn atan2(self, x: Self) -> Self;
        fn erf(self) -> Self;
        fn abs(self) -> Self;
        fn floor(self) -> Self;
        fn ceil(self) -> Self;
        fn round(self) -> Self;
        fn powf(self, e: Self) -> Self;
        fn signum0(self) -> Self;
        fn is_nan(self) -> bool;
    }
    macro_rules! float_impl {
        ($t:ty, $erf:path) => {
            impl Float for $t {
                fn exp(self) -> Self {
                    <$t>::exp(self)
                }
                fn ln(self) -> Self {
                    <$t>::ln(self)
                }
                fn ln_1p(self) -> Self {
                    <$t>::ln_1p(self)
                }
                fn sqrt(self) -> Self {
                    <$t>::sqrt(self)
                }
                fn sin(self) -> Self {
                    <$t>::sin(self)
                }
                fn cos(self) -> Self {
                    <$t>::cos(self)
                }
                fn tan(self) -> Self {
                    <$t>::tan(self)
                }
                // Through expm1: the system tanh is several times slower, and this form keeps
                // full relative accuracy near 0 and saturates cleanly for large |x|.
                fn tanh(self) -> Self {
                    let a = <$t>::abs(self);
                    let t = if a > 0.35 {
                        let e = (-2.0 * a).exp(); // e < 0.5: 1 − e has no cancellation
                        (1.0 - e) / (1.0 + e)
                    } else {
                        let e = (-2.0 * a).exp_m1();
                        -e / (2.0 + e)
                    };
                    t.copysign(self)
                }
                fn sinh(self) -> Self {
                    <$t>::sinh(self)
                }
                fn cosh(self) -> Self {
                    <$t>::cosh(self)
                }
                fn asin(self) -> Self {
                    <$t>::asin(self)
                }
                fn acos(self) -> Self {
                    <$t>::acos(self)
                }
                fn atan(self) -> Self {
                    <$t>::atan(self)
                }
                fn atan2(self, x: Self) -> Self {
                    <$t>::atan2(self, x)
                }
                fn erf(self) -> Self {
                    $erf(self)
                }
                fn abs(self) -> Self {
                    <$t>::abs(self)
                }
                fn floor(self) -> Self {
                    <$t>::floor(self)
                }
                fn ceil(self) -> Self {
                    <$t>::ceil(self)
                }
                // numpy rounds half to even; so do we.
                fn round(self) -> Self {
                    <$t>::round_ties_even(self)
                }
                fn powf(self, e: Self) -> Self {
                    <$t>::powf(self, e)
                }
                fn signum0(self) -> Self {
                    if self > 0.0 {
                        1.0
                    } else if self < 0.0 {
                        -1.0
                    } else if self.is_nan() {
                        self
                    } else {
                        0.0
                    }
                }
                fn is_nan(self) -> bool {
                    <$t>::is_nan(self)
                }
            }
        };
    }
    float_impl!(f32, libm::erff);
    float_impl!(f64, libm::erf);
}
