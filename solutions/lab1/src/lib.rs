//! Lab 1: measure what processes, threads and tasks cost.
//!
//! This is the only file you edit. Grade it with
//!
//! ```text
//! cargo test -p lab1           # every step
//! cargo test -p lab1 step2     # one step
//! ```
//!
//! and, once it passes, compare your figures with the reference's and perf's:
//!
//! ```text
//! cargo run --release -p lab1-check
//! ```
//!
//! The graded tests check how you measure, never how fast anything is: that
//! every child is reaped and every thread joined inside the timed region,
//! that a round trip crosses the pipe both ways, that a pinned pair is
//! pinned, that the clock is read outside the loop, and that a figure is the
//! median of several samples. Keep the public API (names, arguments, return
//! types) exactly as it is; add private helpers as you like.

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, read, write, ForkResult, Pid};
use std::ffi::CStr;
use std::os::fd::OwnedFd;
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Given: the instruments and the workload. Nothing to change here.
// ---------------------------------------------------------------------------

/// What every measurement is given. The check command passes plain
/// instruments ([`Bench::plain`]); the graded tests pass ones that count.
#[derive(Clone, Copy, Debug)]
pub struct Bench {
    /// Operations timed in each sample (forks, spawns, round trips).
    pub iters: u64,
    /// Samples to take; the figure is their median.
    pub repeats: usize,
    /// The only clock a measurement may read, exactly twice per sample: once
    /// just before its timed loop, once just after.
    pub clock: fn() -> Instant,
    /// What every unit you create (child process, thread, task) runs, once,
    /// before it ends. It is async-signal-safe, so a forked child may call it.
    pub unit_body: fn(),
    /// Called by each side of a ping-pong, from inside that side (process or
    /// thread), once it is pinned (or not) and before its loop starts. It
    /// reads that side's CPU set with `sched_getaffinity` and is
    /// async-signal-safe.
    pub report_cpus: fn(Side),
}

/// The two sides of a ping-pong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The side that reads the clock and sends the first byte.
    Measuring,
    /// The side that sends every byte back.
    Partner,
}

impl Bench {
    /// Plain instruments: `Instant::now`, an empty unit body, no report.
    pub fn plain(iters: u64, repeats: usize) -> Bench {
        fn nothing() {}
        fn no_report(_: Side) {}
        Bench { iters, repeats, clock: Instant::now, unit_body: nothing, report_cpus: no_report }
    }
}

/// A measured figure: time per operation, and the samples behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figure {
    /// The median of `samples`.
    pub per_op: Duration,
    /// Time per operation in each sample, in the order they were taken.
    pub samples: Vec<Duration>,
    /// Operations timed in each sample.
    pub ops_per_sample: u64,
}

/// A job split across N units (the same job as `lab1-measure`'s).
#[derive(Clone, Copy, Debug)]
pub enum Job {
    /// Count the primes below `limit`.
    Cpu { limit: u64 },
    /// Serve `waits` requests, each of which waits `wait` (a sleep stands in
    /// for a disk or a network peer).
    Io { waits: u64, wait: Duration },
}

impl Job {
    /// What unit `unit` of `units` computes, as blocking code: its count of
    /// primes, or the number of requests it served. The shares of all the
    /// units add up to the whole job's answer. It allocates nothing, so a
    /// forked child may call it.
    pub fn share(self, unit: usize, units: usize) -> u64 {
        match self {
            Job::Cpu { limit } => primes_share(unit, units, limit),
            Job::Io { wait, .. } => {
                let count = self.waits_of(unit, units);
                for _ in 0..count {
                    thread::sleep(wait);
                }
                count
            }
        }
    }

    /// How many requests of an I/O job unit `unit` of `units` serves (0 for
    /// a CPU job): for a task, wait that many times with `tokio::time::sleep`.
    pub fn waits_of(self, unit: usize, units: usize) -> u64 {
        match self {
            Job::Cpu { .. } => 0,
            Job::Io { waits, .. } => waits / units as u64 + u64::from((unit as u64) < waits % units as u64),
        }
    }
}

fn is_prime(n: u64) -> bool {
    if n < 4 {
        return n >= 2;
    }
    if n % 2 == 0 {
        return false;
    }
    let mut d = 3;
    while d * d <= n {
        if n % d == 0 {
            return false;
        }
        d += 2;
    }
    true
}

/// Blocks of 1000 numbers dealt round-robin, so every unit gets a similar
/// mix of cheap (small) and dear (large) numbers.
fn primes_share(unit: usize, units: usize, limit: u64) -> u64 {
    const BLOCK: u64 = 1000;
    (unit as u64..limit.div_ceil(BLOCK))
        .step_by(units)
        .map(|b| (b * BLOCK..((b + 1) * BLOCK).min(limit)).filter(|&n| is_prime(n)).count() as u64)
        .sum()
}

// ---------------------------------------------------------------------------
// Step 1: samples and their median.
// ---------------------------------------------------------------------------
// ANCHOR: step1

/// The median of `samples`: the middle value once sorted; for an even count,
/// the mean of the two middle values. `samples` need not be sorted.
///
/// # Panics
///
/// When `samples` is empty.
pub fn median(samples: &[Duration]) -> Duration {
    assert!(!samples.is_empty(), "the median of no samples");
    let mut sorted = samples.to_vec();
    sorted.sort();
    let mid = sorted.len() / 2;
    match sorted.len() % 2 {
        1 => sorted[mid],
        _ => (sorted[mid - 1] + sorted[mid]) / 2,
    }
}

/// Takes `b.repeats` samples: calls `run(b.iters)` once per sample, which
/// performs `b.iters` operations and returns how long they took, and turns
/// each into time per operation (rounded down to the nanosecond).
///
/// Returns the samples in order, their median as `per_op`, and `b.iters` as
/// `ops_per_sample`. It reads no clock itself: `run` does.
pub fn measure(b: &Bench, mut run: impl FnMut(u64) -> Duration) -> Figure {
    assert!(b.iters > 0 && b.repeats > 0, "a figure needs at least one operation and one sample");
    let samples: Vec<Duration> = (0..b.repeats)
        .map(|_| Duration::from_nanos((run(b.iters).as_nanos() / u128::from(b.iters)) as u64))
        .collect();
    Figure { per_op: median(&samples), samples, ops_per_sample: b.iters }
}
// ANCHOR_END: step1

// ---------------------------------------------------------------------------
// Step 2: creating a unit, having it do nothing, knowing it finished.
// ---------------------------------------------------------------------------
// ANCHOR: step2

/// Waits for `child` and insists it exited with status 0.
fn reap_ok(child: Pid, what: &str) {
    match waitpid(child, None) {
        Ok(WaitStatus::Exited(_, 0)) => {}
        other => panic!("{what}: the child did not exit with status 0 ({other:?}), so the figure would time a failure"),
    }
}

/// Time per `fork` + child runs `b.unit_body` then `_exit(0)` + parent's
/// `waitpid`, each child reaped before the next fork and before the clock
/// is read again.
///
/// # Panics
///
/// When a child does not exit with status 0.
pub fn fork_exit_wait(b: &Bench) -> Figure {
    let (clock, body) = (b.clock, b.unit_body);
    measure(b, |n| {
        let start = clock();
        for _ in 0..n {
            // SAFETY: the child calls `body` (async-signal-safe by contract)
            // and `_exit`, nothing else: no allocation, no lock another
            // thread of the parent could have held at the fork.
            match unsafe { fork() }.expect("fork failed") {
                ForkResult::Child => {
                    body();
                    unsafe { libc::_exit(0) }
                }
                ForkResult::Parent { child } => reap_ok(child, "fork + _exit"),
            }
        }
        clock().duration_since(start)
    })
}

/// Time per `fork` + child `execve`s `program` (no arguments but its name,
/// an empty environment) + parent's `waitpid`.
///
/// # Panics
///
/// When a child does not exit with status 0 (a program that fails, or an
/// exec that fails: then the child must `_exit` with a non-zero status).
pub fn fork_exec_wait(b: &Bench, program: &CStr) -> Figure {
    let clock = b.clock;
    // Built before any fork: the child must not allocate.
    let argv = [program.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null::<libc::c_char>()];
    measure(b, |n| {
        let start = clock();
        for _ in 0..n {
            // SAFETY: between fork and exec the child calls only `execve`
            // and `_exit`, both async-signal-safe, on memory built before.
            match unsafe { fork() }.expect("fork failed") {
                ForkResult::Child => unsafe {
                    libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr());
                    libc::_exit(127)
                },
                ForkResult::Parent { child } => reap_ok(child, &program.to_string_lossy()),
            }
        }
        clock().duration_since(start)
    })
}

/// Time per `std::thread::spawn` of a thread that runs `b.unit_body` + its
/// `join`, each thread joined before the next spawn.
pub fn thread_spawn_join(b: &Bench) -> Figure {
    let (clock, body) = (b.clock, b.unit_body);
    measure(b, |n| {
        let start = clock();
        for _ in 0..n {
            thread::spawn(body).join().expect("the thread panicked");
        }
        clock().duration_since(start)
    })
}

/// Time per `tokio::spawn` of a task that runs `b.unit_body` + its `.await`,
/// on `rt` (built by the caller: building a runtime is not part of the
/// figure), each task awaited before the next spawn.
pub fn task_spawn_await(b: &Bench, rt: &tokio::runtime::Runtime) -> Figure {
    let (clock, body) = (b.clock, b.unit_body);
    measure(b, |n| {
        // The loop runs inside a task, so on a multi-thread runtime each
        // spawn lands in this worker's own queue.
        rt.block_on(async move {
            tokio::spawn(async move {
                let start = clock();
                for _ in 0..n {
                    tokio::spawn(async move { body() }).await.expect("the task panicked");
                }
                clock().duration_since(start)
            })
            .await
            .expect("the timing task panicked")
        })
    })
}
// ANCHOR_END: step2

// ---------------------------------------------------------------------------
// Step 3: a round trip over two pipes, between processes and threads.
// ---------------------------------------------------------------------------
// ANCHOR: step3

/// Round trips done before the clock starts, in every sample.
const WARM_UP: u64 = 100;

/// Pins the calling thread to `cpu`; returns the set it had before.
fn pin_this_thread(cpu: usize) -> CpuSet {
    let old = sched_getaffinity(Pid::from_raw(0)).expect("sched_getaffinity");
    let mut one = CpuSet::new();
    one.set(cpu).expect("CPU number out of range");
    sched_setaffinity(Pid::from_raw(0), &one).expect("sched_setaffinity");
    old
}

/// Sends a byte and waits for it to come back, `n` times.
fn ping(to: &OwnedFd, from: &OwnedFd, n: u64) {
    let mut byte = [0u8; 1];
    for _ in 0..n {
        assert_eq!(write(to, &byte), Ok(1), "ping: write to the pipe failed");
        assert_eq!(read(from, &mut byte), Ok(1), "ping: the other side hung up");
    }
}

/// Waits for a byte and sends it back, `n` times; allocates nothing.
fn echo(from: &OwnedFd, to: &OwnedFd, n: u64) -> bool {
    let mut byte = [0u8; 1];
    for _ in 0..n {
        if read(from, &mut byte) != Ok(1) || write(to, &byte) != Ok(1) {
            return false;
        }
    }
    true
}

/// Time per round trip between two processes over two pipes: the measuring
/// side (the calling thread) writes a byte down one pipe, the partner (a
/// forked child) reads it and writes it back up the other, the measuring
/// side reads it. One round trip = one byte each way. Round trips before
/// the clock starts (a warm-up) are allowed, and not counted.
///
/// With `cpu = Some(c)` both processes run on CPU `c` only, for the whole
/// sample; when it returns, the calling thread's CPU set is what it was.
/// With `None`, neither is pinned. Each side calls `(b.report_cpus)(side)`
/// from inside itself before its loop. The partner is reaped before the
/// function returns; no descriptor is left open.
pub fn pipe_pingpong_processes(b: &Bench, cpu: Option<usize>) -> Figure {
    let (clock, report) = (b.clock, b.report_cpus);
    // Pin before forking: the child inherits this thread's CPU set.
    let old = cpu.map(pin_this_thread);
    let figure = measure(b, |n| {
        let (down_r, down_w) = pipe().expect("pipe");
        let (up_r, up_w) = pipe().expect("pipe");
        // SAFETY: the child closes descriptors, calls `report` (async-signal-
        // safe by contract), runs `echo` (read and write on a stack buffer)
        // and calls `_exit`: no allocation, no lock.
        let child = match unsafe { fork() }.expect("fork failed") {
            ForkResult::Child => {
                drop(down_w);
                drop(up_r);
                report(Side::Partner);
                let ok = echo(&down_r, &up_w, WARM_UP + n);
                unsafe { libc::_exit(if ok { 0 } else { 1 }) }
            }
            ForkResult::Parent { child } => child,
        };
        drop(down_r);
        drop(up_w);
        report(Side::Measuring);
        ping(&down_w, &up_r, WARM_UP);
        let start = clock();
        ping(&down_w, &up_r, n);
        let took = clock().duration_since(start);
        reap_ok(child, "the echo process");
        took
    });
    if let Some(old) = old {
        sched_setaffinity(Pid::from_raw(0), &old).expect("sched_setaffinity");
    }
    figure
}

/// The same round trip between two threads of this process: the partner is
/// a thread, joined before the function returns. Pinning, reports and
/// clean-up as for [`pipe_pingpong_processes`].
pub fn pipe_pingpong_threads(b: &Bench, cpu: Option<usize>) -> Figure {
    let (clock, report) = (b.clock, b.report_cpus);
    // Pinned before the spawn, so the partner inherits the CPU set.
    let old = cpu.map(pin_this_thread);
    let figure = measure(b, |n| {
        let (down_r, down_w) = pipe().expect("pipe");
        let (up_r, up_w) = pipe().expect("pipe");
        let partner = thread::spawn(move || {
            report(Side::Partner);
            echo(&down_r, &up_w, WARM_UP + n)
        });
        report(Side::Measuring);
        ping(&down_w, &up_r, WARM_UP);
        let start = clock();
        ping(&down_w, &up_r, n);
        let took = clock().duration_since(start);
        assert!(partner.join().expect("the echo thread panicked"), "the echo thread failed");
        took
    });
    if let Some(old) = old {
        sched_setaffinity(Pid::from_raw(0), &old).expect("sched_setaffinity");
    }
    figure
}
// ANCHOR_END: step3

// ---------------------------------------------------------------------------
// Step 4: one job split across N processes, threads or tasks.
// ---------------------------------------------------------------------------
// ANCHOR: step4

/// Runs `job` split across `units` child processes (unit i computes
/// `job.share(i, units)`), and returns the sum of their shares. Every child
/// is reaped and every descriptor closed before it returns.
///
/// # Panics
///
/// When a child fails or dies before sending its share.
pub fn run_processes(job: Job, units: usize) -> u64 {
    let (results_r, results_w) = pipe().expect("pipe");
    let mut children = Vec::with_capacity(units);
    for unit in 0..units {
        // SAFETY: the child computes on its stack (`share` allocates
        // nothing), writes 8 bytes to a pipe and calls `_exit`. A write of
        // at most PIPE_BUF bytes is atomic: shares never interleave.
        match unsafe { fork() }.expect("fork failed") {
            ForkResult::Child => {
                let answer = job.share(unit, units);
                let ok = write(&results_w, &answer.to_ne_bytes()) == Ok(8);
                unsafe { libc::_exit(if ok { 0 } else { 1 }) }
            }
            ForkResult::Parent { child } => children.push(child),
        }
    }
    drop(results_w);
    let mut total = 0;
    for _ in 0..units {
        let mut buf = [0u8; 8];
        assert_eq!(read(&results_r, &mut buf), Ok(8), "a worker process died before sending its share");
        total += u64::from_ne_bytes(buf);
    }
    for child in children {
        reap_ok(child, "worker process");
    }
    total
}

/// The same job across `units` threads, each joined before it returns.
pub fn run_threads(job: Job, units: usize) -> u64 {
    thread::scope(|s| {
        let handles: Vec<_> = (0..units).map(|unit| s.spawn(move || job.share(unit, units))).collect();
        handles.into_iter().map(|h| h.join().expect("a worker thread panicked")).sum()
    })
}

/// The same job across `units` tasks on `rt` (its time driver enabled), each
/// awaited before it returns. A CPU share runs as it is; an I/O share waits
/// with `tokio::time::sleep`, so a waiting task holds no thread.
pub fn run_tasks(rt: &tokio::runtime::Runtime, job: Job, units: usize) -> u64 {
    rt.block_on(async move {
        let handles: Vec<_> = (0..units)
            .map(|unit| {
                tokio::spawn(async move {
                    match job {
                        Job::Cpu { .. } => job.share(unit, units),
                        Job::Io { wait, .. } => {
                            let count = job.waits_of(unit, units);
                            for _ in 0..count {
                                tokio::time::sleep(wait).await;
                            }
                            count
                        }
                    }
                })
            })
            .collect();
        let mut total = 0;
        for h in handles {
            total += h.await.expect("a worker task panicked");
        }
        total
    })
}
// ANCHOR_END: step4
