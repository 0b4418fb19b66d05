//! When to go parallel, and keeping rayon safe across `fork()`.

use std::sync::Once;

/// Below this many elements a memory-bound kernel stays on the calling thread: waking the
/// pool costs more than it saves.
pub const PAR_THRESHOLD: usize = 1 << 15;

/// Elements per parallel chunk of an elementwise kernel.
pub const PAR_CHUNK: usize = 1 << 13;

pub fn should_parallelize(n: usize) -> bool {
    n >= PAR_THRESHOLD && rayon::current_num_threads() > 1
}

static POOL: Once = Once::new();

/// Makes the calling thread (the importing one, in the bindings) thread 0 of rayon's global
/// pool, beside `threads - 1` spawned ones. A kernel called from it then runs its first part
/// itself and takes back any part the other threads have not started (rayon's join), instead
/// of handing the whole kernel to the pool and sleeping until a woken thread finishes it: a
/// split costs a push and a wake-up call, not two thread wake-ups. Kernels called from other
/// threads go through the pool as before. Does nothing if the pool already exists.
pub fn join_pool_on_this_thread() {
    POOL.call_once(|| {
        // An error means the pool was built already (by an earlier kernel): keep that one.
        let _ = rayon::ThreadPoolBuilder::new().use_current_thread().build_global();
    });
}

static FORK_HOOK: Once = Once::new();

/// Data loaders fork worker processes. A forked child inherits rayon's pool state but not its
/// threads, so its first parallel kernel would wait forever. After a fork, the child marks
/// itself so that every kernel runs single-threaded there (the tokenizers approach).
pub fn install_fork_hook() {
    FORK_HOOK.call_once(|| {
        // SAFETY: registering fork handlers has no precondition beyond valid function pointers: prepare and parent
        // are none, and the child handler is a plain `extern "C" fn` that lives for the whole program and only
        // stores to an atomic (async-signal-safe, as a forked child of a threaded process requires). Once makes
        // the registration happen at most one time.
        #[cfg(unix)]
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
    });
}

static FORKED_CHILD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn after_fork_in_child() {
    FORKED_CHILD.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// True in a process forked from one that had already used the thread pool.
pub fn in_forked_child() -> bool {
    FORKED_CHILD.load(std::sync::atomic::Ordering::Relaxed)
}

/// Whether kernels may use rayon at all for `n` elements.
pub fn use_rayon(n: usize) -> bool {
    should_parallelize(n) && !in_forked_child()
}
