//! What the convolution and pooling tests share: deterministic data, index helpers, and
//! gradient checks of first to third order against central finite differences.

// Each test file uses its own part of these helpers.
#![allow(dead_code)]

use dlarray_core::autodiff::trace;
use dlarray_core::{gradient, Error, GradOptions, Result, Tensor};

// ----- helpers -------------------------------------------------------------------------------

/// Deterministic values in [-1, 1).
pub fn rand_vec(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

pub fn numel(s: &[usize]) -> usize {
    s.iter().product()
}

pub fn t64(v: &[f64], s: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), s.to_vec()).unwrap()
}

pub fn t32(v: &[f64], s: &[usize]) -> Tensor {
    Tensor::from_vec(v.iter().map(|&x| x as f32).collect::<Vec<f32>>(), s.to_vec()).unwrap()
}

/// Every multi-index of `shape`, row-major.
pub fn multi(shape: &[usize]) -> Vec<Vec<usize>> {
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

pub fn flat(shape: &[usize], idx: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i)
}

pub fn per_dim(v: &[usize], d: usize, default: usize) -> Vec<usize> {
    match v.len() {
        0 => vec![default; d],
        1 => vec![v[0]; d],
        _ => v.to_vec(),
    }
}

pub fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{what}: element {i}: {x} vs {y}");
    }
}

pub fn opts(higher: bool) -> GradOptions {
    GradOptions { retain_data: false, enable_higher_derivatives: higher, for_replay: false }
}

pub type Inputs = Vec<(Vec<f64>, Vec<usize>)>;
pub type ScalarFn = dyn Fn(&[Tensor]) -> Result<Tensor>;

/// Value of `f` at the given inputs (f64, untraced).
pub fn value(f: &ScalarFn, inputs: &Inputs) -> f64 {
    let ts: Vec<Tensor> = inputs.iter().map(|(v, s)| t64(v, s)).collect();
    f(&ts).unwrap().item().unwrap().re
}

/// Gradients of order `order` (1, 2 or 3) of a chain of scalar functionals:
/// order 1: ∇f; order 2: ∇ Σ_i Σ(∇_i f)²·A_i; order 3: ∇ Σ_i Σ(order-2 gradient)_i·B_i.
pub fn grad_chain(f: &ScalarFn, inputs: &Inputs, order: usize, a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
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
    gs.iter().map(|g| g.to_f64_vec().unwrap()).collect()
}

/// The scalar whose gradient `grad_chain(order)` computes, evaluated numerically.
pub fn chain_value(f: &ScalarFn, inputs: &Inputs, order: usize, a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
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
pub fn check_grad(f: &ScalarFn, inputs: &Inputs, order: usize, what: &str) {
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

pub fn msg(e: Error) -> String {
    e.to_string()
}

pub fn out_len(s: usize, k: usize, st: usize, dil: usize, pb: usize, pa: usize) -> usize {
    (s + pb + pa - dil * (k - 1) - 1) / st + 1
}

pub fn cat(a: &[usize], b: &[usize]) -> Vec<usize> {
    a.iter().chain(b).copied().collect()
}
