//! The chapter's naive thread pool, finished: a fixed set of named workers
//! taking boxed jobs from one shared queue, and a `Drop` that closes the
//! queue and waits for every worker.
//!
//! Deliberately naive: no results, no panic recovery, no back-pressure.
//! Lab 2 builds those. Other crates of the course (Lab 1, the Lab 2 benches)
//! use this one as "the chapter's naive pool", so its API stays
//! `ThreadPool::new(usize)`, `execute(job)` and `Drop`.

use std::sync::{mpsc, Arc, Mutex};
use std::thread;

// ANCHOR: types
/// A job is any closure that can be run once on another thread.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed number of worker threads sharing one queue of jobs.
pub struct ThreadPool {
    workers: Vec<Worker>,
    /// `Some` while the pool accepts jobs; `Drop` takes it out to close the
    /// queue before it waits for the workers.
    sender: Option<mpsc::Sender<Job>>,
}

struct Worker {
    id: usize,
    handle: Option<thread::JoinHandle<()>>,
}
// ANCHOR_END: types

// ANCHOR: new
impl ThreadPool {
    /// Starts `size` worker threads named `pool-worker-0`, `pool-worker-1`, ...
    ///
    /// # Panics
    ///
    /// Panics if `size` is zero (a pool with no worker would accept jobs and
    /// never run them) or if the operating system refuses a thread.
    pub fn new(size: usize) -> ThreadPool {
        assert!(size > 0, "a thread pool needs at least one worker");
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = (0..size)
            .map(|id| Worker::start(id, Arc::clone(&receiver)))
            .collect();
        ThreadPool { workers, sender: Some(sender) }
    }

    /// Queues `job`; the first idle worker runs it.
    pub fn execute<F>(&self, job: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.sender
            .as_ref()
            .expect("the queue is only closed inside drop")
            .send(Box::new(job))
            .expect("every worker has stopped: a job panicked and killed it");
    }
}
// ANCHOR_END: new

// ANCHOR: worker
impl Worker {
    fn start(id: usize, queue: Arc<Mutex<mpsc::Receiver<Job>>>) -> Worker {
        let handle = thread::Builder::new()
            .name(format!("pool-worker-{id}"))
            .spawn(move || loop {
                // The guard is a temporary of this `let` statement: it is
                // dropped at the `;`, so the lock is free while the job runs.
                let message = queue.lock().unwrap().recv();
                match message {
                    Ok(job) => job(),
                    // Every sender is gone and the queue is empty: stop.
                    Err(mpsc::RecvError) => break,
                }
            })
            .expect("failed to start a worker thread");
        Worker { id, handle: Some(handle) }
    }
}
// ANCHOR_END: worker

// ANCHOR: drop
impl Drop for ThreadPool {
    fn drop(&mut self) {
        // 1. Close the queue. Workers first finish the jobs already queued,
        //    then their `recv` returns `Err` and their loop ends.
        drop(self.sender.take());
        // 2. Wait for each of them.
        for worker in &mut self.workers {
            if let Some(handle) = worker.handle.take() {
                if handle.join().is_err() {
                    // A job panicked and took its worker down with it; the
                    // panic message is already on stderr. Surviving that is
                    // Lab 2's job, not this pool's.
                    eprintln!("pool-worker-{} had died from a panicking job", worker.id);
                }
            }
        }
    }
}
// ANCHOR_END: drop
