//! IPC 1/5, a pipe: a one-way byte stream that exists only as two
//! descriptors, so only a process that inherits one can use it.
use nix::sys::wait::waitpid;
use nix::unistd::{fork, pipe, read, write, ForkResult};

const MESSAGE: &[u8] = b"order 42: 3 widgets, ship to dock 7";

fn main() {
    // ANCHOR: pipe
    let (read_end, write_end) = pipe().expect("pipe failed");
    // SAFETY: single-threaded process; the child only writes to a descriptor
    // it owns and calls _exit (both async-signal-safe).
    match unsafe { fork() }.expect("fork failed") {
        ForkResult::Child => {
            drop(read_end); // the child only writes
            let sent = write(&write_end, MESSAGE).expect("write failed");
            // Below PIPE_BUF (4 KiB), a write is never split.
            assert_eq!(sent, MESSAGE.len());
            // SAFETY: leave without running the parent's cleanup.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            // Close our copy of the write end, or read would never see
            // end-of-file: a pipe stays open while any writer holds it.
            drop(write_end);
            let mut received = Vec::new();
            let mut buf = [0u8; 16];
            loop {
                match read(&read_end, &mut buf).expect("read failed") {
                    0 => break, // every write end is closed: end of stream
                    n => received.extend_from_slice(&buf[..n]),
                }
            }
            waitpid(child, None).expect("waitpid failed");
            println!(
                "pipe: parent read {} bytes: {:?}",
                received.len(),
                String::from_utf8_lossy(&received)
            );
            assert_eq!(received, MESSAGE);
        }
    }
    // ANCHOR_END: pipe
}
