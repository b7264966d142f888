//! Is a switch between processes dearer than a switch between threads?
//! A token goes round a ring of k members on one CPU, k = 2..12: first k
//! threads of one process, then k processes, alternating, so both see the
//! same machine. Every hop is a switch; between processes it also changes
//! the address space (a CR3 write). x86 Linux keeps 6 address spaces per
//! CPU tagged in the TLB (TLB_NR_DYN_ASIDS): with more processes than
//! that in the ring, each switch may find its tag recycled and start with
//! an empty TLB. The "touching" variant makes that visible: each member
//! touches PAGES pages per hop, so a flushed TLB costs PAGES page walks.
//! Bounded: a few seconds; every child is reaped.
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::resource::{getrusage, UsageWho};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, read, write, ForkResult, Pid};
use std::hint::black_box;
use std::os::fd::OwnedFd;
use std::thread;
use std::time::Instant;

const PAGE: usize = 4096;
/// Pages each member writes to per hop in the "touching" variant: one
/// byte each, in a different cache line of each page so that the lines
/// spread over the L1 cache's sets. 12 members x 64 lines is 48 KiB of
/// cache but 768 pages of TLB.
const PAGES: usize = 64;
const HOPS_PER_BATCH: usize = 480; // about 1 to 3 ms per batch
const BATCHES: usize = 12;
const WARM_UP_LAPS: usize = 20;
/// Each ring is built this many times per kind, threads and processes
/// alternating, so that a burst of load hits both kinds alike (fewer in a
/// debug build, which is for trying the listing, not for its figures).
const ROUNDS: usize = if cfg!(debug_assertions) { 2 } else { 5 };

// ANCHOR: member
/// One member of the ring: wait for the token, touch its pages, pass the
/// token on, `laps` times. Only read, write and plain memory writes: it may
/// run in a freshly forked child.
fn member(rx: &OwnedFd, tx: &OwnedFd, pages: &mut [u8], laps: usize) -> bool {
    let mut token = [0u8; 1];
    for _ in 0..laps {
        if read(rx, &mut token) != Ok(1) {
            return false;
        }
        touch(pages);
        if write(tx, &token) != Ok(1) {
            return false;
        }
    }
    true
}

/// Writes one byte in each page (page p at cache line p % 64 of the page).
fn touch(pages: &mut [u8]) {
    for (p, page) in pages.chunks_exact_mut(PAGE).enumerate() {
        let at = (p * 64) % PAGE;
        page[at] = page[at].wrapping_add(1);
    }
    black_box(pages);
}
// ANCHOR_END: member

/// The measuring member (member 0): send the token round the ring and wait
/// for it, batch after batch. Returns µs per hop for each batch.
fn lead(rx: &OwnedFd, tx: &OwnedFd, pages: &mut [u8], k: usize) -> Vec<f64> {
    let laps = (HOPS_PER_BATCH / k).max(1);
    let mut token = [0u8; 1];
    let mut lap = |pages: &mut [u8]| {
        write(tx, &token).expect("write");
        read(rx, &mut token).expect("read");
        touch(pages);
    };
    for _ in 0..WARM_UP_LAPS {
        lap(pages);
    }
    (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..laps {
                lap(pages);
            }
            start.elapsed().as_secs_f64() * 1e6 / (laps * k) as f64
        })
        .collect()
}

/// Laps the other members run: the lead's warm-up and batches.
fn total_laps(k: usize) -> usize {
    WARM_UP_LAPS + BATCHES * (HOPS_PER_BATCH / k).max(1)
}

struct Run {
    fastest: f64,           // µs per hop, fastest batch
    switches_per_hop: f64,  // counted by the kernel, both kinds
}

fn switches(who: UsageWho) -> i64 {
    let u = getrusage(who).expect("getrusage");
    (u.voluntary_context_switches() + u.involuntary_context_switches()) as i64
}

fn buffers(k: usize, pages: usize) -> Vec<Vec<u8>> {
    (0..k).map(|_| vec![1u8; pages * PAGE]).collect()
}

fn finish(batches: Vec<f64>, switched: i64, k: usize) -> Run {
    let hops = (total_laps(k) * k) as f64;
    Run {
        fastest: batches.iter().copied().fold(f64::INFINITY, f64::min),
        switches_per_hop: switched as f64 / hops,
    }
}

// ANCHOR: rings
/// k threads of one process; pipe i leads to member i.
fn ring_of_threads(k: usize, pages: usize) -> Run {
    let pipes: Vec<(OwnedFd, OwnedFd)> = (0..k).map(|_| pipe().expect("pipe")).collect();
    let mut bufs = buffers(k, pages);
    let before = switches(UsageWho::RUSAGE_SELF); // every thread of the process
    let batches = thread::scope(|s| {
        let (first, others) = bufs.split_first_mut().unwrap();
        for (i, buf) in (1..k).zip(others) {
            let (rx, tx) = (&pipes[i].0, &pipes[(i + 1) % k].1);
            // A spawned thread inherits the spawning thread's CPU set.
            s.spawn(move || assert!(member(rx, tx, buf, total_laps(k)), "thread {i} lost the token"));
        }
        lead(&pipes[0].0, &pipes[1].1, first, k)
    });
    finish(batches, switches(UsageWho::RUSAGE_SELF) - before, k)
}

/// k processes: this one and k - 1 forked children.
fn ring_of_processes(k: usize, pages: usize) -> Run {
    let pipes: Vec<(OwnedFd, OwnedFd)> = (0..k).map(|_| pipe().expect("pipe")).collect();
    let mut bufs = buffers(k, pages);
    let before = switches(UsageWho::RUSAGE_SELF) + switches(UsageWho::RUSAGE_CHILDREN);
    let mut children = Vec::new();
    for i in 1..k {
        // SAFETY: this process has one thread here (every thread ring was
        // joined before its function returned), so no lock can be held by
        // a thread missing from the child. The child runs `member` (read,
        // write, writes to a buffer allocated before the fork) and _exit.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                let ok = member(&pipes[i].0, &pipes[(i + 1) % k].1, &mut bufs[i], total_laps(k));
                // SAFETY: leave without running the parent's destructors or
                // flushing stdio buffers the child inherited.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) }
            }
            ForkResult::Parent { child } => children.push(child),
        }
    }
    let batches = lead(&pipes[0].0, &pipes[1].1, &mut bufs[0], k);
    for child in children {
        assert_eq!(waitpid(child, None), Ok(WaitStatus::Exited(child, 0)), "a ring member failed");
    }
    // RUSAGE_CHILDREN counts the children once they have been reaped.
    let after = switches(UsageWho::RUSAGE_SELF) + switches(UsageWho::RUSAGE_CHILDREN);
    finish(batches, after - before, k)
}
// ANCHOR_END: rings

/// The fastest hop over ROUNDS rings of each kind, built alternately.
fn compare(k: usize, pages: usize) -> (Run, Run) {
    let (mut threads, mut processes) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        threads.push(ring_of_threads(k, pages));
        processes.push(ring_of_processes(k, pages));
    }
    let best = |runs: Vec<Run>| {
        let per_hop = runs.iter().map(|r| r.switches_per_hop).sum::<f64>() / runs.len() as f64;
        Run { fastest: runs.iter().map(|r| r.fastest).fold(f64::INFINITY, f64::min), switches_per_hop: per_hop }
    };
    (best(threads), best(processes))
}

/// The kernel's own summary of the Spectre v2 mitigation (IBPB on a
/// process switch shows here as "IBPB: always-on" or "IBPB: conditional").
fn spectre_v2() -> String {
    std::fs::read_to_string("/sys/devices/system/cpu/vulnerabilities/spectre_v2")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn cpu_flags() -> (String, bool, bool) {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info.lines().find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|(_, m)| m.trim().to_string()));
    let flags: Vec<String> = info.lines().find_map(|l| l.strip_prefix("flags")?.split_once(':').map(|(_, f)| f.split_whitespace().map(String::from).collect())).unwrap_or_default();
    let has = |f: &str| flags.iter().any(|x| x == f);
    (model.unwrap_or_else(|| "unknown CPU".into()), has("pcid"), has("invpcid"))
}

fn main() {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let (model, pcid, invpcid) = cpu_flags();
    println!("machine: {model}, Linux {}, {} build", kernel.trim(), if cfg!(debug_assertions) { "debug" } else { "release" });
    println!("cpu flags: pcid {}, invpcid {}", if pcid { "yes" } else { "no" }, if invpcid { "yes" } else { "no" });
    println!("spectre_v2: {}", spectre_v2());
    // Every member on one CPU: the first this program may use.
    let all = sched_getaffinity(Pid::from_raw(0)).expect("sched_getaffinity");
    let cpu = (0..CpuSet::count()).find(|&c| all.is_set(c).unwrap_or(false)).expect("no CPU allowed");
    let mut one = CpuSet::new();
    one.set(cpu).unwrap();
    sched_setaffinity(Pid::from_raw(0), &one).expect("sched_setaffinity");
    println!("every member pinned to CPU {cpu}; figures: fastest batch of {} (threads and processes alternating)", ROUNDS * BATCHES);
    println!();

    // ANCHOR: table
    for pages in [0, PAGES] {
        match pages {
            0 => println!("bare hop: read, write, switch"),
            _ => println!("touching: each member writes to {pages} of its own pages per hop"),
        }
        println!("   k   threads    processes   difference   switches per hop (threads, processes)");
        for k in 2..=12 {
            let (t, p) = compare(k, pages);
            let mark = if k == 7 { "   <- more processes than x86's 6 tagged address spaces" } else { "" };
            println!("  {k:>2}   {:>8}   {:>8}   {:>8}     {:.2}, {:.2}{mark}",
                format!("{:.2} µs", t.fastest), format!("{:.2} µs", p.fastest),
                format!("{:+.2} µs", p.fastest - t.fastest), t.switches_per_hop, p.switches_per_hop);
        }
        println!();
    }
    // ANCHOR_END: table
    println!("µs per hop: one write, one read and the switch to the next member.");
    sched_setaffinity(Pid::from_raw(0), &all).expect("cannot unpin");
}
