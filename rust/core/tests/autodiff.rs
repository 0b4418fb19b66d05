use dlarray_core::autodiff::trace;
use dlarray_core::{gradient, GradOptions, Tensor};

fn opts(higher: bool) -> GradOptions {
    GradOptions { retain_data: false, enable_higher_derivatives: higher, for_replay: false }
}

fn scalar(v: f64) -> Tensor {
    Tensor::from_vec(vec![v], vec![]).unwrap()
}

#[test]
fn second_derivative_of_cube() {
    let t = trace::enter();
    let x = scalar(5.0).traced_leaf();
    let y = x.pow(&scalar(3.0)).unwrap();
    let dy = gradient(&y, std::slice::from_ref(&x), &opts(true)).unwrap().remove(0);
    assert_eq!(dy.item().unwrap().re, 75.0);
    let d2 = gradient(&dy, std::slice::from_ref(&x), &opts(false)).unwrap().remove(0);
    assert_eq!(d2.item().unwrap().re, 30.0);
    trace::exit(t);
}

#[test]
fn rosenbrock_gradient() {
    let t = trace::enter();
    let x = Tensor::from_vec(vec![-1.0f64, 2.0], vec![2]).unwrap().traced_leaf();
    let x0 = x.narrow(0, 0, 1).unwrap();
    let x1 = x.narrow(0, 1, 1).unwrap();
    let a = x1.sub(&x0.mul(&x0).unwrap()).unwrap();
    let b = scalar(1.0).sub(&x0).unwrap();
    let y = a.mul(&a).unwrap().mul_scalar(100.0).unwrap().add(&b.mul(&b).unwrap()).unwrap().sum_all().unwrap();
    let g = gradient(&y, std::slice::from_ref(&x), &opts(false)).unwrap().remove(0);
    assert_eq!(g.to_f64_vec().unwrap(), vec![396.0, 200.0]);
    trace::exit(t);
}

#[test]
fn matmul_shapes_and_gradient() {
    let t = trace::enter();
    let a = Tensor::from_vec((0..6).map(|v| v as f64).collect(), vec![2, 3]).unwrap().traced_leaf();
    let b = Tensor::from_vec((0..12).map(|v| v as f64).collect(), vec![3, 4]).unwrap().traced_leaf();
    let c = a.matmul(&b).unwrap();
    assert_eq!(c.shape(), &[2, 4]);
    assert_eq!(c.to_f64_vec().unwrap()[0], 0.0 * 0.0 + 1.0 * 4.0 + 2.0 * 8.0);
    let g = gradient(&c.sum_all().unwrap(), &[a.clone(), b.clone()], &opts(false)).unwrap();
    // d/da sum(a@b) = row sums of b, for every row of a.
    assert_eq!(g[0].to_f64_vec().unwrap()[..3], [6.0, 22.0, 38.0]);
    assert_eq!(g[1].to_f64_vec().unwrap()[..4], [3.0, 3.0, 3.0, 3.0]);
    trace::exit(t);
}

#[test]
fn errors_are_typed() {
    let x = scalar(1.0);
    assert!(matches!(gradient(&x, std::slice::from_ref(&x), &opts(false)), Err(dlarray_core::Error::Autodiff { .. })));
    let a = Tensor::zeros(&[3], dlarray_core::DType::F32);
    let b = Tensor::zeros(&[4], dlarray_core::DType::F32);
    assert!(matches!(a.add(&b), Err(dlarray_core::Error::Shape { .. })));
}
