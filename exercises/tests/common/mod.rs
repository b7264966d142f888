//! Helpers shared by the graded tests of every step.
//!
//! Every test body runs on its own thread under a watchdog ([`graded`]): if
//! the pool deadlocks, the test fails after a few seconds with a message that
//! says what the test was doing (its current [`Ctx::stage`]) and what usually
//! causes that, instead of hanging `cargo test` forever. A failed test leaks
//! its pool (and any thread stuck in it); the test binary exits anyway.

#![allow(dead_code)] // each step's test file uses a different subset

use exercises::ThreadPool;
use std::any::Any;
use std::cell::RefCell;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test body may run before the watchdog fails it. A correct pool
/// needs milliseconds; this leaves room for a loaded machine.
pub const LIMIT: Duration = Duration::from_secs(10);

/// How long a test waits for something a correct pool does at once (a job
/// starting, a set of jobs meeting). Shorter than [`LIMIT`], so the test
/// reports what it saw rather than just "timed out".
pub const WAIT: Duration = Duration::from_secs(5);

/// Panic messages that start with this are the suite's own verdicts: they
/// already name the property and the usual cause.
const VERDICT: &str = "[graded] ";

/// Fails the current test with `message` (a property and a hint).
#[track_caller]
pub fn fail(message: impl AsRef<str>) -> ! {
    panic!("{VERDICT}{}", message.as_ref())
}

/// Fails the current test with `message()` unless `ok`.
#[track_caller]
pub fn check(ok: bool, message: impl FnOnce() -> String) {
    if !ok {
        fail(message())
    }
}

/// What a test body is doing right now, for the watchdog's message.
#[derive(Clone)]
pub struct Ctx {
    stage: Arc<Mutex<(String, String)>>,
}

impl Ctx {
    /// Records what the test is about to do and, if it gets stuck or panics
    /// there, the usual cause.
    pub fn stage(&self, doing: impl Into<String>, hint: impl Into<String>) {
        *self.stage.lock().unwrap_or_else(|e| e.into_inner()) = (doing.into(), hint.into());
    }

    fn current(&self) -> (String, String) {
        self.stage.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `ThreadPool::build(threads)`, which must succeed, wrapped so that a
    /// failing test leaks it rather than risking a hanging `Drop`.
    pub fn pool(&self, threads: usize) -> Pool {
        self.stage(
            format!("calling ThreadPool::build({threads})"),
            "build must start the workers and return; it must not wait for jobs",
        );
        match ThreadPool::build(threads) {
            Ok(pool) => self.adopt(pool),
            Err(e) => fail(format!("ThreadPool::build({threads}) returned Err({e:?}): only 0 threads is an error")),
        }
    }

    /// Wraps a pool built by the test itself.
    pub fn adopt(&self, pool: ThreadPool) -> Pool {
        Pool { inner: Some(pool), ctx: self.clone() }
    }

    /// Drops `pool` now, under a stage that names this moment.
    pub fn shutdown(&self, mut pool: Pool, doing: &str, hint: &str) {
        let inner = pool.inner.take().expect("pool already shut down");
        self.stage(doing, hint);
        drop(inner);
    }
}

/// A `ThreadPool` owned by a test. Dropping it normally drops the pool (under
/// the stage "dropping the pool"); dropping it while the test is failing
/// leaks the pool instead, so a broken `Drop` cannot hide the real failure.
pub struct Pool {
    inner: Option<ThreadPool>,
    ctx: Ctx,
}

impl Deref for Pool {
    type Target = ThreadPool;
    fn deref(&self) -> &ThreadPool {
        self.inner.as_ref().expect("pool already shut down")
    }
}

pub const DROP_HINT: &str = "dropping the pool must close the queue, let the workers finish what is queued, \
     then join them; if it never returns, the workers are probably still waiting on a queue nobody closed \
     (drop the Sender first), or a worker is joined while it waits for a job";

impl Drop for Pool {
    fn drop(&mut self) {
        if let Some(pool) = self.inner.take() {
            if thread::panicking() {
                std::mem::forget(pool);
            } else {
                self.ctx.stage("dropping the pool at the end of the test", DROP_HINT);
                drop(pool);
            }
        }
    }
}

/// Runs a graded test body under a watchdog of [`LIMIT`].
#[track_caller]
pub fn graded(body: impl FnOnce(&Ctx) + Send + 'static) {
    graded_within(LIMIT, body)
}

/// Runs a graded test body under a watchdog of `limit`, and turns whatever
/// goes wrong (a verdict, a `todo!()`, another panic, a timeout) into one
/// message that names the property and the usual cause.
#[track_caller]
pub fn graded_within(limit: Duration, body: impl FnOnce(&Ctx) + Send + 'static) {
    quiet_verdicts();
    let ctx = Ctx { stage: Arc::new(Mutex::new(("starting the test".into(), String::new()))) };
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let body_ctx = ctx.clone();
    let runner = thread::Builder::new()
        .name(BODY_THREAD.into())
        .spawn(move || {
            body(&body_ctx);
            let _ = done_tx.send(());
        })
        .expect("cannot start the test's thread");
    match done_rx.recv_timeout(limit) {
        Ok(()) => {
            let _ = runner.join();
        }
        Err(RecvTimeoutError::Disconnected) => {
            // The body panicked (its sender was dropped while unwinding).
            let payload = runner.join().expect_err("the test body stopped without finishing or panicking");
            let text = payload_text(&*payload);
            let (doing, hint) = ctx.current();
            if let Some(verdict) = text.strip_prefix(VERDICT) {
                panic!("\n\n{verdict}\n\n");
            } else if let Some(what) = text.strip_prefix("not yet implemented") {
                let what = what.trim_start_matches(": ");
                panic!(
                    "\n\nnot implemented yet: {what}\n(the test was {doing}; that function still calls todo!())\n\n"
                );
            } else {
                panic!("\n\nthe pool panicked while the test was {doing}: {text}\nhint: {hint}\n\n");
            }
        }
        Err(RecvTimeoutError::Timeout) => {
            let (doing, hint) = ctx.current();
            panic!(
                "\n\nno progress for {limit:?} while the test was {doing}: something is deadlocked or \
                 waiting forever.\nhint: {hint}\n\n"
            );
        }
    }
}

/// The test body's own panics (verdicts, and `todo!()`s it reached) are
/// reported once, by [`graded_within`], in full; the panic hook would print
/// them a second time, so it stays quiet for those. Every other panic (a
/// job's, a worker's, one in your code) is printed as usual.
fn quiet_verdicts() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let text = payload_text(info.payload());
            let ours = thread::current().name() == Some(BODY_THREAD)
                && (text.starts_with(VERDICT) || text.starts_with("not yet implemented"));
            if !ours {
                default(info);
            }
        }));
    });
}

const BODY_THREAD: &str = "graded-test";

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
pub fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic payload that is not a string)".into()
    }
}

/// A meeting point for jobs: each job that [`enter`](Gate::enter)s is
/// counted, then waits until the test [`open`](Gate::open)s the gate.
#[derive(Clone, Default)]
pub struct Gate {
    inner: Arc<(Mutex<(usize, bool)>, Condvar)>,
}

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Called by a job: count myself in, then wait for the gate to open.
    /// (Gives up after a minute, so a leaked pool's threads end eventually.)
    pub fn enter(&self) {
        let (lock, cond) = &*self.inner;
        let mut state = lock.lock().unwrap();
        state.0 += 1;
        cond.notify_all();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !state.1 && Instant::now() < deadline {
            state = cond.wait_timeout(state, Duration::from_secs(1)).unwrap().0;
        }
    }

    /// Called by the test: waits until `n` jobs are inside the gate, or
    /// [`WAIT`] has passed; returns how many are inside.
    pub fn wait_for(&self, n: usize) -> usize {
        let (lock, cond) = &*self.inner;
        let deadline = Instant::now() + WAIT;
        let mut state = lock.lock().unwrap();
        while state.0 < n {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = cond.wait_timeout(state, deadline - now).unwrap().0;
        }
        state.0
    }

    /// How many jobs have entered so far.
    pub fn inside(&self) -> usize {
        self.inner.0.lock().unwrap().0
    }

    /// Lets every waiting job (and every later one) through.
    pub fn open(&self) {
        let (lock, cond) = &*self.inner;
        lock.lock().unwrap().1 = true;
        cond.notify_all();
    }

    /// Opens the gate after `delay`, from another thread.
    pub fn open_after(&self, delay: Duration) {
        let gate = self.clone();
        thread::spawn(move || {
            thread::sleep(delay);
            gate.open();
        });
    }
}

/// A counter jobs bump, that the test can wait on.
#[derive(Clone, Default)]
pub struct Counter {
    inner: Arc<(Mutex<usize>, Condvar)>,
}

impl Counter {
    pub fn new() -> Counter {
        Counter::default()
    }

    pub fn bump(&self) {
        let (lock, cond) = &*self.inner;
        *lock.lock().unwrap() += 1;
        cond.notify_all();
    }

    pub fn get(&self) -> usize {
        *self.inner.0.lock().unwrap()
    }

    /// Waits until the count reaches `n` or [`WAIT`] passes; returns the count.
    pub fn wait_for(&self, n: usize) -> usize {
        self.wait_for_within(n, WAIT)
    }

    pub fn wait_for_within(&self, n: usize, wait: Duration) -> usize {
        let (lock, cond) = &*self.inner;
        let deadline = Instant::now() + wait;
        let mut count = lock.lock().unwrap();
        while *count < n {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            count = cond.wait_timeout(count, deadline - now).unwrap().0;
        }
        *count
    }
}

/// Polls `condition` every millisecond until it holds or `wait` passes.
pub fn eventually(wait: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Counts the threads that exit: a job calls [`ExitCounter::watch_this_thread`]
/// and the count goes up when the thread it ran on ends (thread-local
/// destructors run before `join` returns).
#[derive(Clone, Default)]
pub struct ExitCounter(Arc<AtomicUsize>);

struct ExitGuard(Arc<AtomicUsize>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

thread_local! {
    static EXIT_GUARD: RefCell<Option<ExitGuard>> = const { RefCell::new(None) };
}

impl ExitCounter {
    pub fn new() -> ExitCounter {
        ExitCounter::default()
    }

    pub fn watch_this_thread(&self) {
        let counter = Arc::clone(&self.0);
        EXIT_GUARD.with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot.is_none() {
                *slot = Some(ExitGuard(counter));
            }
        });
    }

    pub fn exited(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}
