// Creation: every function here creates `iters` units of one kind, waits
// for each to finish, and returns the time the whole loop took. The caller
// divides by `iters`. Anything that must not be measured (building C
// strings, a runtime, a pool) is done before the clock starts.
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use std::ffi::CString;
use std::process::Command;
use std::time::{Duration, Instant};

/// Waits for `child` and insists it exited with status 0: a benchmark that
/// times a failed exec would report a number for the wrong thing.
pub fn reap_ok(child: Pid, what: &str) {
    match waitpid(child, None) {
        Ok(WaitStatus::Exited(_, 0)) => {}
        other => panic!("{what}: the child did not exit with status 0 ({other:?}), so the figure would time a failure"),
    }
}

// ANCHOR: fork_exit_wait
pub fn fork_exit_wait(iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        // SAFETY: the child calls `_exit` and nothing else. `_exit` is
        // async-signal-safe, so it takes no lock that another thread of the
        // parent could have been holding at the moment of the fork.
        match unsafe { fork() }.expect("fork failed") {
            ForkResult::Child => unsafe { libc::_exit(0) },
            ForkResult::Parent { child } => reap_ok(child, "fork + _exit"),
        }
    }
    start.elapsed()
}
// ANCHOR_END: fork_exit_wait

// ANCHOR: fork_exec_wait
pub fn fork_exec_wait(program: &str, iters: u64) -> Duration {
    // Everything the child touches is built before the fork: after a fork
    // in a multi-threaded process the child may not allocate.
    let path = CString::new(program).expect("no NUL in the path");
    let argv = [path.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null::<libc::c_char>()];
    let start = Instant::now();
    for _ in 0..iters {
        // SAFETY: between fork and exec the child calls only `execve` and
        // `_exit`, both async-signal-safe, on memory prepared before the fork.
        match unsafe { fork() }.expect("fork failed") {
            ForkResult::Child => unsafe {
                libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
                libc::_exit(127) // only reached when exec failed
            },
            ForkResult::Parent { child } => reap_ok(child, program),
        }
    }
    start.elapsed()
}
// ANCHOR_END: fork_exec_wait

pub fn command_status(program: &str, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let status = Command::new(program).status().expect("Command::status failed");
        assert!(status.success(), "{program} failed ({status}): the figure would time a failure");
    }
    start.elapsed()
}

pub fn posix_spawn_wait(program: &str, iters: u64) -> Duration {
    use nix::spawn::{posix_spawn, PosixSpawnAttr, PosixSpawnFileActions};
    let path = CString::new(program).expect("no NUL in the path");
    let args = [path.clone()];
    let env: [CString; 0] = [];
    let actions = PosixSpawnFileActions::init().expect("posix_spawn_file_actions_init");
    let attr = PosixSpawnAttr::init().expect("posix_spawnattr_init");
    let start = Instant::now();
    for _ in 0..iters {
        let child = posix_spawn(path.as_c_str(), &actions, &attr, &args, &env).expect("posix_spawn failed");
        reap_ok(child, program);
    }
    start.elapsed()
}

// ANCHOR: threads
pub fn thread_spawn_join(iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        std::thread::spawn(|| {}).join().expect("the empty thread panicked");
    }
    start.elapsed()
}

pub fn thread_scope(iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        std::thread::scope(|s| {
            s.spawn(|| {});
        });
    }
    start.elapsed()
}
// ANCHOR_END: threads

// ANCHOR: tasks
/// The runtime is built by the caller, outside the timed region. The loop
/// runs inside a task, so on a multi-thread runtime each `spawn` lands in
/// this worker's own queue, as it would in a server.
pub fn task_spawn_await(rt: &tokio::runtime::Runtime, iters: u64) -> Duration {
    rt.block_on(async move {
        tokio::spawn(async move {
            let start = Instant::now();
            for _ in 0..iters {
                tokio::spawn(async {}).await.expect("the empty task panicked");
            }
            start.elapsed()
        })
        .await
        .expect("the timing task panicked")
    })
}
// ANCHOR_END: tasks

/// The runtimes the task figures use.
pub fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

pub fn multi_thread_runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().expect("tokio runtime")
}
