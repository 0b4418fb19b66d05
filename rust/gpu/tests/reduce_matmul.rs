//! Reductions, matrix products and layout copies on the device against CPU references.
#![cfg(feature = "gpu")]

mod common;

use common::{assert_close, data, gather, gpu};
use dlarray_gpu::kernels::layout::{contiguous, permute, reshape};
use dlarray_gpu::kernels::matmul::matmul;
use dlarray_gpu::kernels::reduce::{reduce, ReduceOp};
use dlarray_gpu::kernels::Layout;
use dlarray_gpu::GpuBuffer;

/// `op` over `axes` of the view `l` of `x`, on the CPU, in f64.
fn reduce_ref(op: ReduceOp, x: &[f32], l: &Layout, axes: &[usize]) -> Vec<f32> {
    let kept: Vec<usize> = (0..l.shape.len()).filter(|d| !axes.contains(d)).collect();
    let kept_shape: Vec<usize> = kept.iter().map(|&d| l.shape[d]).collect();
    let n_out: usize = kept_shape.iter().product();
    let vals = gather(x, l);
    let full = Layout::contiguous(&l.shape);
    let mut acc: Vec<Vec<f64>> = vec![Vec::new(); n_out];
    for (lin, &v) in vals.iter().enumerate() {
        // Multi-index of `lin`, then the output index of its kept dimensions.
        let idx: Vec<usize> = (0..l.shape.len()).map(|d| (lin / full.strides[d] as usize) % l.shape[d]).collect();
        let o = kept.iter().fold(0usize, |o, &d| o * l.shape[d] + idx[d]);
        acc[o].push(v as f64);
    }
    acc.iter()
        .map(|vs| match op {
            ReduceOp::Sum => vs.iter().sum::<f64>() as f32,
            ReduceOp::Mean => (vs.iter().sum::<f64>() / vs.len() as f64) as f32,
            ReduceOp::Max => vs.iter().cloned().fold(f64::NEG_INFINITY, f64::max) as f32,
            ReduceOp::Min => vs.iter().cloned().fold(f64::INFINITY, f64::min) as f32,
            ReduceOp::Prod => vs.iter().product::<f64>() as f32,
        })
        .collect()
}

const OPS: [ReduceOp; 5] = [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min, ReduceOp::Prod];

#[test]
fn reductions_over_every_set_of_axes() {
    let Some(_) = gpu() else { return };
    let shape = [3usize, 4, 5];
    let x = data(60, 1, -2.0, 2.0);
    let xb = GpuBuffer::from_f32(&x).unwrap();
    for view in [Layout::contiguous(&shape), Layout::contiguous(&shape).permuted(&[2, 0, 1]).unwrap()] {
        for mask in 0u32..8 {
            let axes: Vec<usize> = (0..3).filter(|d| mask & (1 << d) != 0).collect();
            for op in OPS {
                let (out, out_shape) = reduce(op, &xb, &view, &axes).unwrap();
                let want_shape: Vec<usize> = (0..3).filter(|d| !axes.contains(d)).map(|d| view.shape[d]).collect();
                assert_eq!(out_shape, want_shape);
                let want = reduce_ref(op, &x, &view, &axes);
                assert_close(&out.to_f32_vec().unwrap(), &want, 1e-5, 1e-5, &format!("{op:?} over {axes:?} of {view:?}"));
            }
        }
    }
}

#[test]
fn long_reductions_use_the_workgroup_tree() {
    let Some(_) = gpu() else { return };
    // 3 x 10,007: each output reduces a prime number of elements with a workgroup; the
    // first axis (3 elements per output) takes the thread-per-output path.
    let shape = [3usize, 10_007];
    let x = data(3 * 10_007, 2, -1.0, 1.0);
    let xb = GpuBuffer::from_f32(&x).unwrap();
    let l = Layout::contiguous(&shape);
    for op in OPS {
        for axes in [vec![1], vec![0, 1], vec![0]] {
            let got = reduce(op, &xb, &l, &axes).unwrap().0.to_f32_vec().unwrap();
            assert_close(&got, &reduce_ref(op, &x, &l, &axes), 1e-4, 1e-4, &format!("{op:?} over {axes:?}"));
        }
    }
}

#[test]
fn reductions_with_more_outputs_than_one_grid_row() {
    let Some(g) = gpu() else { return };
    // More output elements than workgroups fit along x: with 130 columns (a workgroup per
    // output) the grid continues along y; with 3 (a thread per output) it fits one row.
    let rows = g.info().max_compute_workgroups_per_dimension as usize + 17;
    for cols in [130usize, 3] {
        let x: Vec<f32> = (0..rows * cols).map(|i| ((i % 7) as f32) - 3.0).collect();
        let l = Layout::contiguous(&[rows, cols]);
        let got = reduce(ReduceOp::Sum, &GpuBuffer::from_f32(&x).unwrap(), &l, &[1]).unwrap().0.to_f32_vec().unwrap();
        assert_eq!(got.len(), rows);
        for (r, &v) in got.iter().enumerate() {
            let want: f32 = x[r * cols..(r + 1) * cols].iter().sum();
            assert_eq!(v, want, "row {r} of {cols} columns");
        }
    }
}

#[test]
fn reductions_of_nothing_and_of_nan() {
    let Some(_) = gpu() else { return };
    let xb = GpuBuffer::from_f32(&[]).unwrap();
    let l = Layout::contiguous(&[2, 0]);
    let sum = reduce(ReduceOp::Sum, &xb, &l, &[1]).unwrap();
    assert_eq!(sum.1, vec![2]);
    assert_eq!(sum.0.to_f32_vec().unwrap(), vec![0.0, 0.0]);
    let mean = reduce(ReduceOp::Mean, &xb, &l, &[1]).unwrap().0.to_f32_vec().unwrap();
    assert!(mean.iter().all(|v| v.is_nan()));
    assert_eq!(reduce(ReduceOp::Max, &xb, &l, &[1]).unwrap().0.to_f32_vec().unwrap(), vec![f32::NEG_INFINITY; 2]);
    assert_eq!(reduce(ReduceOp::Prod, &xb, &l, &[1]).unwrap().0.to_f32_vec().unwrap(), vec![1.0; 2]);
    assert_eq!(reduce(ReduceOp::Sum, &xb, &l, &[0]).unwrap().0.len(), 0);
    let nan = GpuBuffer::from_f32(&[1.0, f32::NAN, 3.0]).unwrap();
    let m = reduce(ReduceOp::Max, &nan, &Layout::contiguous(&[3]), &[0]).unwrap().0.to_f32_vec().unwrap();
    assert!(m[0].is_nan());
    assert!(reduce(ReduceOp::Sum, &nan, &Layout::contiguous(&[3]), &[0, 0]).is_err());
}

/// C = A @ B on the CPU for views of [batch..., m, k] and [batch..., k, n] (broadcast).
fn matmul_ref(a: &[f32], al: &Layout, b: &[f32], bl: &Layout, shape: &[usize]) -> Vec<f32> {
    let r = shape.len();
    let (m, n) = (shape[r - 2], shape[r - 1]);
    let k = al.shape[al.shape.len() - 1];
    let batch = &shape[..r - 2];
    let mut a_full = batch.to_vec();
    a_full.extend([m, k]);
    let mut b_full = batch.to_vec();
    b_full.extend([k, n]);
    let ga = gather(a, &al.broadcast_to(&a_full).unwrap());
    let gb = gather(b, &bl.broadcast_to(&b_full).unwrap());
    let count: usize = batch.iter().product();
    let mut c = vec![0f32; count * m * n];
    for p in 0..count {
        for i in 0..m {
            for j in 0..n {
                let s: f64 = (0..k).map(|q| ga[p * m * k + i * k + q] as f64 * gb[p * k * n + q * n + j] as f64).sum();
                c[p * m * n + i * n + j] = s as f32;
            }
        }
    }
    c
}

fn check_matmul(al: &Layout, bl: &Layout, a_len: usize, b_len: usize, seed: u64) {
    let a = data(a_len, seed, -1.0, 1.0);
    let b = data(b_len, seed + 1, -1.0, 1.0);
    let (out, shape) = matmul(&GpuBuffer::from_f32(&a).unwrap(), al, &GpuBuffer::from_f32(&b).unwrap(), bl).unwrap();
    let want = matmul_ref(&a, al, &b, bl, &shape);
    let k = al.shape[al.shape.len() - 1];
    let tol = 1e-5 * (k as f32).sqrt().max(1.0);
    assert_close(&out.to_f32_vec().unwrap(), &want, tol, tol, &format!("{:?} @ {:?}", al.shape, bl.shape));
}

#[test]
fn matmul_at_odd_sizes_and_tile_edges() {
    let Some(_) = gpu() else { return };
    for (m, k, n) in [(1, 1, 1), (1, 7, 1), (63, 17, 65), (64, 64, 64), (100, 37, 70), (130, 129, 3), (5, 300, 2)] {
        check_matmul(&Layout::contiguous(&[m, k]), &Layout::contiguous(&[k, n]), m * k, k * n, (m * 1000 + n) as u64);
    }
}

#[test]
fn matmul_of_transposed_views() {
    let Some(_) = gpu() else { return };
    let (m, k, n) = (33, 47, 21);
    // a stored as [k, m] and b as [n, k]: both operands read transposed.
    let at = Layout::contiguous(&[k, m]).permuted(&[1, 0]).unwrap();
    let bt = Layout::contiguous(&[n, k]).permuted(&[1, 0]).unwrap();
    check_matmul(&at, &bt, m * k, k * n, 7);
    check_matmul(&at, &Layout::contiguous(&[k, n]), m * k, k * n, 8);
}

#[test]
fn batched_matmul_broadcasts_its_batch_dimensions() {
    let Some(_) = gpu() else { return };
    // [2, 1, 9, 6] @ [3, 6, 5] -> [2, 3, 9, 5]
    check_matmul(&Layout::contiguous(&[2, 1, 9, 6]), &Layout::contiguous(&[3, 6, 5]), 2 * 9 * 6, 3 * 6 * 5, 11);
    // A shared right operand: [4, 70, 20] @ [20, 66]
    check_matmul(&Layout::contiguous(&[4, 70, 20]), &Layout::contiguous(&[20, 66]), 4 * 70 * 20, 20 * 66, 12);
}

#[test]
fn matmul_with_an_empty_inner_dimension_is_zero() {
    let Some(_) = gpu() else { return };
    let e = GpuBuffer::from_f32(&[]).unwrap();
    let (out, shape) = matmul(&e, &Layout::contiguous(&[3, 0]), &e, &Layout::contiguous(&[0, 2])).unwrap();
    assert_eq!(shape, vec![3, 2]);
    assert_eq!(out.to_f32_vec().unwrap(), vec![0.0; 6]);
    let (out, shape) =
        matmul(&e, &Layout::contiguous(&[0, 4]), &GpuBuffer::from_f32(&[1.0; 8]).unwrap(), &Layout::contiguous(&[4, 2])).unwrap();
    assert_eq!((out.len(), shape), (0, vec![0, 2]));
    let one = GpuBuffer::from_f32(&[1.0; 6]).unwrap();
    assert!(matmul(&one, &Layout::contiguous(&[2, 3]), &one, &Layout::contiguous(&[2, 3])).is_err());
}

#[test]
fn permute_reshape_and_strided_copies() {
    let Some(_) = gpu() else { return };
    let shape = [2usize, 3, 4, 5];
    let x = data(120, 40, -5.0, 5.0);
    let xb = GpuBuffer::from_f32(&x).unwrap();
    let perm = [3, 1, 0, 2];
    let (p, pshape) = permute(&xb, &shape, &perm).unwrap();
    assert_eq!(pshape, vec![5, 3, 2, 4]);
    let want = gather(&x, &Layout::contiguous(&shape).permuted(&perm).unwrap());
    assert_eq!(p.to_f32_vec().unwrap(), want);
    // Reshaping the permuted view keeps its element order.
    let view = Layout::contiguous(&shape).permuted(&perm).unwrap();
    let (r, rl) = reshape(&xb, &view, &[30, 4]).unwrap();
    assert_eq!(rl.shape, vec![30, 4]);
    assert_eq!(r.to_f32_vec().unwrap(), want);
    assert!(reshape(&xb, &view, &[7, 4]).is_err());
    // A reversed slice with an offset: x[1, ::-1, 2, 1:4]
    let rev = Layout { shape: vec![3, 3], strides: vec![-20, 1], offset: 60 + 40 + 10 + 1 };
    assert_eq!(contiguous(&xb, &rev).unwrap().to_f32_vec().unwrap(), gather(&x, &rev));
}
