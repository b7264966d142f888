// Memory: how much more the machine holds for one more idle process,
// thread or task. Every function here is meant to run in a fresh, small,
// single-threaded process (the quick mode starts one per measurement), so
// that nothing else allocates or frees while it reads /proc.
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, read, write, ForkResult};
use std::sync::{Arc, Barrier};

/// A field of a `/proc` file in "Name:   1234 kB" form, in KiB.
pub fn proc_kib(file: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("cannot read {file}: {e}"));
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{file} has no field {field}"))
}

/// One named figure, in KiB per unit.
pub type Figures = Vec<(&'static str, f64)>;

// ANCHOR: threads
pub fn per_thread(n: usize) -> Figures {
    let rss0 = proc_kib("/proc/self/status", "VmRSS");
    let virt0 = proc_kib("/proc/self/status", "VmSize");
    let kstack0 = proc_kib("/proc/meminfo", "KernelStack");
    // Every thread waits twice: once to say "I am running", once to be let go.
    let started = Arc::new(Barrier::new(n + 1));
    let release = Arc::new(Barrier::new(n + 1));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (started, release) = (Arc::clone(&started), Arc::clone(&release));
            std::thread::spawn(move || {
                started.wait();
                release.wait();
            })
        })
        .collect();
    started.wait(); // all n threads exist and are parked
    let rss = proc_kib("/proc/self/status", "VmRSS") - rss0;
    let virt = proc_kib("/proc/self/status", "VmSize") - virt0;
    let kstack = proc_kib("/proc/meminfo", "KernelStack").saturating_sub(kstack0);
    release.wait();
    handles.into_iter().for_each(|h| h.join().expect("thread panicked"));
    let per = |kib: u64| kib as f64 / n as f64;
    vec![("resident (VmRSS growth)", per(rss)), ("kernel stack (KernelStack growth, system-wide)", per(kstack)), ("address space reserved (VmSize growth)", per(virt))]
}
// ANCHOR_END: threads

// ANCHOR: processes
pub fn per_process(n: usize) -> Figures {
    let (ready_r, ready_w) = pipe().expect("pipe");
    let (release_r, release_w) = pipe().expect("pipe");
    let kstack0 = proc_kib("/proc/meminfo", "KernelStack");
    let mut children = Vec::with_capacity(n);
    for _ in 0..n {
        // SAFETY: this function runs in a single-threaded probe process, and
        // the child only closes descriptors, reads and writes a pipe, and
        // calls `_exit`.
        match unsafe { fork() }.expect("fork failed") {
            ForkResult::Child => {
                drop(release_w); // else the child would keep its own pipe open
                let _ = write(&ready_w, b"r");
                let mut b = [0u8; 1];
                let _ = read(&release_r, &mut b); // returns 0 (EOF) when the parent closes
                unsafe { libc::_exit(0) }
            }
            ForkResult::Parent { child } => children.push(child),
        }
    }
    let mut got = [0u8; 1];
    for _ in 0..n {
        assert_eq!(read(&ready_r, &mut got), Ok(1), "a child died before it was ready");
    }
    let kstack = proc_kib("/proc/meminfo", "KernelStack").saturating_sub(kstack0);
    let (mut private, mut pte, mut rss) = (0, 0, 0);
    for &c in &children {
        let rollup = format!("/proc/{c}/smaps_rollup");
        private += proc_kib(&rollup, "Private_Clean") + proc_kib(&rollup, "Private_Dirty");
        rss += proc_kib(&rollup, "Rss");
        pte += proc_kib(&format!("/proc/{c}/status"), "VmPTE");
    }
    drop(release_w); // every child's read returns 0 and it exits
    for c in children {
        assert_eq!(waitpid(c, None), Ok(WaitStatus::Exited(c, 0)), "child {c} did not exit cleanly");
    }
    let per = |kib: u64| kib as f64 / n as f64;
    vec![
        ("private pages (copied on write)", per(private)),
        ("page tables (VmPTE)", per(pte)),
        ("kernel stack (KernelStack growth, system-wide)", per(kstack)),
        ("RSS each child reports (mostly shared)", per(rss)),
    ]
}
// ANCHOR_END: processes

// ANCHOR: tasks
pub fn per_task(n: usize) -> Figures {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let rss0 = proc_kib("/proc/self/status", "VmRSS");
    let rss = rt.block_on(async {
        let mut senders = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            senders.push(tx);
            handles.push(tokio::spawn(async move {
                let _ = rx.await;
            }));
        }
        tokio::task::yield_now().await; // every task has now been polled once and is parked
        let rss = proc_kib("/proc/self/status", "VmRSS") - rss0;
        for tx in senders {
            let _ = tx.send(());
        }
        for h in handles {
            h.await.expect("task panicked");
        }
        rss
    });
    // The senders and handles vectors are part of the cost a program pays
    // to keep track of its tasks; they are counted in `rss` on purpose.
    vec![("resident (VmRSS growth)", rss as f64 / n as f64)]
}
// ANCHOR_END: tasks
