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

    println!("after drop: {} of {JOBS} jobs finished", finished.load(Ordering::SeqCst));
    println!("threads after drop: {}", threads_now());
    println!("drop returned after {} ms ({JOBS} jobs of 100 ms on {WORKERS} workers)",
        start.elapsed().as_millis());
}
// ANCHOR_END: main
