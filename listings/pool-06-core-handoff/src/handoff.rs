//! The experiment of Listing L2.17: one cache line handed back and forth
//! between CPUs 0 and 1. Lab 2's `interleaved` bench compiles this file in
//! too (`#[path]`), to time the handoff before and after each round.

use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;
use std::hint;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The shared counter on a cache line of its own (128 bytes: two lines, as
/// the adjacent-line prefetcher pulls pairs).
#[repr(align(128))]
pub struct Line(pub AtomicU64);

/// Pins the calling thread to one CPU.
pub fn pin_to(cpu: usize) -> nix::Result<()> {
    let mut set = CpuSet::new();
    set.set(cpu)?;
    sched_setaffinity(Pid::from_raw(0), &set)
}

// ANCHOR: round
/// One round, from a thread pinned to CPU 0: it writes an odd number, an
/// echo thread on CPU 1 answers with the next even one. The first `warm_up`
/// handoffs are not timed (the echo thread may not be running yet).
/// Returns the time of one one-way handoff, or `None` if the echo thread
/// could not be pinned (it still answers, so that the round ends).
pub fn round(line: &'static Line, warm_up: u64, handoffs: u64) -> Option<Duration> {
    let echo = thread::spawn(move || {
        let pinned = pin_to(1).is_ok();
        for i in 0..warm_up + handoffs {
            while line.0.load(Ordering::Acquire) != 2 * i + 1 {
                hint::spin_loop();
            }
            line.0.store(2 * i + 2, Ordering::Release);
        }
        pinned
    });
    let mut start = Instant::now();
    for i in 0..warm_up + handoffs {
        if i == warm_up {
            start = Instant::now();
        }
        line.0.store(2 * i + 1, Ordering::Release);
        while line.0.load(Ordering::Acquire) != 2 * i + 2 {
            hint::spin_loop();
        }
    }
    let took = start.elapsed();
    let pinned = echo.join().expect("the echo thread does not panic");
    line.0.store(0, Ordering::Relaxed);
    pinned.then(|| took / (2 * handoffs as u32))
}
// ANCHOR_END: round
