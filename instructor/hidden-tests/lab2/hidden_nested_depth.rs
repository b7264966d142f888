//! Nesting depth: a chain of 500 jobs, each spawning the next on its own
//! pool and handing its JobHandle back to the test, which joins them all.

mod common;

use common::{eventually, within};
use exercises::{JobHandle, ThreadPool};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;

const DEPTH: usize = 500;

fn link(pool: Arc<ThreadPool>, depth: usize, handles: Sender<JobHandle<usize>>) -> usize {
    if depth < DEPTH {
        let next_pool = Arc::clone(&pool);
        let next_handles = handles.clone();
        let handle = pool.spawn(move || link(next_pool, depth + 1, next_handles));
        let _ = handles.send(handle);
    }
    depth
}

#[test]
fn hidden_a_chain_of_nested_spawns_runs_to_the_end() {
    within("joining a chain of 500 jobs each spawned by the one before", || {
        for threads in [1, 2, 5] {
            let pool = Arc::new(ThreadPool::new(threads));
            let (tx, rx) = mpsc::channel();
            let first = {
                let pool2 = Arc::clone(&pool);
                pool.spawn(move || link(pool2, 1, tx))
            };
            assert_eq!(first.join().expect("job 1 panicked"), 1);
            // A job's successor may hand over its own successor's handle
            // first: collect them all, then check each gave its own depth.
            let mut depths: Vec<usize> = (2..=DEPTH)
                .map(|_| {
                    let handle = rx.recv().unwrap_or_else(|_| panic!("on a pool of {threads}, a job of the chain never spawned the next"));
                    handle.join().unwrap_or_else(|_| panic!("on a pool of {threads}, a job of the chain panicked"))
                })
                .collect();
            depths.sort();
            assert!(
                depths.iter().copied().eq(2..=DEPTH),
                "on a pool of {threads}, the 499 handles of the chain gave the wrong results: each handle must give its own job's value"
            );
            // Each job held a clone of the Arc: drop the pool here, not on a worker.
            assert!(eventually(|| Arc::strong_count(&pool) == 1), "finished jobs still hold their captured values: drop each job once it has run");
            drop(Arc::try_unwrap(pool).ok().expect("the test holds the last reference"));
        }
    });
}
