//! Shape arithmetic: row-major strides, numpy broadcasting, axis normalisation.

use crate::error::{Error, Result};

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major (C order) element strides.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// numpy's broadcast of two shapes.
pub fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::shape(op, format!("operands could not be broadcast together with shapes {a:?} and {b:?}")));
        };
    }
    Ok(out)
}

/// Strides that read `shape` (right-aligned) as if broadcast to `out`: 0 on expanded dims.
pub fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let st = strides(shape);
    let off = out.len() - shape.len();
    (0..out.len()).map(|i| if i < off || shape[i - off] == 1 { 0 } else { st[i - off] }).collect()
}

/// A possibly negative axis made positive, checked against `ndim`.
pub fn normalize_axis(op: &str, axis: isize, ndim: usize) -> Result<usize> {
    let a = if axis < 0 { axis + ndim as isize } else { axis };
    if a < 0 || a as usize >= ndim.max(1) && !(ndim == 0 && a == 0) {
        return Err(Error::index(op, format!("axis {axis} is out of bounds for an array of dimension {ndim}")));
    }
    Ok(a as usize)
}

/// Several axes normalised, sorted and checked for repeats; `None` means all axes.
pub fn normalize_axes(op: &str, axes: Option<&[isize]>, ndim: usize) -> Result<Vec<usize>> {
    let mut out: Vec<usize> = match axes {
        None => (0..ndim).collect(),
        Some(ax) => ax.iter().map(|&a| normalize_axis(op, a, ndim)).collect::<Result<_>>()?,
    };
    out.sort_unstable();
    if out.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::value(op, format!("repeated axis in {axes:?}")));
    }
    Ok(out)
}

/// Walks every multi-index of `shape` in row-major order and yields the flat offsets into
/// operands with the given strides. Used by the general (non-contiguous) kernel paths.
pub struct StridedIter<const K: usize> {
    shape: Vec<usize>,
    strides: [Vec<usize>; K],
    index: Vec<usize>,
    offsets: [usize; K],
    remaining: usize,
}

impl<const K: usize> StridedIter<K> {
    pub fn new(shape: &[usize], strides: [Vec<usize>; K]) -> Self {
        StridedIter { shape: shape.to_vec(), strides, index: vec![0; shape.len()], offsets: [0; K], remaining: numel(shape) }
    }
    /// Start at flat position `start` of the row-major walk (for parallel chunks).
    pub fn starting_at(shape: &[usize], strides: [Vec<usize>; K], start: usize) -> Self {
        let mut it = Self::new(shape, strides);
        let mut rem = start;
        for d in (0..shape.len()).rev() {
            let i = rem % shape[d].max(1);
            rem /= shape[d].max(1);
            it.index[d] = i;
            for k in 0..K {
                it.offsets[k] += i * it.strides[k][d];
            }
        }
        it.remaining = it.remaining.saturating_sub(start);
        it
    }
}

impl<const K: usize> Iterator for StridedIter<K> {
    type Item = [usize; K];
    #[inline]
    fn next(&mut self) -> Option<[usize; K]> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let cur = self.offsets;
        for d in (0..self.shape.len()).rev() {
            self.index[d] += 1;
            for k in 0..K {
                self.offsets[k] += self.strides[k][d];
            }
            if self.index[d] < self.shape[d] {
                break;
            }
            for k in 0..K {
                self.offsets[k] -= self.strides[k][d] * self.index[d];
            }
            self.index[d] = 0;
        }
        Some(cur)
    }
}

/// A new shape with numpy's `-1` (at most once) resolved for an array of `numel` elements.
pub fn resolve_shape(numel: usize, dims: &[isize]) -> Result<Vec<usize>> {
    let unknown: Vec<usize> = dims.iter().enumerate().filter(|(_, &d)| d < 0).map(|(i, _)| i).collect();
    if unknown.len() > 1 || dims.iter().any(|&d| d < -1) {
        return Err(Error::shape("reshape", format!("invalid shape {dims:?}")));
    }
    let known: usize = dims.iter().filter(|&&d| d >= 0).map(|&d| d as usize).product();
    let mut out: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(&i) = unknown.first() {
        if known == 0 || !numel.is_multiple_of(known) {
            return Err(Error::shape("reshape", format!("cannot reshape array of size {numel} into shape {dims:?}")));
        }
        out[i] = numel / known;
    }
    Ok(out)
}

/// A shape as numpy and Python print it, "(2, 3)", "(5,)", "()": the form error messages
/// use, since users read them from Python.
pub fn show(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn broadcast() {
        assert_eq!(broadcast_shapes("t", &[3, 1], &[4]).unwrap(), vec![3, 4]);
        assert!(broadcast_shapes("t", &[3], &[4]).is_err());
        assert_eq!(broadcast_strides(&[3, 1], &[2, 3, 4]), vec![0, 1, 0]);
    }
    #[test]
    fn strided_walk() {
        let v: Vec<_> = StridedIter::new(&[2, 2], [vec![1, 2]]).map(|o| o[0]).collect();
        assert_eq!(v, vec![0, 2, 1, 3]);
        let v: Vec<_> = StridedIter::starting_at(&[2, 2], [vec![1, 2]], 1).map(|o| o[0]).collect();
        assert_eq!(v, vec![2, 1, 3]);
    }
}
