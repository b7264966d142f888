//! Something to look at: a process with three named worker threads, one
//! child made with fork and one made with Command, all staying alive for a
//! few seconds (`--seconds N` for longer). Every child is reaped, every
//! thread joined.
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, getpid, gettid, ForkResult};
use std::process::Command;
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// Seconds to stay alive: `--seconds N`, 3 by default, at most an hour.
fn seconds() -> u64 {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--seconds") {
        Some(i) => args.get(i + 1).and_then(|v| v.parse::<u64>().ok()).expect("--seconds needs a number").min(3600),
        None => 3,
    }
}

// ANCHOR: main
fn main() {
    // Started by the parent below as `observe-01-named --sleeper N`: the
    // Command child. It just sleeps, so that it can be seen.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--sleeper") {
        thread::sleep(Duration::from_secs(args[2].parse().unwrap()));
        return;
    }
    let secs = seconds();
    let until = Instant::now() + Duration::from_secs(secs);
    println!("parent: pid {} (staying {secs} s; look at it now)", getpid());

    // 1. A child made with fork, while this process still has one thread.
    // SAFETY: no other thread exists yet, so the child cannot inherit a lock
    // that some vanished thread held; and the child only calls nanosleep
    // (through libc::sleep) and _exit, both async-signal-safe.
    let forked = match unsafe { fork() }.expect("fork failed") {
        ForkResult::Child => unsafe {
            libc::sleep(secs as libc::c_uint);
            libc::_exit(0)
        },
        ForkResult::Parent { child } => child,
    };
    println!("fork child: pid {forked}");

    // 2. A child made with Command (the standard library picks the syscalls).
    let mut commanded = Command::new(std::env::current_exe().unwrap())
        .args(["--sleeper", &secs.to_string()])
        .spawn()
        .expect("could not start the Command child");
    println!("Command child: pid {}", commanded.id());

    // 3. Three named worker threads. Each reports its thread id, then
    // waits until the deadline. The barrier makes the report order fixed.
    let (tx, rx) = mpsc::channel();
    let all_started = Arc::new(Barrier::new(4));
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let (tx, all_started) = (tx.clone(), Arc::clone(&all_started));
            thread::Builder::new()
                .name(format!("obs-worker-{i}"))
                .spawn(move || {
                    tx.send((i, gettid())).unwrap();
                    all_started.wait();
                    thread::sleep(until.saturating_duration_since(Instant::now()));
                })
                .unwrap()
        })
        .collect();
    all_started.wait();
    let mut tids: Vec<_> = rx.try_iter().collect();
    tids.sort();
    for (i, tid) in tids {
        println!("thread obs-worker-{i}: tid {tid}");
    }
    println!("look with: ps -T -p <pid>, ls /proc/<pid>/task, grep -E 'Threads|ctxt' /proc/<pid>/status");

    // 4. Wait for everything: join the threads, reap both children.
    for w in workers {
        w.join().unwrap();
    }
    let status = commanded.wait().unwrap();
    println!("Command child reaped: {status}");
    match waitpid(forked, None).expect("waitpid failed") {
        WaitStatus::Exited(_, code) => println!("fork child reaped: exit status: {code}"),
        other => panic!("fork child ended badly: {other:?}"),
    }
}
// ANCHOR_END: main
