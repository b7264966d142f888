//! How long one cache line takes to travel from one CPU to another and
//! back: two threads, pinned to CPUs 0 and 1, hand a counter back and forth
//! through one atomic (`handoff.rs`). Every handoff moves the line between
//! the two cores' caches, which is what a pool fed from another thread pays
//! on every job (Lab 2, step 7). Several rounds, a little apart: on a
//! virtual machine the host may move the virtual CPUs between rounds.

mod handoff;

use handoff::{pin_to, round, Line};
use std::sync::atomic::AtomicU64;
use std::thread;
use std::time::Duration;

const HANDOFFS: u64 = 200_000;
const ROUNDS: usize = 6;

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
        match round(&LINE, 0, HANDOFFS) {
            Some(one_way) => println!("round {r}: {} ns per one-way handoff", one_way.as_nanos()),
            None => println!("round {r}: the echo thread could not be pinned to CPU 1"),
        }
        thread::sleep(Duration::from_millis(300));
    }
}
