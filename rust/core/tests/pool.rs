//! Pooling: values against direct loops written here, gradients against central finite
//! differences, first and second order.

mod common;

use std::sync::Arc;

use common::*;
use dlarray_core::{DType, Error, Tensor};

/// Reference pooling: (max values, argmax flat indices, averages with padding counted,
/// averages over covered elements).
type PoolRef = (Vec<f64>, Vec<usize>, Vec<f64>, Vec<f64>, Vec<usize>);

fn naive_pool(x: &[f64], xs: &[usize], k: &[usize], st: &[usize], pb: &[usize], pa: &[usize]) -> PoolRef {
    let d = xs.len() - 2;
    let (k, st, pb, pa) = (per_dim(k, d, 1), per_dim(st, d, 1), per_dim(pb, d, 0), per_dim(pa, d, 0));
    let mut ys: Vec<usize> = (0..d).map(|i| out_len(xs[i], k[i], st[i], 1, pb[i], pa[i])).collect();
    ys.extend_from_slice(&xs[d..]);
    let (mut mx, mut arg, mut avg_in, mut avg_ex) = (vec![], vec![], vec![], vec![]);
    for o in multi(&ys[..d]) {
        for cn in multi(&xs[d..]) {
            let (mut best, mut best_i, mut sum, mut cnt) = (f64::NEG_INFINITY, usize::MAX, 0.0, 0usize);
            for kk in multi(&k) {
                let q: Vec<isize> = (0..d).map(|j| (o[j] * st[j] + kk[j]) as isize - pb[j] as isize).collect();
                if q.iter().enumerate().all(|(j, &v)| v >= 0 && (v as usize) < xs[j]) {
                    let q: Vec<usize> = q.iter().map(|&v| v as usize).collect();
                    let fi = flat(xs, &cat(&q, &cn));
                    if x[fi] > best {
                        best = x[fi];
                        best_i = fi;
                    }
                    sum += x[fi];
                    cnt += 1;
                }
            }
            mx.push(best);
            arg.push(best_i);
            avg_in.push(sum / numel(&k) as f64);
            avg_ex.push(sum / cnt.max(1) as f64);
        }
    }
    (mx, arg, avg_in, avg_ex, ys)
}

// ----- pooling -------------------------------------------------------------------------------

struct PoolCase {
    xs: Vec<usize>,
    k: Vec<usize>,
    st: Vec<usize>,
    pb: Vec<usize>,
    pa: Vec<usize>,
}

fn pool_cases() -> Vec<PoolCase> {
    vec![
        PoolCase { xs: vec![6, 7, 3, 2], k: vec![2, 2], st: vec![2, 2], pb: vec![0, 0], pa: vec![0, 0] },
        PoolCase { xs: vec![5, 6, 2, 2], k: vec![3, 2], st: vec![1, 2], pb: vec![1, 0], pa: vec![2, 1] },
        PoolCase { xs: vec![7, 2, 1], k: vec![3], st: vec![2], pb: vec![2], pa: vec![1] },
        PoolCase { xs: vec![4, 5, 3, 1, 2], k: vec![2, 3, 2], st: vec![1, 2, 1], pb: vec![1, 1, 0], pa: vec![0, 1, 1] },
        PoolCase { xs: vec![5, 5, 2, 1], k: vec![3], st: vec![], pb: vec![1], pa: vec![1] },
        // Large enough for the parallel path.
        PoolCase { xs: vec![30, 30, 8, 4], k: vec![3], st: vec![2], pb: vec![1], pa: vec![1] },
    ]
}

#[test]
fn pool_values_match_direct_loops() {
    for (i, c) in pool_cases().iter().enumerate() {
        let x = rand_vec(numel(&c.xs), 30 + i as u64);
        let (mx, arg, avg_in, avg_ex, ys) = naive_pool(&x, &c.xs, &c.k, &c.st, &c.pb, &c.pa);
        for xt in [t64(&x, &c.xs), t32(&x, &c.xs)] {
            let tol = if xt.dtype() == DType::F32 { 1e-6 } else { 1e-14 };
            let (y, idx) = xt.maxpool(&c.k, &c.st, &c.pb, &c.pa).unwrap();
            assert_eq!(y.shape(), ys.as_slice(), "pool case {i}");
            assert_eq!(y.dtype(), xt.dtype());
            assert_close(&y.to_f64_vec().unwrap(), &mx, tol, &format!("maxpool case {i}"));
            assert_eq!(idx.as_slice(), arg.as_slice(), "argmax case {i}");
            let a = xt.avgpool(&c.k, &c.st, &c.pb, &c.pa, true).unwrap();
            assert_eq!(a.shape(), ys.as_slice());
            assert_close(&a.to_f64_vec().unwrap(), &avg_in, tol, &format!("avgpool (padding counted) case {i}"));
            let a = xt.avgpool(&c.k, &c.st, &c.pb, &c.pa, false).unwrap();
            assert_close(&a.to_f64_vec().unwrap(), &avg_ex, tol, &format!("avgpool (padding excluded) case {i}"));
            // maxunpool puts each maximum back where it came from.
            let u = y.maxunpool(idx.clone(), &c.xs).unwrap();
            assert_eq!(u.shape(), c.xs.as_slice());
            let mut expect = vec![0.0; numel(&c.xs)];
            for (&j, &v) in arg.iter().zip(&mx) {
                expect[j] += v;
            }
            assert_close(&u.to_f64_vec().unwrap(), &expect, tol, &format!("maxunpool case {i}"));
        }
    }
}

#[test]
fn maxpool_padding_never_wins_and_nan_propagates() {
    let x = t64(&[-5.0, -4.0, -3.0, f64::NAN, -1.0, -2.0], &[6, 1, 1]);
    let (y, idx) = x.maxpool(&[2], &[2], &[1], &[1]).unwrap();
    let v = y.to_f64_vec().unwrap();
    assert_eq!(v[0], -5.0);
    assert_eq!(idx[0], 0);
    assert_eq!((v[1], idx[1]), (-3.0, 2));
    assert!(v[2].is_nan() && idx[2] == 3);
    assert_eq!((v[3], idx[3]), (-2.0, 5));
    // 2-D: the first NaN and the first of tied maxima in row-major order win.
    let cases: [([f64; 4], usize); 4] =
        [([1.0, 2.0, f64::NAN, 3.0], 2), ([5.0; 4], 0), ([1.0, 5.0, 5.0, 2.0], 1), ([f64::NAN, 1.0, f64::NAN, 9.0], 0)];
    for (vals, want) in cases {
        let (y, idx) = t64(&vals, &[2, 2, 1, 1]).maxpool(&[2], &[2], &[], &[]).unwrap();
        assert_eq!(idx[0], want, "{vals:?}");
        assert_eq!(y.to_f64_vec().unwrap()[0].is_nan(), vals[want].is_nan());
    }
}

#[test]
fn pool_gradients_first_and_second_order() {
    for (i, c) in pool_cases().iter().take(5).enumerate() {
        let (_, _, _, _, ys) = naive_pool(&rand_vec(numel(&c.xs), 0), &c.xs, &c.k, &c.st, &c.pb, &c.pa);
        let r = rand_vec(numel(&ys), 77);
        let inputs = vec![(rand_vec(numel(&c.xs), 60 + i as u64), c.xs.clone())];
        let (k, st, pb, pa) = (c.k.clone(), c.st.clone(), c.pb.clone(), c.pa.clone());
        let (r1, ys1) = (r.clone(), ys.clone());
        let fmax = move |t: &[Tensor]| {
            let (y, _) = t[0].maxpool(&k, &st, &pb, &pa)?;
            y.mul(&y)?.mul(&t64(&r1, &ys1))?.sum_all()
        };
        check_grad(&fmax, &inputs, 1, &format!("maxpool case {i}"));
        check_grad(&fmax, &inputs, 2, &format!("maxpool case {i}"));
        for count in [true, false] {
            let (k, st, pb, pa) = (c.k.clone(), c.st.clone(), c.pb.clone(), c.pa.clone());
            let (r1, ys1) = (r.clone(), ys.clone());
            let favg = move |t: &[Tensor]| {
                let y = t[0].avgpool(&k, &st, &pb, &pa, count)?;
                y.mul(&y)?.mul(&t64(&r1, &ys1))?.sum_all()
            };
            check_grad(&favg, &inputs, 1, &format!("avgpool({count}) case {i}"));
            check_grad(&favg, &inputs, 2, &format!("avgpool({count}) case {i}"));
        }
    }
    // Third order through avgpool → avgpool_backward → avgpool.
    let c = &pool_cases()[1];
    let (_, _, _, _, ys) = naive_pool(&rand_vec(numel(&c.xs), 0), &c.xs, &c.k, &c.st, &c.pb, &c.pa);
    let r = rand_vec(numel(&ys), 78);
    let (k, st, pb, pa) = (c.k.clone(), c.st.clone(), c.pb.clone(), c.pa.clone());
    let favg = move |t: &[Tensor]| {
        let y = t[0].avgpool(&k, &st, &pb, &pa, true)?;
        y.mul(&y)?.mul(&y)?.mul(&t64(&r, &ys))?.sum_all()
    };
    check_grad(&favg, &vec![(rand_vec(numel(&c.xs), 61), c.xs.clone())], 3, "avgpool third order");
}

#[test]
fn avgpool_backward_is_the_adjoint() {
    let c = &pool_cases()[3];
    let x = rand_vec(numel(&c.xs), 5);
    let (_, _, _, _, ys) = naive_pool(&x, &c.xs, &c.k, &c.st, &c.pb, &c.pa);
    let g = rand_vec(numel(&ys), 6);
    for count in [true, false] {
        let y = t64(&x, &c.xs).avgpool(&c.k, &c.st, &c.pb, &c.pa, count).unwrap().to_f64_vec().unwrap();
        let dx = t64(&g, &ys).avgpool_backward(&c.xs, &c.k, &c.st, &c.pb, &c.pa, count).unwrap().to_f64_vec().unwrap();
        let lhs: f64 = y.iter().zip(&g).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-12, "{lhs} vs {rhs}");
    }
}

#[test]
fn pool_errors() {
    let x = Tensor::zeros(&[4, 4, 2, 1], DType::F64);
    assert!(matches!(x.maxpool(&[5], &[1], &[], &[]), Err(Error::Shape { .. })));
    assert!(x.maxpool(&[5], &[1], &[1], &[0]).is_ok());
    assert!(matches!(x.maxpool(&[2], &[1], &[2], &[0]), Err(Error::Value { .. })));
    assert!(matches!(x.maxpool(&[2], &[0], &[], &[]), Err(Error::Value { .. })));
    assert!(matches!(x.maxpool(&[], &[1], &[], &[]), Err(Error::Value { .. })));
    assert!(matches!(x.avgpool(&[2, 2, 2], &[1], &[], &[], true), Err(Error::Value { .. })));
    assert!(matches!(Tensor::zeros(&[4, 4], DType::F64).avgpool(&[2], &[1], &[], &[], true), Err(Error::Shape { .. })));
    let z = Tensor::complex(&x, &x).unwrap();
    assert!(matches!(z.maxpool(&[2], &[2], &[], &[]), Err(Error::DType { .. })));
    assert!(matches!(z.avgpool(&[2], &[2], &[], &[], true), Err(Error::DType { .. })));
    let (y, idx) = x.maxpool(&[2], &[2], &[], &[]).unwrap();
    assert!(matches!(y.maxunpool(Arc::new(vec![0; 3]), &[4, 4, 2, 1]), Err(Error::Shape { .. })));
    assert!(matches!(y.maxunpool(idx, &[2, 2, 2, 1]), Err(Error::Index { .. })));
}
