//! Regression tests for fixes found by the Python suite: gradients computed with higher
//! derivatives are always traced (so differentiating them again gives exact zeros instead of
//! an error), and reductions of arrays with a zero-size dim do not panic.

use dlarray_core::autodiff::trace;
use dlarray_core::{gradient, DType, GradOptions, Tensor};

fn opts(higher: bool) -> GradOptions {
    GradOptions { retain_data: false, enable_higher_derivatives: higher, for_replay: false }
}

/// Runs `f` inside a tracing scope (what `dlfeval` does).
fn in_dlfeval<R>(f: impl FnOnce() -> R) -> R {
    let token = trace::enter();
    let r = f();
    trace::exit(token);
    r
}

#[test]
fn gradient_of_a_linear_function_is_traced_with_higher_derivatives() {
    in_dlfeval(|| {
        let x = Tensor::from_vec(vec![1.0f64, -2.0, 3.0], vec![3]).unwrap().traced_leaf();
        // y = sum(-x): dy/dx = -1 everywhere, a constant that no traced value produces.
        let y = x.neg().unwrap().sum_all().unwrap();
        let g = gradient(&y, std::slice::from_ref(&x), &opts(true)).unwrap().remove(0);
        assert!(g.is_traced());
        assert_eq!(g.to_f64_vec().unwrap(), vec![-1.0, -1.0, -1.0]);
        let h = g.mul(&x).unwrap().sum_all().unwrap();
        let keep = GradOptions { retain_data: true, enable_higher_derivatives: false, for_replay: false };
        let g2 = gradient(&h, std::slice::from_ref(&x), &keep).unwrap().remove(0);
        // d/dx sum(g * x) with g constant = g.
        assert_eq!(g2.to_f64_vec().unwrap(), vec![-1.0, -1.0, -1.0]);
        let h2 = g.sum_all().unwrap();
        let g3 = gradient(&h2, std::slice::from_ref(&x), &opts(false)).unwrap().remove(0);
        assert_eq!(g3.to_f64_vec().unwrap(), vec![0.0, 0.0, 0.0]);
    });
}

#[test]
fn unreached_input_gets_traced_zeros_with_higher_derivatives() {
    in_dlfeval(|| {
        let x = Tensor::from_vec(vec![0.5f64, 1.5], vec![2]).unwrap().traced_leaf();
        let z = Tensor::from_vec(vec![2.0f64], vec![1]).unwrap().traced_leaf();
        // floor has zero gradient, so y does not reach x through any nonzero path.
        let y = x.floor().unwrap().mul(&z).unwrap().sum_all().unwrap();
        let g = gradient(&y, &[x.clone(), z.clone()], &opts(true)).unwrap();
        assert!(g[0].is_traced() && g[1].is_traced());
        assert_eq!(g[0].to_f64_vec().unwrap(), vec![0.0, 0.0]);
        assert_eq!(g[1].to_f64_vec().unwrap(), vec![1.0]);
        let h = g[0].sum_all().unwrap();
        let gg = gradient(&h, std::slice::from_ref(&x), &opts(false)).unwrap().remove(0);
        assert_eq!(gg.to_f64_vec().unwrap(), vec![0.0, 0.0]);
    });
}

#[test]
fn first_order_gradients_stay_untraced() {
    in_dlfeval(|| {
        let x = Tensor::from_vec(vec![1.0f64], vec![1]).unwrap().traced_leaf();
        let y = x.mul(&x).unwrap().sum_all().unwrap();
        let g = gradient(&y, std::slice::from_ref(&x), &opts(false)).unwrap().remove(0);
        assert!(!g.is_traced());
        assert!(gradient(&g.sum_all().unwrap(), std::slice::from_ref(&x), &opts(false)).is_err());
    });
}

#[test]
fn reductions_of_arrays_with_an_empty_dim() {
    for shape in [vec![2usize, 0], vec![0, 3], vec![2, 0, 3]] {
        let x = Tensor::zeros(&shape, DType::F64);
        let s = x.sum_axes(&[0], false).unwrap();
        let mut expected: Vec<usize> = shape[1..].to_vec();
        assert_eq!(s.shape(), &expected[..]);
        assert!(s.to_f64_vec().unwrap().iter().all(|&v| v == 0.0));
        let p = x.prod_axes(&[0], true).unwrap();
        expected.insert(0, 1);
        assert_eq!(p.shape(), &expected[..]);
        assert!(p.to_f64_vec().unwrap().iter().all(|&v| v == 1.0));
        assert_eq!(x.sum_all().unwrap().to_f64_vec().unwrap(), vec![0.0]);
    }
    // max over a non-empty axis of an array that is empty elsewhere is empty, not an error.
    let x = Tensor::zeros(&[2, 0], DType::F32);
    assert_eq!(x.max_axes(&[0], false).unwrap().shape(), &[0]);
    assert!(x.max_axes(&[1], false).is_err());
}

#[test]
fn gradient_through_an_empty_reduction() {
    in_dlfeval(|| {
        let x = Tensor::zeros(&[2, 0], DType::F64).traced_leaf();
        let y = x.sum_axes(&[0], false).unwrap().sum_all().unwrap();
        let g = gradient(&y, std::slice::from_ref(&x), &opts(false)).unwrap().remove(0);
        assert_eq!(g.shape(), &[2, 0]);
    });
}
