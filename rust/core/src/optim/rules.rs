//! The per-element update rules of MATLAB's functional optimizers. The engine in `mod.rs`
//! runs them over chunks of every parameter in one pass.

use crate::dtype::Real;

/// An update rule for one element: the parameter `p`, its gradient `g` and up to two state
/// values (`s1` is unused by one-state rules) give the new parameter and states. `consts`
/// precomputes the scalars of a step (learning rate folded in) once per chunk.
pub trait Rule: Sync {
    /// Number of state arrays the rule keeps per parameter.
    const N_STATES: usize;
    /// Which rule this is, for the GPU backend's kernel of the same formulas.
    const KIND: RuleKind;
    fn consts<T: Real>(&self, lr: f64) -> [T; 6];
    fn elem<T: Real>(c: &[T; 6], p: T, g: T, s0: T, s1: T) -> (T, T, T);
}

/// The rules by name: what the GPU backend dispatches on (its kernels repeat `elem`'s formulas
/// and take `consts` as computed here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    Adam,
    RmsProp,
    Sgdm,
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
    const KIND: RuleKind = RuleKind::Adam;
    const N_STATES: usize = 2;
    fn consts<T: Real>(&self, lr: f64) -> [T; 6] {
        [
            T::from_f64(self.grad_decay),
            T::from_f64(1.0 - self.grad_decay),
            T::from_f64(self.sq_grad_decay),
            T::from_f64(1.0 - self.sq_grad_decay),
            T::from_f64(self.epsilon),
            T::from_f64(self.corrected_lr(lr)),
        ]
    }
    #[inline(always)]
    fn elem<T: Real>(c: &[T; 6], p: T, g: T, m: T, v: T) -> (T, T, T) {
        let [b1, c1, b2, c2, eps, step] = *c;
        let m = b1 * m + c1 * g;
        let v = b2 * v + c2 * (g * g);
        (p - step * m / (v.sqrt() + eps), m, v)
    }
}

/// `rmspropupdate`: `s ← ρ·s + (1−ρ)·g²; θ ← θ − lr · g ./ (√s + ε)` (no bias correction, no
/// momentum). State: `s0` = averageSqGrad.
pub struct RmsProp {
    pub sq_grad_decay: f64,
    pub epsilon: f64,
}

impl Rule for RmsProp {
    const KIND: RuleKind = RuleKind::RmsProp;
    const N_STATES: usize = 1;
    fn consts<T: Real>(&self, lr: f64) -> [T; 6] {
        let z = T::zero();
        [T::from_f64(self.sq_grad_decay), T::from_f64(1.0 - self.sq_grad_decay), T::from_f64(self.epsilon), T::from_f64(lr), z, z]
    }
    #[inline(always)]
    fn elem<T: Real>(c: &[T; 6], p: T, g: T, s: T, _: T) -> (T, T, T) {
        let [rho, one_minus_rho, eps, lr, _, _] = *c;
        let s = rho * s + one_minus_rho * (g * g);
        (p - lr * g / (s.sqrt() + eps), s, T::zero())
    }
}

/// `sgdmupdate` in MATLAB's velocity form: `v ← μ·v − lr·g; θ ← θ + v`. State: `s0` = vel.
pub struct Sgdm {
    pub momentum: f64,
}

impl Rule for Sgdm {
    const KIND: RuleKind = RuleKind::Sgdm;
    const N_STATES: usize = 1;
    fn consts<T: Real>(&self, lr: f64) -> [T; 6] {
        let z = T::zero();
        [T::from_f64(self.momentum), T::from_f64(lr), z, z, z, z]
    }
    #[inline(always)]
    fn elem<T: Real>(c: &[T; 6], p: T, g: T, vel: T, _: T) -> (T, T, T) {
        let [mu, lr, ..] = *c;
        let v = mu * vel - lr * g;
        (p + v, v, T::zero())
    }
}
