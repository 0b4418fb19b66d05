//! The elements of a host buffer: a vector dlarray allocated, or memory another owner lent
//! (an array shared through DLPack or numpy, a memory-mapped file) and kept alive for as long
//! as the buffer lives. Both read as a slice; writing needs an owned vector, so a lent buffer
//! is copied on its first write and the lender's memory is never changed.

use std::any::Any;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Whatever keeps lent memory valid (a Python object, a file mapping): dropped with the
/// last buffer that reads the memory.
pub type Lender = Arc<dyn Any + Send + Sync>;

pub enum HostVec<T> {
    Owned(Vec<T>),
    Lent(LentSlice<T>),
}

/// `len` elements at `ptr`, valid and unchanged while `lender` lives.
pub struct LentSlice<T> {
    ptr: *const T,
    len: usize,
    lender: Lender,
}

// SAFETY: a lent slice is only ever read (writes go to an owned copy), and the lender that
// keeps it valid is itself Send + Sync, so sharing or moving it between threads is as safe as
// sharing a `&[T]` of a `T: Sync`.
unsafe impl<T: Sync> Send for LentSlice<T> {}
// SAFETY: as above: shared access is read-only.
unsafe impl<T: Sync> Sync for LentSlice<T> {}

impl<T: Copy> HostVec<T> {
    /// Elements lent by `lender`, read in place.
    ///
    /// # Safety
    /// `ptr` must be non-null, aligned for `T` and point to `len` initialised elements that
    /// stay valid and are not written by anyone for as long as `lender` is alive.
    pub unsafe fn lent(ptr: *const T, len: usize, lender: Lender) -> HostVec<T> {
        HostVec::Lent(LentSlice { ptr, len, lender })
    }

    /// Whether the elements are lent memory rather than a vector of dlarray's own.
    pub fn is_lent(&self) -> bool {
        matches!(self, HostVec::Lent(_))
    }

    /// The elements for writing: a lent buffer becomes an owned copy first.
    pub fn make_mut(&mut self) -> &mut Vec<T> {
        if let HostVec::Lent(s) = self {
            *self = HostVec::Owned(s.as_slice().to_vec());
        }
        match self {
            HostVec::Owned(v) => v,
            HostVec::Lent(_) => unreachable!("made owned above"),
        }
    }

    /// The elements as a vector (moved when owned, copied when lent).
    pub fn into_vec(self) -> Vec<T> {
        match self {
            HostVec::Owned(v) => v,
            HostVec::Lent(s) => s.as_slice().to_vec(),
        }
    }
}

impl<T> LentSlice<T> {
    fn as_slice(&self) -> &[T] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `lent`'s contract: `ptr` is aligned and points to `len` initialised
        // elements that nobody writes while `lender` (held by self) lives.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl<T> Deref for HostVec<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            HostVec::Owned(v) => v,
            HostVec::Lent(s) => s.as_slice(),
        }
    }
}

impl<T> From<Vec<T>> for HostVec<T> {
    fn from(v: Vec<T>) -> HostVec<T> {
        HostVec::Owned(v)
    }
}

impl<T> FromIterator<T> for HostVec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> HostVec<T> {
        HostVec::Owned(iter.into_iter().collect())
    }
}

/// A clone of lent memory shares the lender (both only read it); an owned vector is copied.
impl<T: Clone> Clone for HostVec<T> {
    fn clone(&self) -> HostVec<T> {
        match self {
            HostVec::Owned(v) => HostVec::Owned(v.clone()),
            HostVec::Lent(s) => HostVec::Lent(LentSlice { ptr: s.ptr, len: s.len, lender: s.lender.clone() }),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for HostVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: PartialEq> PartialEq for HostVec<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lent_memory_reads_in_place_and_is_copied_on_write() {
        let data: Arc<Vec<f32>> = Arc::new(vec![1.0, 2.0, 3.0]);
        // SAFETY: the Arc'd vector is never written and lives as long as its lender clone.
        let mut lent = unsafe { HostVec::lent(data.as_ptr(), data.len(), data.clone()) };
        assert_eq!(&*lent, &[1.0, 2.0, 3.0]);
        assert_eq!(lent.as_ptr(), data.as_ptr());
        let shared = lent.clone();
        assert_eq!(shared.as_ptr(), data.as_ptr());
        lent.make_mut()[0] = 9.0;
        assert!(!lent.is_lent());
        assert_eq!(&*lent, &[9.0, 2.0, 3.0]);
        assert_eq!(&*shared, &[1.0, 2.0, 3.0]);
        assert_eq!(data[0], 1.0);
        drop(shared);
        assert_eq!(Arc::strong_count(&data), 1);
    }
}
