//! A lost device and a wait past its time limit give typed errors, never a panic or a hang.
//! Its own process: the device is destroyed at the end.
#![cfg(feature = "gpu")]

mod common;

use std::time::Duration;

use common::{data, gpu};
use dlarray_gpu::kernels::elementwise::{unary, UnaryOp};
use dlarray_gpu::kernels::matmul::matmul;
use dlarray_gpu::kernels::Layout;
use dlarray_gpu::{GpuBuffer, GpuError};

#[test]
fn timeouts_then_device_loss_are_errors() {
    let Some(g) = gpu() else { return };
    // A readback that may not wait at all: a large product cannot be done in zero time.
    let n = 512;
    let a = GpuBuffer::from_f32(&data(n * n, 1, -1.0, 1.0)).unwrap();
    let l = Layout::contiguous(&[n, n]);
    let (mut c, _) = matmul(&a, &l, &a, &l).unwrap();
    for _ in 0..3 {
        c = matmul(&c, &l, &a, &l).unwrap().0;
    }
    g.set_wait_timeout(Duration::ZERO);
    match c.to_f32_vec() {
        Err(GpuError::Timeout { .. }) => {}
        other => panic!("expected Timeout, got {:?}", other.map(|v| v.len())),
    }
    // With time to wait the same buffer reads back, and the device goes on working.
    g.set_wait_timeout(Duration::from_secs(300));
    assert_eq!(c.to_f32_vec().unwrap().len(), n * n);
    assert_eq!(GpuBuffer::from_f32(&[2.0]).unwrap().to_f32_vec().unwrap(), vec![2.0]);

    let x = GpuBuffer::from_f32(&[1.0, 2.0, 3.0]).unwrap();
    let y = unary(UnaryOp::Neg, &x, &Layout::contiguous(&[3])).unwrap();
    g.destroy_device();
    let lost = |r: Result<(), GpuError>, what: &str| match r {
        Err(GpuError::DeviceLost(_)) => {}
        other => panic!("{what}: expected DeviceLost, got {other:?}"),
    };
    lost(y.to_f32_vec().map(drop), "readback");
    lost(GpuBuffer::from_f32(&data(4096, 2, 0.0, 1.0)).map(drop), "upload");
    lost(unary(UnaryOp::Exp, &x, &Layout::contiguous(&[3])).map(drop), "dispatch");
    lost(g.flush(), "flush");
}
