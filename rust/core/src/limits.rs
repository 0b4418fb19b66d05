//! Sizes checked before anything is allocated. Rust aborts the process when an allocation
//! fails, so every op whose output size comes from user-given numbers (padding, repeats,
//! broadcasting...) asks here first: an overflowing size is a shape error, and a result the
//! machine cannot hold is a memory error — both ordinary errors the caller can handle.

use crate::dtype::DType;
use crate::error::{Error, Result};

/// Results at least this large are test-allocated before the op runs: the operating system
/// refuses (without touching memory) what it could never provide. Smaller ones always fit.
const PROBE_BYTES: usize = 1 << 30;

/// The most dims an array may have (numpy's arrays as rust-numpy exchanges them).
pub const MAX_DIMS: usize = 32;

/// A shape error naming `op` when `ndim` exceeds [`MAX_DIMS`].
pub fn check_ndim(op: &str, ndim: usize) -> Result<()> {
    if ndim > MAX_DIMS {
        return Err(Error::shape(op, format!("arrays have at most {MAX_DIMS} dims, got {ndim}")));
    }
    Ok(())
}

/// The element count of `shape`, or a shape error naming `op` when the product of its
/// nonzero dims overflows (as numpy refuses such a shape even when a zero dim makes it empty).
pub fn checked_numel(op: &str, shape: &[usize]) -> Result<usize> {
    let nonzero = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(|| Error::shape(op, format!("a result of shape {shape:?} has more elements than can be addressed")))?;
    Ok(if shape.contains(&0) { 0 } else { nonzero })
}

/// `a * b + c` for sizes computed from user options, or a shape error naming `op` and `what`.
pub fn checked_size(op: &str, what: &str, terms: impl FnOnce() -> Option<usize>) -> Result<usize> {
    terms().ok_or_else(|| Error::shape(op, format!("the {what} is too large to be addressed")))
}

/// Checks that a result of `shape` and `dtype` can be allocated: its size must not overflow
/// and, when large, the system must be able to provide it.
pub fn ensure_allocatable(op: &str, shape: &[usize], dtype: DType) -> Result<usize> {
    let n = checked_numel(op, shape)?;
    // numpy's rule, which every result must meet to be exported: the item size times the
    // product of the nonzero dims is addressable, even when a zero dim makes the array empty.
    let span = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(dtype.size_of(), |b, &d| b.checked_mul(d))
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| Error::shape(op, format!("a {dtype} result of shape {shape:?} has more bytes than can be addressed")))?;
    let bytes = if n == 0 { 0 } else { span };
    if bytes >= PROBE_BYTES {
        let mut probe: Vec<u8> = Vec::new();
        if probe.try_reserve_exact(bytes).is_err() {
            return Err(Error::memory(op, format!("cannot allocate {} for a {dtype} result of shape {shape:?}", human_bytes(bytes))));
        }
    }
    Ok(n)
}

fn human_bytes(b: usize) -> String {
    const UNITS: [&str; 6] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let (mut v, mut u) = (b as f64, 0);
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_is_a_shape_error() {
        let e = checked_numel("repmat", &[1 << 40, 1 << 40]).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }) && e.to_string().starts_with("repmat:"), "{e}");
        assert_eq!(checked_numel("x", &[3, 0, 1 << 40]).unwrap(), 0);
        assert!(checked_numel("x", &[1 << 40, 1 << 40, 0]).is_err());
        assert!(check_ndim("x", 33).is_err() && check_ndim("x", 32).is_ok());
    }

    #[test]
    fn an_impossible_allocation_is_a_memory_error() {
        let e = ensure_allocatable("dlconv", &[1 << 20, 1 << 20, 1 << 10], DType::F32).unwrap_err();
        assert!(matches!(e, Error::Memory { .. } | Error::Shape { .. }), "{e}");
        let e = ensure_allocatable("dlconv", &[1 << 45, 1 << 10], DType::F64).unwrap_err();
        assert!(matches!(e, Error::Memory { .. }), "{e}");
        assert!(e.to_string().contains("TiB") || e.to_string().contains("PiB"), "{e}");
        assert_eq!(ensure_allocatable("ok", &[10, 10], DType::F32).unwrap(), 100);
    }
}
