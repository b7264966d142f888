//! Correct design `d4_restart_after_panic`: workers do not catch the panics
//! of `execute`d jobs; a worker killed by one starts its own replacement as it
//! unwinds, so the pool keeps its width. `cargo xtask lab2` checks that it
//! passes the graded suite.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

const _: fn() = || {
    fn shareable<P: Send + Sync>() {}
    shareable::<ThreadPool>();
};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// What every worker, and every replacement, needs.
#[derive(Clone)]
struct Shared {
    queue: Arc<Mutex<Receiver<Job>>>,
    /// Every worker ever started and not yet joined.
    handles: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

pub struct ThreadPool {
    sender: Option<Sender<Job>>,
    shared: Shared,
    threads: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCreationError {
    message: &'static str,
}

impl fmt::Display for PoolCreationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for PoolCreationError {}

impl ThreadPool {
    pub fn build(threads: usize) -> Result<ThreadPool, PoolCreationError> {
        if threads == 0 {
            return Err(PoolCreationError { message: "cannot build a thread pool with 0 threads" });
        }
        let (sender, receiver) = mpsc::channel::<Job>();
        let shared = Shared { queue: Arc::new(Mutex::new(receiver)), handles: Arc::new(Mutex::new(Vec::new())) };
        for _ in 0..threads {
            if !start_worker(&shared) {
                return Err(PoolCreationError { message: "the system refused to start a worker thread" });
            }
        }
        Ok(ThreadPool { sender: Some(sender), shared, threads })
    }

    pub fn new(threads: usize) -> ThreadPool {
        assert!(threads > 0, "ThreadPool::new(0): a pool needs at least one thread");
        ThreadPool::build(threads).expect("cannot start the pool's threads")
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn execute<F>(&self, job: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let _ = self.sender.as_ref().map(|s| s.send(Box::new(job)));
    }

    pub fn spawn<F, T>(&self, job: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.execute(move || {
            let _ = tx.send(panic::catch_unwind(AssertUnwindSafe(job)));
        });
        JobHandle { rx }
    }
}

/// Starts one worker; false if the system refused.
fn start_worker(shared: &Shared) -> bool {
    let mine = shared.clone();
    match thread::Builder::new().spawn(move || {
        // Armed while the worker runs: if a job's panic unwinds this thread,
        // its drop starts a replacement before the thread ends.
        let _replace = Replacement(mine.clone());
        loop {
            let next = mine.queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
            match next {
                Ok(job) => job(),
                Err(_) => return,
            }
        }
    }) {
        Ok(handle) => {
            shared.handles.lock().unwrap_or_else(PoisonError::into_inner).push(handle);
            true
        }
        Err(_) => false,
    }
}

struct Replacement(Shared);

impl Drop for Replacement {
    fn drop(&mut self) {
        if thread::panicking() {
            start_worker(&self.0);
        }
    }
}

pub struct JobHandle<T> {
    rx: Receiver<thread::Result<T>>,
}

impl<T> JobHandle<T> {
    pub fn join(self) -> thread::Result<T> {
        self.rx.recv().unwrap_or_else(|_| Err(Box::new("the job was dropped unrun")))
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        drop(self.sender.take());
        // A worker dying now registers its replacement before it ends, so
        // joining it first means the replacement is in the list afterwards.
        loop {
            let next = self.shared.handles.lock().unwrap_or_else(PoisonError::into_inner).pop();
            match next {
                Some(handle) => {
                    let _ = handle.join();
                }
                None => break,
            }
        }
    }
}
