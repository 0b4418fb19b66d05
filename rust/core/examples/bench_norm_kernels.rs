//! Micro benchmark of the normalisation statistics and affine kernels and of sums:
//! `cargo run --profile dev-release -p dlarray-core --example bench_norm_kernels`.

use std::time::Instant;

use dlarray_core::kernels::norm::{channel_affine, channel_moments};
use dlarray_core::kernels::reduce::reduce_axis;

fn rand(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_add(0x9E3779B97F4A7C15);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Best wall time in ms of `reps` runs after a warm-up run.
fn time<R>(reps: usize, mut f: impl FnMut() -> R) -> f64 {
    std::hint::black_box(f());
    (0..reps)
        .map(|_| {
            let s = Instant::now();
            std::hint::black_box(f());
            s.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    for (outer, c, inner) in [(784, 32, 32), (1, 32, 25088), (4096, 16, 8)] {
        let x = rand(outer * c * inner, 1);
        let (mean, _) = channel_moments(&x, outer, c, inner);
        let coef = vec![(1.0, 0.5, 0.0); c];
        let tm = time(200, || channel_moments(&x, outer, c, inner));
        let ta = time(200, || channel_affine(&x, None, &coef, &mean, c, inner));
        println!("(outer {outer}, C {c}, inner {inner}): moments {tm:.3} ms, affine {ta:.3} ms");
    }
    for (outer, n, inner) in [(1, 10_000_000, 1), (1000, 1000, 1), (1, 1000, 1000), (64, 16, 4096), (1, 100_000, 10)] {
        let x = rand(outer * n * inner, 2);
        let t = time(30, || reduce_axis(&x, outer, n, inner, 0.0f32, |a, b| a + b));
        println!("sum (outer {outer}, n {n}, inner {inner}): {t:.3} ms");
    }
}
