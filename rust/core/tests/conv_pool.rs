//! Convolution and pooling: values against direct loops written here, gradients against
//! central finite differences (first order), and second/third-order gradients against finite
//! differences of the lower-order gradients.

use std::sync::Arc;

use dlarray_core::autodiff::trace;
use dlarray_core::ops::conv::ConvParams;
use dlarray_core::{gradient, DType, Error, GradOptions, Result, Tensor};

// ----- helpers -------------------------------------------------------------------------------

/// Deterministic values in [-1, 1).
fn rand_vec(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

fn numel(s: &[usize]) -> usize {
    s.iter().product()
}

fn t64(v: &[f64], s: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), s.to_vec()).unwrap()
}

fn t32(v: &[f64], s: &[usize]) -> Tensor {
    Tensor::from_vec(v.iter().map(|&x| x as f32).collect::<Vec<f32>>(), s.to_vec()).unwrap()
}

/// Every multi-index of `shape`, row-major.
fn multi(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut out = vec![];
    if shape.contains(&0) {
        return out;
    }
    let mut idx = vec![0; shape.len()];
    loop {
        out.push(idx.clone());
        let mut d = shape.len();
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

fn flat(shape: &[usize], idx: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i)
}

fn per_dim(v: &[usize], d: usize, default: usize) -> Vec<usize> {
    match v.len() {
        0 => vec![default; d],
        1 => vec![v[0]; d],
        _ => v.to_vec(),
    }
}

fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{what}: element {i}: {x} vs {y}");
    }
}

fn opts(higher: bool) -> GradOptions {
    GradOptions { retain_data: false, enable_higher_derivatives: higher }
}

type Inputs = Vec<(Vec<f64>, Vec<usize>)>;
type ScalarFn = dyn Fn(&[Tensor]) -> Result<Tensor>;

/// Value of `f` at the given inputs (f64, untraced).
fn value(f: &ScalarFn, inputs: &Inputs) -> f64 {
    let ts: Vec<Tensor> = inputs.iter().map(|(v, s)| t64(v, s)).collect();
    f(&ts).unwrap().item().unwrap().re
}

/// Gradients of order `order` (1, 2 or 3) of a chain of scalar functionals:
/// order 1: ∇f; order 2: ∇ Σ_i Σ(∇_i f)²·A_i; order 3: ∇ Σ_i Σ(order-2 gradient)_i·B_i.
fn grad_chain(f: &ScalarFn, inputs: &Inputs, order: usize, a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let tok = trace::enter();
    let leaves: Vec<Tensor> = inputs.iter().map(|(v, s)| t64(v, s).traced_leaf()).collect();
    let y = f(&leaves).unwrap();
    let mut gs = gradient(&y, &leaves, &opts(order > 1)).unwrap();
    if order >= 2 {
        let mut l2 = Tensor::scalar(0.0f64);
        for (i, g) in gs.iter().enumerate() {
            let ai = t64(&a[i], &inputs[i].1);
            l2 = l2.add(&g.mul(g).unwrap().mul(&ai).unwrap().sum_all().unwrap()).unwrap();
        }
        gs = gradient(&l2, &leaves, &opts(order > 2)).unwrap();
    }
    if order >= 3 {
        let mut l3 = Tensor::scalar(0.0f64);
        for (i, g) in gs.iter().enumerate() {
            let bi = t64(&b[i], &inputs[i].1);
            l3 = l3.add(&g.mul(&bi).unwrap().sum_all().unwrap()).unwrap();
        }
        gs = gradient(&l3, &leaves, &opts(false)).unwrap();
    }
    trace::exit(tok);
    gs.iter().map(|g| g.to_f64_vec()).collect()
}

/// The scalar whose gradient `grad_chain(order)` computes, evaluated numerically.
fn chain_value(f: &ScalarFn, inputs: &Inputs, order: usize, a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    match order {
        1 => value(f, inputs),
        2 => {
            let g = grad_chain(f, inputs, 1, a, b);
            g.iter().zip(a).map(|(g, a)| g.iter().zip(a).map(|(g, a)| g * g * a).sum::<f64>()).sum()
        }
        3 => {
            let g = grad_chain(f, inputs, 2, a, b);
            g.iter().zip(b).map(|(g, b)| g.iter().zip(b).map(|(g, b)| g * b).sum::<f64>()).sum()
        }
        _ => unreachable!(),
    }
}

/// Checks `grad_chain(order)` against central differences of `chain_value(order)`.
fn check_grad(f: &ScalarFn, inputs: &Inputs, order: usize, what: &str) {
    let a: Vec<Vec<f64>> = inputs.iter().enumerate().map(|(i, (v, _))| rand_vec(v.len(), 100 + i as u64)).collect();
    let b: Vec<Vec<f64>> = inputs.iter().enumerate().map(|(i, (v, _))| rand_vec(v.len(), 200 + i as u64)).collect();
    let analytic = grad_chain(f, inputs, order, &a, &b);
    let h = 1e-5;
    for (i, (v, _)) in inputs.iter().enumerate() {
        let mut numeric = vec![0.0; v.len()];
        for (j, num) in numeric.iter_mut().enumerate() {
            let mut plus = inputs.clone();
            plus[i].0[j] += h;
            let mut minus = inputs.clone();
            minus[i].0[j] -= h;
            *num = (chain_value(f, &plus, order, &a, &b) - chain_value(f, &minus, order, &a, &b)) / (2.0 * h);
        }
        assert!(numeric.iter().any(|&x| x.abs() > 1e-8), "{what}: order {order} input {i}: gradient is all zero");
        assert_close(&analytic[i], &numeric, 1e-6, &format!("{what}: order-{order} gradient of input {i}"));
    }
}

// ----- direct reference implementations ------------------------------------------------------

fn out_len(s: usize, k: usize, st: usize, dil: usize, pb: usize, pa: usize) -> usize {
    (s + pb + pa - dil * (k - 1) - 1) / st + 1
}

struct Geo {
    d: usize,
    st: Vec<usize>,
    dil: Vec<usize>,
    pb: Vec<usize>,
    out_sp: Vec<usize>,
}

// Layouts are MATLAB's: x (S..., C, N), w (K..., C/G, F/G, G), y (O..., F, N).

fn geo(xs: &[usize], ws: &[usize], p: &ConvParams) -> Geo {
    let d = xs.len() - 2;
    let (st, dil) = (per_dim(&p.stride, d, 1), per_dim(&p.dilation, d, 1));
    let (pb, pa) = (per_dim(&p.pad_before, d, 0), per_dim(&p.pad_after, d, 0));
    let out_sp = (0..d).map(|i| out_len(xs[i], ws[i], st[i], dil[i], pb[i], pa[i])).collect();
    Geo { d, st, dil, pb, out_sp }
}

/// Calls `f(n, f, c, out_idx, k_idx, in_pos)` for every term of the convolution sum, with
/// `in_pos` = None where the term reads padding (`f` and `c` count over all groups).
fn for_each_term(
    xs: &[usize],
    ws: &[usize],
    p: &ConvParams,
    mut f: impl FnMut(usize, usize, usize, &[usize], &[usize], Option<Vec<usize>>),
) {
    let g = geo(xs, ws, p);
    let d = g.d;
    let (cg, fg, groups) = (ws[d], ws[d + 1], ws[d + 2]);
    for n in 0..xs[d + 1] {
        for fi in 0..fg * groups {
            let grp = fi / fg;
            for o in multi(&g.out_sp) {
                for cl in 0..cg {
                    for k in multi(&ws[..d]) {
                        let pos: Vec<isize> = (0..d).map(|i| (o[i] * g.st[i] + k[i] * g.dil[i]) as isize - g.pb[i] as isize).collect();
                        let inside = pos.iter().enumerate().all(|(i, &q)| q >= 0 && (q as usize) < xs[i]);
                        let pos = inside.then(|| pos.iter().map(|&q| q as usize).collect());
                        f(n, fi, grp * cg + cl, &o, &k, pos);
                    }
                }
            }
        }
    }
}

fn ys_of(xs: &[usize], ws: &[usize], p: &ConvParams) -> Vec<usize> {
    let d = xs.len() - 2;
    let mut ys = geo(xs, ws, p).out_sp;
    ys.extend([ws[d + 1] * ws[d + 2], xs[d + 1]]);
    ys
}

fn cat(a: &[usize], b: &[usize]) -> Vec<usize> {
    a.iter().chain(b).copied().collect()
}

/// Flat index of (spatial position, channel, sample) in an (S..., C, N) array.
fn at(shape: &[usize], pos: &[usize], c: usize, n: usize) -> usize {
    flat(shape, &cat(pos, &[c, n]))
}

/// Flat index of the weight linking filter `f` and input channel `c` (both over all groups)
/// at kernel tap `k`.
fn w_at(ws: &[usize], f: usize, c: usize, k: &[usize]) -> usize {
    let d = ws.len() - 3;
    let (cg, fg) = (ws[d], ws[d + 1]);
    flat(ws, &cat(k, &[c % cg, f % fg, f / fg]))
}

fn naive_conv(x: &[f64], xs: &[usize], w: &[f64], ws: &[usize], p: &ConvParams) -> Vec<f64> {
    let ys = ys_of(xs, ws, p);
    let mut y = vec![0.0; numel(&ys)];
    for_each_term(xs, ws, p, |n, f, c, o, k, pos| {
        let xv = match pos {
            Some(pos) => x[at(xs, &pos, c, n)],
            None => p.pad_value,
        };
        y[at(&ys, o, f, n)] += w[w_at(ws, f, c, k)] * xv;
    });
    y
}

fn naive_input_grad(g: &[f64], w: &[f64], xs: &[usize], ws: &[usize], p: &ConvParams) -> Vec<f64> {
    let ys = ys_of(xs, ws, p);
    let mut dx = vec![0.0; numel(xs)];
    for_each_term(xs, ws, p, |n, f, c, o, k, pos| {
        if let Some(pos) = pos {
            dx[at(xs, &pos, c, n)] += g[at(&ys, o, f, n)] * w[w_at(ws, f, c, k)];
        }
    });
    dx
}

fn naive_weight_grad(x: &[f64], g: &[f64], xs: &[usize], ws: &[usize], p: &ConvParams) -> Vec<f64> {
    let ys = ys_of(xs, ws, p);
    let mut dw = vec![0.0; numel(ws)];
    for_each_term(xs, ws, p, |n, f, c, o, k, pos| {
        let xv = match pos {
            Some(pos) => x[at(xs, &pos, c, n)],
            None => p.pad_value,
        };
        dw[w_at(ws, f, c, k)] += g[at(&ys, o, f, n)] * xv;
    });
    dw
}

/// Transposed convolution: x (I..., C, N), w (K..., F/G, C/G, G); output position
/// q = i·stride + k·dilation − crop_before.
fn naive_transposed(x: &[f64], xs: &[usize], w: &[f64], ws: &[usize], p: &ConvParams, opad: &[usize]) -> (Vec<f64>, Vec<usize>) {
    let d = xs.len() - 2;
    let (st, dil) = (per_dim(&p.stride, d, 1), per_dim(&p.dilation, d, 1));
    let (cb, ca) = (per_dim(&p.pad_before, d, 0), per_dim(&p.pad_after, d, 0));
    let opad = per_dim(opad, d, 0);
    let (fg, cin_g, groups) = (ws[d], ws[d + 1], ws[d + 2]);
    let mut ys: Vec<usize> = (0..d).map(|i| (xs[i] - 1) * st[i] + dil[i] * (ws[i] - 1) + 1 + opad[i] - cb[i] - ca[i]).collect();
    ys.extend([fg * groups, xs[d + 1]]);
    let mut y = vec![0.0; numel(&ys)];
    for n in 0..xs[d + 1] {
        for c in 0..xs[d] {
            let grp = c / cin_g;
            for i in multi(&xs[..d]) {
                for fl in 0..fg {
                    for k in multi(&ws[..d]) {
                        let q: Vec<isize> = (0..d).map(|j| (i[j] * st[j] + k[j] * dil[j]) as isize - cb[j] as isize).collect();
                        if q.iter().enumerate().all(|(j, &v)| v >= 0 && (v as usize) < ys[j]) {
                            let q: Vec<usize> = q.iter().map(|&v| v as usize).collect();
                            y[at(&ys, &q, grp * fg + fl, n)] += x[at(xs, &i, c, n)] * w[flat(ws, &cat(&k, &[fl, c % cin_g, grp]))];
                        }
                    }
                }
            }
        }
    }
    (y, ys)
}

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

// ----- convolution cases ---------------------------------------------------------------------

struct Case {
    name: &'static str,
    xs: Vec<usize>,
    ws: Vec<usize>,
    p: ConvParams,
}

fn cases() -> Vec<Case> {
    vec![
        Case { name: "2-D plain", xs: vec![5, 6, 3, 2], ws: vec![3, 3, 3, 4, 1], p: ConvParams::new() },
        Case {
            name: "2-D stride/dilation/asymmetric padding/groups",
            xs: vec![6, 5, 4, 2],
            ws: vec![3, 2, 2, 3, 2],
            p: ConvParams::new().stride(&[2, 1]).dilation(&[1, 2]).padding(&[1, 0], &[0, 2]).groups(2),
        },
        Case {
            name: "2-D padding value",
            xs: vec![4, 5, 2, 2],
            ws: vec![3, 3, 2, 3, 1],
            p: ConvParams::new().stride(&[1, 2]).padding(&[2, 1], &[1, 2]).pad_value(0.7),
        },
        Case { name: "1-D", xs: vec![9, 2, 3], ws: vec![3, 2, 4, 1], p: ConvParams::new().stride(&[2]).dilation(&[2]).padding(&[2], &[1]) },
        Case {
            name: "3-D groups",
            xs: vec![4, 5, 3, 4, 2],
            ws: vec![2, 3, 2, 2, 2, 2],
            p: ConvParams::new().stride(&[1, 2, 1]).dilation(&[2, 1, 1]).padding(&[1, 0, 1], &[0, 1, 1]).groups(2),
        },
        Case {
            name: "3-D same",
            xs: vec![3, 4, 5, 2, 1],
            ws: vec![3, 3, 3, 2, 2, 1],
            p: ConvParams::new().padding(&[1], &[1]).pad_value(0.2),
        },
        Case { name: "pointwise", xs: vec![3, 3, 4, 2], ws: vec![1, 1, 2, 3, 2], p: ConvParams::new().groups(2) },
        Case { name: "depthwise", xs: vec![5, 4, 3, 2], ws: vec![3, 3, 1, 2, 3], p: ConvParams::new().groups(3).padding(&[1], &[1]) },
        Case {
            name: "strided 1x1 with padding",
            xs: vec![5, 5, 2, 1],
            ws: vec![1, 1, 2, 2, 1],
            p: ConvParams::new().stride(&[2]).padding(&[1], &[0]).pad_value(-0.3),
        },
    ]
}

/// Large enough for the parallel kernels: a small batch (blocks of several pixels) and a
/// large one (one pixel per block, products in place), with stride and groups.
fn big_cases() -> Vec<Case> {
    vec![
        Case { name: "parallel, small batch", xs: vec![20, 18, 3, 8], ws: vec![3, 3, 3, 4, 1], p: ConvParams::new().padding(&[1], &[1]) },
        Case {
            name: "parallel, large batch",
            xs: vec![11, 9, 4, 130],
            ws: vec![3, 3, 2, 3, 2],
            p: ConvParams::new().stride(&[2, 1]).padding(&[1], &[1]).groups(2).pad_value(0.25),
        },
    ]
}

#[test]
fn conv_values_match_direct_loops() {
    let mut all = cases();
    all.extend(big_cases());
    for (ci, c) in all.iter().enumerate() {
        let x = rand_vec(numel(&c.xs), 1 + ci as u64);
        let w = rand_vec(numel(&c.ws), 50 + ci as u64);
        let ys = ys_of(&c.xs, &c.ws, &c.p);
        let g = rand_vec(numel(&ys), 90 + ci as u64);
        let y = t64(&x, &c.xs).conv(&t64(&w, &c.ws), &c.p).unwrap();
        assert_eq!(y.shape(), ys.as_slice(), "{}", c.name);
        assert_close(&y.to_f64_vec(), &naive_conv(&x, &c.xs, &w, &c.ws, &c.p), 1e-12, c.name);
        let dx = t64(&g, &ys).conv_input_grad(&t64(&w, &c.ws), &c.xs[..c.xs.len() - 2], &c.p).unwrap();
        assert_eq!(dx.shape(), c.xs.as_slice());
        assert_close(&dx.to_f64_vec(), &naive_input_grad(&g, &w, &c.xs, &c.ws, &c.p), 1e-12, c.name);
        let dw = t64(&x, &c.xs).conv_weight_grad(&t64(&g, &ys), &c.ws, &c.p).unwrap();
        assert_eq!(dw.shape(), c.ws.as_slice());
        assert_close(&dw.to_f64_vec(), &naive_weight_grad(&x, &g, &c.xs, &c.ws, &c.p), 1e-12, c.name);
        // float32 runs the same kernels.
        let y32 = t32(&x, &c.xs).conv(&t32(&w, &c.ws), &c.p).unwrap();
        assert_eq!(y32.dtype(), DType::F32);
        assert_close(&y32.to_f64_vec(), &y.to_f64_vec(), 1e-5, c.name);
        let dw32 = t32(&x, &c.xs).conv_weight_grad(&t32(&g, &ys), &c.ws, &c.p).unwrap();
        assert_close(&dw32.to_f64_vec(), &dw.to_f64_vec(), 1e-4, c.name);
        let dx32 = t32(&g, &ys).conv_input_grad(&t32(&w, &c.ws), &c.xs[..c.xs.len() - 2], &c.p).unwrap();
        assert_close(&dx32.to_f64_vec(), &dx.to_f64_vec(), 1e-5, c.name);
    }
}

#[test]
fn mixed_dtypes_promote() {
    let x = t32(&rand_vec(2 * 3 * 4 * 4, 1), &[4, 4, 3, 2]);
    let w = t64(&rand_vec(2 * 3 * 2 * 2, 2), &[2, 2, 3, 2, 1]);
    assert_eq!(x.conv(&w, &ConvParams::new()).unwrap().dtype(), DType::F64);
}

#[test]
fn transposed_conv_matches_direct_loop() {
    type TCase = (Vec<usize>, Vec<usize>, ConvParams, Vec<usize>);
    let cs: Vec<TCase> = vec![
        // x (I..., C, N), w (K..., F/G, C/G, G).
        (vec![4, 3, 3, 2], vec![3, 2, 2, 3, 1], ConvParams::new().stride(&[2, 1]), vec![1, 0]),
        (
            vec![3, 4, 4, 1],
            vec![2, 3, 1, 2, 2],
            ConvParams::new().stride(&[2]).padding(&[1, 0], &[0, 1]).dilation(&[1, 2]).groups(2),
            vec![],
        ),
        (vec![5, 2, 2], vec![4, 3, 2, 1], ConvParams::new().stride(&[3]).padding(&[1], &[2]), vec![2]),
        (vec![2, 3, 2, 2, 1], vec![2, 2, 3, 2, 2, 1], ConvParams::new().stride(&[2, 1, 2]), vec![1, 0, 0]),
    ];
    for (i, (xs, ws, p, opad)) in cs.iter().enumerate() {
        let x = rand_vec(numel(xs), 7 + i as u64);
        let w = rand_vec(numel(ws), 17 + i as u64);
        let (yr, ys) = naive_transposed(&x, xs, &w, ws, p, opad);
        let y = t64(&x, xs).transposed_conv(&t64(&w, ws), p, opad).unwrap();
        assert_eq!(y.shape(), ys.as_slice(), "case {i}");
        assert_close(&y.to_f64_vec(), &yr, 1e-12, &format!("transposed case {i}"));
        // Its gradients, against finite differences.
        let r = rand_vec(numel(&ys), 3);
        let (p, opad, ys) = (p.clone(), opad.clone(), ys.clone());
        let f = move |t: &[Tensor]| t[0].transposed_conv(&t[1], &p, &opad)?.mul(&t64(&r, &ys))?.sum_all();
        check_grad(&f, &vec![(x, xs.clone()), (w, ws.clone())], 1, "transposed_conv");
    }
}

/// sum(R ⊙ op(a, b)²): nonlinear, so second and third derivatives exercise every rule.
fn squared_loss(
    op: impl Fn(&Tensor, &Tensor) -> Result<Tensor> + 'static,
    out_shape: Vec<usize>,
    seed: u64,
) -> impl Fn(&[Tensor]) -> Result<Tensor> {
    let r = rand_vec(numel(&out_shape), seed);
    move |t: &[Tensor]| {
        let y = op(&t[0], &t[1])?;
        y.mul(&y)?.mul(&t64(&r, &out_shape))?.sum_all()
    }
}

#[test]
fn conv_gradients_first_and_second_order() {
    for (ci, c) in cases().into_iter().enumerate() {
        let ys = ys_of(&c.xs, &c.ws, &c.p);
        let inputs = vec![(rand_vec(numel(&c.xs), 1 + ci as u64), c.xs.clone()), (rand_vec(numel(&c.ws), 40 + ci as u64), c.ws.clone())];
        let p = c.p.clone();
        let f = squared_loss(move |x, w| x.conv(w, &p), ys, 5);
        check_grad(&f, &inputs, 1, c.name);
        check_grad(&f, &inputs, 2, c.name);
    }
}

#[test]
fn conv_third_order() {
    for c in [&cases()[1], &cases()[2]] {
        let ys = ys_of(&c.xs, &c.ws, &c.p);
        let inputs = vec![(rand_vec(numel(&c.xs), 11), c.xs.clone()), (rand_vec(numel(&c.ws), 12), c.ws.clone())];
        let p = c.p.clone();
        let f = squared_loss(move |x, w| x.conv(w, &p), ys, 6);
        check_grad(&f, &inputs, 3, c.name);
    }
}

#[test]
fn conv_input_and_weight_grad_ops_are_differentiable() {
    for ci in [1usize, 2, 3, 4, 5] {
        let c = &cases()[ci];
        let ys = ys_of(&c.xs, &c.ws, &c.p);
        let (xs, ws) = (c.xs.clone(), c.ws.clone());
        // conv_input_grad(g, w) as a function of (g, w).
        let p = c.p.clone();
        let sp = xs[..xs.len() - 2].to_vec();
        let f = squared_loss(move |g, w| g.conv_input_grad(w, &sp, &p), xs.clone(), 8);
        let inputs = vec![(rand_vec(numel(&ys), 21), ys.clone()), (rand_vec(numel(&ws), 22), ws.clone())];
        check_grad(&f, &inputs, 1, &format!("{} conv_input_grad", c.name));
        check_grad(&f, &inputs, 2, &format!("{} conv_input_grad", c.name));
        // conv_weight_grad(x, g) as a function of (x, g), padding value included.
        let p = c.p.clone();
        let ws2 = ws.clone();
        let f = squared_loss(move |x, g| x.conv_weight_grad(g, &ws2, &p), ws.clone(), 9);
        let inputs = vec![(rand_vec(numel(&xs), 23), xs.clone()), (rand_vec(numel(&ys), 24), ys.clone())];
        check_grad(&f, &inputs, 1, &format!("{} conv_weight_grad", c.name));
        check_grad(&f, &inputs, 2, &format!("{} conv_weight_grad", c.name));
    }
}

#[test]
fn untraced_operand_gets_no_gradient_work() {
    // Gradient with respect to the weights only (the data is a plain array).
    let c = &cases()[1];
    let x = t64(&rand_vec(numel(&c.xs), 1), &c.xs);
    let tok = trace::enter();
    let w = t64(&rand_vec(numel(&c.ws), 2), &c.ws).traced_leaf();
    let y = x.conv(&w, &c.p).unwrap().sum_all().unwrap();
    let g = gradient(&y, std::slice::from_ref(&w), &opts(false)).unwrap().remove(0);
    trace::exit(tok);
    let ys = ys_of(&c.xs, &c.ws, &c.p);
    let ones = vec![1.0; numel(&ys)];
    assert_close(&g.to_f64_vec(), &naive_weight_grad(&x.to_f64_vec(), &ones, &c.xs, &c.ws, &c.p), 1e-12, "dw only");
}

// ----- conv errors ---------------------------------------------------------------------------

fn msg(e: Error) -> String {
    e.to_string()
}

#[test]
fn conv_errors() {
    let x = Tensor::zeros(&[5, 5, 4, 2], DType::F32);
    let p = ConvParams::new();
    // Channel mismatch.
    let e = x.conv(&Tensor::zeros(&[2, 2, 3, 3, 1], DType::F32), &p).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }));
    let m = msg(e);
    assert!(m.starts_with("dlconv") && m.contains("[5, 5, 4, 2]") && m.contains("[2, 2, 3, 3, 1]"), "{m}");
    // Groups that do not match the weights, or do not divide the channels.
    let e = x.conv(&Tensor::zeros(&[2, 2, 2, 3, 1], DType::F32), &ConvParams::new().groups(2)).unwrap_err();
    assert!(matches!(e, Error::Value { .. }), "{e}");
    let e = x.conv(&Tensor::zeros(&[2, 2, 1, 1, 3], DType::F32), &ConvParams::new().groups(3)).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    // Kernel larger than the padded input (dilation counts).
    let e = x.conv(&Tensor::zeros(&[6, 2, 4, 3, 1], DType::F32), &p).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }) && msg(e.clone()).contains("larger"), "{e}");
    assert!(x.conv(&Tensor::zeros(&[6, 2, 4, 3, 1], DType::F32), &ConvParams::new().padding(&[1, 0], &[0, 0])).is_ok());
    let e = x.conv(&Tensor::zeros(&[3, 3, 4, 3, 1], DType::F32), &ConvParams::new().dilation(&[3])).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    // Zero stride / dilation; wrong option lengths.
    let w = Tensor::zeros(&[2, 2, 4, 3, 1], DType::F32);
    assert!(matches!(x.conv(&w, &ConvParams::new().stride(&[0, 1])), Err(Error::Value { .. })));
    assert!(matches!(x.conv(&w, &ConvParams::new().dilation(&[0])), Err(Error::Value { .. })));
    assert!(matches!(x.conv(&w, &ConvParams::new().stride(&[1, 1, 1])), Err(Error::Value { .. })));
    // Wrong ranks.
    assert!(matches!(x.conv(&Tensor::zeros(&[2, 2, 4, 3], DType::F32), &p), Err(Error::Shape { .. })));
    let x2 = Tensor::zeros(&[4, 5], DType::F32);
    assert!(matches!(x2.conv(&Tensor::zeros(&[4, 3, 1], DType::F32), &p), Err(Error::Shape { .. })));
    let x6 = Tensor::zeros(&[2, 2, 2, 2, 1, 1], DType::F32);
    assert!(matches!(x6.conv(&Tensor::zeros(&[1, 1, 1, 1, 1, 1, 1], DType::F32), &p), Err(Error::Shape { .. })));
    // Complex.
    let z = Tensor::complex(&x, &x).unwrap();
    assert!(matches!(z.conv(&w, &p), Err(Error::DType { .. })));
    // Gradient ops check their shapes too.
    let g = Tensor::zeros(&[4, 4, 3, 2], DType::F32);
    assert!(g.conv_input_grad(&w, &[5, 5], &p).is_ok());
    assert!(matches!(g.conv_input_grad(&w, &[6, 5], &p), Err(Error::Shape { .. })));
    assert!(x.conv_weight_grad(&g, &[2, 2, 4, 3, 1], &p).is_ok());
    assert!(matches!(x.conv_weight_grad(&g, &[3, 2, 4, 3, 1], &p), Err(Error::Shape { .. })));
    // A bias needs one value per filter.
    assert!(x.conv_bias(&w, Some(&Tensor::zeros(&[3], DType::F32)), &p).is_ok());
    assert!(matches!(x.conv_bias(&w, Some(&Tensor::zeros(&[2], DType::F32)), &p), Err(Error::Shape { .. })));
    // Transposed convolution: x (I..., C, N), w (K..., F/G, C/G, G).
    let xt = Tensor::zeros(&[4, 4, 3, 1], DType::F32);
    let wt = Tensor::zeros(&[3, 3, 2, 3, 1], DType::F32);
    assert_eq!(xt.transposed_conv(&wt, &ConvParams::new().stride(&[2]), &[1]).unwrap().shape(), &[10, 10, 2, 1]);
    let e = xt.transposed_conv(&wt, &ConvParams::new().stride(&[2]), &[2]).unwrap_err();
    assert!(matches!(e, Error::Value { .. }) && msg(e.clone()).starts_with("dltranspconv"), "{e}");
    assert!(matches!(xt.transposed_conv(&Tensor::zeros(&[3, 3, 2, 2, 1], DType::F32), &ConvParams::new(), &[]), Err(Error::Shape { .. })));
    assert!(matches!(xt.transposed_conv(&wt, &ConvParams::new().padding(&[5], &[5]), &[]), Err(Error::Shape { .. })));
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
            assert_close(&y.to_f64_vec(), &mx, tol, &format!("maxpool case {i}"));
            assert_eq!(idx.as_slice(), arg.as_slice(), "argmax case {i}");
            let a = xt.avgpool(&c.k, &c.st, &c.pb, &c.pa, true).unwrap();
            assert_eq!(a.shape(), ys.as_slice());
            assert_close(&a.to_f64_vec(), &avg_in, tol, &format!("avgpool (padding counted) case {i}"));
            let a = xt.avgpool(&c.k, &c.st, &c.pb, &c.pa, false).unwrap();
            assert_close(&a.to_f64_vec(), &avg_ex, tol, &format!("avgpool (padding excluded) case {i}"));
            // maxunpool puts each maximum back where it came from.
            let u = y.maxunpool(idx.clone(), &c.xs).unwrap();
            assert_eq!(u.shape(), c.xs.as_slice());
            let mut expect = vec![0.0; numel(&c.xs)];
            for (&j, &v) in arg.iter().zip(&mx) {
                expect[j] += v;
            }
            assert_close(&u.to_f64_vec(), &expect, tol, &format!("maxunpool case {i}"));
        }
    }
}

#[test]
fn maxpool_padding_never_wins_and_nan_propagates() {
    let x = t64(&[-5.0, -4.0, -3.0, f64::NAN, -1.0, -2.0], &[6, 1, 1]);
    let (y, idx) = x.maxpool(&[2], &[2], &[1], &[1]).unwrap();
    let v = y.to_f64_vec();
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
        assert_eq!(y.to_f64_vec()[0].is_nan(), vals[want].is_nan());
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
        let y = t64(&x, &c.xs).avgpool(&c.k, &c.st, &c.pb, &c.pa, count).unwrap().to_f64_vec();
        let dx = t64(&g, &ys).avgpool_backward(&c.xs, &c.k, &c.st, &c.pb, &c.pa, count).unwrap().to_f64_vec();
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
