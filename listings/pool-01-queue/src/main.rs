//! A first pool: N workers sharing one `Mutex<mpsc::Receiver>` queue, and
//! what it saves compared with one new thread per job.
//! Bounded: a fixed number of tiny jobs, about a second in all.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Instant;

// ANCHOR: pool
type Job = Box<dyn FnOnce() + Send + 'static>;

struct ThreadPool {
    sender: mpsc::Sender<Job>,
    _workers: Vec<thread::JoinHandle<()>>,
}

impl ThreadPool {
    fn new(size: usize) -> ThreadPool {
        let (sender, receiver) = mpsc::channel::<Job>();
        // One receiver, many workers: the Mutex lets one worker at a time
        // take the next job; the Arc lets every worker hold the Mutex.
        let queue = Arc::new(Mutex::new(receiver));
        let _workers = (0..size)
            .map(|_| {
                let queue = Arc::clone(&queue);
                thread::spawn(move || loop {
                    let next = queue.lock().unwrap().recv(); // lock released at `;`
                    match next {
                        Ok(job) => job(),
                        Err(_) => break, // the sender is gone: nothing will ever come
                    }
                })
            })
            .collect();
        ThreadPool { sender, _workers }
    }

    fn execute(&self, job: impl FnOnce() + Send + 'static) {
        self.sender.send(Box::new(job)).unwrap();
    }
}
// ANCHOR_END: pool

// ANCHOR: measure
const JOBS: u64 = 5_000;

fn main() {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    println!("{JOBS} tiny jobs (add one to a shared counter), {cpus} CPUs, {} build",
        if cfg!(debug_assertions) { "debug" } else { "release" });

    // 1. A new thread for every job.
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    for _ in 0..JOBS {
        let counter = Arc::clone(&counter);
        thread::spawn(move || { counter.fetch_add(1, Ordering::Relaxed); })
            .join()
            .unwrap();
    }
    let per_thread = start.elapsed().as_secs_f64() * 1e6 / JOBS as f64;
    assert_eq!(counter.load(Ordering::Relaxed), JOBS);
    println!("  one thread per job (spawn + join):   {per_thread:6.2} µs per job");

    // 2. The same jobs through a pool of `cpus` workers.
    let pool = ThreadPool::new(cpus);
    let counter = Arc::new(AtomicU64::new(0));
    let (done_tx, done_rx) = mpsc::channel();
    let start = Instant::now();
    for _ in 0..JOBS {
        let (counter, done_tx) = (Arc::clone(&counter), done_tx.clone());
        pool.execute(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            done_tx.send(()).unwrap();
        });
    }
    let pushed = start.elapsed();
    for _ in 0..JOBS {
        done_rx.recv().unwrap(); // wait until every job has run
    }
    let all = start.elapsed();
    assert_eq!(counter.load(Ordering::Relaxed), JOBS);
    let per_push = pushed.as_secs_f64() * 1e6 / JOBS as f64;
    let per_job = all.as_secs_f64() * 1e6 / JOBS as f64;
    println!("  pool: execute() alone (queue push):  {per_push:6.2} µs per job");
    println!("  pool: push + run + report back:      {per_job:6.2} µs per job");
    println!("  a new thread costs {:.0}x a push", per_thread / per_push);
}
// ANCHOR_END: measure
