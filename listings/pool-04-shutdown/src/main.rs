//! The fixed pool in use: queue more jobs than workers, drop the pool, and
//! check that every job ran and every worker thread is gone.
use pool_04_shutdown::ThreadPool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// "Threads:" from /proc/self/status: how many threads this process has now.
fn threads_now() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

// ANCHOR: main
/// `join` returns as soon as the exiting thread has cleared its thread-id
/// word, a step the kernel takes a little before it stops counting that
/// thread in `Threads:`. So poll, for at most a second, until the count is
/// `expected`; return the last count read, so a worker that really leaked
/// still shows.
fn threads_once_settled(expected: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let now = threads_now();
        if now == expected || Instant::now() >= deadline {
            return now;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

fn main() {
    const WORKERS: usize = 4;
    const JOBS: usize = 12;
    let finished = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();

    let pool = ThreadPool::new(WORKERS);
    println!("threads with the pool alive: {}", threads_now());
    for _ in 0..JOBS {
        let finished = Arc::clone(&finished);
        pool.execute(move || {
            thread::sleep(Duration::from_millis(100)); // stands in for real work
            finished.fetch_add(1, Ordering::SeqCst);
        });
    }
    println!("queued {JOBS} jobs in {:.1?}", start.elapsed());

    drop(pool); // closes the queue, then joins every worker
    let dropped = start.elapsed();

    println!("after drop: {} of {JOBS} jobs finished", finished.load(Ordering::SeqCst));
    println!("threads after drop: {}", threads_once_settled(1));
    println!("drop returned after {} ms ({JOBS} jobs of 100 ms on {WORKERS} workers)",
        dropped.as_millis());
}
// ANCHOR_END: main
