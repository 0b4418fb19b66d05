//! Vectorised `exp`, `tanh` and `sigmoid` over whole slices.
//!
//! Both float types use branch-free approximations written in plain arithmetic (range
//! reduction plus a polynomial or Cephes' rational function, within about 2 ulp of the
//! correctly rounded result), so that LLVM turns the loop into SIMD code; the hot loop is
//! compiled again with AVX2+FMA and with AVX-512 and the best version is chosen at run time
//! (the crate itself targets baseline x86-64). float64 matters as much as float32: PINNs and
//! gradient checks run in it, and libm's scalar tanh was a sixth of a PINN step.

// The polynomial coefficients are kept as published, digits beyond f32 included.
#![allow(clippy::excessive_precision)]

/// Slice-level transcendental maps. `src` and `dst` have the same length; the `_in_place`
/// forms map a slice onto itself.
pub trait SliceMath: Sized + Copy {
    fn exp_into(src: &[Self], dst: &mut [Self]);
    fn tanh_into(src: &[Self], dst: &mut [Self]);
    fn sigmoid_into(src: &[Self], dst: &mut [Self]);
    fn exp_in_place(x: &mut [Self]);
    fn tanh_in_place(x: &mut [Self]);
    fn sigmoid_in_place(x: &mut [Self]);
}

// ----- float64: branch-free approximations ----------------------------------------------------

/// e^x for x in [-745.2, 709.8] (below: 0; above: inf; NaN kept): x = n·ln2 + r with
/// |r| ≤ ln2/2 (ln2 split in two so n·ln2_hi is exact), e^r by its Taylor polynomial to
/// degree 13 (truncation below 1e-17), then the scaling by 2^n done as two factors so that
/// results down to the subnormal range are right. Within about 1 ulp of the correctly rounded
/// result.
#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5·2^52: adding it rounds to an integer
    const MAX: f64 = 709.782_712_893_384;
    let xc = x.clamp(-745.2, MAX);
    let n = (xc * LOG2E + ROUND) - ROUND;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0;
    // p = 1/2! + r/3! + … + r^11/13!, so that e^r = 1 + r + r²·p.
    for k in (2..13).rev() {
        p = p * r + 1.0 / FACTORIALS[k];
    }
    let er = (p * (r * r) + r) + 1.0;
    let n1 = (n * 0.5).floor();
    let y = er * pow2(n1) * pow2(n - n1);
    let y = if x > MAX { f64::INFINITY } else { y };
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// 2^k for an integer-valued k in [-1022, 1023]: k + 1023 lands in the low mantissa bits of
/// k + 1023 + 2^52, and the shift moves it into the exponent field (in float and 64-bit
/// shift operations only, which AVX2 has; it has no 64-bit arithmetic shift or conversion).
#[inline(always)]
fn pow2(k: f64) -> f64 {
    f64::from_bits((k + (1023.0 + 4_503_599_627_370_496.0)).to_bits() << 52)
}

/// k! for k ≤ 12, exactly representable.
const FACTORIALS: [f64; 13] = [1.0, 1.0, 2.0, 6.0, 24.0, 120.0, 720.0, 5040.0, 40320.0, 362880.0, 3628800.0, 39916800.0, 479001600.0];

/// tanh: Cephes' rational approximation x + x·z·P(z)/Q(z), z = x², for |x| < 0.625, else
/// 1 − 2/(e^{2|x|} + 1) (the subtracted term at most 0.45, so its rounding errors shrink),
/// sign restored.
#[inline(always)]
pub fn tanh_f64(x: f64) -> f64 {
    let a = x.abs();
    let z = x * x;
    let p = (-9.643_991_794_250_522_386_28e-1 * z - 9.928_772_310_019_185_865_64e1) * z - 1.614_687_684_417_084_479_52e3;
    let q = ((z + 1.128_116_784_916_329_314_02e2) * z + 2.235_488_390_601_004_485_83e3) * z + 4.844_063_053_251_254_860_48e3;
    let small = a + a * z * (p / q);
    let large = 1.0 - 2.0 / (exp_f64(2.0 * a) + 1.0);
    let y = if a < 0.625 { small } else { large };
    y.copysign(x)
}

/// 1/(1 + e^−x) through e = e^{−|x|} ∈ (0, 1], which never overflows.
#[inline(always)]
pub fn sigmoid_f64(x: f64) -> f64 {
    let e = exp_f64(-x.abs());
    let d = 1.0 + e;
    if x >= 0.0 {
        1.0 / d
    } else {
        e / d
    }
}

impl SliceMath for f64 {
    fn exp_into(src: &[f64], dst: &mut [f64]) {
        exp_into_f64(src, dst)
    }
    fn tanh_into(src: &[f64], dst: &mut [f64]) {
        tanh_into_f64(src, dst)
    }
    fn sigmoid_into(src: &[f64], dst: &mut [f64]) {
        sigmoid_into_f64(src, dst)
    }
    fn exp_in_place(x: &mut [f64]) {
        exp_in_place_f64(x)
    }
    fn tanh_in_place(x: &mut [f64]) {
        tanh_in_place_f64(x)
    }
    fn sigmoid_in_place(x: &mut [f64]) {
        sigmoid_in_place_f64(x)
    }
}

// ----- float32: branch-free approximations ----------------------------------------------------

/// e^x for x in [-104, 88.7] (below: 0; above: inf; NaN kept). Cephes `expf`: x = n·ln2 + r
/// with |r| ≤ ln2/2 (ln2 split in two so n·ln2_hi is exact), e^r by a degree-6 polynomial,
/// then the scaling by 2^n done as two factors so that results down to the subnormal range
/// are right.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0; // 1.5·2^23: adding it rounds to an integer
    let xc = x.clamp(-104.0, 88.722_83);
    let shifted = xc * LOG2E + ROUND;
    let n = shifted - ROUND;
    // n as an integer, read from the shifted float's low mantissa bits: a float-to-int
    // conversion (`as i32`, saturating) would not vectorise.
    let ni = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let r2 = r * r;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5.000_000_1e-1;
    let er = p * r2 + r + 1.0;
    let n1 = ni >> 1;
    let n2 = ni - n1;
    let s1 = f32::from_bits(((n1 + 127) as u32) << 23);
    let s2 = f32::from_bits(((n2 + 127) as u32) << 23);
    let y = er * s1 * s2;
    let y = if x > 88.722_83 { f32::INFINITY } else { y };
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// tanh: odd polynomial for |x| < 0.625 (Cephes `tanhf`), else (1 − e)/(1 + e) with
/// e = e^{−2|x|} ≤ 0.29 (no cancellation), sign restored.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let a = x.abs();
    let s = x * x;
    let p = -5.704_988_7e-3;
    let p = p * s + 2.063_908_9e-2;
    let p = p * s - 5.373_971_6e-2;
    let p = p * s + 1.333_144_2e-1;
    let p = p * s - 3.333_328_2e-1;
    let small = p * s * a + a;
    let e = exp_f32(-2.0 * a);
    let large = (1.0 - e) / (1.0 + e);
    let y = if a < 0.625 { small } else { large };
    y.copysign(x)
}

/// 1/(1 + e^−x) through e = e^{−|x|} ∈ (0, 1], which never overflows.
#[inline(always)]
pub fn sigmoid_f32(x: f32) -> f32 {
    let e = exp_f32(-x.abs());
    let d = 1.0 + e;
    if x >= 0.0 {
        1.0 / d
    } else {
        e / d
    }
}

#[inline(always)]
fn map_into<T: Copy>(src: &[T], dst: &mut [T], f: impl Fn(T) -> T) {
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    for i in 0..n {
        dst[i] = f(src[i]);
    }
}

#[inline(always)]
fn map_in_place<T: Copy>(x: &mut [T], f: impl Fn(T) -> T) {
    for v in x.iter_mut() {
        *v = f(*v);
    }
}

/// Generates, for one scalar function, the slice kernels compiled for AVX-512, AVX2+FMA and
/// the baseline, and a front that picks one at run time.
macro_rules! dispatched {
    ($t:ty: $into:ident, $in_place:ident, $f:path $(, avx512: $wide:path)?) => {
        pub fn $into(src: &[$t], dst: &mut [$t]) {
            #[cfg(target_arch = "x86_64")]
            {
                $(if level() == Level::V4 {
                    let n = src.len().min(dst.len());
                    // SAFETY: AVX-512F is present; both pointers cover n elements.
                    return unsafe { avx512::map(src.as_ptr(), dst.as_mut_ptr(), n, $wide) };
                })?
                #[target_feature(enable = "avx512f,avx2,fma")]
                unsafe fn v4(src: &[$t], dst: &mut [$t]) {
                    map_into(src, dst, $f)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn v3(src: &[$t], dst: &mut [$t]) {
                    map_into(src, dst, $f)
                }
                match level() {
                    // SAFETY: level() returns V4 only when AVX-512F, AVX2 and FMA are all detected at run time, the
                    // features v4 is compiled for; the slices are passed as they are.
                    Level::V4 => return unsafe { v4(src, dst) },
                    // SAFETY: level() returns V3 only when AVX2 and FMA are detected, the features of v3.
                    Level::V3 => return unsafe { v3(src, dst) },
                    Level::Baseline => {}
                }
            }
            map_into(src, dst, $f)
        }
        pub fn $in_place(x: &mut [$t]) {
            #[cfg(target_arch = "x86_64")]
            {
                $(if level() == Level::V4 {
                    // SAFETY: AVX-512F is present; the pointer covers the slice.
                    return unsafe { avx512::map(x.as_ptr(), x.as_mut_ptr(), x.len(), $wide) };
                })?
                #[target_feature(enable = "avx512f,avx2,fma")]
                unsafe fn v4(x: &mut [$t]) {
                    map_in_place(x, $f)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn v3(x: &mut [$t]) {
                    map_in_place(x, $f)
                }
                match level() {
                    // SAFETY: level() returns V4 only when AVX-512F, AVX2 and FMA are all detected at run time, the
                    // features v4 is compiled for; the slice is passed as it is.
                    Level::V4 => return unsafe { v4(x) },
                    // SAFETY: level() returns V3 only when AVX2 and FMA are detected, the features of v3.
                    Level::V3 => return unsafe { v3(x) },
                    Level::Baseline => {}
                }
            }
            map_in_place(x, $f)
        }
    };
}

dispatched!(f32: exp_into_f32, exp_in_place_f32, exp_f32);
dispatched!(f64: exp_into_f64, exp_in_place_f64, exp_f64);
dispatched!(f64: tanh_into_f64, tanh_in_place_f64, tanh_f64);
dispatched!(f64: sigmoid_into_f64, sigmoid_in_place_f64, sigmoid_f64);
dispatched!(f32: tanh_into_f32, tanh_in_place_f32, tanh_f32, avx512: avx512::tanh16);
dispatched!(f32: sigmoid_into_f32, sigmoid_in_place_f32, sigmoid_f32, avx512: avx512::sigmoid16);

/// tanh and sigmoid written with AVX-512 intrinsics: the exponential scaled by `vscalefps`
/// (which handles the exponent range itself) and reciprocals by `vrcp14ps` plus one Newton
/// step (about 2⁻²⁸ relative error) instead of a division, whose throughput on 512-bit
/// vectors bounds the plain versions. LLVM does not contract the plain versions' mul/add
/// pairs either; here every polynomial step is one FMA.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use std::arch::x86_64::*;

    /// `dst[i] = f(src[i])` for i < n, 16 lanes at a time; the tail through masked loads and
    /// stores. `src` may equal `dst` (in place).
    ///
    /// # Safety
    /// AVX-512F must be present, and both pointers valid for n elements.
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn map(src: *const f32, dst: *mut f32, n: usize, f: unsafe fn(__m512) -> __m512) {
        let mut i = 0;
        while i + 16 <= n {
            _mm512_storeu_ps(dst.add(i), f(_mm512_loadu_ps(src.add(i))));
            i += 16;
        }
        if i < n {
            let mask = ((1u32 << (n - i)) - 1) as u16;
            _mm512_mask_storeu_ps(dst.add(i), mask, f(_mm512_maskz_loadu_ps(mask, src.add(i))));
        }
    }

    /// e^a for a ≤ 0 (clamped below at −104, where e^a is below the smallest subnormal):
    /// Cephes' reduction a = n·ln2 + r and degree-6 polynomial, as `exp_f32`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn exp_nonpositive(a: __m512) -> __m512 {
        // vmaxps returns its second operand when either is NaN: NaN passes through.
        let a = _mm512_max_ps(_mm512_set1_ps(-104.0), a);
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm512_mul_ps(
            a,
            _mm512_set1_ps(std::f32::consts::LOG2_E),
        ));
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_359_4), a);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.121_944_4e-4), r);
        let mut p = _mm512_set1_ps(1.987_569_1e-4);
        for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1] {
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
        }
        let er = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0)));
        _mm512_scalef_ps(er, n)
    }

    /// 1/d for d in [1, 2]: the 14-bit estimate refined by one Newton step.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn recip(d: __m512) -> __m512 {
        let r = _mm512_rcp14_ps(d);
        _mm512_fmadd_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(1.0)), r)
    }

    /// 1/(1 + e^−x) through e = e^−|x| ∈ (0, 1]: 1/(1+e) for x ≥ 0, e/(1+e) below.
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn sigmoid16(x: __m512) -> __m512 {
        let e = exp_nonpositive(with_sign_bit(x, _mm512_set1_ps(-0.0)));
        let r = recip(_mm512_add_ps(e, _mm512_set1_ps(1.0)));
        let nonneg = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, _mm512_setzero_ps());
        _mm512_mask_blend_ps(nonneg, _mm512_mul_ps(e, r), r)
    }

    /// tanh as `tanh_f32`: odd polynomial for |x| < 0.625, else (1 − e)/(1 + e) with
    /// e = e^{−2|x|}; sign restored.
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn tanh16(x: __m512) -> __m512 {
        let a = _mm512_abs_ps(x);
        let s = _mm512_mul_ps(x, x);
        let mut p = _mm512_set1_ps(-5.704_988_7e-3);
        for c in [2.063_908_9e-2, -5.373_971_6e-2, 1.333_144_2e-1, -3.333_328_2e-1] {
            p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(c));
        }
        let small = _mm512_fmadd_ps(_mm512_mul_ps(p, s), a, a);
        let e = exp_nonpositive(_mm512_mul_ps(a, _mm512_set1_ps(-2.0)));
        let one = _mm512_set1_ps(1.0);
        let large = _mm512_mul_ps(_mm512_sub_ps(one, e), recip(_mm512_add_ps(one, e)));
        let is_small = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, _mm512_set1_ps(0.625));
        let y = _mm512_mask_blend_ps(is_small, large, small);
        with_sign_bit(y, x)
    }

    /// `y` with the sign bit of `s` set where it is set in `s` (y's own sign bit clear or
    /// already set). Integer ops: the float forms of and/or need AVX-512DQ.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn with_sign_bit(y: __m512, s: __m512) -> __m512 {
        let sign_of_s = _mm512_and_si512(_mm512_castps_si512(s), _mm512_set1_epi32(i32::MIN));
        _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y), sign_of_s))
    }
}

impl SliceMath for f32 {
    fn exp_into(src: &[f32], dst: &mut [f32]) {
        exp_into_f32(src, dst)
    }
    fn tanh_into(src: &[f32], dst: &mut [f32]) {
        tanh_into_f32(src, dst)
    }
    fn sigmoid_into(src: &[f32], dst: &mut [f32]) {
        sigmoid_into_f32(src, dst)
    }
    fn exp_in_place(x: &mut [f32]) {
        exp_in_place_f32(x)
    }
    fn tanh_in_place(x: &mut [f32]) {
        tanh_in_place_f32(x)
    }
    fn sigmoid_in_place(x: &mut [f32]) {
        sigmoid_in_place_f32(x)
    }
}

/// Defines a generic function (one type parameter, bound by a path) whose body is compiled
/// for AVX-512, for AVX2+FMA and for the baseline, the best one chosen at run time: for
/// fused elementwise loops that LLVM vectorises itself. The body sits in an
/// `#[inline(always)]` function so that it is compiled inside each `target_feature` wrapper;
/// slices passed as parameters keep their no-alias guarantee, which lets loops over several
/// of them vectorise without run-time overlap checks.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident<$t:ident: $bound:path>($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name<$t: $bound>($($arg: $ty),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn inner<$t: $bound>($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v4<$t: $bound>($($arg: $ty),*) {
                    inner($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v3<$t: $bound>($($arg: $ty),*) {
                    inner($($arg),*)
                }
                match $crate::kernels::vmath::level() {
                    // SAFETY: level() returns V4 only when AVX-512F, AVX2 and FMA are all detected at run time,
                    // the features v4 is compiled for.
                    $crate::kernels::vmath::Level::V4 => return unsafe { v4($($arg),*) },
                    // SAFETY: level() returns V3 only when AVX2 and FMA are detected, the features of v3.
                    $crate::kernels::vmath::Level::V3 => return unsafe { v3($($arg),*) },
                    $crate::kernels::vmath::Level::Baseline => {}
                }
            }
            inner($($arg),*)
        }
    };
}
pub(crate) use multiversion;

/// The widest SIMD level this processor offers (detected once).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Level {
    V4,
    V3,
    Baseline,
}

#[cfg(target_arch = "x86_64")]
pub fn level() -> Level {
    use std::sync::OnceLock;
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            Level::V4
        } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            Level::V3
        } else {
            Level::Baseline
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between an f32 and the f64 reference.
    fn ulps(got: f32, want: f64) -> f64 {
        if got as f64 == want {
            return 0.0;
        }
        let w = want as f32;
        let ulp = (f32::from_bits(w.abs().to_bits() + 1) - w.abs()) as f64;
        ((got as f64) - want).abs() / ulp
    }

    fn sweep() -> Vec<f32> {
        let mut xs: Vec<f32> = (-200_000..=200_000).map(|i| i as f32 * 1e-4).collect();
        xs.extend((-1000..=1000).map(|i| i as f32 * 0.11));
        xs.extend([0.0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 88.7, -87.0, -100.0, -103.9, 89.0, -105.0, 500.0, -500.0]);
        xs
    }

    fn check(name: &str, f: fn(&[f32], &mut [f32]), reference: fn(f64) -> f64, max_ulps: f64) {
        let xs = sweep();
        let mut ys = vec![0.0; xs.len()];
        f(&xs, &mut ys);
        let mut in_place = xs.clone();
        match name {
            "exp" => exp_in_place_f32(&mut in_place),
            "tanh" => tanh_in_place_f32(&mut in_place),
            _ => sigmoid_in_place_f32(&mut in_place),
        }
        for (i, (&x, &y)) in xs.iter().zip(&ys).enumerate() {
            let want = reference(x as f64);
            let wf = want as f32;
            // Below the normal range only absolute closeness is meaningful.
            if wf.abs() < f32::MIN_POSITIVE {
                assert!(
                    (y as f64 - want).abs() <= 2.0 * f32::MIN_POSITIVE as f64 * f32::EPSILON as f64 + 1e-45,
                    "{name}({x}) = {y}, want {want}"
                );
            } else if wf.is_infinite() {
                assert_eq!(y, wf, "{name}({x})");
            } else {
                let u = ulps(y, want);
                assert!(u <= max_ulps, "{name}({x}) = {y}, want {want} ({u} ulps)");
            }
            assert_eq!(y.to_bits(), in_place[i].to_bits(), "{name}: in-place and copying forms agree at {x}");
        }
        let mut nan = [f32::NAN];
        f(&[f32::NAN], &mut nan);
        assert!(nan[0].is_nan(), "{name}(NaN) is NaN");
    }

    #[test]
    fn exp_is_accurate() {
        check("exp", exp_into_f32, f64::exp, 2.0);
        let mut inf = [0.0f32; 2];
        exp_into_f32(&[f32::INFINITY, f32::NEG_INFINITY], &mut inf);
        assert_eq!(inf, [f32::INFINITY, 0.0]);
    }

    #[test]
    fn tanh_is_accurate() {
        check("tanh", tanh_into_f32, f64::tanh, 3.0);
        let mut s = [0.0f32; 2];
        tanh_into_f32(&[-0.0, f32::INFINITY], &mut s);
        assert!(s[0] == 0.0 && s[0].is_sign_negative());
        assert_eq!(s[1], 1.0);
    }

    #[test]
    fn sigmoid_is_accurate() {
        check("sigmoid", sigmoid_into_f32, |x| 1.0 / (1.0 + (-x).exp()), 3.0);
    }

    #[test]
    fn baseline_matches_dispatched() {
        let xs = sweep();
        // tanh and sigmoid have their own AVX-512 versions (checked against the f64 reference
        // above); exp is the same code at every level.
        for (f, g) in [(exp_f32 as fn(f32) -> f32, exp_into_f32 as fn(&[f32], &mut [f32]))] {
            let mut ys = vec![0.0; xs.len()];
            g(&xs, &mut ys);
            for (&x, &y) in xs.iter().zip(&ys) {
                let want = f(x);
                // FMA contraction is not applied (plain mul/add), so every level agrees bit for bit.
                assert!(want.to_bits() == y.to_bits() || (want.is_nan() && y.is_nan()), "{x}: {want} vs {y}");
            }
        }
    }

    /// Distance in units in the last place between two f64 (the reference from libm, itself
    /// within half an ulp).
    fn ulps64(got: f64, want: f64) -> f64 {
        if got == want {
            return 0.0;
        }
        let ulp = f64::from_bits(want.abs().to_bits() + 1) - want.abs();
        (got - want).abs() / ulp
    }

    #[test]
    fn float64_maps_are_accurate_and_agree_with_their_scalar_forms() {
        let mut xs: Vec<f64> = (-400_000..=400_000).map(|i| i as f64 * 2.5e-5 + 1e-9).collect();
        xs.extend((-2000..=2000).map(|i| i as f64 * 0.377));
        xs.extend([0.0, -0.0, 1e-300, -1e-300, 1e-10, 0.625, -0.625, 709.7, 709.8, -745.0, -745.2, -746.0, 1e4, -1e4]);
        type Case = (&'static str, fn(&[f64], &mut [f64]), fn(&mut [f64]), fn(f64) -> f64, fn(f64) -> f64, f64);
        let cases: [Case; 3] = [
            ("exp", exp_into_f64, exp_in_place_f64, exp_f64, f64::exp, 1.5),
            ("tanh", tanh_into_f64, tanh_in_place_f64, tanh_f64, f64::tanh, 2.5),
            (
                "sigmoid",
                sigmoid_into_f64,
                sigmoid_in_place_f64,
                sigmoid_f64,
                |x| if x >= 0.0 { 1.0 / (1.0 + (-x).exp()) } else { x.exp() / (1.0 + x.exp()) },
                3.0,
            ),
        ];
        for (name, into, in_place, scalar, reference, max_ulps) in cases {
            let mut ys = vec![0.0; xs.len()];
            into(&xs, &mut ys);
            let mut zs = xs.clone();
            in_place(&mut zs);
            for (i, &x) in xs.iter().enumerate() {
                let want = reference(x);
                let y = ys[i];
                if want.abs() < f64::MIN_POSITIVE {
                    assert!((y - want).abs() <= 4.0 * f64::MIN_POSITIVE * f64::EPSILON, "{name}({x}) = {y}, want {want}");
                } else if want.is_infinite() {
                    assert_eq!(y, want, "{name}({x})");
                } else {
                    let u = ulps64(y, want);
                    assert!(u <= max_ulps, "{name}({x}) = {y:e}, want {want:e} ({u} ulps)");
                }
                assert_eq!(y.to_bits(), zs[i].to_bits(), "{name}: in-place and copying forms agree at {x}");
                let s = scalar(x);
                assert!(y == s || (y - s).abs() <= 2.0 * f64::EPSILON * s.abs(), "{name}: the SIMD and scalar forms agree at {x}");
            }
            let mut nan = [f64::NAN];
            into(&[f64::NAN], &mut nan);
            assert!(nan[0].is_nan(), "{name}(NaN) is NaN");
        }
        assert_eq!(tanh_f64(-0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(exp_f64(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_f64(f64::INFINITY), f64::INFINITY);
    }
}
