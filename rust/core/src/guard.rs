//! Panics as errors. A panic in the core is a bug (a broken invariant), but a caller such as
//! the Python bindings must still get an error value back instead of an unwinding stack:
//! [`catch`] turns the panic into [`Error::Internal`] carrying the panic's message and source
//! location, which the user can put in a bug report.
//!
//! The location comes from a panic hook, installed once for this library's Rust runtime. While
//! any [`catch`] is running, the hook records the panic silently; other panics go to the hook
//! that was there before, unchanged.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

use crate::error::{Error, Result};

static INSTALL: Once = Once::new();
/// How many [`catch`] calls are running, on any thread (a rayon worker's panic belongs to the
/// catch of the thread that handed out the work).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// "message at file:line" of the latest panic recorded under a catch.
static LAST: Mutex<Option<String>> = Mutex::new(None);

fn install_hook() {
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if ACTIVE.load(Ordering::SeqCst) == 0 {
                return previous(info);
            }
            let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            let text = format!("{}{at}", payload_text(info.payload()));
            if let Ok(mut last) = LAST.lock() {
                *last = Some(text);
            }
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Runs `f`; a panic inside it (on this thread or a worker it waits for) becomes
/// `Error::Internal` naming `op`.
pub fn catch<T>(op: &str, f: impl FnOnce() -> T) -> Result<T> {
    install_hook();
    ACTIVE.fetch_add(1, Ordering::SeqCst);
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    ACTIVE.fetch_sub(1, Ordering::SeqCst);
    result.map_err(|payload| {
        let recorded = LAST.lock().ok().and_then(|mut last| last.take());
        let what = recorded.unwrap_or_else(|| payload_text(payload.as_ref()));
        Error::internal(op, format!("internal error: {what}. This is a bug in dlarray; please report it with the call that caused it at https://github.com/dlarray/dlarray/issues"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error_with_its_location() {
        let e = catch("demo", || -> usize { [1usize, 2][std::hint::black_box(5)] }).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, Error::Internal { .. }), "{text}");
        assert!(text.starts_with("demo: internal error: index out of bounds"), "{text}");
        assert!(text.contains("guard.rs:"), "{text}");
    }

    #[test]
    fn a_panic_on_a_worker_thread_is_caught_by_the_waiting_caller() {
        use rayon::prelude::*;
        let e = catch("par", || (0..1000usize).into_par_iter().map(|i| if i == 777 { panic!("worker {i}") } else { i }).sum::<usize>())
            .unwrap_err();
        assert!(e.to_string().contains("worker 777"), "{e}");
    }

    #[test]
    fn values_pass_through() {
        assert_eq!(catch("ok", || 41 + 1).unwrap(), 42);
    }
}
