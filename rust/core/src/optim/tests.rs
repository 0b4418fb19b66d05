use super::*;

fn t32(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape.to_vec()).unwrap()
}

fn adam(t: f64) -> Adam {
    Adam { grad_decay: 0.75, sq_grad_decay: 0.95, epsilon: 1e-8, iteration: t }
}

#[test]
fn adam_doc_example_steps_by_learn_rate() {
    let p = t32(&[0.5, 0.25, 0.75, 1.0], &[2, 2]);
    let g = t32(&[1.0; 4], &[2, 2]);
    let out = adam_step("adamupdate", vec![p.clone()], &[g], vec![None], vec![None], &[0.05], &adam(1.0)).unwrap();
    let np = out.params[0].to_f64_vec().unwrap();
    for (a, b) in np.iter().zip(p.to_f64_vec().unwrap()) {
        assert!((b - a - 0.05).abs() < 1e-6, "{a} {b}");
    }
    assert!(out.states[0][0].to_f64_vec().unwrap().iter().all(|&m| (m - 0.25).abs() < 1e-7));
    assert!(out.states[1][0].to_f64_vec().unwrap().iter().all(|&v| (v - 0.05).abs() < 1e-7));
    // The input is untouched.
    assert_eq!(p.to_f64_vec().unwrap(), vec![0.5, 0.25, 0.75, 1.0]);
}

#[test]
fn large_and_small_parameters_match_the_formula() {
    // Large enough to be split into chunks and run in parallel, plus a small one, in f64.
    let n = 3 * PAR_CHUNK + 17;
    let pv: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
    let gv: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos()).collect();
    let vv: Vec<f64> = (0..n).map(|i| 0.1 + (i % 7) as f64).collect();
    let p = Tensor::from_vec(pv.clone(), vec![n]).unwrap();
    let g = Tensor::from_vec(gv.clone(), vec![n]).unwrap();
    let v = Tensor::from_vec(vv.clone(), vec![n]).unwrap();
    let small = Tensor::from_vec(vec![1.0f64, 2.0], vec![2]).unwrap();
    let small_g = Tensor::from_vec(vec![0.5f64, -0.5], vec![2]).unwrap();
    let out = sgdm_step("sgdmupdate", vec![p, small], &[g, small_g], vec![Some(v), None], &[0.1, 0.2], &Sgdm { momentum: 0.9 }).unwrap();
    let np = out.params[0].to_f64_vec().unwrap();
    let nv = out.states[0][0].to_f64_vec().unwrap();
    for i in 0..n {
        let vel = 0.9 * vv[i] - 0.1 * gv[i];
        assert_eq!(nv[i], vel);
        assert_eq!(np[i], pv[i] + vel);
    }
    assert_eq!(out.params[1].to_f64_vec().unwrap(), vec![1.0 - 0.1, 2.0 + 0.1]);
}

#[test]
fn uniquely_owned_inputs_are_updated_in_place() {
    let p = t32(&[1.0, 2.0, 3.0], &[3]);
    let ptr = p.as_slice::<f32>().unwrap().as_ptr();
    let g = t32(&[1.0, 1.0, 1.0], &[3]);
    let out = rmsprop_step("rmspropupdate", vec![p], &[g], vec![None], &[0.1], &RmsProp { sq_grad_decay: 0.9, epsilon: 1e-8 }).unwrap();
    assert_eq!(out.params[0].as_slice::<f32>().unwrap().as_ptr(), ptr);
}

#[test]
fn errors_name_the_op() {
    let p = t32(&[1.0, 2.0], &[2]);
    let g = t32(&[1.0, 2.0, 3.0], &[3]);
    let e = sgdm_step("sgdmupdate", vec![p.clone()], &[g], vec![None], &[0.1], &Sgdm { momentum: 0.9 }).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }) && e.to_string().starts_with("sgdmupdate:"), "{e}");
    let e = adam_step("adamupdate", vec![p.clone()], std::slice::from_ref(&p), vec![None], vec![None], &[0.1], &adam(0.0)).unwrap_err();
    assert!(matches!(e, Error::Value { .. }), "{e}");
    let e = sgdm_step("sgdmupdate", vec![p.clone()], std::slice::from_ref(&p), vec![None], &[-1.0], &Sgdm { momentum: 0.9 }).unwrap_err();
    assert!(matches!(e, Error::Value { .. }), "{e}");
}

#[test]
fn dropped_generations_are_recycled() {
    let n = 1000;
    let mut p = Tensor::from_vec(vec![0.0f32; n], vec![n]).unwrap();
    let g = Tensor::from_vec(vec![1.0f32; n], vec![n]).unwrap();
    let mut vel: Option<Tensor> = None;
    let _keep = p.clone(); // the caller keeps the first parameters: never reused
    let before = pool::global().stats().hits;
    for _ in 0..4 {
        let held = (p.clone(), vel.clone()); // the caller still holds the inputs during the call
        let out = sgdm_step("sgdmupdate", vec![held.0], std::slice::from_ref(&g), vec![held.1], &[0.5], &Sgdm { momentum: 0.0 }).unwrap();
        p = out.params[0].clone();
        vel = Some(out.states[0][0].clone());
    }
    assert!(pool::global().stats().hits > before);
    assert!(p.to_f64_vec().unwrap().iter().all(|&x| x == -2.0));
    assert!(_keep.to_f64_vec().unwrap().iter().all(|&x| x == 0.0));
}

#[test]
fn in_place_and_copying_paths_agree_bitwise() {
    let n = 2 * PAR_CHUNK + 5;
    let make = |k: f32| Tensor::from_vec((0..n).map(|i| ((i as f32) * k).sin()).collect::<Vec<f32>>(), vec![n]).unwrap();
    let rule = adam(3.0);
    // Shared inputs (the caller keeps them): the copying path.
    let (p, g, m, v) = (make(0.3), make(0.7), make(0.1), make(0.2).unary(crate::ops::UnaryOp::Abs).unwrap());
    let held = (p.clone(), m.clone(), v.clone());
    let shared = adam_step("adamupdate", vec![p], std::slice::from_ref(&g), vec![Some(m)], vec![Some(v)], &[0.01], &rule).unwrap();
    // The same values moved in: the in-place path.
    let own = |t: &Tensor| Tensor::from_vec(t.as_slice::<f32>().unwrap().to_vec(), vec![n]).unwrap();
    let (p2, m2, v2) = (own(&held.0), own(&held.1), own(&held.2));
    let owned = adam_step("adamupdate", vec![p2], &[g], vec![Some(m2)], vec![Some(v2)], &[0.01], &rule).unwrap();
    assert_eq!(shared.params[0].as_slice::<f32>(), owned.params[0].as_slice::<f32>());
    assert_eq!(shared.states[0][0].as_slice::<f32>(), owned.states[0][0].as_slice::<f32>());
    assert_eq!(shared.states[1][0].as_slice::<f32>(), owned.states[1][0].as_slice::<f32>());
    // and the shared inputs did not change
    assert_eq!(held.0.as_slice::<f32>(), make(0.3).as_slice::<f32>());
}
