//! Step 2: the workers and the queue.

mod common;

use common::*;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

const SUBMIT_HINT: &str = "execute must put the job in the queue and return at once";

#[test]
fn step2_threads_jobs_run_at_once() {
    graded(|t| {
        for n in [2, 4, 64] {
            let pool = t.pool(n);
            let gate = Gate::new();
            t.stage(format!("submitting {n} jobs that wait for each other"), SUBMIT_HINT);
            for _ in 0..n {
                let gate = gate.clone();
                pool.execute(move || gate.enter());
            }
            t.stage(
                format!("waiting for {n} jobs to run at the same time on a pool of {n}"),
                "each worker must run its own job while the others run theirs",
            );
            let inside = gate.wait_for(n);
            gate.open();
            check(inside == n, || {
                format!(
                    "only {inside} of {n} jobs were running at the same time on a pool of {n} (waited {WAIT:?}). \
                     Usual causes: fewer workers started than asked for, or a worker keeps the queue's lock \
                     while it runs its job (the MutexGuard must be dropped before calling the job)"
                )
            });
        }
    });
}

#[test]
fn step2_extra_job_waits_for_a_free_worker() {
    graded(|t| {
        let pool = t.pool(2);
        let gate = Gate::new();
        t.stage("submitting 2 jobs that keep both workers busy", SUBMIT_HINT);
        for _ in 0..2 {
            let gate = gate.clone();
            pool.execute(move || gate.enter());
        }
        let inside = gate.wait_for(2);
        check(inside == 2, || {
            format!("only {inside} of 2 jobs started on a pool of 2: both workers must run a job at the same time")
        });
        let started = Arc::new(AtomicBool::new(false));
        let done = Counter::new();
        t.stage("submitting a third job while both workers are busy", SUBMIT_HINT);
        {
            let started = Arc::clone(&started);
            let done = done.clone();
            pool.execute(move || {
                started.store(true, Ordering::SeqCst);
                done.bump();
            });
        }
        // It must not start while both workers are busy. (A correct pool can
        // never fail this; a thread per job fails it at once.)
        let jumped = eventually(Duration::from_millis(300), || started.load(Ordering::SeqCst));
        gate.open();
        check(!jumped, || {
            "a third job started while both workers of a pool of 2 were busy: jobs beyond the pool's size must \
             wait in the queue for a free worker. Does execute start a new thread for each job?"
                .into()
        });
        t.stage("waiting for the queued job once a worker is free", "a worker that finishes a job takes the next one");
        check(done.wait_for(1) == 1, || {
            format!("the queued job did not run within {WAIT:?} after the workers became free: each worker must loop, taking job after job")
        });
    });
}

#[test]
fn step2_workers_are_reused() {
    graded(|t| {
        let caller = thread::current().id();
        let pool = t.pool(3);
        let seen = Arc::new(Mutex::new(HashSet::new()));
        let done = Counter::new();
        t.stage("submitting 60 jobs that note the thread they run on", SUBMIT_HINT);
        for _ in 0..60 {
            let seen = Arc::clone(&seen);
            let done = done.clone();
            pool.execute(move || {
                seen.lock().unwrap().insert(thread::current().id());
                done.bump();
            });
        }
        t.stage("waiting for 60 jobs to run", "every job given to execute must run, on one of the workers");
        let ran = done.wait_for(60);
        check(ran == 60, || format!("only {ran} of 60 jobs ran within {WAIT:?}: jobs are being lost or stuck"));
        let seen = seen.lock().unwrap();
        check(!seen.contains(&caller), || "a job ran on the thread that called execute".into());
        check(seen.len() <= 3, || {
            format!(
                "60 jobs ran on {} different threads, on a pool of 3: start the workers once, in build, and let \
                 each of them run job after job (starting a thread per job is what a pool avoids)",
                seen.len()
            )
        });
    });
}

#[test]
fn step2_no_job_is_lost() {
    graded(|t| {
        let pool = t.pool(3);
        let done = Counter::new();
        t.stage("submitting 1000 jobs as fast as possible", SUBMIT_HINT);
        for _ in 0..1000 {
            let done = done.clone();
            pool.execute(move || done.bump());
        }
        t.stage("waiting for 1000 jobs to run", "every job given to execute must run exactly once");
        let ran = done.wait_for(1000);
        check(ran == 1000, || {
            format!(
                "only {ran} of 1000 jobs ran (waited {WAIT:?}): jobs must never be dropped, even when all workers \
                 are busy. An unbounded queue (std::sync::mpsc::channel, or a VecDeque behind a Mutex) keeps \
                 every job until a worker takes it. If your workers wait on a Condvar, a worker that wakes to an \
                 empty queue must wait again (a `while` loop around wait), not stop"
            )
        });
    });
}

#[test]
fn step2_jobs_start_in_submission_order() {
    graded(|t| {
        let pool = t.pool(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let done = Counter::new();
        t.stage("submitting 50 numbered jobs to a pool of 1", SUBMIT_HINT);
        for i in 0..50 {
            let order = Arc::clone(&order);
            let done = done.clone();
            pool.execute(move || {
                order.lock().unwrap().push(i);
                done.bump();
            });
        }
        t.stage("waiting for 50 jobs on a pool of 1", "a single worker runs every job, one after the other");
        let ran = done.wait_for(50);
        check(ran == 50, || format!("only {ran} of 50 jobs ran on a pool of 1 within {WAIT:?}"));
        let order = order.lock().unwrap();
        check(order.windows(2).all(|w| w[0] < w[1]), || {
            format!("a pool of 1 ran jobs 0..50 in the order {order:?}: the queue must be first in, first out")
        });
    });
}

#[test]
fn step2_execute_never_waits_for_room() {
    // A longer watchdog: a correct pool that hands each job over slowly
    // (a dispatcher thread, say) needs a few seconds for the whole backlog.
    graded_within(LIMIT * 2, |t| {
        // Both workers are kept busy while the test submits far more jobs
        // than any bounded queue a pool would choose: execute must return
        // every time, at once, however many jobs are waiting.
        const JOBS: usize = 20_000;
        let pool = Arc::new(t.pool(2));
        let gate = Gate::new();
        t.stage("submitting 2 jobs that keep both workers busy", SUBMIT_HINT);
        for _ in 0..2 {
            let gate = gate.clone();
            pool.execute(move || gate.enter());
        }
        let inside = gate.wait_for(2);
        check(inside == 2, || format!("only {inside} of 2 jobs started on a pool of 2 (see step2_threads_jobs_run_at_once)"));
        t.stage(
            format!("submitting {JOBS} jobs while both workers are busy"),
            "execute must never wait for room in the queue: use an unbounded queue",
        );
        let queued = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let (submitted_tx, submitted_rx) = mpsc::channel();
        {
            let (pool, queued, ran) = (Arc::clone(&pool), Arc::clone(&queued), Arc::clone(&ran));
            thread::spawn(move || {
                for _ in 0..JOBS {
                    let ran = Arc::clone(&ran);
                    pool.execute(move || {
                        ran.fetch_add(1, Ordering::Relaxed);
                    });
                    queued.fetch_add(1, Ordering::Relaxed);
                }
                let _ = submitted_tx.send(());
            });
        }
        let returned = submitted_rx.recv_timeout(WAIT).is_ok();
        gate.open();
        check(returned, || {
            format!(
                "with both workers busy, execute stopped returning after {} jobs were queued (waited {WAIT:?}): \
                 execute must never wait for room. A bounded queue (sync_channel(n), or a VecDeque with a size \
                 limit), whatever its size, makes the caller wait for a worker; use an unbounded one \
                 (std::sync::mpsc::channel)",
                queued.load(Ordering::Relaxed)
            )
        });
        t.stage(format!("waiting for the {JOBS} queued jobs"), "every job given to execute must run exactly once");
        // However slowly a correct pool works through the backlog, the count
        // keeps moving; it stops only if jobs are lost or stuck.
        let mut seen = 0;
        while eventually(WAIT, || ran.load(Ordering::Relaxed) > seen) {
            seen = ran.load(Ordering::Relaxed);
            if seen == JOBS {
                break;
            }
        }
        check(seen == JOBS, || {
            format!(
                "only {seen} of {JOBS} queued jobs ran, and no more within {WAIT:?}, after the workers became \
                 free: jobs are lost or stuck. Every job execute accepts must run; a queue that drops jobs when \
                 it is full loses them"
            )
        });
        t.stage("waiting for the submitting thread to let go of the pool", "a job's closure must be dropped once it has run");
        check(eventually(WAIT, || Arc::strong_count(&pool) == 1), || "the submitting thread never let go of the pool".into());
    });
}

#[test]
fn step2_a_free_worker_takes_the_next_job() {
    graded(|t| {
        // Three of four workers are kept busy; jobs submitted one at a time
        // must each run on the fourth, at once. A pool that deals jobs out to
        // the workers in turn (a queue per worker) leaves every other job
        // behind a busy worker while a free one idles.
        let pool = t.pool(4);
        let gate = Gate::new();
        t.stage("submitting 3 jobs that keep 3 of 4 workers busy", SUBMIT_HINT);
        for _ in 0..3 {
            let gate = gate.clone();
            pool.execute(move || gate.enter());
        }
        let inside = gate.wait_for(3);
        check(inside == 3, || format!("only {inside} of 3 jobs started on a pool of 4 (see step2_threads_jobs_run_at_once)"));
        let done = Counter::new();
        for k in 1..=40 {
            t.stage(
                format!("waiting for job {k} of 40, submitted while 3 of 4 workers are busy"),
                "a job must wait only until some worker is free, not for one particular worker",
            );
            let job_done = done.clone();
            pool.execute(move || job_done.bump());
            let ran = done.wait_for(k);
            if ran < k {
                gate.open();
                fail(format!(
                    "job {k} of 40, submitted one at a time while 3 of 4 workers were busy, did not run within \
                     {WAIT:?}, though the fourth worker was free: any free worker must take the next job. Giving \
                     each worker its own queue (and dealing jobs out in turn) makes a job wait behind a busy \
                     worker; let all workers take jobs from one shared queue"
                ));
            }
        }
        gate.open();
    });
}
