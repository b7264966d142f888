//! IPC 2/5, a Unix domain socket: a two-way connection with a name in the
//! file system, so any process allowed to open that path can connect.
use nix::sys::wait::waitpid;
use nix::unistd::{fork, getpid, ForkResult};
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};

const MESSAGE: &[u8] = b"order 42: 3 widgets, ship to dock 7";

fn main() {
    // ANCHOR: socket
    let path = std::env::temp_dir().join(format!("process-07-{}.sock", getpid()));
    // bind creates the socket file at `path`.
    let listener = UnixListener::bind(&path).expect("bind failed");
    // SAFETY: single-threaded process, so the child is a consistent copy and
    // may use std's socket types; it leaves through _exit.
    match unsafe { fork() }.expect("fork failed") {
        ForkResult::Child => {
            drop(listener);
            // Connect by *name*: an unrelated program could do exactly this.
            let mut stream = UnixStream::connect(&path).expect("connect failed");
            stream.write_all(MESSAGE).unwrap();
            stream.shutdown(std::net::Shutdown::Write).unwrap(); // end of request
            let mut reply = String::new();
            stream.read_to_string(&mut reply).unwrap(); // the other direction
            println!("unix socket: child got the reply {reply:?}");
            // SAFETY: leave without running the parent's cleanup.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            let (mut stream, _) = listener.accept().expect("accept failed");
            let mut received = Vec::new();
            stream.read_to_end(&mut received).unwrap();
            println!(
                "unix socket: parent read {} bytes: {:?}",
                received.len(),
                String::from_utf8_lossy(&received)
            );
            stream.write_all(b"accepted").unwrap();
            drop(stream);
            waitpid(child, None).expect("waitpid failed");
            std::fs::remove_file(&path).unwrap(); // the name outlives the socket
            assert_eq!(received, MESSAGE);
        }
    }
    // ANCHOR_END: socket
}
