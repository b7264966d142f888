//! The bounded buffer (producer/consumer) built from a Mutex<VecDeque> and
//! two Condvars: producers wait while it is full, consumers while it is
//! empty. The waits sit in `while` loops; the listing counts how often a
//! woken thread found its condition false again, each time an `if` would
//! have gone wrong. Bounded: 2 producers x 2000 items.
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::thread;

const CAPACITY: usize = 4;
const PRODUCERS: u64 = 2;
const CONSUMERS: u64 = 2;
const PER_PRODUCER: u64 = 2000;

// ANCHOR: buffer
struct Buffer {
    queue: Mutex<VecDeque<u64>>,
    not_empty: Condvar, // consumers wait here
    not_full: Condvar,  // producers wait here
}

impl Buffer {
    /// Returns how many times the caller woke up to a buffer still full.
    fn push(&self, item: u64) -> u64 {
        let mut queue = self.queue.lock().unwrap();
        let mut rewaits = 0;
        let mut waited = false;
        while queue.len() == CAPACITY {
            rewaits += u64::from(waited); // woken, and still full
            queue = self.not_full.wait(queue).unwrap();
            waited = true;
        }
        queue.push_back(item);
        drop(queue); // notify after the change, which happened under the lock
        self.not_empty.notify_one();
        rewaits
    }

    /// Returns the item (None: the end marker) and how many times the
    /// caller woke up to a buffer still empty.
    fn pop(&self) -> (Option<u64>, u64) {
        let mut queue = self.queue.lock().unwrap();
        let mut rewaits = 0;
        let mut waited = false;
        while queue.is_empty() {
            rewaits += u64::from(waited); // woken, and still empty
            queue = self.not_empty.wait(queue).unwrap();
            waited = true;
        }
        let item = queue.pop_front().unwrap(); // safe: the loop checked
        drop(queue);
        self.not_full.notify_one();
        (if item == u64::MAX { None } else { Some(item) }, rewaits)
    }
}
// ANCHOR_END: buffer

fn main() {
    // ANCHOR: main
    let buffer = Buffer { queue: Mutex::new(VecDeque::new()), not_empty: Condvar::new(), not_full: Condvar::new() };
    let (mut producer_rewaits, mut consumer_rewaits, mut sum, mut count) = (0, 0, 0u64, 0u64);
    thread::scope(|s| {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let buffer = &buffer;
                s.spawn(move || (1..=PER_PRODUCER).map(|i| buffer.push(p * PER_PRODUCER + i)).sum::<u64>())
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let buffer = &buffer;
                s.spawn(move || {
                    let (mut sum, mut count, mut rewaits) = (0, 0, 0);
                    loop {
                        let (item, r) = buffer.pop();
                        rewaits += r;
                        match item {
                            Some(v) => (sum, count) = (sum + v, count + 1),
                            None => return (sum, count, rewaits),
                        }
                    }
                })
            })
            .collect();
        for p in producers {
            producer_rewaits += p.join().unwrap();
        }
        for _ in 0..CONSUMERS {
            buffer.push(u64::MAX); // one end marker per consumer
        }
        for c in consumers {
            let (s, n, r) = c.join().unwrap();
            (sum, count, consumer_rewaits) = (sum + s, count + n, consumer_rewaits + r);
        }
    });
    // ANCHOR_END: main
    let total = PRODUCERS * PER_PRODUCER;
    let expected: u64 = (1..=total).sum();
    println!("{PRODUCERS} producers, {CONSUMERS} consumers, {total} items through a buffer of {CAPACITY}");
    println!("items consumed: {count} of {total}; sum {} the sum produced", if sum == expected { "equals" } else { "DIFFERS FROM" });
    println!("consumers woke to a buffer still empty {consumer_rewaits} times");
    println!("producers woke to a buffer still full {producer_rewaits} times");
    println!("(each of those is a wake-up an `if` instead of `while` would have trusted)");
}
