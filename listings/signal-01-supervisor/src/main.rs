//! Signals in a process with threads. Part 1: a signal sent to the process
//! runs its handler on a thread that does not block it; one sent to a
//! thread waits for that thread. Part 2: a supervisor with three worker
//! processes in their own process group; a dedicated thread takes SIGCHLD
//! and SIGTERM with sigwait (every thread blocks them), reaps every child
//! that exited (one SIGCHLD may stand for several), and on SIGTERM stops
//! the whole group with one killpg. Bounded: a watchdog kills the group
//! and exits with status 1 if an expected event does not come in 5 s.
use nix::sys::pthread::{pthread_kill, pthread_self};
use nix::sys::signal::{kill, killpg, sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, getpid, gettid, setpgid, ForkResult, Pid};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const WORKERS: usize = 3;
const PATIENCE: Duration = Duration::from_secs(5);

// ANCHOR: handler
/// The id of the thread the SIGUSR1 handler last ran on (0: not yet).
static HANDLED_ON: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_usr1(_: libc::c_int) {
    // Only async-signal-safe work here: a system call and an atomic store.
    HANDLED_ON.store(gettid().as_raw(), Ordering::SeqCst);
}
// ANCHOR_END: handler

/// Waits until the handler has run (returns its thread id) or `limit` passed.
fn handled_within(limit: Duration) -> Option<i32> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        let tid = HANDLED_ON.swap(0, Ordering::SeqCst);
        if tid != 0 {
            return Some(tid);
        }
        thread::sleep(Duration::from_millis(1));
    }
    None
}

fn part1() {
    println!("part 1: which thread runs the handler");
    let usr1 = SigSet::from(Signal::SIGUSR1);
    // SAFETY: the handler only makes a system call and stores an atomic.
    unsafe { sigaction(Signal::SIGUSR1, &SigAction::new(SigHandler::Handler(on_usr1), SaFlags::SA_RESTART, SigSet::empty())) }
        .expect("sigaction");
    // ANCHOR: masks
    usr1.thread_block().unwrap(); // threads spawned from now on inherit the block
    let (tids_tx, tids_rx) = mpsc::channel();
    let mut go = Vec::new();
    let mut workers = Vec::new();
    for id in 0..WORKERS {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let tids = tids_tx.clone();
        go.push(go_tx);
        workers.push(thread::spawn(move || {
            if id == 2 {
                usr1.thread_unblock().unwrap(); // only worker 2 accepts SIGUSR1
            }
            tids.send((id, gettid().as_raw(), pthread_self())).unwrap();
            go_rx.recv().unwrap(); // worker 0: told to unblock
            usr1.thread_unblock().unwrap(); // a pending SIGUSR1 is delivered now
            go_rx.recv().ok(); // then wait until main lets go
        }));
    }
    let mut ids: Vec<(usize, i32, libc::pthread_t)> = tids_rx.iter().take(WORKERS).collect();
    ids.sort();
    let name = |tid: i32| match ids.iter().find(|w| w.1 == tid) {
        Some((id, ..)) => format!("worker {id}"),
        None if tid == gettid().as_raw() => "the main thread".to_string(),
        None => format!("tid {tid}"),
    };

    kill(getpid(), Signal::SIGUSR1).unwrap(); // process-directed
    match handled_within(PATIENCE) {
        Some(tid) => println!("  kill(process, SIGUSR1): the handler ran on {}, the only thread not blocking it", name(tid)),
        None => println!("  kill(process, SIGUSR1): no handler ran within {} s", PATIENCE.as_secs()),
    }

    pthread_kill(ids[0].2, Signal::SIGUSR1).unwrap(); // thread-directed, to worker 0
    match handled_within(Duration::from_millis(200)) {
        Some(tid) => println!("  pthread_kill(worker 0, SIGUSR1): ran at once on {}", name(tid)),
        None => println!("  pthread_kill(worker 0, SIGUSR1): nothing after 200 ms, pending: worker 0 blocks it"),
    }
    go[0].send(()).unwrap(); // worker 0 unblocks SIGUSR1
    match handled_within(PATIENCE) {
        Some(tid) => println!("  worker 0 unblocks it: the pending signal runs the handler on {}", name(tid)),
        None => println!("  worker 0 unblocked it, and no handler ran"),
    }
    // ANCHOR_END: masks
    for tx in &go {
        let _ = tx.send(());
    }
    drop(go);
    for w in workers {
        w.join().unwrap();
    }
    usr1.thread_unblock().unwrap();
}

/// What the signal thread tells main.
enum Event {
    Reaped(Pid, String),
    Term,
}

// ANCHOR: signal_thread
/// The supervisor's signal thread: the only place SIGCHLD and SIGTERM are
/// handled, synchronously, with sigwait. Ends once every worker is reaped.
fn signal_thread(wanted: SigSet, group: Pid, mut alive: usize, events: mpsc::Sender<Event>) {
    while alive > 0 {
        match wanted.wait().expect("sigwait") {
            Signal::SIGCHLD => loop {
                // Standard signals do not queue: two children may have
                // exited for this one SIGCHLD. Reap until none is left.
                match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::Exited(pid, code)) => {
                        alive -= 1;
                        events.send(Event::Reaped(pid, format!("exited with status {code}"))).unwrap();
                    }
                    Ok(WaitStatus::Signaled(pid, sig, _)) => {
                        alive -= 1;
                        events.send(Event::Reaped(pid, format!("killed by {sig}"))).unwrap();
                    }
                    Ok(WaitStatus::StillAlive) | Err(_) => break,
                    Ok(_) => {} // stopped or continued: not an exit
                }
            },
            Signal::SIGTERM => {
                events.send(Event::Term).unwrap();
                killpg(group, Signal::SIGTERM).expect("killpg"); // every worker at once
            }
            other => unreachable!("sigwait returned {other}"),
        }
    }
}
// ANCHOR_END: signal_thread

/// The worker process: runs until a signal ends it.
fn worker() -> ! {
    // The parent blocks SIGCHLD and SIGTERM; the mask survives fork (and
    // exec), so the child must clear it or SIGTERM would never reach it.
    SigSet::all().thread_unblock().ok();
    // Bounds, in case the supervisor dies first (say, Ctrl-C: the workers
    // are in another process group, so the terminal's SIGINT misses them).
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    // SAFETY: alarm only arms a timer; its SIGALRM ends the worker.
    unsafe { libc::alarm(30) };
    loop {
        // SAFETY: pause only waits for a signal.
        unsafe { libc::pause() };
    }
}

fn part2() {
    println!();
    println!("part 2: a supervisor with {WORKERS} worker processes and a signal thread");
    // ANCHOR: supervisor
    let wanted = SigSet::from_iter([Signal::SIGCHLD, Signal::SIGTERM]);
    wanted.thread_block().unwrap(); // before any thread or child exists
    let mut pids = Vec::new();
    for _ in 0..WORKERS {
        let group = pids.first().copied().unwrap_or(Pid::from_raw(0));
        // SAFETY: the process has one thread here (part 1's have been
        // joined); the child only calls setpgid, sigprocmask, prctl, alarm
        // and pause, all async-signal-safe.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                let _ = setpgid(Pid::from_raw(0), group); // 0: a new group, led by us
                worker();
            }
            ForkResult::Parent { child } => {
                // Both sides call setpgid, so the group exists whichever runs first.
                let _ = setpgid(child, if group.as_raw() == 0 { child } else { group });
                pids.push(child);
            }
        }
    }
    let group = pids[0];
    let (events_tx, events) = mpsc::channel();
    let signals = thread::spawn(move || signal_thread(wanted, group, WORKERS, events_tx));
    // ANCHOR_END: supervisor
    let which = |pid: Pid| pids.iter().position(|&p| p == pid).map_or("a stranger".into(), |i| format!("worker {}", i + 1));
    let started: Vec<String> = pids.iter().enumerate().map(|(i, p)| format!("worker {} (pid {p})", i + 1)).collect();
    println!("  started {}, in process group pgid {group}, led by worker 1", started.join(", "));
    let next = |events: &mpsc::Receiver<Event>| match events.recv_timeout(PATIENCE) {
        Ok(e) => e,
        Err(_) => {
            println!("  watchdog: no event from the signal thread within {} s; killing the group", PATIENCE.as_secs());
            let _ = killpg(group, Signal::SIGKILL);
            std::process::exit(1);
        }
    };

    // ANCHOR: run
    kill(pids[1], Signal::SIGKILL).unwrap(); // one worker dies
    if let Event::Reaped(pid, how) = next(&events) {
        println!("  SIGCHLD: reaped {} ({how})", which(pid));
    }
    kill(getpid(), Signal::SIGTERM).unwrap(); // as `kill <supervisor pid>` would
    if let Event::Term = next(&events) {
        println!("  SIGTERM to the supervisor: taken by the signal thread with sigwait; killpg(group, SIGTERM)");
    }
    let mut rest: Vec<String> = (0..WORKERS - 1)
        .map(|_| match next(&events) {
            Event::Reaped(pid, how) => format!("{} ({how})", which(pid)),
            Event::Term => "a second SIGTERM".into(),
        })
        .collect();
    rest.sort();
    println!("  SIGCHLD: reaped {}", rest.join(" and "));
    signals.join().unwrap();
    match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
        Err(nix::errno::Errno::ECHILD) => println!("  no child left, no zombie: waitpid says ECHILD"),
        other => println!("  still a child left: {other:?}"),
    }
    // ANCHOR_END: run
}

fn main() {
    part1();
    part2();
}
