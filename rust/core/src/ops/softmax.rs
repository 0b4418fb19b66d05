//! Softmax and log-softmax along one axis, and the log of a softmax output taken from its
//! logits.
//!
//! A softmax output remembers its logits ([`crate::tensor::SoftmaxOf`]). `log` of it by the
//! probabilities loses everything once a probability drops below the smallest float (and a
//! loss that bounds it by eps, as MATLAB's crossentropy does, flattens out far sooner);
//! [`Tensor::softmax_log`] takes the same value from the logits instead, exactly, and its
//! gradient goes straight to the logits as `g − p·Σg` (the shortcut of [`crate::autodiff::Op::shortcut_target`]).

use crate::buffer::Buffer;
use crate::dtype::Real;
use crate::error::{Error, Result};
use crate::kernels::softmax::softmax_axis;
use crate::op::OpKind;
use crate::storage::Storage;
use crate::tensor::Tensor;

fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

fn kernel(op: &str, x: &Tensor, axis: usize, log: bool) -> Result<Storage> {
    if axis >= x.ndim() {
        return Err(Error::index(op, format!("axis {axis} is out of bounds for shape {:?}", x.shape())));
    }
    if let Some(data) = crate::gpu_backend::softmax(x, axis, log)? {
        return Ok(data);
    }
    let (o, n, i) = split(x.shape(), axis);
    fn run<T: Real>(v: &[T], o: usize, n: usize, i: usize, log: bool) -> Vec<T> {
        softmax_axis(v, o, n, i, log)
    }
    Ok(Storage::from(match x.buffer()? {
        Buffer::F32(v) => Buffer::F32(run(v, o, n, i, log).into()),
        Buffer::F64(v) => Buffer::F64(run(v, o, n, i, log).into()),
        b => return Err(Error::dtype(op, format!("needs real float32/float64 data, got {} (shape {:?})", b.dtype(), x.shape()))),
    }))
}

impl Tensor {
    /// `exp(x) / Σ exp(x)` along `axis` (the maximum is subtracted first, so nothing
    /// overflows). The result remembers `self` as its logits.
    pub fn softmax(&self, axis: usize) -> Result<Tensor> {
        const OP: &str = "softmax";
        let data = kernel(OP, self, axis, false)?;
        let y = Tensor::from_op_storage(data, self.shape().to_vec(), OpKind::Softmax { axis }, &[self]);
        Ok(y.with_softmax_of(self, axis))
    }

    /// `x − log Σ exp(x)` along `axis`, computed without forming the probabilities.
    pub fn log_softmax(&self, axis: usize) -> Result<Tensor> {
        const OP: &str = "log_softmax";
        let data = kernel(OP, self, axis, true)?;
        Ok(Tensor::from_op_storage(data, self.shape().to_vec(), OpKind::LogSoftmax { axis }, &[self]))
    }

    /// `log(self)` taken from the logits, when `self` is a softmax output along `axis`; `None`
    /// otherwise (also for a softmax along another axis). The gradient reaches the logits
    /// directly; asked for `self` itself, it is `g / self`, as for `log`.
    pub fn softmax_log(&self, axis: usize) -> Result<Option<Tensor>> {
        const OP: &str = "log_softmax";
        let Some(link) = self.softmax_of().filter(|l| l.axis == axis) else { return Ok(None) };
        let data = kernel(OP, &link.logits, axis, true)?;
        Ok(Some(Tensor::from_op_storage(data, self.shape().to_vec(), OpKind::SoftmaxLog { axis }, &[self])))
    }
}

#[cfg(test)]
mod tests {
    use crate::autodiff::{grad::GradOptions, gradient, trace};
    use crate::tensor::Tensor;

    use crate::ops::test_data as data;

    fn first_order() -> GradOptions {
        GradOptions { retain_data: false, enable_higher_derivatives: false, for_replay: false }
    }

    /// loss = Σ w ⊙ log(p) with p = softmax(x) over axis 1 of a (2, 4, 3) array.
    fn loss_and_grads(x: &Tensor, w: &Tensor, fused: bool, ask_p: bool) -> (f64, Vec<Vec<f64>>) {
        let tok = trace::enter();
        let xs = x.traced_leaf();
        let p = xs.softmax(1).unwrap();
        let lp = if fused { p.softmax_log(1).unwrap().expect("a softmax output") } else { p.log().unwrap() };
        let loss = lp.mul(w).unwrap().sum_all().unwrap();
        let wrt = if ask_p { vec![xs, p] } else { vec![xs] };
        let gs = gradient(&loss, &wrt, &first_order()).unwrap();
        trace::exit(tok);
        (loss.item().unwrap().re, gs.iter().map(|g| g.to_f64_vec().unwrap()).collect())
    }

    #[test]
    fn fused_log_agrees_with_the_chain_through_the_probabilities() {
        let (x, w) = (data(&[2, 4, 3], 0.0), data(&[2, 4, 3], 5.0));
        for ask_p in [false, true] {
            let (l0, g0) = loss_and_grads(&x, &w, false, ask_p);
            let (l1, g1) = loss_and_grads(&x, &w, true, ask_p);
            assert!((l0 - l1).abs() < 1e-12);
            for (a, b) in g0.iter().flatten().zip(g1.iter().flatten()) {
                assert!((a - b).abs() < 1e-12, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn only_a_softmax_output_along_the_same_axis_has_a_fused_log() {
        let x = data(&[3, 4], 0.0);
        let p = x.softmax(0).unwrap();
        assert!(p.softmax_log(1).unwrap().is_none());
        assert!(p.mul_scalar(1.0).unwrap().softmax_log(0).unwrap().is_none());
        let lp = p.softmax_log(0).unwrap().expect("a softmax output");
        for (a, b) in lp.to_f64_vec().unwrap().iter().zip(x.log_softmax(0).unwrap().to_f64_vec().unwrap()) {
            assert_eq!(*a, b);
        }
    }

    #[test]
    fn a_leaf_made_from_a_softmax_output_reports_its_own_gradient() {
        // p computed outside the trace and handed in as a leaf: the logits are not on the
        // tape, so the gradient is the one of log(p) w.r.t. p.
        let p = data(&[3, 2], 0.0).softmax(0).unwrap();
        let tok = trace::enter();
        let ps = p.traced_leaf();
        let loss = ps.softmax_log(0).unwrap().expect("link kept").sum_all().unwrap();
        let g = gradient(&loss, &[ps], &first_order()).unwrap();
        trace::exit(tok);
        for (gv, pv) in g[0].to_f64_vec().unwrap().iter().zip(p.to_f64_vec().unwrap()) {
            assert!((gv - 1.0 / pv).abs() < 1e-12);
        }
    }
}
