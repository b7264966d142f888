//! Counting context switches from inside a program: /proc/thread-self/status,
//! /proc/self/status and getrusage. A thread that sleeps makes voluntary
//! switches; two threads that never sleep, sharing one CPU, are preempted
//! (involuntary switches), and CPU time / preemptions gives the time slice
//! they actually got. Bounded: about a second in all.
use nix::sched::{sched_setaffinity, CpuSet};
use nix::sys::resource::{getrusage, UsageWho};
use nix::unistd::Pid;
use std::thread;
use std::time::{Duration, Instant};

const NAPS: u32 = 100;
const SPIN: Duration = Duration::from_millis(400);

// ANCHOR: read
/// The two counters of a /proc status file: (voluntary, nonvoluntary).
fn proc_counts(file: &str) -> (u64, u64) {
    let text = std::fs::read_to_string(file).expect("cannot read /proc");
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .expect("field missing")
    };
    (field("voluntary_ctxt_switches:"), field("nonvoluntary_ctxt_switches:"))
}

/// The same two counters from getrusage, for the calling thread or for the
/// whole process (every thread, including those already ended).
fn rusage_counts(who: UsageWho) -> (u64, u64) {
    let u = getrusage(who).expect("getrusage");
    (u.voluntary_context_switches() as u64, u.involuntary_context_switches() as u64)
}
// ANCHOR_END: read

fn delta(after: (u64, u64), before: (u64, u64)) -> (u64, u64) {
    (after.0 - before.0, after.1 - before.1)
}

// ANCHOR: sleeper
/// Sleeps NAPS times: each sleep takes the thread off the CPU by its own
/// choice, a voluntary switch.
fn sleeper() -> ((u64, u64), (u64, u64)) {
    let proc0 = proc_counts("/proc/thread-self/status");
    let rusage0 = rusage_counts(UsageWho::RUSAGE_THREAD);
    for _ in 0..NAPS {
        thread::sleep(Duration::from_millis(1));
    }
    let proc1 = proc_counts("/proc/thread-self/status");
    let rusage1 = rusage_counts(UsageWho::RUSAGE_THREAD);
    (delta(proc1, proc0), delta(rusage1, rusage0))
}
// ANCHOR_END: sleeper

// ANCHOR: spinner
/// Never sleeps: computes until SPIN has passed on the wall clock. Pinned
/// to CPU 0 with a twin, it only leaves the CPU when the scheduler takes it
/// away. Returns (involuntary switches, CPU time used).
fn spinner() -> (u64, Duration) {
    let mut cpu0 = CpuSet::new();
    cpu0.set(0).unwrap();
    sched_setaffinity(Pid::from_raw(0), &cpu0).expect("cannot pin to CPU 0");
    let before = getrusage(UsageWho::RUSAGE_THREAD).unwrap();
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < SPIN {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    let after = getrusage(UsageWho::RUSAGE_THREAD).unwrap();
    let cpu = |u: &nix::sys::resource::Usage| {
        let (user, sys) = (u.user_time(), u.system_time());
        Duration::new(user.tv_sec() as u64, user.tv_usec() as u32 * 1000)
            + Duration::new(sys.tv_sec() as u64, sys.tv_usec() as u32 * 1000)
    };
    let preempted = (after.involuntary_context_switches() - before.involuntary_context_switches()) as u64;
    (preempted, cpu(&after) - cpu(&before))
}
// ANCHOR_END: spinner

fn main() {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!("machine: {cpus} CPUs, Linux {}", kernel.trim());
    println!();

    // ANCHOR: main
    let process0 = (proc_counts("/proc/self/status"), rusage_counts(UsageWho::RUSAGE_SELF));

    let (by_proc, by_rusage) = thread::spawn(sleeper).join().unwrap();
    println!("a thread that sleeps {NAPS} times for 1 ms:");
    println!("  /proc/thread-self/status: {} voluntary, {} nonvoluntary switches", by_proc.0, by_proc.1);
    println!("  getrusage(RUSAGE_THREAD): {} voluntary, {} involuntary switches", by_rusage.0, by_rusage.1);

    let twins = [thread::spawn(spinner), thread::spawn(spinner)];
    let results: Vec<(u64, Duration)> = twins.into_iter().map(|t| t.join().unwrap()).collect();
    println!();
    println!("two threads that never sleep, both pinned to CPU 0, for {} ms of wall time:", SPIN.as_millis());
    for (i, (preempted, cpu)) in results.iter().enumerate() {
        let slice = cpu.as_secs_f64() * 1e3 / (*preempted).max(1) as f64;
        println!("  spinner {i}: {} ms of CPU time, preempted {preempted} times: {slice:.2} ms per turn on the CPU",
            cpu.as_millis());
    }

    let process1 = (proc_counts("/proc/self/status"), rusage_counts(UsageWho::RUSAGE_SELF));
    let main_only = delta(process1.0, process0.0);
    let all = delta(process1.1, process0.1);
    println!();
    println!("the whole run, seen from the process:");
    println!("  /proc/self/status (main thread only): {} voluntary, {} nonvoluntary switches", main_only.0, main_only.1);
    println!("  getrusage(RUSAGE_SELF) (all threads): {} voluntary, {} involuntary switches", all.0, all.1);
    // ANCHOR_END: main
}
