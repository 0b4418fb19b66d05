//! The WGSL kernels and what they share: strided layouts with numpy broadcasting, and the
//! split of large dispatches into a 2-D grid of workgroups.

pub mod conv;
pub mod elementwise;
pub mod gather;
pub mod layout;
pub mod matmul;
pub mod norm;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod softmax;

use crate::buffer::DType;
use crate::context::Gpu;
use crate::error::GpuError;

/// The most dimensions a kernel's index arithmetic handles.
pub const MAX_DIMS: usize = 8;

/// How an array's elements sit in its buffer: shape, strides and offset, in elements. Strides
/// may be zero (a broadcast dimension) or negative (a reversed one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub shape: Vec<usize>,
    pub strides: Vec<isize>,
    pub offset: usize,
}

impl Layout {
    /// Row-major (C order), as the core stores arrays.
    pub fn contiguous(shape: &[usize]) -> Layout {
        let mut strides = vec![0isize; shape.len()];
        let mut s = 1isize;
        for (d, &n) in shape.iter().enumerate().rev() {
            strides[d] = s;
            s *= n.max(1) as isize;
        }
        Layout { shape: shape.to_vec(), strides, offset: 0 }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_contiguous(&self) -> bool {
        let c = Layout::contiguous(&self.shape);
        self.offset == 0 && self.shape.iter().zip(self.strides.iter().zip(&c.strides)).all(|(&n, (&s, &cs))| n == 1 || s == cs)
    }

    /// The view with its dimensions reordered: dimension `i` of the result is `perm[i]` here.
    pub fn permuted(&self, perm: &[usize]) -> Result<Layout, GpuError> {
        let mut seen = vec![false; self.shape.len()];
        if perm.len() != self.shape.len() || perm.iter().any(|&p| p >= seen.len() || std::mem::replace(&mut seen[p], true)) {
            return Err(GpuError::InvalidArgument(format!("{perm:?} is not a permutation of {} dimensions", self.shape.len())));
        }
        Ok(Layout {
            shape: perm.iter().map(|&p| self.shape[p]).collect(),
            strides: perm.iter().map(|&p| self.strides[p]).collect(),
            offset: self.offset,
        })
    }

    /// The view broadcast to `shape` (numpy rules: leading dimensions added, size-1 stretched).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Layout, GpuError> {
        let lead = shape.len().checked_sub(self.shape.len()).ok_or_else(|| self.cannot_broadcast(shape))?;
        let mut strides = vec![0isize; shape.len()];
        for (d, (&n, &s)) in self.shape.iter().zip(&self.strides).enumerate() {
            if n == shape[lead + d] {
                strides[lead + d] = if n == 1 { 0 } else { s };
            } else if n != 1 {
                return Err(self.cannot_broadcast(shape));
            }
        }
        Ok(Layout { shape: shape.to_vec(), strides, offset: self.offset })
    }

    fn cannot_broadcast(&self, shape: &[usize]) -> GpuError {
        GpuError::InvalidArgument(format!("shape {:?} cannot be broadcast to {shape:?}", self.shape))
    }

    /// The largest element index the view reaches plus one (0 for an empty view), with a check
    /// that no element lies before the buffer's start.
    pub(crate) fn extent(&self) -> Result<usize, GpuError> {
        if self.numel() == 0 {
            return Ok(0);
        }
        let mut lo = self.offset as isize;
        let mut hi = self.offset as isize;
        for (&n, &s) in self.shape.iter().zip(&self.strides) {
            let span = (n as isize - 1) * s;
            if span < 0 {
                lo += span;
            } else {
                hi += span;
            }
        }
        if lo < 0 {
            return Err(GpuError::InvalidArgument(format!("layout {self:?} reaches before the buffer")));
        }
        Ok(hi as usize + 1)
    }

    /// Checks the view fits a buffer of `len` elements and the kernels' dimension limit.
    pub(crate) fn check_within(&self, len: usize) -> Result<(), GpuError> {
        if self.shape.len() != self.strides.len() {
            return Err(GpuError::InvalidArgument("a layout's shape and strides differ in length".into()));
        }
        if self.shape.len() > MAX_DIMS {
            return Err(GpuError::InvalidArgument(format!("{} dimensions; GPU kernels take at most {MAX_DIMS}", self.shape.len())));
        }
        let extent = self.extent()?;
        if extent > len {
            return Err(GpuError::InvalidArgument(format!("layout {self:?} reaches element {extent} of a buffer of {len}")));
        }
        if extent > i32::MAX as usize || self.strides.iter().any(|&s| s.unsigned_abs() > i32::MAX as usize) {
            return Err(GpuError::InvalidArgument("a layout's offsets exceed the kernels' 32-bit indexing".into()));
        }
        Ok(())
    }
}

/// The numpy broadcast of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, GpuError> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
            let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
            match (da, db) {
                (x, y) if x == y => Ok(x),
                (1, y) => Ok(y),
                (x, 1) => Ok(x),
                _ => Err(GpuError::InvalidArgument(format!("shapes {a:?} and {b:?} do not broadcast"))),
            }
        })
        .collect()
}

impl Gpu {
    /// The workgroup grid for `groups` workgroups: one row along x up to the adapter's
    /// per-dimension limit, else the fewest rows along y, each as short as they can be so that
    /// the surplus (workgroups that only check their index and exit) stays under one row.
    /// Kernels recover the linear index as `x + y * num_workgroups.x`.
    pub(crate) fn grid(&self, groups: u64) -> Result<[u32; 3], GpuError> {
        grid_for(groups, self.limits.max_compute_workgroups_per_dimension as u64)
    }
}

/// The start of every kernel's WGSL: the scalar type `T` and `is_nan`. WGSL lets compilers
/// assume comparisons never see NaN (and naga emits ordered comparisons), so `x != x` is no
/// NaN test; the bit pattern is. float64 is tested through its float32 rounding, which keeps
/// NaN a NaN.
pub(crate) fn prelude(dtype: DType) -> String {
    let test = match dtype {
        DType::F32 => "(bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u",
        DType::F64 => "(bitcast<u32>(f32(x)) & 0x7fffffffu) > 0x7f800000u",
    };
    format!("alias T = {};\nfn is_nan(x: T) -> bool {{\n    return {test};\n}}\n", dtype.wgsl())
}

fn grid_for(groups: u64, max: u64) -> Result<[u32; 3], GpuError> {
    if groups <= max {
        return Ok([groups as u32, 1, 1]);
    }
    let y = groups.div_ceil(max);
    if y > max {
        return Err(GpuError::DispatchLimit { workgroups: groups, limit: max });
    }
    Ok([groups.div_ceil(y) as u32, y as u32, 1])
}

/// Pushes a view's offset and strides (as i32 bit patterns) padded to `MAX_DIMS`, for the
/// kernels' `offset_of` functions.
pub(crate) fn push_strides(params: &mut Vec<u32>, layout: &Layout) {
    params.push(layout.offset as u32);
    for d in 0..MAX_DIMS {
        params.push(layout.strides.get(d).map_or(0, |&s| s as i32 as u32));
    }
}

/// Pushes a shape padded with ones to `MAX_DIMS`.
pub(crate) fn push_shape(params: &mut Vec<u32>, shape: &[usize]) {
    for d in 0..MAX_DIMS {
        params.push(shape.get(d).map_or(1, |&n| n as u32));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes(&[3, 1, 5], &[4, 1]).unwrap(), vec![3, 4, 5]);
        assert_eq!(broadcast_shapes(&[], &[2, 3]).unwrap(), vec![2, 3]);
        assert_eq!(broadcast_shapes(&[0, 1], &[1, 3]).unwrap(), vec![0, 3]);
        assert!(broadcast_shapes(&[2, 3], &[3, 2]).is_err());
        let l = Layout::contiguous(&[4, 1]).broadcast_to(&[3, 4, 5]).unwrap();
        assert_eq!(l.strides, vec![0, 1, 0]);
    }

    #[test]
    fn grids_split_into_rows_without_a_wasted_row() {
        assert_eq!(grid_for(10, 65_535).unwrap(), [10, 1, 1]);
        assert_eq!(grid_for(65_535, 65_535).unwrap(), [65_535, 1, 1]);
        assert_eq!(grid_for(65_536, 65_535).unwrap(), [32_768, 2, 1]);
        let [x, y, _] = grid_for(1_000_003, 65_535).unwrap();
        assert!(x as u64 * y as u64 >= 1_000_003 && (x as u64 * y as u64) < 1_000_003 + y as u64);
        assert!(grid_for(65_535 * 65_535 + 1, 65_535).is_err());
    }

    #[test]
    fn layouts_know_their_extent() {
        let l = Layout::contiguous(&[2, 3]).permuted(&[1, 0]).unwrap();
        assert_eq!(l.strides, vec![1, 3]);
        assert!(!l.is_contiguous());
        assert_eq!(l.extent().unwrap(), 6);
        assert!(l.check_within(5).is_err());
        let rev = Layout { shape: vec![3], strides: vec![-1], offset: 2 };
        assert_eq!(rev.extent().unwrap(), 3);
        assert!(Layout { shape: vec![3], strides: vec![-1], offset: 1 }.extent().is_err());
        assert!(Layout::contiguous(&[2, 3]).permuted(&[0, 0]).is_err());
    }
}
