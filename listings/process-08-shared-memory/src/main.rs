//! IPC 3/5, shared memory: one set of physical pages mapped into both
//! address spaces. No copy through the kernel, and no synchronisation
//! either: here waitpid is what tells the parent the data is complete.
use nix::fcntl::OFlag;
use nix::sys::mman::{mmap, shm_open, shm_unlink, MapFlags, ProtFlags};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ftruncate, getpid, ForkResult};
use std::num::NonZeroUsize;

const MESSAGE: &[u8] = b"order 42: 3 widgets, ship to dock 7";
const SIZE: usize = 4096; // one page

fn main() {
    // ANCHOR: shm
    // A named object in /dev/shm; an unrelated process could shm_open it too.
    let name = format!("/process-08-{}", getpid());
    let fd = shm_open(
        name.as_str(),
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR,
        Mode::S_IRUSR | Mode::S_IWUSR,
    )
    .expect("shm_open failed");
    ftruncate(&fd, SIZE as i64).expect("ftruncate failed");
    // MAP_SHARED: writes go to the shared pages, not to a private copy. The
    // mapping is inherited by fork, still shared: no copy-on-write here.
    // SAFETY: a new mapping of a file we just sized; nothing else aliases it.
    let shared = unsafe {
        mmap(
            None,
            NonZeroUsize::new(SIZE).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
            &fd,
            0,
        )
    }
    .expect("mmap failed")
    .cast::<u8>();
    shm_unlink(name.as_str()).expect("shm_unlink failed"); // the mapping keeps it alive

    // SAFETY: single-threaded process; the child only copies bytes into the
    // shared page and calls _exit.
    match unsafe { fork() }.expect("fork failed") {
        ForkResult::Child => {
            // Byte 0 holds the length, then the message itself.
            // SAFETY: 1 + MESSAGE.len() < SIZE, and the parent does not touch
            // the page until this child has exited.
            unsafe {
                shared.as_ptr().write(MESSAGE.len() as u8);
                std::ptr::copy_nonoverlapping(
                    MESSAGE.as_ptr(),
                    shared.as_ptr().add(1),
                    MESSAGE.len(),
                );
                libc::_exit(0)
            }
        }
        ForkResult::Parent { child } => {
            // Once waitpid returns, the child is done writing.
            waitpid(child, None).expect("waitpid failed");
            // SAFETY: the child has exited, so no one writes the page any more.
            let received = unsafe {
                let len = shared.as_ptr().read() as usize;
                std::slice::from_raw_parts(shared.as_ptr().add(1), len).to_vec()
            };
            println!(
                "shared memory: parent found {} bytes: {:?}",
                received.len(),
                String::from_utf8_lossy(&received)
            );
            assert_eq!(received, MESSAGE);
        }
    }
    // ANCHOR_END: shm
}
