//! How long one cache line takes to travel from one CPU to another and
//! back: two threads, pinned to CPUs 0 and 1, hand a counter back and forth
//! through one atomic. Every handoff moves the line between the two cores'
//! caches, which is what a pool fed from another thread pays on every job
//! (Lab 2, step 7). Several rounds, a little apart: on a virtual machine
//! the host may move the virtual CPUs between rounds.

use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;
use std::hint;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

const HANDOFFS: u64 = 200_000;
const ROUNDS: usize = 6;

/// The shared counter on a cache line of its own (128 bytes: two lines, as
/// the adjacent-line prefetcher pulls pairs).
#[repr(align(128))]
struct Line(AtomicU64);

/// Pins the calling thread to one CPU.
fn pin_to(cpu: usize) -> nix::Result<()> {
    let mut set = CpuSet::new();
    set.set(cpu)?;
    sched_setaffinity(Pid::from_raw(0), &set)
}

// ANCHOR: round
/// One round: CPU 0 writes an odd number, CPU 1 answers with the next even
/// one. Returns the time of one one-way handoff.
fn round(line: &'static Line) -> Duration {
    let echo = thread::spawn(move || {
        pin_to(1).expect("main checked that CPU 1 is allowed");
        for i in 0..HANDOFFS {
            while line.0.load(Ordering::Acquire) != 2 * i + 1 {
                hint::spin_loop();
            }
            line.0.store(2 * i + 2, Ordering::Release);
        }
    });
    let start = Instant::now();
    for i in 0..HANDOFFS {
        line.0.store(2 * i + 1, Ordering::Release);
        while line.0.load(Ordering::Acquire) != 2 * i + 2 {
            hint::spin_loop();
        }
    }
    let took = start.elapsed();
    echo.join().expect("the echo thread does not panic");
    line.0.store(0, Ordering::Relaxed);
    took / (2 * HANDOFFS as u32)
}
// ANCHOR_END: round

fn main() {
    let cpus = thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if cpus < 2 {
        println!("{cpus} CPU: a handoff between two CPUs needs two");
        return;
    }
    static LINE: Line = Line(AtomicU64::new(0));
    // Try CPU 1 first: `taskset` or a cgroup may allow fewer CPUs than exist.
    if let Err(e) = pin_to(1).and_then(|()| pin_to(0)) {
        println!("cannot pin threads to CPUs 0 and 1 ({e}): run it where both are allowed");
        return;
    }
    println!("{cpus} CPUs; one cache line handed between CPU 0 and CPU 1, {HANDOFFS} times each way per round");
    for r in 1..=ROUNDS {
        let one_way = round(&LINE);
        println!("round {r}: {} ns per one-way handoff", one_way.as_nanos());
        thread::sleep(Duration::from_millis(300));
    }
}
