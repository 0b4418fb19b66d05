//! Throughput of the GPU engine: float32 GEMM in GFLOP/s and elementwise `add` in GB/s.
//!
//!     cargo run --release -p dlarray-gpu --features gpu --example gemm_bench [N ...]
//!
//! Sizes default to 1024, and also 4096 on a real GPU. On a CPU adapter (Mesa's lavapipe, with
//! `DLARRAY_GPU_ADAPTER=any`) the numbers only show that the path runs.

use std::time::{Duration, Instant};

use dlarray_gpu::kernels::elementwise::{binary, BinaryOp};
use dlarray_gpu::kernels::matmul::matmul;
use dlarray_gpu::kernels::Layout;
use dlarray_gpu::{context, GpuBuffer, GpuError};

/// Repeats `f` (which records work) until at least `budget` has passed, at least `min_reps`
/// times, synchronising once at the end; returns the mean time per repetition.
fn time_it(mut f: impl FnMut() -> Result<(), GpuError>, min_reps: u32, budget: Duration) -> Result<Duration, GpuError> {
    let gpu = context()?;
    f()?;
    gpu.synchronize()?;
    let start = Instant::now();
    let mut reps = 0u32;
    while reps < min_reps || start.elapsed() < budget {
        f()?;
        reps += 1;
        if reps.is_multiple_of(8) {
            gpu.synchronize()?;
        }
    }
    gpu.synchronize()?;
    Ok(start.elapsed() / reps)
}

fn main() -> Result<(), GpuError> {
    let gpu = context()?;
    gpu.set_wait_timeout(Duration::from_secs(600));
    let info = gpu.info();
    println!("adapter: {} ({}, {}), driver {}", info.name, info.backend, info.device_type, info.driver);
    let cpu_adapter = info.device_type == "cpu";
    let mut sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes.push(1024);
        if !cpu_adapter {
            sizes.push(4096);
        }
    }
    let budget = Duration::from_secs(if cpu_adapter { 5 } else { 2 });

    for &n in &sizes {
        let a = GpuBuffer::from_f32(&vec![0.5; n * n])?;
        let b = GpuBuffer::from_f32(&vec![0.25; n * n])?;
        let l = Layout::contiguous(&[n, n]);
        // Spot check before timing: every entry of A @ B is n / 8.
        let (c, _) = matmul(&a, &l, &b, &l)?;
        let c = c.to_f32_vec()?;
        assert!((c[n * n - 1] - n as f32 / 8.0).abs() < 1e-3 * n as f32, "matmul gave {}", c[n * n - 1]);
        let t = time_it(|| matmul(&a, &l, &b, &l).map(drop), 2, budget)?;
        let gflops = 2.0 * (n as f64).powi(3) / t.as_secs_f64() / 1e9;
        println!("gemm f32 n={n}: {:.3} ms, {gflops:.2} GFLOP/s", t.as_secs_f64() * 1e3);
    }

    // 2^20 floats (4 MiB) per operand, and 2^24 (64 MiB): past every cache, within every
    // binding limit.
    for log2 in [20, 24] {
        let n = 1usize << log2;
        let x = GpuBuffer::from_f32(&vec![1.0; n])?;
        let y = GpuBuffer::from_f32(&vec![2.0; n])?;
        let l = Layout::contiguous(&[n]);
        let t = time_it(|| binary(BinaryOp::Add, &x, &l, &y, &l).map(drop), 4, budget)?;
        let bytes = 3.0 * (n * 4) as f64;
        println!("add f32 n=2^{log2}: {:.3} ms, {:.2} GB/s (two reads and a write)", t.as_secs_f64() * 1e3, bytes / t.as_secs_f64() / 1e9);
    }
    let s = gpu.stats();
    println!(
        "submits {}, dispatches {}, buffers created {}, reused {}, pipelines {}",
        s.batch.submits, s.batch.dispatches, s.pool.allocations, s.pool.reuses, s.pipelines_compiled
    );
    Ok(())
}
