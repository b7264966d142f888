//! The lock-scope trap: three ways to write a worker's loop, one queue, the
//! same eight sleeping jobs on four workers. Two of them run the jobs one at
//! a time. Bounded: about two seconds in all.
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

type Job = Box<dyn FnOnce() + Send + 'static>;
type Queue = Arc<Mutex<mpsc::Receiver<Job>>>;

// ANCHOR: trap
/// TRAP. The scrutinee of `while let` is a temporary expression whose
/// temporaries (the `MutexGuard` among them) live until the end of the loop
/// body: the lock is held while `job()` runs.
fn worker_while_let(queue: Queue) {
    while let Ok(job) = queue.lock().unwrap().recv() {
        job();
    }
}

/// TRAP as well, for the same reason: temporaries in a `match` scrutinee
/// live until the end of the whole `match`, arms included.
fn worker_match(queue: Queue) {
    loop {
        match queue.lock().unwrap().recv() {
            Ok(job) => job(),
            Err(_) => break,
        }
    }
}
// ANCHOR_END: trap

// ANCHOR: fixed
/// Fixed: the guard is a temporary of the `let` statement and is dropped at
/// its `;`, before the job starts.
fn worker_let_then_match(queue: Queue) {
    loop {
        let next = queue.lock().unwrap().recv();
        match next {
            Ok(job) => job(),
            Err(_) => break,
        }
    }
}
// ANCHOR_END: fixed

// ANCHOR: measure
const WORKERS: usize = 4;
const JOBS: usize = 8;
const JOB_TIME: Duration = Duration::from_millis(100);

/// Starts WORKERS threads running `worker`, gives them JOBS sleeping jobs,
/// closes the queue and waits for all of them. Returns the wall time.
fn run(worker: fn(Queue)) -> Duration {
    let (sender, receiver) = mpsc::channel::<Job>();
    let queue: Queue = Arc::new(Mutex::new(receiver));
    let start = Instant::now();
    let handles: Vec<_> = (0..WORKERS)
        .map(|_| {
            let queue = Arc::clone(&queue);
            thread::spawn(move || worker(queue))
        })
        .collect();
    for _ in 0..JOBS {
        sender.send(Box::new(|| thread::sleep(JOB_TIME))).unwrap();
    }
    drop(sender); // close the queue so that every worker loop ends
    for h in handles {
        h.join().unwrap();
    }
    start.elapsed()
}

fn main() {
    let ideal = JOB_TIME * (JOBS.div_ceil(WORKERS) as u32);
    let serial = JOB_TIME * JOBS as u32;
    println!("{JOBS} jobs of {} ms on {WORKERS} workers: {} ms if parallel, {} ms if serialised",
        JOB_TIME.as_millis(), ideal.as_millis(), serial.as_millis());
    for (name, worker) in [
        ("while let Ok(job) = queue.lock().unwrap().recv()", worker_while_let as fn(Queue)),
        ("match queue.lock().unwrap().recv() { .. }", worker_match),
        ("let next = queue.lock().unwrap().recv(); match next", worker_let_then_match),
    ] {
        let took = run(worker);
        // Which of the two it is closest to: the verdict, without a threshold on time.
        let verdict = if took.abs_diff(serial) < took.abs_diff(ideal) { "serialised" } else { "parallel" };
        println!("  {name:52} {:5} ms  {verdict}", took.as_millis());
    }
}
// ANCHOR_END: measure
