//! A recorded trace replays: for every op, the trace of a function and of its (higher-order)
//! gradient, run again on new inputs, gives exactly what evaluating the function and its
//! gradient there gives. The listing names every op it holds.

use std::collections::BTreeSet;
use std::sync::Arc;

use dlarray_core::autodiff::listing::listing;
use dlarray_core::autodiff::replay::replay;
use dlarray_core::autodiff::trace;
use dlarray_core::ops::conv::ConvParams;
use dlarray_core::ops::recurrent::{Activation, ResetGateMode};
use dlarray_core::{gradient, DType, GradOptions, Result, Tensor};

type Model = fn(&[Tensor]) -> Result<Vec<Tensor>>;

/// Smooth test data with no zeros (a product's gradient takes another path at zeros) and
/// no ties (a max's mask would split).
fn data(shape: &[usize], seed: f64) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|i| ((i as f64 + seed) * 1.37).sin() * 1.5 + if i % 2 == 0 { 0.31 } else { -0.29 }).collect();
    Tensor::from_vec(v, shape.to_vec()).unwrap()
}

struct Run {
    values: Vec<Tensor>,
    leaves: Vec<Tensor>,
}

/// The model's outputs and the gradient of a weighted sum of them w.r.t. every input, with
/// the gradient recorded (so it is a trace too).
fn evaluate(model: Model, inputs: &[Tensor]) -> Run {
    let token = trace::enter();
    let leaves: Vec<Tensor> = inputs.iter().map(|x| x.traced_leaf()).collect();
    let outs = model(&leaves).unwrap();
    let mut loss = Tensor::scalar_like(0.0, DType::F64);
    for (k, y) in outs.iter().enumerate() {
        let w = data(y.shape(), 7.0 + k as f64);
        loss = loss.add(&y.mul(&w).unwrap().sum_all().unwrap()).unwrap();
    }
    let opts = GradOptions { retain_data: true, enable_higher_derivatives: true, for_replay: false };
    let grads = gradient(&loss, &leaves, &opts).unwrap();
    trace::exit(token);
    Run { values: outs.into_iter().chain(grads).collect(), leaves }
}

fn same(a: &Tensor, b: &Tensor, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes");
    let (u, v) = (a.to_f64_vec().unwrap(), b.to_f64_vec().unwrap());
    for (i, (x, y)) in u.iter().zip(&v).enumerate() {
        assert!(x == y || (x.is_nan() && y.is_nan()), "{what}: element {i}: replayed {x} vs direct {y}");
    }
}

/// Replays the recorded run on `new` and compares with a direct evaluation there; returns
/// the op names the trace holds.
fn check(name: &str, model: Model, shapes: &[&[usize]]) -> BTreeSet<String> {
    let old: Vec<Tensor> = shapes.iter().enumerate().map(|(k, s)| data(s, k as f64)).collect();
    let new: Vec<Tensor> = shapes.iter().enumerate().map(|(k, s)| data(s, 3.3 + k as f64).mul_scalar(1.1).unwrap()).collect();
    let recorded = evaluate(model, &old);
    let direct = evaluate(model, &new);
    let replayed = replay(&recorded.values, &recorded.leaves, &new).unwrap();
    for (k, (r, d)) in replayed.iter().zip(&direct.values).enumerate() {
        same(r, d, &format!("{name}, value {k}"));
    }
    // The trace differs from the direct one only in its leaves' values.
    let mut ops = BTreeSet::new();
    for v in &recorded.values {
        for line in listing(v).lines() {
            let call = line.split(" = ").nth(1).unwrap();
            ops.insert(call.split(['(', ' ']).next().unwrap().to_string());
        }
    }
    ops
}

fn conv_params() -> ConvParams {
    ConvParams::new().stride(&[1, 2]).padding(&[1, 0], &[0, 1]).dilation(&[1, 1])
}

#[test]
fn every_op_replays_with_its_gradient() {
    let cases: Vec<(&str, Model, Vec<&[usize]>)> = vec![
        (
            "unary",
            |x| {
                let a = &x[0];
                let pos = a.abs()?.add_scalar(0.5)?;
                let small = a.mul_scalar(0.3)?;
                Ok(vec![
                    a.exp()?.add(&pos.log()?)?.add(&a.sin()?)?.add(&a.cos()?)?,
                    a.tanh()?.mul(&a.sigmoid()?)?.add(&pos.sqrt()?)?.add(&a.erf()?)?.add(&a.atan()?)?,
                    a.relu()?.add(&a.neg()?)?.add(&pos.log1p()?)?.add(&small.asin()?)?.add(&small.acos()?)?,
                    a.sinh()?.add(&a.cosh()?)?.add(&small.tan()?)?.add(&a.sign()?)?.add(&a.floor()?)?.add(&a.ceil()?)?.add(&a.round()?)?,
                    a.leaky_relu(0.1)?,
                ])
            },
            vec![&[3, 4]],
        ),
        (
            "binary",
            |x| {
                let (a, b) = (&x[0], &x[1]);
                let base = a.abs()?.add_scalar(0.5)?;
                Ok(vec![
                    a.add(b)?.sub(&a.mul(b)?)?.add(&a.div(b)?)?,
                    base.pow(b)?.add(&a.atan2(b)?)?,
                    a.maximum(b)?.add(&a.minimum(b)?)?,
                    Tensor::where_(&a.gt(b)?, a, &b.mul_scalar(2.0)?)?,
                ])
            },
            vec![&[3, 4], &[4]],
        ),
        (
            "complex",
            |x| {
                let z = Tensor::complex(&x[0], &x[1])?;
                let w = z.mul(&z.conj()?.add_scalar(1.0)?)?.exp()?;
                Ok(vec![w.real()?.add(&w.imag()?)?, z.abs()?, x[0].cast(DType::F32)?.cast(DType::F64)?])
            },
            vec![&[2, 3], &[3]],
        ),
        (
            "reductions",
            |x| {
                let a = &x[0];
                Ok(vec![
                    a.sum_axes(&[1], false)?,
                    a.prod_axes(&[0], true)?,
                    a.max_axes(&[0, 2], false)?.add(&a.min_axes(&[1], false)?.sum_all()?)?,
                    a.mean_axes(&[2], true)?,
                    a.cumsum(1, false)?.add(&a.cumsum(2, true)?)?,
                ])
            },
            vec![&[2, 3, 4]],
        ),
        (
            "moving data",
            |x| {
                let a = &x[0];
                let idx = Arc::new(vec![5usize, 0, 5, 11, 3]);
                Ok(vec![
                    a.permute(&[2, 0, 1])?.reshape(&[4, 6])?.flip(&[0])?,
                    a.narrow(2, 1, 2)?.pad_axis(1, 1, 2)?,
                    Tensor::concat(&[a.clone(), a.mul_scalar(2.0)?], 0)?,
                    a.sum_axes(&[0], true)?.broadcast_to(&[3, 2, 3, 4])?,
                    a.take(idx.clone(), vec![5])?.scatter_add(idx.clone(), vec![12])?,
                    a.index_put(Arc::new(vec![1, 7]), &x[1])?,
                    a.take_axis(2, Arc::new(vec![3, 1, 1]))?.index_add_axis(1, Arc::new(vec![2, 0, 1]), 3)?,
                    a.tile(&[1, 2, 1])?,
                ])
            },
            vec![&[2, 3, 4], &[2]],
        ),
        (
            "matmul and softmax",
            |x| {
                let (a, b) = (&x[0], &x[1]);
                let p = a.matmul(b)?.softmax(1)?;
                Ok(vec![
                    a.matmul_t(b, false, false)?,
                    a.matmul_t(a, true, false)?,
                    p.clone(),
                    p.softmax_log(1)?.expect("a softmax output"),
                    a.log_softmax(0)?,
                ])
            },
            vec![&[3, 4], &[4, 2]],
        ),
        (
            "convolution",
            |x| {
                let (input, w, b) = (&x[0], &x[1], &x[2]);
                let y = input.conv_bias(w, Some(b), &conv_params())?;
                let t = y.transposed_conv(w, &conv_params(), &[])?;
                Ok(vec![y, t])
            },
            // x (5, 6, C 2, N 2); w (3, 2, C 2, F 3, G 1); bias (3).
            vec![&[5, 6, 2, 2], &[3, 2, 2, 3, 1], &[3]],
        ),
        (
            "pooling",
            |x| {
                let a = &x[0];
                let m = a.maxpool(&[2, 2], &[1, 2], &[], &[])?.0;
                // Unpooling positions are an attribute, fixed when recorded: take them from
                // data that does not change between the runs.
                let idx = data(a.shape(), 99.0).maxpool(&[2, 2], &[1, 2], &[], &[])?.1;
                let u = m.maxunpool(idx, a.shape())?;
                let v = a.avgpool(&[2, 3], &[2, 1], &[1, 0], &[0, 1], true)?;
                let w = v.avgpool_backward(a.shape(), &[2, 3], &[2, 1], &[1, 0], &[0, 1], true)?;
                // Maxpool's gradient as an output, so that its own gradient is in the trace.
                let loss = m.mul(&m)?.mul(&data(m.shape(), 5.0))?.sum_all()?;
                let opts = GradOptions { retain_data: true, enable_higher_derivatives: true, for_replay: false };
                let dm = gradient(&loss, std::slice::from_ref(a), &opts)?.remove(0);
                Ok(vec![m, u, v, w, dm])
            },
            vec![&[4, 5, 2, 2]],
        ),
        (
            "normalisation",
            |x| {
                let (a, off, sc) = (&x[0], &x[1], &x[2]);
                let (y, mean, var) = a.batchnorm_train(off, sc, 1, 1e-5)?;
                Ok(vec![y, mean, var, a.standardize(&[0, 2], 1e-5)?])
            },
            vec![&[3, 2, 4], &[2], &[2]],
        ),
        (
            "recurrent",
            |x| {
                let (y, h, c) = Tensor::lstm(&x[0], &x[1], &x[2], &x[3], &x[4], &x[5], Activation::Tanh, Activation::Sigmoid)?;
                let (g, gh) = Tensor::gru(
                    &x[0],
                    &x[1],
                    &x[6],
                    &x[7],
                    &x[8],
                    ResetGateMode::AfterMultiplication,
                    Activation::Tanh,
                    Activation::Sigmoid,
                )?;
                Ok(vec![y, h, c, g, gh])
            },
            // x (C 2, B 3, T 4), H = 2: LSTM weights (8, 2), (8, 2), (8); GRU (6, 2), (6, 2), (6).
            vec![&[2, 3, 4], &[2, 3], &[2, 3], &[8, 2], &[8, 2], &[8], &[6, 2], &[6, 2], &[6]],
        ),
    ];
    let mut seen = BTreeSet::new();
    for (name, model, shapes) in cases {
        seen.extend(check(name, model, &shapes));
    }
    // Forward ops and the ops their gradients are made of.
    let expected = [
        "abs",
        "acos",
        "add",
        "alias",
        "asin",
        "atan",
        "atan2",
        "avgpool",
        "avgpool_backward",
        "batchnorm",
        "batchnorm_mean",
        "batchnorm_var",
        "broadcast_to",
        "cast",
        "ceil",
        "complex",
        "concatenate",
        "conj",
        "cos",
        "cosh",
        "cumsum",
        "divide",
        "dlconv",
        "dlconv_input_grad",
        "dlconv_weight_grad",
        "eq",
        "erf",
        "exp",
        "flip",
        "floor",
        "gru",
        "gt",
        "imag",
        "index",
        "index_add",
        "index_put",
        "leaf",
        "leakyrelu",
        "leakyrelu_slope",
        "log",
        "log1p",
        "log_softmax",
        "lstm",
        "lt",
        "max",
        "maximum",
        "maxpool",
        "maxpool_backward",
        "maxpool_gather",
        "maxunpool",
        "min",
        "minimum",
        "multiply",
        "narrow",
        "neg",
        "pad",
        "pagemtimes",
        "permute",
        "power",
        "prod",
        "real",
        "relu",
        "relu_grad",
        "reshape",
        "round",
        "scatter_add",
        "sigmoid",
        "sign",
        "sin",
        "sinh",
        "softmax",
        "sqrt",
        "standardize",
        "stop_gradient",
        "subtract",
        "sum",
        "tan",
        "tanh",
        "where",
    ];
    let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    let missing: Vec<_> = expected.difference(&seen).collect();
    assert!(missing.is_empty(), "ops never replayed: {missing:?}");
}

#[test]
fn a_constant_gradient_replays() {
    // The gradient of sum(2x) is the constant 2, attached to x so it differentiates again.
    let check_at = |v: f64| {
        let token = trace::enter();
        let x = Tensor::from_vec(vec![v, v + 1.0], vec![2]).unwrap().traced_leaf();
        let y = x.mul_scalar(2.0).unwrap().sum_all().unwrap();
        let g =
            gradient(&y, std::slice::from_ref(&x), &GradOptions { retain_data: true, enable_higher_derivatives: true, for_replay: false })
                .unwrap()
                .remove(0);
        trace::exit(token);
        (x, g)
    };
    let (x, g) = check_at(1.0);
    assert!(listing(&g).contains("constant_gradient"), "{}", listing(&g));
    let new = Tensor::from_vec(vec![5.0f64, 6.0], vec![2]).unwrap();
    let r = replay(std::slice::from_ref(&g), std::slice::from_ref(&x), &[new]).unwrap();
    assert_eq!(r[0].to_f64_vec().unwrap(), vec![2.0, 2.0]);
}

#[test]
fn a_replay_while_recording_is_differentiable() {
    let token = trace::enter();
    let x = data(&[3], 0.0).traced_leaf();
    let y = x.mul(&x).unwrap().sin().unwrap().sum_all().unwrap();
    let x2 = data(&[3], 1.0).traced_leaf();
    let y2 = replay(std::slice::from_ref(&y), std::slice::from_ref(&x), std::slice::from_ref(&x2)).unwrap().remove(0);
    let opts = GradOptions { retain_data: true, enable_higher_derivatives: false, for_replay: false };
    let g = gradient(&y2, std::slice::from_ref(&x2), &opts).unwrap().remove(0);
    trace::exit(token);
    // d/dx Σ sin(x²) = 2x cos(x²).
    let want: Vec<f64> = x2.to_f64_vec().unwrap().iter().map(|v| 2.0 * v * (v * v).cos()).collect();
    for (a, b) in g.to_f64_vec().unwrap().iter().zip(&want) {
        assert!((a - b).abs() < 1e-14, "{a} vs {b}");
    }
}

#[test]
fn the_listing_shows_ops_inputs_and_attributes() {
    let token = trace::enter();
    let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], vec![2, 2]).unwrap().traced_leaf();
    let c = Tensor::from_vec(vec![10.0f64, 20.0], vec![2]).unwrap();
    let y = x.mul(&c).unwrap().sum_axes(&[1], false).unwrap();
    trace::exit(token);
    assert_eq!(
        listing(&y),
        "%0 = leaf  [2, 2] float64\n\
         %1 = multiply(%0, const[2])  [2, 2] float64\n\
         %2 = sum(%1, axes=[1])  [2, 1] float64\n\
         %3 = reshape(%2, shape=[2])  [2] float64\n"
    );
}

#[test]
fn replay_refuses_replacements_that_do_not_fit() {
    let token = trace::enter();
    let x = data(&[3], 0.0).traced_leaf();
    let y = x.exp().unwrap();
    trace::exit(token);
    let err = replay(std::slice::from_ref(&y), std::slice::from_ref(&x), &[data(&[4], 0.0)]).unwrap_err();
    assert!(err.to_string().contains("replay") && err.to_string().contains("[4]"), "{err}");
    assert!(replay(std::slice::from_ref(&y), std::slice::from_ref(&x), &[]).is_err());
}

#[test]
fn a_plan_drops_dead_ops_merges_repeats_and_outlives_its_trace() {
    use dlarray_core::autodiff::replay::Plan;
    let token = trace::enter();
    let x = data(&[4], 0.0).traced_leaf();
    let _unused = x.cos().unwrap();
    // exp(x) twice: one op in the plan.
    let y = x.exp().unwrap().add(&x.exp().unwrap()).unwrap();
    let plan = Plan::compile(std::slice::from_ref(&y), std::slice::from_ref(&x));
    trace::exit(token);
    assert_eq!(plan.len(), 2, "exp and add");
    drop((x, y));
    let new = data(&[4], 2.0);
    let out = plan.run(std::slice::from_ref(&new)).unwrap().remove(0);
    // The same bits as running the ops eagerly (the core's exp is its own, within 2 ulp of libm's).
    let want = new.exp().unwrap().add(&new.exp().unwrap()).unwrap();
    assert_eq!(out.to_f64_vec().unwrap(), want.to_f64_vec().unwrap());
    assert!(!out.is_traced(), "not recording: the result is a plain value");
}

/// `sigmoid(x * w + b) * relu(x) - exp(-x) / 2` and its gradient: the compiled plan runs the
/// elementwise chains as fused groups, which give the same bits as running op by op (while
/// recording, a plan runs op by op), for any size (a block, a partial block, the parallel
/// path, one element, none) and both real dtypes.
#[test]
fn fused_elementwise_chains_give_the_same_bits_as_op_by_op() {
    use dlarray_core::autodiff::replay::Plan;
    use dlarray_core::ops::unary::UnaryOp;
    for dtype in [DType::F64, DType::F32] {
        for n in [0usize, 1, 511, 513, 3 * 8192 + 7, 300_000] {
            let cast = |t: Tensor| t.cast(dtype).unwrap();
            let token = trace::enter();
            let x = cast(data(&[n], 0.0)).traced_leaf();
            let w = cast(data(&[n], 1.0)).traced_leaf();
            let b = cast(data(&[1], 2.0)).traced_leaf();
            let z = x.mul(&w).unwrap().add(&b).unwrap().unary(UnaryOp::Sigmoid).unwrap();
            let r = x.unary(UnaryOp::Relu).unwrap();
            let e = x.unary(UnaryOp::Neg).unwrap().unary(UnaryOp::Exp).unwrap().mul_scalar(0.5).unwrap();
            let y = z.mul(&r).unwrap().sub(&e).unwrap();
            let loss = y.sum_all().unwrap();
            let opts = GradOptions { retain_data: true, enable_higher_derivatives: true, for_replay: false };
            let grads = gradient(&loss, &[x.clone(), w.clone(), b.clone()], &opts).unwrap();
            let outs: Vec<Tensor> = std::iter::once(y.clone()).chain(grads).collect();
            let leaves = [x.clone(), w.clone(), b.clone()];
            let plan = Plan::compile(&outs, &leaves);
            trace::exit(token);

            let (steps, groups) = plan.fused_len();
            assert!(groups >= 2, "{dtype} n={n}: the forward and backward chains are fused ({groups} groups)");
            assert!(steps < plan.len(), "{dtype} n={n}: {steps} fused steps vs {} ops", plan.len());

            let new = [cast(data(&[n], 4.0)), cast(data(&[n], 5.0)), cast(data(&[1], 6.0))];
            let fused = plan.run(&new).unwrap();
            let token = trace::enter();
            let op_by_op = plan.run(&new).unwrap();
            trace::exit(token);
            for (k, (f, o)) in fused.iter().zip(&op_by_op).enumerate() {
                assert_eq!(f.dtype(), dtype);
                same(f, o, &format!("{dtype} n={n}, output {k}"));
            }
        }
    }
}

/// A bias of one row or one column, and a scalar, broadcast inside a fused group: the same
/// bits as op by op, for blocks that start and end inside rows.
#[test]
fn fused_groups_read_broadcast_operands() {
    use dlarray_core::autodiff::replay::Plan;
    use dlarray_core::ops::unary::UnaryOp;
    for dtype in [DType::F64, DType::F32] {
        for (r, c) in [(3usize, 5usize), (7, 300), (1000, 70), (0, 4), (4, 1)] {
            let cast = |t: Tensor| t.cast(dtype).unwrap();
            let token = trace::enter();
            let x = cast(data(&[r, c], 0.0)).traced_leaf();
            let column = cast(data(&[r, 1], 1.0)).traced_leaf();
            let row = cast(data(&[c], 2.0)).traced_leaf();
            let s = cast(data(&[1, 1], 3.0)).traced_leaf();
            let h = x.add(&column).unwrap().unary(UnaryOp::Tanh).unwrap().mul(&row).unwrap().sub(&s).unwrap();
            let y = h.mul(&h).unwrap();
            let plan = Plan::compile(std::slice::from_ref(&y), &[x.clone(), column.clone(), row.clone(), s.clone()]);
            trace::exit(token);
            assert_eq!(plan.fused_len(), (2, 1), "{dtype} {r}x{c}: one group up to h (read twice), then h * h");

            let new = [cast(data(&[r, c], 4.0)), cast(data(&[r, 1], 5.0)), cast(data(&[c], 6.0)), cast(data(&[1, 1], 7.0))];
            let fused = plan.run(&new).unwrap();
            let token = trace::enter();
            let op_by_op = plan.run(&new).unwrap();
            trace::exit(token);
            same(&fused[0], &op_by_op[0], &format!("{dtype} {r}x{c}"));
        }
    }
}

#[test]
fn a_first_order_pass_recorded_for_replay_replays_exactly() {
    // batchnorm → relu → maxpool, its gradient recorded for a replay only: batchnorm's fused
    // gradient ops, and the maxpool backward linked to the forward's positions.
    fn model_and_grads(inputs: &[Tensor], for_replay: bool) -> (Vec<Tensor>, Vec<Tensor>) {
        let token = trace::enter();
        let leaves: Vec<Tensor> = inputs.iter().map(|x| x.traced_leaf()).collect();
        let (y, _, _) = leaves[0].batchnorm_train(&leaves[1], &leaves[2], 2, 1e-5).unwrap();
        let (p, _) = y.relu().unwrap().maxpool(&[2, 2], &[2, 2], &[], &[]).unwrap();
        let loss = p.mul(&data(p.shape(), 9.0)).unwrap().sum_all().unwrap();
        let opts = GradOptions { retain_data: true, enable_higher_derivatives: true, for_replay };
        let grads = gradient(&loss, &leaves, &opts).unwrap();
        trace::exit(token);
        (std::iter::once(loss).chain(grads).collect(), leaves)
    }
    let shapes: [&[usize]; 3] = [&[4, 6, 3, 2], &[3], &[3]];
    let old: Vec<Tensor> = shapes.iter().enumerate().map(|(k, s)| data(s, k as f64)).collect();
    let new: Vec<Tensor> = shapes.iter().enumerate().map(|(k, s)| data(s, 2.1 + k as f64).mul_scalar(1.3).unwrap()).collect();
    let (outs, leaves) = model_and_grads(&old, true);
    let text = listing(&outs[1]);
    assert!(text.contains("batchnorm_input_grad") && text.contains("maxpool_backward"), "{text}");
    let replayed = replay(&outs, &leaves, &new).unwrap();
    let (direct, _) = model_and_grads(&new, false);
    for (k, (r, d)) in replayed.iter().zip(&direct).enumerate() {
        let (u, v) = (r.to_f64_vec().unwrap(), d.to_f64_vec().unwrap());
        for (x, y) in u.iter().zip(&v) {
            assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "output {k}: replayed {x} vs direct {y}");
        }
    }
}
