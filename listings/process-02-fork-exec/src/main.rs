//! fork, then exec, then wait: the three calls behind every process a Unix
//! shell starts. The child first replaces itself with `sh` (which proves it
//! kept its pid), then a second child tries a program that does not exist.
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{execvp, fork, getpid, getppid, ForkResult, Pid};
use std::ffi::CString;
use std::io::Write;

/// fork is only simple in a process with one thread; check it, don't assume it.
fn threads_in_this_process() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Threads:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

// ANCHOR: spawn
/// Forks a child that execs `argv`. Returns the child's pid to the parent;
/// never returns in the child.
fn fork_exec(argv: &[&str]) -> Pid {
    // Everything the child needs is allocated *before* the fork: after it,
    // the child should only make system calls (see SAFETY below).
    let args: Vec<CString> = argv.iter().map(|a| CString::new(*a).unwrap()).collect();
    // Anything still buffered in stdout would be duplicated into the child
    // and printed twice. Rust's stdout flushes at every newline, but be sure.
    std::io::stdout().flush().unwrap();
    assert_eq!(
        threads_in_this_process(),
        1,
        "fork_exec must be called before any thread is started"
    );

    // SAFETY: this process has exactly one thread (checked just above), so no
    // lock (malloc's, stdout's) can be held by a thread that will not exist
    // in the child. Even so, the child only calls execvp and, if that fails,
    // write and _exit: all async-signal-safe, the rule that matters once a
    // process has several threads.
    match unsafe { fork() }.expect("fork failed") {
        ForkResult::Parent { child } => child,
        ForkResult::Child => {
            // execvp searches $PATH and, on success, never returns: this
            // process's code, heap and stack are replaced by the new program.
            let err = execvp(&args[0], &args).unwrap_err();
            // Report without allocating: desc() is a &'static str.
            for part in ["child:  exec failed: ", err.desc(), "\n"] {
                let _ = nix::unistd::write(std::io::stderr(), part.as_bytes());
            }
            // SAFETY: _exit ends the child at once, without running the
            // parent's atexit handlers or flushing buffers it inherited.
            unsafe { libc::_exit(127) } // 127: the shell's "command not found"
        }
    }
}
// ANCHOR_END: spawn

// ANCHOR: main
fn report(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(pid, code) => format!("child pid {pid} exited with code {code}"),
        WaitStatus::Signaled(pid, sig, _) => format!("child pid {pid} was killed by {sig}"),
        other => format!("{other:?}"),
    }
}

fn main() {
    println!("parent: pid {}, ppid {}", getpid(), getppid());

    // sh prints its own pid ($$) and its parent's: the same numbers fork made.
    let script = "echo \"sh:     pid $$, ppid $PPID, I am /bin/sh now\"; exit 3";
    let child = fork_exec(&["sh", "-c", script]);
    // Wait first, print after: the two processes' output never interleaves.
    let status = waitpid(child, None).expect("waitpid failed");
    println!(
        "parent: fork gave me pid {child}; waitpid: {}",
        report(status)
    );

    let child = fork_exec(&["no-such-program-here"]);
    let status = waitpid(child, None).expect("waitpid failed");
    println!(
        "parent: fork gave me pid {child}; waitpid: {}",
        report(status)
    );
}
// ANCHOR_END: main
