//! Step 1: build, new, threads; a job runs on a pool thread.

mod common;

use common::*;
use exercises::{PoolCreationError, ThreadPool};
use std::panic;
use std::sync::mpsc;
use std::thread;

#[test]
fn step1_build_refuses_zero_threads() {
    graded(|t| {
        t.stage("calling ThreadPool::build(0)", "build must check its argument before it starts anything");
        match ThreadPool::build(0) {
            Ok(pool) => {
                std::mem::forget(pool);
                fail(
                    "ThreadPool::build(0) returned Ok: a pool with no worker would accept jobs and never run \
                     them. Return Err(PoolCreationError { .. }) when threads is 0.",
                )
            }
            Err(error) => {
                t.stage("printing the PoolCreationError", "implement Display for PoolCreationError: one sentence");
                let text = error.to_string();
                check(!text.trim().is_empty(), || {
                    "build(0)'s PoolCreationError prints as an empty string: say what went wrong \
                     (a pool needs at least one thread)"
                        .into()
                });
                // It works wherever a standard error is expected.
                let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(error.clone());
                check(boxed.to_string() == text, || "PoolCreationError's Display changed when boxed".into());
                let again: PoolCreationError = ThreadPool::build(0).err().unwrap_or_else(|| {
                    fail("ThreadPool::build(0) returned Err once, then Ok: it must refuse 0 every time")
                });
                check(again == error, || {
                    format!("two calls to build(0) gave different errors: {again:?} and {error:?}")
                });
            }
        }
    });
}

#[test]
fn step1_new_zero_panics_with_a_message() {
    graded(|t| {
        t.stage("calling ThreadPool::new(0)", "new(0) must panic, with a message saying why");
        match panic::catch_unwind(|| ThreadPool::new(0)) {
            Ok(pool) => {
                std::mem::forget(pool);
                fail("ThreadPool::new(0) returned a pool: it must panic when threads is 0 (see its doc comment)")
            }
            Err(payload) => {
                let text = payload_text(&*payload);
                if text.starts_with("not yet implemented") {
                    panic::resume_unwind(payload);
                }
                check(!text.starts_with("called `Result::unwrap()`") && !text.starts_with("called `Option::unwrap()`"), || {
                    format!(
                        "ThreadPool::new(0) panicked with `{text}`: that tells the user nothing. Use \
                         expect(\"...\") or assert!(threads > 0, \"...\") with a message that says a pool needs \
                         at least one thread"
                    )
                });
                check(!text.trim().is_empty(), || "ThreadPool::new(0) panicked with an empty message".into());
            }
        }
    });
}

#[test]
fn step1_pool_reports_its_size() {
    graded(|t| {
        for n in [1, 2, 3, 8] {
            let pool = t.pool(n);
            t.stage(format!("calling threads() on a pool built with {n}"), "threads() returns the size given to build");
            check(pool.threads() == n, || format!("ThreadPool::build({n}) made a pool whose threads() is {}", pool.threads()));
        }
        t.stage("calling ThreadPool::new(4)", "new(n) builds the same pool as build(n), for n > 0");
        let pool = t.adopt(ThreadPool::new(4));
        check(pool.threads() == 4, || format!("ThreadPool::new(4) made a pool whose threads() is {}", pool.threads()));
    });
}

#[test]
fn step1_large_pools_are_allowed() {
    graded(|t| {
        // Only 0 is refused: a machine with 64 cores, or a pool of mostly
        // waiting I/O jobs, wants 64 workers or more.
        for n in [9, 64, 100] {
            t.stage(
                format!("calling ThreadPool::build({n})"),
                "build must accept any size but 0; do not cap the pool at the number of cores or at 8",
            );
            let pool = t.pool(n);
            check(pool.threads() == n, || format!("ThreadPool::build({n}) made a pool whose threads() is {}", pool.threads()));
        }
        t.stage("calling ThreadPool::new(64)", "new(n) builds the same pool as build(n), for n > 0");
        let pool = t.adopt(ThreadPool::new(64));
        check(pool.threads() == 64, || format!("ThreadPool::new(64) made a pool whose threads() is {}", pool.threads()));
    });
}

#[test]
fn step1_job_runs_on_a_pool_thread() {
    graded(|t| {
        let caller = thread::current().id();
        let pool = t.pool(2);
        let gate = Gate::new();
        let (ran_on, ran_on_rx) = mpsc::channel();
        let job_gate = gate.clone();
        t.stage(
            "calling execute with a job that waits for the test",
            "execute must hand the job over and return at once: if it runs the job itself, the caller waits for \
             every job it submits",
        );
        pool.execute(move || {
            let _ = ran_on.send(thread::current().id());
            job_gate.enter();
        });
        t.stage(
            "waiting for the job to start",
            "a worker must take the job from the queue and run it while the pool is alive",
        );
        let worker = match ran_on_rx.recv_timeout(WAIT) {
            Ok(id) => id,
            Err(_) => fail(format!(
                "the job given to execute did not start within {WAIT:?} while the pool was alive: are the workers \
                 started in build, and do they take jobs from the queue execute puts them in?"
            )),
        };
        check(worker != caller, || {
            "the job ran on the thread that called execute: it must run on one of the pool's worker threads".into()
        });
        gate.open();
    });
}
