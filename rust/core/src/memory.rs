//! Keeping freed buffers for reuse.
//!
//! A training step allocates and frees the same large buffers every iteration. glibc serves
//! blocks above its mmap threshold (128 KiB at first) straight from the OS and gives them back
//! on free, so every step page-faults and zeroes its activations afresh — a tenth of a small
//! convolutional network's step. Raising the thresholds keeps those blocks in the heap, where
//! the next step finds them.

/// Asks the allocator to keep large freed blocks (glibc on Linux; elsewhere nothing to do).
pub fn keep_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        // Blocks up to 1 GiB come from the heap; the heap is trimmed only with 2 GiB free at its top.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
