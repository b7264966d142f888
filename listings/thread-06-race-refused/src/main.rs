//! The counter of thread-04 with the Mutex swapped for a Cell, the
//! single-threaded way to mutate through a shared reference. rustc refuses.
use std::cell::Cell;
use std::sync::Arc;
use std::thread;

fn main() {
    let counter = Arc::new(Cell::new(0u64));
    let mut handles = Vec::new();
    for _ in 0..4 {
        let counter = Arc::clone(&counter);
        handles.push(thread::spawn(move || {
            for _ in 0..250_000 {
                counter.set(counter.get() + 1); // read, add, write: no lock
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    println!("{}", counter.get());
}
