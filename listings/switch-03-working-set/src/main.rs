//! The indirect cost of a context switch: two threads on one CPU bounce a
//! byte over pipes, and each touches its own working set before answering;
//! then the same with two processes, alternating size by size.
//! When both working sets fit in the caches, a switch costs what it costs
//! with no working set; when they do not, each side finds its data evicted
//! by the other and pays to fetch it again. Bounded: a few seconds.
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, read, write, ForkResult, Pid};
use std::hint::black_box;
use std::os::fd::OwnedFd;
use std::thread;
use std::time::Instant;

const LINE: usize = 64; // bytes in a cache line
const KIB: usize = 1024;
/// Working-set sizes per side; the smallest is "no working set".
const SIZES: [usize; 12] = [
    0, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, 512 * KIB,
    1024 * KIB, 2048 * KIB, 4096 * KIB, 8192 * KIB, 16384 * KIB, 32768 * KIB,
];
/// Timed batches per figure; the figure is the fastest batch, the one
/// least disturbed by other programs on the machine.
const BATCHES: usize = 30;
/// Rounds of (alone, threads, processes) per size; each figure keeps its
/// fastest round. A debug build is for watching the table flatten, not for
/// figures: one round keeps it (and the page tests that run it) short.
const ROUNDS: usize = if cfg!(debug_assertions) { 1 } else { 3 };

// ANCHOR: touch
/// Writes one byte in every cache line of `buf`, visiting the lines in a
/// scrambled order (an odd stride modulo a power of two visits each line
/// once) so that the hardware prefetcher cannot guess the next line.
fn touch(buf: &mut [u8]) {
    let lines = buf.len() / LINE;
    let mut i = 0;
    for _ in 0..lines {
        buf[i * LINE] = buf[i * LINE].wrapping_add(1);
        i = (i + 40_503) & (lines - 1);
    }
    black_box(buf);
}
// ANCHOR_END: touch

/// Round trips per timed batch: short batches, so that some of them run
/// without another program taking CPU 0 in the middle.
fn per_batch(size: usize) -> u32 {
    (2048 * KIB / size.max(4 * KIB)).clamp(1, 200) as u32
}

fn fastest(times: impl Iterator<Item = f64>) -> f64 {
    times.fold(f64::INFINITY, f64::min)
}

// ANCHOR: measure
/// µs for one pass over a warm working set, with no switch in between
/// (the fastest of BATCHES timed batches).
fn alone(size: usize) -> f64 {
    let mut buf = vec![0u8; size];
    touch(&mut buf); // fault the pages in, warm the caches
    let n = 2 * per_batch(size); // as many passes as hops in a batch below
    fastest((0..BATCHES).map(|_| {
        let start = Instant::now();
        for _ in 0..n {
            touch(&mut buf);
        }
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    }))
}

/// The answering side of the ping-pong: on every byte received, touch the
/// working set, then send the byte back.
fn answer(rx: &OwnedFd, tx: &OwnedFd, size: usize, n: u32) {
    let mut buf = vec![0u8; size];
    touch(&mut buf);
    let mut b = [0u8; 1];
    for _ in 0..n {
        read(rx, &mut b).unwrap();
        touch(&mut buf);
        write(tx, &b).unwrap();
    }
}

/// The timing side: hand the byte over, wait for it, touch its own set.
/// Returns µs per hop (one switch + one pass), fastest of BATCHES batches.
fn ping(tx: &OwnedFd, rx: &OwnedFd, size: usize, n: u32) -> f64 {
    let mut buf = vec![0u8; size];
    touch(&mut buf);
    let mut b = [0u8; 1];
    fastest((0..BATCHES).map(|_| {
        let start = Instant::now();
        for _ in 0..n {
            write(tx, &b).unwrap(); // hand over to the other side...
            read(rx, &mut b).unwrap(); // ...which touches its set and answers
            touch(&mut buf);
        }
        start.elapsed().as_secs_f64() * 1e6 / (2 * n) as f64
    }))
}

/// µs per hop with the two sides threads of this process, both on CPU 0.
fn between_threads(size: usize) -> f64 {
    let (a_rx, a_tx) = pipe().unwrap();
    let (b_rx, b_tx) = pipe().unwrap();
    let n = per_batch(size);
    thread::scope(|s| {
        s.spawn(|| answer(&a_rx, &b_tx, size, n * BATCHES as u32));
        ping(&a_tx, &b_rx, size, n)
    })
}

/// The same with the answering side a forked child (inheriting CPU 0):
/// every switch now also changes the address space.
fn between_processes(size: usize) -> f64 {
    let (a_rx, a_tx) = pipe().unwrap();
    let (b_rx, b_tx) = pipe().unwrap();
    let n = per_batch(size);
    // SAFETY: this process has one thread here (between_threads joins its
    // thread before returning), so the child cannot inherit a lock held by
    // a thread it lacks. The child allocates its set, reads, writes and
    // leaves with _exit.
    let child = match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            answer(&a_rx, &b_tx, size, n * BATCHES as u32);
            // SAFETY: leave without running the parent's destructors.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => child,
    };
    let hop = ping(&a_tx, &b_rx, size, n);
    assert_eq!(waitpid(child, None), Ok(WaitStatus::Exited(child, 0)), "the answering process failed");
    hop
}
// ANCHOR_END: measure

fn main() {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!("machine: {cpus} CPUs, Linux {}, {} build; both sides pinned to CPU 0",
        kernel.trim(), if cfg!(debug_assertions) { "debug" } else { "release" });
    if cfg!(debug_assertions) {
        println!("(a debug build adds work to every access and hides part of the misses: use --release)");
    }
    let mut cpu0 = CpuSet::new();
    cpu0.set(0).unwrap();
    let all = sched_getaffinity(Pid::from_raw(0)).unwrap();
    sched_setaffinity(Pid::from_raw(0), &cpu0).expect("cannot pin to CPU 0");

    // ANCHOR: table
    // Each figure is the fastest of ROUNDS measurements, taken in turn
    // (alone, threads, processes, again...), so that a burst of load from
    // another program hits all three alike and the fastest escapes it.
    let best = |f: &dyn Fn() -> f64| (0..ROUNDS).map(|_| f()).fold(f64::INFINITY, f64::min);
    let bare = (best(&|| between_threads(0)), best(&|| between_processes(0)));
    println!("a hop with no working set (switch + pipe calls): threads {:.2} µs, processes {:.2} µs", bare.0, bare.1);
    println!();
    println!("working set   one pass,   threads: switch   indirect cost   processes: switch   indirect cost");
    println!("per side      alone       + pass, measured  per switch      + pass, measured    per switch      (threads; # from 0.5 µs, ## from 1 µs...)");
    for size in &SIZES[1..] {
        let (mut solo, mut hop) = (f64::INFINITY, (f64::INFINITY, f64::INFINITY));
        for _ in 0..ROUNDS {
            solo = solo.min(alone(*size));
            hop = (hop.0.min(between_threads(*size)), hop.1.min(between_processes(*size)));
        }
        // What the switch added beyond its direct cost and a warm pass.
        let indirect = (hop.0 - bare.0 - solo, hop.1 - bare.1 - solo);
        // Log scale: the costs span four orders of magnitude.
        let bar = "#".repeat((indirect.0 / 0.25).log2().floor().max(0.0) as usize);
        let label = if size >= &(1024 * KIB) { format!("{} MiB", size / (1024 * KIB)) } else { format!("{} KiB", size / KIB) };
        let us = |v: f64| format!("{v:.2} µs");
        println!("{label:>8}   {:>9}   {:>12}   {:>12}   {:>12}   {:>12}   |{bar}",
            us(solo), us(hop.0), us(indirect.0), us(hop.1), us(indirect.1));
    }
    // ANCHOR_END: table
    sched_setaffinity(Pid::from_raw(0), &all).unwrap();
}
