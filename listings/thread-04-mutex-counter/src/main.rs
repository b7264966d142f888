//! A counter shared by four threads: Arc to share ownership, Mutex to take
//! turns.
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

const THREADS: usize = 4;
const PER_THREAD: u64 = 250_000;

fn main() {
    // ANCHOR: counter
    let counter = Arc::new(Mutex::new(0u64));
    let start = Instant::now();

    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let counter = Arc::clone(&counter); // one more owner, same Mutex
            thread::spawn(move || {
                for _ in 0..PER_THREAD {
                    // lock() blocks until no other thread holds the guard;
                    // the guard unlocks when it is dropped, at the semicolon.
                    *counter.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }

    let elapsed = start.elapsed();
    let total = *counter.lock().unwrap();
    println!("{THREADS} threads x {PER_THREAD} increments = {total}");
    println!("expected {}, lost {}", THREADS as u64 * PER_THREAD, THREADS as u64 * PER_THREAD - total);
    println!("time with a Mutex: {:.1} ms", elapsed.as_secs_f64() * 1e3);
    println!("owners of the Arc now: {}", Arc::strong_count(&counter));
    // ANCHOR_END: counter
}
