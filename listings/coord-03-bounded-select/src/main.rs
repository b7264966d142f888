//! What a full bounded channel does to its producer (it waits, at the
//! consumer's pace), what an unbounded one does instead (it lets the queue
//! grow), and select! over two channels with a timeout. Under a second.
use crossbeam::channel::{self, TrySendError};
use crossbeam::select;
use std::thread;
use std::time::{Duration, Instant};

const PACE: Duration = Duration::from_millis(50);

fn main() {
    // ANCHOR: bounded
    let (tx, rx) = channel::bounded::<u32>(2);
    tx.send(0).unwrap();
    tx.send(1).unwrap(); // two slots, both full now
    match tx.try_send(2) {
        Err(TrySendError::Full(n)) => println!("try_send({n}): Full, the value comes back to the sender"),
        other => println!("try_send(2): {other:?}"),
    }

    // A consumer that takes one item every 50 ms.
    let consumer = thread::spawn(move || {
        let mut got = Vec::new();
        for n in rx {
            thread::sleep(PACE);
            got.push(n);
        }
        got
    });
    let start = Instant::now();
    let mut returned_at = Vec::new();
    for n in 2..6 {
        tx.send(n).unwrap(); // blocks while both slots are taken
        returned_at.push((n, start.elapsed()));
    }
    drop(tx);
    let got = consumer.join().unwrap();
    // ANCHOR_END: bounded
    for (n, at) in returned_at {
        println!("send({n}) returned after {} ms", at.as_millis());
    }
    println!("consumer got {got:?}: nothing lost, nothing reordered");
    println!();

    // ANCHOR: unbounded
    let (tx, rx) = channel::unbounded::<u32>();
    let start = Instant::now();
    for n in 0..100_000 {
        tx.send(n).unwrap(); // never waits: the queue grows instead
    }
    println!(
        "unbounded: 100000 sends in {} ms, {} items queued, nobody has received one yet",
        start.elapsed().as_millis(),
        rx.len()
    );
    // ANCHOR_END: unbounded
    println!();

    // ANCHOR: select
    let (fast_tx, fast) = channel::unbounded::<&str>();
    let (slow_tx, slow) = channel::unbounded::<&str>();
    let (fast_tx2, slow_tx2) = (fast_tx.clone(), slow_tx.clone());
    let a = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        fast_tx2.send("fast result").unwrap();
    });
    let b = thread::spawn(move || {
        thread::sleep(Duration::from_millis(600));
        slow_tx2.send("slow result").unwrap();
    });
    println!("select! over a fast and a slow channel, waiting at most 250, 250, then 2000 ms:");
    let start = Instant::now();
    for patience in [250, 250, 2000] {
        select! {
            recv(fast) -> msg => println!("  {:?} from the fast channel", msg.unwrap()),
            recv(slow) -> msg => println!("  {:?} from the slow channel", msg.unwrap()),
            default(Duration::from_millis(patience)) => {
                println!("  nothing on either channel within {patience} ms: timed out")
            }
        }
    }
    // ANCHOR_END: select
    println!("three select! rounds took {} ms in all", start.elapsed().as_millis());
    a.join().unwrap();
    b.join().unwrap();
    drop((fast_tx, slow_tx));
}
