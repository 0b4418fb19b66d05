//! numpy's indexing rules: which elements a key selects and the shape they come out in.
//!
//! A key is a sequence of items (integers, slices, `...`, `None`, integer arrays, boolean
//! masks). Slices and `None` give "basic" dims; integer arrays and masks are "advanced":
//! they broadcast together, and their broadcast dims replace them where they stand when
//! they are adjacent in the key, or come first otherwise (an integer counts as advanced when
//! the key has an array). [`select`] turns a key into flat element positions for the core's
//! `take` / `index_put`; a key that takes whole slices along one axis selects them by that
//! axis instead (a direct gather).

use crate::error::{Error, Result};
use crate::limits::ensure_allocatable;
use crate::shape::{broadcast_shapes, strides};
use crate::DType;

const OP: &str = "index";

/// One item of an index key.
#[derive(Debug, Clone)]
pub enum IndexItem {
    Int(i64),
    Slice {
        start: Option<i64>,
        stop: Option<i64>,
        step: Option<i64>,
    },
    Ellipsis,
    NewAxis,
    /// An integer array, row-major values of `shape`.
    Array {
        values: Vec<i64>,
        shape: Vec<usize>,
    },
    /// A boolean mask over as many dims as it has.
    Mask {
        values: Vec<bool>,
        shape: Vec<usize>,
    },
}

/// What a key selects.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// Whole slices along `axis` at `positions` (every other dim kept), the positions in
    /// `index_shape`: the result is the array's shape with `axis` replaced by `index_shape`.
    Axis { axis: usize, positions: Vec<usize>, index_shape: Vec<usize> },
    /// The elements at flat `positions`, arranged in `shape`. `basic`: the key was slices
    /// and `...` only (the result keeps the array's dims in order).
    Flat { positions: Vec<usize>, shape: Vec<usize>, basic: bool },
}

impl Selection {
    /// The flat positions and result shape, for an array of `shape` (what assignment into the
    /// selection needs, whichever way it was selected).
    pub fn into_flat(self, shape: &[usize]) -> (Vec<usize>, Vec<usize>) {
        match self {
            Selection::Flat { positions, shape, .. } => (positions, shape),
            Selection::Axis { axis, positions, index_shape } => {
                let outer: usize = shape[..axis].iter().product();
                let inner: usize = shape[axis + 1..].iter().product();
                let n = shape[axis];
                let mut flat = Vec::with_capacity(outer * positions.len() * inner);
                for o in 0..outer {
                    for &p in &positions {
                        flat.extend((0..inner).map(|i| (o * n + p) * inner + i));
                    }
                }
                let mut out = shape[..axis].to_vec();
                out.extend_from_slice(&index_shape);
                out.extend_from_slice(&shape[axis + 1..]);
                (flat, out)
            }
        }
    }
}

/// `(start, step, len)` of numpy's slice `start:stop:step` over a dim of size `n`.
fn slice_range(start: Option<i64>, stop: Option<i64>, step: Option<i64>, n: usize) -> Result<(i64, i64, usize)> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(Error::value(OP, "slice step cannot be zero"));
    }
    let n = n as i64;
    let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
    let resolve = |v: Option<i64>, default: i64, lo: i64, hi: i64| match v {
        None => default,
        Some(v) if v < 0 => clamp(v + n, lo, hi),
        Some(v) => clamp(v, lo, hi),
    };
    let (start, stop) = if step > 0 {
        (resolve(start, 0, 0, n), resolve(stop, n, 0, n))
    } else {
        (resolve(start, n - 1, -1, n - 1), resolve(stop, -1, -1, n - 1))
    };
    let len = if step > 0 { (stop - start + step - 1) / step } else { (start - stop - step - 1) / -step };
    Ok((start, step, len.max(0) as usize))
}

fn wrap(i: i64, axis: usize, n: usize) -> Result<usize> {
    let j = if i < 0 { i + n as i64 } else { i };
    if j < 0 || j >= n as i64 {
        return Err(Error::index(OP, format!("index {i} is out of bounds for axis {axis} with size {n}")));
    }
    Ok(j as usize)
}

/// An advanced index after expansion: the axes it covers and one integer array per axis
/// (a mask becomes the positions of its true elements; a 0-d mask covers no axis and
/// selects once or not at all).
struct Advanced {
    axes: Vec<usize>,
    arrays: Vec<Vec<usize>>,
    shape: Vec<usize>,
}

/// One factor of the result: the offsets it contributes, and its dims in the result.
enum Part {
    Basic { offsets: Vec<usize>, dims: Vec<usize> },
    Advanced(Advanced),
}

/// The elements of an array of `shape` that `key` selects (numpy's rules).
pub fn select(shape: &[usize], key: &[IndexItem]) -> Result<Selection> {
    let ndim = shape.len();
    let consumed = |k: &IndexItem| match k {
        IndexItem::Int(_) | IndexItem::Slice { .. } | IndexItem::Array { .. } => 1,
        IndexItem::Mask { shape, .. } => shape.len(),
        IndexItem::Ellipsis | IndexItem::NewAxis => 0,
    };
    let used: usize = key.iter().map(consumed).sum();
    let ellipses = key.iter().filter(|k| matches!(k, IndexItem::Ellipsis)).count();
    if ellipses > 1 {
        return Err(Error::index(OP, "an index can only have a single ellipsis ('...')"));
    }
    if used > ndim {
        return Err(Error::index(OP, format!("too many indices for an array of shape {shape:?}: {used} were indexed")));
    }
    let full = || IndexItem::Slice { start: None, stop: None, step: None };
    let mut items: Vec<IndexItem> = Vec::with_capacity(key.len() + ndim);
    for k in key {
        if matches!(k, IndexItem::Ellipsis) {
            items.extend((0..ndim - used).map(|_| full()));
            // Kept as a marker: even when it stands for no dims, `...` separates advanced
            // indices (numpy's rule).
            items.push(IndexItem::Ellipsis);
        } else {
            items.push(k.clone());
        }
    }
    if ellipses == 0 {
        items.extend((0..ndim - used).map(|_| full()));
    }
    let basic = key.iter().all(|k| matches!(k, IndexItem::Slice { .. } | IndexItem::Ellipsis));
    let has_array = items.iter().any(|k| matches!(k, IndexItem::Array { .. } | IndexItem::Mask { .. }));
    if let Some(sel) = single_axis(shape, &items)? {
        return Ok(sel);
    }

    let st = strides(shape);
    let mut parts: Vec<Part> = Vec::new();
    let mut arrays_to_check: Vec<(Vec<i64>, usize)> = Vec::new();
    let mut axis = 0;
    for item in &items {
        match item {
            IndexItem::Int(i) if !has_array => {
                let j = wrap(*i, axis, shape[axis])?;
                parts.push(Part::Basic { offsets: vec![j * st[axis]], dims: vec![] });
                axis += 1;
            }
            IndexItem::Int(i) => {
                let j = wrap(*i, axis, shape[axis])?;
                parts.push(Part::Advanced(Advanced { axes: vec![axis], arrays: vec![vec![j]], shape: vec![] }));
                axis += 1;
            }
            IndexItem::Slice { start, stop, step } => {
                let (s, step, len) = slice_range(*start, *stop, *step, shape[axis])?;
                let offsets = (0..len).map(|i| (s + i as i64 * step) as usize * st[axis]).collect();
                parts.push(Part::Basic { offsets, dims: vec![len] });
                axis += 1;
            }
            IndexItem::NewAxis => parts.push(Part::Basic { offsets: vec![0], dims: vec![1] }),
            IndexItem::Array { values, shape: ishape } => {
                // Bounds are checked once the broadcast size is known: numpy checks none when
                // the advanced indices broadcast to nothing.
                let idx = values.iter().map(|&i| if i < 0 { (i + shape[axis] as i64) as usize } else { i as usize }).collect();
                arrays_to_check.push((values.clone(), axis));
                parts.push(Part::Advanced(Advanced { axes: vec![axis], arrays: vec![idx], shape: ishape.clone() }));
                axis += 1;
            }
            IndexItem::Mask { values, shape: mshape } => {
                let covered = &shape[axis..axis + mshape.len()];
                // Each dim must match, except a dim of length 0 (numpy's rule).
                if covered.iter().zip(mshape).any(|(&n, &m)| m != 0 && m != n) {
                    return Err(Error::index(
                        OP,
                        format!("boolean index of shape {mshape:?} does not match the indexed dims {covered:?} of shape {shape:?}"),
                    ));
                }
                // The positions of the true elements, one array per covered axis.
                let mst = strides(mshape);
                let mut arrays = vec![Vec::new(); mshape.len()];
                let mut count = 0;
                for (flat, _) in values.iter().enumerate().filter(|(_, &v)| v) {
                    count += 1;
                    for (d, a) in arrays.iter_mut().enumerate() {
                        a.push(flat / mst[d] % mshape[d]);
                    }
                }
                let axes: Vec<usize> = (axis..axis + mshape.len()).collect();
                if axes.is_empty() {
                    // A 0-d mask covers no axis: it selects everything once (True) or nothing.
                    arrays.push(vec![0; count]);
                }
                parts.push(Part::Advanced(Advanced { axes, arrays, shape: vec![count] }));
                axis += mshape.len();
            }
            IndexItem::Ellipsis => parts.push(Part::Basic { offsets: vec![0], dims: vec![] }),
        }
    }

    // The advanced parts broadcast together into one factor.
    let positions_of_advanced: Vec<usize> =
        parts.iter().enumerate().filter(|(_, p)| matches!(p, Part::Advanced(_))).map(|(i, _)| i).collect();
    let mut factors: Vec<(Vec<usize>, Vec<usize>)> = Vec::new(); // (offsets, dims)
    let adjacent = positions_of_advanced.windows(2).all(|w| w[1] == w[0] + 1);
    let mut advanced_factor = None;
    if !positions_of_advanced.is_empty() {
        let mut bshape: Vec<usize> = vec![];
        for &i in &positions_of_advanced {
            let Part::Advanced(a) = &parts[i] else { unreachable!() };
            bshape = broadcast_shapes(OP, &bshape, &a.shape).map_err(|_| {
                let shapes: Vec<&Vec<usize>> = positions_of_advanced
                    .iter()
                    .filter_map(|&j| if let Part::Advanced(a) = &parts[j] { Some(&a.shape) } else { None })
                    .collect();
                Error::index(OP, format!("shape mismatch: indexing arrays could not be broadcast together with shapes {shapes:?}"))
            })?;
        }
        let n: usize = bshape.iter().product();
        if n > 0 {
            for (values, axis) in &arrays_to_check {
                for &i in values {
                    wrap(i, *axis, shape[*axis])?;
                }
            }
        }
        let mut offsets = vec![0usize; n];
        for &i in &positions_of_advanced {
            let Part::Advanced(a) = &parts[i] else { unreachable!() };
            let bst = crate::shape::broadcast_strides(&a.shape, &bshape);
            for (k, array) in a.arrays.iter().enumerate() {
                let stride = a.axes.get(k).map_or(0, |&ax| st[ax]);
                for (flat, o) in offsets.iter_mut().enumerate() {
                    // The element of `array` broadcast to position `flat` of `bshape`.
                    let mut rem = flat;
                    let mut src = 0;
                    for d in (0..bshape.len()).rev() {
                        src += (rem % bshape[d]) * bst[d];
                        rem /= bshape[d];
                    }
                    *o += array[src] * stride;
                }
            }
        }
        advanced_factor = Some((offsets, bshape));
    }
    let mut placed = false;
    for p in parts {
        match p {
            Part::Basic { offsets, dims } => factors.push((offsets, dims)),
            // Adjacent advanced indices: their broadcast dims stand where the first one was.
            Part::Advanced(_) if adjacent && !placed => {
                factors.push(advanced_factor.take().expect("one advanced factor"));
                placed = true;
            }
            Part::Advanced(_) => {}
        }
    }
    if let Some(f) = advanced_factor {
        // Not adjacent: the broadcast dims come first.
        factors.insert(0, f);
    }
    let out_shape: Vec<usize> = factors.iter().flat_map(|(_, d)| d.iter().copied()).collect();
    crate::limits::check_ndim(OP, out_shape.len())?;
    ensure_allocatable(OP, &out_shape, DType::F64)?;
    // Empty when any factor is (before it, the partial products could be huge).
    let empty = factors.iter().any(|(o, _)| o.is_empty());
    let mut positions = if empty { vec![] } else { vec![0usize] };
    for (offsets, _) in factors.iter().filter(|_| !empty) {
        let mut next = Vec::with_capacity(positions.len() * offsets.len());
        for &p in &positions {
            next.extend(offsets.iter().map(|&o| p + o));
        }
        positions = next;
    }
    Ok(Selection::Flat { positions, shape: out_shape, basic })
}

/// Full slices everywhere but one integer array: whole slices along that axis.
fn single_axis(shape: &[usize], items: &[IndexItem]) -> Result<Option<Selection>> {
    let is_full = |k: &IndexItem| matches!(k, IndexItem::Slice { start: None, stop: None, step: None });
    let mut found = None;
    let dims = items.iter().filter(|k| !matches!(k, IndexItem::Ellipsis));
    for (axis, k) in dims.enumerate() {
        if is_full(k) {
            continue;
        }
        match k {
            IndexItem::Array { values, shape: ishape } if found.is_none() && !ishape.is_empty() => found = Some((axis, values, ishape)),
            _ => return Ok(None),
        }
    }
    let Some((axis, values, ishape)) = found else { return Ok(None) };
    let positions = values.iter().map(|&i| wrap(i, axis, shape[axis])).collect::<Result<Vec<_>>>()?;
    Ok(Some(Selection::Axis { axis, positions, index_shape: ishape.clone() }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use IndexItem::*;

    fn flat(shape: &[usize], key: &[IndexItem]) -> (Vec<usize>, Vec<usize>) {
        match select(shape, key).unwrap() {
            Selection::Flat { positions, shape, .. } => (positions, shape),
            Selection::Axis { .. } => panic!("expected a flat selection"),
        }
    }
    fn sl(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> IndexItem {
        Slice { start, stop, step }
    }

    #[test]
    fn slices_follow_numpy() {
        // np.arange(10)[8:2:-2] == [8, 6, 4]; [-3:] == [7, 8, 9]; [::-1][0] == 9.
        assert_eq!(flat(&[10], &[sl(Some(8), Some(2), Some(-2))]).0, vec![8, 6, 4]);
        assert_eq!(flat(&[10], &[sl(Some(-3), None, None)]).0, vec![7, 8, 9]);
        assert_eq!(flat(&[10], &[sl(None, None, Some(-1))]).0[0], 9);
        assert_eq!(flat(&[10], &[sl(Some(20), Some(30), None)]).0, Vec::<usize>::new());
        assert!(select(&[10], &[sl(None, None, Some(0))]).is_err());
    }

    #[test]
    fn separated_advanced_indices_go_first() {
        // np.arange(24).reshape(2,3,4)[0, :, [1, 2]] has shape (2, 3).
        let (pos, shape) = flat(&[2, 3, 4], &[Int(0), sl(None, None, None), Array { values: vec![1, 2], shape: vec![2] }]);
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(pos, vec![1, 5, 9, 2, 6, 10]);
        // Adjacent: x[:, [0, 2], [1, 3]] has shape (2, 2).
        let key = [sl(None, None, None), Array { values: vec![0, 2], shape: vec![2] }, Array { values: vec![1, 3], shape: vec![2] }];
        let (pos, shape) = flat(&[2, 3, 4], &key);
        assert_eq!(shape, vec![2, 2]);
        assert_eq!(pos, vec![1, 11, 13, 23]);
    }

    #[test]
    fn masks_ellipsis_and_new_axes() {
        let mask = Mask { values: vec![true, false, true, false, false, true], shape: vec![2, 3] };
        let (pos, shape) = flat(&[2, 3], &[mask]);
        assert_eq!((pos, shape), (vec![0, 2, 5], vec![3]));
        let (pos, shape) = flat(&[2, 3], &[Ellipsis, Int(1), NewAxis]);
        assert_eq!((pos, shape), (vec![1, 4], vec![2, 1]));
        let (_, shape) = flat(&[2, 3], &[Mask { values: vec![true], shape: vec![] }]);
        assert_eq!(shape, vec![1, 2, 3]);
        assert!(select(&[2, 3], &[Ellipsis, Ellipsis]).is_err());
        assert!(select(&[2, 3], &[Int(0), Int(0), Int(0)]).is_err());
        assert!(select(&[2, 3], &[Int(2)]).is_err());
        assert!(select(&[2, 3], &[Mask { values: vec![true; 3], shape: vec![3] }]).is_err());
        // A dim of length 0 matches any: np.zeros((3, 4))[np.zeros((0, 4), bool)] is empty.
        assert_eq!(flat(&[3, 4], &[Mask { values: vec![], shape: vec![0, 4] }]).1, vec![0]);
        assert!(select(&[1, 0], &[Mask { values: vec![], shape: vec![0, 1] }]).is_err());
    }

    #[test]
    fn an_empty_selection_of_huge_dims_allocates_nothing() {
        // x[..., :0] of shape (2^20, 2^20, 3): the partial products would be 2^40 positions.
        let key = [Ellipsis, sl(None, Some(0), None)];
        assert_eq!(flat(&[1 << 20, 1 << 20, 3], &key), (vec![], vec![1 << 20, 1 << 20, 0]));
    }

    #[test]
    fn one_array_among_full_slices_selects_along_its_axis() {
        let sel = select(&[2, 3, 4], &[sl(None, None, None), Array { values: vec![2, -1], shape: vec![2] }]).unwrap();
        assert_eq!(sel, Selection::Axis { axis: 1, positions: vec![2, 2], index_shape: vec![2] });
    }
}
