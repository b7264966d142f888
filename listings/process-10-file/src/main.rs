//! IPC 5/5, a file: the simplest channel, and the only one here that can
//! keep its data across a reboot (on a disk-backed file system, after an
//! fsync, which this reader, waiting right now, does not need).
//! Readers must know when a writer is finished: here the writer renames a
//! complete file into place.
use nix::sys::wait::waitpid;
use nix::unistd::{fork, getpid, ForkResult};

const MESSAGE: &[u8] = b"order 42: 3 widgets, ship to dock 7";

fn main() {
    // ANCHOR: file
    let dir = std::env::temp_dir();
    let final_path = dir.join(format!("process-10-{}.txt", getpid()));
    // SAFETY: single-threaded process, so the child is a consistent copy and
    // may use std::fs; it leaves through _exit.
    match unsafe { fork() }.expect("fork failed") {
        ForkResult::Child => {
            // Write under a temporary name, then rename: a reader sees either
            // no file or the whole file, never half of one.
            let partial = final_path.with_extension("partial");
            std::fs::write(&partial, MESSAGE).expect("write failed");
            std::fs::rename(&partial, &final_path).expect("rename failed");
            // SAFETY: leave without running the parent's cleanup.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            waitpid(child, None).expect("waitpid failed");
            let received = std::fs::read(&final_path).expect("no file from the child");
            println!(
                "file: parent read {} bytes from {}: {:?}",
                received.len(),
                final_path.display(),
                String::from_utf8_lossy(&received)
            );
            std::fs::remove_file(&final_path).unwrap();
            assert_eq!(received, MESSAGE);
        }
    }
    // ANCHOR_END: file
}
