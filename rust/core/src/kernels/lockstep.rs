//! Threads that walk through a sequence together, one barrier per step.
//!
//! A recurrent step is too small (tens of microseconds) to hand to the thread pool at every
//! step: waking a pool thread and waiting on its latch costs about as much as the step. Here
//! each part runs on its own thread for the whole sequence, and the parts meet at a spinning
//! barrier after each step, when one part's new states must be read by the other. The parts run on dedicated scoped threads rather than the pool because a
//! barrier needs every part to run at once, which the pool does not promise.
//!
//! Work within a step is handed out in chunks (`Tickets`), so that a part whose core is
//! slower or shared does less of it. Buffers that every part writes (each the chunks it took)
//! and reads (all rows, after the barrier) are shared through `SharedMut`, whose accessors are
//! unsafe: the caller keeps to the discipline that no two parts touch the same element
//! between two barriers unless both only read it.

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The meeting point of the parts; each holds a `Step` to wait at it.
struct Barrier {
    arrived: AtomicUsize,
    parts: usize,
    /// Set when a part panics, so that the others stop waiting for it.
    poisoned: AtomicBool,
}

/// One part's handle on the barrier.
pub struct Step<'a> {
    barrier: &'a Barrier,
    round: usize,
}

impl Step<'_> {
    /// Waits until every part has finished the current step. Everything a part wrote before
    /// waiting is visible to every part after it.
    pub fn wait(&mut self) {
        let b = self.barrier;
        if b.parts == 1 {
            return;
        }
        self.round += 1;
        b.arrived.fetch_add(1, Ordering::AcqRel);
        self.wait_until(&b.arrived, self.round * b.parts);
    }

    /// Waits until `counter` reaches `target` (another part's progress, published with a
    /// Release store or read-modify-write); what that part wrote before is visible after.
    pub fn wait_until(&self, counter: &AtomicUsize, target: usize) {
        let mut spins = 0u32;
        while counter.load(Ordering::Acquire) < target {
            assert!(!self.barrier.poisoned.load(Ordering::Relaxed), "lockstep: another part panicked");
            spins += 1;
            // Spin briefly (steps are short), then give the core away in case the other part
            // is not running (a busy machine).
            if spins < 1 << 14 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// Marks the barrier poisoned when a part unwinds.
struct PoisonOnPanic<'a>(&'a Barrier);

impl Drop for PoisonOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.poisoned.store(true, Ordering::Relaxed);
        }
    }
}

/// Runs `work(state, step)` for every part's state at once: the first on the calling thread,
/// the others on scoped threads. Returns when all have finished.
pub fn lockstep<S: Send, F: Fn(S, &mut Step) + Sync>(states: Vec<S>, work: F) {
    let barrier = Barrier { arrived: AtomicUsize::new(0), parts: states.len(), poisoned: AtomicBool::new(false) };
    let run = |state: S| {
        let _guard = PoisonOnPanic(&barrier);
        work(state, &mut Step { barrier: &barrier, round: 0 });
    };
    let mut states = states.into_iter();
    let Some(first) = states.next() else { return };
    std::thread::scope(|scope| {
        for state in states {
            scope.spawn(|| run(state));
        }
        run(first);
    });
}

/// Work handed out in chunks, phase by phase. Each part has its own share of every phase's
/// chunks (the same share every phase, so its rows stay in its core's cache) and takes those
/// first; then it takes what the other parts have not started, so a part on a slower (or
/// shared) core does less. Each chunk of a phase goes to exactly one part; the barrier
/// between phases orders their writes.
pub struct Tickets {
    parts: usize,
    /// Per phase and part: how many of that part's share have been handed out.
    next: Vec<AtomicUsize>,
}

impl Tickets {
    pub fn new(phases: usize, parts: usize) -> Self {
        Tickets { parts, next: (0..phases * parts).map(|_| AtomicUsize::new(0)).collect() }
    }

    /// The chunks of `phase` (out of `chunks`) that `part` gets, until none are left.
    pub fn take(&self, phase: usize, chunks: usize, part: usize) -> impl Iterator<Item = usize> + '_ {
        let (parts, share) = (self.parts, chunks.div_ceil(self.parts));
        let mut order = (part..parts).chain(0..part);
        let mut queue = order.next();
        std::iter::from_fn(move || {
            while let Some(q) = queue {
                let c = q * share + self.next[phase * parts + q].fetch_add(1, Ordering::Relaxed);
                if c < ((q + 1) * share).min(chunks) {
                    return Some(c);
                }
                queue = order.next();
            }
            None
        })
    }
}

/// A mutable buffer that several lockstep parts use at once (see the module's discipline).
pub struct SharedMut<'a, T> {
    ptr: *mut T,
    len: usize,
    _borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: access goes through the unsafe accessors, whose callers keep parts from touching
// the same elements concurrently unless all of them only read.
unsafe impl<T: Send> Sync for SharedMut<'_, T> {}
// SAFETY: a SharedMut stands for the `&'a mut [T]` it was made from (the PhantomData keeps that borrow), and sending
// `&mut [T]` to another thread is sound for T: Send; the elements are reached only through the unsafe accessors.
unsafe impl<T: Send> Send for SharedMut<'_, T> {}

impl<'a, T> SharedMut<'a, T> {
    pub fn new(data: &'a mut [T]) -> Self {
        SharedMut { ptr: data.as_mut_ptr(), len: data.len(), _borrow: PhantomData }
    }

    /// Over memory not yet initialised: every element must be written (through `get_mut`)
    /// before it is read.
    pub fn uninit(data: &'a mut [MaybeUninit<T>]) -> Self {
        SharedMut { ptr: data.as_mut_ptr() as *mut T, len: data.len(), _borrow: PhantomData }
    }

    /// Elements `start..start + len`, to read.
    ///
    /// # Safety
    /// No other part writes any of them until this part's next barrier.
    pub unsafe fn get(&self, start: usize, len: usize) -> &[T] {
        assert!(start + len <= self.len, "SharedMut: range out of bounds");
        std::slice::from_raw_parts(self.ptr.add(start), len)
    }

    /// Elements `start..start + len`, to write.
    ///
    /// # Safety
    /// No other part reads or writes any of them until this part's next barrier.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get_mut(&self, start: usize, len: usize) -> &mut [T] {
        assert!(start + len <= self.len, "SharedMut: range out of bounds");
        std::slice::from_raw_parts_mut(self.ptr.add(start), len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_see_each_others_writes_after_every_step() {
        // Each part checks that all of block s holds s, then writes s + 1 into its half of
        // block s + 1: a write not yet visible after the barrier fails the check.
        let (steps, half) = (500, 8);
        let mut buf = vec![0usize; (steps + 1) * 2 * half];
        let shared = SharedMut::new(&mut buf);
        lockstep(vec![0usize, 1], |part, step| {
            for s in 0..steps {
                // SAFETY: block s is only read during step s; each part writes its own half of
                // block s + 1.
                assert!(unsafe { shared.get(s * 2 * half, 2 * half) }.iter().all(|&v| v == s), "step {s}");
                // SAFETY: this part's half of block s + 1 is written by it alone, and read by either part only in
                // step s + 1, after the barrier below.
                unsafe { shared.get_mut((s + 1) * 2 * half + part * half, half) }.fill(s + 1);
                step.wait();
            }
        });
        assert!(buf[steps * 2 * half..].iter().all(|&v| v == steps));
    }

    #[test]
    fn every_chunk_of_every_phase_goes_to_exactly_one_part() {
        let (phases, chunks) = (300, 7);
        let tickets = Tickets::new(phases, 2);
        let counts: Vec<AtomicUsize> = (0..phases * chunks).map(|_| AtomicUsize::new(0)).collect();
        lockstep(vec![0, 1], |part, step| {
            for p in 0..phases {
                // Part 1 sometimes dawdles, so part 0 takes some of its share.
                if part == 1 && p % 3 == 0 {
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
                for c in tickets.take(p, chunks, part) {
                    counts[p * chunks + c].fetch_add(1, Ordering::Relaxed);
                }
                step.wait();
            }
        });
        assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
    }

    #[test]
    fn a_panicking_part_does_not_hang_the_others() {
        let result = std::panic::catch_unwind(|| {
            lockstep(vec![0, 1], |part, step| {
                if part == 1 {
                    panic!("part 1 fails");
                }
                step.wait();
            })
        });
        assert!(result.is_err());
    }
}
