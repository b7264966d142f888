//! A deadlock on every run: two threads each take one lock, meet at a
//! Barrier (so both hold their first lock), then each asks for the other's.
//! Neither can ever proceed. A watchdog in main notices that neither thread
//! has finished after WATCHDOG, prints who holds what and waits for what
//! (each thread writes that down before it blocks), finds the cycle, and
//! ends the process with exit status 1: the two threads cannot be
//! unblocked, only killed with their process.
use std::sync::{mpsc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

const WATCHDOG: Duration = Duration::from_secs(1);

/// What each thread holds and waits for, written just before it blocks.
static WAITS_FOR: Mutex<Vec<(&str, &str, &str)>> = Mutex::new(Vec::new());

// ANCHOR: transfer
struct Account {
    name: &'static str,
    balance: Mutex<i64>,
}

/// Moves `amount` from one account to the other, locking `from` first.
fn transfer(who: &'static str, from: &Account, to: &Account, amount: i64, barrier: &Barrier) {
    let mut source = from.balance.lock().unwrap();
    barrier.wait(); // both threads now hold their first lock
    WAITS_FOR.lock().unwrap().push((who, from.name, to.name));
    let mut target = to.balance.lock().unwrap(); // never returns
    *source -= amount;
    *target += amount;
}
// ANCHOR_END: transfer

fn main() {
    // ANCHOR: main
    let a: &'static Account = Box::leak(Box::new(Account { name: "A", balance: Mutex::new(100) }));
    let b: &'static Account = Box::leak(Box::new(Account { name: "B", balance: Mutex::new(100) }));
    let barrier: &'static Barrier = Box::leak(Box::new(Barrier::new(2)));
    let (done_tx, done_rx) = mpsc::channel();
    for (who, from, to) in [("thread 1", a, b), ("thread 2", b, a)] {
        let done = done_tx.clone();
        thread::spawn(move || {
            transfer(who, from, to, 10, barrier);
            done.send(who).unwrap();
        });
    }
    drop(done_tx);

    // The watchdog: both transfers should take microseconds.
    let mut finished = Vec::new();
    while finished.len() < 2 {
        match done_rx.recv_timeout(WATCHDOG) {
            Ok(who) => finished.push(who),
            Err(_) => break,
        }
    }
    if finished.len() == 2 {
        println!("both transfers finished: no deadlock this time");
        return;
    }
    println!("watchdog: {} of 2 transfers finished after {} ms", finished.len(), WATCHDOG.as_millis());
    let mut waits = WAITS_FOR.lock().unwrap().clone();
    waits.sort();
    for (who, holds, wants) in &waits {
        println!("  {who} holds lock {holds} and waits for lock {wants}");
    }
    // Follow "waits for" from the first thread until it comes back to it.
    let holder = |lock: &str| waits.iter().find(|w| w.1 == lock).map(|w| w.0);
    let wanted_by = |who: &str| waits.iter().find(|w| w.0 == who).map(|w| w.2);
    if let Some(&(first, _, _)) = waits.first() {
        let (mut who, mut path) = (first, format!("  cycle: {first}"));
        for _ in 0..waits.len() {
            let Some(lock) = wanted_by(who) else { break };
            let Some(next) = holder(lock) else { break };
            path += &format!(" -> lock {lock} (held by {next})");
            who = next;
            if who == first {
                break;
            }
        }
        println!("{path}");
    }
    println!("watchdog: deadlock; neither thread can be woken, exiting with status 1");
    std::process::exit(1);
    // ANCHOR_END: main
}
