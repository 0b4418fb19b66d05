//! The per-element update rules of MATLAB's functional optimizers, each applied in place to a
//! cache-sized chunk of one parameter and its state.

use crate::dtype::Real;

/// An update rule over a chunk: `p` (the parameter), `g` (its gradient), and up to two state
/// slices (`s1` is empty for one-state rules), all the same length, updated in place.
pub trait Rule: Sync {
    /// Number of state arrays the rule keeps per parameter.
    const N_STATES: usize;
    fn apply<T: Real>(&self, lr: f64, p: &mut [T], g: &[T], s0: &mut [T], s1: &mut [T]);
}

/// `adamupdate`, in the form of MATLAB's own solver: the bias correction is folded into the
/// step size, `lr_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ)`, and ε is added to `√v` of the *uncorrected*
/// average: `θ ← θ − lr_t · m ./ (√v + ε)`. (This differs from PyTorch's `√v̂ + ε` only when
/// `√v` is comparable to ε.) State: `s0` = averageGrad m, `s1` = averageSqGrad v.
pub struct Adam {
    pub grad_decay: f64,
    pub sq_grad_decay: f64,
    pub epsilon: f64,
    pub iteration: f64,
}

impl Adam {
    /// The step size after bias correction for a base learning rate `lr`.
    pub fn corrected_lr(&self, lr: f64) -> f64 {
        let t = self.iteration;
        lr * (1.0 - self.sq_grad_decay.powf(t)).sqrt() / (1.0 - self.grad_decay.powf(t))
    }
}

impl Rule for Adam {
    const N_STATES: usize = 2;
    fn apply<T: Real>(&self, lr: f64, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
        let b1 = T::from_f64(self.grad_decay);
        let c1 = T::from_f64(1.0 - self.grad_decay);
        let b2 = T::from_f64(self.sq_grad_decay);
        let c2 = T::from_f64(1.0 - self.sq_grad_decay);
        let eps = T::from_f64(self.epsilon);
        let step = T::from_f64(self.corrected_lr(lr));
        let n = p.len();
        let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
        for i in 0..n {
            let gi = g[i];
            let mi = b1 * m[i] + c1 * gi;
            let vi = b2 * v[i] + c2 * (gi * gi);
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] - step * mi / (vi.sqrt() + eps);
        }
    }
}

/// `rmspropupdate`: `s ← ρ·s + (1−ρ)·g²; θ ← θ − lr · g ./ (√s + ε)` (no bias correction, no
/// momentum). State: `s0` = averageSqGrad.
pub struct RmsProp {
    pub sq_grad_decay: f64,
    pub epsilon: f64,
}

impl Rule for RmsProp {
    const N_STATES: usize = 1;
    fn apply<T: Real>(&self, lr: f64, p: &mut [T], g: &[T], s: &mut [T], _: &mut [T]) {
        let rho = T::from_f64(self.sq_grad_decay);
        let c = T::from_f64(1.0 - self.sq_grad_decay);
        let eps = T::from_f64(self.epsilon);
        let lr = T::from_f64(lr);
        let n = p.len();
        let (g, s) = (&g[..n], &mut s[..n]);
        for i in 0..n {
            let gi = g[i];
            let si = rho * s[i] + c * (gi * gi);
            s[i] = si;
            p[i] = p[i] - lr * gi / (si.sqrt() + eps);
        }
    }
}

/// `sgdmupdate` in MATLAB's velocity form: `v ← μ·v − lr·g; θ ← θ + v`. State: `s0` = vel.
pub struct Sgdm {
    pub momentum: f64,
}

impl Rule for Sgdm {
    const N_STATES: usize = 1;
    fn apply<T: Real>(&self, lr: f64, p: &mut [T], g: &[T], vel: &mut [T], _: &mut [T]) {
        let mu = T::from_f64(self.momentum);
        let lr = T::from_f64(lr);
        let n = p.len();
        let (g, vel) = (&g[..n], &mut vel[..n]);
        for i in 0..n {
            let vi = mu * vel[i] - lr * g[i];
            vel[i] = vi;
            p[i] = p[i] + vi;
        }
    }
}
