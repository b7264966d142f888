//! The counting instruments a helper process hands to the graded functions,
//! and the process-wide counts the tests compare before and after a call.
//!
//! The counters live in one page of shared memory (`MAP_SHARED`), so a
//! forked child's unit body and CPU-set report reach the helper. Everything
//! a child may call (`unit_body`, `report_cpus`) is async-signal-safe: an
//! atomic add, `getpid`, `nanosleep`, `sched_getaffinity`.

use lab1::{Bench, Side};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::SeqCst};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

#[derive(Default)]
struct SideSlot {
    reports: AtomicU64,
    mismatches: AtomicU64,
    /// The first CPU set reported that was not the expected one.
    first_bad: AtomicU64,
}

#[derive(Default)]
struct Shared {
    started: AtomicU64,
    finished: AtomicU64,
    /// Every this-many-th unit body sleeps [`SLOW_BODY`] (0: none does).
    slow_every: AtomicU64,
    /// The CPU set each side must report (bit i: CPU i).
    expected_cpus: AtomicU64,
    sides: [SideSlot; 2],
}

/// How long the last unit of a sample takes: long enough that a unit left
/// unjoined is still running when the clock is read just after.
pub const SLOW_BODY: Duration = Duration::from_millis(200);

static SHARED: OnceLock<&'static Shared> = OnceLock::new();
static HELPER_PID: AtomicI32 = AtomicI32::new(0);
static READINGS: Mutex<Vec<Reading>> = Mutex::new(Vec::new());

fn shared() -> &'static Shared {
    SHARED.get().expect("instruments::init not called")
}

/// Maps the shared page. Called once, first thing in the helper process.
pub fn init() {
    // SAFETY: a fresh anonymous mapping of one page, never unmapped; all
    // zeroes is a valid `Shared` (atomics at 0).
    let page = unsafe {
        libc::mmap(std::ptr::null_mut(), 4096, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED | libc::MAP_ANONYMOUS, -1, 0)
    };
    assert_ne!(page, libc::MAP_FAILED, "mmap of the shared counters failed");
    assert!(std::mem::size_of::<Shared>() <= 4096);
    let _ = SHARED.set(unsafe { &*(page as *const Shared) });
    HELPER_PID.store(unsafe { libc::getpid() }, SeqCst);
}

fn in_helper() -> bool {
    let me = unsafe { libc::getpid() };
    me == HELPER_PID.load(SeqCst)
}

/// Child processes of the helper, seen without reaping them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Children {
    None,
    /// At least one, none exited yet.
    Running,
    /// At least one exited and not reaped: a zombie.
    Zombie,
}

pub fn children() -> Children {
    // SAFETY: waitid with WNOWAIT only looks; `info` is zeroed first, so a
    // si_pid of 0 means "children, but none has exited".
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::waitid(libc::P_ALL, 0, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT) };
    if rc != 0 {
        return Children::None; // ECHILD
    }
    match unsafe { info.si_pid() } {
        0 => Children::Running,
        _ => Children::Zombie,
    }
}

/// What the counting clock saw at one reading.
#[derive(Clone, Copy, Debug)]
pub struct Reading {
    pub children: Children,
    pub started: u64,
    pub finished: u64,
    pub threads: usize,
}

fn counting_clock() -> Instant {
    if in_helper() {
        let s = shared();
        let reading = Reading { children: children(), started: s.started.load(SeqCst), finished: s.finished.load(SeqCst), threads: threads() };
        READINGS.lock().unwrap_or_else(|e| e.into_inner()).push(reading);
    }
    Instant::now()
}

fn counting_body() {
    let s = shared();
    let n = s.started.fetch_add(1, SeqCst) + 1;
    let every = s.slow_every.load(SeqCst);
    if every > 0 && n % every == 0 {
        std::thread::sleep(SLOW_BODY); // nanosleep: fine in a forked child
    }
    s.finished.fetch_add(1, SeqCst);
}

fn cpu_mask_of_this_thread() -> u64 {
    // SAFETY: a zeroed cpu_set_t of the right size, filled by the kernel.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return 0;
    }
    (0..64).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).fold(0, |m, c| m | 1 << c)
}

fn counting_report(side: Side) {
    let s = shared();
    let slot = &s.sides[side as usize];
    let mask = cpu_mask_of_this_thread();
    if mask != s.expected_cpus.load(SeqCst) {
        let _ = slot.first_bad.compare_exchange(0, mask, SeqCst, SeqCst);
        slot.mismatches.fetch_add(1, SeqCst);
    }
    slot.reports.fetch_add(1, SeqCst);
}

/// Counting instruments; every `slow_every`-th unit body is slow (0: none).
pub fn bench(iters: u64, repeats: usize, slow_every: u64) -> Bench {
    shared().slow_every.store(slow_every, SeqCst);
    Bench { iters, repeats, clock: counting_clock, unit_body: counting_body, report_cpus: counting_report }
}

/// Readings of the clock so far (and forgets them).
pub fn take_readings() -> Vec<Reading> {
    std::mem::take(&mut *READINGS.lock().unwrap_or_else(|e| e.into_inner()))
}

pub fn expect_cpus(mask: u64) {
    shared().expected_cpus.store(mask, SeqCst);
}

/// (reports, mismatching reports, first mismatching mask) for one side.
pub fn reports(side: Side) -> (u64, u64, u64) {
    let slot = &shared().sides[side as usize];
    (slot.reports.load(SeqCst), slot.mismatches.load(SeqCst), slot.first_bad.load(SeqCst))
}

pub fn this_thread_cpus() -> u64 {
    cpu_mask_of_this_thread()
}

pub fn show_cpus(mask: u64) -> String {
    let cpus: Vec<String> = (0..64).filter(|c| mask & 1 << c != 0).map(|c| c.to_string()).collect();
    format!("{{{}}}", cpus.join(","))
}

/// Threads of this process: the entries of /proc/self/task (the same count
/// as `Threads:` in /proc/self/status, but listed with getdents, not read,
/// so counting them does not add to the bytes [`io`] reports).
pub fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

/// Waits (up to 2 s) for the thread count to come back to `baseline`: a
/// joined thread may take a moment to leave the kernel's count.
pub fn threads_settle(baseline: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let now = threads();
        if now <= baseline || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Open descriptors of this process.
pub fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

/// (bytes read, bytes written) by the calling thread's read/write calls so
/// far (/proc/thread-self/io: this thread alone, not the process, whose
/// count also takes in its other threads and its reaped children).
pub fn io() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/thread-self/io").unwrap_or_default();
    let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    (field("rchar:"), field("wchar:"))
}

/// Context switches (voluntary + involuntary) of this process's threads
/// and of its reaped children, so far.
pub fn switches() -> (i64, i64) {
    let get = |who| {
        // SAFETY: a zeroed rusage filled by the kernel.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(who, &mut ru) };
        (ru.ru_nvcsw + ru.ru_nivcsw) as i64
    };
    (get(libc::RUSAGE_SELF), get(libc::RUSAGE_CHILDREN))
}
