//! Correct design `d3_dispatcher`: a dispatcher thread hands each job to a
//! worker that has said it is free, through that worker's own channel.
//! `cargo xtask lab2` checks that it passes the graded suite.
//!
//! Unlike a round robin, a job goes only to a worker that is waiting for
//! one, so it waits only until *some* worker is free. Dropping the pool
//! closes the dispatcher's channel; the dispatcher hands out what is left,
//! then drops the workers' channels, which ends them.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};

const _: fn() = || {
    fn shareable<P: Send + Sync>() {}
    shareable::<ThreadPool>();
};

type Job = Box<dyn FnOnce() + Send + 'static>;

pub struct ThreadPool {
    jobs: Option<Sender<Job>>,
    dispatcher: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
    threads: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCreationError {
    asked: usize,
}

impl fmt::Display for PoolCreationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a thread pool of {} threads cannot run anything; ask for 1 or more", self.asked)
    }
}

impl std::error::Error for PoolCreationError {}

impl ThreadPool {
    pub fn build(threads: usize) -> Result<ThreadPool, PoolCreationError> {
        if threads == 0 {
            return Err(PoolCreationError { asked: threads });
        }
        let (free_tx, free_rx) = mpsc::channel::<usize>();
        let mut to_workers = Vec::new();
        let mut workers = Vec::new();
        for id in 0..threads {
            let (tx, rx) = mpsc::channel::<Job>();
            let free_tx = free_tx.clone();
            to_workers.push(tx);
            workers.push(thread::spawn(move || {
                // "I am free", then the job the dispatcher sends in return.
                while free_tx.send(id).is_ok() {
                    match rx.recv() {
                        Ok(job) => {
                            let _ = panic::catch_unwind(AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                }
            }));
        }
        drop(free_tx);
        let (jobs, jobs_rx) = mpsc::channel::<Job>();
        let dispatcher = thread::spawn(move || dispatch(&jobs_rx, &free_rx, to_workers));
        Ok(ThreadPool { jobs: Some(jobs), dispatcher: Some(dispatcher), workers, threads })
    }

    pub fn new(threads: usize) -> ThreadPool {
        ThreadPool::build(threads).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn execute<F>(&self, job: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.jobs.as_ref().expect("open until drop").send(Box::new(job)).expect("the dispatcher runs until drop");
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

/// Each job, in order, to the next worker that reports itself free.
fn dispatch(jobs: &Receiver<Job>, free: &Receiver<usize>, to_workers: Vec<Sender<Job>>) {
    for job in jobs.iter() {
        let Ok(id) = free.recv() else { return };
        if to_workers[id].send(job).is_err() {
            return;
        }
    }
    // `to_workers` is dropped here: every worker's recv fails and it ends.
}

pub struct JobHandle<T> {
    rx: Receiver<thread::Result<T>>,
}

impl<T> JobHandle<T> {
    pub fn join(self) -> thread::Result<T> {
        match self.rx.recv() {
            Ok(result) => result,
            Err(_) => Err(Box::new(String::from("job lost"))),
        }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(dispatcher) = self.dispatcher.take() {
            let _ = dispatcher.join();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}
