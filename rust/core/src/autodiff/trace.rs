//! The thread-local recording switch. Each thread has its own, so threads can run `dlfeval`
//! concurrently without seeing each other's traces.

use std::cell::Cell;

#[derive(Clone, Copy, Default)]
struct State {
    /// Number of active `dlfeval` scopes on this thread.
    depth: u32,
    /// Recording suspended (a first-order backward pass, or an explicit `no_record`).
    paused: bool,
}

thread_local! {
    static STATE: Cell<State> = Cell::new(State::default());
    /// The backward pass being recorded is only replayed, never differentiated (dlaccelerate's
    /// first-order gradients, whose results it stops): rules may record fused kernels that have
    /// no backward rule of their own.
    static REPLAY_ONLY: Cell<bool> = const { Cell::new(false) };
}

pub fn is_recording() -> bool {
    STATE.with(|s| {
        let s = s.get();
        s.depth > 0 && !s.paused
    })
}

/// Inside at least one `dlfeval` on this thread.
pub fn in_dlfeval() -> bool {
    STATE.with(|s| s.get().depth > 0)
}

/// Opens a `dlfeval` scope; close it with [`exit`]. Recording resumes inside it.
pub fn enter() -> u32 {
    STATE.with(|s| {
        let mut st = s.get();
        st.depth += 1;
        let prev_paused = st.paused as u32;
        st.paused = false;
        s.set(st);
        prev_paused
    })
}

/// Closes the scope opened by the matching [`enter`], restoring the pause state it returned.
pub fn exit(token: u32) {
    STATE.with(|s| {
        let mut st = s.get();
        st.depth = st.depth.saturating_sub(1);
        st.paused = token != 0;
        s.set(st);
    })
}

/// Runs `f` with recording switched on or off, restoring the previous state afterwards
/// (also when `f` panics).
pub fn with_recording<R>(on: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(State);
    impl Drop for Restore {
        fn drop(&mut self) {
            STATE.with(|s| s.set(self.0));
        }
    }
    let prev = STATE.with(|s| s.get());
    let _restore = Restore(prev);
    STATE.with(|s| s.set(State { depth: prev.depth, paused: !on }));
    f()
}

/// Whether the backward pass now recorded is for a replay only (see `REPLAY_ONLY`).
pub fn recording_for_replay_only() -> bool {
    is_recording() && REPLAY_ONLY.with(|r| r.get())
}

/// Runs `f` with the replay-only mark set to `on`, restoring it afterwards (also on panic).
pub fn with_replay_only<R>(on: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            REPLAY_ONLY.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(REPLAY_ONLY.with(|r| r.replace(on)));
    f()
}

/// Runs `f` without recording.
pub fn no_record<R>(f: impl FnOnce() -> R) -> R {
    with_recording(false, f)
}
