//! Helpers shared by the graded tests of every step.
//!
//! Every test body runs on its own thread, named after the test, under a
//! watchdog ([`graded`]): if the pool deadlocks, the test fails after a few
//! seconds with a message that says what the test was doing (its current
//! [`Ctx::stage`]) and what usually causes that, instead of hanging
//! `cargo test` forever. A failed test leaks its pool (and any thread stuck in
//! it); the test binary exits anyway.
//!
//! Every failure ends in one verdict, printed by the harness itself (so a
//! panic hook set by the pool cannot hide it) and raised without the panic
//! hook (so `RUST_BACKTRACE=1` adds no backtrace to it). It names the broken
//! property, the usual cause, and the page of the book to read.

#![allow(dead_code)] // each step's test file uses a different subset

use exercises::ThreadPool;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ops::Deref;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test body may run before the watchdog fails it. A correct pool
/// needs milliseconds; this leaves room for a loaded machine.
pub const LIMIT: Duration = Duration::from_secs(10);

/// How long a test waits for something a correct pool does at once (a job
/// starting, a set of jobs meeting). Shorter than [`LIMIT`], so the test
/// reports what it saw rather than just "timed out". Only a job that is stuck
/// or lost misses it.
pub const WAIT: Duration = Duration::from_secs(5);

/// The step pages, by step number: where a verdict sends the student.
const PAGES: [(&str, &str); 6] = [
    ("src/lab2/step1.md", "Step 1: build, new, threads"),
    ("src/lab2/step2.md", "Step 2: workers and the queue"),
    ("src/lab2/step3.md", "Step 3: graceful shutdown"),
    ("src/lab2/step4.md", "Step 4: surviving panics"),
    ("src/lab2/step5.md", "Step 5: results with `JobHandle`"),
    ("src/lab2/step6.md", "Step 6: under pressure"),
];

/// The payload of a verdict: raised with `resume_unwind`, which skips the
/// panic hook (no "panicked at" line, no backtrace).
struct Verdict(String);

/// The payload of a job that panics on purpose with a value that is not a
/// string (`std::panic::panic_any(OnPurpose(n))`). The suite's own hook keeps
/// such panics quiet, like every panic whose message says "on purpose".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnPurpose(pub u32);

/// Fails the current test with `message` (a property and a hint).
pub fn fail(message: impl AsRef<str>) -> ! {
    panic::resume_unwind(Box::new(Verdict(message.as_ref().to_string())))
}

/// Fails the current test with `message()` unless `ok`.
pub fn check(ok: bool, message: impl FnOnce() -> String) {
    if !ok {
        fail(message())
    }
}

/// What a test body is doing right now, for the watchdog's message, and
/// which step page its verdicts point to.
#[derive(Clone)]
pub struct Ctx {
    stage: Arc<Mutex<(String, String)>>,
    page: Arc<Mutex<usize>>,
}

impl Ctx {
    /// Records what the test is about to do and, if it gets stuck or panics
    /// there, the usual cause.
    pub fn stage(&self, doing: impl Into<String>, hint: impl Into<String>) {
        *self.stage.lock().unwrap_or_else(|e| e.into_inner()) = (doing.into(), hint.into());
    }

    /// From now on, this test's verdicts point to step `step`'s page (a
    /// later step's test checking an earlier step's property).
    pub fn see_step(&self, step: usize) {
        *self.page.lock().unwrap_or_else(|e| e.into_inner()) = step.clamp(1, PAGES.len());
    }

    fn current(&self) -> (String, String) {
        self.stage.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn read_line(&self) -> String {
        let step = *self.page.lock().unwrap_or_else(|e| e.into_inner());
        let (path, title) = PAGES[step - 1];
        format!("read: {path} (\"{title}\"), section \"What the tests check\", then its hints")
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
            Err(e) => fail(format!(
                "ThreadPool::build({threads}) returned Err({e:?}): only 0 threads is an error; any other size, \
                 64 workers or more included, must give a pool"
            )),
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

impl Pool {
    /// Takes the pool out, to drop it by hand.
    pub fn take(&mut self) -> ThreadPool {
        self.inner.take().expect("pool already shut down")
    }
}

impl Deref for Pool {
    type Target = ThreadPool;
    fn deref(&self) -> &ThreadPool {
        self.inner.as_ref().expect("pool already shut down")
    }
}

pub const DROP_HINT: &str = "dropping the pool must close the queue, let the workers finish what is queued, \
     then join them; if it never returns, the workers are probably still waiting on a queue nobody closed \
     (drop the Sender first, or set the shutdown flag and notify_all), or a worker is joined while it waits \
     for a job";

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
pub fn graded(body: impl FnOnce(&Ctx) + Send + 'static) {
    graded_within(LIMIT, body)
}

/// Runs a graded test body under a watchdog of `limit`, and turns whatever
/// goes wrong (a verdict, a `todo!()`, another panic, a timeout) into one
/// message that names the property, the usual cause and the page to read.
pub fn graded_within(limit: Duration, body: impl FnOnce(&Ctx) + Send + 'static) {
    install_hook();
    // libtest names each test's thread after the test; the body's thread
    // gets the same name, so even an abort (a stack overflow) names the test.
    let test: Arc<str> = thread::current().name().unwrap_or("graded-test").into();
    let step = test.strip_prefix("step").and_then(|s| s[..1].parse().ok()).unwrap_or(1);
    let ctx = Ctx {
        stage: Arc::new(Mutex::new(("starting the test".into(), String::new()))),
        page: Arc::new(Mutex::new(step)),
    };
    let (done_tx, done_rx) = mpsc::channel::<Result<(), String>>();
    let body_ctx = ctx.clone();
    let runner = thread::Builder::new()
        .name(test.to_string())
        .spawn(move || {
            IN_BODY.with(|b| b.set(true));
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| body(&body_ctx)));
            let _ = done_tx.send(outcome.map_err(|payload| describe(&body_ctx, payload)));
        })
        .expect("cannot start the test's thread");
    let verdict = match done_rx.recv_timeout(limit) {
        Ok(Ok(())) => {
            let _ = runner.join();
            return;
        }
        Ok(Err(verdict)) => verdict,
        Err(RecvTimeoutError::Timeout) => {
            let (doing, hint) = ctx.current();
            format!(
                "no progress for {limit:?} while the test was {doing}: something is deadlocked or waiting \
                 forever.\nhint: {hint}"
            )
        }
        Err(RecvTimeoutError::Disconnected) => "the test's thread ended without a result".into(),
    };
    let message = format!("\n[graded] {test} FAILED\n\n{verdict}\n\n{}\n", ctx.read_line());
    // Printed here rather than by a panic hook, which the pool may have
    // replaced; then raised without the hook.
    eprintln!("{message}");
    panic::resume_unwind(Box::new(message))
}

/// The verdict for a test body that panicked with `payload`.
fn describe(ctx: &Ctx, payload: Box<dyn Any + Send>) -> String {
    if let Some(Verdict(verdict)) = payload.downcast_ref::<Verdict>() {
        return verdict.clone();
    }
    let text = payload_text(&*payload);
    let (doing, hint) = ctx.current();
    if let Some(what) = text.strip_prefix("not yet implemented") {
        let what = what.trim_start_matches(": ");
        return format!("not implemented yet: {what}\n(the test was {doing}; that function still calls todo!())");
    }
    let place = LAST_PANIC_AT.with(|at| at.borrow_mut().take()).map(|at| format!(" (at {at})")).unwrap_or_default();
    format!("the pool panicked while the test was {doing}: {text}{place}\nhint: {hint}")
}

/// Marks the calling thread (a helper of a test body) as one whose panics
/// the test reports itself: the suite's panic hook keeps quiet for them.
pub fn report_panics_here() {
    IN_BODY.with(|b| b.set(true));
}

thread_local! {
    /// Set on a test body's thread: the harness reports its panics itself.
    static IN_BODY: Cell<bool> = const { Cell::new(false) };
    /// Where the body's last panic happened, for its verdict.
    static LAST_PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// How many panic messages of the pool's own (not the suite's on-purpose
/// ones) are printed per test binary, so a failing step fits on a screen.
const PANICS_SHOWN: usize = 3;

/// The suite's panic hook, installed again at the start of every test (a
/// pool may have replaced it). It keeps quiet for the test bodies' panics
/// (the harness reports those), for jobs that panic on purpose, and for every
/// panic after the first [`PANICS_SHOWN`]; other panics (a bug in a worker,
/// say) are printed by Rust's default hook.
fn install_hook() {
    type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Send + Sync>;
    static DEFAULT: OnceLock<Hook> = OnceLock::new();
    static SHOWN: AtomicUsize = AtomicUsize::new(0);
    DEFAULT.get_or_init(panic::take_hook);
    panic::set_hook(Box::new(|info| {
        if IN_BODY.with(Cell::get) {
            let at = info.location().map(|l| l.to_string());
            LAST_PANIC_AT.with(|slot| *slot.borrow_mut() = at);
            return;
        }
        let payload = info.payload();
        let text = info.payload_as_str().map(str::to_string).unwrap_or_else(|| payload_text(payload));
        if payload.is::<OnPurpose>() || text.contains("on purpose") {
            return;
        }
        match SHOWN.fetch_add(1, Ordering::Relaxed) {
            n if n < PANICS_SHOWN => (DEFAULT.get().expect("set above"))(info),
            n if n == PANICS_SHOWN => eprintln!("(further panic messages from the pool are not shown)"),
            _ => {}
        }
    }));
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
pub fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(p) = payload.downcast_ref::<OnPurpose>() {
        format!("{p:?}")
    } else {
        "(a panic payload that is not a string)".into()
    }
}

/// What the calling thread alone has used so far: CPU time, and (on Linux)
/// how many times it was switched off the CPU, voluntarily or not.
pub struct ThreadUsage {
    pub cpu: Duration,
    pub switches: Option<i64>,
}

#[cfg(target_os = "linux")]
pub fn thread_usage() -> ThreadUsage {
    // SAFETY: getrusage only writes the struct we hand it, plain old data
    // that may start zeroed.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_THREAD) failed");
    let time = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    ThreadUsage { cpu: time(ru.ru_utime) + time(ru.ru_stime), switches: Some((ru.ru_nvcsw + ru.ru_nivcsw) as i64) }
}

#[cfg(all(unix, not(target_os = "linux")))]
pub fn thread_usage() -> ThreadUsage {
    // SAFETY: clock_gettime only writes the timespec we hand it.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ThreadUsage { cpu: Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32), switches: None }
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
