//! Single-thread speed of the packed-weights product at the LSTM step shapes (minimum over
//! repetitions, which is the steadiest figure on a shared machine).
//!
//!     cargo run --release -p dlarray-core --example bench_packed

use dlarray_core::kernels::gemm::{matmul_to, Strided};
use dlarray_core::kernels::packed_gemm::PackedLhs;
use std::time::Instant;

/// Reused buffers, as in the extension module.
#[global_allocator]
static ALLOCATOR: dlarray_core::memory::BlockCache = dlarray_core::memory::BlockCache::new();

fn best_of(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    // As the Python extension does at load.
    pack_time();
    for (m, k, n) in [(64usize, 145usize, 32usize), (256, 145, 32), (64, 512, 32), (64, 32, 145), (512, 128, 32)] {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let mut c = vec![0f32; m * n];
        let packed = PackedLhs::new(Strided::row_major(&a, k, false), m, k);
        let reps = 20;
        let inner = 200;
        let flop = 2.0 * (m * n * k) as f64 * inner as f64;
        let t_packed = best_of(reps, || {
            for _ in 0..inner {
                packed.matmul_rows(0..m, &mut c, n, false, &b, n, n);
            }
        });
        let t_gemm = best_of(reps, || {
            for _ in 0..inner {
                matmul_to(&mut c, n, 1, false, Strided::row_major(&a, k, false), Strided::row_major(&b, n, false), m, n, k, false);
            }
        });
        println!("m {m:4} k {k:4} n {n:4}: packed {:6.1} GFLOP/s, gemm crate {:6.1} GFLOP/s", flop / t_packed / 1e9, flop / t_gemm / 1e9);
    }
}

/// Packing the LSTM's four gate weight blocks, against a plain copy of the same data.
fn pack_time() {
    let (m, k) = (128usize, 145usize);
    let a: Vec<f32> = (0..4 * m * k).map(|i| (i % 7) as f32).collect();
    let t = best_of(50, || {
        let p: [PackedLhs<f32>; 4] = std::array::from_fn(|gi| PackedLhs::new(Strided::row_major(&a[gi * m * k..], k, false), m, k));
        std::hint::black_box(&p);
    });
    let tc = best_of(50, || {
        std::hint::black_box(a.clone());
    });
    println!("packing 4 × {m}×{k}: {:.1} µs (copying the same: {:.1} µs)", t * 1e6, tc * 1e6);
}
