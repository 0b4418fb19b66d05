//! Max and average pooling and their adjoints against direct CPU references over 1-D, 2-D and
//! 3-D windows with strides and padding: the same maxima as the CPU (first in row-major order,
//! NaN wins), both divisors of the average, float64 where the adapter has it.
#![cfg(feature = "gpu")]

mod common;

use common::{assert_close, data, gpu};
use dlarray_gpu::kernels::pool::{avg_backward, avg_forward, max_backward, max_forward, max_gather, PoolShape};
use dlarray_gpu::{GpuBuffer, GpuError};

fn shape(inner: usize, sp: &[usize], k: &[usize], stride: &[usize], pb: &[usize], pa: &[usize]) -> PoolShape {
    let three = |v: &[usize], fill: usize| {
        let mut out = [fill; 3];
        out[3 - v.len()..].copy_from_slice(v);
        out
    };
    let (in_sp, k, stride, pb, pa) = (three(sp, 1), three(k, 1), three(stride, 1), three(pb, 0), three(pa, 0));
    let out_sp = std::array::from_fn(|d| (in_sp[d] + pb[d] + pa[d] - k[d]) / stride[d] + 1);
    PoolShape { inner, in_sp, out_sp, k, stride, pad: pb }
}

/// Each output pixel's window of input pixels (clipped, row-major), as the CPU walks it.
fn windows(s: &PoolShape) -> Vec<Vec<usize>> {
    let out: usize = s.out_sp.iter().product();
    (0..out)
        .map(|p| {
            let oc = [p / (s.out_sp[1] * s.out_sp[2]), (p / s.out_sp[2]) % s.out_sp[1], p % s.out_sp[2]];
            let r: Vec<(usize, usize)> = (0..3)
                .map(|d| {
                    let start = (oc[d] * s.stride[d]) as isize - s.pad[d] as isize;
                    let end = (start + s.k[d] as isize).clamp(0, s.in_sp[d] as isize) as usize;
                    (start.max(0) as usize, end)
                })
                .collect();
            let mut v = Vec::new();
            for a in r[0].0..r[0].1 {
                for b in r[1].0..r[1].1 {
                    for c in r[2].0..r[2].1 {
                        v.push((a * s.in_sp[1] + b) * s.in_sp[2] + c);
                    }
                }
            }
            v
        })
        .collect()
}

fn argmaxes(x: &[f32], s: &PoolShape) -> Vec<usize> {
    let q = s.inner;
    let mut idx = Vec::new();
    for w in windows(s) {
        for c in 0..q {
            let best =
                w.iter().map(|&i| x[i * q + c]).fold(f32::NEG_INFINITY, |b, e| if b.is_nan() || e.is_nan() { f32::NAN } else { b.max(e) });
            let at = w.iter().find(|&&i| x[i * q + c] == best || (best.is_nan() && x[i * q + c].is_nan())).unwrap();
            idx.push(at * q + c);
        }
    }
    idx
}

fn avg_ref(x: &[f32], s: &PoolShape, count_pad: bool) -> Vec<f32> {
    let q = s.inner;
    let full: usize = s.k.iter().product();
    let mut y = Vec::new();
    for w in windows(s) {
        let div = if count_pad { full } else { w.len().max(1) } as f64;
        for c in 0..q {
            y.push((w.iter().map(|&i| x[i * q + c] as f64).sum::<f64>() / div) as f32);
        }
    }
    y
}

fn avg_back_ref(g: &[f32], s: &PoolShape, count_pad: bool) -> Vec<f32> {
    let q = s.inner;
    let full: usize = s.k.iter().product();
    let mut dx = vec![0.0f64; s.in_sp.iter().product::<usize>() * q];
    for (p, w) in windows(s).iter().enumerate() {
        let div = if count_pad { full } else { w.len().max(1) } as f64;
        for &i in w {
            for c in 0..q {
                dx[i * q + c] += g[p * q + c] as f64 / div;
            }
        }
    }
    dx.iter().map(|&v| v as f32).collect()
}

fn cases() -> Vec<PoolShape> {
    vec![
        shape(6, &[9], &[3], &[2], &[1], &[1]),
        shape(4, &[6, 6], &[2, 2], &[2, 2], &[0, 0], &[0, 0]),
        shape(3, &[7, 5], &[3, 3], &[1, 1], &[1, 1], &[1, 1]),
        shape(5, &[5, 7], &[3, 2], &[2, 3], &[2, 0], &[0, 1]),
        shape(2, &[4, 5, 3], &[2, 3, 2], &[1, 2, 1], &[1, 0, 1], &[0, 2, 1]),
        // One window over everything (global pooling), more threads than one workgroup.
        shape(300, &[3, 4], &[3, 4], &[1, 1], &[0, 0], &[0, 0]),
    ]
}

#[test]
fn pooling_and_its_adjoints_match_the_direct_sums_and_choose_the_cpus_maxima() {
    let Some(_) = gpu() else { return };
    for (seed, s) in cases().iter().enumerate() {
        let nx = s.in_sp.iter().product::<usize>() * s.inner;
        let ny = s.out_sp.iter().product::<usize>() * s.inner;
        // Values on a coarse grid, so that windows hold ties.
        let mut x: Vec<f32> = data(nx, seed as u64 + 1, -4.0, 4.0).iter().map(|v| v.round()).collect();
        x[nx / 2] = f32::NAN;
        let g = data(ny, seed as u64 + 2, -1.0, 1.0);
        let other = data(nx, seed as u64 + 3, -1.0, 1.0);
        let (xb, gb, ob) = (GpuBuffer::from_f32(&x).unwrap(), GpuBuffer::from_f32(&g).unwrap(), GpuBuffer::from_f32(&other).unwrap());
        let what = format!("{s:?}");
        let idx = argmaxes(&x, s);
        let y = max_forward(&xb, s).unwrap().to_f32_vec().unwrap();
        let want: Vec<f32> = idx.iter().map(|&i| x[i]).collect();
        assert_close(&y, &want, 0.0, 0.0, &format!("maxpool {what}"));
        let gathered = max_gather(&ob, &xb, s).unwrap().to_f32_vec().unwrap();
        assert_eq!(gathered, idx.iter().map(|&i| other[i]).collect::<Vec<_>>(), "gather {what}");
        let dx = max_backward(&gb, &xb, s).unwrap().to_f32_vec().unwrap();
        let mut dx_want = vec![0.0f32; nx];
        for (j, &i) in idx.iter().enumerate() {
            dx_want[i] += g[j];
        }
        assert_eq!(dx, dx_want, "maxpool backward {what}");
        for count_pad in [true, false] {
            let y = avg_forward(&xb, s, count_pad).unwrap().to_f32_vec().unwrap();
            assert_close(&y, &avg_ref(&x, s, count_pad), 1e-5, 1e-6, &format!("avgpool {what} {count_pad}"));
            let dx = avg_backward(&gb, s, count_pad).unwrap().to_f32_vec().unwrap();
            assert_close(&dx, &avg_back_ref(&g, s, count_pad), 1e-5, 1e-6, &format!("avgpool backward {what} {count_pad}"));
        }
    }
}

#[test]
fn float64_pooling_where_the_adapter_has_it_and_refusals_are_typed() {
    let Some(gpu) = gpu() else { return };
    let s = shape(3, &[5, 4], &[2, 2], &[1, 2], &[1, 0], &[0, 0]);
    let nx = s.in_sp.iter().product::<usize>() * s.inner;
    let x = GpuBuffer::from_f32(&data(nx, 9, -1.0, 1.0)).unwrap();
    // A window wholly in the padding has no maximum; a length that does not fit the shape.
    let pad = PoolShape { pad: [0, 2, 0], ..s.clone() };
    assert!(matches!(max_forward(&x, &pad), Err(GpuError::InvalidArgument(_))));
    assert!(matches!(avg_forward(&x, &PoolShape { inner: 4, ..s.clone() }, true), Err(GpuError::InvalidArgument(_))));
    if gpu.info().shader_f64 {
        let v: Vec<f64> = data(nx, 9, -1.0, 1.0).iter().map(|&v| v as f64 / 3.0).collect();
        let xb = GpuBuffer::from_f64(&v).unwrap();
        let y = avg_forward(&xb, &s, false).unwrap().to_f64_vec().unwrap();
        let want: Vec<f64> = windows(&s)
            .iter()
            .flat_map(|w| {
                let v = &v;
                (0..s.inner).map(move |c| w.iter().map(|&i| v[i * s.inner + c]).sum::<f64>() * (1.0 / w.len() as f64))
            })
            .collect();
        for (a, b) in y.iter().zip(&want) {
            assert!((a - b).abs() <= 1e-14, "{a} vs {b}");
        }
        let m = max_forward(&xb, &s).unwrap().to_f64_vec().unwrap();
        assert_eq!(m.len(), want.len());
    }
    assert_eq!(avg_forward(&x, &s, true).unwrap().to_f32_vec().unwrap().len(), s.out_sp.iter().product::<usize>() * 3);
}
