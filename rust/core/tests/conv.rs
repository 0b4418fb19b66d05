//! Convolution: values against direct loops written here, gradients against central finite
//! differences (first order), and second/third-order gradients against finite differences of
//! the lower-order gradients.

mod common;

use common::*;
use dlarray_core::autodiff::trace;
use dlarray_core::ops::conv::ConvParams;
use dlarray_core::{gradient, DType, Error, Result, Tensor};

// ----- direct reference implementations ------------------------------------------------------

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
        assert_close(&y.to_f64_vec().unwrap(), &naive_conv(&x, &c.xs, &w, &c.ws, &c.p), 1e-12, c.name);
        let dx = t64(&g, &ys).conv_input_grad(&t64(&w, &c.ws), &c.xs[..c.xs.len() - 2], &c.p).unwrap();
        assert_eq!(dx.shape(), c.xs.as_slice());
        assert_close(&dx.to_f64_vec().unwrap(), &naive_input_grad(&g, &w, &c.xs, &c.ws, &c.p), 1e-12, c.name);
        let dw = t64(&x, &c.xs).conv_weight_grad(&t64(&g, &ys), &c.ws, &c.p).unwrap();
        assert_eq!(dw.shape(), c.ws.as_slice());
        assert_close(&dw.to_f64_vec().unwrap(), &naive_weight_grad(&x, &g, &c.xs, &c.ws, &c.p), 1e-12, c.name);
        // float32 runs the same kernels.
        let y32 = t32(&x, &c.xs).conv(&t32(&w, &c.ws), &c.p).unwrap();
        assert_eq!(y32.dtype(), DType::F32);
        assert_close(&y32.to_f64_vec().unwrap(), &y.to_f64_vec().unwrap(), 1e-5, c.name);
        let dw32 = t32(&x, &c.xs).conv_weight_grad(&t32(&g, &ys), &c.ws, &c.p).unwrap();
        assert_close(&dw32.to_f64_vec().unwrap(), &dw.to_f64_vec().unwrap(), 1e-4, c.name);
        let dx32 = t32(&g, &ys).conv_input_grad(&t32(&w, &c.ws), &c.xs[..c.xs.len() - 2], &c.p).unwrap();
        assert_close(&dx32.to_f64_vec().unwrap(), &dx.to_f64_vec().unwrap(), 1e-5, c.name);
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
        assert_close(&y.to_f64_vec().unwrap(), &yr, 1e-12, &format!("transposed case {i}"));
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
    assert_close(&g.to_f64_vec().unwrap(), &naive_weight_grad(&x.to_f64_vec().unwrap(), &ones, &c.xs, &c.ws, &c.p), 1e-12, "dw only");
}

// ----- conv errors ---------------------------------------------------------------------------

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
