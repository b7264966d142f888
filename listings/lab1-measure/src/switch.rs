// Context switches: two parties pass a token back and forth. Each function
// does a short untimed warm-up, then times `round_trips` round trips. When
// both parties are pinned to one CPU, every hand-over is a real switch: the
// sender blocks, the kernel (or the runtime) runs the other side on the
// same CPU. One round trip is then two switches plus the calls around them.
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, read, write, ForkResult, Pid};
use std::os::fd::OwnedFd;
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Round trips done before the clock starts.
pub const WARM_UP: u64 = 200;

// ANCHOR: pin
/// Pins the calling thread to `cpu` and returns its previous CPU set, so the
/// caller can undo it. On Linux, pid 0 means "the calling thread".
pub fn pin_this_thread(cpu: usize) -> CpuSet {
    let old = sched_getaffinity(Pid::from_raw(0)).expect("sched_getaffinity");
    let mut one = CpuSet::new();
    one.set(cpu).expect("CPU number out of range");
    sched_setaffinity(Pid::from_raw(0), &one).expect("sched_setaffinity");
    old
}
// ANCHOR_END: pin

pub fn unpin_this_thread(old: &CpuSet) {
    sched_setaffinity(Pid::from_raw(0), old).expect("sched_setaffinity");
}

/// The lowest CPU this thread may run on (CPU 0 unless a cgroup or taskset
/// says otherwise).
pub fn first_allowed_cpu() -> usize {
    let set = sched_getaffinity(Pid::from_raw(0)).expect("sched_getaffinity");
    (0..CpuSet::count()).find(|&c| set.is_set(c).unwrap_or(false)).expect("no CPU allowed")
}

// ANCHOR: ping_echo
/// Sends a byte and waits for it to come back, `n` times.
fn ping(to: &OwnedFd, from: &OwnedFd, n: u64) {
    let mut byte = [0u8; 1];
    for _ in 0..n {
        assert_eq!(write(to, &byte), Ok(1), "ping: write to the pipe failed");
        assert_eq!(read(from, &mut byte), Ok(1), "ping: the other side hung up");
    }
}

/// Waits for a byte and sends it back, `n` times. It allocates nothing and
/// calls only read and write, so it may run in a freshly forked child.
fn echo(from: &OwnedFd, to: &OwnedFd, n: u64) -> bool {
    let mut byte = [0u8; 1];
    for _ in 0..n {
        if read(from, &mut byte) != Ok(1) || write(to, &byte) != Ok(1) {
            return false;
        }
    }
    true
}
// ANCHOR_END: ping_echo

// ANCHOR: pipe_processes
pub fn pipe_pingpong_processes(round_trips: u64, cpu: Option<usize>) -> Duration {
    let (down_r, down_w) = pipe().expect("pipe");
    let (up_r, up_w) = pipe().expect("pipe");
    // Pin before forking: the child inherits the CPU set of this thread.
    let old = cpu.map(pin_this_thread);
    let total = WARM_UP + round_trips;
    // SAFETY: the child only closes descriptors, runs `echo` (read and write
    // on a stack buffer) and calls `_exit`: no allocation, no lock.
    let child = match unsafe { fork() }.expect("fork failed") {
        ForkResult::Child => {
            drop(down_w);
            drop(up_r);
            let ok = echo(&down_r, &up_w, total);
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        ForkResult::Parent { child } => child,
    };
    drop(down_r);
    drop(up_w);
    ping(&down_w, &up_r, WARM_UP);
    let start = Instant::now();
    ping(&down_w, &up_r, round_trips);
    let took = start.elapsed();
    assert_eq!(waitpid(child, None), Ok(WaitStatus::Exited(child, 0)), "the echo process failed");
    if let Some(old) = old {
        unpin_this_thread(&old);
    }
    took
}
// ANCHOR_END: pipe_processes

pub fn pipe_pingpong_threads(round_trips: u64, cpu: Option<usize>) -> Duration {
    let (down_r, down_w) = pipe().expect("pipe");
    let (up_r, up_w) = pipe().expect("pipe");
    let total = WARM_UP + round_trips;
    let echoer = thread::spawn(move || {
        let _old = cpu.map(pin_this_thread); // this thread ends here, nothing to undo
        echo(&down_r, &up_w, total)
    });
    let old = cpu.map(pin_this_thread);
    ping(&down_w, &up_r, WARM_UP);
    let start = Instant::now();
    ping(&down_w, &up_r, round_trips);
    let took = start.elapsed();
    assert!(echoer.join().expect("echo thread panicked"), "the echo thread failed");
    if let Some(old) = old {
        unpin_this_thread(&old);
    }
    took
}

// ANCHOR: condvar
/// Mutex + Condvar: both block in the kernel on a futex when they wait.
/// The counter is the ball: odd means the partner's turn, even ours.
pub fn condvar_pingpong(round_trips: u64, cpu: Option<usize>) -> Duration {
    let shared = Arc::new((Mutex::new(0u64), Condvar::new()));
    let total = WARM_UP + round_trips;
    let partner = {
        let shared = Arc::clone(&shared);
        thread::spawn(move || {
            let _old = cpu.map(pin_this_thread);
            let (ball, turn) = &*shared;
            let mut b = ball.lock().unwrap();
            for _ in 0..total {
                b = turn.wait_while(b, |b| *b % 2 == 0).unwrap();
                *b += 1;
                turn.notify_one();
            }
        })
    };
    let old = cpu.map(pin_this_thread);
    let (ball, turn) = &*shared;
    let mut start = Instant::now();
    let mut b = ball.lock().unwrap();
    for i in 0..total {
        if i == WARM_UP {
            start = Instant::now();
        }
        *b += 1;
        turn.notify_one();
        b = turn.wait_while(b, |b| *b % 2 == 1).unwrap();
    }
    let took = start.elapsed();
    drop(b);
    partner.join().expect("partner thread panicked");
    if let Some(old) = old {
        unpin_this_thread(&old);
    }
    took
}
// ANCHOR_END: condvar

pub fn channel_pingpong(round_trips: u64, cpu: Option<usize>) -> Duration {
    let (to_partner, partner_rx) = mpsc::channel::<u64>();
    let (to_us, rx) = mpsc::channel::<u64>();
    let total = WARM_UP + round_trips;
    let partner = thread::spawn(move || {
        let _old = cpu.map(pin_this_thread);
        for _ in 0..total {
            let v = partner_rx.recv().expect("main thread hung up");
            to_us.send(v).expect("main thread hung up");
        }
    });
    let old = cpu.map(pin_this_thread);
    let mut start = Instant::now();
    for i in 0..total {
        if i == WARM_UP {
            start = Instant::now();
        }
        to_partner.send(i).expect("partner hung up");
        assert_eq!(rx.recv(), Ok(i), "the partner returned the wrong ball");
    }
    let took = start.elapsed();
    partner.join().expect("partner thread panicked");
    if let Some(old) = old {
        unpin_this_thread(&old);
    }
    took
}

// ANCHOR: task_pingpong
/// Two tasks on a current-thread runtime: every hand-over is a switch done
/// by the runtime in user space, with no system call at all.
pub fn task_pingpong(rt: &tokio::runtime::Runtime, round_trips: u64) -> Duration {
    use tokio::sync::mpsc;
    let total = WARM_UP + round_trips;
    rt.block_on(async move {
        let (to_partner, mut partner_rx) = mpsc::channel::<u64>(1);
        let (to_us, mut rx) = mpsc::channel::<u64>(1);
        let partner = tokio::spawn(async move {
            for _ in 0..total {
                let v = partner_rx.recv().await.expect("main task hung up");
                to_us.send(v).await.expect("main task hung up");
            }
        });
        let mut start = Instant::now();
        for i in 0..total {
            if i == WARM_UP {
                start = Instant::now();
            }
            to_partner.send(i).await.expect("partner hung up");
            assert_eq!(rx.recv().await, Some(i), "the partner returned the wrong ball");
        }
        let took = start.elapsed();
        partner.await.expect("partner task panicked");
        took
    })
}
// ANCHOR_END: task_pingpong

/// Context switches of the calling thread so far: (voluntary, involuntary).
/// Voluntary: it blocked (read on an empty pipe, futex wait). Involuntary:
/// the scheduler took the CPU away (a woken thread preempted it).
pub fn thread_switches() -> (i64, i64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage; RUSAGE_THREAD is Linux's
    // "the calling thread only".
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    assert_eq!(rc, 0, "getrusage failed");
    (ru.ru_nvcsw as i64, ru.ru_nivcsw as i64)
}
