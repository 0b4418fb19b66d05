//! Elementwise kernels on the device against plain CPU references: every unary and binary op,
//! comparisons and `where`, numpy broadcasting, strided views, odd and empty sizes, and grids
//! past the 65,535-workgroup limit of one dimension.
#![cfg(feature = "gpu")]

mod common;

use common::{assert_close, data, gather, gpu};
use dlarray_gpu::kernels::elementwise::{binary, unary, where_, BinaryOp, UnaryOp};
use dlarray_gpu::kernels::{broadcast_shapes, Layout};
use dlarray_gpu::{GpuBuffer, GpuError};

fn unary_ref(op: UnaryOp, x: f32) -> f32 {
    use UnaryOp::*;
    match op {
        Neg => -x,
        Abs => x.abs(),
        Sign => {
            if x.is_nan() {
                x
            } else if x == 0.0 {
                0.0
            } else {
                x.signum()
            }
        }
        Sqrt => x.sqrt(),
        Square => x * x,
        Reciprocal => 1.0 / x,
        Floor => x.floor(),
        Ceil => x.ceil(),
        Round => x.round_ties_even(),
        Relu => {
            if x.is_nan() {
                x
            } else {
                x.max(0.0)
            }
        }
        Exp => x.exp(),
        Log => x.ln(),
        Sin => x.sin(),
        Cos => x.cos(),
        Tan => x.tan(),
        Tanh => x.tanh(),
        Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Log1p => (x as f64).ln_1p() as f32,
        Sinh => (x as f64).sinh() as f32,
        Cosh => (x as f64).cosh() as f32,
        Asin => (x as f64).asin() as f32,
        Acos => (x as f64).acos() as f32,
        Atan => (x as f64).atan() as f32,
        Erf => erf_series(x as f64) as f32,
        Copy => x,
    }
}

/// erf by its Maclaurin series in float64: for |x| <= 3 its terms stay below 4e3, so the
/// sum keeps about 12 digits.
fn erf_series(x: f64) -> f64 {
    let (mut term, mut sum) = (x, x);
    for n in 1..80 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

fn binary_ref(op: BinaryOp, a: f32, b: f32) -> f32 {
    use BinaryOp::*;
    let t = |c: bool| if c { 1.0 } else { 0.0 };
    match op {
        Add => a + b,
        Sub => a - b,
        Mul => a * b,
        Div => a / b,
        Pow => a.powf(b),
        Maximum => {
            if a.is_nan() || b.is_nan() {
                f32::NAN
            } else {
                a.max(b)
            }
        }
        Minimum => {
            if a.is_nan() || b.is_nan() {
                f32::NAN
            } else {
                a.min(b)
            }
        }
        Atan2 => a.atan2(b),
        Eq => t(a == b),
        Ne => t(a != b),
        Lt => t(a < b),
        Le => t(a <= b),
        Gt => t(a > b),
        Ge => t(a >= b),
        ReluGrad => {
            if b > 0.0 {
                a
            } else {
                0.0
            }
        }
        LeakyRelu => {
            if a > 0.0 {
                a
            } else {
                b * a
            }
        }
        LeakyReluSlope => {
            if a > 0.0 {
                1.0
            } else {
                b
            }
        }
    }
}

const UNARY: [UnaryOp; 25] = [
    UnaryOp::Neg,
    UnaryOp::Abs,
    UnaryOp::Sign,
    UnaryOp::Sqrt,
    UnaryOp::Square,
    UnaryOp::Reciprocal,
    UnaryOp::Floor,
    UnaryOp::Ceil,
    UnaryOp::Round,
    UnaryOp::Relu,
    UnaryOp::Exp,
    UnaryOp::Log,
    UnaryOp::Sin,
    UnaryOp::Cos,
    UnaryOp::Tan,
    UnaryOp::Tanh,
    UnaryOp::Sigmoid,
    UnaryOp::Log1p,
    UnaryOp::Sinh,
    UnaryOp::Cosh,
    UnaryOp::Asin,
    UnaryOp::Acos,
    UnaryOp::Atan,
    UnaryOp::Erf,
    UnaryOp::Copy,
];

const BINARY: [BinaryOp; 17] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Pow,
    BinaryOp::Maximum,
    BinaryOp::Minimum,
    BinaryOp::Atan2,
    BinaryOp::Eq,
    BinaryOp::Ne,
    BinaryOp::Lt,
    BinaryOp::Le,
    BinaryOp::Gt,
    BinaryOp::Ge,
    BinaryOp::ReluGrad,
    BinaryOp::LeakyRelu,
    BinaryOp::LeakyReluSlope,
];

/// Inputs each op is defined on (positive for log and sqrt) plus the halfway points of round.
fn unary_input(op: UnaryOp, n: usize) -> Vec<f32> {
    match op {
        UnaryOp::Log | UnaryOp::Sqrt => data(n, 3, 0.01, 10.0),
        UnaryOp::Round => (0..n).map(|i| (i as f32 - n as f32 / 2.0) * 0.25).collect(),
        UnaryOp::Tan => data(n, 4, -1.4, 1.4),
        UnaryOp::Reciprocal => data(n, 5, 0.5, 4.0),
        UnaryOp::Log1p => data(n, 7, -0.9, 10.0),
        UnaryOp::Asin | UnaryOp::Acos => data(n, 8, -0.99, 0.99),
        UnaryOp::Erf => data(n, 9, -3.0, 3.0),
        _ => {
            let mut v = data(n, 6, -6.0, 6.0);
            v[0] = 0.0;
            v
        }
    }
}

#[test]
fn every_unary_op_matches_the_cpu_contiguous_and_strided() {
    let Some(_) = gpu() else { return };
    // 37 x 29: odd sizes, neither a multiple of the workgroup.
    let shape = [37usize, 29];
    for op in UNARY {
        let x = unary_input(op, 37 * 29);
        let xb = GpuBuffer::from_f32(&x).unwrap();
        let want: Vec<f32> = x.iter().map(|&v| unary_ref(op, v)).collect();
        let got = unary(op, &xb, &Layout::contiguous(&shape)).unwrap().to_f32_vec().unwrap();
        assert_close(&got, &want, 2e-6, 1e-6, &format!("{op:?} contiguous"));

        // The transposed view: the strided variant.
        let t = Layout::contiguous(&shape).permuted(&[1, 0]).unwrap();
        let want_t: Vec<f32> = gather(&x, &t).iter().map(|&v| unary_ref(op, v)).collect();
        let got_t = unary(op, &xb, &t).unwrap().to_f32_vec().unwrap();
        assert_close(&got_t, &want_t, 2e-6, 1e-6, &format!("{op:?} strided"));
    }
}

fn check_binary(op: BinaryOp, a_shape: &[usize], b_shape: &[usize], a: &[f32], b: &[f32]) {
    let (al, bl) = (Layout::contiguous(a_shape), Layout::contiguous(b_shape));
    let (ab, bb) = (GpuBuffer::from_f32(a).unwrap(), GpuBuffer::from_f32(b).unwrap());
    let (out, shape) = binary(op, &ab, &al, &bb, &bl).unwrap();
    let want_shape = broadcast_shapes(a_shape, b_shape).unwrap();
    assert_eq!(shape, want_shape);
    let ga = gather(a, &al.broadcast_to(&shape).unwrap());
    let gb = gather(b, &bl.broadcast_to(&shape).unwrap());
    let want: Vec<f32> = ga.iter().zip(&gb).map(|(&x, &y)| binary_ref(op, x, y)).collect();
    let got = out.to_f32_vec().unwrap();
    assert_close(&got, &want, 2e-6, 1e-6, &format!("{op:?} {a_shape:?} with {b_shape:?}"));
}

#[test]
fn every_binary_op_broadcasts_as_numpy() {
    let Some(_) = gpu() else { return };
    let cases: [(&[usize], &[usize]); 6] = [
        (&[5, 7], &[5, 7]),
        (&[3, 1, 5], &[4, 1]),
        (&[], &[7]),
        (&[6, 1], &[1, 9]),
        (&[2, 1, 2, 1, 2, 1, 2, 3], &[2, 1, 2, 1, 2, 1, 3]),
        (&[0, 3], &[1, 3]),
    ];
    for op in BINARY {
        for (i, (sa, sb)) in cases.iter().enumerate() {
            let na: usize = sa.iter().product();
            let nb: usize = sb.iter().product();
            let (a, mut b) = if op == BinaryOp::Pow {
                (data(na, 10 + i as u64, 0.1, 3.0), data(nb, 20 + i as u64, -2.0, 2.0))
            } else {
                (data(na, 10 + i as u64, -3.0, 3.0), data(nb, 20 + i as u64, -3.0, 3.0))
            };
            // Equal pairs, so that ==, <= and >= see both outcomes.
            if nb > 0 && na > 0 {
                b[0] = a[0];
            }
            check_binary(op, sa, sb, &a, &b);
        }
    }
}

#[test]
fn nan_stays_nan_through_every_unary_op() {
    let Some(_) = gpu() else { return };
    let x = GpuBuffer::from_f32(&[f32::NAN, 1.0]).unwrap();
    for op in UNARY {
        let got = unary(op, &x, &Layout::contiguous(&[2])).unwrap().to_f32_vec().unwrap();
        assert!(got[0].is_nan(), "{op:?}(NaN) = {}", got[0]);
        assert_close(&got[1..], &[unary_ref(op, 1.0)], 2e-6, 1e-6, &format!("{op:?}(1)"));
    }
    let l = Layout::contiguous(&[2]);
    let ne = binary(BinaryOp::Ne, &x, &l, &x, &l).unwrap().0.to_f32_vec().unwrap();
    let eq = binary(BinaryOp::Eq, &x, &l, &x, &l).unwrap().0.to_f32_vec().unwrap();
    let lt = binary(BinaryOp::Le, &x, &l, &x, &l).unwrap().0.to_f32_vec().unwrap();
    assert_eq!((ne, eq, lt), (vec![1.0, 0.0], vec![0.0, 1.0], vec![0.0, 1.0]), "NaN compares unequal to itself");
}

#[test]
fn power_follows_numpy_for_negative_bases_and_zero() {
    let Some(_) = gpu() else { return };
    let a = [-2.0f32, -2.0, -2.0, 0.0, 0.0, 3.0, -8.0];
    let b = [2.0f32, 3.0, 0.5, 0.0, 2.0, -1.0, 0.0];
    let ab = GpuBuffer::from_f32(&a).unwrap();
    let bb = GpuBuffer::from_f32(&b).unwrap();
    let l = Layout::contiguous(&[7]);
    let got = binary(BinaryOp::Pow, &ab, &l, &bb, &l).unwrap().0.to_f32_vec().unwrap();
    assert_close(&got, &[4.0, -8.0, f32::NAN, 1.0, 0.0, 1.0 / 3.0, 1.0], 1e-6, 1e-6, "pow");
}

#[test]
fn atan2_follows_c_at_signed_zeros_infinities_and_nan() {
    let Some(_) = gpu() else { return };
    let inf = f32::INFINITY;
    let y = [0.0f32, -0.0, 0.0, -0.0, 1.0, -1.0, 1.0, inf, inf, -inf, 1.0, -1.0, f32::NAN, 1.0, 3.0];
    let x = [0.0f32, 0.0, -0.0, -0.0, 0.0, -0.0, -inf, inf, -inf, 5.0, inf, -inf, 1.0, f32::NAN, -4.0];
    let (yb, xb) = (GpuBuffer::from_f32(&y).unwrap(), GpuBuffer::from_f32(&x).unwrap());
    let l = Layout::contiguous(&[y.len()]);
    let got = binary(BinaryOp::Atan2, &yb, &l, &xb, &l).unwrap().0.to_f32_vec().unwrap();
    let want: Vec<f32> = y.iter().zip(&x).map(|(&a, &b)| a.atan2(b)).collect();
    assert_close(&got, &want, 2e-6, 0.0, "atan2");
    for (i, (g, w)) in got.iter().zip(&want).enumerate().filter(|(_, (_, w))| !w.is_nan()) {
        assert_eq!(g.is_sign_negative(), w.is_sign_negative(), "atan2({}, {}): sign of {g}", y[i], x[i]);
    }
}

#[test]
fn maximum_and_minimum_propagate_nan() {
    let Some(_) = gpu() else { return };
    let a = [1.0f32, f32::NAN, 3.0, -1.0];
    let b = [f32::NAN, 2.0, 1.0, -1.0];
    let (ab, bb) = (GpuBuffer::from_f32(&a).unwrap(), GpuBuffer::from_f32(&b).unwrap());
    let l = Layout::contiguous(&[4]);
    let mx = binary(BinaryOp::Maximum, &ab, &l, &bb, &l).unwrap().0.to_f32_vec().unwrap();
    let mn = binary(BinaryOp::Minimum, &ab, &l, &bb, &l).unwrap().0.to_f32_vec().unwrap();
    assert_close(&mx, &[f32::NAN, f32::NAN, 3.0, -1.0], 0.0, 0.0, "maximum");
    assert_close(&mn, &[f32::NAN, f32::NAN, 1.0, -1.0], 0.0, 0.0, "minimum");
}

#[test]
fn where_selects_with_three_way_broadcasting() {
    let Some(_) = gpu() else { return };
    let cond = [1.0f32, 0.0, 0.0, 2.0];
    let a = data(3 * 4, 30, -1.0, 1.0);
    let b = [10.0f32, 20.0, 30.0];
    let (cl, al, bl) = (Layout::contiguous(&[1, 4]), Layout::contiguous(&[3, 4]), Layout::contiguous(&[3, 1]));
    let (cb, ab, bb) = (GpuBuffer::from_f32(&cond).unwrap(), GpuBuffer::from_f32(&a).unwrap(), GpuBuffer::from_f32(&b).unwrap());
    let (out, shape) = where_(&cb, &cl, &ab, &al, &bb, &bl).unwrap();
    assert_eq!(shape, vec![3, 4]);
    let want: Vec<f32> = (0..12).map(|i| if cond[i % 4] != 0.0 { a[i] } else { b[i / 4] }).collect();
    assert_eq!(out.to_f32_vec().unwrap(), want);
}

#[test]
fn empty_arrays_give_empty_results() {
    let Some(_) = gpu() else { return };
    let x = GpuBuffer::from_f32(&[]).unwrap();
    assert!(x.is_empty());
    assert_eq!(x.to_f32_vec().unwrap(), Vec::<f32>::new());
    let out = unary(UnaryOp::Exp, &x, &Layout::contiguous(&[0, 5])).unwrap();
    assert_eq!(out.len(), 0);
    assert_eq!(out.to_f32_vec().unwrap(), Vec::<f32>::new());
}

#[test]
fn uploads_round_trip_at_odd_sizes() {
    let Some(_) = gpu() else { return };
    for n in [1usize, 3, 255, 256, 257, 1001, 65_537] {
        let v = data(n, n as u64, -1e6, 1e6);
        assert_eq!(GpuBuffer::from_f32(&v).unwrap().to_f32_vec().unwrap(), v, "n = {n}");
    }
    let z = GpuBuffer::zeros(dlarray_gpu::DType::F32, 300).unwrap();
    assert_eq!(z.to_f32_vec().unwrap(), vec![0.0; 300]);
}

#[test]
fn dispatches_past_65535_workgroups_use_a_two_dimensional_grid() {
    let Some(g) = gpu() else { return };
    let per_row = g.info().max_compute_workgroups_per_dimension as usize * 256;
    let n = per_row + 1000;
    let x: Vec<f32> = (0..n).map(|i| (i % 1024) as f32).collect();
    let xb = GpuBuffer::from_f32(&x).unwrap();
    let got = unary(UnaryOp::Neg, &xb, &Layout::contiguous(&[n])).unwrap().to_f32_vec().unwrap();
    assert_eq!(got.len(), n);
    // Every element, including those of the second row of workgroups, written once and right.
    for (i, (&g, &v)) in got.iter().zip(&x).enumerate() {
        assert_eq!(g, -v, "element {i}");
    }
}

#[test]
fn arrays_past_the_binding_limit_are_refused_with_an_error() {
    let Some(g) = gpu() else { return };
    let limit = g.info().max_storage_buffer_binding_size.min(g.info().max_buffer_size);
    let too_many = (limit / 4 + 1) as usize;
    match GpuBuffer::zeros(dlarray_gpu::DType::F32, too_many) {
        Err(GpuError::BindingLimit { requested_bytes, limit_bytes, .. }) => {
            assert_eq!(requested_bytes, too_many as u64 * 4);
            assert!(limit_bytes <= limit.max(g.info().max_buffer_size));
        }
        other => panic!("expected BindingLimit, got {other:?}"),
    }
    // A broadcast whose result would pass the limit: refused before any allocation or dispatch.
    let side = ((limit / 4) as f64).sqrt() as usize + 2;
    let col = GpuBuffer::from_f32(&vec![1.0; side]).unwrap();
    let err = binary(BinaryOp::Add, &col, &Layout::contiguous(&[side, 1]), &col, &Layout::contiguous(&[1, side])).unwrap_err();
    assert!(matches!(err, GpuError::BindingLimit { .. }), "{err:?}");
    // The device still works afterwards.
    let ok = unary(UnaryOp::Neg, &col, &Layout::contiguous(&[side])).unwrap().to_f32_vec().unwrap();
    assert_eq!(ok, vec![-1.0; side]);
}

#[test]
fn mismatched_arguments_are_errors() {
    let Some(_) = gpu() else { return };
    let a = GpuBuffer::from_f32(&[1.0, 2.0, 3.0]).unwrap();
    let err = binary(BinaryOp::Add, &a, &Layout::contiguous(&[3]), &a, &Layout::contiguous(&[2])).unwrap_err();
    assert!(matches!(err, GpuError::InvalidArgument(_)), "{err:?}");
    // A view reaching past its buffer.
    let err = unary(UnaryOp::Neg, &a, &Layout::contiguous(&[4])).unwrap_err();
    assert!(matches!(err, GpuError::InvalidArgument(_)), "{err:?}");
    let nine = Layout::contiguous(&[1; 9]);
    assert!(matches!(unary(UnaryOp::Neg, &a, &nine), Err(GpuError::InvalidArgument(_))));
}
