//! Complex division, tanh/tan and asin/acos that stay finite wherever numpy's results are.
//!
//! The textbook forms overflow or cancel long before the result does: `a/b` squares `|b|`
//! (float32 `1e30` gives inf), `tanh(x + iy)` divides `cosh 2x` by itself (inf/inf = NaN for
//! float32 `x = 50`), and `asin z = −i ln(iz + √(1 − z²))` adds two nearly opposite terms for
//! large `z` in some quadrants. These follow what numpy (C99 / FreeBSD msun) does: Smith's
//! division, tanh's large-|x| limit, and the Hull–Fairgrieve–Tang formulas for asin/acos,
//! which also take the sign of a zero imaginary part on the cuts (`asin(3 + 0j)` has a positive
//! imaginary part, `asin(3 − 0j)` a negative one).

use num_complex::Complex;

/// The operations above, for `Complex<f32>` and `Complex<f64>`.
pub trait ComplexMath: Sized {
    /// `self / b` by Smith's algorithm: scaled by the larger part of `b`, so nothing squares.
    fn smith_div(self, b: Self) -> Self;
    fn safe_tanh(self) -> Self;
    /// `tan z = −i tanh(iz)`, so it inherits tanh's limit for large imaginary parts.
    fn safe_tan(self) -> Self;
    fn safe_asin(self) -> Self;
    fn safe_acos(self) -> Self;
}

macro_rules! complex_math {
    ($m:ident, $r:ident, $tanh_big:expr) => {
        mod $m {
            use super::*;
            type C = Complex<$r>;
            const EPS: $r = <$r>::EPSILON;
            /// Beyond this |Re z| (a little past ½ ln(2/ε)), tanh's real part is ±1 to working
            /// precision and the imaginary part is its asymptote `4 sin y cos y e^(−2|x|)`.
            const TANH_BIG: $r = $tanh_big;
            /// Hull et al.'s switch from asin(B) to the atan form (asin is ill-conditioned near 1).
            const B_CROSS: $r = 0.6417;
            const A_CROSS: $r = 1.5;

            pub fn smith_div(a: C, b: C) -> C {
                if b.re.abs() >= b.im.abs() {
                    if b.re == 0.0 && b.im == 0.0 {
                        // 0/0 and x/0 as the plain formula gives them (NaN or inf parts).
                        return C::new(a.re / b.re.abs(), a.im / b.re.abs());
                    }
                    let r = b.im / b.re;
                    let d = b.re + b.im * r;
                    C::new((a.re + a.im * r) / d, (a.im - a.re * r) / d)
                } else {
                    let r = b.re / b.im;
                    let d = b.re * r + b.im;
                    C::new((a.re * r + a.im) / d, (a.im * r - a.re) / d)
                }
            }

            pub fn tanh(z: C) -> C {
                if z.re.abs() > TANH_BIG && z.im.is_finite() {
                    let e = (-2.0 * z.re.abs()).exp();
                    return C::new((1.0 as $r).copysign(z.re), 4.0 * z.im.sin() * z.im.cos() * e);
                }
                num_complex::ComplexFloat::tanh(z)
            }

            pub fn tan(z: C) -> C {
                let t = tanh(C::new(-z.im, z.re));
                C::new(t.im, -t.re)
            }

            /// For x, y ≥ 0 (finite): `(re asin, re acos, im asin)`, im acos being `−im asin`.
            fn parts(x: $r, y: $r) -> ($r, $r, $r) {
                let r = (x + 1.0).hypot(y);
                let s = (x - 1.0).hypot(y);
                let a = 0.5 * r + 0.5 * s;
                let b = x / a;
                let (re_asin, re_acos) = if b <= B_CROSS {
                    (b.asin(), b.acos())
                } else if x <= 1.0 {
                    let d = (0.5 * (a + x) * (y * y / (r + (x + 1.0)) + (s + (1.0 - x)))).sqrt();
                    ((x / d).atan(), (d / x).atan())
                } else {
                    let d = y * (0.5 * ((a + x) / (r + (x + 1.0)) + (a + x) / (s + (x - 1.0)))).sqrt();
                    ((x / d).atan(), (d / x).atan())
                };
                let im = if a <= A_CROSS {
                    let am1 = if x < 1.0 {
                        0.5 * (y * y / (r + (x + 1.0)) + y * y / (s + (1.0 - x)))
                    } else {
                        0.5 * (y * y / (r + (x + 1.0)) + (s + (x - 1.0)))
                    };
                    (am1 + (am1 * (a + 1.0)).sqrt()).ln_1p()
                } else if a < 1.0 / EPS {
                    (a + (a * a - 1.0).sqrt()).ln()
                } else {
                    // a² − 1 = a² to working precision (and a² may overflow).
                    a.ln() + std::$r::consts::LN_2
                };
                (re_asin, re_acos, im)
            }

            pub fn asin(z: C) -> C {
                if !(z.re.is_finite() && z.im.is_finite()) {
                    return num_complex::ComplexFloat::asin(z);
                }
                let (re, _, im) = parts(z.re.abs(), z.im.abs());
                C::new(re.copysign(z.re), im.copysign(z.im))
            }

            pub fn acos(z: C) -> C {
                if !(z.re.is_finite() && z.im.is_finite()) {
                    return num_complex::ComplexFloat::acos(z);
                }
                let (_, re, im) = parts(z.re.abs(), z.im.abs());
                let re = if z.re.is_sign_negative() { std::$r::consts::PI - re } else { re };
                C::new(re, -im.copysign(z.im))
            }
        }

        impl ComplexMath for Complex<$r> {
            fn smith_div(self, b: Self) -> Self {
                $m::smith_div(self, b)
            }
            fn safe_tanh(self) -> Self {
                $m::tanh(self)
            }
            fn safe_tan(self) -> Self {
                $m::tan(self)
            }
            fn safe_asin(self) -> Self {
                $m::asin(self)
            }
            fn safe_acos(self) -> Self {
                $m::acos(self)
            }
        }
    };
}

complex_math!(single, f32, 11.0);
complex_math!(double, f64, 21.0);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_arguments_stay_finite() {
        let q = Complex::new(1e30f32, 1e30).smith_div(Complex::new(1e30, 0.0));
        assert_eq!(q, Complex::new(1.0, 1.0));
        let t = Complex::new(50.0f32, 1.0).safe_tanh();
        assert_eq!(t.re, 1.0);
        assert!(t.im.is_finite() && t.im >= 0.0);
        let a = Complex::new(1e5f32, 1e5).safe_asin();
        assert!((a.re - std::f32::consts::FRAC_PI_4).abs() < 1e-6 && (a.im - 12.552_647).abs() < 1e-5, "{a}");
    }

    #[test]
    fn zero_imaginary_parts_pick_the_side_of_the_cut() {
        let up = Complex::new(3.0f64, 0.0).safe_asin();
        let down = Complex::new(3.0f64, -0.0).safe_asin();
        assert!((up.re - std::f64::consts::FRAC_PI_2).abs() < 1e-15 && (up.im - 1.762_747_174_039_086).abs() < 1e-14);
        assert_eq!((down.re, down.im), (up.re, -up.im));
        // Inside [−1, 1] the result is real, exactly.
        assert_eq!(Complex::new(0.5f64, 0.0).safe_asin().im, 0.0);
        assert_eq!(Complex::new(0.5f64, 0.0).safe_acos().im, -0.0);
    }
}
