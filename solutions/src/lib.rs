//! Lab 2, reference solution: a fixed-size thread pool with graceful
//! shutdown, panic isolation and per-job results.
//!
//! A drop-in replacement for `exercises/src/lib.rs`: copy it over that file
//! and `cargo test -p exercises` passes.
//!
// ANCHOR: overview
//! Design, in one paragraph: `build` starts `threads` workers that share the
//! receiving end of one unbounded `std::sync::mpsc` channel, behind a mutex.
//! `execute` boxes the job and sends it; a worker holds the mutex only while
//! it waits for the next job, never while it runs one. A job runs inside
//! `catch_unwind`, so a panic stays in the job. `spawn` wraps the job so that
//! it sends its `thread::Result` down a channel of its own, which its
//! `JobHandle` waits on. Dropping the pool drops the sender: each worker
//! drains what is queued, sees the channel closed, and returns; `drop` joins
//! them all.
// ANCHOR_END: overview
//!
//! Standard library only: everything the pool needs (a multi-producer
//! channel, a mutex, `catch_unwind`) is in `std`, so the solution uses
//! nothing a student could not. (crossbeam's multi-consumer channel would
//! let the workers share the receiver without the mutex; the "Then measure
//! it" page compares this design with pools that avoid the shared lock.)

// ANCHOR: step2
use std::any::Any;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

// ANCHOR_END: step2
// ANCHOR: step6
// The graded tests share one pool between several submitting threads, so the
// pool must be `Send + Sync`. Every field below is: `Sender<Job>` is `Sync`
// since Rust 1.72, and `JoinHandle` and `usize` always were.
const _: fn() = || {
    fn shareable<P: Send + Sync>() {}
    shareable::<ThreadPool>();
};
// ANCHOR_END: step6

// ANCHOR: step2
/// What travels through the queue: any closure a worker can run once.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The receiving end of the queue, shared by every worker.
type Queue = Arc<Mutex<Receiver<Job>>>;

// ANCHOR_END: step2
// ANCHOR: step1
/// A fixed set of worker threads that run the jobs given to them.
pub struct ThreadPool {
    // ANCHOR_END: step1
    // ANCHOR: step2
    /// `Some` for as long as the pool accepts jobs; `drop` takes it out,
    /// which closes the queue.
    sender: Option<Sender<Job>>,
    /// One handle per worker, joined by `drop`.
    workers: Vec<JoinHandle<()>>,
    // ANCHOR_END: step2
    // ANCHOR: step1
    threads: usize,
}

/// Why [`ThreadPool::build`] refused to build a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCreationError {
    reason: String,
}

impl fmt::Display for PoolCreationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot build a thread pool: {}", self.reason)
    }
}

impl std::error::Error for PoolCreationError {}

impl ThreadPool {
    /// Starts a pool of `threads` worker threads.
    ///
    /// Returns `Err` when `threads` is zero (a pool without workers would
    /// accept jobs and never run them) or when the operating system refuses
    /// to start a thread.
    pub fn build(threads: usize) -> Result<ThreadPool, PoolCreationError> {
        if threads == 0 {
            return Err(PoolCreationError { reason: "it needs at least one thread, and 0 were asked for".into() });
        }
        // ANCHOR_END: step1
        // ANCHOR: step2
        let (sender, receiver) = mpsc::channel::<Job>();
        let queue: Queue = Arc::new(Mutex::new(receiver));
        let mut pool = ThreadPool { sender: Some(sender), workers: Vec::with_capacity(threads), threads };
        for id in 0..threads {
            let queue = Arc::clone(&queue);
            let worker = thread::Builder::new().name(format!("pool-worker-{id}")).spawn(move || work(&queue));
            match worker {
                Ok(handle) => pool.workers.push(handle),
                // Returning drops `pool`: the workers already started are
                // shut down and joined like any other pool's.
                Err(e) => return Err(PoolCreationError { reason: format!("could not start worker {id}: {e}") }),
            }
        }
        Ok(pool)
        // ANCHOR_END: step2
        // ANCHOR: step1
    }

    /// Like [`ThreadPool::build`], for callers who treat a bad size as a bug.
    ///
    /// # Panics
    ///
    /// Panics when `threads` is zero, or when a worker cannot be started.
    pub fn new(threads: usize) -> ThreadPool {
        match ThreadPool::build(threads) {
            Ok(pool) => pool,
            Err(e) => panic!("ThreadPool::new({threads}): {e}"),
        }
    }

    /// The number of worker threads, as given to `build` or `new`.
    pub fn threads(&self) -> usize {
        self.threads
    }
    // ANCHOR_END: step1

    // ANCHOR: step2
    /// Queues `job` and returns at once; a worker thread of the pool runs it.
    ///
    /// Jobs start in the order they are submitted, up to `threads()` at a
    /// time. A job that panics affects nobody but itself.
    pub fn execute<F>(&self, job: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let sender = self.sender.as_ref().expect("the queue is open until the pool is dropped");
        // `send` fails only if every receiver is gone, and the workers hold
        // the receiver until the queue closes, which only `drop` does.
        if sender.send(Box::new(job)).is_err() {
            unreachable!("the pool's workers stopped while the pool was alive");
        }
    }
    // ANCHOR_END: step2

    // ANCHOR: step5
    /// Like [`ThreadPool::execute`], for a job that returns a value: the
    /// returned handle gives back that value, or the job's panic.
    pub fn spawn<F, T>(&self, job: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // A channel of its own for each job: its result cannot reach another
        // handle. Capacity 1, so the worker never waits on the send.
        let (result_tx, result_rx) = mpsc::sync_channel(1);
        self.execute(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(job));
            // The handle may have been dropped unjoined: nobody wants the
            // result, which is fine.
            let _ = result_tx.send(result);
        });
        JobHandle { result: result_rx }
    }
    // ANCHOR_END: step5
    // ANCHOR: step1
}
// ANCHOR_END: step1

// ANCHOR: step2
/// A worker's whole life: take the next job, run it, repeat; stop when the
/// queue is closed and empty.
fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        // The guard lives only for this statement: the lock is held while
        // waiting for a job, and released before the job runs, so the other
        // workers can take jobs meanwhile. Nothing panics while the lock is
        // held, so it cannot be poisoned; accept a poisoned one anyway rather
        // than lose a worker.
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match next {
            Ok(job) => run(job),
            // Every sender is gone (the pool is being dropped) and the queue
            // is empty: this worker is done.
            Err(mpsc::RecvError) => return,
        }
    }
}
// ANCHOR_END: step2

// ANCHOR: step4
/// Runs one job, containing its panic.
///
/// `AssertUnwindSafe` is sound here: if the job panics, nothing it could
/// have left half-updated is used again by the pool. The job is consumed,
/// and the worker's own state (the queue) is not touched by the job. The
/// panic message has already been printed by the panic hook, as it would be
/// for a thread; the payload is dropped (`spawn`'s jobs catch their own
/// panic first and hand it to their `JobHandle`).
fn run(job: Job) {
    let _ = panic::catch_unwind(AssertUnwindSafe(job));
}
// ANCHOR_END: step4

// ANCHOR: step5
/// The result of one job given to [`ThreadPool::spawn`], to collect later.
pub struct JobHandle<T> {
    result: Receiver<thread::Result<T>>,
}

impl<T> JobHandle<T> {
    /// Waits for the job to finish, then returns `Ok(value)` with what it
    /// returned, or `Err(payload)` with its panic payload if it panicked
    /// (the same thing `std::thread::JoinHandle::join` gives).
    pub fn join(self) -> thread::Result<T> {
        match self.result.recv() {
            Ok(result) => result,
            // The job was dropped without running. This pool never does that
            // (drop runs every queued job), but say so rather than panic.
            Err(mpsc::RecvError) => Err(Box::new("the job was dropped before it ran") as Box<dyn Any + Send>),
        }
    }
}
// ANCHOR_END: step5

// ANCHOR: step3
/// Shutting down: close the queue, let the workers drain it, join them.
impl Drop for ThreadPool {
    fn drop(&mut self) {
        // Dropping the only sender closes the channel. Workers still get
        // every job already queued; after the last one, `recv` returns
        // `Err` and each worker's loop ends.
        drop(self.sender.take());
        for worker in self.workers.drain(..) {
            // A worker never panics (`run` catches every job's panic), so
            // `join` gives `Ok`. Ignore an `Err` anyway: a panic inside
            // `drop` while the caller is already unwinding would abort.
            let _ = worker.join();
        }
    }
}
// ANCHOR_END: step3
