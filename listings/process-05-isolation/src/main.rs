//! Isolation, shown twice. After fork, parent and child print the same
//! virtual address holding different values. Then two children crash (a
//! write to a read-only page, an abort) and the parent carries on, learning
//! from waitpid which signal ended each.
use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, getpid, ForkResult, Pid};
use std::io::Write;
use std::num::NonZeroUsize;

/// Something a child does that ends it.
type Crash = Box<dyn FnOnce()>;

/// Forks; the child runs `child` and then exits with status 0.
fn spawn(child: impl FnOnce()) -> Pid {
    // Nothing buffered may be inherited, or the child would print it again.
    std::io::stdout().flush().unwrap();
    // SAFETY: the process has one thread (main starts none), so the child is
    // a consistent copy of it and may run ordinary code, println included;
    // it then leaves through _exit, never by returning into main.
    match unsafe { fork() }.expect("fork failed") {
        ForkResult::Child => {
            child();
            std::io::stdout().flush().unwrap();
            // SAFETY: ends the child without running the parent's cleanup.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => child,
    }
}

fn main() {
    // ANCHOR: memory
    let mut balance = Box::new(100_u64); // on the heap, like most data
    let addr = &*balance as *const u64;
    println!("parent: pid {}, balance at {addr:p} = {balance}", getpid());

    let child = spawn(|| {
        *balance += 900; // the child writes through the same pointer...
        println!(
            "child:  pid {}, balance at {:p} = {balance}",
            getpid(),
            &*balance
        );
    });
    waitpid(child, None).expect("waitpid failed");
    // ...and the parent's value is untouched: same address, other memory.
    println!("parent: after the child exited, balance at {addr:p} = {balance}");
    // ANCHOR_END: memory

    // ANCHOR: crash
    // A page we may read but not write.
    let len = NonZeroUsize::new(4096).unwrap();
    // SAFETY: a fresh anonymous mapping, aliased by nothing.
    let read_only =
        unsafe { mmap_anonymous(None, len, ProtFlags::PROT_READ, MapFlags::MAP_PRIVATE) }
            .expect("mmap failed")
            .cast::<u8>();

    let crashers: [(&str, Crash); 2] = [
        // SAFETY (of the write): the pointer is valid and aligned; the page
        // is read-only, so the CPU refuses the write and the kernel sends SIGSEGV.
        (
            "writes to a read-only page",
            Box::new(move || unsafe { read_only.as_ptr().write_volatile(1) }),
        ),
        ("calls abort()", Box::new(|| std::process::abort())),
    ];
    for (what, crash) in crashers {
        let child = spawn(crash);
        match waitpid(child, None).expect("waitpid failed") {
            WaitStatus::Signaled(_, signal, _) => {
                println!("parent: the child that {what} was killed by {signal}")
            }
            other => println!("parent: the child that {what} ended with {other:?}"),
        }
    }
    println!(
        "parent: pid {} still running, balance = {balance}",
        getpid()
    );
    // ANCHOR_END: crash
}
