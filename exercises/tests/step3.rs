//! Step 3: graceful shutdown. (The no-spinning test is in step3_idle.rs: it
//! measures the whole process, so it runs alone in its own test binary.)

mod common;

use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn step3_drop_runs_every_queued_job() {
    graded(|t| {
        let pool = t.pool(2);
        let gate = Gate::new();
        let blockers_done = Arc::new(AtomicUsize::new(0));
        t.stage("submitting 2 jobs that keep both workers busy", "execute must queue the job and return");
        for _ in 0..2 {
            let gate = gate.clone();
            let blockers_done = Arc::clone(&blockers_done);
            pool.execute(move || {
                gate.enter();
                std::thread::sleep(Duration::from_millis(5));
                blockers_done.fetch_add(1, Ordering::SeqCst);
            });
        }
        check(gate.wait_for(2) == 2, || "the 2 jobs of a pool of 2 did not run at the same time (see step 2)".into());
        let queued_done = Arc::new(AtomicUsize::new(0));
        t.stage("submitting 30 jobs behind them", "execute must queue the job and return");
        for _ in 0..30 {
            let queued_done = Arc::clone(&queued_done);
            pool.execute(move || {
                std::thread::sleep(Duration::from_millis(1));
                queued_done.fetch_add(1, Ordering::SeqCst);
            });
        }
        // The running jobs finish 100 ms after drop starts: drop must wait.
        gate.open_after(Duration::from_millis(100));
        t.shutdown(pool, "dropping a pool with 2 jobs running and 30 queued", DROP_HINT);
        let running = blockers_done.load(Ordering::SeqCst);
        check(running == 2, || {
            format!(
                "dropping the pool returned while {} job(s) were still running: drop must wait for the workers \
                 (join every JoinHandle) before it returns",
                2 - running
            )
        });
        let queued = queued_done.load(Ordering::SeqCst);
        check(queued == 30, || {
            format!(
                "dropping the pool returned after only {queued} of the 30 queued jobs ran: a job that was accepted \
                 must run. Close the queue (drop the Sender) and let each worker finish what is left before it \
                 stops, rather than telling the workers to quit at once"
            )
        });
    });
}

#[test]
fn step3_drop_joins_every_worker() {
    graded(|t| {
        let pool = t.pool(3);
        let exits = ExitCounter::new();
        let gate = Gate::new();
        t.stage("submitting one job per worker", "execute must queue the job and return");
        for _ in 0..3 {
            let exits = exits.clone();
            let gate = gate.clone();
            pool.execute(move || {
                exits.watch_this_thread();
                gate.enter();
            });
        }
        let inside = gate.wait_for(3);
        gate.open();
        check(inside == 3, || format!("only {inside} of 3 jobs ran at once on a pool of 3 (see step 2)"));
        t.shutdown(pool, "dropping a pool of 3 idle workers", DROP_HINT);
        let exited = exits.exited();
        check(exited == 3, || {
            format!(
                "dropping the pool returned while {} of its 3 worker threads were still alive: drop must join \
                 every worker (JoinHandle::join) after closing the queue, so nothing of the pool outlives it",
                3 - exited
            )
        });
    });
}

#[test]
fn step3_drop_of_an_idle_pool_returns() {
    graded(|t| {
        let unused = t.pool(4);
        t.shutdown(
            unused,
            "dropping a pool that never ran a job",
            "the workers are blocked waiting for a job: drop must wake them (close the queue by dropping the \
             Sender, so their recv returns Err) before it joins them",
        );
        let pool = t.pool(2);
        let done = Counter::new();
        for _ in 0..4 {
            let done = done.clone();
            pool.execute(move || done.bump());
        }
        check(done.wait_for(4) == 4, || "4 jobs did not all run (see step 2)".into());
        t.shutdown(
            pool,
            "dropping a pool whose jobs are all done",
            "the workers are blocked waiting for the next job: drop must close the queue so each worker's loop \
             ends, then join them",
        );
    });
}

#[test]
fn step3_many_pools_come_and_go() {
    graded(|t| {
        let done = Counter::new();
        for i in 0..20 {
            let pool = t.pool(1 + i % 4);
            for _ in 0..5 {
                let done = done.clone();
                pool.execute(move || done.bump());
            }
            t.shutdown(pool, &format!("dropping pool number {} of 20", i + 1), DROP_HINT);
            check(done.get() == 5 * (i + 1), || {
                format!("after dropping pool {} of 20, {} of its 5 jobs had run: drop must run every queued job", i + 1, done.get() - 5 * i)
            });
        }
    });
}

const WAKE_HINT: &str = "a worker waiting for a job must be woken by every job that arrives, and must look at \
     the queue before it goes back to sleep: push the job, then notify, both under the queue's lock, and wait \
     in a loop (`while queue.is_empty() { guard = condvar.wait(guard) }`), never an `if`";

/// Jobs sent one at a time to an idle pool. A lost wake-up that needs a
/// narrow race (a notification sent just before the job is queued) loses
/// it on a fraction of the jobs; many jobs make that fraction count.
const ROUNDS: usize = 100;

#[test]
fn step3_idle_workers_wake_for_every_job() {
    graded(|t| {
        let pool = t.pool(4);
        let done = Counter::new();
        // One job at a time to an idle pool, each with its own deadline: a
        // wake-up that gets lost leaves its job in the queue with every
        // worker asleep, and nothing else arrives to wake one.
        for k in 1..=ROUNDS {
            t.stage(format!("waiting for job {k} of {ROUNDS}, each submitted alone to an idle pool of 4"), WAKE_HINT);
            let job_done = done.clone();
            pool.execute(move || job_done.bump());
            let ran = done.wait_for(k);
            check(ran == k, || {
                format!(
                    "job {k} of {ROUNDS}, submitted alone to an idle pool of 4, did not run within {WAIT:?}: the \
                     workers slept through its arrival (a lost wake-up). Usual causes: notifying before the job \
                     is in the queue, or outside the queue's lock; waiting without first checking the queue; \
                     `if` instead of `while` around Condvar::wait"
                )
            });
            // Let the worker go back to sleep: the next job finds the pool idle.
            std::thread::sleep(Duration::from_millis(1));
        }
        // Jobs queued while every worker is busy: their notifications reach
        // nobody, so a worker must look at the queue when its job is done.
        for round in 1..=5 {
            let gate = Gate::new();
            t.stage(format!("round {round} of 5: keeping all 4 workers busy"), WAKE_HINT);
            for _ in 0..4 {
                let gate = gate.clone();
                pool.execute(move || gate.enter());
            }
            let inside = gate.wait_for(4);
            if inside < 4 {
                gate.open();
                fail(format!(
                    "after jobs arrived one at a time, only {inside} of 4 jobs could run at once on a pool of 4 \
                     (waited {WAIT:?}): workers stopped, or slept through a job's arrival. A worker woken with \
                     nothing in the queue (another took the job, or notify_all woke them all) must wait again, \
                     not quit: `while`, not `if`, around Condvar::wait, and quit only when the pool is shutting \
                     down and the queue is empty. And a job must be in the queue before its notification goes \
                     out: push, then notify, both under the queue's lock"
                ));
            }
            let before = done.get();
            for _ in 0..4 {
                let job_done = done.clone();
                pool.execute(move || job_done.bump());
            }
            t.stage(format!("round {round} of 5: waiting for 4 jobs queued while all workers were busy"), WAKE_HINT);
            gate.open();
            let ran = done.wait_for(before + 4);
            check(ran == before + 4, || {
                format!(
                    "{} of 4 jobs queued while every worker was busy did not run within {WAIT:?} after the \
                     workers became free: a worker that finishes a job must look at the queue before it waits \
                     (a notification sent while nobody waits is lost)",
                    before + 4 - ran
                )
            });
        }
    });
}
