//! Softmax and log-softmax along every kind of axis (last, middle, first; groups short and
//! long) against the formula in float64; NaN stays in its group, log-softmax is exact where
//! the probabilities underflow; float64 and bad axes are typed errors.
#![cfg(feature = "gpu")]

mod common;

use common::{assert_close, data, gpu};
use dlarray_gpu::kernels::softmax::softmax;
use dlarray_gpu::{GpuBuffer, GpuError};

fn reference(x: &[f32], shape: &[usize], axis: usize, log: bool) -> Vec<f32> {
    let (outer, n, inner) = (shape[..axis].iter().product::<usize>(), shape[axis], shape[axis + 1..].iter().product::<usize>());
    let mut out = vec![0.0f32; x.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * n + k) * inner + i;
            let m = (0..n).map(|k| x[at(k)] as f64).fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = (0..n).map(|k| (x[at(k)] as f64 - m).exp()).sum();
            for k in 0..n {
                let v = x[at(k)] as f64 - m;
                out[at(k)] = if log { v - s.ln() } else { v.exp() / s } as f32;
            }
        }
    }
    out
}

#[test]
fn softmax_and_log_softmax_match_the_formula_along_any_axis() {
    let Some(_) = gpu() else { return };
    // (shape, axis): the last axis, a middle one, the first; groups of 1, short and long (a
    // workgroup per group from 128), and more groups than one workgroup of threads.
    let cases: &[(&[usize], usize)] =
        &[(&[7, 10], 1), (&[3, 5, 4], 1), (&[6, 4], 0), (&[2, 300], 1), (&[300, 3], 0), (&[5, 1, 3], 1), (&[600, 2], 1), (&[2, 129, 3], 1)];
    for (seed, &(shape, axis)) in cases.iter().enumerate() {
        let n: usize = shape.iter().product();
        // Spread wide enough that an unshifted exponential would overflow.
        let x = data(n, seed as u64 + 1, -60.0, 120.0);
        let xb = GpuBuffer::from_f32(&x).unwrap();
        for log in [false, true] {
            let got = softmax(&xb, shape, axis, log).unwrap().to_f32_vec().unwrap();
            let want = reference(&x, shape, axis, log);
            let what = format!("shape {shape:?} axis {axis} log={log}");
            if log {
                assert_close(&got, &want, 1e-5, 1e-4, &what);
            } else {
                assert_close(&got, &want, 1e-4, 1e-7, &what);
            }
        }
    }
}

#[test]
fn nan_stays_in_its_group_and_log_softmax_is_exact_where_probabilities_underflow() {
    let Some(_) = gpu() else { return };
    let x = GpuBuffer::from_f32(&[0.0, 200.0]).unwrap();
    assert_eq!(softmax(&x, &[2], 0, true).unwrap().to_f32_vec().unwrap(), vec![-200.0, 0.0]);
    assert_eq!(softmax(&x, &[2], 0, false).unwrap().to_f32_vec().unwrap(), vec![0.0, 1.0]);
    // Columns of a (2, 2) array along axis 0: the NaN is in column 1 only.
    let y = softmax(&GpuBuffer::from_f32(&[1.0, f32::NAN, 2.0, 3.0]).unwrap(), &[2, 2], 0, false).unwrap().to_f32_vec().unwrap();
    assert!(y[1].is_nan() && y[3].is_nan(), "{y:?}");
    assert!((y[0] - 1.0 / (1.0 + 1.0f32.exp())).abs() < 1e-6, "{y:?}");
    // A long group (a workgroup's reduction) with a NaN in it.
    let mut long = data(200, 9, -1.0, 1.0);
    long[150] = f32::NAN;
    let z = softmax(&GpuBuffer::from_f32(&long).unwrap(), &[200], 0, true).unwrap().to_f32_vec().unwrap();
    assert!(z.iter().all(|v| v.is_nan()));
}

#[test]
fn float64_and_bad_axes_are_typed_errors() {
    let Some(g) = gpu() else { return };
    let x = GpuBuffer::from_f32(&[1.0; 6]).unwrap();
    assert!(matches!(softmax(&x, &[2, 3], 2, false), Err(GpuError::InvalidArgument(_))));
    assert!(matches!(softmax(&x, &[2, 2], 0, false), Err(GpuError::InvalidArgument(_))), "a shape that is not the buffer's");
    assert!(softmax(&GpuBuffer::from_f32(&[]).unwrap(), &[0, 3], 1, true).unwrap().is_empty());
    if g.info().shader_f64 {
        match softmax(&GpuBuffer::from_f64(&[1.0; 6]).unwrap(), &[2, 3], 1, false) {
            Err(GpuError::UnsupportedDType { dtype: "float64", op, .. }) => assert_eq!(op, "softmax"),
            other => panic!("expected UnsupportedDType, got {other:?}"),
        }
    }
}
