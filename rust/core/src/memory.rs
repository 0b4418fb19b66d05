//! Keeping freed buffers for reuse, without touching the host process's allocator.
//!
//! A training step allocates and frees the same large buffers every iteration. The system
//! allocator serves large blocks straight from the OS and gives them back on free, so every
//! step would page-fault and zero its activations afresh (a tenth of a small convolutional
//! network's step). [`BlockCache`] is a [`GlobalAlloc`] that keeps freed large blocks in size
//! classes and hands them out again. Installed as the `#[global_allocator]` of a binary or
//! extension module, it serves only that module's Rust allocations: the process's own malloc
//! (and everything numpy or Python allocate) keeps its settings.
//!
//! Blocks of at least [`MIN_CACHED`] bytes are rounded up to one of four sizes per octave (at
//! most 25% slack) and allocated with 64-byte alignment; a class keeps up to [`SLOTS`] freed
//! blocks, and the cache holds at most [`MAX_CACHED_BYTES`] in all: beyond that, freed blocks
//! go back to the system. The cache's lock is only ever tried, never waited on: a contended
//! call goes to the system allocator directly, so a `fork` taken while another thread holds
//! the lock cannot deadlock the child.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Smaller blocks are left to the system allocator, which keeps them in its heap anyway.
pub const MIN_CACHED: usize = 32 << 10;
/// Freed blocks kept per size class.
pub const SLOTS: usize = 32;
/// The most bytes the cache keeps for reuse.
pub const MAX_CACHED_BYTES: usize = 1 << 30;

const ALIGN: usize = 64;
const MIN_LOG2: u32 = MIN_CACHED.trailing_zeros();
/// The largest class is 2^MAX_LOG2 bytes; larger blocks go to the system directly.
const MAX_LOG2: u32 = 32;
const STEPS: usize = 4;
const CLASSES: usize = (MAX_LOG2 - MIN_LOG2) as usize * STEPS + 1;

struct Slots {
    blocks: [[*mut u8; SLOTS]; CLASSES],
    counts: [usize; CLASSES],
}

// SAFETY: the pointers are owned, unaliased blocks; they only move between threads under the
// mutex.
unsafe impl Send for Slots {}

pub struct BlockCache {
    slots: Mutex<Slots>,
    cached_bytes: AtomicUsize,
}

impl BlockCache {
    pub const fn new() -> Self {
        BlockCache {
            slots: Mutex::new(Slots { blocks: [[std::ptr::null_mut(); SLOTS]; CLASSES], counts: [0; CLASSES] }),
            cached_bytes: AtomicUsize::new(0),
        }
    }

    /// Bytes held for reuse now.
    pub fn cached_bytes(&self) -> usize {
        self.cached_bytes.load(Ordering::Relaxed)
    }

    /// Gives every cached block back to the system.
    pub fn release(&self) {
        let Ok(mut s) = self.slots.lock() else { return };
        for class in 0..CLASSES {
            let layout = class_layout(class);
            for i in 0..s.counts[class] {
                // SAFETY: cached blocks were allocated by System with exactly this layout.
                unsafe { System.dealloc(s.blocks[class][i], layout) };
            }
            self.cached_bytes.fetch_sub(s.counts[class] * layout.size(), Ordering::Relaxed);
            s.counts[class] = 0;
        }
    }

    fn take(&self, class: usize) -> Option<*mut u8> {
        let mut s = self.slots.try_lock().ok()?;
        if s.counts[class] == 0 {
            return None;
        }
        s.counts[class] -= 1;
        let block = s.blocks[class][s.counts[class]];
        self.cached_bytes.fetch_sub(class_layout(class).size(), Ordering::Relaxed);
        Some(block)
    }

    /// Keeps `block` for reuse; false when there is no room (the caller frees it).
    fn keep(&self, class: usize, block: *mut u8) -> bool {
        let size = class_layout(class).size();
        let Ok(mut s) = self.slots.try_lock() else { return false };
        if s.counts[class] == SLOTS || self.cached_bytes.load(Ordering::Relaxed) + size > MAX_CACHED_BYTES {
            return false;
        }
        let n = s.counts[class];
        s.blocks[class][n] = block;
        s.counts[class] = n + 1;
        self.cached_bytes.fetch_add(size, Ordering::Relaxed);
        true
    }
}

impl Default for BlockCache {
    fn default() -> Self {
        Self::new()
    }
}

/// The size class serving `layout`, if it is cached at all.
fn class_of(layout: Layout) -> Option<usize> {
    let size = layout.size();
    if size < MIN_CACHED || layout.align() > ALIGN || size > 1usize << MAX_LOG2 {
        return None;
    }
    // size rounded up to q · 2^shift with q in 4..=7 (four classes per octave).
    let log2 = usize::BITS - 1 - size.leading_zeros();
    let shift = log2 - 2;
    let q = size.div_ceil(1 << shift);
    let (log2, q) = if q == 8 { (log2 + 1, 4) } else { (log2, q) };
    Some((log2 - MIN_LOG2) as usize * STEPS + (q - 4))
}

fn class_layout(class: usize) -> Layout {
    let log2 = MIN_LOG2 + (class / STEPS) as u32;
    let q = 4 + class % STEPS;
    // SAFETY: a power-of-two alignment, and sizes far below isize::MAX.
    unsafe { Layout::from_size_align_unchecked(q << (log2 - 2), ALIGN) }
}

// SAFETY: every block handed out is either System's for the caller's own layout (uncached) or
// System's for the class layout, which is at least as large and as aligned; `class_of` maps a
// layout to the same class in alloc and dealloc, so each block returns the way it came.
unsafe impl GlobalAlloc for BlockCache {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class_of(layout) {
            None => System.alloc(layout),
            Some(c) => self.take(c).unwrap_or_else(|| System.alloc(class_layout(c))),
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match class_of(layout) {
            None => System.alloc_zeroed(layout),
            Some(c) => match self.take(c) {
                Some(block) => {
                    std::ptr::write_bytes(block, 0, layout.size());
                    block
                }
                // Fresh pages from the system come zeroed without a pass over them.
                None => System.alloc_zeroed(class_layout(c)),
            },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match class_of(layout) {
            None => System.dealloc(ptr, layout),
            Some(c) => {
                if !self.keep(c, ptr) {
                    System.dealloc(ptr, class_layout(c));
                }
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        match (class_of(layout), class_of(new_layout)) {
            (None, None) => System.realloc(ptr, layout, new_size),
            (Some(a), Some(b)) if a == b => ptr,
            _ => {
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                new
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_round_up_by_at_most_a_quarter_and_map_consistently() {
        for size in [MIN_CACHED, MIN_CACHED + 1, 300_000, 1 << 20, (1 << 20) + 1, 5 << 20, 123_456_789, 1 << 32] {
            let layout = Layout::from_size_align(size, 4).unwrap();
            let c = class_of(layout).unwrap();
            let cl = class_layout(c);
            assert!(cl.size() >= size && cl.size() as f64 <= size as f64 * 1.25 + 1.0, "{size} -> {}", cl.size());
            assert_eq!(class_of(cl), Some(c), "class size {} maps back", cl.size());
        }
        assert_eq!(class_of(Layout::from_size_align(MIN_CACHED - 1, 4).unwrap()), None);
        assert_eq!(class_of(Layout::from_size_align(1 << 20, 4096).unwrap()), None);
        assert_eq!(class_of(Layout::from_size_align((1 << 32) + 1, 4).unwrap()), None);
    }

    #[test]
    fn a_freed_block_is_reused_and_zeroed_on_request() {
        let cache = BlockCache::new();
        let layout = Layout::from_size_align(1 << 20, 8).unwrap();
        // SAFETY: every layout has a nonzero size and every pointer is checked non-null before use. Each
        // block goes back to `realloc` or `dealloc` once, with the layout it was last allocated with; the bytes
        // read were written first: b's (1 << 20) − 100 were zeroed by alloc_zeroed, and byte 10 of d was copied
        // from them by the realloc that moved it.
        unsafe {
            let a = cache.alloc(layout);
            assert!(!a.is_null());
            std::ptr::write_bytes(a, 7, layout.size());
            cache.dealloc(a, layout);
            assert_eq!(cache.cached_bytes(), 1 << 20);
            let b = cache.alloc_zeroed(Layout::from_size_align((1 << 20) - 100, 4).unwrap());
            assert_eq!(a, b, "same class, same block");
            assert!(std::slice::from_raw_parts(b, (1 << 20) - 100).iter().all(|&x| x == 0));
            assert_eq!(cache.cached_bytes(), 0);
            let c = cache.realloc(b, Layout::from_size_align((1 << 20) - 100, 4).unwrap(), (1 << 20) - 50);
            assert_eq!(c, b, "growing within the class keeps the block");
            let d = cache.realloc(c, Layout::from_size_align((1 << 20) - 50, 4).unwrap(), 4 << 20);
            assert!(!d.is_null());
            assert_eq!(*d.add(10), 0, "contents move with a realloc across classes");
            cache.dealloc(d, Layout::from_size_align(4 << 20, 4).unwrap());
            cache.release();
            assert_eq!(cache.cached_bytes(), 0);
        }
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = BlockCache::new();
        let layout = Layout::from_size_align(1 << 20, 8).unwrap();
        // SAFETY: a nonzero-sized layout; each block, checked non-null, is freed once, with that layout.
        unsafe {
            let blocks: Vec<*mut u8> = (0..SLOTS + 3).map(|_| cache.alloc(layout)).collect();
            assert!(blocks.iter().all(|b| !b.is_null()));
            for &b in &blocks {
                cache.dealloc(b, layout);
            }
        }
        assert_eq!(cache.cached_bytes(), SLOTS << 20);
        cache.release();
    }
}
