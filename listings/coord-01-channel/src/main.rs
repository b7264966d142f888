//! Message passing with std::sync::mpsc: a value moves through the channel
//! (its heap buffer is not copied), several producers share one receiver,
//! and the receiver's loop ends only when the last sender is gone.
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const PRODUCERS: usize = 3;
const EACH: u32 = 4;

fn main() {
    // ANCHOR: move
    let (tx, rx) = mpsc::channel::<Vec<u32>>();
    let producer = thread::spawn(move || {
        let batch = vec![1, 2, 3];
        let sent_from = batch.as_ptr() as usize; // where its elements live
        tx.send(batch).unwrap(); // `send` takes the Vec by value: it moves
        sent_from
    });
    let batch = rx.recv().unwrap();
    let sent_from = producer.join().unwrap();
    // ANCHOR_END: move
    println!("received {batch:?}");
    println!(
        "its elements are where the producer put them ({:#x}): {}",
        sent_from,
        if sent_from == batch.as_ptr() as usize { "moved, not copied" } else { "copied" }
    );
    println!();

    // ANCHOR: producers
    let (tx, rx) = mpsc::channel::<(usize, u32)>();
    let mut producers = Vec::new();
    for id in 0..PRODUCERS {
        let tx = tx.clone(); // each producer owns a Sender of its own
        producers.push(thread::spawn(move || {
            for n in 0..EACH {
                tx.send((id, n)).unwrap();
            }
        })); // the producer's Sender is dropped when its thread ends
    }
    drop(tx); // main's Sender too, or the loop below would never end

    let mut got: Vec<Vec<u32>> = vec![Vec::new(); PRODUCERS];
    for (id, n) in rx {
        // `for` calls recv() until it returns Err: every Sender is gone
        got[id].push(n);
    }
    // ANCHOR_END: producers
    for p in producers {
        p.join().unwrap();
    }
    for (id, values) in got.iter().enumerate() {
        let in_order = values.windows(2).all(|w| w[0] < w[1]);
        println!(
            "producer {id}: {} messages received, in the order it sent them: {}",
            values.len(),
            if in_order { "yes" } else { "no" }
        );
    }
    println!("the receiving loop ended: every Sender had been dropped");
    println!();

    // ANCHOR: forgotten
    let (tx, rx) = mpsc::channel::<u32>();
    let worker_tx = tx.clone();
    thread::spawn(move || worker_tx.send(7).unwrap()).join().unwrap();
    // `tx` is still alive here: the channel is not disconnected.
    println!("first recv: {:?}", rx.recv_timeout(Duration::from_millis(200)));
    println!("second recv: {:?}", rx.recv_timeout(Duration::from_millis(200)));
    drop(tx);
    println!("after drop(tx): {:?}", rx.recv_timeout(Duration::from_millis(200)));
    // ANCHOR_END: forgotten
}
