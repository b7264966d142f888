//! Correct design `d2_condvar_handle`: the reference's channel queue, but a
//! `JobHandle` made of a `Mutex<Option<result>>` and a `Condvar` instead of a
//! channel per job. `cargo xtask lab2` checks that it passes the graded suite.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

const _: fn() = || {
    fn shareable<P: Send + Sync>() {}
    shareable::<ThreadPool>();
};

type Job = Box<dyn FnOnce() + Send + 'static>;

pub struct ThreadPool {
    sender: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    threads: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCreationError(String);

impl fmt::Display for PoolCreationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PoolCreationError {}

impl ThreadPool {
    pub fn build(threads: usize) -> Result<ThreadPool, PoolCreationError> {
        if threads == 0 {
            return Err(PoolCreationError("a thread pool needs at least one thread, not 0".into()));
        }
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut workers = Vec::new();
        for _ in 0..threads {
            let receiver = Arc::clone(&receiver);
            workers.push(thread::spawn(move || loop {
                let next = receiver.lock().unwrap_or_else(PoisonError::into_inner).recv();
                match next {
                    Ok(job) => {
                        let _ = panic::catch_unwind(AssertUnwindSafe(job));
                    }
                    Err(_) => break,
                }
            }));
        }
        Ok(ThreadPool { sender: Some(sender), workers, threads })
    }

    pub fn new(threads: usize) -> ThreadPool {
        match ThreadPool::build(threads) {
            Ok(pool) => pool,
            Err(e) => panic!("{e}"),
        }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn execute<F>(&self, job: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.sender.as_ref().unwrap().send(Box::new(job)).unwrap();
    }

    pub fn spawn<F, T>(&self, job: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = Arc::new(Slot { result: Mutex::new(None), ready: Condvar::new() });
        let filled = Arc::clone(&slot);
        self.execute(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(job));
            *filled.result.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
            filled.ready.notify_one();
        });
        JobHandle { slot }
    }
}

/// Where a job leaves its result for its handle.
struct Slot<T> {
    result: Mutex<Option<thread::Result<T>>>,
    ready: Condvar,
}

pub struct JobHandle<T> {
    slot: Arc<Slot<T>>,
}

impl<T> JobHandle<T> {
    pub fn join(self) -> thread::Result<T> {
        let mut result = self.slot.result.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(result) = result.take() {
                return result;
            }
            result = self.slot.ready.wait(result).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        drop(self.sender.take());
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}
