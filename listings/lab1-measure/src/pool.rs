//! A round trip through the chapter's naive thread pool (listing
//! `pool-04-shutdown`): queue an empty job, wait until it has run. This is
//! what a pool saves you compared with `thread::spawn` + `join`, and what it
//! still costs: a channel send, a worker's wake-up, a reply.

use pool_04_shutdown::ThreadPool;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `iters` round trips through `pool`, built by the caller before the clock
/// starts (starting its workers is not part of a round trip).
pub fn round_trip(pool: &ThreadPool, iters: u64) -> Duration {
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let start = Instant::now();
    for _ in 0..iters {
        let done = done_tx.clone();
        pool.execute(move || done.send(()).expect("the waiting side hung up"));
        done_rx.recv().expect("a pool worker dropped the job without running it");
    }
    start.elapsed()
}
