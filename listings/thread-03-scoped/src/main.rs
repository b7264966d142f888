//! thread::scope: threads that borrow local data, no Arc, no 'static.
use std::thread;

fn main() {
    // ANCHOR: scope
    let readings: Vec<u32> = (1..=12).collect(); // a plain local, not an Arc
    let mut doubled = vec![0u32; readings.len()];

    let (total, largest) = thread::scope(|s| {
        // Two readers borrow `readings` immutably at the same time.
        let sum = s.spawn(|| readings.iter().sum::<u32>());
        let max = s.spawn(|| *readings.iter().max().unwrap());

        // Writers borrow disjoint halves of `doubled` mutably: each thread
        // gets its own &mut slice, so no two threads touch the same element.
        let (left, right) = doubled.split_at_mut(readings.len() / 2);
        let (in_left, in_right) = readings.split_at(readings.len() / 2);
        for (out, inp) in [(left, in_left), (right, in_right)] {
            s.spawn(move || {
                for (o, i) in out.iter_mut().zip(inp) {
                    *o = i * 2;
                }
            });
        }

        (sum.join().unwrap(), max.join().unwrap())
    }); // every thread spawned on `s` is joined here, before scope returns

    // The borrows have ended, so main may use both vectors again.
    println!("total {total}, largest {largest}");
    println!("doubled {doubled:?}");
    // ANCHOR_END: scope
}
