//! The gate and state activations of the recurrent layers, per element and over whole slices.
//!
//! The slice forms match on the activation once, outside the loop, so each arm is a tight
//! loop: tanh and sigmoid go to the vectorised kernels of `vmath`, the rest are plain
//! arithmetic that LLVM vectorises itself.

use crate::dtype::Real;

/// A gate or state activation; derivatives are taken from the activation's *output* so the
/// backward pass needs only what the forward pass saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Tanh,
    Softsign,
    Relu,
    Sigmoid,
    /// MATLAB's hard sigmoid: `max(0, min(1, 0.2·x + 0.5))`.
    HardSigmoid,
}

impl Activation {
    #[inline(always)]
    pub fn apply<T: Real>(self, x: T) -> T {
        let one = T::one();
        match self {
            Activation::Tanh => x.tanh(),
            Activation::Softsign => x / (one + x.abs()),
            Activation::Relu => {
                if x > T::zero() {
                    x
                } else {
                    T::zero()
                }
            }
            Activation::Sigmoid => one / (one + (-x).exp()),
            Activation::HardSigmoid => {
                let y = x * T::from_f64(0.2) + T::from_f64(0.5);
                if y < T::zero() {
                    T::zero()
                } else if y > one {
                    one
                } else {
                    y
                }
            }
        }
    }

    /// f'(x) expressed through y = f(x).
    #[inline(always)]
    pub fn deriv_from_output<T: Real>(self, y: T) -> T {
        let one = T::one();
        match self {
            Activation::Tanh => one - y * y,
            Activation::Softsign => {
                let d = one - y.abs();
                d * d
            }
            Activation::Relu => {
                if y > T::zero() {
                    one
                } else {
                    T::zero()
                }
            }
            Activation::Sigmoid => y * (one - y),
            Activation::HardSigmoid => {
                if y > T::zero() && y < one {
                    T::from_f64(0.2)
                } else {
                    T::zero()
                }
            }
        }
    }

    /// `x ← f(x)` over a slice.
    pub fn apply_in_place<T: Real>(self, x: &mut [T]) {
        match self {
            Activation::Tanh => T::tanh_in_place(x),
            Activation::Sigmoid => T::sigmoid_in_place(x),
            Activation::Softsign => x.iter_mut().for_each(|v| *v = Activation::Softsign.apply(*v)),
            Activation::Relu => x.iter_mut().for_each(|v| *v = Activation::Relu.apply(*v)),
            Activation::HardSigmoid => x.iter_mut().for_each(|v| *v = Activation::HardSigmoid.apply(*v)),
        }
    }

    /// `dst ← f(src)` over a slice.
    pub fn apply_into<T: Real>(self, src: &[T], dst: &mut [T]) {
        let each = |dst: &mut [T], a: Activation| dst.iter_mut().zip(src).for_each(|(d, &v)| *d = a.apply(v));
        match self {
            Activation::Tanh => T::tanh_into(src, dst),
            Activation::Sigmoid => T::sigmoid_into(src, dst),
            Activation::Softsign => each(dst, Activation::Softsign),
            Activation::Relu => each(dst, Activation::Relu),
            Activation::HardSigmoid => each(dst, Activation::HardSigmoid),
        }
    }

    /// `dst ← f'(x)` over a slice, from the outputs `y = f(x)`.
    #[inline(always)]
    pub fn deriv_into<T: Real>(self, y: &[T], dst: &mut [T]) {
        #[inline(always)]
        fn each<T: Real>(y: &[T], dst: &mut [T], a: Activation) {
            dst.iter_mut().zip(y).for_each(|(d, &v)| *d = a.deriv_from_output(v));
        }
        match self {
            Activation::Tanh => each(y, dst, Activation::Tanh),
            Activation::Sigmoid => each(y, dst, Activation::Sigmoid),
            Activation::Softsign => each(y, dst, Activation::Softsign),
            Activation::Relu => each(y, dst, Activation::Relu),
            Activation::HardSigmoid => each(y, dst, Activation::HardSigmoid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Activation; 5] = [Activation::Tanh, Activation::Softsign, Activation::Relu, Activation::Sigmoid, Activation::HardSigmoid];

    #[test]
    fn slice_forms_match_the_scalar_form() {
        let xs: Vec<f64> = (-400..=400).map(|i| i as f64 * 0.037).collect();
        for a in ALL {
            let mut inplace = xs.clone();
            a.apply_in_place(&mut inplace);
            let mut into = vec![0.0; xs.len()];
            a.apply_into(&xs, &mut into);
            let mut deriv = vec![0.0; xs.len()];
            a.deriv_into(&into, &mut deriv);
            for (i, &x) in xs.iter().enumerate() {
                let y = a.apply(x);
                assert!((inplace[i] - y).abs() <= 1e-15 && (into[i] - y).abs() <= 1e-15, "{a:?}({x})");
                assert_eq!(deriv[i], a.deriv_from_output(into[i]), "{a:?}'({x})");
            }
            let xf: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
            let mut yf = xf.clone();
            a.apply_in_place(&mut yf);
            for (&x, &y) in xf.iter().zip(&yf) {
                assert!((y as f64 - a.apply(x as f64)).abs() <= 4.0 * f32::EPSILON as f64, "{a:?}({x}) f32");
            }
        }
    }
}
