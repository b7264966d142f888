//! Three threads of one process report what they see: the same process id
//! and the same addresses for a static and a heap value, but their own
//! thread id and their own stack.
use nix::unistd::{getpid, gettid};
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Barrier};
use std::thread;

// ANCHOR: report
/// A value in the data segment: one copy per process.
static GREETING: &str = "hello";

/// What one thread saw, sent back to `main` so the lines print in order.
struct Sighting {
    name: String,
    pid: i32,
    tid: i32,
    static_at: usize,
    heap_at: usize,
    stack_at: usize,
}

fn look_around(name: &str, shared: &Arc<Vec<u64>>) -> Sighting {
    let local = 0u64; // lives on *this* thread's stack
    Sighting {
        name: name.to_string(),
        pid: getpid().as_raw(),
        tid: gettid().as_raw(),
        static_at: &GREETING as *const _ as usize,
        heap_at: shared.as_ptr() as usize,
        stack_at: &local as *const u64 as usize,
    }
}
// ANCHOR_END: report

fn main() {
    // ANCHOR: spawn
    let shared = Arc::new(vec![1u64, 2, 3]); // one heap allocation
    // All three threads wait here until everyone has arrived: they are then
    // alive at the same time, so the kernel cannot hand out a thread id twice.
    let meeting = Arc::new(Barrier::new(3));

    let workers: Vec<_> = ["worker-1", "worker-2"]
        .into_iter()
        .map(|name| {
            let (shared, meeting) = (Arc::clone(&shared), Arc::clone(&meeting));
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    let seen = look_around(name, &shared);
                    meeting.wait();
                    seen
                })
                .unwrap()
        })
        .collect();

    let mine = look_around("main", &shared);
    meeting.wait();
    let mut all = vec![mine];
    all.extend(workers.into_iter().map(|w| w.join().unwrap()));
    // ANCHOR_END: spawn

    // ANCHOR: print
    for s in &all {
        println!(
            "{:<8} pid {}  tid {}  static {:#x}  heap {:#x}  stack {:#x}",
            s.name, s.pid, s.tid, s.static_at, s.heap_at, s.stack_at
        );
    }
    let first = &all[0];
    let same = |f: fn(&Sighting) -> usize| all.iter().all(|s| f(s) == f(first));
    let distinct = |f: fn(&Sighting) -> usize| {
        let mut v: Vec<usize> = all.iter().map(f).collect();
        v.sort();
        v.dedup();
        v.len() == all.len()
    };
    println!();
    println!("same pid everywhere:        {}", same(|s| s.pid as usize));
    println!("a different tid per thread: {}", distinct(|s| s.tid as usize));
    println!("main's tid equals the pid:  {}", first.tid == first.pid);
    println!("same static address:        {}", same(|s| s.static_at));
    println!("same heap address:          {}", same(|s| s.heap_at));
    println!("a different stack each:     {}", distinct(|s| s.stack_at));
    let gap = all[1].stack_at.abs_diff(all[2].stack_at);
    println!("distance between the two workers' stacks: {} KiB", gap / 1024);
    // ANCHOR_END: print

    // ANCHOR: fds
    // Descriptors are shared too: a worker opens a file and hands back only
    // the bare number; main finds that number open in its own table.
    let fd: RawFd = thread::spawn(|| File::open("/dev/null").unwrap().into_raw_fd())
        .join()
        .unwrap();
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
    println!("fd {fd} opened by a worker, seen from main: {}", target.display());
    // SAFETY: `fd` came from `into_raw_fd` above and nothing else owns it;
    // wrapping it in an OwnedFd closes it exactly once, when dropped.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    assert_eq!(owned.as_raw_fd(), fd);
    // ANCHOR_END: fds
}
