//! Submission batching and the pipeline cache: dispatches share a submit until a readback or
//! the batch limit, and each kernel variant compiles once. One test in its own process, so
//! the counters see only its work.
#![cfg(feature = "gpu")]

mod common;

use common::gpu;
use dlarray_gpu::kernels::elementwise::{unary, UnaryOp};
use dlarray_gpu::kernels::Layout;
use dlarray_gpu::{GpuBuffer, MAX_DISPATCHES};

#[test]
fn dispatches_are_submitted_in_batches_and_pipelines_compiled_once() {
    let Some(g) = gpu() else { return };
    let l = Layout::contiguous(&[513]);
    let x = GpuBuffer::from_f32(&vec![1.0; 513]).unwrap();
    // Warm-up: compiles the kernel and flushes the upload.
    let _ = unary(UnaryOp::Neg, &x, &l).unwrap().to_f32_vec().unwrap();
    let s0 = g.stats();

    // A chain of 10 ops then one readback: one submit.
    let mut y = unary(UnaryOp::Neg, &x, &l).unwrap();
    for _ in 0..9 {
        y = unary(UnaryOp::Neg, &y, &l).unwrap();
    }
    let s1 = g.stats();
    assert_eq!(s1.batch.submits, s0.batch.submits, "recording does not submit");
    assert_eq!(s1.batch.dispatches - s0.batch.dispatches, 10);
    assert_eq!(y.to_f32_vec().unwrap(), vec![1.0; 513], "ten negations");
    let s2 = g.stats();
    assert_eq!(s2.batch.submits - s1.batch.submits, 1, "one readback, one submit");
    assert_eq!(s2.pipelines_compiled, s0.pipelines_compiled, "the cached pipeline is reused");

    // 3 * MAX_DISPATCHES + 5 dispatches: a submit each time the batch fills, one at the readback.
    let mut z = unary(UnaryOp::Neg, &x, &l).unwrap();
    for _ in 1..3 * MAX_DISPATCHES + 5 {
        z = unary(UnaryOp::Neg, &z, &l).unwrap();
    }
    assert_eq!(g.stats().batch.submits - s2.batch.submits, 3);
    assert_eq!(z.to_f32_vec().unwrap(), vec![-1.0; 513], "an odd number of negations");
    assert_eq!(g.stats().batch.submits - s2.batch.submits, 4);

    // The strided variant is another pipeline, compiled once however often it runs.
    let t = Layout::contiguous(&[27, 19]).permuted(&[1, 0]).unwrap();
    let w = GpuBuffer::from_f32(&vec![2.0; 27 * 19]).unwrap();
    let before = g.stats().pipelines_compiled;
    for _ in 0..5 {
        let _ = unary(UnaryOp::Neg, &w, &t).unwrap();
    }
    assert_eq!(g.stats().pipelines_compiled, before + 1);
    // Waits for the work still queued: a process that exits while lavapipe runs it crashes in
    // the driver's teardown.
    g.synchronize().unwrap();
}
