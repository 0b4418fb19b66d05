//! A pool of host buffers that optimizer steps recycle.
//!
//! An optimizer step writes a new generation of parameters and state every iteration, and the
//! caller drops the previous generation right after (`net, vel = sgdmupdate(net, g, vel)`).
//! Allocating a fresh multi-megabyte vector each time costs page faults comparable to the
//! update itself. So every buffer a step produces is *parked* here as one more reference to
//! its `Arc<Buffer>`. While any tensor still uses it, the pool's reference is just a count;
//! once the pool holds the only reference (`Arc::strong_count == 1`) nobody can observe the
//! buffer any more, and the next step takes it back and overwrites it. Value semantics are
//! untouched: a buffer is only ever reused after its last user has gone.
//!
//! Idle buffers (held only by the pool) cost memory, so their total size is capped and the
//! oldest are released first; the number of parked references is capped too.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::buffer::Buffer;
use crate::dtype::DType;

/// At most this many bytes of idle buffers stay parked between steps.
pub const MAX_IDLE_BYTES: usize = 1 << 30;
/// At most this many buffers (idle or still in use) are tracked.
pub const MAX_PARKED: usize = 8192;

type Key = (DType, usize);

#[derive(Default)]
struct Inner {
    /// Parked buffers by (dtype, length), oldest first; each with the stamp it was parked at.
    parked: HashMap<Key, VecDeque<(u64, Arc<Buffer>)>>,
    count: usize,
    clock: u64,
    hits: u64,
    misses: u64,
}

/// Counters describing the pool, for tests and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Buffers tracked (idle or in use).
    pub parked: usize,
    /// Buffers held only by the pool, ready for reuse.
    pub idle: usize,
    pub idle_bytes: usize,
    /// Requests served from the pool / requests that needed a new allocation.
    pub hits: u64,
    pub misses: u64,
}

pub struct BufferPool {
    inner: Mutex<Option<Inner>>,
    max_idle_bytes: usize,
    max_parked: usize,
}

fn bytes_of(b: &Buffer) -> usize {
    b.len() * b.dtype().size_of()
}

fn is_idle(b: &Arc<Buffer>) -> bool {
    Arc::strong_count(b) == 1
}

impl BufferPool {
    pub const fn new() -> BufferPool {
        Self::with_limits(MAX_IDLE_BYTES, MAX_PARKED)
    }

    pub const fn with_limits(max_idle_bytes: usize, max_parked: usize) -> BufferPool {
        BufferPool { inner: Mutex::new(None), max_idle_bytes, max_parked }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Inner>> {
        // A panic while holding the lock leaves only counters behind: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle buffer of `dtype` and `len` elements (contents unspecified), if one is parked.
    pub fn take(&self, dtype: DType, len: usize) -> Option<Buffer> {
        if len == 0 {
            return None;
        }
        let mut guard = self.lock();
        let inner = guard.get_or_insert_with(Inner::default);
        let found = inner.parked.get_mut(&(dtype, len)).and_then(|q| {
            let pos = q.iter().position(|(_, b)| is_idle(b))?;
            q.remove(pos)
        });
        match found {
            Some((_, arc)) => {
                inner.count -= 1;
                // The pool held the only strong reference under the lock, so nobody can have
                // cloned it since: unwrapping cannot fail.
                match Arc::try_unwrap(arc) {
                    Ok(buf) => {
                        inner.hits += 1;
                        Some(buf)
                    }
                    Err(_) => {
                        inner.misses += 1;
                        None
                    }
                }
            }
            None => {
                inner.misses += 1;
                None
            }
        }
    }

    /// Tracks `bufs` so that they can be reused once their users drop them.
    pub fn park(&self, bufs: impl IntoIterator<Item = Arc<Buffer>>) {
        let mut guard = self.lock();
        let inner = guard.get_or_insert_with(Inner::default);
        for b in bufs {
            if b.is_empty() {
                continue;
            }
            inner.clock += 1;
            let stamp = inner.clock;
            inner.parked.entry((b.dtype(), b.len())).or_default().push_back((stamp, b));
            inner.count += 1;
        }
        self.evict(inner);
    }

    /// Releases the oldest idle buffers above the byte cap, then the oldest references above
    /// the count cap.
    fn evict(&self, inner: &mut Inner) {
        let idle_bytes: usize = inner.parked.values().flat_map(|q| q.iter()).filter(|(_, b)| is_idle(b)).map(|(_, b)| bytes_of(b)).sum();
        if idle_bytes > self.max_idle_bytes {
            let mut idle: Vec<(u64, Key, usize)> = inner
                .parked
                .iter()
                .flat_map(|(k, q)| q.iter().filter(|(_, b)| is_idle(b)).map(move |(s, b)| (*s, *k, bytes_of(b))))
                .collect();
            idle.sort_unstable_by_key(|e| e.0);
            let mut excess = idle_bytes - self.max_idle_bytes;
            for (stamp, key, bytes) in idle {
                if excess == 0 {
                    break;
                }
                Self::remove_stamp(inner, key, stamp);
                excess = excess.saturating_sub(bytes);
            }
        }
        if inner.count > self.max_parked {
            let mut all: Vec<(u64, Key)> = inner.parked.iter().flat_map(|(k, q)| q.iter().map(move |(s, _)| (*s, *k))).collect();
            all.sort_unstable_by_key(|e| e.0);
            let excess = inner.count - self.max_parked;
            for (stamp, key) in all.into_iter().take(excess) {
                Self::remove_stamp(inner, key, stamp);
            }
        }
        inner.parked.retain(|_, q| !q.is_empty());
    }

    fn remove_stamp(inner: &mut Inner, key: Key, stamp: u64) {
        if let Some(q) = inner.parked.get_mut(&key) {
            if let Some(pos) = q.iter().position(|(s, _)| *s == stamp) {
                q.remove(pos);
                inner.count -= 1;
            }
        }
    }

    pub fn stats(&self) -> PoolStats {
        let guard = self.lock();
        let Some(inner) = guard.as_ref() else {
            return PoolStats::default();
        };
        let mut s = PoolStats { parked: inner.count, hits: inner.hits, misses: inner.misses, ..Default::default() };
        for (_, b) in inner.parked.values().flat_map(|q| q.iter()) {
            if is_idle(b) {
                s.idle += 1;
                s.idle_bytes += bytes_of(b);
            }
        }
        s
    }

    /// Forgets every parked buffer (idle ones are freed) and resets the counters.
    pub fn clear(&self) {
        *self.lock() = None;
    }
}

impl Default for BufferPool {
    fn default() -> Self {
        Self::new()
    }
}

/// The process-wide pool the optimizer steps use.
pub fn global() -> &'static BufferPool {
    static POOL: BufferPool = BufferPool::new();
    &POOL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_only_buffers_nobody_holds() {
        let pool = BufferPool::new();
        let a = Arc::new(Buffer::F32(vec![1.0; 8].into()));
        pool.park([a.clone()]);
        // Still held by `a`: not reusable.
        assert!(pool.take(DType::F32, 8).is_none());
        drop(a);
        assert_eq!(pool.stats().idle, 1);
        // Wrong dtype or length: not reused.
        assert!(pool.take(DType::F64, 8).is_none());
        assert!(pool.take(DType::F32, 7).is_none());
        let b = pool.take(DType::F32, 8).expect("idle buffer reused");
        assert_eq!(b.len(), 8);
        let s = pool.stats();
        assert_eq!((s.parked, s.hits), (0, 1));
    }

    #[test]
    fn idle_bytes_are_capped() {
        let pool = BufferPool::with_limits(1000, 100);
        let old = Arc::new(Buffer::F32(vec![0.0; 200].into())); // 800 bytes
        let new = Arc::new(Buffer::F32(vec![1.0; 200].into()));
        pool.park([old]);
        pool.park([new]);
        let s = pool.stats();
        assert_eq!((s.idle, s.idle_bytes), (1, 800));
        // The oldest idle buffer went first.
        let Some(Buffer::F32(v)) = pool.take(DType::F32, 200) else { panic!("expected a buffer") };
        assert_eq!(v[0], 1.0);
    }

    #[test]
    fn parked_count_is_capped() {
        let pool = BufferPool::with_limits(1 << 20, 3);
        let held: Vec<_> = (0..5).map(|_| Arc::new(Buffer::F64(vec![0.0; 4].into()))).collect();
        pool.park(held.iter().cloned());
        assert_eq!(pool.stats().parked, 3);
    }
}
