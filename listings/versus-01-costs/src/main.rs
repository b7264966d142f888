//! Threads vs processes on this machine: what it costs to create one, to
//! switch between two, and how much memory one more of them takes.
//! Bounded: fixed counts, every child reaped, a few seconds in all.
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, read, write, ForkResult, Pid};
use std::os::fd::OwnedFd;
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const CREATE: u32 = 300; // threads / processes created one after another
const ROUND_TRIPS: u32 = 20_000; // ping-pong messages for the switch cost
const BATCHES: u32 = 5; // of ROUND_TRIPS, alternating threads and processes
const PARKED: usize = 50; // idle threads / processes for the memory figure

fn micros(d: Duration, n: u32) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

/// One field of /proc/<pid>/status or smaps_rollup ("VmRSS:  1234 kB"), in KiB.
fn proc_kib(file: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Forks a child that runs `child` and then `_exit`s. The caller reaps it.
fn spawn_process(child: impl FnOnce()) -> Pid {
    // SAFETY: when this is called the process has a single thread (every
    // thread this program starts is joined before any fork), so the child
    // cannot inherit a lock held by a thread that no longer exists. The
    // child closures only call read/write/_exit, all async-signal-safe.
    match unsafe { fork() }.expect("fork failed") {
        ForkResult::Child => {
            child();
            // SAFETY: _exit ends the child without running the parent's
            // destructors or flushing buffers it inherited.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => child,
    }
}

fn reap(pid: Pid) {
    match waitpid(pid, None).expect("waitpid failed") {
        WaitStatus::Exited(_, 0) => {}
        other => panic!("child {pid} ended badly: {other:?}"),
    }
}

// ANCHOR: create
/// Median time of `n` runs of `f`, in µs: a few runs disturbed by the rest
/// of the machine move the mean a lot, the median hardly at all.
fn median_us(n: u32, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    micros(times[times.len() / 2], 1)
}

fn create_costs() -> (f64, f64, f64) {
    // fork, the child exits at once, the parent waits for it. Measured before
    // any thread is started: see main.
    let fork_us = median_us(CREATE, || reap(spawn_process(|| {})));
    let exec_us = median_us(CREATE / 3, || {
        let status = Command::new("/bin/true").status().expect("no /bin/true");
        assert!(status.success());
    });
    let thread_us = median_us(CREATE, || thread::spawn(|| {}).join().unwrap());
    (thread_us, fork_us, exec_us)
}
// ANCHOR_END: create

// ANCHOR: pingpong
/// Bounces one byte back and forth over two pipes. Each side blocks in read
/// until the other writes, so on one CPU every hop is a context switch.
fn bounce(rx: &OwnedFd, tx: &OwnedFd, serve_first: bool) {
    let mut b = [0u8; 1];
    for _ in 0..ROUND_TRIPS {
        if serve_first {
            read(rx, &mut b).unwrap();
            write(tx, &b).unwrap();
        } else {
            write(tx, &b).unwrap();
            read(rx, &mut b).unwrap();
        }
    }
}

/// Microseconds per switch between two threads and between two processes.
/// The two take turns, BATCHES times, and each keeps its best batch: another
/// program running on CPU 0 can only make a batch slower, never faster.
fn switch_costs() -> (f64, f64) {
    let (a_rx, a_tx) = pipe().unwrap();
    let (b_rx, b_tx) = pipe().unwrap();
    let (mut threads, mut processes) = (f64::MAX, f64::MAX);
    for _ in 0..BATCHES {
        let start = Instant::now();
        thread::scope(|s| {
            s.spawn(|| bounce(&a_rx, &b_tx, true));
            bounce(&b_rx, &a_tx, false);
        });
        threads = threads.min(micros(start.elapsed(), 2 * ROUND_TRIPS));

        let start = Instant::now();
        let child = spawn_process(|| bounce(&a_rx, &b_tx, true));
        bounce(&b_rx, &a_tx, false);
        reap(child);
        processes = processes.min(micros(start.elapsed(), 2 * ROUND_TRIPS));
    }
    (threads, processes)
}
// ANCHOR_END: pingpong

// ANCHOR: memory
/// KiB per idle thread: growth of this process's resident set, and of the
/// kernel's stacks (one per thread; system-wide, so other programs add noise).
fn memory_per_thread() -> (f64, f64) {
    let before = proc_kib("/proc/self/status", "VmRSS:");
    let kstack_before = proc_kib("/proc/meminfo", "KernelStack:");
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let done_rx = std::sync::Arc::new(std::sync::Mutex::new(done_rx));
    let (ready_tx, ready_rx) = mpsc::channel();
    let parked: Vec<_> = (0..PARKED)
        .map(|_| {
            let (done, ready) = (done_rx.clone(), ready_tx.clone());
            thread::spawn(move || {
                ready.send(()).unwrap();
                let _ = done.lock().unwrap().recv(); // wait until main hangs up
            })
        })
        .collect();
    for _ in 0..PARKED {
        ready_rx.recv().unwrap(); // every thread is up and has touched its stack
    }
    let after = proc_kib("/proc/self/status", "VmRSS:");
    let kstack_after = proc_kib("/proc/meminfo", "KernelStack:");
    drop(done_tx); // recv returns Err in every thread
    for t in parked {
        t.join().unwrap();
    }
    let per = |a: u64, b: u64| a.saturating_sub(b) as f64 / PARKED as f64;
    (per(after, before), per(kstack_after, kstack_before))
}

/// KiB per idle child: its private pages (pages it no longer shares with
/// this parent, because one side wrote to them after the fork) and its page
/// tables, read from /proc/<pid>. main calls it before starting any thread.
fn memory_per_process() -> (f64, f64) {
    let (rx, tx) = pipe().unwrap();
    let children: Vec<Pid> = (0..PARKED)
        .map(|_| {
            spawn_process(|| {
                let mut b = [0u8; 1];
                let _ = read(&rx, &mut b); // blocks until the parent writes
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(100)); // let every child reach read()
    let (mut private, mut tables) = (0, 0);
    for pid in &children {
        let rollup = format!("/proc/{pid}/smaps_rollup");
        private += proc_kib(&rollup, "Private_Clean:") + proc_kib(&rollup, "Private_Dirty:");
        tables += proc_kib(&format!("/proc/{pid}/status"), "VmPTE:");
    }
    // One byte per child: each read returns, each child exits. (Closing tx
    // would not do: every child inherited a copy of the write end too.)
    write(&tx, &[0u8; PARKED]).unwrap();
    children.into_iter().for_each(reap);
    (private as f64 / PARKED as f64, tables as f64 / PARKED as f64)
}
// ANCHOR_END: memory

fn main() {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {cpus} CPUs, {} build", if cfg!(debug_assertions) { "debug" } else { "release" });

    // The process figures come first, while this process has one thread and
    // has never started another: a thread leaves touched memory behind when
    // it ends (glibc keeps its stack for reuse, and its malloc arena stays),
    // and every child forked later gets page tables for all of it.
    let (per_process, page_tables) = memory_per_process();
    let (thread_us, fork_us, exec_us) = create_costs();
    println!();
    println!("create and wait for one (median of {CREATE} in a row)");
    println!("  thread   spawn + join:                 {thread_us:8.1} µs");
    println!("  process  fork + _exit + waitpid:       {fork_us:8.1} µs  ({:.1}x a thread)", fork_us / thread_us);
    println!("  process  Command::new(\"/bin/true\"):   {exec_us:8.1} µs  ({:.1}x a thread)", exec_us / thread_us);

    // Pin everything to CPU 0 so that each hop of the ping-pong is a real
    // switch on one CPU, not a wake-up of another CPU. Restore afterwards.
    let original = sched_getaffinity(Pid::from_raw(0)).unwrap();
    let mut cpu0 = CpuSet::new();
    cpu0.set(0).unwrap();
    sched_setaffinity(Pid::from_raw(0), &cpu0).unwrap();
    let (thread_sw, process_sw) = switch_costs();
    sched_setaffinity(Pid::from_raw(0), &original).unwrap();
    println!();
    println!("context switch, both sides pinned to CPU 0 (best of {BATCHES} x {ROUND_TRIPS} round trips over pipes)");
    println!("  thread  -> thread:                     {thread_sw:8.2} µs");
    println!("  process -> process:                    {process_sw:8.2} µs");

    let (per_thread, kstack) = memory_per_thread();
    println!();
    println!("memory for one more idle unit ({PARKED} of each)");
    println!("  thread   growth of the process's RSS:  {per_thread:8.1} KiB");
    println!("           + kernel stack (system-wide): {kstack:8.1} KiB");
    println!("  process  private pages of the child:   {per_process:8.1} KiB");
    println!("           + its own page tables:        {page_tables:8.1} KiB");
}
