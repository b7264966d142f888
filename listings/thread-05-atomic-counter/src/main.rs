//! The same counter with an atomic: no lock, one indivisible instruction per
//! increment. Then the same atomic used wrongly: read, then write.
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

const THREADS: usize = 4;
const PER_THREAD: u64 = 250_000;

/// Runs `step` THREADS x PER_THREAD times on one shared counter.
fn hammer(step: fn(&AtomicU64)) -> (u64, Duration) {
    let counter = AtomicU64::new(0);
    let start = Instant::now();
    // A scope lets the threads borrow `counter`: no Arc needed this time.
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..PER_THREAD {
                    step(&counter);
                }
            });
        }
    });
    (counter.load(Ordering::Relaxed), start.elapsed())
}

fn main() {
    let expected = THREADS as u64 * PER_THREAD;

    // ANCHOR: atomic
    // fetch_add reads, adds and writes back as ONE step (a `lock xadd` on
    // x86-64): no other core can slip in between.
    let (total, took) = hammer(|c| {
        c.fetch_add(1, Ordering::Relaxed);
    });
    println!("fetch_add:       {total} of {expected}, {:.1} ms", took.as_secs_f64() * 1e3);
    // ANCHOR_END: atomic

    // ANCHOR: lost
    // Each load and each store is atomic, but the pair is not: two threads
    // can load the same value and both store value + 1.
    let (total, took) = hammer(|c| {
        let seen = c.load(Ordering::Relaxed);
        c.store(seen + 1, Ordering::Relaxed);
    });
    println!("load then store: {total} of {expected} (lost {}), {:.1} ms", expected - total, took.as_secs_f64() * 1e3);
    // ANCHOR_END: lost
}
