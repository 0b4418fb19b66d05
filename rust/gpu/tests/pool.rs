//! The buffer pool in steady state: the same sizes allocated and freed 10,000 times create
//! no buffer after the first round. One test in its own process, so no other test's buffers
//! move the counters.
#![cfg(feature = "gpu")]

mod common;

use common::gpu;
use dlarray_gpu::kernels::elementwise::{binary, BinaryOp};
use dlarray_gpu::kernels::Layout;
use dlarray_gpu::{DType, GpuBuffer};

#[test]
fn ten_thousand_alloc_free_cycles_do_not_grow_the_pool() {
    let Some(g) = gpu() else { return };
    let sizes = [1usize, 100, 1000, 4096, 70_000];
    let round = || {
        let bufs: Vec<GpuBuffer> = sizes.iter().map(|&n| GpuBuffer::zeros(DType::F32, n).unwrap()).collect();
        drop(bufs);
    };
    round();
    let warm = g.stats().pool;
    assert_eq!(warm.live_bytes, 0, "every buffer of the round was returned");
    for _ in 0..10_000 {
        round();
    }
    g.flush().unwrap();
    let after = g.stats().pool;
    assert_eq!(after.allocations, warm.allocations, "no buffer created after the first round");
    assert_eq!(after.reuses - warm.reuses, 10_000 * sizes.len() as u64);
    assert_eq!(after.pooled_bytes, warm.pooled_bytes);
    assert_eq!(after.live_bytes, 0);

    // Sizes within one power-of-two bucket share buffers: 300 and 500 floats both take 2 KiB.
    let a = GpuBuffer::zeros(DType::F32, 300).unwrap();
    drop(a);
    let before = g.stats().pool.allocations;
    let b = GpuBuffer::zeros(DType::F32, 500).unwrap();
    assert_eq!(g.stats().pool.allocations, before);
    assert_eq!(g.stats().pool.live_bytes, 2048);
    drop(b);

    // A steady loop of ops (inputs uploaded, a result produced and read back) also stops
    // allocating after its first iteration.
    let l = Layout::contiguous(&[1000]);
    let step = || {
        let x = GpuBuffer::from_f32(&[1.5; 1000]).unwrap();
        let (y, _) = binary(BinaryOp::Mul, &x, &l, &x, &l).unwrap();
        assert_eq!(y.to_f32_vec().unwrap()[999], 2.25);
    };
    step();
    let steady = g.stats().pool.allocations;
    for _ in 0..100 {
        step();
    }
    assert_eq!(g.stats().pool.allocations, steady);

    g.trim_pool();
    assert_eq!(g.stats().pool.pooled_bytes, 0);
}
