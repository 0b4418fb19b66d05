//! float64 where the adapter has `shader-f64`; a typed error naming the adapter otherwise, and
//! for the ops whose builtins have no 64-bit form.
#![cfg(feature = "gpu")]

mod common;

use common::gpu;
use dlarray_gpu::kernels::elementwise::{binary, unary, BinaryOp, UnaryOp};
use dlarray_gpu::kernels::matmul::matmul;
use dlarray_gpu::kernels::reduce::{reduce, ReduceOp};
use dlarray_gpu::kernels::Layout;
use dlarray_gpu::{GpuBuffer, GpuError};

#[test]
fn float64_runs_at_double_precision_or_is_refused_by_name() {
    let Some(g) = gpu() else { return };
    let x: Vec<f64> = (0..300).map(|i| 1.0 + i as f64 * 1e-9).collect();
    if !g.info().shader_f64 {
        match GpuBuffer::from_f64(&x) {
            Err(GpuError::UnsupportedDType { adapter, .. }) => assert_eq!(adapter, g.info().name),
            other => panic!("expected UnsupportedDType, got {other:?}"),
        }
        return;
    }
    let xb = GpuBuffer::from_f64(&x).unwrap();
    assert_eq!(xb.to_f64_vec().unwrap(), x);
    assert!(xb.to_f32_vec().is_err());
    let l = Layout::contiguous(&[300]);
    // Differences of 1e-9 survive only in double precision.
    let (d, _) = binary(BinaryOp::Sub, &xb, &l, &GpuBuffer::from_f64(&[1.0]).unwrap(), &Layout::contiguous(&[1])).unwrap();
    let d = d.to_f64_vec().unwrap();
    for (i, v) in d.iter().enumerate() {
        assert!((v - i as f64 * 1e-9).abs() < 1e-15, "element {i}: {v}");
    }
    let s = reduce(ReduceOp::Sum, &xb, &l, &[0]).unwrap().0.to_f64_vec().unwrap();
    let want: f64 = x.iter().sum();
    assert!((s[0] - want).abs() < 1e-10, "{} vs {want}", s[0]);
    let sq = unary(UnaryOp::Sqrt, &xb, &l).unwrap().to_f64_vec().unwrap();
    assert!((sq[299] - x[299].sqrt()).abs() < 1e-15);

    let a: Vec<f64> = (0..12).map(|i| i as f64 / 3.0).collect();
    let ab = GpuBuffer::from_f64(&a).unwrap();
    let (c, shape) = matmul(&ab, &Layout::contiguous(&[3, 4]), &ab, &Layout::contiguous(&[4, 3])).unwrap();
    assert_eq!(shape, vec![3, 3]);
    let c = c.to_f64_vec().unwrap();
    for i in 0..3 {
        for j in 0..3 {
            let want: f64 = (0..4).map(|q| a[i * 4 + q] * a[q * 3 + j]).sum();
            assert!((c[i * 3 + j] - want).abs() < 1e-13);
        }
    }

    match unary(UnaryOp::Exp, &xb, &l) {
        Err(GpuError::UnsupportedDType { dtype: "float64", op, adapter }) => {
            assert_eq!(op, "exp");
            assert_eq!(adapter, g.info().name);
        }
        other => panic!("expected UnsupportedDType for exp, got {other:?}"),
    }
    let f = GpuBuffer::from_f32(&[1.0]).unwrap();
    assert!(matches!(binary(BinaryOp::Add, &xb, &l, &f, &Layout::contiguous(&[1])), Err(GpuError::InvalidArgument(_))));
}
