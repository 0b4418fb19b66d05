//! Device buffers reused across operations: sizes round up to a power of two, and a dropped
//! buffer goes back to the free list of its bucket instead of to the driver. In a steady loop
//! (a training step allocating the same shapes each time) no buffer is created after the first
//! iteration.

use std::collections::HashMap;
use std::sync::Mutex;

/// The smallest bucket: keeps tiny arrays (and empty ones, which still need a bindable
/// buffer) in one bucket instead of many.
const MIN_BUCKET: u64 = 256;

/// What a pooled buffer is used for; buffers of different usages never mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Usage {
    /// Kernel inputs and outputs (storage, copy source and destination).
    Storage,
    /// Readback staging (map for reading, copy destination).
    Readback,
}

impl Usage {
    fn wgpu(self) -> wgpu::BufferUsages {
        match self {
            Usage::Storage => wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            Usage::Readback => wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        }
    }
}

/// Counters of the pool, for tests and for reports of allocations per step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Buffers created on the device (cache misses).
    pub allocations: u64,
    /// Requests served from a free list.
    pub reuses: u64,
    /// Bytes of the buffers handed out and not yet returned (bucket sizes).
    pub live_bytes: u64,
    /// Bytes of the buffers waiting in free lists.
    pub pooled_bytes: u64,
}

#[derive(Default)]
struct Inner {
    free: HashMap<(Usage, u64), Vec<wgpu::Buffer>>,
    stats: PoolStats,
}

pub(crate) struct BufferPool {
    inner: Mutex<Inner>,
}

/// The bucket (allocated size) for a request of `bytes`: the next power of two, or, where that
/// would pass the adapter's largest buffer, the request rounded up to 256 bytes.
pub(crate) fn bucket_size(bytes: u64, max_buffer_size: u64) -> u64 {
    let b = bytes.max(MIN_BUCKET);
    let pow2 = b.checked_next_power_of_two().unwrap_or(u64::MAX);
    if pow2 <= max_buffer_size {
        pow2
    } else {
        b.div_ceil(MIN_BUCKET) * MIN_BUCKET
    }
}

impl BufferPool {
    pub(crate) fn new() -> Self {
        BufferPool { inner: Mutex::new(Inner::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A buffer of exactly `bucket` bytes: from the free list, or else `None` (the caller then
    /// creates one, inside an error scope, and records it with `note_allocation`).
    pub(crate) fn take(&self, usage: Usage, bucket: u64) -> Option<wgpu::Buffer> {
        let mut inner = self.lock();
        let buf = inner.free.get_mut(&(usage, bucket)).and_then(Vec::pop)?;
        inner.stats.reuses += 1;
        inner.stats.pooled_bytes -= bucket;
        inner.stats.live_bytes += bucket;
        Some(buf)
    }

    pub(crate) fn note_allocation(&self, bucket: u64) {
        let mut inner = self.lock();
        inner.stats.allocations += 1;
        inner.stats.live_bytes += bucket;
    }

    /// Returns a buffer to its bucket's free list.
    pub(crate) fn give_back(&self, usage: Usage, bucket: u64, buf: wgpu::Buffer) {
        let mut inner = self.lock();
        inner.stats.live_bytes -= bucket;
        inner.stats.pooled_bytes += bucket;
        inner.free.entry((usage, bucket)).or_default().push(buf);
    }

    /// Records that a handed-out buffer was dropped instead of returned (one left in an
    /// unknown state by a failed readback).
    pub(crate) fn discard(&self, bucket: u64) {
        self.lock().stats.live_bytes -= bucket;
    }

    /// Releases every idle buffer to the driver.
    pub(crate) fn trim(&self) {
        let mut inner = self.lock();
        inner.free.clear();
        inner.stats.pooled_bytes = 0;
    }

    pub(crate) fn stats(&self) -> PoolStats {
        self.lock().stats
    }

    /// Creates a buffer of `bucket` bytes on `device` (the pool holds no device, so that it can
    /// be built before the context is complete).
    pub(crate) fn create(device: &wgpu::Device, usage: Usage, bucket: u64) -> wgpu::Buffer {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("dlarray pooled"),
            size: bucket,
            usage: usage.wgpu(),
            mapped_at_creation: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::bucket_size;

    #[test]
    fn buckets_are_powers_of_two_within_the_limit() {
        assert_eq!(bucket_size(0, 1 << 31), 256);
        assert_eq!(bucket_size(257, 1 << 31), 512);
        assert_eq!(bucket_size(4096, 1 << 31), 4096);
        assert_eq!(bucket_size(4097, 1 << 31), 8192);
        // Past the largest buffer, the exact size rounded to 256 bytes.
        assert_eq!(bucket_size((1 << 30) + 1, 1 << 30 | 1 << 29), (1 << 30) + 256);
    }
}
