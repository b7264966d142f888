//! The lost wake-up, made to happen on every run. A consumer waits on a
//! Condvar for `ready`; a producer makes `ready` true and notifies. Done in
//! the wrong order (notify, then change the state) or without the mutex
//! (change the state while the consumer is between its check and its
//! wait), the notification reaches nobody and the consumer sleeps on with
//! `ready` already true. A Barrier and handshakes force that interleaving; a
//! watchdog notices the stuck consumer after WATCHDOG, reports it, and
//! rescues it with a second notify so the program ends. Then the fixed
//! versions run under the same forced interleaving.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long the second consumer stays in its window if nobody acts.
const SETTLE: Duration = Duration::from_millis(50);
/// How long the watchdog lets the consumer sleep once `ready` is true.
const WATCHDOG: Duration = Duration::from_secs(1);

struct State {
    ready: bool,
    waits: u32, // how many times the consumer has called wait
}

struct Shared {
    state: Mutex<State>, // the state, under the mutex (scenarios 1 and 3)
    flag: AtomicBool,    // the state outside the mutex (scenarios 2 and 4)
    lock: Mutex<()>,     // the mutex the flag's consumer holds
    cv: Condvar,
    // Scaffolding that forces the interleaving (not part of the pattern):
    barrier: Barrier,
    acted_tx: SyncSender<()>,
    acted_rx: Mutex<Receiver<()>>,
}

impl Shared {
    fn new() -> Shared {
        let (acted_tx, acted_rx) = mpsc::sync_channel(1);
        Shared {
            state: Mutex::new(State { ready: false, waits: 0 }),
            flag: AtomicBool::new(false),
            lock: Mutex::new(()),
            cv: Condvar::new(),
            barrier: Barrier::new(2),
            acted_tx,
            acted_rx: Mutex::new(acted_rx),
        }
    }
}

fn is_ready(s: &Shared) -> bool {
    s.state.lock().unwrap().ready || s.flag.load(Ordering::SeqCst)
}

/// Scaffolding: returns once the consumer has called `wait` n times, so
/// that it is asleep in `wait` (it holds the mutex until `wait` releases it).
fn until_consumer_waited(s: &Shared, n: u32) {
    while s.state.lock().unwrap().waits < n {
        thread::sleep(Duration::from_millis(1));
    }
}

// ANCHOR: broken
/// Scenario 1 (broken): notify first, change the state afterwards.
fn notify_then_set(s: &Shared) {
    until_consumer_waited(s, 1);
    s.cv.notify_one(); // it wakes, sees ready == false, waits again
    until_consumer_waited(s, 2);
    s.state.lock().unwrap().ready = true; // and nobody tells it
}

/// Scenario 2 (broken): change the state without the consumer's mutex,
/// while the consumer is between its check and its wait.
fn set_without_lock(s: &Shared) {
    s.barrier.wait(); // the consumer has checked: false
    s.flag.store(true, Ordering::SeqCst);
    s.cv.notify_one(); // the consumer is not waiting yet: lost
    s.acted_tx.send(()).unwrap();
}
// ANCHOR_END: broken

// ANCHOR: fixed
/// Scenario 3 (fixed): change the state under the mutex, then notify.
fn set_then_notify(s: &Shared) {
    until_consumer_waited(s, 1);
    s.state.lock().unwrap().ready = true;
    s.cv.notify_one();
}

/// Scenario 4 (fixed): take the consumer's mutex to change the state. The
/// consumer holds it from its check until `wait` releases it, so the
/// producer cannot slip in between.
fn set_under_lock(s: &Shared) {
    s.barrier.wait();
    let guard = s.lock.lock().unwrap(); // blocks until the consumer waits
    s.flag.store(true, Ordering::SeqCst);
    drop(guard);
    s.cv.notify_one();
    s.acted_tx.send(()).unwrap();
}
// ANCHOR_END: fixed

// ANCHOR: consumers
/// Waits for `ready` the right way: in a loop, under the state's mutex.
fn consume_ready(s: &Shared) {
    let mut state = s.state.lock().unwrap();
    while !state.ready {
        state.waits += 1;
        state = s.cv.wait(state).unwrap();
    }
}

/// Waits for `flag` in a loop too, but between its check and its wait it
/// stops (the window a preemption could open) until the producer has
/// acted, or for SETTLE if the producer cannot act.
fn consume_flag(s: &Shared) {
    let mut guard = s.lock.lock().unwrap();
    let mut first = true;
    while !s.flag.load(Ordering::SeqCst) {
        if first {
            s.barrier.wait(); // checked: false
            let _ = s.acted_rx.lock().unwrap().recv_timeout(SETTLE);
            first = false;
        }
        guard = s.cv.wait(guard).unwrap();
    }
}
// ANCHOR_END: consumers

// ANCHOR: watchdog
/// Runs one scenario; returns true if the watchdog had to step in.
fn scenario(title: &str, producer: fn(&Shared), consumer: fn(&Shared)) -> bool {
    println!("{title}");
    let shared = Arc::new(Shared::new());
    let (done_tx, done_rx) = mpsc::channel();
    let s = Arc::clone(&shared);
    let start = Instant::now();
    let consumer = thread::spawn(move || {
        consumer(&s);
        done_tx.send(()).unwrap();
    });
    let s = Arc::clone(&shared);
    thread::spawn(move || producer(&s)).join().unwrap();
    // The producer has finished: ready is true. The consumer has WATCHDOG.
    let stuck = done_rx.recv_timeout(WATCHDOG).is_err();
    if stuck {
        println!("  watchdog: ready = {}, and the consumer is still waiting {} ms later: the wake-up was lost",
            is_ready(&shared), WATCHDOG.as_millis());
        shared.cv.notify_one(); // the rescue: the state was right all along
        done_rx.recv_timeout(WATCHDOG).expect("the rescue notify did not wake the consumer");
        println!("  watchdog: one more notify_one, and the consumer finishes at once");
    } else {
        println!("  consumer finished after {} ms, no watchdog needed", start.elapsed().as_millis());
    }
    consumer.join().unwrap();
    stuck
}
// ANCHOR_END: watchdog

fn main() {
    let lost = [
        scenario("1. broken: notify_one, then set ready (under the lock)", notify_then_set, consume_ready),
        scenario("2. broken: set the flag and notify without taking the consumer's lock", set_without_lock, consume_flag),
        scenario("3. fixed: set ready under the lock, then notify_one", set_then_notify, consume_ready),
        scenario("4. fixed: set the flag while holding the consumer's lock, then notify_one", set_under_lock, consume_flag),
    ];
    let count = lost.iter().filter(|&&l| l).count();
    println!();
    println!("wake-ups lost: {count} of 4 scenarios (expected: the two broken ones)");
}
