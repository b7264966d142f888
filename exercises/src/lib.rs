//! Lab 2: build a thread pool.
//!
//! This is the only file you edit. Grade it with
//!
//! ```text
//! cargo test -p exercises          # every step, stops at the first failing one
//! cargo test -p exercises step2    # one step
//! ```
//!
//! Work through the steps in order (the book's Lab 2 pages explain each one
//! and give hints). Every `// TODO` marks a place you have to change. You may
//! add private fields, types and functions as you like; keep the public API
//! (names, arguments, return types) exactly as it is, because the graded
//! tests in `tests/` use it and nothing else.
//!
//! The tests check behaviour only: what jobs see (which thread runs them, how
//! many run at once, whether they run at all), what the caller sees, and how
//! much CPU an idle pool or a waiting `join` burns. How you get there is up to
//! you, with the standard library only. Every promise in the doc comments
//! below is tested; none of them has a time limit you could tune to (a pool
//! that waits, waits for as long as it takes).

use std::fmt;
use std::marker::PhantomData;

// The graded tests share one pool between several submitting threads, so the
// pool must be `Send + Sync`. If this line stops compiling, one of your
// fields cannot be shared between threads (look at its type's docs for
// "impl Sync"). Leave it in.
const _: fn() = || {
    fn shareable<P: Send + Sync>() {}
    shareable::<ThreadPool>();
};

/// A fixed set of worker threads that run the jobs given to them.
pub struct ThreadPool {
    // TODO (step 1): remember how many workers the pool has.
    // TODO (step 2): the worker threads, and the queue they take jobs from.
}

/// Why [`ThreadPool::build`] refused to build a pool.
///
/// It prints a sentence a user can act on (`Display`) and is a standard
/// error type, so `?` can pass it on into a `Box<dyn Error>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCreationError {
    // TODO (step 1): whatever your message needs.
}

impl fmt::Display for PoolCreationError {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // TODO (step 1): say what went wrong, in a sentence.
        todo!("PoolCreationError's Display (step 1)")
    }
}

impl std::error::Error for PoolCreationError {}

impl ThreadPool {
    /// Starts a pool of `threads` worker threads.
    ///
    /// Returns `Err` when `threads` is zero: a pool without workers would
    /// accept jobs and never run them. Every other size is accepted, 64
    /// workers or more included (do not cap it at 8 or at the number of
    /// cores). It may also return `Err` if the operating system refuses to
    /// start a thread.
    pub fn build(threads: usize) -> Result<ThreadPool, PoolCreationError> {
        // TODO (step 1): refuse 0; (step 2) start the workers.
        let _ = threads;
        todo!("ThreadPool::build (step 1)")
    }

    /// Like [`ThreadPool::build`], for callers who treat a bad size as a bug.
    ///
    /// # Panics
    ///
    /// Panics when `threads` is zero, with a message that says so (not just
    /// "called `Result::unwrap()` on an `Err` value").
    pub fn new(threads: usize) -> ThreadPool {
        // TODO (step 1)
        let _ = threads;
        todo!("ThreadPool::new (step 1)")
    }

    /// The number of worker threads, as given to `build` or `new`.
    pub fn threads(&self) -> usize {
        // TODO (step 1)
        todo!("ThreadPool::threads (step 1)")
    }

    /// Queues `job` and returns at once; a worker thread of the pool runs it.
    ///
    /// - Returns at once however many jobs are already queued: the queue has
    ///   no size limit, and `execute` never waits for room or for a worker.
    /// - Never runs the job on the caller's thread, and never starts a new
    ///   thread for it: the pool's workers are reused for every job.
    /// - Up to `threads()` jobs run at the same time; the others wait in the
    ///   queue, in the order they were submitted, until *any* worker is free
    ///   (not one particular worker).
    /// - A job submitted to an idle pool starts at once: a waiting worker
    ///   wakes for every job, and idle workers wait (asleep, using no CPU)
    ///   for as long as it takes, never quitting on a timeout.
    /// - No job is ever lost, whoever submits it (several threads at once,
    ///   or a job running on this very pool).
    /// - A job that panics affects nobody: not the caller, not its worker
    ///   (which goes on to the next job), not the other jobs.
    pub fn execute<F>(&self, job: F)
    where
        F: FnOnce() + Send + 'static,
    {
        // TODO (step 2); make it survive panics in step 4.
        let _ = job;
        todo!("ThreadPool::execute (step 2)")
    }

    /// Like [`ThreadPool::execute`], for a job that returns a value: the
    /// returned handle gives back that value, or the job's panic.
    ///
    /// The job goes through the same queue to the same workers as
    /// `execute`'s jobs, under the same limit of `threads()` at once (no
    /// thread of its own). The worker that ran it never waits for the handle:
    /// the result is kept until the handle is joined, or dropped with it.
    pub fn spawn<F, T>(&self, job: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // TODO (step 5)
        let _ = job;
        todo!("ThreadPool::spawn (step 5)")
    }
}

/// The result of one job given to [`ThreadPool::spawn`], to collect later.
pub struct JobHandle<T> {
    // TODO (step 5): how this handle receives its own job's result.
    _result: PhantomData<T>,
}

impl<T> JobHandle<T> {
    /// Waits for the job to finish, then returns `Ok(value)` with what it
    /// returned, or `Err(payload)` with its panic payload if it panicked
    /// (the same thing `std::thread::JoinHandle::join` gives).
    ///
    /// The payload comes back untouched: the very value the job panicked
    /// with, of its own type (a `&'static str`, a `String`, or whatever was
    /// given to `std::panic::panic_any`). `join` waits for as long as the job
    /// takes (no timeout), asleep (not polling) while it waits.
    ///
    /// Handles can be joined in any order, each gets its own job's result,
    /// and joining never panics in the caller. Joining after the pool was
    /// dropped works too: dropping the pool runs every queued job first.
    pub fn join(self) -> std::thread::Result<T> {
        // TODO (step 5)
        todo!("JobHandle::join (step 5)")
    }
}

/// Shutting down: dropping the pool
///
/// 1. lets every job already queued run to completion,
/// 2. then waits for (joins) every worker thread,
///
/// for as long as those jobs take (no timeout), and returns promptly when
/// there is nothing left to do. It never panics, even if jobs panicked
/// earlier.
impl Drop for ThreadPool {
    fn drop(&mut self) {
        // TODO (step 3). Until then, dropping the pool does nothing and the
        // step 3 tests tell you what is missing.
    }
}
