//! A crossbeam channel has many consumers: each worker clones the Receiver,
//! no Mutex needed. Every job is taken by exactly one worker; how the jobs
//! split between workers is up to timing. std's mpsc version of the same
//! thing needs Arc<Mutex<Receiver>> (Listing 6.1).
use crossbeam::channel;
use std::thread;
use std::time::Duration;

const WORKERS: usize = 3;
const JOBS: u32 = 30;

fn main() {
    // ANCHOR: workers
    let (jobs_tx, jobs_rx) = channel::unbounded::<u32>();
    let (done_tx, done_rx) = channel::unbounded::<(usize, u32)>();
    let mut workers = Vec::new();
    for id in 0..WORKERS {
        let jobs = jobs_rx.clone(); // a second, third... consumer
        let done = done_tx.clone();
        workers.push(thread::spawn(move || {
            for job in jobs {
                // ends when the channel is empty and every Sender is gone
                thread::sleep(Duration::from_millis(2)); // the "work"
                done.send((id, job)).unwrap();
            }
        }));
    }
    drop((jobs_rx, done_tx)); // main keeps only what it uses

    for job in 0..JOBS {
        jobs_tx.send(job).unwrap();
    }
    drop(jobs_tx); // no more jobs: the workers' loops end

    let mut taken_by = [0u32; WORKERS];
    let mut seen = vec![0u32; JOBS as usize];
    for (id, job) in done_rx {
        taken_by[id] += 1;
        seen[job as usize] += 1;
    }
    // ANCHOR_END: workers
    for w in workers {
        w.join().unwrap();
    }
    println!("{JOBS} jobs through one crossbeam channel, {WORKERS} workers each holding a clone of the Receiver");
    for (id, n) in taken_by.iter().enumerate() {
        println!("  worker {id} took {n} jobs");
    }
    let exactly_once = seen.iter().all(|&n| n == 1);
    println!("every job done exactly once: {}", if exactly_once { "yes" } else { "NO" });
}
