//! What fork costs as the parent's memory grows. The parent touches 0 MiB,
//! 64 MiB, 256 MiB, then 1 GiB of heap, and at each size times: fork alone,
//! fork + _exit + waitpid, a child that writes every touched page (paying
//! for the copy-on-write copies), and Command's two ways of starting
//! /bin/true. Bounded: fixed sizes and repetitions, every child reaped.
use nix::sys::mman::{madvise, MmapAdvise};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;
const SIZES: [usize; 4] = [0, 64 * MIB, 256 * MIB, 1024 * MIB];
const PAGE: usize = 4096;
const REPS: usize = 15; // per size and method; the median is printed
const COW_REPS: usize = 1; // the copying child takes seconds at 1 GiB: one run

/// A field of a /proc file such as /proc/self/status, as a number
/// ("VmPTE:  2060 kB" gives 2060).
fn proc_field(file: &str, field: &str) -> usize {
    let text = std::fs::read_to_string(file).unwrap();
    let line = text.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn status_kib(field: &str) -> usize {
    proc_field("/proc/self/status", field)
}

/// Asks the kernel to back `heap` with 4 KiB pages only. With transparent
/// huge pages, one 2 MiB page needs one entry instead of 512, and the
/// figures would depend on the machine's THP setting rather than on fork.
fn refuse_huge_pages(heap: &mut Vec<u8>) {
    let start = heap.as_mut_ptr();
    let skip = start.align_offset(PAGE); // madvise wants a page-aligned start
    let len = (heap.capacity() - skip) / PAGE * PAGE;
    let Some(aligned) = std::ptr::NonNull::new(start.wrapping_add(skip)) else {
        return;
    };
    // SAFETY: the range lies inside the Vec's allocation; the advice changes
    // how the kernel backs it, not its contents. It fails harmlessly
    // (EINVAL) on kernels built without transparent huge pages.
    let _ = unsafe { madvise(aligned.cast(), len, MmapAdvise::MADV_NOHUGEPAGE) };
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

// ANCHOR: fork
/// Forks a child that (optionally) writes one byte in each of the first
/// `dirty` bytes' pages of `heap`, then `_exit`s. Returns how long the
/// parent's fork() call took and how long until the child was reaped.
fn fork_once(heap: *mut u8, dirty: usize) -> (Duration, Duration) {
    let start = Instant::now();
    // SAFETY: the process is single-threaded (checked in main before any
    // fork), so the child starts from a consistent copy of every lock. The
    // child only writes to memory it owns (its copy of `heap`) and calls
    // _exit, which runs no destructors and flushes nothing.
    match unsafe { fork() }.expect("fork failed") {
        ForkResult::Child => {
            for offset in (0..dirty).step_by(PAGE) {
                // Each first write to a shared page faults and copies it.
                // SAFETY: offset < dirty <= the buffer's length.
                unsafe { heap.add(offset).write_volatile(2) };
            }
            // SAFETY: ends the child at once; see above.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            let forked = start.elapsed();
            match waitpid(child, None).expect("waitpid failed") {
                WaitStatus::Exited(_, 0) => {}
                other => panic!("child {child} ended badly: {other:?}"),
            }
            (forked, start.elapsed())
        }
    }
}

/// Writes one byte in each page of `heap[from..to]`: from now on each of
/// those pages is backed by RAM and has a page-table entry.
fn touch(heap: &mut Vec<u8>, from: usize, to: usize) {
    for page in heap.spare_capacity_mut()[from..to].chunks_mut(PAGE) {
        page[0].write(1);
    }
}
// ANCHOR_END: fork

fn time_command(reps: usize, force_fork: bool) -> Duration {
    let runs = (0..reps)
        .map(|_| {
            let mut cmd = Command::new("/bin/true");
            if force_fork {
                // SAFETY: an empty closure: nothing unsafe runs in the child.
                unsafe { cmd.pre_exec(|| Ok(())) };
            }
            let start = Instant::now();
            assert!(cmd.status().expect("cannot run /bin/true").success());
            start.elapsed()
        })
        .collect();
    median(runs)
}

fn main() {
    let threads = status_kib("Threads:");
    assert_eq!(
        threads, 1,
        "this measurement forks: it must stay single-threaded"
    );
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{cpus} CPUs, {} build, 4 KiB pages (huge pages refused), median of {REPS} runs ({COW_REPS} of the copying child)",
        if cfg!(debug_assertions) { "debug" } else { "release" },
    );

    // Reserve 1 GiB of address space once. malloc hands a block this big
    // straight to mmap, which maps it without backing it by any RAM yet.
    let mut heap: Vec<u8> = Vec::with_capacity(*SIZES.last().unwrap());
    refuse_huge_pages(&mut heap);
    let mut touched = 0;

    println!();
    println!("  touched | page tables   touched/512 |  fork()  fork+exit+wait  child writes all | Command  Command+pre_exec");
    for size in SIZES {
        // This step needs the pages still to touch, plus a full copy of all
        // of them for the child that writes every page. Stop before a size
        // that would push the machine into swap or the OOM killer.
        let needed = (size - touched) + size + 64 * MIB;
        let available = proc_field("/proc/meminfo", "MemAvailable:") * 1024;
        if needed > available {
            println!(
                "{:>5} MiB | skipped: needs {} MiB, MemAvailable is {} MiB",
                size / MIB,
                needed / MIB,
                available / MIB
            );
            break;
        }
        touch(&mut heap, touched, size);
        touched = size;
        let pte_kib = status_kib("VmPTE:");

        let (forks, rounds): (Vec<_>, Vec<_>) =
            (0..REPS).map(|_| fork_once(heap.as_mut_ptr(), 0)).unzip();
        let cow = median(
            (0..COW_REPS)
                .map(|_| fork_once(heap.as_mut_ptr(), touched).1)
                .collect(),
        );
        let spawn = time_command(REPS, false);
        let fork_exec = time_command(REPS, true);
        println!(
            "{:>5} MiB | {:>7} KiB  {:>7} KiB | {:>10} {:>10} {:>16} | {:>10} {:>10}",
            size / MIB,
            pte_kib,
            size / 512 / 1024,
            ms(median(forks)),
            ms(median(rounds)),
            ms(cow),
            ms(spawn),
            ms(fork_exec),
        );
    }
    drop(heap);
}
