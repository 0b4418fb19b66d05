//! Batch normalisation in training mode against a float64 reference: the channel axis first,
//! in the middle and last; channels shorter and longer than a workgroup; more channels than
//! fit one grid row is left to the grid tests. Bad operands are typed errors.
#![cfg(feature = "gpu")]

mod common;

use common::{assert_close, data, gpu};
use dlarray_gpu::kernels::norm::batchnorm_train;
use dlarray_gpu::{GpuBuffer, GpuError};

type Reference = (Vec<f32>, Vec<f32>, Vec<f32>);

fn reference(x: &[f32], off: &[f32], sc: &[f32], (outer, c, inner): (usize, usize, usize), eps: f64) -> Reference {
    let mut y = vec![0.0f32; x.len()];
    let (mut means, mut vars) = (vec![0.0f32; c], vec![0.0f32; c]);
    let m = (outer * inner) as f64;
    for ch in 0..c {
        let at = |j: usize| ((j / inner) * c + ch) * inner + j % inner;
        let mean = (0..outer * inner).map(|j| x[at(j)] as f64).sum::<f64>() / m;
        let var = (0..outer * inner).map(|j| (x[at(j)] as f64 - mean).powi(2)).sum::<f64>() / m;
        for j in 0..outer * inner {
            y[at(j)] = (sc[ch] as f64 * (x[at(j)] as f64 - mean) / (var + eps).sqrt() + off[ch] as f64) as f32;
        }
        (means[ch], vars[ch]) = (mean as f32, var as f32);
    }
    (y, means, vars)
}

#[test]
fn batchnorm_train_matches_the_formula_for_any_channel_axis() {
    let Some(g) = gpu() else { return };
    // (outer, C, inner): channel axis first (outer 1), middle, last (inner 1); channels of
    // one element, short, and longer than a workgroup of threads.
    let cases = [(1, 3, 10), (4, 5, 6), (300, 2, 1), (2, 7, 1), (3, 1, 200), (1, 4, 1000), (5, 3, 1)];
    for (seed, &(outer, c, inner)) in cases.iter().enumerate() {
        let n = outer * c * inner;
        // An offset far from zero, where a one-pass variance would cancel.
        let x = data(n, seed as u64 + 1, 90.0, 110.0);
        let (off, sc) = (data(c, seed as u64 + 50, -1.0, 1.0), data(c, seed as u64 + 90, 0.5, 2.0));
        for eps in [1e-5, 0.1] {
            let (y, mean, var) = batchnorm_train(
                &GpuBuffer::from_f32(&x).unwrap(),
                &GpuBuffer::from_f32(&off).unwrap(),
                &GpuBuffer::from_f32(&sc).unwrap(),
                outer,
                c,
                inner,
                eps,
            )
            .unwrap();
            let (wy, wm, wv) = reference(&x, &off, &sc, (outer, c, inner), eps);
            let what = format!("({outer}, {c}, {inner}) eps {eps}");
            assert_close(&mean.to_f32_vec().unwrap(), &wm, 1e-5, 1e-5, &format!("mean {what}"));
            assert_close(&var.to_f32_vec().unwrap(), &wv, 1e-3, 1e-4, &format!("var {what}"));
            assert_close(&y.to_f32_vec().unwrap(), &wy, 1e-3, 2e-3, &format!("y {what}"));
        }
    }
    if g.info().shader_f64 {
        let (outer, c, inner) = (3, 4, 50);
        let x: Vec<f64> = data(outer * c * inner, 7, -2.0, 2.0).iter().map(|&v| v as f64).collect();
        let (off, sc) = (vec![0.5f64; c], vec![2.0f64; c]);
        let (y, ..) = batchnorm_train(
            &GpuBuffer::from_f64(&x).unwrap(),
            &GpuBuffer::from_f64(&off).unwrap(),
            &GpuBuffer::from_f64(&sc).unwrap(),
            outer,
            c,
            inner,
            1e-5,
        )
        .unwrap();
        let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let (wy, ..) = reference(&xf, &[0.5; 4], &[2.0; 4], (outer, c, inner), 1e-5);
        let got: Vec<f32> = y.to_f64_vec().unwrap().iter().map(|&v| v as f32).collect();
        assert_close(&got, &wy, 1e-5, 1e-5, "float64");
    }
}

#[test]
fn bad_operands_are_typed_errors() {
    let Some(_) = gpu() else { return };
    let x = GpuBuffer::from_f32(&[1.0; 6]).unwrap();
    let v2 = GpuBuffer::from_f32(&[1.0; 2]).unwrap();
    let v3 = GpuBuffer::from_f32(&[1.0; 3]).unwrap();
    assert!(matches!(batchnorm_train(&x, &v2, &v2, 1, 3, 2, 1e-5), Err(GpuError::InvalidArgument(_))), "offset of the wrong length");
    assert!(matches!(batchnorm_train(&x, &v3, &v3, 1, 3, 3, 1e-5), Err(GpuError::InvalidArgument(_))), "a shape that is not the buffer's");
    assert!(matches!(batchnorm_train(&x, &v3, &v3, 1, 3, 2, 0.0), Err(GpuError::InvalidArgument(_))), "epsilon zero");
    let empty = GpuBuffer::from_f32(&[]).unwrap();
    assert!(matches!(batchnorm_train(&empty, &v3, &v3, 0, 3, 2, 1e-5), Err(GpuError::InvalidArgument(_))), "empty channels");
    // A valid run last, read back so that no work is queued when the process exits.
    let (y, ..) = batchnorm_train(&x, &v3, &v3, 1, 3, 2, 1e-5).unwrap();
    assert_eq!(y.to_f32_vec().unwrap(), vec![1.0; 6]);
}
