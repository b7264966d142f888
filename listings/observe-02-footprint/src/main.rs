//! What one more waiting unit costs, read from /proc: 5,000 threads blocked
//! on a barrier, then 100,000 tokio tasks waiting on a timer, in the same
//! process one after the other. Bounded: a second or two in all.
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// One "Name:   1234 kB" field of a /proc file, in KiB.
fn kib(file: &str, field: &str) -> f64 {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn rss() -> f64 {
    kib("/proc/self/status", "VmRSS:")
}

// ANCHOR: threads
const THREADS: usize = 5_000;
const TASKS: usize = 100_000;

fn threads() {
    let (rss0, kstack0) = (rss(), kib("/proc/meminfo", "KernelStack:"));
    let start = Instant::now();
    let release = Arc::new(Barrier::new(THREADS + 1));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let release = Arc::clone(&release);
            // Default 2 MiB stacks: reserved address space, but only the
            // pages a thread touches count in RSS.
            thread::Builder::new()
                .spawn(move || { release.wait(); })
                .expect("could not start a thread (ulimit -u?)")
        })
        .collect();
    let created = start.elapsed();
    let (rss1, kstack1) = (rss(), kib("/proc/meminfo", "KernelStack:"));
    release.wait();
    handles.into_iter().for_each(|h| h.join().unwrap());
    println!("{THREADS} waiting threads:");
    println!("  created in           {:8.2} µs each", created.as_secs_f64() * 1e6 / THREADS as f64);
    println!("  process RSS grew by  {:8.2} KiB each", (rss1 - rss0) / THREADS as f64);
    println!("  kernel stacks grew   {:8.2} KiB each (machine-wide counter)", (kstack1 - kstack0) / THREADS as f64);
}
// ANCHOR_END: threads

// ANCHOR: tasks
fn tasks() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    runtime.block_on(async {
        let rss0 = rss();
        let start = Instant::now();
        let handles: Vec<_> = (0..TASKS)
            .map(|_| tokio::spawn(tokio::time::sleep(Duration::from_millis(300))))
            .collect();
        let created = start.elapsed();
        tokio::task::yield_now().await; // let every task run once and park on its timer
        let rss1 = rss();
        for h in handles {
            h.await.unwrap();
        }
        println!("{TASKS} waiting tokio tasks (one thread):");
        println!("  created in           {:8.2} µs each", created.as_secs_f64() * 1e6 / TASKS as f64);
        println!("  process RSS grew by  {:8.2} KiB each", (rss1 - rss0) / TASKS as f64);
    });
}

fn main() {
    println!("{} CPUs, {} build", thread::available_parallelism().map_or(1, |n| n.get()),
        if cfg!(debug_assertions) { "debug" } else { "release" });
    threads();
    tasks();
}
// ANCHOR_END: tasks
