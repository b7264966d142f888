//! Many pools at once: each keeps to its own workers, each runs as many jobs
//! at once as it has workers, and dropping one does not disturb the others.

mod common;

use common::{eventually, within};
use exercises::ThreadPool;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

#[test]
fn hidden_pools_side_by_side_keep_to_their_own_workers() {
    within("six pools ran side by side", || {
        const POOLS: usize = 6;
        const THREADS: usize = 3;
        let seen: Arc<Vec<Mutex<HashSet<thread::ThreadId>>>> = Arc::new((0..POOLS).map(|_| Mutex::new(HashSet::new())).collect());
        let start = Arc::new(Barrier::new(POOLS));
        let drivers: Vec<_> = (0..POOLS)
            .map(|p| {
                let seen = Arc::clone(&seen);
                let start = Arc::clone(&start);
                thread::spawn(move || {
                    let pool = ThreadPool::new(THREADS);
                    start.wait();
                    // Every pool at once: THREADS jobs that can only finish together.
                    let meet = Arc::new(Barrier::new(THREADS));
                    let met = Arc::new(AtomicUsize::new(0));
                    for _ in 0..THREADS {
                        let (meet, met) = (Arc::clone(&meet), Arc::clone(&met));
                        pool.execute(move || {
                            meet.wait();
                            met.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                    assert!(
                        eventually(|| met.load(Ordering::SeqCst) == THREADS),
                        "pool {p} of {POOLS} (each of {THREADS} workers, all busy at once) did not run {THREADS} jobs at the same time"
                    );
                    for _ in 0..200 {
                        let seen = Arc::clone(&seen);
                        pool.execute(move || {
                            seen[p].lock().unwrap().insert(thread::current().id());
                        });
                    }
                    // Pools are dropped while others still work.
                    drop(pool);
                })
            })
            .collect();
        for d in drivers {
            d.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        }
        let mut all = HashSet::new();
        for (p, ids) in seen.iter().enumerate() {
            let ids = ids.lock().unwrap();
            assert!(!ids.is_empty(), "pool {p}: its 200 jobs ran nowhere before drop returned");
            assert!(ids.len() <= THREADS, "pool {p} of {THREADS} workers ran its jobs on {} threads", ids.len());
            for id in ids.iter() {
                assert!(all.insert(*id), "a thread ran jobs of two different pools: each pool must have workers of its own (no global queue or shared workers)");
            }
        }
    });
}
