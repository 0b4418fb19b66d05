//! Parts of a kernel that walk through a sequence of phases together.
//!
//! A recurrent step is too small (tens of microseconds) to hand to the thread pool at every
//! step: waking a pool thread and waiting on its latch costs about as much as the step. Here
//! each part runs for the whole sequence, and the parts meet at a spinning barrier after each
//! phase, when one part's new states must be read by the other.
//!
//! Work within a phase is handed out in chunks (`Tickets`): a part takes its own share first,
//! then whatever the other parts have not started. The barrier waits for the phase's chunks to
//! be finished, not for every part to arrive, so a part whose core is taken by another process
//! (or that has not started yet) holds nobody up: the running parts do its share, and it
//! catches up, finding nothing left, when it runs. That is also why the parts can be pool
//! jobs: a part the pool never starts before the others finish runs last, through empty phases.
//!
//! Buffers that every part writes (each the chunks it took) and reads (all rows, after the
//! barrier) are shared through `SharedMut`, whose accessors are unsafe: the caller keeps to the
//! discipline that no two parts touch the same element between two barriers unless both only
//! read it, and that between two barriers a part writes only the rows of the chunks it took.

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The meeting point of the parts; each holds a `Step` to wait at it.
struct Barrier {
    /// Chunks finished so far, over all phases (each finished chunk adds one, with Release).
    done: AtomicUsize,
    parts: usize,
    /// Set when a part panics, so that the others stop waiting for it.
    poisoned: AtomicBool,
}

/// One part's handle on the barrier.
pub struct Step<'a> {
    barrier: &'a Barrier,
    part: usize,
    /// Chunks of the phases this part has gone through (handed out by `Tickets::take`).
    handed_out: usize,
}

impl Step<'_> {
    /// This part's index, from 0.
    pub fn part(&self) -> usize {
        self.part
    }

    /// Waits until every chunk of the phases this part has gone through is finished, by
    /// whichever part took it. Everything written for those chunks is visible after it.
    pub fn wait(&mut self) {
        if self.barrier.parts > 1 {
            self.wait_until(&self.barrier.done, self.handed_out);
        }
    }

    /// Waits until `counter` reaches `target` (progress another part published with a
    /// Release store or read-modify-write); what that part wrote before is visible after.
    pub fn wait_until(&self, counter: &AtomicUsize, target: usize) {
        let mut spins = 0u32;
        while counter.load(Ordering::Acquire) < target {
            assert!(!self.barrier.poisoned.load(Ordering::Relaxed), "lockstep: another part panicked");
            spins += 1;
            // Spin briefly (chunks are short), then give the core away in case the part that
            // holds the chunk is not running (a busy machine).
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

/// Runs `work(step)` for `parts` parts: the first on the calling thread, the others as jobs
/// of the thread pool (which run at once on idle threads, or later, or on the calling thread
/// once its own part is done). Returns when all have finished.
pub fn lockstep<F: Fn(&mut Step) + Sync>(parts: usize, work: F) {
    let barrier = Barrier { done: AtomicUsize::new(0), parts, poisoned: AtomicBool::new(false) };
    let run = |part: usize| {
        let _guard = PoisonOnPanic(&barrier);
        work(&mut Step { barrier: &barrier, part, handed_out: 0 });
    };
    rayon::in_place_scope(|scope| {
        for part in 1..parts {
            scope.spawn(move |_| run(part));
        }
        if parts > 0 {
            run(0);
        }
    });
}

/// Work handed out in chunks, phase by phase. Each part has its own share of every phase's
/// chunks (the same share every phase, so its rows stay in its core's cache) and takes those
/// first; then it takes what the other parts have not started, so a part on a slower (or
/// shared) core does less. Each chunk of a phase goes to exactly one part.
pub struct Tickets {
    parts: usize,
    /// Per phase and part: how many of that part's share have been handed out.
    next: Vec<AtomicUsize>,
}

impl Tickets {
    pub fn new(phases: usize, parts: usize) -> Self {
        Tickets { parts, next: (0..phases * parts).map(|_| AtomicUsize::new(0)).collect() }
    }

    /// The chunks of `phase` (out of `chunks`) that `step`'s part gets, until none are left.
    /// A chunk counts as finished when the next one is asked for (or the iterator dropped),
    /// so the work on a chunk is the body of the loop over this iterator.
    pub fn take<'t, 'b>(&'t self, step: &mut Step<'b>, phase: usize, chunks: usize) -> Taken<'t, 'b> {
        step.handed_out += chunks;
        let order = (step.part + 1..self.parts).chain(0..step.part);
        Taken { tickets: self, barrier: step.barrier, phase, chunks, order, queue: Some(step.part), holding: false }
    }
}

/// The chunks one part takes of one phase (see `Tickets::take`).
pub struct Taken<'t, 'b> {
    tickets: &'t Tickets,
    barrier: &'b Barrier,
    phase: usize,
    chunks: usize,
    /// The other parts' shares, to take from once this part's own (`queue` at first) is gone.
    order: std::iter::Chain<std::ops::Range<usize>, std::ops::Range<usize>>,
    queue: Option<usize>,
    /// Whether the last chunk handed out is still being worked on.
    holding: bool,
}

impl Taken<'_, '_> {
    fn finish_held(&mut self) {
        if std::mem::take(&mut self.holding) {
            self.barrier.done.fetch_add(1, Ordering::Release);
        }
    }
}

impl Iterator for Taken<'_, '_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        self.finish_held();
        let (parts, share) = (self.tickets.parts, self.chunks.div_ceil(self.tickets.parts));
        while let Some(q) = self.queue {
            let c = q * share + self.tickets.next[self.phase * parts + q].fetch_add(1, Ordering::Relaxed);
            if c < ((q + 1) * share).min(self.chunks) {
                self.holding = true;
                return Some(c);
            }
            self.queue = self.order.next();
        }
        None
    }
}

impl Drop for Taken<'_, '_> {
    fn drop(&mut self) {
        // A part that unwinds poisons the barrier instead: its chunk was not finished.
        if !std::thread::panicking() {
            self.finish_held();
        }
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
    fn parts_see_each_others_writes_after_every_phase() {
        // In phase s each chunk checks that all of block s holds s, then writes s + 1 into its
        // rows of block s + 1: a write not yet visible after the barrier fails the check.
        let (phases, chunks, rows) = (500, 6, 4);
        let width = chunks * rows;
        let mut buf = vec![0usize; (phases + 1) * width];
        let shared = SharedMut::new(&mut buf);
        let tickets = Tickets::new(phases, 2);
        lockstep(2, |step| {
            for s in 0..phases {
                for c in tickets.take(step, s, chunks) {
                    // SAFETY: block s is only read during phase s; chunk c's rows of block s + 1
                    // are written by its taker alone and read only after the barrier below.
                    assert!(unsafe { shared.get(s * width, width) }.iter().all(|&v| v == s), "phase {s}");
                    // SAFETY: as for the read above.
                    unsafe { shared.get_mut((s + 1) * width + c * rows, rows) }.fill(s + 1);
                }
                step.wait();
            }
        });
        assert!(buf[phases * width..].iter().all(|&v| v == phases));
    }

    #[test]
    fn every_chunk_of_every_phase_goes_to_exactly_one_part() {
        let (phases, chunks) = (300, 7);
        let tickets = Tickets::new(phases, 2);
        let counts: Vec<AtomicUsize> = (0..phases * chunks).map(|_| AtomicUsize::new(0)).collect();
        lockstep(2, |step| {
            for p in 0..phases {
                // Part 1 sometimes dawdles, so part 0 takes some of its share.
                if step.part() == 1 && p % 3 == 0 {
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
                for c in tickets.take(step, p, chunks) {
                    counts[p * chunks + c].fetch_add(1, Ordering::Relaxed);
                }
                step.wait();
            }
        });
        assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
    }

    #[test]
    fn a_part_that_does_not_run_holds_nobody_up() {
        // Part 1 starts only once part 0 has gone through every phase: part 0 must have done
        // every chunk itself (an arrival barrier would wait for part 1 forever).
        let (phases, chunks) = (50, 4);
        let tickets = Tickets::new(phases, 2);
        let part0_finished = AtomicBool::new(false);
        let taken_by_part1 = AtomicUsize::new(0);
        lockstep(2, |step| {
            if step.part() == 1 {
                while !part0_finished.load(Ordering::Acquire) {
                    std::thread::yield_now();
                }
            }
            for p in 0..phases {
                for _ in tickets.take(step, p, chunks) {
                    if step.part() == 1 {
                        taken_by_part1.fetch_add(1, Ordering::Relaxed);
                    }
                }
                step.wait();
            }
            if step.part() == 0 {
                part0_finished.store(true, Ordering::Release);
            }
        });
        assert_eq!(taken_by_part1.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn parts_finish_on_a_pool_of_one_thread() {
        // The second part can run only after the first has returned.
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let (phases, chunks) = (20, 3);
        let tickets = Tickets::new(phases, 2);
        let total = AtomicUsize::new(0);
        pool.install(|| {
            lockstep(2, |step| {
                for p in 0..phases {
                    total.fetch_add(tickets.take(step, p, chunks).count(), Ordering::Relaxed);
                    step.wait();
                }
            })
        });
        assert_eq!(total.load(Ordering::Relaxed), phases * chunks);
    }

    #[test]
    fn a_panicking_part_does_not_hang_the_others() {
        // Part 1 panics holding a chunk that part 0 waits for at the barrier. (Part 0 runs on
        // the test thread, part 1 on a pool thread, so part 0 can wait for part 1 to start.)
        let tickets = Tickets::new(1, 2);
        let part1_holds_a_chunk = AtomicBool::new(false);
        let result = std::panic::catch_unwind(|| {
            lockstep(2, |step| {
                if step.part() == 0 {
                    while !part1_holds_a_chunk.load(Ordering::Acquire) {
                        std::thread::yield_now();
                    }
                }
                for _ in tickets.take(step, 0, 2) {
                    if step.part() == 1 {
                        part1_holds_a_chunk.store(true, Ordering::Release);
                        panic!("part 1 fails");
                    }
                }
                step.wait();
            })
        });
        assert!(result.is_err());
    }
}
