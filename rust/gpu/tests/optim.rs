//! The fused optimizer steps against a CPU reference of the same formulas: every rule, with
//! given and with zero (`[]`) states, float32 and (where the adapter has it) float64; the
//! inputs are left unchanged; bad arguments are typed errors.
#![cfg(feature = "gpu")]

mod common;

use common::{assert_close, data, gpu};
use dlarray_gpu::kernels::optim::{step, OptimRule};
use dlarray_gpu::{GpuBuffer, GpuError};

/// The rule's update of one element in float64 (the CPU kernel's formulas, `optim/rules.rs`).
fn reference(rule: OptimRule, k: &[f64; 6], p: f64, g: f64, s0: f64, s1: f64) -> (f64, f64, f64) {
    match rule {
        OptimRule::Adam => {
            let m = k[0] * s0 + k[1] * g;
            let v = k[2] * s1 + k[3] * (g * g);
            (p - k[5] * m / (v.sqrt() + k[4]), m, v)
        }
        OptimRule::RmsProp => {
            let s = k[0] * s0 + k[1] * (g * g);
            (p - k[3] * g / (s.sqrt() + k[2]), s, 0.0)
        }
        OptimRule::Sgdm => {
            let v = k[0] * s0 - k[1] * g;
            (p + v, v, 0.0)
        }
    }
}

fn consts(rule: OptimRule) -> [f64; 6] {
    match rule {
        // Adam at iteration 3 with lr 0.01: step = lr·√(1−β₂³)/(1−β₁³).
        OptimRule::Adam => [0.9, 0.1, 0.999, 0.001, 1e-8, 0.01 * (1.0f64 - 0.999f64.powi(3)).sqrt() / (1.0 - 0.9f64.powi(3))],
        OptimRule::RmsProp => [0.9, 0.1, 1e-8, 0.01, 0.0, 0.0],
        OptimRule::Sgdm => [0.9, 0.05, 0.0, 0.0, 0.0, 0.0],
    }
}

const RULES: [OptimRule; 3] = [OptimRule::Adam, OptimRule::RmsProp, OptimRule::Sgdm];

#[test]
fn every_rule_matches_the_cpu_formulas_with_given_and_zero_states() {
    let Some(_) = gpu() else { return };
    // Past one workgroup, not a multiple of it.
    let n = 1000;
    let (p, g) = (data(n, 1, -2.0, 2.0), data(n, 2, -1.0, 1.0));
    // Squared-gradient averages are nonnegative; momentum and first moments take any sign.
    let s = [data(n, 3, -0.5, 0.5), data(n, 4, 0.0, 0.3)];
    let (pb, gb) = (GpuBuffer::from_f32(&p).unwrap(), GpuBuffer::from_f32(&g).unwrap());
    for rule in RULES {
        let k = consts(rule);
        let first = if rule == OptimRule::Adam { 0 } else { 1 };
        let chosen: Vec<&Vec<f32>> = (0..rule.states()).map(|j| &s[first + j]).collect();
        let sb: Vec<GpuBuffer> = chosen.iter().map(|v| GpuBuffer::from_f32(v).unwrap()).collect();
        for given in [true, false] {
            let states: Vec<Option<&GpuBuffer>> = sb.iter().map(|b| given.then_some(b)).collect();
            let (np, ns) = step(rule, &k, &pb, &gb, &states).unwrap();
            assert_eq!(ns.len(), rule.states());
            let mut want = (Vec::new(), Vec::new(), Vec::new());
            for i in 0..n {
                let st = |j: usize| if given && j < chosen.len() { chosen[j][i] as f64 } else { 0.0 };
                let kf = k.map(|c| c as f32 as f64);
                let (a, b, c) = reference(rule, &kf, p[i] as f64, g[i] as f64, st(0), st(1));
                want.0.push(a as f32);
                want.1.push(b as f32);
                want.2.push(c as f32);
            }
            let what = format!("{rule:?} given={given}");
            assert_close(&np.to_f32_vec().unwrap(), &want.0, 1e-5, 1e-6, &format!("{what}: parameter"));
            assert_close(&ns[0].to_f32_vec().unwrap(), &want.1, 1e-5, 1e-7, &format!("{what}: state 1"));
            if rule.states() == 2 {
                assert_close(&ns[1].to_f32_vec().unwrap(), &want.2, 1e-5, 1e-9, &format!("{what}: state 2"));
            }
        }
        for (b, v) in sb.iter().zip(&chosen) {
            assert_eq!(&b.to_f32_vec().unwrap(), *v, "{rule:?}: a state input is unchanged");
        }
    }
    assert_eq!(pb.to_f32_vec().unwrap(), p, "the parameter input is unchanged");
    assert_eq!(gb.to_f32_vec().unwrap(), g, "the gradient input is unchanged");
}

#[test]
fn float64_steps_run_at_double_precision_where_the_adapter_has_it() {
    let Some(gp) = gpu() else { return };
    let n = 300;
    let p: Vec<f64> = data(n, 5, -1.0, 1.0).iter().map(|&v| v as f64 + 1e-12).collect();
    let g: Vec<f64> = data(n, 6, -1.0, 1.0).iter().map(|&v| v as f64 / 3.0).collect();
    if !gp.info().shader_f64 {
        assert!(matches!(GpuBuffer::from_f64(&p), Err(GpuError::UnsupportedDType { .. })));
        return;
    }
    let (pb, gb) = (GpuBuffer::from_f64(&p).unwrap(), GpuBuffer::from_f64(&g).unwrap());
    let m: Vec<f64> = g.iter().map(|v| v * 0.1).collect();
    let v: Vec<f64> = g.iter().map(|v| v * v * 0.01).collect();
    let (mb, vb) = (GpuBuffer::from_f64(&m).unwrap(), GpuBuffer::from_f64(&v).unwrap());
    let k = consts(OptimRule::Adam);
    let (np, ns) = step(OptimRule::Adam, &k, &pb, &gb, &[Some(&mb), Some(&vb)]).unwrap();
    let (np, nm, nv) = (np.to_f64_vec().unwrap(), ns[0].to_f64_vec().unwrap(), ns[1].to_f64_vec().unwrap());
    for i in 0..n {
        let (a, b, c) = reference(OptimRule::Adam, &k, p[i], g[i], m[i], v[i]);
        // A few ulps: the sqrt and the division may be rounded differently, float64's digits remain.
        assert!((np[i] - a).abs() <= 1e-14 * a.abs().max(1.0), "parameter {i}: {} vs {a}", np[i]);
        assert!((nm[i] - b).abs() <= 1e-15 * b.abs().max(1e-3), "m {i}");
        assert!((nv[i] - c).abs() <= 1e-15 * c.abs().max(1e-6), "v {i}");
    }
}

#[test]
fn mismatched_arguments_are_typed_errors() {
    let Some(_) = gpu() else { return };
    let p = GpuBuffer::from_f32(&[1.0; 8]).unwrap();
    let short = GpuBuffer::from_f32(&[1.0; 7]).unwrap();
    let k = consts(OptimRule::Sgdm);
    let bad = |r: Result<(GpuBuffer, Vec<GpuBuffer>), GpuError>| matches!(r, Err(GpuError::InvalidArgument(_)));
    assert!(bad(step(OptimRule::Sgdm, &k, &p, &short, &[None])), "a gradient of another length");
    assert!(bad(step(OptimRule::Sgdm, &k, &p, &p, &[Some(&short)])), "a state of another length");
    assert!(bad(step(OptimRule::Adam, &k, &p, &p, &[None])), "too few states");
    assert!(bad(step(OptimRule::RmsProp, &k, &p, &p, &[None, None])), "too many states");
    // An empty parameter is a valid step with nothing to do.
    let e = GpuBuffer::from_f32(&[]).unwrap();
    let (np, ns) = step(OptimRule::Adam, &consts(OptimRule::Adam), &e, &e, &[None, None]).unwrap();
    assert!(np.is_empty() && ns.iter().all(GpuBuffer::is_empty));
}
