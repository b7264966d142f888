//! Ten tasks that each wait 100 ms, four ways. A task gives its worker
//! thread back only at an `.await`; a blocking call keeps the thread. Then,
//! on the multi-thread runtime, which tasks a blocked worker holds up and
//! which the other worker takes over. Bounded: about three seconds in all.
use std::time::{Duration, Instant};
use tokio::runtime::{Builder, Runtime};

const TASKS: u32 = 10;
const WAIT: Duration = Duration::from_millis(100);
const BLOCK: Duration = Duration::from_millis(500);

// ANCHOR: run
/// Spawns TASKS copies of `task` on `rt`, waits for all of them, and
/// prints the total time and when each one finished.
fn run<F, Fut>(what: &str, rt: &Runtime, task: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let start = Instant::now();
    let finished: Vec<u128> = rt.block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                let t = task();
                tokio::spawn(async move {
                    t.await;
                    start.elapsed().as_millis()
                })
            })
            .collect();
        let mut at = Vec::new();
        for h in handles {
            at.push(h.await.unwrap());
        }
        at.sort();
        at
    });
    let at: Vec<String> = finished.iter().map(|ms| format!("{ms} ms")).collect();
    println!("{what}");
    println!("  all {TASKS} done after {} ms; each finished at: {}", start.elapsed().as_millis(), at.join(", "));
}
// ANCHOR_END: run

// ANCHOR: lifo
/// On the multi-thread runtime, one task spawns five short tasks and then
/// blocks its worker thread. Prints when each short task ran, and whether it
/// ran on the blocked worker or on the other one.
fn blocked_worker(rt: &Runtime) {
    let ran: Vec<(u32, u128, bool)> = rt.block_on(async {
        let spawner = tokio::spawn(async {
            let blocked = std::thread::current().id();
            let start = Instant::now();
            // Spawned from a worker: each new task goes to this worker's
            // LIFO slot, pushing the one before it into its run queue.
            let short: Vec<_> = (0..5)
                .map(|i| {
                    tokio::spawn(async move {
                        let here = std::thread::current().id() == blocked;
                        (i, start.elapsed().as_millis(), here)
                    })
                })
                .collect();
            std::thread::sleep(BLOCK); // this worker is stuck until BLOCK ends
            short
        });
        let mut ran = Vec::new();
        for h in spawner.await.unwrap() {
            ran.push(h.await.unwrap());
        }
        ran
    });
    println!("multi-thread runtime, 2 workers: a task spawns 5 short tasks, then std::thread::sleep({} ms)", BLOCK.as_millis());
    for (i, ms, on_blocked) in ran {
        let worker = if on_blocked { "the blocked worker" } else { "the other worker" };
        println!("  task {i} ran at {ms} ms, on {worker}");
    }
}
// ANCHOR_END: lifo

fn main() {
    // ANCHOR: four
    let one_thread = Builder::new_current_thread().enable_time().build().unwrap();
    let two_workers = Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap();

    run("current-thread runtime, tokio::time::sleep(100 ms).await", &one_thread, || async {
        tokio::time::sleep(WAIT).await; // the task is parked; the thread runs the others
    });
    run("current-thread runtime, std::thread::sleep(100 ms)", &one_thread, || async {
        std::thread::sleep(WAIT); // the only thread sleeps; no other task can run
    });
    run("multi-thread runtime, 2 workers, std::thread::sleep(100 ms)", &two_workers, || async {
        std::thread::sleep(WAIT); // each worker is stuck in turn; 2 tasks at a time
    });
    run("current-thread runtime, std::thread::sleep(100 ms) in spawn_blocking", &one_thread, || async {
        // Moved to tokio's pool of blocking threads; the task awaits the result.
        tokio::task::spawn_blocking(|| std::thread::sleep(WAIT)).await.unwrap();
    });
    // ANCHOR_END: four
    blocked_worker(&two_workers);
}
