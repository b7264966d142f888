//! The cure for Listing C.6's deadlock: every thread takes the two locks in
//! one global order (here: by account id), whatever the direction of the
//! transfer. Then try_lock as a detector: a thread that finds the second
//! lock taken learns only that it would have waited, and backing off and
//! retrying is a gamble (it can livelock), not a fix.
use std::sync::{Barrier, Mutex, TryLockError};
use std::thread;

const TRANSFERS: u32 = 200_000;

struct Account {
    id: u32,
    balance: Mutex<i64>,
}

// ANCHOR: ordered
/// Locks both accounts lower id first, so no two threads can each hold
/// the lock the other one wants next.
fn transfer(from: &Account, to: &Account, amount: i64) {
    let (first, second) = if from.id < to.id { (from, to) } else { (to, from) };
    let mut g1 = first.balance.lock().unwrap();
    let mut g2 = second.balance.lock().unwrap();
    let (source, target) = if from.id < to.id { (&mut *g1, &mut *g2) } else { (&mut *g2, &mut *g1) };
    *source -= amount;
    *target += amount;
}
// ANCHOR_END: ordered

// ANCHOR: try_lock
/// The opposite orders again, but never blocking on the second lock:
/// returns how many times it had to let go and start over.
fn transfer_or_back_off(from: &Account, to: &Account, amount: i64) -> u32 {
    let mut retries = 0;
    loop {
        let mut source = from.balance.lock().unwrap();
        match to.balance.try_lock() {
            Ok(mut target) => {
                *source -= amount;
                *target += amount;
                return retries;
            }
            Err(TryLockError::WouldBlock) => {
                drop(source); // give the other thread its chance
                retries += 1;
                thread::yield_now();
            }
            Err(TryLockError::Poisoned(e)) => panic!("{e}"),
        }
    }
}
// ANCHOR_END: try_lock

fn main() {
    let a = Account { id: 1, balance: Mutex::new(1_000) };
    let b = Account { id: 2, balance: Mutex::new(1_000) };

    // ANCHOR: main
    let start = Barrier::new(2); // both directions start together
    thread::scope(|s| {
        s.spawn(|| {
            start.wait();
            (0..TRANSFERS).for_each(|_| transfer(&a, &b, 1))
        });
        s.spawn(|| {
            start.wait();
            (0..TRANSFERS).for_each(|_| transfer(&b, &a, 1))
        });
    });
    // ANCHOR_END: main
    let total = *a.balance.lock().unwrap() + *b.balance.lock().unwrap();
    println!("lock ordering: {TRANSFERS} transfers A->B and {TRANSFERS} B->A at once, finished; A + B = {total}");

    let retries = thread::scope(|s| {
        let one = s.spawn(|| {
            start.wait();
            (0..TRANSFERS).map(|_| transfer_or_back_off(&a, &b, 1)).sum::<u32>()
        });
        let two = s.spawn(|| {
            start.wait();
            (0..TRANSFERS).map(|_| transfer_or_back_off(&b, &a, 1)).sum::<u32>()
        });
        one.join().unwrap() + two.join().unwrap()
    });
    let total = *a.balance.lock().unwrap() + *b.balance.lock().unwrap();
    println!("try_lock and back off: finished too, A + B = {total}, after {retries} retries");
    println!("  (each retry is a moment the opposite orders would have deadlocked, or merely waited)");
}
