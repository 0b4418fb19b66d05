//! Shared by the GPU test binaries: the device (or a skip, or a failure under
//! `DLARRAY_REQUIRE_GPU=1`), deterministic data, and CPU references over strided views.
#![allow(dead_code)]

use dlarray_gpu::{Gpu, Layout};

/// The process's GPU. Without one the test is skipped, unless `DLARRAY_REQUIRE_GPU=1` (as CI
/// sets it), where a missing adapter fails the test.
pub fn gpu() -> Option<&'static Gpu> {
    match dlarray_gpu::context() {
        Ok(g) => Some(g),
        Err(e) => {
            if std::env::var("DLARRAY_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("DLARRAY_REQUIRE_GPU=1 but the GPU engine is unavailable: {e}");
            }
            eprintln!("skipped, no GPU: {e} (set DLARRAY_GPU_ADAPTER=any to use a CPU adapter such as lavapipe)");
            None
        }
    }
}

/// Deterministic values in [lo, hi).
pub fn data(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

/// The elements of a strided view, row-major.
pub fn gather<T: Copy>(buf: &[T], l: &Layout) -> Vec<T> {
    let n: usize = l.shape.iter().product();
    (0..n)
        .map(|lin| {
            let mut rem = lin;
            let mut off = l.offset as isize;
            for d in (0..l.shape.len()).rev() {
                off += (rem % l.shape[d]) as isize * l.strides[d];
                rem /= l.shape[d];
            }
            buf[off as usize]
        })
        .collect()
}

/// Asserts |got - want| <= atol + rtol |want| elementwise (NaNs must match NaNs, infinities
/// must match exactly).
pub fn assert_close(got: &[f32], want: &[f32], rtol: f32, atol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = if w.is_nan() {
            g.is_nan()
        } else if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= atol + rtol * w.abs()
        };
        assert!(ok, "{what}: element {i}: got {g}, want {w}");
    }
}
