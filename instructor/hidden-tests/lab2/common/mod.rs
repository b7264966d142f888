//! The hidden tests' watchdog: every test body runs on its own thread, and
//! a body that does not finish in time fails with what it was waiting for.

#![allow(dead_code)]

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A correct pool needs milliseconds for any of these tests; the rest is
/// room for a loaded machine.
pub const LIMIT: Duration = Duration::from_secs(20);
/// How long a test waits for something a correct pool does at once.
pub const WAIT: Duration = Duration::from_secs(10);

/// Runs `body` under the watchdog; `doing` names the property for the
/// message if the body hangs.
pub fn within(doing: &str, body: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let runner = thread::spawn(move || {
        body();
        let _ = tx.send(());
    });
    match rx.recv_timeout(LIMIT) {
        Ok(()) => runner.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The body panicked: pass its message on as the test's own.
            if let Err(payload) = runner.join() {
                std::panic::resume_unwind(payload);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "no result after {LIMIT:?} while {doing}: the pool deadlocked or lost a job \
             (Lab 2, steps 2, 3 and 6: src/lab2/step2.md, step3.md, step6.md)"
        ),
    }
}

/// Polls `ready` until it holds or `WAIT` passes.
pub fn eventually(mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < WAIT {
        if ready() {
            return true;
        }
        thread::sleep(Duration::from_millis(2));
    }
    ready()
}
