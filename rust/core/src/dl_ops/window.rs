//! MATLAB's window options, shared by convolution and pooling: a value per window dim given
//! as one number or one per dim, and padding as a number, per-dim sizes, a (2, d)
//! before/after matrix, the layers' [before1 after1 before2 after2 ...] vector, or "same".

use crate::error::{Error, Result};

/// Padding as the user gave it; [`Padding::resolve`] turns it into sizes once the number
/// of window dims and their extents are known.
#[derive(Clone, Debug, PartialEq)]
pub enum Padding {
    /// MATLAB's "same": output size ceil(I / stride).
    Same,
    /// One number (every side), d numbers (both sides of each dim), or 2·d numbers (before
    /// and after of each dim in turn) for d > 1.
    Values(Vec<i64>),
    /// A (2, d) matrix: row 0 before, row 1 after.
    Matrix { before: Vec<i64>, after: Vec<i64> },
}

/// Padding (or cropping) sizes before and after each window dim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sides {
    pub before: Vec<usize>,
    pub after: Vec<usize>,
}

fn show(values: &[i64]) -> String {
    match values {
        [v] => v.to_string(),
        _ => format!("{values:?}"),
    }
}

/// `values` (one number or `d`) as `d` numbers, each at least `minimum`.
pub fn per_dim(op: &str, name: &str, values: &[i64], d: usize, minimum: i64) -> Result<Vec<usize>> {
    if values.len() != 1 && values.len() != d {
        return Err(Error::value(op, format!("{name} must be an integer or {d} integers, got {}", show(values))));
    }
    if values.iter().any(|&v| v < minimum) {
        return Err(Error::value(op, format!("{name} must be at least {minimum}, got {}", show(values))));
    }
    let vals: Vec<usize> = values.iter().map(|&v| v as usize).collect();
    Ok(if vals.len() == 1 { vec![vals[0]; d] } else { vals })
}

/// MATLAB's "same": output size ceil(I / stride); an odd total puts the extra element after
/// (bottom/right).
pub fn same_padding(in_sizes: &[usize], extents: &[usize], stride: &[usize]) -> Sides {
    let mut sides = Sides { before: Vec::new(), after: Vec::new() };
    for ((&i, &k), &s) in in_sizes.iter().zip(extents).zip(stride) {
        let (i, k, s) = (i as i64, k as i64, s as i64);
        let total = (((i + s - 1) / s - 1) * s + k - i).max(0) as usize;
        sides.before.push(total / 2);
        sides.after.push(total - total / 2);
    }
    sides
}

impl Padding {
    /// Sizes for `d` window dims of sizes `in_sizes`, `extents` (dilated kernel sizes) and
    /// `stride`; `name` is the option's name in errors ("padding", "cropping").
    pub fn resolve(&self, op: &str, name: &str, in_sizes: &[usize], extents: &[usize], stride: &[usize]) -> Result<Sides> {
        let d = in_sizes.len();
        match self {
            Padding::Same => Ok(same_padding(in_sizes, extents, stride)),
            Padding::Matrix { before, after } => {
                if before.len() != d || after.len() != d {
                    return Err(Error::value(
                        op,
                        format!("a {name} matrix must have shape (2, {d}) (before; after), got (2, {})", before.len()),
                    ));
                }
                Ok(Sides { before: per_dim(op, name, before, d, 0)?, after: per_dim(op, name, after, d, 0)? })
            }
            Padding::Values(v) if d > 1 && v.len() == 2 * d => {
                let pairs = per_dim(op, name, v, 2 * d, 0)?;
                Ok(Sides { before: pairs.iter().step_by(2).copied().collect(), after: pairs.iter().skip(1).step_by(2).copied().collect() })
            }
            Padding::Values(v) => {
                let sizes = per_dim(op, name, v, d, 0)?;
                Ok(Sides { before: sizes.clone(), after: sizes })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_puts_the_odd_element_after() {
        // I = 5, K = 4, stride 1: total 3 → 1 before, 2 after.
        assert_eq!(same_padding(&[5], &[4], &[1]), Sides { before: vec![1], after: vec![2] });
        // I = 5, K = 3, stride 2: ceil(5/2) = 3 outputs need (3-1)*2+3 = 7 → total 2.
        assert_eq!(same_padding(&[5], &[3], &[2]), Sides { before: vec![1], after: vec![1] });
        // A kernel smaller than the stride needs none.
        assert_eq!(same_padding(&[4], &[1], &[2]), Sides { before: vec![0], after: vec![0] });
    }

    #[test]
    fn padding_forms() {
        let r = |p: Padding| p.resolve("t", "padding", &[4, 4], &[3, 3], &[1, 1]);
        assert_eq!(r(Padding::Values(vec![1])).unwrap(), Sides { before: vec![1, 1], after: vec![1, 1] });
        assert_eq!(r(Padding::Values(vec![1, 2])).unwrap(), Sides { before: vec![1, 2], after: vec![1, 2] });
        assert_eq!(r(Padding::Values(vec![1, 2, 3, 4])).unwrap(), Sides { before: vec![1, 3], after: vec![2, 4] });
        let m = Padding::Matrix { before: vec![0, 1], after: vec![2, 3] };
        assert_eq!(r(m).unwrap(), Sides { before: vec![0, 1], after: vec![2, 3] });
        assert!(r(Padding::Values(vec![1, 2, 3])).is_err());
        assert!(r(Padding::Values(vec![-1])).is_err());
        assert!(r(Padding::Matrix { before: vec![1], after: vec![1] }).is_err());
    }
}
