//! 10,000 kernel threads against 100,000 tokio tasks: how long it takes to
//! start them, how much memory they hold while all of them wait, and how
//! many kernel threads carry them. Each measurement runs in a fresh process
//! (this program started again with an argument), so that one cannot reuse
//! memory the other freed. Bounded: the counts are fixed, lowered if this
//! machine's limits would not allow them, and everything ends in seconds.
use nix::sys::resource::{getrlimit, Resource};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::{Duration, Instant};

const THREADS: usize = 10_000;
const TASKS: usize = 100_000;
const STACK: usize = 64 * 1024; // per thread, instead of std's 2 MiB default

/// One "Name:   1234 kB" (or plain number) field of a /proc file.
fn field(file: &str, name: &str) -> u64 {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn read_number(file: &str) -> Option<u64> {
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

// ANCHOR: limits
/// How many more threads this machine lets us start, and which limit says so.
fn thread_budget() -> (u64, &'static str) {
    let mut limits = Vec::new();
    // RLIMIT_NPROC (`ulimit -u`) counts every task of this user, threads included.
    if let Ok((soft, _)) = getrlimit(Resource::RLIMIT_NPROC) {
        if soft != nix::libc::RLIM_INFINITY {
            let mine = std::fs::read_dir("/proc").map_or(0, |d| d.count() as u64); // rough: every process
            limits.push((soft.saturating_sub(mine), "ulimit -u (RLIMIT_NPROC)"));
        }
    }
    if let Some(max) = read_number("/proc/sys/kernel/threads-max") {
        limits.push((max / 2, "half of /proc/sys/kernel/threads-max")); // leave room for the rest
    }
    for file in ["/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"] {
        if let Some(max) = read_number(file) {
            limits.push((max.saturating_sub(100), "the cgroup's pids.max"));
        }
    }
    // Each thread's stack is one mapping, plus one for its guard page.
    if let Some(maps) = read_number("/proc/sys/vm/max_map_count") {
        limits.push((maps / 2 - 1000, "half of /proc/sys/vm/max_map_count"));
    }
    limits.into_iter().min().unwrap_or((THREADS as u64, "no limit found"))
}
// ANCHOR_END: limits

// ANCHOR: threads
fn run_threads(count: usize) {
    let (rss0, vm0) = (field("/proc/self/status", "VmRSS:"), field("/proc/self/status", "VmSize:"));
    let kstack0 = field("/proc/meminfo", "KernelStack:");
    let gate = Arc::new(RwLock::new(())); // held for writing: every reader waits
    let hold = gate.write().unwrap();
    let parked = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let (gate, parked) = (Arc::clone(&gate), Arc::clone(&parked));
        let spawned = thread::Builder::new().stack_size(STACK).spawn(move || {
            parked.fetch_add(1, Ordering::Release);
            drop(gate.read().unwrap()); // blocks until main lets go
        });
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => {
                println!("  thread {i} could not start ({e}); going on with {i}");
                break;
            }
        }
    }
    let spawned = start.elapsed();
    while parked.load(Ordering::Acquire) < handles.len() {
        thread::sleep(Duration::from_millis(1));
    }
    let n = handles.len() as f64;
    let threads_now = field("/proc/self/status", "Threads:");
    let (rss1, vm1) = (field("/proc/self/status", "VmRSS:"), field("/proc/self/status", "VmSize:"));
    let kstack1 = field("/proc/meminfo", "KernelStack:");
    let release = Instant::now();
    drop(hold);
    handles.into_iter().for_each(|h| h.join().unwrap());
    println!("  started in {:.2} µs each ({:.0} ms in all)", spawned.as_secs_f64() * 1e6 / n, spawned.as_secs_f64() * 1e3);
    println!("  kernel threads in the process while they wait: {threads_now}");
    println!("  resident memory (VmRSS) grew by {:.2} KiB each", (rss1 - rss0) as f64 / n);
    println!("  address space (VmSize) grew by {:.2} KiB each (reserved, mostly not resident)", (vm1 - vm0) as f64 / n);
    println!("  kernel stacks (KernelStack, machine-wide) grew by {:.2} KiB each", kstack1.saturating_sub(kstack0) as f64 / n);
    println!("  woken and joined in {:.2} µs each", release.elapsed().as_secs_f64() * 1e6 / n);
}
// ANCHOR_END: threads

// ANCHOR: tasks
fn run_tasks(count: usize) {
    let workers = thread::available_parallelism().map_or(1, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_time().build().unwrap();
    let rss0 = field("/proc/self/status", "VmRSS:");
    rt.block_on(async move {
        let gate = Arc::new(tokio::sync::RwLock::new(()));
        let hold = gate.clone().write_owned().await;
        let parked = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let handles: Vec<_> = (0..count)
            .map(|_| {
                let (gate, parked) = (Arc::clone(&gate), Arc::clone(&parked));
                tokio::spawn(async move {
                    let before = nix::unistd::gettid(); // the worker thread running us now
                    parked.fetch_add(1, Ordering::Release);
                    drop(gate.read().await); // gives the thread back until main lets go
                    (before, nix::unistd::gettid())
                })
            })
            .collect();
        let spawned = start.elapsed();
        while parked.load(Ordering::Acquire) < count {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let threads_now = field("/proc/self/status", "Threads:");
        let rss1 = field("/proc/self/status", "VmRSS:");
        let release = Instant::now();
        drop(hold);
        let mut workers_seen = std::collections::HashSet::new();
        let mut moved = 0;
        for h in handles {
            let (before, after) = h.await.unwrap();
            workers_seen.insert(before);
            workers_seen.insert(after);
            moved += (before != after) as usize;
        }
        let n = count as f64;
        println!("  started in {:.2} µs each ({:.0} ms in all)", spawned.as_secs_f64() * 1e6 / n, spawned.as_secs_f64() * 1e3);
        let others = threads_now.saturating_sub(workers as u64 + 1);
        let others = if others > 0 { format!(" + {others} more") } else { String::new() };
        println!("  kernel threads in the process while they wait: {threads_now} ({workers} workers + the main thread{others})");
        println!("  resident memory (VmRSS) grew by {:.2} KiB each", rss1.saturating_sub(rss0) as f64 / n);
        println!("  woken and finished in {:.2} µs each", release.elapsed().as_secs_f64() * 1e6 / n);
        println!("  worker threads that ran them: {}; tasks resumed on another worker than they started on: {moved}",
            workers_seen.len());
    });
}
// ANCHOR_END: tasks

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("threads") => return run_threads(std::env::args().nth(2).unwrap().parse().unwrap()),
        Some("tasks") => return run_tasks(TASKS),
        _ => {}
    }
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {cpus} CPUs, {} build", if cfg!(debug_assertions) { "debug" } else { "release" });
    let (budget, which) = thread_budget();
    let threads = if budget < THREADS as u64 {
        println!("this machine allows about {budget} more threads ({which}): starting that many instead of {THREADS}");
        budget as usize
    } else {
        THREADS
    };
    let me = std::env::current_exe().unwrap();
    println!();
    println!("{threads} kernel threads (std::thread, 1:1), {} KiB stacks, all waiting on one lock:", STACK / 1024);
    let out = Command::new(&me).args(["threads", &threads.to_string()]).output().unwrap();
    print!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!();
    println!("{TASKS} tokio tasks (M:N on a multi-thread runtime), all waiting on one lock:");
    let out = Command::new(&me).arg("tasks").output().unwrap();
    print!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
