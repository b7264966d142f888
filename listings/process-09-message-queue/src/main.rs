//! IPC 4/5, a POSIX message queue: the kernel keeps whole messages, in
//! priority order, until someone receives them; sender and receiver need
//! not run at the same time.
use nix::mqueue::{mq_close, mq_open, mq_receive, mq_send, mq_unlink, MQ_OFlag, MqAttr};
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, getpid, ForkResult};

const MESSAGE: &[u8] = b"order 42: 3 widgets, ship to dock 7";

fn main() {
    // ANCHOR: mqueue
    let name = format!("/process-09-{}", getpid());
    // At most 4 messages of at most 64 bytes each wait in the queue.
    let attr = MqAttr::new(0, 4, 64, 0);
    let queue = mq_open(
        name.as_str(),
        MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL | MQ_OFlag::O_RDWR,
        Mode::S_IRUSR | Mode::S_IWUSR,
        Some(&attr),
    )
    .expect("mq_open failed (is CONFIG_POSIX_MQUEUE off in this kernel?)");
    // SAFETY: single-threaded process; the child only calls mq_send and _exit.
    match unsafe { fork() }.expect("fork failed") {
        ForkResult::Child => {
            let sent = mq_send(&queue, b"low priority: sent first", 1)
                .and_then(|()| mq_send(&queue, MESSAGE, 5));
            // SAFETY: leave without running the parent's cleanup; exit code 1
            // tells the parent a send failed.
            unsafe { libc::_exit(if sent.is_ok() { 0 } else { 1 }) }
        }
        ForkResult::Parent { child } => {
            // The child has finished and gone: its messages wait in the kernel.
            let status = waitpid(child, None).expect("waitpid failed");
            assert_eq!(
                status,
                WaitStatus::Exited(child, 0),
                "the child could not send"
            );
            let mut buf = [0u8; 64]; // must be at least the queue's message size
            let mut priority = 0;
            let mut received = Vec::new();
            for _ in 0..2 {
                let n = mq_receive(&queue, &mut buf, &mut priority).expect("mq_receive failed");
                println!(
                    "message queue: parent received {n} bytes, priority {priority}: {:?}",
                    String::from_utf8_lossy(&buf[..n])
                );
                received.push(buf[..n].to_vec());
            }
            // Highest priority first, whatever the order of sending.
            assert_eq!(received[0], MESSAGE);
            mq_close(queue).unwrap();
            mq_unlink(name.as_str()).unwrap();
        }
    }
    // ANCHOR_END: mqueue
}
