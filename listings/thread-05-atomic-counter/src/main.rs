//! The same counter with an atomic: no lock, one indivisible instruction per
//! increment. Then the same atomic used wrongly: read, then write.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

const THREADS: usize = 4;
const PER_THREAD: u64 = 250_000;
/// The race needs two threads running at the same moment; on a busy or
/// one-CPU machine a run can pass without that. Bound the retries.
const MAX_ATTEMPTS: u32 = 50;

/// Runs `step` THREADS x PER_THREAD times on one shared counter. A barrier
/// holds every thread until all exist, so they start together instead of
/// the first one finishing before the last is spawned.
fn hammer(step: fn(&AtomicU64)) -> (u64, Duration) {
    let counter = AtomicU64::new(0);
    let start_line = Barrier::new(THREADS);
    let start = Instant::now();
    // A scope lets the threads borrow `counter`: no Arc needed this time.
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                start_line.wait();
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
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    println!("{THREADS} threads x {PER_THREAD} increments on {cpus} CPUs");

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
    // can load the same value and both store value + 1. Whether that
    // happens depends on timing, so try again (a bounded number of times)
    // until an increment is lost.
    let load_then_store = |c: &AtomicU64| {
        let seen = c.load(Ordering::Relaxed);
        c.store(seen + 1, Ordering::Relaxed);
    };
    for attempt in 1..=MAX_ATTEMPTS {
        let (total, took) = hammer(load_then_store);
        if total < expected {
            println!("load then store: {total} of {expected} (lost {}), {:.1} ms, attempt {attempt}",
                expected - total, took.as_secs_f64() * 1e3);
            return;
        }
    }
    println!("load then store: nothing lost in {MAX_ATTEMPTS} attempts (the threads never overlapped; try on an idle machine with 2+ CPUs)");
    // ANCHOR_END: lost
}
