//! Lab 2, optional step 7: the fast pool. Same public API as the reference
//! (`solutions/src/lib.rs`), now with crossbeam.
//!
//! A drop-in for `exercises/src/lib.rs` too, once the exercise's manifest
//! has `crossbeam = "0.8"` under `[dependencies]`: `cargo xtask lab2` runs
//! the whole graded suite against it that way.
//!
// ANCHOR: overview
//! Design, in one paragraph: every worker owns a deque of jobs
//! (`crossbeam::deque::Worker`, first in first out); jobs submitted from
//! outside the pool go to one shared `Injector`, jobs a job submits go to
//! its own worker's deque. A worker takes a job from its own deque, else
//! steals a batch from another worker's, else from the injector. When it
//! finds nothing it keeps looking for `SPINS` rounds of a
//! `crossbeam::utils::Backoff` (a few spins, then `yield_now`), and only then
//! goes to sleep on a condition variable; a submitter wakes one sleeper, and
//! only takes that lock when someone is asleep. Dropping the pool sets a
//! flag and wakes everyone; a worker leaves once the flag is set and it
//! finds no job anywhere.
// ANCHOR_END: overview
//!
//! `Pool<SPINS>` takes the length of the spin as a parameter so that the
//! bench can show what the spin buys: `Pool<{ Backoff's own length }>` is the
//! step's second design, `ThreadPool` (a longer spin) the finished one.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{self, AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

use crossbeam::deque::{Injector, Steal, Stealer, Worker};
use crossbeam::utils::Backoff;

/// How many `Backoff::snooze` rounds a crossbeam `Backoff` takes before it
/// says "completed": 7 rounds of 1, 2, ... 64 spins, then 4 `yield_now`s.
/// That is as long as crossbeam-channel's (and std's) `recv` looks before it
/// blocks; the bench runs the deques with this spin to separate the two
/// changes.
pub const BACKOFF_ROUNDS: u32 = 11;

/// The finished pool's spin: after `BACKOFF_ROUNDS`, every further round is
/// one `yield_now`, so this is 7 short spins and 57 yields, some tens of
/// microseconds on an otherwise idle CPU (and less than a millisecond on a
/// busy one, where each yield lets another thread run). Long enough to
/// catch a caller's next job, short enough that an idle pool is asleep
/// within a millisecond (step 3 measures it 50 ms later).
pub const SPINS: u32 = 64;

/// The fast pool: `SPINS` rounds of looking for work before a worker sleeps.
pub type ThreadPool = Pool<SPINS>;

// The graded tests share one pool between several submitting threads.
const _: fn() = || {
    fn shareable<P: Send + Sync>() {}
    shareable::<ThreadPool>();
};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// What the workers and the submitters share.
struct Shared {
    /// Jobs submitted from outside the pool.
    injector: Injector<Job>,
    /// One per worker: the other workers steal through these.
    stealers: Vec<Stealer<Job>>,
    /// Set by `drop`: leave once there is no job left anywhere.
    closed: AtomicBool,
    /// How many workers are asleep or about to be (`sleep` counts itself in
    /// under the lock before its last look for work).
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
}

/// A fixed set of worker threads that run the jobs given to them.
pub struct Pool<const SPINS: u32> {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    threads: usize,
}

/// Why [`Pool::build`] refused to build a pool.
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

// ANCHOR: local
thread_local! {
    /// On a worker thread: its pool and its own deque. `execute` called from
    /// a job running here pushes onto that deque, with no shared lock and no
    /// cache line shared with the other workers.
    static LOCAL: RefCell<Option<(Arc<Shared>, Worker<Job>)>> = const { RefCell::new(None) };
}
// ANCHOR_END: local

impl<const SPINS: u32> Pool<SPINS> {
    /// Starts a pool of `threads` worker threads; `Err` for 0, or when the
    /// operating system refuses to start a thread.
    pub fn build(threads: usize) -> Result<Self, PoolCreationError> {
        if threads == 0 {
            return Err(PoolCreationError { reason: "it needs at least one thread, and 0 were asked for".into() });
        }
        let deques: Vec<Worker<Job>> = (0..threads).map(|_| Worker::new_fifo()).collect();
        let shared = Arc::new(Shared {
            injector: Injector::new(),
            stealers: deques.iter().map(Worker::stealer).collect(),
            closed: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        });
        let mut pool = Pool { shared, workers: Vec::with_capacity(threads), threads };
        for (id, deque) in deques.into_iter().enumerate() {
            let shared = Arc::clone(&pool.shared);
            let worker = thread::Builder::new().name(format!("fast-worker-{id}")).spawn(move || work::<SPINS>(shared, deque, id));
            match worker {
                Ok(handle) => pool.workers.push(handle),
                // The workers already started are stopped by `drop`. The
                // deques of those never started are gone: nothing was queued.
                Err(e) => return Err(PoolCreationError { reason: format!("could not start worker {id}: {e}") }),
            }
        }
        Ok(pool)
    }

    /// Like [`Pool::build`]; panics when `threads` is zero.
    pub fn new(threads: usize) -> Self {
        match Self::build(threads) {
            Ok(pool) => pool,
            Err(e) => panic!("ThreadPool::new({threads}): {e}"),
        }
    }

    /// The number of worker threads, as given to `build` or `new`.
    pub fn threads(&self) -> usize {
        self.threads
    }

    // ANCHOR: execute
    /// Queues `job` and returns at once; a worker thread of the pool runs it.
    pub fn execute<F>(&self, job: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let job: Job = Box::new(job);
        // On one of this pool's workers, onto its own deque; else (any other
        // thread, or a worker of another pool) onto the injector.
        let job = LOCAL.with(|local| match &*local.borrow() {
            Some((pool, deque)) if Arc::ptr_eq(pool, &self.shared) => {
                deque.push(job);
                None
            }
            _ => Some(job),
        });
        if let Some(job) = job {
            self.shared.injector.push(job);
        }
        self.shared.wake_one();
    }
    // ANCHOR_END: execute

    /// Like [`Pool::execute`], for a job that returns a value: the returned
    /// handle gives back that value, or the job's panic.
    pub fn spawn<F, T>(&self, job: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // As in the reference: a one-slot channel per job. Its `recv` spins
        // briefly (a `Backoff`) before it blocks, which is what a short
        // round trip needs on the caller's side.
        let (result_tx, result_rx) = mpsc::sync_channel(1);
        self.execute(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(job));
            let _ = result_tx.send(result);
        });
        JobHandle { result: result_rx }
    }
}

// ANCHOR: sleep
impl Shared {
    /// Called after every push: wakes one sleeping worker, if there is one.
    /// The fence pairs with the one in `sleep`: either this load sees the
    /// sleeper counted in, or the sleeper's last look sees the job.
    fn wake_one(&self) {
        atomic::fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            // Taking the lock means the sleeper is inside `wait`, not
            // between its last look and `wait`: the notification is not lost.
            let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.wake.notify_one();
        }
    }

    /// Blocks until there is a job (returned) or the pool is closed and
    /// every queue is empty (`None`: the worker stops).
    fn sleep(&self, deque: &Worker<Job>, me: usize) -> Option<Job> {
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        atomic::fence(Ordering::SeqCst);
        let found = loop {
            // Read the flag before the last look: once it is set, no job can
            // arrive from outside, so an empty look means there is nothing
            // left that this worker must run.
            let closed = self.closed.load(Ordering::SeqCst);
            if let Some(job) = self.find(deque, me) {
                break Some(job);
            }
            if closed {
                break None;
            }
            guard = self.wake.wait(guard).unwrap_or_else(PoisonError::into_inner);
        };
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        found
    }
    // ANCHOR_END: sleep

    // ANCHOR: find
    /// The next job for worker `me`: its own deque first (oldest first),
    /// then a batch stolen from another worker (jobs taken from the injector
    /// earlier than anything still in it), then a batch from the injector.
    fn find(&self, deque: &Worker<Job>, me: usize) -> Option<Job> {
        if let Some(job) = deque.pop() {
            return Some(job);
        }
        loop {
            let others = (1..self.stealers.len()).map(|k| &self.stealers[(me + k) % self.stealers.len()]);
            let steal = others.map(|s| s.steal_batch_and_pop(deque)).collect::<Steal<Job>>().or_else(|| self.injector.steal_batch_and_pop(deque));
            match steal {
                Steal::Success(job) => return Some(job),
                Steal::Empty => return None,
                // Lost a race with another thief: look again.
                Steal::Retry => continue,
            }
        }
    }
    // ANCHOR_END: find
}

// ANCHOR: work
/// A worker's whole life: run what it finds; when it finds nothing, keep
/// looking for `SPINS` backoff rounds, then sleep until woken.
fn work<const SPINS: u32>(shared: Arc<Shared>, deque: Worker<Job>, me: usize) {
    LOCAL.with(|local| *local.borrow_mut() = Some((Arc::clone(&shared), deque)));
    LOCAL.with(|local| {
        let local = local.borrow();
        let Some((_, deque)) = &*local else { unreachable!("set just above") };
        loop {
            if let Some(job) = shared.find(deque, me) {
                run_on(&shared, deque, job);
                continue;
            }
            let backoff = Backoff::new();
            let mut spun = None;
            for _ in 0..SPINS {
                backoff.snooze();
                if let Some(job) = shared.find(deque, me) {
                    spun = Some(job);
                    break;
                }
            }
            match spun.or_else(|| shared.sleep(deque, me)) {
                Some(job) => run_on(&shared, deque, job),
                None => return,
            }
        }
    });
}

/// Runs `job`, first waking a sleeper if jobs are left in this worker's
/// deque (a stolen batch, or jobs a job submitted): this job may run for a
/// long time, and nobody else would know they are there.
fn run_on(shared: &Shared, deque: &Worker<Job>, job: Job) {
    if !deque.is_empty() {
        shared.wake_one();
    }
    run(job);
}
// ANCHOR_END: work

/// Runs one job, containing its panic (see the reference's `run`). A job
/// that calls `execute` borrows `LOCAL` again; both borrows are shared.
fn run(job: Job) {
    let _ = panic::catch_unwind(AssertUnwindSafe(job));
}

/// The result of one job given to [`Pool::spawn`], to collect later.
pub struct JobHandle<T> {
    result: Receiver<thread::Result<T>>,
}

impl<T> JobHandle<T> {
    /// Waits for the job, then returns what it returned, or `Err(payload)`
    /// with its panic payload.
    pub fn join(self) -> thread::Result<T> {
        match self.result.recv() {
            Ok(result) => result,
            Err(mpsc::RecvError) => Err(Box::new("the job was dropped before it ran") as Box<dyn Any + Send>),
        }
    }
}

/// Shutting down: set the flag, wake every sleeper, join the workers. Each
/// worker leaves only when it finds no job anywhere, so every queued job
/// (and every job those submit) runs first.
impl<const SPINS: u32> Drop for Pool<SPINS> {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        {
            let _guard = self.shared.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.shared.wake.notify_all();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}
