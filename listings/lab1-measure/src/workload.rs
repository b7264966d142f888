// A real workload, split across N processes, N threads or N tasks.
//
// CPU-bound: count the primes below `limit` by trial division. The numbers
// are cut into blocks of 1000 dealt round-robin to the N units, so every
// unit gets a similar mix of small (cheap) and large (dear) numbers.
//
// I/O-bound: `waits` requests, each of which waits `wait` for something
// outside the CPU (a sleep stands in for a disk or a network peer). Unit i
// serves every N-th request, one after the other.
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, read, write, ForkResult};
use std::time::Duration;

pub const BLOCK: u64 = 1000;

pub fn is_prime(n: u64) -> bool {
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

/// The primes below `limit` in the blocks dealt to `unit` out of `units`.
pub fn primes_share(unit: usize, units: usize, limit: u64) -> u64 {
    let blocks = limit.div_ceil(BLOCK);
    (unit as u64..blocks)
        .step_by(units)
        .map(|b| (b * BLOCK..((b + 1) * BLOCK).min(limit)).filter(|&n| is_prime(n)).count() as u64)
        .sum()
}

/// How many of `waits` requests unit `unit` of `units` serves.
pub fn waits_share(unit: usize, units: usize, waits: u64) -> u64 {
    waits / units as u64 + u64::from((unit as u64) < waits % units as u64)
}

/// Serves a share of the I/O job: one blocking wait after another.
fn blocking_waits(count: u64, wait: Duration) -> u64 {
    for _ in 0..count {
        std::thread::sleep(wait);
    }
    count
}

#[derive(Clone, Copy, Debug)]
pub enum Job {
    Cpu { limit: u64 },
    Io { waits: u64, wait: Duration },
}

impl Job {
    /// What unit `unit` of `units` computes, run as ordinary blocking code.
    pub fn share(self, unit: usize, units: usize) -> u64 {
        match self {
            Job::Cpu { limit } => primes_share(unit, units, limit),
            Job::Io { waits, wait } => blocking_waits(waits_share(unit, units, waits), wait),
        }
    }
}

// ANCHOR: processes
/// N processes; each sends its 8-byte result up one shared pipe. A write of
/// at most PIPE_BUF bytes is atomic, so results never interleave.
pub fn run_processes(job: Job, units: usize) -> u64 {
    let (results_r, results_w) = pipe().expect("pipe");
    let mut children = Vec::with_capacity(units);
    for unit in 0..units {
        // SAFETY: the child computes on its stack (prime counting allocates
        // nothing; sleeping is nanosleep), writes to a pipe and calls
        // `_exit`: it takes no lock another thread could hold.
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
        assert_eq!(read(&results_r, &mut buf), Ok(8), "a worker process died before sending its result");
        total += u64::from_ne_bytes(buf);
    }
    for c in children {
        assert_eq!(waitpid(c, None), Ok(WaitStatus::Exited(c, 0)), "worker process {c} failed");
    }
    total
}
// ANCHOR_END: processes

// ANCHOR: threads
pub fn run_threads(job: Job, units: usize) -> u64 {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..units).map(|unit| s.spawn(move || job.share(unit, units))).collect();
        handles.into_iter().map(|h| h.join().expect("worker thread panicked")).sum()
    })
}
// ANCHOR_END: threads

// ANCHOR: tasks
/// N tasks on a multi-thread runtime. CPU work runs on the runtime's worker
/// threads as it is (so at most `workers` run at once); waiting uses the
/// runtime's timer, so a waiting task holds no thread.
pub fn run_tasks(rt: &tokio::runtime::Runtime, job: Job, units: usize) -> u64 {
    rt.block_on(async move {
        let handles: Vec<_> = (0..units)
            .map(|unit| {
                tokio::spawn(async move {
                    match job {
                        Job::Cpu { .. } => job.share(unit, units),
                        Job::Io { waits, wait } => {
                            let count = waits_share(unit, units, waits);
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
            total += h.await.expect("worker task panicked");
        }
        total
    })
}
// ANCHOR_END: tasks
