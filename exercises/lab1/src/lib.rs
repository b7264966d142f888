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

// nix (fork, waitpid, pipe, read, write, sched_setaffinity), libc (_exit,
// execve) and tokio are dependencies of this crate: `use` what you need.
use std::ffi::CStr;
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

/// The median of `samples`: the middle value once sorted; for an even count,
/// the mean of the two middle values. `samples` need not be sorted.
///
/// # Panics
///
/// When `samples` is empty.
pub fn median(samples: &[Duration]) -> Duration {
    // TODO (step 1)
    let _ = samples;
    todo!("median (step 1)")
}

/// Takes `b.repeats` samples: calls `run(b.iters)` once per sample, which
/// performs `b.iters` operations and returns how long they took, and turns
/// each into time per operation (rounded down to the nanosecond).
///
/// Returns the samples in order, their median as `per_op`, and `b.iters` as
/// `ops_per_sample`. It reads no clock itself: `run` does.
pub fn measure(b: &Bench, mut run: impl FnMut(u64) -> Duration) -> Figure {
    // TODO (step 1)
    let _ = (b, &mut run);
    todo!("measure (step 1)")
}

// ---------------------------------------------------------------------------
// Step 2: creating a unit, having it do nothing, knowing it finished.
// ---------------------------------------------------------------------------

/// Time per `fork` + child runs `b.unit_body` then `_exit(0)` + parent's
/// `waitpid`, each child reaped before the next fork and before the clock
/// is read again.
///
/// # Panics
///
/// When a child does not exit with status 0.
pub fn fork_exit_wait(b: &Bench) -> Figure {
    // TODO (step 2)
    let _ = b;
    todo!("fork_exit_wait (step 2)")
}

/// Time per `fork` + child `execve`s `program` (no arguments but its name,
/// an empty environment) + parent's `waitpid`.
///
/// # Panics
///
/// When a child does not exit with status 0 (a program that fails, or an
/// exec that fails: then the child must `_exit` with a non-zero status).
pub fn fork_exec_wait(b: &Bench, program: &CStr) -> Figure {
    // TODO (step 2)
    let _ = (b, program);
    todo!("fork_exec_wait (step 2)")
}

/// Time per `std::thread::spawn` of a thread that runs `b.unit_body` + its
/// `join`, each thread joined before the next spawn.
pub fn thread_spawn_join(b: &Bench) -> Figure {
    // TODO (step 2)
    let _ = b;
    todo!("thread_spawn_join (step 2)")
}

/// Time per `tokio::spawn` of a task that runs `b.unit_body` + its `.await`,
/// on `rt` (built by the caller: building a runtime is not part of the
/// figure), each task awaited before the next spawn.
pub fn task_spawn_await(b: &Bench, rt: &tokio::runtime::Runtime) -> Figure {
    // TODO (step 2)
    let _ = (b, rt);
    todo!("task_spawn_await (step 2)")
}

// ---------------------------------------------------------------------------
// Step 3: a round trip over two pipes, between processes and threads.
// ---------------------------------------------------------------------------

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
    // TODO (step 3)
    let _ = (b, cpu);
    todo!("pipe_pingpong_processes (step 3)")
}

/// The same round trip between two threads of this process: the partner is
/// a thread, joined before the function returns. Pinning, reports and
/// clean-up as for [`pipe_pingpong_processes`].
pub fn pipe_pingpong_threads(b: &Bench, cpu: Option<usize>) -> Figure {
    // TODO (step 3)
    let _ = (b, cpu);
    todo!("pipe_pingpong_threads (step 3)")
}

// ---------------------------------------------------------------------------
// Step 4: one job split across N processes, threads or tasks.
// ---------------------------------------------------------------------------

/// Runs `job` split across `units` child processes (unit i computes
/// `job.share(i, units)`), and returns the sum of their shares. Every child
/// is reaped and every descriptor closed before it returns.
///
/// # Panics
///
/// When a child fails or dies before sending its share.
pub fn run_processes(job: Job, units: usize) -> u64 {
    // TODO (step 4)
    let _ = (job, units);
    todo!("run_processes (step 4)")
}

/// The same job across `units` threads, each joined before it returns.
pub fn run_threads(job: Job, units: usize) -> u64 {
    // TODO (step 4)
    let _ = (job, units);
    todo!("run_threads (step 4)")
}

/// The same job across `units` tasks on `rt` (its time driver enabled), each
/// awaited before it returns. A CPU share runs as it is; an I/O share waits
/// with `tokio::time::sleep`, so a waiting task holds no thread.
pub fn run_tasks(rt: &tokio::runtime::Runtime, job: Job, units: usize) -> u64 {
    // TODO (step 4)
    let _ = (rt, job, units);
    todo!("run_tasks (step 4)")
}
