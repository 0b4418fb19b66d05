//! What an optimizer step costs on the device: one dispatch per parameter, no upload, no
//! readback and no submit (the step is recorded into the current batch), and after the first
//! step no new buffer. One test in its own process, so the counters see only its work.
#![cfg(feature = "gpu")]

mod common;

use common::{data, gpu};
use dlarray_gpu::kernels::optim::{step, OptimRule};
use dlarray_gpu::GpuBuffer;

#[test]
fn an_adam_step_is_one_dispatch_per_parameter_and_never_reads_back() {
    let Some(g) = gpu() else { return };
    let sizes = [3000, 17, 256];
    let mut params: Vec<GpuBuffer> = sizes.iter().map(|&n| GpuBuffer::from_f32(&data(n, 1, -1.0, 1.0)).unwrap()).collect();
    let grads: Vec<GpuBuffer> = sizes.iter().map(|&n| GpuBuffer::from_f32(&data(n, 2, -1.0, 1.0)).unwrap()).collect();
    let k = [0.9, 0.1, 0.999, 0.001, 1e-8, 1e-3];
    let mut states: Vec<Vec<GpuBuffer>> = Vec::new();
    let run_step = |params: &mut Vec<GpuBuffer>, states: &mut Vec<Vec<GpuBuffer>>| {
        let mut next = (Vec::new(), Vec::new());
        for (i, p) in params.iter().enumerate() {
            let s: Vec<Option<&GpuBuffer>> = match states.get(i) {
                Some(s) => s.iter().map(Some).collect(),
                None => vec![None, None],
            };
            let (np, ns) = step(OptimRule::Adam, &k, p, &grads[i], &s).unwrap();
            next.0.push(np);
            next.1.push(ns);
        }
        (*params, *states) = next;
    };
    // Warm-up: compiles both variants (zero and given states) and fills the pool.
    run_step(&mut params, &mut states);
    run_step(&mut params, &mut states);
    g.synchronize().unwrap();
    let before = g.stats();
    for _ in 0..5 {
        run_step(&mut params, &mut states);
    }
    let after = g.stats();
    assert_eq!(after.batch.dispatches - before.batch.dispatches, 5 * sizes.len() as u64, "one dispatch per parameter and step");
    assert_eq!(after.batch.readbacks, before.batch.readbacks, "no readback");
    assert_eq!(after.batch.uploads, before.batch.uploads, "no upload");
    assert_eq!(after.batch.submits, before.batch.submits, "15 dispatches fit one batch: recorded, not submitted");
    assert_eq!(after.pool.allocations, before.pool.allocations, "the previous generation's buffers are reused");
    assert_eq!(after.pipelines_compiled, before.pipelines_compiled);
    // The values are there once read.
    assert!(params[0].to_f32_vec().unwrap().iter().all(|v| v.is_finite()));
    assert_eq!(g.stats().batch.readbacks, before.batch.readbacks + 1);
}
