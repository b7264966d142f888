//! Lab 2, optional step 7, first change: the reference pool with its
//! `Mutex<mpsc::Receiver>` replaced by a crossbeam channel, whose receiving
//! end is cloned, one per worker. Nothing else differs from
//! `solutions/src/lib.rs` (same `spawn`, same shutdown), so the bench can
//! show what removing the lock alone is worth. Only what the bench uses is
//! here: `new`, `execute`, `spawn`, `join` and the shutdown.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use crossbeam::channel::{self, Receiver, Sender};

type Job = Box<dyn FnOnce() + Send + 'static>;

pub struct ThreadPool {
    sender: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

// ANCHOR: work
impl ThreadPool {
    pub fn new(threads: usize) -> ThreadPool {
        assert!(threads > 0, "ThreadPool::new(0): a pool needs at least one thread");
        let (sender, receiver) = channel::unbounded::<Job>();
        let workers = (0..threads)
            .map(|id| {
                // Every worker has its own handle on the same queue: no lock.
                let receiver: Receiver<Job> = receiver.clone();
                let work = move || {
                    // `recv` looks briefly (crossbeam's Backoff) before it
                    // blocks, and fails once the queue is closed and empty.
                    while let Ok(job) = receiver.recv() {
                        let _ = panic::catch_unwind(AssertUnwindSafe(job));
                    }
                };
                thread::Builder::new().name(format!("channel-worker-{id}")).spawn(work).expect("cannot start a worker")
            })
            .collect();
        ThreadPool { sender: Some(sender), workers }
    }
    // ANCHOR_END: work

    pub fn execute<F: FnOnce() + Send + 'static>(&self, job: F) {
        let sender = self.sender.as_ref().expect("open until the pool is dropped");
        sender.send(Box::new(job)).expect("the workers live as long as the pool");
    }

    pub fn spawn<F, T>(&self, job: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (result_tx, result_rx) = mpsc::sync_channel(1);
        self.execute(move || {
            let _ = result_tx.send(panic::catch_unwind(AssertUnwindSafe(job)));
        });
        JobHandle { result: result_rx }
    }
}

pub struct JobHandle<T> {
    result: mpsc::Receiver<thread::Result<T>>,
}

impl<T> JobHandle<T> {
    pub fn join(self) -> thread::Result<T> {
        self.result.recv().unwrap_or_else(|_| Err(Box::new("the job was dropped before it ran")))
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        // Closing the channel ends each worker's `recv` loop once it is empty.
        drop(self.sender.take());
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}
