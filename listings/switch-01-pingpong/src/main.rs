//! What a context switch costs: one byte bounced through two pipes between
//! two threads, then between two processes, first with both sides pinned to
//! one CPU, then free to run anywhere. Counts the switches it causes with
//! getrusage, so "per switch" is a measured ratio, not an assumption.
//! Bounded: 50 batches of 400 round trips per case, every child reaped.
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::resource::{getrusage, UsageWho};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, read, write, ForkResult, Pid};
use std::os::fd::OwnedFd;
use std::thread;
use std::time::Instant;

const ROUND_TRIPS: u32 = 400; // per batch: short, so some batches run undisturbed
const BATCHES: usize = 50;
/// The batches of a case are run in ROUNDS turns, threads and processes
/// alternating, so that a burst of load from another program hits both.
const ROUNDS: usize = 5;
const PER_ROUND: usize = BATCHES / ROUNDS;

// ANCHOR: bounce
/// The echoing side: wait for a byte, send it back, `n` times.
/// `cpu`: the CPU to move to first, if any.
fn echo(rx: &OwnedFd, tx: &OwnedFd, n: u32, cpu: Option<usize>) {
    if let Some(cpu) = cpu {
        pin(cpu);
    }
    let mut b = [0u8; 1];
    for _ in 0..n {
        read(rx, &mut b).expect("read");
        write(tx, &b).expect("write");
    }
}

/// The timing side: send a byte and wait for it to come back. Each
/// `read` finds the pipe empty and blocks, so the thread sleeps and the
/// kernel must switch to something else: the echoing side, if it is
/// on the same CPU. Returns µs per round trip for each batch.
fn serve(rx: &OwnedFd, tx: &OwnedFd) -> Vec<f64> {
    let mut b = [0u8; 1];
    (0..PER_ROUND)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..ROUND_TRIPS {
                write(tx, &b).expect("write");
                read(rx, &mut b).expect("read");
            }
            start.elapsed().as_secs_f64() * 1e6 / ROUND_TRIPS as f64
        })
        .collect()
}
// ANCHOR_END: bounce

/// Voluntary and involuntary switches so far, for `who`.
fn switches(who: UsageWho) -> (i64, i64) {
    let u = getrusage(who).expect("getrusage");
    (u.voluntary_context_switches() as i64, u.involuntary_context_switches() as i64)
}

// ANCHOR: cases
struct Run {
    batches: Vec<f64>, // µs per round trip, one figure per batch
    voluntary: i64,    // switches counted on both sides during the run
    involuntary: i64,
}

/// Moves the calling thread to one CPU; a thread or process it starts
/// afterwards inherits the setting.
fn pin(cpu: usize) {
    let mut set = CpuSet::new();
    set.set(cpu).expect("no such CPU");
    sched_setaffinity(Pid::from_raw(0), &set).expect("sched_setaffinity");
}

fn between_threads(echo_cpu: Option<usize>) -> Run {
    let (a_rx, a_tx) = pipe().unwrap();
    let (b_rx, b_tx) = pipe().unwrap();
    let before = switches(UsageWho::RUSAGE_SELF); // every thread of this process
    let batches = thread::scope(|s| {
        // The new thread inherits this thread's CPU affinity.
        s.spawn(|| echo(&a_rx, &b_tx, ROUND_TRIPS * PER_ROUND as u32, echo_cpu));
        serve(&b_rx, &a_tx)
    });
    let after = switches(UsageWho::RUSAGE_SELF);
    Run { batches, voluntary: after.0 - before.0, involuntary: after.1 - before.1 }
}

fn between_processes(echo_cpu: Option<usize>) -> Run {
    let (a_rx, a_tx) = pipe().unwrap();
    let (b_rx, b_tx) = pipe().unwrap();
    let (me0, kids0) = (switches(UsageWho::RUSAGE_SELF), switches(UsageWho::RUSAGE_CHILDREN));
    // SAFETY: the process has one thread here (between_threads joined its
    // thread before returning), so the child cannot inherit a lock held by
    // a thread that does not exist in it. The child only calls
    // sched_setaffinity, read, write and _exit: plain system calls that
    // take no lock in the child.
    let child = match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            echo(&a_rx, &b_tx, ROUND_TRIPS * PER_ROUND as u32, echo_cpu);
            // SAFETY: leave without running the parent's destructors or
            // flushing stdio buffers the child inherited.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => child,
    };
    let batches = serve(&b_rx, &a_tx);
    match waitpid(child, None).expect("waitpid") {
        WaitStatus::Exited(_, 0) => {}
        other => panic!("echo process ended badly: {other:?}"),
    }
    // RUSAGE_CHILDREN includes the child only once it has been reaped.
    let (me1, kids1) = (switches(UsageWho::RUSAGE_SELF), switches(UsageWho::RUSAGE_CHILDREN));
    Run {
        batches,
        voluntary: (me1.0 - me0.0) + (kids1.0 - kids0.0),
        involuntary: (me1.1 - me0.1) + (kids1.1 - kids0.1),
    }
}

/// Both kinds, alternating round by round; each Run gathers all its rounds.
fn both(echo_cpu: Option<usize>) -> (Run, Run) {
    let mut runs = (Run { batches: vec![], voluntary: 0, involuntary: 0 }, Run { batches: vec![], voluntary: 0, involuntary: 0 });
    for _ in 0..ROUNDS {
        for (run, next) in [(&mut runs.0, between_threads(echo_cpu)), (&mut runs.1, between_processes(echo_cpu))] {
            run.batches.extend(next.batches);
            run.voluntary += next.voluntary;
            run.involuntary += next.involuntary;
        }
    }
    runs
}
// ANCHOR_END: cases

// ANCHOR: syscalls
/// The same four system calls with no switch: write a byte into a pipe and
/// read it straight back, in one thread. The pipe is never empty when read,
/// so nobody sleeps. µs per round trip's worth, fastest batch (as for the
/// ping-pong, the batch least disturbed by other programs).
fn pipe_calls_alone() -> f64 {
    let (rx, tx) = pipe().unwrap();
    let mut b = [0u8; 1];
    fastest(&(0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..ROUND_TRIPS {
                for _ in 0..2 {
                    write(&tx, &b).unwrap();
                    read(&rx, &mut b).unwrap();
                }
            }
            start.elapsed().as_secs_f64() * 1e6 / ROUND_TRIPS as f64
        })
        .collect::<Vec<_>>())
}

/// Entering and leaving the kernel with no work inside: `getppid` only
/// reads a field of the task. Called through `syscall` so that no library
/// can answer it from a cache. Returns µs per call, fastest batch.
fn null_syscall() -> f64 {
    let n = 4 * ROUND_TRIPS; // as many calls as a batch of round trips makes
    fastest(&(0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                // SAFETY: getppid takes no arguments and cannot fail.
                std::hint::black_box(unsafe { libc::syscall(libc::SYS_getppid) });
            }
            start.elapsed().as_secs_f64() * 1e6 / n as f64
        })
        .collect::<Vec<_>>())
}
// ANCHOR_END: syscalls

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

const HEADER: &str = "                 per round trip: fastest batch, median   switches per round trip         per switch (fastest batch)";

fn fastest(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// One line of the table. `calls_us`: the pipe calls' own cost, subtracted
/// from the per-switch figure when both sides share a CPU. The fastest batch
/// is the one least disturbed by other programs on the same CPU.
fn row(kind: &str, run: &Run, calls_us: Option<f64>) {
    let trips = (ROUND_TRIPS as usize * BATCHES) as f64;
    let (vol, invol) = (run.voluntary as f64 / trips, run.involuntary as f64 / trips);
    let best = fastest(&run.batches);
    let trip = format!("{best:.2} µs, {:.2} µs", median(&run.batches));
    let counted = format!("{:.2} = {vol:.2} vol. + {invol:.2} invol.", vol + invol);
    let per_switch = match calls_us {
        Some(calls) => format!(
            "{:.2} µs ({:.2} µs without the pipe calls)",
            best / (vol + invol),
            (best - calls) / (vol + invol)
        ),
        None => "(not one switch: see the text)".to_string(),
    };
    println!("  {kind:<15}{trip:<40}{counted:<32}{per_switch}");
}

/// The spread of the unpinned batches, and which pinned case each is closer to.
fn spread(kind: &str, run: &Run, same_cpu: &Run, two_cpus: &Run) {
    let (one, two) = (median(&same_cpu.batches), median(&two_cpus.batches));
    let mut sorted = run.batches.clone();
    sorted.sort_by(f64::total_cmp);
    let like_one = sorted.iter().filter(|t| (*t - one).abs() < (*t - two).abs()).count();
    let at = |q: usize| sorted[(sorted.len() - 1) * q / 4];
    println!("  {kind}: min {:.2} µs, quartiles {:.2} µs {:.2} µs {:.2} µs, max {:.2} µs",
        at(0), at(1), at(2), at(3), at(4));
    println!("    {like_one} of {BATCHES} batches closer to the one-CPU median, {} closer to the two-CPU one",
        BATCHES - like_one);
}

fn main() {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!("machine: {cpus} CPUs, Linux {}, {} build", kernel.trim(),
        if cfg!(debug_assertions) { "debug" } else { "release" });
    println!("each case: {BATCHES} batches of {ROUND_TRIPS} round trips, in {ROUNDS} rounds alternating threads and processes;");
    println!("a round trip is 2 one-byte writes and 2 reads");
    if cpus < 2 {
        println!("this machine has one CPU: only the pinned, one-CPU case makes sense here");
    }
    println!();

    let null_us = null_syscall();
    println!("a null system call (getppid): {:.3} µs, so 4 of them: {:.2} µs (fastest batch)", null_us, 4.0 * null_us);
    let calls_us = pipe_calls_alone();
    println!("the 4 pipe calls of a round trip, with nobody waiting: {calls_us:.2} µs (fastest batch)");
    println!();
    println!("{HEADER}");

    // ANCHOR: pin
    let me = Pid::from_raw(0); // 0 = the calling thread
    let all_cpus = sched_getaffinity(me).expect("sched_getaffinity");
    pin(0); // this side on CPU 0; the other side inherits that...
    let same = both(None);
    println!("both sides on CPU 0");
    row("threads", &same.0, Some(calls_us));
    row("processes", &same.1, Some(calls_us));
    if cpus < 2 {
        return;
    }
    // ...or moves itself to CPU 1 before its first read.
    let split = both(Some(1));
    println!("one side on CPU 0, the other on CPU 1");
    row("threads", &split.0, None);
    row("processes", &split.1, None);
    sched_setaffinity(me, &all_cpus).expect("cannot unpin");
    let free = both(None);
    // ANCHOR_END: pin
    println!("unpinned: the scheduler places both sides");
    row("threads", &free.0, None);
    row("processes", &free.1, None);
    println!();
    println!("unpinned batches, µs per round trip");
    spread("threads", &free.0, &same.0, &split.0);
    spread("processes", &free.1, &same.1, &split.1);
}
